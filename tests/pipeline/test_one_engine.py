"""The worker's start-up opens the database once, on each backend.

The bug (a review finding): one ``python -m monitor run`` created five engines and ran the Alembic upgrade five
times before and beside the class: the write probe, the flag and analysis settings, the school's privacy settings,
the storage thread, and each replay of an old journal of the same database, plus a sixth engine for retention. Now
``prepare`` opens one engine and migrates once, and the storage thread, retention and the journal replay all use it.
The real command runs in this process on a real (blank) video with the real Haar detector in presence mode, beside
a real orphan journal of the same database, and every connection is counted by its engine.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, event, select

from db.engine import make_engine, session_factory
from db.schema import ClassSession, Interval
from monitor.journal import Journal
from monitor.storage import OpenSession
from tests.db.test_storage import T0, interval
from tests.helpers.classroom import write_video

pytestmark = [pytest.mark.pipeline, pytest.mark.db]


class Seen:
    """Every engine that connected and every Alembic version check, process-wide, while it is installed."""

    def __init__(self) -> None:
        self.engines: set[int] = set()
        self.version_checks = 0

    def _connect(self, conn: Any) -> None:
        self.engines.add(id(conn.engine))

    def _execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # once per ``db.engine.upgrade``: it reads the version, or on a new database stores the first one
        if statement.lstrip().startswith(("SELECT alembic_version.version_num", "INSERT INTO alembic_version")):
            self.version_checks += 1


@pytest.fixture
def seen() -> Iterator[Seen]:
    s = Seen()
    event.listen(Engine, "engine_connect", s._connect)
    event.listen(Engine, "before_cursor_execute", s._execute)
    yield s
    event.remove(Engine, "engine_connect", s._connect)
    event.remove(Engine, "before_cursor_execute", s._execute)


def orphan_journal(url: str) -> str:
    """A journal no worker holds (its worker died before anything reached the database): a session, two intervals."""
    uid = uuid.uuid4().hex
    journal = Journal.create(uid, url)
    journal.append(OpenSession("Orphan", "old.mp4", "room", 10.0, 2.0, "haar", "none", T0, uid=uid))
    journal.append(interval(0))
    journal.append(interval(1))
    journal.release()
    return uid


def test_start_up_opens_one_engine_and_migrates_once(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seen: Seen
) -> None:
    from monitor.cli import main

    monkeypatch.setenv("CLASSMOOD_HOME", str(tmp_path))  # its own journal folder: only this test's orphan
    uid = orphan_journal(db_url)
    video = write_video(tmp_path / "blank.avi", [np.full((240, 320, 3), 90, np.uint8)] * 8, fps=4.0)
    done = main(["run", "--source", str(video), "--db", db_url, "--detector", "haar", "--mode", "presence",
                 "--interval", "1", "--fps", "4"])
    for thread in threading.enumerate():  # the old journal's replay, if it outlived the class's end
        if thread.name == "journal-replay":
            thread.join()
    assert done == 0
    assert len(seen.engines) == 1, "start-up, storage, retention and the replay share one engine"
    assert seen.version_checks == 1, "the schema is migrated once"
    eng = make_engine(db_url)
    try:
        with session_factory(eng)() as s:
            names = {cs.uid: cs.name for cs in s.scalars(select(ClassSession))}
            orphan_id = s.scalar(select(ClassSession.id).where(ClassSession.uid == uid))
            orphan_intervals = len(list(s.scalars(select(Interval.id).where(Interval.session_id == orphan_id))))
    finally:
        eng.dispose()
    assert len(names) == 2 and names[uid] == "Orphan", names  # the class and the replayed orphan
    assert orphan_intervals == 2
    assert not list((tmp_path / "journal").glob("*.jsonl"))  # both journals fully written and removed
