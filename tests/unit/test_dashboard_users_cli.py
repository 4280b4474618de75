"""``python -m dashboard users ...``: accounts from the command line, with one-line errors and exit status 2."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dashboard.__main__ import is_loopback, main

pytestmark = pytest.mark.unit


def run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        stdin: str = "") -> tuple[int, str, str]:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_disable_passwd_remove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'c.sqlite3'}"]
    assert run(["users", "list", *db], capsys, monkeypatch)[1].startswith("no accounts yet")
    assert run(["users", "add", "alice", "--password-stdin", *db], capsys, monkeypatch, "long enough 1\n")[:2] == (
        0,
        "added teacher 'alice'\n",
    )
    assert run(["users", "add", "root", "--role", "admin", "--password-stdin", *db], capsys, monkeypatch,
               "long enough 2\n")[0] == 0  # fmt: skip
    assert run(["users", "disable", "alice", *db], capsys, monkeypatch)[0] == 0
    listing = run(["users", "list", *db], capsys, monkeypatch)[1].splitlines()
    assert listing[1].split()[:3] == ["alice", "teacher", "disabled"]
    assert listing[2].split()[:3] == ["root", "admin", "enabled"]
    assert "long enough" not in "".join(listing)
    assert run(["users", "passwd", "alice", "--password-stdin", *db], capsys, monkeypatch, "a new one 3\n")[0] == 0
    assert run(["users", "remove", "alice", *db], capsys, monkeypatch)[0] == 0
    assert [ln.split()[0] for ln in run(["users", "list", *db], capsys, monkeypatch)[1].splitlines()[1:]] == ["root"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["users", "add", "bob", "--password-stdin"], "short\n", "error: the password is too short"),
        (["users", "add", "b o b", "--password-stdin"], "long enough 1\n", "error: invalid account name"),
        (["users", "add", "bob", "--role", "owner", "--password-stdin"], "long enough 1\n", "error: argument --role"),
        (["users", "remove", "nobody"], "", "error: no account named 'nobody'"),
        (["users", "enable", "nobody"], "", "error: no account named 'nobody'"),
        (["users", "frobnicate"], "", "error: argument COMMAND: invalid choice"),
        (["users", "add", "bob"], "", "error: no terminal to ask for the password"),  # no tty, no --password-stdin
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(
    argv: list[str], stdin: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    code, _, err = run([*argv, "--db", f"sqlite:///{tmp_path / 'c.sqlite3'}"], capsys, monkeypatch, stdin)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith(message), err
    assert "Traceback" not in err


def test_a_bad_database_url_is_one_error_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(["users", "list", "--db", "mysql://x@localhost/y"], capsys, monkeypatch)
    assert code == 2 and err.strip().splitlines() == [
        "error: unsupported database 'mysql': use sqlite:///FILE or postgresql://..."
    ]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True), ("0.0.0.0", False),
     ("192.168.1.20", False), ("::", False), ("classroom.local", False)],
)  # fmt: skip
def test_which_addresses_need_a_login(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
