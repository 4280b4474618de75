"""Pure helpers of the CSV export: time format and spreadsheet formula neutralisation."""

from __future__ import annotations

import datetime as dt

import pytest

from db.export import iso_utc, neutralise

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC), "2026-11-21T10:00:00Z"),
        (dt.datetime(2026, 11, 21, 10, 0, 0, 250_000, tzinfo=dt.UTC), "2026-11-21T10:00:00.250Z"),
        (
            dt.datetime(2026, 11, 21, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=1, minutes=30))),
            "2026-11-21T10:00:00Z",
        ),
    ],
)
def test_iso_utc(value: dt.datetime, expected: str) -> None:
    assert iso_utc(value) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Seat 3", "Seat 3"),
        ("Ana-Maria", "Ana-Maria"),  # only a leading character matters
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected
