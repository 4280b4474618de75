"""Pure parts of the session report's rendering: the timeline's bins and the list lines (no database)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.report import Line, clip, coarsen, flag_lines
from db.emotions import EMOTIONS
from db.report import ReportFlag

pytestmark = pytest.mark.unit
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def timeline(n: int) -> pd.DataFrame:
    starts = pd.date_range(T0, periods=n, freq="10s", tz="UTC")
    rows = {"interval_start": starts, "students_seen": [4] * n}
    rows.update({e: [4 if e == "happy" and i % 2 else 4 if e == "sad" and not i % 2 else 0 for i in range(n)]
                 for e in EMOTIONS})  # fmt: skip
    return pd.DataFrame(rows)


def test_coarsen_keeps_shares_of_all_student_intervals() -> None:
    assert coarsen(timeline(10), 240) is not None and len(coarsen(timeline(10), 240)) == 10
    binned = coarsen(timeline(1080), 240)
    assert len(binned) == 216  # bins of 5 intervals
    assert binned["students_seen"].tolist() == [20] * 216
    assert binned["happy"].iloc[0] == 8 and binned["sad"].iloc[0] == 12  # intervals 1, 3 happy; 0, 2, 4 sad
    assert binned["interval_start"].iloc[1] == T0 + dt.timedelta(seconds=50)
    assert int(binned[list(EMOTIONS)].to_numpy().sum()) == 1080 * 4


def test_flag_lines_and_clipping() -> None:
    flags = [
        ReportFlag(None, "class_negative", "warning", "half the class looked sad", T0, T0 + dt.timedelta(minutes=5)),
        ReportFlag("x" * 50, "not_visible", "info", "line\nbreak", T0, None),
    ]
    whole, long = flag_lines(flags, dt.UTC)
    assert whole == Line("09:00–09:05", "Whole class", "Class negative or confused: half the class looked sad")
    assert long.when == "09:00–open" and long.who == "x" * 23 + "…" and "\n" not in long.text
    assert clip("a" * 200) == "a" * 99 + "…"
