"""CSV export: exact columns and values, formula neutralisation, and the ``python -m db`` command line end to end."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.__main__ import main
from db.engine import make_engine, session_factory, upgrade
from db.export import (
    CLASS_HEADER,
    FLAG_HEADER,
    STUDENT_HEADER,
    UnknownSessionError,
    export_class_csv,
    export_csv,
    export_flags_csv,
    export_student_csv,
)
from db.schema import Flag
from tests.db.builders import INJECTION, T0, Seeded, seed
from tests.db.test_migrations import head_revision

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
Factory = sessionmaker[OrmSession]

CLASS_LINES = [
    "session_id,interval_start,interval_end,students_seen,angry,disgust,fear,happy,sad,surprise,neutral,mode",
    "{id},2026-11-21T10:00:00Z,2026-11-21T10:00:10Z,3,0,0,0,1,1,0,1,expressions",
    "{id},2026-11-21T10:00:10Z,2026-11-21T10:00:20Z,2,1,0,0,1,0,0,0,expressions",
    "{id},2026-11-21T10:00:20Z,2026-11-21T10:00:30Z,2,0,0,1,0,0,1,0,expressions",
]
STUDENT_HEADER_LINE = (
    "session_id,interval_start,interval_end,student,frames_seen,dominant,"
    "p_angry,p_disgust,p_fear,p_happy,p_sad,p_surprise,p_neutral,mode"
)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m db ARGS`` in a fresh interpreter, as a teacher would run it."""
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    cmd = [sys.executable, "-m", "db", *args]
    return subprocess.run(
        cmd, cwd=ROOT, env=base | (env or {}), capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_error_line(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# --- in process -------------------------------------------------------------------------------------------------------


def test_class_csv(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        text = export_class_csv(s, seeded.maths)
    assert text.splitlines() == [line.format(id=seeded.maths) for line in CLASS_LINES]
    assert text.endswith("\n") and "\r" not in text
    assert tuple(CLASS_LINES[0].split(",")) == CLASS_HEADER


def test_student_csv(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        text = export_student_csv(s, seeded.maths)
    rows = list(csv.reader(io.StringIO(text)))
    assert text.splitlines()[0] == STUDENT_HEADER_LINE and tuple(rows[0]) == STUDENT_HEADER
    body = rows[1:]
    assert [(r[1], r[3]) for r in body] == [
        ("2026-11-21T10:00:00Z", "Seat 1"),
        ("2026-11-21T10:00:00Z", "Seat 2"),
        ("2026-11-21T10:00:00Z", "Seat 10"),
        ("2026-11-21T10:00:10Z", "Seat 2"),
        ("2026-11-21T10:00:10Z", "Seat 10"),
        ("2026-11-21T10:00:20Z", "'" + INJECTION),  # neutralised: a spreadsheet shows it as text
        ("2026-11-21T10:00:20Z", "Seat 1"),
    ]
    assert body[0] == [str(seeded.maths), "2026-11-21T10:00:00Z", "2026-11-21T10:00:10Z", "Seat 1", "18", "neutral"] + [
        "0.0500"
    ] * 6 + ["0.7000", "expressions"]
    assert all(r[0] == str(seeded.maths) and len(r) == len(STUDENT_HEADER) for r in body)


def test_empty_session_exports_the_header_only(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        assert export_class_csv(s, seeded.art) == CLASS_LINES[0] + "\n"
        assert export_student_csv(s, seeded.lab) == STUDENT_HEADER_LINE + "\n"


def test_unknown_session_raises(Session: Factory) -> None:
    with Session() as s, s.begin():
        with pytest.raises(UnknownSessionError, match="no session with id 42"):
            export_class_csv(s, 42)
        with pytest.raises(UnknownSessionError):
            export_student_csv(s, 42)
        with pytest.raises(UnknownSessionError):
            export_flags_csv(s, 42)


# --- attention flags --------------------------------------------------------------------------------------------------

FLAG_LINES = [
    "session_id,student,rule,start,end,severity,reason",
    "{id},,class_negative,2026-11-21T10:00:10Z,2026-11-21T10:00:20.500Z,warning,"  # student empty: class-wide
    + "Class: 50% of students looked sad in the last 2 minutes",
    '{id},Seat 2,sustained_negative,2026-11-21T10:00:10Z,,alert,"Seat 2: sad, then angry"',  # end empty: open
    '{id},"\'=HYPERLINK(""http://evil"",""x"")",not_visible,2026-11-21T10:00:20Z,,info,'
    + '"\'=HYPERLINK(""http://evil"",""x""): not visible for 3 minutes"',
]


def add_flags(factory: Factory, session_id: int) -> None:
    """A closed class-wide flag, an open one with a comma in its reason, and one on the formula-like label."""
    rows = [
        (None, "class_negative", 10, 20.5, "warning", "Class: 50% of students looked sad in the last 2 minutes"),
        (INJECTION, "not_visible", 20, None, "info", f"{INJECTION}: not visible for 3 minutes"),
        ("Seat 2", "sustained_negative", 10, None, "alert", "Seat 2: sad, then angry"),
    ]
    with factory() as s, s.begin():
        for student, rule, start, end, severity, reason in rows:
            s.add(
                Flag(
                    session_id=session_id,
                    student=student,
                    rule=rule,
                    start=T0 + dt.timedelta(seconds=start),
                    end=None if end is None else T0 + dt.timedelta(seconds=end),
                    severity=severity,
                    reason=reason,
                    evidence={"share": 0.5},
                    frames=20,
                )
            )


def test_flags_csv(Session: Factory, seeded: Seeded) -> None:
    add_flags(Session, seeded.maths)
    with Session() as s:
        text = export_flags_csv(s, seeded.maths)
        assert export_csv(s, seeded.maths, flags=True) == text
    assert text.splitlines() == [line.format(id=seeded.maths) for line in FLAG_LINES]
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == FLAG_HEADER
    assert [r[1] for r in rows[1:]] == ["", "Seat 2", "'" + INJECTION]  # class-wide first, then by start
    assert rows[3][6] == "'" + INJECTION + ": not visible for 3 minutes"  # the reason quoting a label is neutralised


def test_flags_csv_without_flags_is_the_header(Session: Factory, seeded: Seeded) -> None:
    add_flags(Session, seeded.maths)
    with Session() as s:
        assert export_flags_csv(s, seeded.history) == FLAG_LINES[0] + "\n"
        with pytest.raises(ValueError, match="not both"):
            export_csv(s, seeded.maths, flags=True, per_student=True)


# --- command line, end to end -------------------------------------------------------------------------------------


def test_cli_exports_class_csv(db_url: str, seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "maths.csv"
    result = run_cli("export", "--session", str(seeded.maths), "--out", str(out), "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8").splitlines() == [line.format(id=seeded.maths) for line in CLASS_LINES]


def test_cli_exports_per_student_csv(db_url: str, seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "maths-students.csv"
    result = run_cli("export", "--session", str(seeded.maths), "--out", str(out), "--per-student", "--db", db_url)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == STUDENT_HEADER_LINE
    assert len(text.splitlines()) == 1 + 7
    assert "\n" + str(seeded.maths) + ",2026-11-21T10:00:20Z,2026-11-21T10:00:30Z,\"'=HYPERLINK(" in text


def test_cli_unknown_session(db_url: str, seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    result = run_cli("export", "--session", "999999", "--out", str(out), "--db", db_url)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "no session with id 999999")
    assert not out.exists()


def test_cli_unreachable_database_hides_the_password(tmp_path: Path) -> None:
    url = "postgresql://teacher:s3cret@127.0.0.1:9/classmood"  # nothing listens on the discard port
    result = run_cli("export", "--session", "1", "--out", str(tmp_path / "x.csv"), "--db", url)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "database error")
    assert "s3cret" not in result.stderr


def test_cli_upgrade(db_url: str) -> None:
    result = run_cli("upgrade", "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert f"schema at revision {head_revision()}" in result.stdout  # the newest migration, whichever it is
    again = run_cli("upgrade", "--db", db_url)
    assert again.returncode == 0, again.stderr


def test_cli_upgrade_honours_database_url(tmp_path: Path) -> None:
    path = tmp_path / "data" / "classmood.sqlite3"
    result = run_cli("upgrade", env={"DATABASE_URL": f"sqlite:///{path}"})
    assert result.returncode == 0, result.stderr
    assert path.is_file()


# --- command line errors, in process (the same code path as above, without an interpreter per case) ------------


@pytest.fixture
def seeded_sqlite(sqlite_url: str) -> tuple[str, Seeded]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    ids = seed(session_factory(engine))
    engine.dispose()
    return sqlite_url, ids


@pytest.mark.parametrize(
    ("db", "out", "fragments"),
    [
        ("mysql://root@localhost/x", "x.csv", ["unsupported database 'mysql'"]),
        ("definitely not a url", "x.csv", ["not a database URL"]),
        ("postgresql://u:pw@host:abc/db", "x.csv", ["not a database URL", "***"]),  # bad port, password hidden
        ("sqlite:///{tmp}/missing.sqlite3", "x.csv", ["no database file at"]),
        ("sqlite:///{tmp}/empty.sqlite3", "x.csv", ["no ClassMood schema", "python -m db upgrade"]),
        ("{seeded}", "no/such/folder/x.csv", ["cannot write", "No such file or directory"]),
        ("{seeded}", ".", ["cannot write"]),  # a directory
    ],
    ids=["unsupported", "garbage", "bad-port", "missing-file", "no-schema", "no-folder", "out-is-dir"],
)
def test_cli_errors(
    db: str,
    out: str,
    fragments: list[str],
    seeded_sqlite: tuple[str, Seeded],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    sqlite3.connect(tmp_path / "empty.sqlite3").close()  # a valid SQLite file without our tables
    url, ids = seeded_sqlite
    args = ["export", "--session", str(ids.maths), "--out", str(tmp_path / out), "--db"]
    code = main([*args, db.format(tmp=tmp_path, seeded=url)])
    captured = capsys.readouterr()
    assert code == 2
    assert_one_error_line(captured.err, *fragments)
    assert "pw@" not in captured.err
    assert not (tmp_path / "missing.sqlite3").exists()  # export never creates a database


def test_cli_no_schema_on_postgresql(pg_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["export", "--session", "1", "--out", str(tmp_path / "x.csv"), "--db", pg_url])
    assert code == 2
    assert_one_error_line(capsys.readouterr().err, "no ClassMood schema")


def test_cli_export_to_stdout(seeded_sqlite: tuple[str, Seeded], capsys: pytest.CaptureFixture[str]) -> None:
    url, ids = seeded_sqlite
    assert main(["export", "--session", str(ids.maths), "--out", "-", "--db", url]) == 0
    assert capsys.readouterr().out.splitlines() == [line.format(id=ids.maths) for line in CLASS_LINES]


def test_cli_exports_flags_csv(
    seeded_sqlite: tuple[str, Seeded], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, ids = seeded_sqlite
    engine = make_engine(url)
    add_flags(session_factory(engine), ids.maths)
    engine.dispose()
    out = tmp_path / "flags.csv"
    assert main(["export", "--session", str(ids.maths), "--flags", "--out", str(out), "--db", url]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == [line.format(id=ids.maths) for line in FLAG_LINES]
    assert "wrote flags CSV" in capsys.readouterr().err


def test_cli_flags_and_per_student_exclude_each_other(
    seeded_sqlite: tuple[str, Seeded], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, ids = seeded_sqlite
    args = ["export", "--session", str(ids.maths), "--flags", "--per-student", "--out", str(tmp_path / "x.csv")]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--db", url])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["export"], "the following arguments are required: --out"),
        (["forget"], "the following arguments are required: --student"),
        (["purge", "--older-than", "-1"], "days must be 0 or more"),
        (["purge", "--older-than", "abc"], "not a whole number of days"),
    ],
)
def test_cli_usage_errors_are_one_error_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's own errors (a usage block, then "python -m db export: error: ...") follow the product's rule."""
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
