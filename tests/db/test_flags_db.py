"""Attention flags in the database: the dashboard's queries, settings, and ``reflag`` over a stored session.

The ``Flags`` session below is written through the ORM (``tests.db.builders.add_session``: 10 s intervals, 18 frames
per student) and re-evaluated with :data:`SETTINGS`; the expected flags are worked out by hand in :data:`EXPECTED`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.engine import make_engine, session_factory, upgrade
from db.queries import FLAG_COLUMNS, acknowledge_flag, session_flags
from db.schema import ClassSession, Flag, Setting
from db.settings import FlagSettings, SettingsError, load_flag_settings, save_flag_settings
from monitor.flags import RULES
from monitor.reflag import ReflagError, apply_flag_event, evaluate, interval_from_row, main, reflag
from tests.db.builders import T0, Seeded, add_session

pytestmark = pytest.mark.db
Factory = sessionmaker[OrmSession]

CODES = {"h": "happy", "s": "sad", "n": "neutral", "u": "surprise"}
# Seat 1: happy, sad for 30 s, then gone; Seat 2 neutral throughout. Ten intervals; the session ends at T0 + 100 s.
PATTERN = {"Seat 1": "hhhsss----", "Seat 2": "nnnnnnnnnn"}
ENDED = T0 + dt.timedelta(seconds=100)

SETTINGS = FlagSettings.model_validate(
    {
        "sustained_negative": {"window_min": 1, "threshold": 0.5},
        "baseline_shift": {"enabled": False},
        "not_visible": {"minutes": 0.5},
        "class_negative": {"window_min": 0.5, "threshold": 0.5},
        "class_mood_drop": {"enabled": False},
        "min_duration_min": 0,
        "cooldown_min": 0,
        "min_frames": 1,
        "min_seen_share": 0,  # judged from the first interval seen, as the expected flags below assume
        "min_seen_min": 0,
    }
)


def s_(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# (rule, student, start, end, severity), by start then student with class-wide flags first:
# * class_negative: in the 30 s ending with interval 5, 3 of 6 student-intervals sad (0.5); at 6 only 2 of 5: closed
#   at once (no cooldown), ending when interval 6 began;
# * sustained_negative: 3 of Seat 1's 6 intervals sad at interval 5, rising to all of those seen while they are away
#   (alert), still open when the session ends;
# * not_visible: Seat 1 absent in intervals 6, 7, 8 (30 s), open until the session ends.
EXPECTED: list[tuple[str, str | None, dt.datetime, dt.datetime | None, str]] = [
    ("class_negative", None, s_(50), s_(60), "warning"),
    ("sustained_negative", "Seat 1", s_(50), ENDED, "alert"),
    ("not_visible", "Seat 1", s_(80), ENDED, "info"),
]


def intervals(pattern: dict[str, str]) -> list[dict[str, str]]:
    n = max(map(len, pattern.values()))
    return [{who: CODES[p[i]] for who, p in pattern.items() if i < len(p) and p[i] != "-"} for i in range(n)]


def add_flags_session(factory: Factory, ended: dt.datetime | None = ENDED, pattern: dict[str, str] = PATTERN) -> int:
    with factory() as s, s.begin():
        return add_session(s, "Flags", T0, ended, intervals(pattern)).id


def stored(factory: Factory, session_id: int) -> list[tuple[Any, ...]]:
    with factory() as s:
        rows = s.scalars(select(Flag).where(Flag.session_id == session_id).order_by(Flag.start, Flag.rule)).all()
        return [(f.rule, f.student, f.start, f.end, f.severity, f.reason, f.evidence, f.frames) for f in rows]


def summary(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [
        (r.rule, None if pd.isna(r.student) else r.student, r.start, None if pd.isna(r.end) else r.end, r.severity)
        for r in frame.itertuples()
    ]


@pytest.fixture
def with_settings(Session: Factory) -> FlagSettings:
    with Session() as s, s.begin():
        save_flag_settings(s, SETTINGS)
    return SETTINGS


# --- session_flags / acknowledge_flag ---------------------------------------------------------------------------------


def add_flag(s: OrmSession, session_id: int, student: str | None, start_s: int, end_s: int | None = None) -> Flag:
    flag = Flag(
        session_id=session_id,
        student=student,
        rule="not_visible" if student else "class_negative",
        start=s_(start_s),
        end=None if end_s is None else s_(end_s),
        severity="warning",
        reason=f"{student or 'Class'}: something",
        evidence={"share": 0.5, "emotions": "sad"},
        frames=40,
    )
    s.add(flag)
    s.flush()
    return flag


def test_session_flags_columns_order_and_types(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        add_flag(s, seeded.maths, "Seat 10", 0)
        add_flag(s, seeded.maths, "Seat 2", 0, 30)
        add_flag(s, seeded.maths, None, 0)
        add_flag(s, seeded.maths, "Seat 1", 20)
        add_flag(s, seeded.history, "Tile 1-1", 0)  # another session's flag
    with Session() as s:
        frame = session_flags(s, seeded.maths)
        open_only = session_flags(s, seeded.maths, open_only=True)
    assert tuple(frame.columns) == FLAG_COLUMNS
    assert [None if pd.isna(x) else x for x in frame["student"]] == [None, "Seat 2", "Seat 10", "Seat 1"]
    assert str(frame["start"].dtype) == "datetime64[us, UTC]" and str(frame["end"].dtype) == "datetime64[us, UTC]"
    assert frame["start"].iloc[3] == pd.Timestamp(s_(20)) and frame["end"].iloc[1] == pd.Timestamp(s_(30))
    assert frame["end"].isna().tolist() == [True, False, True, True]
    assert frame["acknowledged_at"].isna().all()
    assert frame["evidence"].iloc[0] == {"share": 0.5, "emotions": "sad"}
    assert frame["frames"].tolist() == [40] * 4
    assert [None if pd.isna(x) else x for x in open_only["student"]] == [None, "Seat 10", "Seat 1"]


def test_session_flags_empty_has_the_columns(Session: Factory, seeded: Seeded) -> None:
    with Session() as s:
        frame = session_flags(s, seeded.lab)
    assert tuple(frame.columns) == FLAG_COLUMNS and frame.empty


def test_acknowledge_flag(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        flag_id = add_flag(s, seeded.maths, "Seat 2", 0).id
    seen = s_(3600)
    with Session() as s, s.begin():
        assert acknowledge_flag(s, flag_id, seen) is True
        assert acknowledge_flag(s, flag_id + 1000, seen) is False
    with Session() as s:
        frame = session_flags(s, seeded.maths)
    assert frame["acknowledged_at"].tolist() == [pd.Timestamp(seen)]
    assert frame["end"].isna().all()  # acknowledging does not close the flag


# --- settings -------------------------------------------------------------------------------------------------------


def test_settings_round_trip_and_default(Session: Factory) -> None:
    with Session() as s:
        assert load_flag_settings(s) == FlagSettings()  # nothing stored yet: the defaults
    with Session() as s, s.begin():
        save_flag_settings(s, SETTINGS)
    with Session() as s, s.begin():
        assert load_flag_settings(s) == SETTINGS
        changed = SETTINGS.model_copy(update={"cooldown_min": 3.0})
        save_flag_settings(s, changed)  # the second save updates the same row
    with Session() as s:
        assert load_flag_settings(s) == changed
        assert len(s.scalars(select(Setting)).all()) == 1


def test_invalid_stored_settings_name_the_key(Session: Factory) -> None:
    with Session() as s, s.begin():
        s.add(Setting(key="flags", value={"not_visible": {"minutes": -1}}, updated_at=T0))
    with Session() as s, pytest.raises(SettingsError, match=r"flags\.not_visible\.minutes"):
        load_flag_settings(s)


# --- reflag ---------------------------------------------------------------------------------------------------------


def test_reflag_gives_the_expected_flags(Session: Factory, with_settings: FlagSettings) -> None:
    sid = add_flags_session(Session)
    assert reflag(Session, sid) == 3
    with Session() as s:
        frame = session_flags(s, sid)
    assert summary(frame) == [(r, st, pd.Timestamp(a), pd.Timestamp(b), sev) for r, st, a, b, sev in EXPECTED]
    reasons = frame["reason"].tolist()
    assert reasons[0].startswith("Class: 50% of students looked sad in the last 0.5 minutes")
    assert reasons[1].startswith("Seat 1: sad for ") and reasons[2] == "Seat 1: not visible for 0.5 minutes"
    assert frame["frames"].gt(0).all() and frame["evidence"].map(bool).all()


def test_reflag_is_idempotent_and_replaces_old_flags(Session: Factory, with_settings: FlagSettings) -> None:
    sid = add_flags_session(Session)
    with Session() as s, s.begin():
        add_flag(s, sid, "Seat 9", 0)  # a stale flag from an earlier evaluation
    reflag(Session, sid)
    first = stored(Session, sid)
    assert reflag(Session, sid) == 3
    assert stored(Session, sid) == first
    assert "Seat 9" not in {row[1] for row in first}


def test_reflag_of_a_running_session_leaves_flags_open(Session: Factory, with_settings: FlagSettings) -> None:
    sid = add_flags_session(Session, ended=None)
    reflag(Session, sid)
    with Session() as s:
        frame = session_flags(s, sid, open_only=True)
    assert [(r[0], r[1]) for r in summary(frame)] == [("sustained_negative", "Seat 1"), ("not_visible", "Seat 1")]


def test_disabled_rule_gives_no_flag_after_reflag(Session: Factory, with_settings: FlagSettings) -> None:
    sid = add_flags_session(Session)
    reflag(Session, sid)
    with Session() as s, s.begin():
        off = SETTINGS.model_copy(update={"not_visible": SETTINGS.not_visible.model_copy(update={"enabled": False})})
        save_flag_settings(s, off)
    assert reflag(Session, sid) == 2
    with Session() as s:
        assert "not_visible" not in set(session_flags(s, sid)["rule"])


def test_reflag_touches_only_its_session(Session: Factory, with_settings: FlagSettings, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        add_flag(s, seeded.maths, "Seat 2", 0)
    reflag(Session, add_flags_session(Session))
    with Session() as s:
        assert len(session_flags(s, seeded.maths)) == 1


def test_reflag_unknown_session(Session: Factory) -> None:
    with pytest.raises(ReflagError, match="no session with id 424242"):
        reflag(Session, 424242)


def test_live_events_give_the_rows_reflag_writes(Session: Factory, with_settings: FlagSettings) -> None:
    """The worker writes events one at a time with ``apply_flag_event`` as intervals close; ``reflag`` folds them.
    Both must leave the same rows, or re-evaluating with unchanged settings would change a session's flags."""
    sid = add_flags_session(Session)
    with Session() as s:
        session = s.get(ClassSession, sid)
        assert session is not None
        events = evaluate(SETTINGS, [interval_from_row(r) for r in session.intervals], session.ended_at)
    assert [e.kind for e in events].count("update") > 0  # the fold and the in-place update are both exercised
    for event in events:
        with Session() as s, s.begin():
            apply_flag_event(s, sid, event)
    live = stored(Session, sid)
    reflag(Session, sid)
    assert stored(Session, sid) == live


