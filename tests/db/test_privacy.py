"""Retention purge and one student's right of access and erasure, on real SQLite and PostgreSQL, by the library
functions and by ``python -m db purge / export --student / forget``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.privacy import apply_retention, forget_student, purge_older_than, student_records
from db.schema import (
    Base,
    ClassSession,
    Flag,
    Interval,
    Note,
    RosterStudent,
    SourceEvent,
    SourceStatus,
    StudentInterval,
    StudentPresence,
)
from db.settings import PrivacySettings, save_privacy_settings
from tests.db.builders import STEP, add_session
from tests.db.test_export import run_cli

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
NAME = '=O\'Brien "Zoë" 李小龍'  # a Zoom display name: quotes, a formula sign, non-Latin letters
NEAR = "O'Brien"  # a different student whose label is part of NAME: must be untouched


def days_ago(d: float) -> dt.datetime:
    return NOW - dt.timedelta(days=d)


def seed_ages(factory: sessionmaker[OrmSession]) -> dict[str, int]:
    """Sessions that ended 400, 31 and 29 days ago and today, and one still running since 60 days ago; each with
    intervals, student rows, a flag, a note, a roster row, status and an event."""
    ids: dict[str, int] = {}
    with factory() as s, s.begin():
        for name, start, end in [
            ("old", days_ago(400), days_ago(400) + dt.timedelta(hours=1)),
            ("31d", days_ago(31), days_ago(31) + dt.timedelta(hours=1)),
            ("29d", days_ago(29), days_ago(29) + dt.timedelta(hours=1)),
            ("today", NOW - dt.timedelta(hours=2), NOW - dt.timedelta(hours=1)),
            ("running", days_ago(60), None),
        ]:
            cs = add_session(s, name, start, end, [{"Seat 1": "happy", "Seat 2": "sad"}, {"Seat 1": "neutral"}])
            ids[name] = cs.id
            s.add_all([
                Flag(session_id=cs.id, student="Seat 1", rule="not_visible", start=start, severity="info",
                     reason="Seat 1: not visible for 3 min"),
                Note(session_id=cs.id, at=start, text="quiz", created_at=start),
                RosterStudent(session_id=cs.id, student="Seat 1"),
                SourceStatus(session_id=cs.id, state="ended", updated_at=start),
                SourceEvent(session_id=cs.id, at=start, state="online"),
                StudentPresence(interval_id=cs.intervals[0].id, student="Seat 3", state="camera_off",
                                frames_camera_off=5),
            ])
    return ids


def rows_per_session(factory: sessionmaker[OrmSession]) -> dict[int, int]:
    """How many rows of any table belong to each session id (through its intervals for the student tables)."""
    out: dict[int, int] = {}
    with factory() as s:
        for cs_id in s.scalars(select(ClassSession.id)):
            interval_ids = select(Interval.id).where(Interval.session_id == cs_id)
            n = 1
            for model in (Interval, Flag, Note, RosterStudent, SourceStatus, SourceEvent):
                n += int(s.scalar(select(func.count()).select_from(model).where(model.session_id == cs_id)) or 0)
            for model in (StudentInterval, StudentPresence):
                n += int(s.scalar(select(func.count()).select_from(model).where(model.interval_id.in_(interval_ids)))
                         or 0)
            out[cs_id] = n
    return out


def total_rows(factory: sessionmaker[OrmSession]) -> int:
    with factory() as s:
        return sum(int(s.scalar(select(func.count()).select_from(t)) or 0) for t in Base.metadata.sorted_tables)


@pytest.mark.parametrize(
    ("days", "gone"),
    [(30, {"old", "31d"}), (365, {"old"}), (0, {"old", "31d", "29d", "today"}), (1000, set())],
)
def test_purge_deletes_exactly_the_old_sessions(Session: sessionmaker[OrmSession], days: int, gone: set[str]) -> None:
    ids = seed_ages(Session)
    before = rows_per_session(Session)
    with Session() as s, s.begin():
        listed = purge_older_than(s, days, now=NOW, dry_run=True)
    assert {p.id for p in listed} == {ids[n] for n in gone}
    assert rows_per_session(Session) == before  # a dry run deletes nothing
    with Session() as s, s.begin():
        purged = purge_older_than(s, days, now=NOW)
    assert [p.id for p in purged] == [p.id for p in listed]
    expected = {k: v for k, v in before.items() if k not in {ids[n] for n in gone}}
    assert rows_per_session(Session) == expected  # the others keep every row
    assert total_rows(Session) == sum(expected.values())  # and nothing of the purged is left anywhere


def test_retention_is_off_by_default_and_applies_the_school_setting(Session: sessionmaker[OrmSession]) -> None:
    ids = seed_ages(Session)
    with Session() as s, s.begin():
        assert apply_retention(s, now=NOW) == []
        save_privacy_settings(s, PrivacySettings(retention_days=30))
    with Session() as s, s.begin():
        assert sorted(p.id for p in apply_retention(s, now=NOW)) == sorted([ids["old"], ids["31d"]])


def test_purge_command_prints_what_it_deletes(db_url: str, Session: sessionmaker[OrmSession]) -> None:
    ids = seed_ages(Session)
    dry = run_cli("purge", "--older-than", "0", "--dry-run", "--db", db_url)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("would delete session") == 4 and "would delete 4 session(s)" in dry.stdout
    done = run_cli("purge", "--older-than", "0", "--db", db_url)
    assert done.returncode == 0, done.stderr
    assert "'old'" in done.stdout and "deleted 4 session(s)" in done.stdout
    with Session() as s:
        assert list(s.scalars(select(ClassSession.id))) == [ids["running"]]
    bad = run_cli("purge", "--older-than", "-3", "--db", db_url)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr


def seed_students(factory: sessionmaker[OrmSession]) -> tuple[int, int]:
    """Two sessions with NAME, NEAR and Seat 1 in intervals, presence rows, flags and rosters."""
    with factory() as s, s.begin():
        a = add_session(s, "Maths", days_ago(2), days_ago(2) + dt.timedelta(hours=1),
                        [{NAME: "happy", NEAR: "sad", "Seat 1": "neutral"}, {NAME: "fear", NEAR: "happy"}])
        b = add_session(s, "Zoom", days_ago(1), None, [{NEAR: "neutral", "Seat 1": "sad"}, {NAME: "surprise"}])
        for cs in (a, b):
            s.add_all([
                RosterStudent(session_id=cs.id, student=NAME),
                RosterStudent(session_id=cs.id, student=NEAR),
                StudentPresence(interval_id=cs.intervals[0].id, student=NAME, state="camera_off",
                                frames_camera_off=12, frames_visible=0),
                StudentPresence(interval_id=cs.intervals[1].id, student=NEAR, state="face_not_visible",
                                frames_face_not_visible=4),
                Flag(session_id=cs.id, student=NAME, rule="not_visible", start=cs.started_at, severity="info",
                     reason=f"{NAME}: camera off for 3 min"),
                Flag(session_id=cs.id, student=NEAR, rule="sustained_negative", start=cs.started_at,
                     severity="warning", reason=f"{NEAR}: mostly sad"),
                Flag(session_id=cs.id, student=None, rule="class_negative", start=cs.started_at, severity="info",
                     reason="half the class negative"),
            ])
        return a.id, b.id


def snapshot(factory: sessionmaker[OrmSession]) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, as sorted tuples, by table."""
    with factory() as s:
        conn = s.connection()
        return {t.name: sorted((tuple(map(repr, r)) for r in conn.execute(t.select())), key=str)
                for t in Base.metadata.sorted_tables}


