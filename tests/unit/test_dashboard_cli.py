"""``python -m dashboard``'s start-up failures: one ``error: ...`` line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.__main__ import main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@localhost/x", "unsupported database"),
        # nothing listens on port 1: refused at once, and the password must not be echoed
        ("postgresql://teacher:s3cret@127.0.0.1:1/classmood", "cannot open database"),
        ("sqlite:////proc/classmood/nope.sqlite3", "cannot open database"),
    ],
)
def test_unusable_database_is_one_error_line_and_exit_2(
    url: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", url]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "s3cret" not in err


def test_a_file_that_is_not_a_database_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "notes.sqlite3"
    junk.write_bytes(b"these are lesson notes, not a database" * 100)
    assert main(["--db", f"sqlite:///{junk}"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot open database")


def test_module_entry_point_exits_2_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "--db", "bogus"],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_dashboard_never_imports_the_worker_or_tensorflow() -> None:
    """The dashboard meets the monitor only in the database (STYLE 1): building the app with every page must not
    import ``monitor``, ``models`` or TensorFlow, so it starts in a second and can run on another host."""
    code = (
        "import sys\n"
        "from sqlalchemy import create_engine\n"
        "from dashboard.app import create_app\n"
        "from db.engine import session_factory\n"
        "create_app(session_factory(create_engine('sqlite://')))\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'monitor', 'models', 'tensorflow', 'keras'})\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip() == ""


@pytest.mark.parametrize("command", [["notice"], ["report", "--session", "1"]])
@pytest.mark.parametrize(
    ("out", "db", "expected"),
    [
        ("notice.docx", None, "--out must end in .pdf or .html, not 'notice.docx'"),
        ("notice.pdf", "missing.sqlite3", "no database file at"),  # never a new empty database
        ("notice.pdf", "junk.sqlite3", "database error: file is not a database"),
        ("no-such-folder/notice.pdf", "", "cannot write"),  # an empty database; the report: no such session
    ],
)
def test_document_commands_report_bad_input_in_one_line(
    command: list[str], out: str, db: str | None, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The notice and the report share ``dashboard.cli_parser.write_document``: the same checks, the same lines."""
    from db.engine import make_engine, upgrade

    args = [*command, "--out", str(tmp_path / out)]
    if db is not None:
        path = tmp_path / (db or "empty.sqlite3")
        if db.startswith("junk"):
            path.write_bytes(b"not a database " * 100)
        elif not db:
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            engine.dispose()
        args += ["--db", f"sqlite:///{path}"]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    wanted = "no session with id 1" if command[0] == "report" and db == "" else expected
    assert len(lines) == 1 and lines[0].startswith("error: ") and wanted in lines[0], lines
