"""Who is looking, the login that a dashboard bound beyond this machine requires, and the protections every
response gets.

On 127.0.0.1 (the default) there is no login and :func:`current_viewer` is None: everything is shown. Bound to any
other address (``--host 0.0.0.0``, or under gunicorn), :func:`install_login` puts one Flask ``before_request`` hook in
front of every route the server has, Dash's own (``/``, ``/_dash-layout``, ``/_dash-update-component``, the component
bundles, the assets) and ours (``/report/...``), so nothing is served without a login except the login page itself.
Page requests from a browser are redirected to ``/login``; anything else (callbacks, downloads, reports) gets 401.

Logins are kept server-side (``db.websessions``): the cookie (Flask's signed cookie, HttpOnly, SameSite=Lax,
``Secure`` with ``--secure-cookies``) holds only a random token; logging out (a POST) deletes it from the database,
so the old cookie opens nothing, in any worker process; a login lasts 12 hours from when it was made, however often
the page polls. The account is checked on every request, so disabling it or changing its password ends its logins.

Failed logins are limited in the database, shared by every process: 5 per address and account, 20 per address and
20 per account in 5 minutes. One address can therefore never lock an account out for everyone else. Each attempt is
counted before its password is checked, so requests in flight cannot slip past the limit, and at most
``MAX_CONCURRENT_CHECKS`` argon2 checks (64 MiB each) run at once per process. The client's address is the TCP peer,
or, only when that peer is a configured trusted proxy (``--trusted-proxy``), the one it names in ``X-Forwarded-For``.

Every response carries a Content-Security-Policy Dash works with (its inline scripts allowed by hash only),
``frame-ancestors 'none'``, ``X-Content-Type-Options: nosniff``, a Referrer-Policy, and ``Cache-Control: no-store``
on everything but the static bundles. Every state-changing request (callbacks, ``/login``, ``/logout``) whose
``Origin`` (or, without one, ``Referer``) names another site is refused with 403; browsers send ``Origin`` on every
POST, so a request with neither comes from a program, not from a page on another site.

Scoping: :func:`current_viewer` is the one place pages, callbacks, downloads and the report ask who is looking;
``db.queries`` takes its ``teacher_scope`` as a filter and ``db.queries.viewable_session`` checks one session.
"""

from __future__ import annotations

import datetime as dt
import html
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from dash import html as html_components
from flask import Flask, Response, current_app, g, has_request_context, redirect, request, session
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import Unauthorized

from db.accounts import Viewer, active_viewer, authenticate, find_user, password_fingerprint, session_secret
from db.websessions import (
    Limit,
    Throttled,
    charge_attempt,
    end_session,
    forget_old_attempts,
    open_session,
    refund_attempt,
    session_user,
)

log = logging.getLogger(__name__)

