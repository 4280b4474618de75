"""Presence mode end to end: the real worker on the real demo video (built from the portrait that ships with
matplotlib), the real Haar detector and a real database. No emotion model is loaded, and no emotion value reaches any
table; a mode the school's admin locked cannot be overridden from the command line; class-only storage keeps no
student label anywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory, upgrade
from db.schema import Base, ClassSession, Interval, StudentPresence
from db.settings import PrivacySettings, save_privacy_settings
from monitor.demo import demo_video
from tests.pipeline.conftest import REPO, run_cli

pytestmark = pytest.mark.pipeline

EMOTION_COLUMNS = {"dominant", *(f"p_{e}" for e in EMOTIONS), *(f"n_{e}" for e in EMOTIONS)}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 seconds of the demo classroom: six seats, one student leaving for a while."""
    return demo_video(16, folder=tmp_path_factory.mktemp("demo"))


def run(video: Path, url: str, *extra: str, importtime: bool = False) -> tuple[int, str]:
    args = ["monitor", "run", "--source", str(video), "--db", url, "--detector", "haar", "--interval", "4", *extra]
    if not importtime:
        result = run_cli(*args)
        return result.returncode, result.stderr
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=240, env=env, check=False)
    return done.returncode, done.stderr


def all_rows(url: str) -> dict[str, list[dict[str, object]]]:
    """Every row of every table of the schema, as plain dicts."""
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(t.select())] for t in Base.metadata.sorted_tables}
    finally:
        eng.dispose()


def set_privacy(url: str, settings: PrivacySettings) -> None:
    eng = make_engine(url)
    try:
        upgrade(eng)
        with session_factory(eng)() as s, s.begin():
            save_privacy_settings(s, settings)
    finally:
        eng.dispose()


def test_presence_run_stores_no_emotion_and_never_loads_the_model(video: Path, sqlite_url: str) -> None:
    # A model path that does not exist: expressions mode would stop with "model file not found".
    code, err = run(video, sqlite_url, "--mode", "presence", "--model", "/nonexistent/emotion.keras", importtime=True)
    assert code == 0, err
    imported = re.findall(r"\|\s+(tensorflow|keras|models\.layers)(?:\.|\s*$)", err, flags=re.MULTILINE)
    assert imported == [], "presence mode imported the emotion model's libraries"

    tables = all_rows(sqlite_url)
    assert tables["student_interval"] == []
    for name, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                if column in EMOTION_COLUMNS:
                    assert value is None, f"{name}.{column} holds {value!r} in presence mode"
                if isinstance(value, str):
                    words = set(re.findall(r"[a-z]+", value.lower()))
                    assert not words & set(EMOTIONS), f"{name}.{column} = {value!r} names an emotion"
    for flag in tables["flag"]:
        assert flag["rule"] == "not_visible"

    eng = make_engine(sqlite_url)
    with session_factory(eng)() as s:
        cs = s.scalars(select(ClassSession)).one()
        assert (cs.mode, cs.per_student, cs.model) == ("presence", True, "none (presence mode)")
        intervals = list(s.scalars(select(Interval)))
        presence = list(s.scalars(select(StudentPresence)))
    eng.dispose()
    assert len(intervals) >= 3
    assert max(i.students_seen for i in intervals) >= 5  # six seats; Haar may miss one face now and then
    assert all(i.students_present is not None and i.students_present >= i.students_seen for i in intervals)
    seen = [p for p in presence if p.state == "seen"]
    assert seen and all(p.frames_visible > 0 and 0 < (p.visible_share or 0) <= 1 for p in seen)
    assert {p.student for p in presence} <= {f"Seat {i}" for i in range(1, 7)}


def test_locked_mode_refuses_an_override(video: Path, sqlite_url: str) -> None:
    set_privacy(sqlite_url, PrivacySettings(mode="presence", mode_locked=True))
    code, err = run(video, sqlite_url, "--mode", "expressions")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: analysis.mode:") and "locked" in lines[0], err
    assert all_rows(sqlite_url)["class_session"] == []  # refused before any session was opened


def test_school_default_mode_applies_without_an_override(video: Path, sqlite_url: str) -> None:
    set_privacy(sqlite_url, PrivacySettings(mode="presence", mode_locked=False))
    code, err = run(video, sqlite_url, "--model", "/nonexistent/emotion.keras")
    assert code == 0, err
    assert [s["mode"] for s in all_rows(sqlite_url)["class_session"]] == ["presence"]


def test_class_only_storage_keeps_no_student_label(video: Path, sqlite_url: str) -> None:
    code, err = run(video, sqlite_url, "--mode", "presence", "--no-per-student")
    assert code == 0, err
    tables = all_rows(sqlite_url)
    assert tables["student_interval"] == tables["student_presence"] == tables["roster_student"] == []
    assert all(f["student"] is None for f in tables["flag"])
    assert tables["class_session"][0]["per_student"] in (False, 0)
    assert tables["interval"] and max(int(i["students_seen"]) for i in tables["interval"]) >= 5  # type: ignore[call-overload]