def test_export_student_writes_every_row_about_them_and_nobody_else(
    db_url: str, Session: sessionmaker[OrmSession], tmp_path: Path
) -> None:
    seed_students(Session)
    out = tmp_path / "student.csv"
    result = run_cli("export", "--student", NAME, "--out", str(out), "--db", db_url)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    # 3 interval rows, 2 presence rows, 2 flags, 2 roster rows; the formula sign neutralised, the rest intact
    assert sorted(r["record"] for r in rows) == ["flag"] * 2 + ["interval"] * 3 + ["presence"] * 2 + ["roster"] * 2
    assert {r["student"] for r in rows} == {"'" + NAME}
    assert "notes are free text and were not searched" in result.stderr  # notes have no student column
    assert {r["session_name"] for r in rows} == {"Maths", "Zoom"}
    with Session() as s:
        assert len(student_records(s, NAME)) == len(rows)
    missing = run_cli("export", "--student", "Nobody", "--out", str(tmp_path / "x.csv"), "--db", db_url)
    assert missing.returncode == 2 and missing.stderr.startswith("error: nothing is stored about student")
    assert not (tmp_path / "x.csv").exists()


def test_forget_student_removes_every_row_and_nothing_of_anyone_else(
    db_url: str, Session: sessionmaker[OrmSession]
) -> None:
    seed_students(Session)
    before = snapshot(Session)
    unconfirmed = run_cli("forget", "--student", NAME, "--db", db_url)  # no terminal to ask, no --yes: refuse
    assert unconfirmed.returncode == 2 and "confirm with --yes" in unconfirmed.stderr
    assert snapshot(Session) == before
    result = run_cli("forget", "--student", NAME, "--yes", "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert "3 interval row(s), 2 presence row(s), 2 flag(s), 2 roster row(s)" in result.stdout
    assert "notes are free text and were not searched" in result.stdout  # notes have no student column
    after = snapshot(Session)
    for table, rows in before.items():
        kept = [r for r in rows if repr(NAME) not in r]
        assert after[table] == kept, table  # exactly the rows naming NAME are gone
    with Session() as s:
        assert student_records(s, NAME) == []
        assert len(student_records(s, NEAR)) == 3 + 2 + 2 + 2  # intervals, presence, flags, roster: untouched
        assert int(s.scalar(select(func.sum(Interval.students_seen))) or 0) == 3 + 2 + 2 + 1  # class counts stay


def test_forget_in_a_transaction_counts_what_it_deleted(Session: sessionmaker[OrmSession]) -> None:
    seed_students(Session)
    with Session() as s, s.begin():
        counts = forget_student(s, NAME)
    assert (counts.intervals, counts.presence, counts.flags, counts.roster) == (3, 2, 2, 2)
    with Session() as s, s.begin():
        assert forget_student(s, NAME).total == 0


def test_retention_keeper_purges_at_start_and_survives_a_bad_setting(Session: sessionmaker[OrmSession]) -> None:
    """The worker and the dashboard start this thread; its first turn runs at once, then once a day."""
    import threading

    from db.privacy import RetentionKeeper
    from db.schema import Setting

    now = dt.datetime.now(dt.UTC)
    with Session() as s, s.begin():
        old = add_session(s, "old", now - dt.timedelta(days=10), now - dt.timedelta(days=9)).id
        recent = add_session(s, "recent", now - dt.timedelta(days=2), now - dt.timedelta(days=2) + STEP).id
        save_privacy_settings(s, PrivacySettings(retention_days=7))
    stop = threading.Event()
    keeper = RetentionKeeper(Session, stop, period_s=3600)
    keeper.start()
    stop.set()
    keeper.join(timeout=60)
    assert not keeper.is_alive() and keeper.turns == 1
    assert [p.id for p in keeper.purged] == [old]
    with Session() as s, s.begin():
        assert list(s.scalars(select(ClassSession.id))) == [recent]
        s.get_one(Setting, "privacy").value = {"retention_days": "soon"}  # a hand edit that no longer validates
    keeper.turn()  # logged, not raised
    assert keeper.turns == 2


def test_presence_session_exports_leave_the_emotion_columns_empty(Session: sessionmaker[OrmSession]) -> None:
    from db.emotions import EMOTIONS
    from db.export import CLASS_HEADER, STUDENT_HEADER, export_class_csv, export_student_csv

    with Session() as s, s.begin():
        cs = add_session(s, "Physics", days_ago(1), days_ago(1) + dt.timedelta(hours=1))
        cs.mode = "presence"
        iv = Interval(session_id=cs.id, start=cs.started_at, end=cs.started_at + STEP, students_seen=1,
                      students_present=2, frames_analysed=20, frames_skipped=0,
                      **{f"n_{e}": func.nullif(0, 0) for e in EMOTIONS})
        s.add(iv)
        s.flush()
        s.add_all([StudentPresence(interval_id=iv.id, student="Seat 10", state="seen", frames_visible=20,
                                   visible_share=1.0),
                   StudentPresence(interval_id=iv.id, student="Seat 2", state="camera_off", frames_camera_off=20,
                                   visible_share=0.0)])
        sid = cs.id
    with Session() as s:
        class_rows = list(csv.DictReader(io.StringIO(export_class_csv(s, sid))))
        student_rows = list(csv.DictReader(io.StringIO(export_student_csv(s, sid))))
    assert len(class_rows) == 1 and tuple(class_rows[0]) == CLASS_HEADER
    assert [class_rows[0][e] for e in EMOTIONS] == [""] * len(EMOTIONS)
    assert (class_rows[0]["students_seen"], class_rows[0]["mode"]) == ("1", "presence")
    assert [(r["student"], r["frames_seen"]) for r in student_rows] == [("Seat 2", "0"), ("Seat 10", "20")]
    for row in student_rows:
        assert tuple(row) == STUDENT_HEADER and row["mode"] == "presence"
        assert row["dominant"] == "" and all(row[f"p_{e}"] == "" for e in EMOTIONS)


def test_reflag_of_a_presence_session_uses_the_presence_rows_and_presence_rules(
    Session: sessionmaker[OrmSession],
) -> None:
    """Regression: reflag rebuilt intervals from the emotion rows only, so a presence session (which has none) lost
    its not-visible flags on a reflag."""
    from db.emotions import EMOTIONS
    from monitor.reflag import reflag

    start = days_ago(1)
    with Session() as s, s.begin():
        cs = add_session(s, "Physics", start, start + dt.timedelta(minutes=10))
        cs.mode = "presence"
        for k in range(60):  # 10 minutes of 10-s intervals; Seat 2 turns the camera off after 2 minutes
            iv = Interval(session_id=cs.id, start=start + k * STEP, end=start + (k + 1) * STEP, students_seen=1,
                          students_present=2, frames_analysed=20, frames_skipped=0,
                          **{f"n_{e}": func.nullif(0, 0) for e in EMOTIONS})
            s.add(iv)
            s.flush()
            s.add(StudentPresence(interval_id=iv.id, student="Seat 1", state="seen", frames_visible=20,
                                  visible_share=1.0))
            away = k >= 12
            s.add(StudentPresence(interval_id=iv.id, student="Seat 2", state="camera_off" if away else "seen",
                                  frames_visible=0 if away else 20, frames_camera_off=20 if away else 0,
                                  visible_share=0.0 if away else 1.0))
        sid = cs.id
    assert reflag(Session, sid) >= 1
    with Session() as s:
        flags = list(s.scalars(select(Flag).where(Flag.session_id == sid)))
    assert {(f.rule, f.student) for f in flags} == {("not_visible", "Seat 2")}
    assert all("camera off" in f.reason for f in flags)