LOGIN_KEY = "classmood.login_required"
CONFIG_KEY = "classmood.access"
HASH_SOURCE_KEY = "classmood.csp_hash_source"
HASHES_KEY = "classmood.csp_hashes"
OPEN_PATHS = frozenset({"/login", "/logout", "/notice.html", "/notice.pdf"})  # the notice: for students
SESSION_HOURS = 12
FAILURE_DELAY_S = 0.5
WINDOW = dt.timedelta(minutes=5)
MAX_FAILURES_PER_NAME = 5  # per client address and account name, in WINDOW
MAX_FAILURES_PER_ADDRESS = 20  # per client address, all names together, in WINDOW
MAX_FAILURES_PER_ACCOUNT = 20  # per account, all addresses together, in WINDOW (4 addresses at least)
MAX_CONCURRENT_CHECKS = 2  # argon2 checks at once per process: ~64 MiB each
CHECK_QUEUE_S = 30.0  # how long a login waits for a free check before "busy, try again"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
CSP_BASE = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> list[Network]:
    """``--trusted-proxy`` values: addresses or networks (``10.0.0.5``, ``10.0.0.0/24``, ``::1``); ValueError names
    the bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"--trusted-proxy {value!r} is not an IP address or network") from None
    return networks


@dataclass(frozen=True)
class AccessConfig:
    """How the dashboard is reached: the proxies whose forwarding headers are believed, and cookie settings."""

    trusted_proxies: Sequence[Network] = field(default_factory=tuple)
    secure_cookies: bool = False
    session_hours: float = SESSION_HOURS


def _config() -> AccessConfig:
    config = current_app.extensions.get(CONFIG_KEY)
    return config if isinstance(config, AccessConfig) else AccessConfig()


def _trusted(address: str | None, config: AccessConfig) -> bool:
    if not address or not config.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in config.trusted_proxies)


def client_address() -> str:
    """The TCP peer, or, when the peer is a trusted proxy, the nearest untrusted address in ``X-Forwarded-For``
    (read from the right: what a client writes on the left of the header is not believed)."""
    config = _config()
    peer = request.remote_addr or "?"
    if not _trusted(peer, config):
        return peer
    hops = [hop.strip() for hop in ",".join(request.headers.getlist("X-Forwarded-For")).split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, config):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return peer  # a malformed hop: fall back to the proxy itself rather than trust free text
    return peer


def own_origin() -> str:
    """``scheme://host[:port]`` the browser used: the request's, or a trusted proxy's ``X-Forwarded-Proto``/``-Host``."""
    scheme, host = request.scheme, request.host
    if _trusted(request.remote_addr, _config()):
        scheme = request.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip() or scheme
        host = request.headers.get("X-Forwarded-Host", host).split(",")[0].strip() or host
    return f"{scheme}://{host}".lower()


def _sender_origin() -> str | None:
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.strip().lower()
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower()
    return None


def _check_origin() -> Response | None:
    """Refuse a state-changing request sent by a page of another site (CSRF)."""
    if request.method in SAFE_METHODS:
        return None
    sender = _sender_origin()
    if sender is None or sender == own_origin():
        return None
    log.warning(
        "refused a cross-site %s %s from %s (origin %s)", request.method, request.path, client_address(), sender
    )
    return Response("cross-site request refused\n", status=403, mimetype="text/plain")


def _security_headers(response: Response) -> Response:
    headers = response.headers
    csp = headers.get("Content-Security-Policy")
    if csp is None:
        hashes = " ".join(_script_hashes())
        headers["Content-Security-Policy"] = f"{CSP_BASE}; script-src 'self' {hashes}".rstrip()
    elif "frame-ancestors" not in csp:
        headers["Content-Security-Policy"] = csp + "; frame-ancestors 'none'"
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(STATIC_PREFIXES):
        # pages, callbacks (the data, CSV downloads), reports: never kept by a browser or a proxy
        headers["Cache-Control"] = "no-store"
    return response


def _script_hashes() -> Sequence[str]:
    """The hashes of Dash's inline scripts, taken once after Dash's own first-request set-up (which adds Dash
    Pages' inline script), so the CSP allows exactly those and no other inline script."""
    cache: dict[str, tuple[str, ...]] = current_app.extensions[HASHES_KEY]
    if "hashes" not in cache:
        source: Callable[[], Sequence[str]] = current_app.extensions[HASH_SOURCE_KEY]
        cache["hashes"] = tuple(source())
    return cache["hashes"]


def install_security(
    server: Flask, csp_hashes: Callable[[], Sequence[str]] = tuple, config: AccessConfig | None = None
) -> None:
    """Origin checks on state-changing requests and security headers on every response, with or without a login.
    ``csp_hashes`` gives the inline scripts' CSP hashes (``Dash.csp_hashes``); it is called at the first response."""
    server.extensions[CONFIG_KEY] = config or AccessConfig()
    server.extensions[HASH_SOURCE_KEY] = csp_hashes
    server.extensions[HASHES_KEY] = {}
    server.before_request(_check_origin)
    server.after_request(_security_headers)


def login_required() -> bool:
    return bool(has_request_context() and current_app.extensions.get(LOGIN_KEY, False))


