"""Which session is live: one not ended whose worker still reports; a silent one was interrupted (issue 13 item 4)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db import queries
from db.schema import ClassSession, SourceStatus

pytestmark = pytest.mark.db
NOW = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)


def add(s: OrmSession, name: str, started_min_ago: float, heartbeat_min_ago: float | None,
        ended: bool = False, state: str = "online") -> int:
    started = NOW - dt.timedelta(minutes=started_min_ago)
    cs = ClassSession(name=name, source="0", layout="room", interval_s=10, fps=2, detector="haar", model="m",
                      started_at=started, ended_at=NOW if ended else None)
    s.add(cs)
    s.flush()
    if heartbeat_min_ago is not None:
        s.add(SourceStatus(session_id=cs.id, state=state, updated_at=NOW - dt.timedelta(minutes=heartbeat_min_ago)))
    return cs.id


def test_a_silent_session_is_not_live_even_if_started_last(Session: sessionmaker[OrmSession]) -> None:
    """The dead session started last used to win over the one still running."""
    with Session() as s, s.begin():
        running = add(s, "running", started_min_ago=40, heartbeat_min_ago=0.05)
        add(s, "killed", started_min_ago=20, heartbeat_min_ago=12)
        add(s, "finished", started_min_ago=10, heartbeat_min_ago=1, ended=True, state="ended")
    with Session() as s:
        live = queries.live_session(s, now=NOW)
        assert live is not None and live.id == running
        assert queries.live_session(s).name == "killed"  # type: ignore[union-attr]  # without now: as before


@pytest.mark.parametrize(
    ("heartbeat_min_ago", "started_min_ago", "live"),
    [(0.1, 30, True), (4.5, 30, True), (6, 30, False), (None, 2, True), (None, 30, False)],
    ids=["fresh", "within-5-min", "silent-6-min", "no-status-yet-new", "no-status-ever"],
)
def test_the_heartbeat_decides(Session: sessionmaker[OrmSession], heartbeat_min_ago: float | None,
                               started_min_ago: float, live: bool) -> None:
    with Session() as s, s.begin():
        sid = add(s, "class", started_min_ago, heartbeat_min_ago)
    with Session() as s:
        got = queries.live_session(s, now=NOW)
        assert (got is not None and got.id == sid) is live
        cs = s.get(ClassSession, sid)
        assert cs is not None
        assert queries.is_interrupted(cs, queries.source_status(s, sid), NOW) is not live
