"""``python -m dashboard users ...``: create and manage dashboard accounts from the command line.

    python -m dashboard users add NAME [--role teacher|admin] [--password-stdin] [--db URL]
    python -m dashboard users list [--db URL]
    python -m dashboard users remove NAME [--db URL]
    python -m dashboard users passwd NAME [--password-stdin] [--db URL]
    python -m dashboard users disable NAME | enable NAME [--db URL]

The password is asked twice without echo (``getpass``), or read as the first line of standard input with
``--password-stdin`` for scripts; it is never a command-line argument (which ``ps`` and shell history would keep).
Bad input is one ``error: ...`` line and exit status 2. Nothing here imports Dash.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from dashboard.cli_parser import EXIT_ERROR, OneLineParser
from db.accounts import (
    ROLES,
    AccountError,
    add_user,
    check_name,
    check_password,
    list_users,
    remove_user,
    set_disabled,
    set_password,
)
from db.engine import DatabaseURLError, default_url, describe_db_error, make_engine, redact, session_factory, upgrade


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m dashboard users", description="Manage dashboard accounts.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    db_help = "database URL (default: $DATABASE_URL or the per-user SQLite file)"
    add = commands.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="teacher", help="teacher (own sessions) or admin (all)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    lst = commands.add_parser("list", help="list the accounts")
    rm = commands.add_parser("remove", help="delete an account (its sessions stay)")
    rm.add_argument("name")
    pw = commands.add_parser("passwd", help="set a new password (logs the account out everywhere)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    dis = commands.add_parser("disable", help="refuse this account's logins (and end its sessions)")
    dis.add_argument("name")
    en = commands.add_parser("enable", help="allow a disabled account again")
    en.add_argument("name")
    for p in (add, lst, rm, pw, dis, en):
        p.add_argument("--db", metavar="URL", help=db_help)
    return parser


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return check_password(line.removesuffix("\n").removesuffix("\r"))
    if not sys.stdin.isatty():  # getpass would fall back to echoing, or read a script's input by surprise
        raise AccountError("no terminal to ask for the password on; pipe it in with --password-stdin")
    try:
        first = getpass.getpass("Password: ")
        check_password(first)
        second = getpass.getpass("Password again: ")
    except EOFError:
        raise AccountError("no password given (use --password-stdin to pipe one in)") from None
    if first != second:
        raise AccountError("the two passwords differ; nothing changed")
    return first


def run(args: argparse.Namespace) -> str:
    url: str = args.db or default_url()
    if args.command == "add":
        check_name(args.name)  # before asking for a password that would be thrown away
    password = read_password(args.password_stdin) if args.command in ("add", "passwd") else ""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as s, s.begin():
            if args.command == "add":
                user = add_user(s, args.name, password, args.role)
                return f"added {user.role} {user.name!r}"
            if args.command == "list":
                users = list_users(s)
                if not users:
                    return "no accounts yet (add one with: python -m dashboard users add NAME --role admin)"
                lines = [f"{'name':<24} {'role':<8} {'state':<9} last login"]
                for u in users:
                    last = f"{u.last_login_at:%Y-%m-%d %H:%M} UTC" if u.last_login_at else "never"
                    lines.append(f"{u.name:<24} {u.role:<8} {'disabled' if u.disabled else 'enabled':<9} {last}")
                return "\n".join(lines)
            if args.command == "remove":
                remove_user(s, args.name)
                return f"removed {args.name!r}"
            if args.command == "passwd":
                set_password(s, args.name, password)
                return f"password of {args.name!r} changed"
            set_disabled(s, args.name, args.command == "disable")
            return f"{args.command}d {args.name!r}"
    finally:
        engine.dispose()


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        print(run(args))
    except (AccountError, DatabaseURLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SQLAlchemyError as exc:
        print(f"error: {describe_db_error(exc)} [{redact(args.db or default_url())}]", file=sys.stderr)
        return EXIT_ERROR
    except (CommandError, OSError) as exc:
        print(f"error: cannot open database {redact(args.db or default_url())}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return 0