def current_viewer() -> Viewer | None:
    """Who is looking: None when no login is in force (a loopback-only dashboard: everything is visible), else the
    logged-in account. Raises 401 if a login is required and nobody is logged in (the guard should have refused
    the request already; this keeps a missed route closed rather than open)."""
    if not login_required():
        return None
    viewer: Viewer | None = g.get("classmood_viewer")
    if viewer is None:
        raise Unauthorized("login required")
    return viewer


def teacher_scope() -> str | None:
    """The ``teacher`` filter for ``db.queries``: None for everything (no login, or an admin), else the name."""
    viewer = current_viewer()
    return None if viewer is None else viewer.teacher_scope


def signed_in_as() -> Viewer | None:
    """The logged-in account for display (the navbar), or None; never raises."""
    return g.get("classmood_viewer") if login_required() else None


def _sessions() -> sessionmaker[Session]:
    from dashboard.data import EXTENSION_KEY

    factory: sessionmaker[Session] = current_app.extensions[EXTENSION_KEY]
    return factory


def _load_viewer() -> Viewer | None:
    token = session.get("token")
    if not isinstance(token, str):
        return None
    try:
        with _sessions()() as s, s.begin():
            user = session_user(s, token)
            return None if user is None else active_viewer(s, user.user_name, user.password_tag)
    except SQLAlchemyError as exc:
        log.warning("checking a login failed: %s", exc)
        return None


def _safe_next(target: str | None) -> str:
    """Only a path on this server (never ``//host`` or ``https://...``) may be where the login sends you."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _wants_page() -> bool:
    return (
        request.method == "GET"
        and not request.path.startswith(("/_dash", "/_reload", "/report/", "/assets/", "/_favicon"))
        and "text/html" in request.headers.get("Accept", "")
    )


def _guard() -> Response | None:
    if request.path in OPEN_PATHS:
        return None
    viewer = _load_viewer()
    if viewer is not None:
        g.classmood_viewer = viewer
        return None
    if _wants_page():
        return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))  # type: ignore[return-value]
    return Response("login required\n", status=401, mimetype="text/plain")


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ClassMood · Log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
body{{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f5f6f8;margin:0}}
main{{max-width:22rem;margin:12vh auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}}
h1{{font-size:1.4rem;margin:0 0 1rem}} label{{display:block;margin:.8rem 0 .3rem}}
input{{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}}
button{{margin-top:1.2rem;padding:.55rem 1.2rem;font-size:1rem}} .error{{color:#b91c1c}} .muted{{color:#666}}
</style></head>
<body><main>
<h1>ClassMood</h1>
<p class="muted">This dashboard is shared on the network: log in with your ClassMood account.</p>
{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="name">Account name</label><input id="name" name="name" autocomplete="username" value="{name}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login" type="submit">Log in</button>
</form>
</main></body></html>
"""


def _login_page(message: str = "", name: str = "", next_path: str = "/", status: int = 200) -> Response:
    body = LOGIN_PAGE.format(
        message=f'<p class="error" id="login-error" role="alert">{html.escape(message)}</p>' if message else "",
        next=html.escape(next_path),
        name=html.escape(name),
    )
    return Response(body, status=status, mimetype="text/html")


_checks = threading.BoundedSemaphore(MAX_CONCURRENT_CHECKS)


def _limits(address: str, name: str) -> tuple[list[Limit], str]:
    pair = f"pair:{address}|{name}"
    limits = [
        Limit(f"address:{address}", MAX_FAILURES_PER_ADDRESS),
        Limit(pair, MAX_FAILURES_PER_NAME),
        Limit(f"account:{name}", MAX_FAILURES_PER_ACCOUNT),
    ]
    return limits, pair


