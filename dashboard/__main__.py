"""``python -m dashboard [--host 127.0.0.1] [--port 8050] [--db URL] [--workers N] [--trusted-proxy ADDR]``: serve
the dashboard.

``python -m dashboard users ...`` manages accounts (``dashboard.accounts_cli``) and ``python -m dashboard report
--session ID --out FILE.pdf|.html`` writes a session's one-page report (``dashboard.report_cli``).

On 127.0.0.1 (the default) nobody else can connect and there is no login. Bound to any other address the dashboard
requires a login (``dashboard.access``) and refuses to start while no enabled account exists.

Off loopback, serve it with a production WSGI server: ``--workers N`` replaces this process with gunicorn running N
worker processes on ``dashboard.wsgi:server`` (logins, the throttle and the signing key are in the database, so the
workers share them). Flask's development server is for this machine: ``--debug`` (its console runs any code) is
refused on any other address. ``--trusted-proxy`` names the reverse proxy whose ``X-Forwarded-For`` is believed;
cookies are then ``Secure`` unless ``--no-secure-cookies``.

The schema is migrated to the current head at start so a fresh database works. A database that cannot be used
(bad URL, unreachable server, unwritable file) is reported in one ``error: ...`` line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from dashboard.cli_parser import OneLineParser
from db.accounts import count_enabled_users, session_secret
from db.engine import DatabaseURLError, default_url, make_engine, redact, session_factory, upgrade

if TYPE_CHECKING:
    from dashboard.access import AccessConfig

log = logging.getLogger("dashboard")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1 to 65535")
    return port


def _workers(value: str) -> int:
    try:
        workers = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers") from None
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError(f"{workers} workers: use 1 to 64")
    return workers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(
        prog="python -m dashboard", description="Serve the ClassMood dashboard.",
        epilog="Other commands (each with its own --help): python -m dashboard users ... (accounts), "
               "python -m dashboard report --session ID --out FILE.pdf|.html (a session's one-page report), "
               "python -m dashboard notice --out FILE.pdf|.html (the notice for students).")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)"
    )
    parser.add_argument("--port", type=_port, default=8050, help="port to listen on (default: %(default)s)")
    parser.add_argument("--db", default=None, help="database URL (default: $DATABASE_URL or the per-user SQLite file)")
    parser.add_argument(
        "--debug", action="store_true", help="Dash debug mode: dev tools and request logging (127.0.0.1 only)"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="serve with gunicorn and this many worker processes (the way to run it for a school)",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="address or network of the HTTPS reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable)",
    )
    parser.add_argument(
        "--secure-cookies",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send the login cookie over HTTPS only (default: on when a trusted proxy is given)",
    )
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
    if args.debug and not is_loopback(args.host):
        print(
            f"error: --debug on --host {args.host} would open the debugger's console to the network; use it on "
            "127.0.0.1 only, and serve the network with --workers N (gunicorn)",
            file=sys.stderr,
        )
        return 2
    if args.debug and args.workers:
        print("error: --debug is for the development server; it cannot be combined with --workers", file=sys.stderr)
        return 2
    from dashboard.access import AccessConfig, parse_networks

    try:
        proxies = parse_networks(args.trusted_proxy)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    secure = bool(proxies) if args.secure_cookies is None else args.secure_cookies
    access = AccessConfig(trusted_proxies=tuple(proxies), secure_cookies=secure)
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

    # behind a reverse proxy the dashboard is shared even on 127.0.0.1: the proxy lets the network in
    require_login = not is_loopback(args.host) or bool(access.trusted_proxies)
    if require_login:
        try:
            with session_factory(engine)() as s, s.begin():
                accounts = count_enabled_users(s)
                session_secret(s)  # made once here, before gunicorn's workers start together
        except SQLAlchemyError as exc:
            print(f"error: cannot open database {redact(url)}: {_one_line(exc)}", file=sys.stderr)
            return 2
        if accounts == 0:
            print(
                f"error: --host {args.host}{' behind a proxy' if access.trusted_proxies else ''} shares the dashboard on "
                "the network, which requires a login, and no "
                "account exists yet; create one with: python -m dashboard users add NAME --role admin"
                + (f" --db {redact(url)}" if args.db else ""),
                file=sys.stderr,
            )
            return 2

    if args.workers:
        engine.dispose()
        from dashboard.render_process import spawn

        # the Live renderer starts importing now, while gunicorn boots its workers (this pid becomes gunicorn's,
        # so it stays its parent); the workers' own renderers wait for its lock
        spawn(url)
        _exec_gunicorn(args, url, require_login, access)  # does not return

    from dashboard.app import create_app  # after the database check, so a bad URL fails in well under a second
    from db.privacy import RetentionKeeper

    RetentionKeeper(session_factory(engine), threading.Event()).start()  # the school's retention, now and daily
    app = create_app(session_factory(engine), require_login=require_login, access=access)
    from dashboard.data import freeze_startup_objects, set_up_before_serving
    from dashboard.render_process import spawn

    spawn(url)

    set_up_before_serving(app.server)
    freeze_startup_objects()
    log.info(
        "ClassMood dashboard on http://%s:%d (database %s)%s",
        args.host,
        args.port,
        redact(url),
        ", login required" if require_login else ", this machine only",
    )
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


def _exec_gunicorn(args: argparse.Namespace, url: str, require_login: bool, access: AccessConfig) -> None:
    """Replace this process with gunicorn serving ``dashboard.wsgi:server``; the settings go by environment."""
    bind = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CLASSMOOD_LOGIN": "1" if require_login else "0",
        "CLASSMOOD_TRUSTED_PROXIES": ",".join(str(n) for n in access.trusted_proxies),
        "CLASSMOOD_SECURE_COOKIES": "1" if access.secure_cookies else "0",
    }
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--worker-class", "gthread",
        "--threads", "8", "--bind", bind, "--graceful-timeout", "10", "dashboard.wsgi:server",
    ]  # fmt: skip
    log.info(
        "ClassMood dashboard on http://%s with gunicorn, %d workers (database %s)", bind, args.workers, redact(url)
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    sys.exit(main())
