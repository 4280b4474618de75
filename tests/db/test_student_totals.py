"""``db.queries.student_totals`` (the review page's per-student summary, aggregated in SQL so a 3-hour class's
43,000 rows stay in the database) gives exactly what the pandas version over every row gives, on both backends."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from dashboard.tables import student_summary
from db.queries import student_intervals, student_totals
from tests.db.builders import T0, Seeded, add_session

pytestmark = pytest.mark.db


def test_sql_totals_match_the_pandas_summary(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    labels = ["Seat 2", "Seat 10", "<b>Ana</b>", "=1+1"]
    pattern = ["happy", "sad", "angry", "neutral", "happy", "fear", "disgust", "surprise"]
    intervals = [
        {label: pattern[(i * 3 + k) % len(pattern)] for k, label in enumerate(labels) if (i + k) % 5} for i in range(40)
    ]
    with Session() as s, s.begin():
        big = add_session(s, "Big", T0 + dt.timedelta(days=1), None, intervals).id
    with Session() as s:
        for sid in (seeded.maths, seeded.history, seeded.art, big):
            expected = student_summary(student_intervals(s, sid))
            got = student_totals(s, sid)
            assert list(got.columns) == list(expected.columns)
            if expected.empty:
                assert got.empty
                continue
            expected = expected.astype({"intervals": "int64", "frames_seen": "int64", "negative_share": "float64"})
            expected["last_seen"] = pd.to_datetime(expected["last_seen"], utc=True).astype("datetime64[us, UTC]")
            pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
