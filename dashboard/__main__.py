"""``python -m dashboard [--host 127.0.0.1] [--port 8050] [--db URL]``: serve the dashboard.

``python -m dashboard users ...`` manages accounts (``dashboard.accounts_cli``) and ``python -m dashboard report
--session ID --out FILE.pdf|.html`` writes a session's one-page report (``dashboard.report_cli``).

On 127.0.0.1 (the default) nobody else can connect and there is no login. Bound to any other address the dashboard
requires a login (``dashboard.access``) and refuses to start while no enabled account exists.

The schema is migrated to the current head at start so a fresh database works. A database that cannot be used
(bad URL, unreachable server, unwritable file) is reported in one ``error: ...`` line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import threading

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from db.accounts import count_enabled_users
from db.engine import DatabaseURLError, default_url, make_engine, redact, session_factory, upgrade

log = logging.getLogger("dashboard")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Serve the ClassMood dashboard.")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)"
    )
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default: %(default)s)")
    parser.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL or the per-user SQLite file)")
    parser.add_argument("--debug", action="store_true", help="Dash debug mode: dev tools and request logging")
    return parser.parse_args(argv)


def _one_line(exc: BaseException) -> str:
    """The first line of the most specific message (the DBAPI's, for SQLAlchemy errors), password removed."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return redact(text[0] if text else type(inner).__name__)


def is_loopback(host: str) -> bool:
    """127.0.0.1, ::1, localhost: reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a LAN address, so it needs a login


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["users"]:
        from dashboard.accounts_cli import main as users_main

        return users_main(argv[1:])
    if argv[:1] == ["report"]:
        from dashboard.report_cli import main as report_main

        return report_main(argv[1:])
    if argv[:1] == ["notice"]:
        from dashboard.notice_cli import main as notice_main

        return notice_main(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep a failed start to the one error line
    if not args.debug:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per 3-s poll otherwise
    url = args.db or default_url()
    try:
        engine = make_engine(url)
        upgrade(engine)
    except DatabaseURLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, CommandError, OSError) as exc:
        print(f"error: cannot open database {redact(url)}: {_one_line(exc)}", file=sys.stderr)
        return 2

    require_login = not is_loopback(args.host)
    if require_login:
        try:
            with session_factory(engine)() as s:
                accounts = count_enabled_users(s)
        except SQLAlchemyError as exc:
            print(f"error: cannot open database {redact(url)}: {_one_line(exc)}", file=sys.stderr)
            return 2
        if accounts == 0:
            print(
                f"error: --host {args.host} shares the dashboard on the network, which requires a login, and no "
                "account exists yet; create one with: python -m dashboard users add NAME --role admin"
                + (f" --db {redact(url)}" if args.db else ""),
                file=sys.stderr,
            )
            return 2

    from dashboard.app import create_app  # after the database check, so a bad URL fails in well under a second
    from db.privacy import RetentionKeeper

    RetentionKeeper(session_factory(engine), threading.Event()).start()  # the school's retention, now and daily
    app = create_app(session_factory(engine), require_login=require_login)
    log.info(
        "ClassMood dashboard on http://%s:%d (database %s)%s",
        args.host,
        args.port,
        redact(url),
        ", login required" if require_login else ", this machine only",
    )
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
