"""The worker's journal on real databases: a worker killed with SIGKILL (the database up, or down) loses nothing,
and a replay, run once, twice or cut short, writes every interval exactly once and closes the session as
interrupted."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import URL

from db.engine import make_engine, session_factory, upgrade
from db.schema import ClassSession, Flag, Interval, SourceEvent, SourceStatus, StudentInterval
from monitor.aggregate import IntervalAggregate
from monitor.journal import Journal, read, replay_journal, replay_pending
from monitor.storage import FlagOp, OpenSession, Status, StorageWriter
from tests.db.test_storage import T0, interval

pytestmark = pytest.mark.db
REPO = Path(__file__).resolve().parents[2]
N = 6


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLASSMOOD_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def missing_pg(pg_admin_engine: Engine, pg_admin_url: URL) -> Iterator[tuple[str, str]]:
    name = f"classmood_journal_{uuid.uuid4().hex[:10]}"
    yield pg_admin_url.set(database=name).render_as_string(hide_password=False), name
    with pg_admin_engine.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def open_op(uid: str) -> OpenSession:
    return OpenSession("Maths 9B", "class.mp4", "room", 10.0, 2.0, "haar", "emotion.keras", T0, uid=uid)


def flag_open() -> FlagOp:
    return FlagOp("open", "negative_share", None, T0 + dt.timedelta(seconds=10), None, "warning", "2 of 5", {}, 20)


def counts(url: str) -> dict[str, object]:
    eng = make_engine(url)
    try:
        with session_factory(eng)() as s:
            sessions = list(s.scalars(select(ClassSession)))
            starts = list(s.scalars(select(Interval.start)))
            return {
                "sessions": len(sessions),
                "intervals": len(starts),
                "distinct_intervals": len(set(starts)),
                "student_rows": int(s.scalar(select(func.count()).select_from(StudentInterval)) or 0),
                "flags": int(s.scalar(select(func.count()).select_from(Flag)) or 0),
                "events": int(s.scalar(select(func.count()).select_from(SourceEvent)) or 0),
                "running": sum(cs.ended_at is None for cs in sessions),
                "ended_at": [cs.ended_at for cs in sessions],
                "state": [st.state for st in s.scalars(select(SourceStatus))],
            }
    finally:
        eng.dispose()


CHILD = textwrap.dedent(
    """
    import sys, time, uuid
    from monitor.journal import Journal
    from monitor.storage import Status, StorageWriter
    from tests.db.test_journal import N, T0, flag_open, interval, open_op

    url, up = sys.argv[1], sys.argv[2] == "up"
    uid = uuid.uuid4().hex
    w = StorageWriter(url, retry_initial_s=0.2, retry_max_s=0.5, journal=Journal.create(uid, url))
    w.start()
    w.put(open_op(uid))
    w.put(Status("online", T0, 0, 0, 0, event=True))
    for k in range(N):
        w.put(interval(k))
        if k == 1:
            w.put(flag_open())
        if up and k == N // 2:  # the database up: some intervals are committed when the kill comes, some not
            while w.intervals_written < k:
                time.sleep(0.01)
    print("journaled", w.intervals_written, flush=True)
    time.sleep(120)  # killed here, mid-session
    """
)


def run_and_kill(url: str, up: bool, home: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLASSMOOD_HOME": str(home)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, "up" if up else "down"], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line and line[0] == "journaled", line
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return int(line[1])


def assert_exactly_once(url: str) -> None:
    c = counts(url)
    assert c["sessions"] == 1 and c["intervals"] == N and c["distinct_intervals"] == N, c
    assert c["student_rows"] == 2 * N and c["flags"] == 1 and c["running"] == 0, c
    assert c["ended_at"] == [T0 + dt.timedelta(seconds=10 * N)], c  # the end of its last interval
    assert c["state"] == ["interrupted"], c


@pytest.mark.slow
def test_kill_9_with_the_database_up_then_replay_twice(db_url: str, home: Path) -> None:
    """Issue 13 item 4: a killed worker's session stayed `ended_at NULL`, status online, for ever (the Live page
    showed it as running), and what was not yet committed was lost. Here some intervals are committed when the kill
    comes and some are not: the replay writes the rest, none twice, and closes the session as interrupted."""
    eng = make_engine(db_url)
    upgrade(eng)
    eng.dispose()
    written_before_kill = run_and_kill(db_url, up=True, home=home)
    assert 0 < written_before_kill < N
    (journal,) = (home / "journal").glob("*.jsonl")
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert counts(db_url)["running"] == 1  # the dead worker's session, until the replay
    (result,) = replay_pending()
    assert result.complete and not journal.exists()
    assert_exactly_once(db_url)
    assert replay_pending() == []  # nothing left: a second replay is a no-op
    assert_exactly_once(db_url)


@pytest.mark.slow
def test_kill_9_with_postgresql_down_loses_nothing(missing_pg: tuple[str, str], pg_admin_engine: Engine,
                                                   home: Path) -> None:
    """Issue 13 item 4: kill -9 during a 60 s PostgreSQL outage lost the 8 intervals buffered in memory. The journal
    had them on disk; the session never reached the database, and the replay creates it once."""
    url, name = missing_pg
    assert run_and_kill(url, up=False, home=home) == 0
    with pg_admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    from monitor.cli import main

    assert main(["replay", "--pending", "--db", url]) == 0
    assert_exactly_once(url)
    assert main(["replay", "--pending", "--db", url]) == 0  # "no unfinished journal"
    assert_exactly_once(url)


def test_a_replay_after_a_commit_whose_done_mark_was_lost_writes_nothing_twice(db_url: str, home: Path) -> None:
    """Issue 13 item 5: a partial replay duplicated on rerun. The worst case: every operation committed, the crash
    came before any `done` mark reached the journal; the replay must find all of it already there."""
    uid = uuid.uuid4().hex
    journal = Journal.create(uid, db_url)
    ops = [open_op(uid), Status("online", T0, 0, 0, 0, event=True), interval(0), flag_open(), interval(1)]
    for op in ops:
        journal.append(op)
    journal.release()
    plain = StorageWriter(db_url)  # the same operations committed, no done marks
    plain.start()
    for op in ops:
        plain.put(op)
    plain.close(None)
    plain.join(timeout=30)
    assert plain.intervals_written == 2
    result = replay_journal(journal.path)
    assert result is not None and result.complete and result.session_id == plain.session_id
    c = counts(db_url)
    assert c["sessions"] == 1 and c["intervals"] == 2 and c["flags"] == 1 and c["events"] == 2, c
    assert c["state"] == ["interrupted"] and c["ended_at"] == [T0 + dt.timedelta(seconds=20)], c


def test_a_running_workers_journal_is_left_alone(sqlite_url: str, home: Path) -> None:
    """Another worker starting on the same machine must not replay (or close) a class that is still running."""
    uid = uuid.uuid4().hex
    live = Journal.create(uid, sqlite_url)
    live.append(open_op(uid))
    assert replay_pending() == []
    assert live.path.exists() and read(live.path).pending
    live.release()


def test_a_finished_session_leaves_no_journal_and_an_unfinished_one_keeps_it(missing_pg: tuple[str, str],
                                                                             sqlite_url: str) -> None:
    """The database took everything: the journal is removed. The database stayed down: the journal is the spool,
    named to the user, owner-only, and holds every interval."""
    uid = uuid.uuid4().hex
    ok = StorageWriter(sqlite_url, journal=Journal.create(uid, sqlite_url))
    ok.start()
    ok.put(open_op(uid))
    ok.put(interval(0))
    ok.put(Status("online", T0, 1, 0, 0))  # a heartbeat: not journaled
    ok.close(T0 + dt.timedelta(seconds=10))
    ok.join(timeout=30)
    assert ok.journal is not None and not ok.journal.path.exists() and ok.spool_file is None

    url, _ = missing_pg
    uid = uuid.uuid4().hex
    down = StorageWriter(url, retry_initial_s=0.1, retry_max_s=0.2, shutdown_timeout_s=0.5,
                         journal=Journal.create(uid, url))
    down.start()
    down.put(open_op(uid))
    for k in range(3):
        down.put(interval(k))
    down.close(T0 + dt.timedelta(seconds=30))
    down.join(timeout=30)
    assert down.journal is not None and down.spool_file == down.journal.path
    content = read(down.spool_file)
    assert content.closed and sum(1 for _, op in content.pending if type(op).__name__ == "IntervalAggregate") == 3
    assert stat.S_IMODE(down.spool_file.stat().st_mode) == 0o600


def test_a_torn_last_line_is_ignored(sqlite_url: str, home: Path) -> None:
    """A crash in the middle of an append leaves half a line: everything before it is replayed."""
    uid = uuid.uuid4().hex
    journal = Journal.create(uid, sqlite_url)
    journal.append(open_op(uid))
    journal.append(interval(0))
    journal.release()
    with journal.path.open("ab") as fh:
        fh.write(b'{"seq":3,"op":{"type":"Interval')
    eng = make_engine(sqlite_url)
    upgrade(eng)
    eng.dispose()
    (result,) = replay_pending()
    assert result.complete and result.intervals == 1
    c = counts(sqlite_url)
    assert c["intervals"] == 1 and c["state"] == ["interrupted"], c


def test_a_journal_for_a_deleted_sqlite_file_creates_no_new_database(tmp_path: Path, home: Path) -> None:
    """A journal naming a SQLite file that is gone (moved, deleted) is kept, not replayed into a new empty file."""
    url = f"sqlite:///{tmp_path / 'gone' / 'classmood.sqlite3'}"
    uid = uuid.uuid4().hex
    journal = Journal.create(uid, url)
    journal.append(open_op(uid))
    journal.release()
    (result,) = replay_pending()
    assert not result.complete and "no database file" in (result.error or "")
    assert journal.path.exists() and not (tmp_path / "gone").exists()


def test_an_operation_refused_for_good_is_kept_aside_not_replayed(db_url: str, home: Path) -> None:
    """Issue 13 item 2: a permanent error is reported once and that operation set aside in the journal; the rest is
    written, and no later replay retries it for ever."""
    uid = uuid.uuid4().hex
    w = StorageWriter(db_url, journal=Journal.create(uid, db_url))
    w.start()
    w.put(open_op(uid))
    w.put(interval(0))
    w.put(IntervalAggregate(T0 + dt.timedelta(seconds=10), T0 + dt.timedelta(seconds=20), 2**70, 0, ()))
    w.put(interval(2))
    w.close(T0 + dt.timedelta(seconds=30))
    w.join(timeout=30)
    assert w.intervals_written == 2 and len(w.rejected) == 1
    assert list((home / "journal").glob("*.jsonl")) == []
    (kept,) = (home / "journal").glob("*.rejected")
    content = read(kept)
    assert len(content.rejected) == 1 and not content.pending
    assert replay_pending() == []
