"""The worker's storage thread on real databases: in-order writes, and nothing lost while the database is away."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import URL

from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory, upgrade
from db.schema import ClassSession, Interval, SourceEvent, SourceStatus, StudentInterval
from monitor.aggregate import IntervalAggregate, StudentAggregate
from monitor.storage import OpenSession, Status, StorageWriter

pytestmark = pytest.mark.db
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def interval(k: int) -> IntervalAggregate:
    probs = tuple(0.7 if e == "happy" else 0.05 for e in EMOTIONS)
    return IntervalAggregate(
        T0 + dt.timedelta(seconds=10 * k), T0 + dt.timedelta(seconds=10 * (k + 1)), 20, 1,
        (StudentAggregate("Seat 1", 20, probs), StudentAggregate("Seat 2", 12, probs)),
    )


def open_op() -> OpenSession:
    return OpenSession("Maths 9B", "class.mp4", "room", 10.0, 2.0, "haar", "emotion.keras", T0)


def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def count(url: str, model: type) -> int:
    eng = make_engine(url)
    try:
        with session_factory(eng)() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        eng.dispose()


def test_writes_everything_in_order(db_url: str) -> None:
    w = StorageWriter(db_url, retry_initial_s=0.1)
    w.start()
    w.put(open_op())
    w.put(Status("online", T0, 0, 0, 0, event=True))
    for k in range(3):
        w.put(interval(k))
        w.put(Status("online", T0 + dt.timedelta(seconds=k), 20 * k, k, 0))  # heartbeats, coalesced
    w.close(T0 + dt.timedelta(seconds=30))
    w.join(timeout=30)
    assert not w.is_alive() and w.intervals_written == 3 and w.unwritten_intervals() == 0
    eng = make_engine(db_url)
    with session_factory(eng)() as s:
        cs = s.scalars(select(ClassSession)).one()
        assert cs.ended_at == T0 + dt.timedelta(seconds=30) and cs.name == "Maths 9B"
        assert [i.start for i in cs.intervals] == [T0 + dt.timedelta(seconds=10 * k) for k in range(3)]
        first = cs.intervals[0]
        assert first.counts()["happy"] == 2 and first.students_seen == 2 and first.frames_skipped == 1
        assert s.scalar(select(func.count()).select_from(StudentInterval)) == 6
        status = s.get(SourceStatus, cs.id)
        assert status is not None and status.state == "ended"
        assert s.scalar(select(func.count()).select_from(SourceEvent)) == 1
    eng.dispose()


@pytest.mark.slow
def test_sqlite_locked_buffers_then_writes(sqlite_url: str) -> None:
    """The dashboard or a backup holding a long write lock must not cost the class its intervals."""
    eng = make_engine(sqlite_url)
    upgrade(eng)
    eng.dispose()
    path = sqlite_url.removeprefix("sqlite:///")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    w = StorageWriter(sqlite_url, retry_initial_s=0.2, retry_max_s=0.5)
    w.start()
    w.put(open_op())
    for k in range(3):
        w.put(interval(k))
    try:
        assert wait_for(lambda: w.failures >= 1, timeout=15), "the writer never hit the lock"
        assert w.intervals_written == 0 and w.backlog >= 4
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert wait_for(lambda: w.intervals_written == 3, timeout=20)
    w.close(T0 + dt.timedelta(seconds=30))
    w.join(timeout=30)
    assert count(sqlite_url, Interval) == 3


def test_postgresql_down_buffers_then_writes(pg_admin_engine: Engine, pg_admin_url: URL) -> None:
    """The school's server restarting mid-lesson: the database is gone, then back; every interval arrives."""
    name = f"classmood_down_{uuid.uuid4().hex[:10]}"
    url = pg_admin_url.set(database=name).render_as_string(hide_password=False)
    w = StorageWriter(url, retry_initial_s=0.2, retry_max_s=0.5)
    w.start()
    w.put(open_op())
    for k in range(3):
        w.put(interval(k))
    try:
        assert wait_for(lambda: w.failures >= 2, timeout=15)
        assert w.intervals_written == 0
        with pg_admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        assert wait_for(lambda: w.intervals_written == 3, timeout=20)
        w.close(T0 + dt.timedelta(seconds=30))
        w.join(timeout=30)
        assert count(url, Interval) == 3 and count(url, ClassSession) == 1
    finally:
        w.close(T0)
        w.join(timeout=5)
        with pg_admin_engine.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def test_gives_up_after_the_shutdown_timeout_and_saves_a_spool_to_replay(
    pg_admin_engine: Engine, pg_admin_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is still down when the class ends: the intervals go to a file, and `replay` stores them later."""
    from monitor.cli import main

    monkeypatch.setenv("CLASSMOOD_HOME", str(tmp_path))
    name = f"classmood_spool_{uuid.uuid4().hex[:10]}"
    url = pg_admin_url.set(database=name).render_as_string(hide_password=False)
    w = StorageWriter(url, retry_initial_s=0.1, retry_max_s=0.2, shutdown_timeout_s=1.0)
    w.start()
    w.put(open_op())
    w.put(interval(0))
    w.put(interval(1))
    w.close(T0 + dt.timedelta(seconds=20))
    w.join(timeout=15)
    assert not w.is_alive() and w.unwritten_intervals() == 2 and w.last_error
    assert w.spool_file is not None and w.spool_file.parent == tmp_path / "spool"
    assert "Seat 1" in w.spool_file.read_text()
    assert main(["replay", str(w.spool_file), "--db", url]) == 1  # still down: the file stays
    assert w.spool_file.exists()
    with pg_admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        assert main(["replay", str(w.spool_file), "--db", url]) == 0
        assert not w.spool_file.exists()
        assert count(url, Interval) == 2 and count(url, StudentInterval) == 4
        eng = make_engine(url)
        with session_factory(eng)() as s:
            assert s.scalars(select(ClassSession)).one().ended_at == T0 + dt.timedelta(seconds=20)
        eng.dispose()
    finally:
        with pg_admin_engine.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def test_replay_rejects_a_file_that_is_not_a_spool(tmp_path: Path) -> None:
    from monitor.cli import main

    bad = tmp_path / "x.json"
    bad.write_text("{}")
    assert main(["replay", str(bad), "--db", f"sqlite:///{tmp_path / 'db.sqlite3'}"]) == 2


def test_replay_of_a_missing_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It said "is held by a running worker" (the lock could not be taken on a file that is not there)."""
    from monitor.cli import main

    assert main(["replay", str(tmp_path / "gone.jsonl"), "--db", f"sqlite:///{tmp_path / 'db.sqlite3'}"]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'gone.jsonl'}: no such journal file\n"