# --- command line -----------------------------------------------------------------------------------------------------


def one_error_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_cli_reflag(
    db_url: str, Session: Factory, with_settings: FlagSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = add_flags_session(Session)
    assert main(["--session", str(sid), "--db", db_url]) == 0
    assert f"session {sid}: 3 flag(s) written" in capsys.readouterr().err
    assert len(stored(Session, sid)) == 3


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--session", "999999", "--db", "{url}"], ["no session with id 999999"]),
        (["--session", "abc", "--db", "{url}"], ["invalid int value: 'abc'"]),
        (["--db", "{url}"], ["--session"]),
        (["--session", "1", "--db", "mysql://root@localhost/x"], ["unsupported database 'mysql'"]),
        (["--session", "1", "--db", "postgresql://u:pw@host:abc/db"], ["not a database URL"]),
        (["--session", "1", "--db", "sqlite:///{tmp}/missing.sqlite3"], ["no database file at"]),
        (["--session", "1", "--db", "sqlite:///{tmp}/empty.sqlite3"], ["python -m db upgrade"]),
        (["--session", "1", "--db", "postgresql://teacher:s3cret@127.0.0.1:9/x"], ["database error"]),
    ],
    ids=[
        "unknown-session",
        "bad-id",
        "no-session",
        "unsupported",
        "bad-url",
        "missing-file",
        "no-schema",
        "unreachable",
    ],
)
def test_cli_reflag_errors(
    args: Sequence[str],
    fragments: list[str],
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    sqlite3.connect(tmp_path / "empty.sqlite3").close()
    argv = [a.format(url=sqlite_url, tmp=tmp_path) for a in args]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    one_error_line(err, *fragments)
    assert "s3cret" not in err and "pw@" not in err
    assert not (tmp_path / "missing.sqlite3").exists()


def test_cli_reflag_invalid_settings(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    factory = session_factory(engine)
    sid = add_flags_session(factory)
    with factory() as s, s.begin():
        s.add(Setting(key="flags", value={"bogus": 1}, updated_at=T0))
    engine.dispose()
    assert main(["--session", str(sid), "--db", sqlite_url]) == 2
    one_error_line(capsys.readouterr().err, "flags.bogus")


def test_every_rule_is_known_to_the_settings() -> None:
    assert set(RULES) <= set(FlagSettings.model_fields)