def _login() -> Response:
    next_path = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return _login_page(next_path=next_path)
    name = request.form.get("name", "").strip()[:200]
    password = request.form.get("password", "")
    address = client_address()
    limits, pair = _limits(address, name)
    try:
        with _sessions()() as s, s.begin():
            charge_attempt(s, limits, WINDOW)  # counted before the check, refunded below if it succeeds
    except Throttled as exc:
        minutes = max(1, round(exc.wait.total_seconds() / 60))
        log.warning("login for %r from %s refused: too many failed attempts (%s)", name, address, exc.key)
        return _login_page(
            f"Too many failed logins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.", name, next_path, 429
        )
    except SQLAlchemyError as exc:
        log.warning("login for %r failed on the database: %s", name, exc)
        return _login_page("The database cannot be read right now; try again.", name, next_path, 503)
    if not _checks.acquire(timeout=CHECK_QUEUE_S):
        log.warning("login for %r from %s refused: %d password checks already running", name, address,
                    MAX_CONCURRENT_CHECKS)  # fmt: skip
        return _login_page("The server is busy; try again in a moment.", name, next_path, 503)
    try:
        with _sessions()() as s, s.begin():
            viewer = authenticate(s, name, password)
            user = find_user(s, name) if viewer is not None else None
            tag = password_fingerprint(user.password_hash) if user is not None else ""
    except SQLAlchemyError as exc:
        log.warning("login for %r failed on the database: %s", name, exc)
        return _login_page("The database cannot be read right now; try again.", name, next_path, 503)
    finally:
        _checks.release()
    if viewer is None:
        log.info("failed login for %r from %s", name, address)
        time.sleep(FAILURE_DELAY_S)
        # 200, not 401: the form is shown again with the message (a 401 page is a console error in the browser)
        return _login_page("Wrong account name or password, or the account is disabled.", name, next_path)
    lifetime = dt.timedelta(hours=_config().session_hours)
    try:
        with _sessions()() as s, s.begin():
            refund_attempt(s, [limit.key for limit in limits], forget=[pair])
            forget_old_attempts(s, WINDOW)  # keeps the table the size of the last few minutes' attempts
            token = open_session(s, viewer.name, tag, lifetime)
    except SQLAlchemyError as exc:
        log.warning("recording the login of %r failed: %s", name, exc)
        return _login_page("The database cannot be written right now; try again.", name, next_path, 503)
    session.clear()
    session.permanent = True
    session["token"] = token
    log.info("%s %r logged in from %s", viewer.role, viewer.name, address)
    return redirect(next_path)  # type: ignore[return-value]


def _logout() -> Response:
    """POST only (a link or an image on another page cannot log anyone out); the login ends in the database."""
    token = session.get("token")
    if isinstance(token, str):
        try:
            with _sessions()() as s, s.begin():
                end_session(s, token)
        except SQLAlchemyError as exc:
            log.warning("ending a login failed: %s", exc)
            return Response("the database cannot be written right now; try again\n", status=503,
                            mimetype="text/plain")  # fmt: skip
    session.clear()
    return redirect("/login")  # type: ignore[return-value]


def install_login(server: Flask, sessions: sessionmaker[Session], config: AccessConfig | None = None) -> None:
    """Require a login for every route of ``server`` (call once, after ``dashboard.data.install``)."""
    config = config or AccessConfig()
    try:
        with sessions() as s, s.begin():
            secret = session_secret(s)
    except IntegrityError:  # another worker process made the key at the same moment: use theirs
        with sessions() as s, s.begin():
            secret = session_secret(s)
    server.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="classmood_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,  # the cookie's expiry is fixed at login, like the login's own
    )
    server.extensions[LOGIN_KEY] = True
    server.extensions[CONFIG_KEY] = config
    server.before_request(_guard)
    server.add_url_rule("/login", "classmood_login", _login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "classmood_logout", _logout, methods=["POST"])


def account_links() -> list[html_components.Span]:
    """For the navbar: who is logged in and a way out (a form posting to /logout); nothing without a login."""
    viewer = signed_in_as()
    if viewer is None:
        return []
    return [
        html_components.Span(
            [
                f"{viewer.name} ({viewer.role})",
                " · ",
                html_components.Form(
                    html_components.Button("Log out", id="logout", type="submit", className="link-button"),
                    action="/logout",
                    method="POST",
                    className="logout-form",
                ),
            ],
            className="nav-account",
        )
    ]
