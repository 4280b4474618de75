"""Who is looking, and the login that a dashboard bound beyond this machine requires.

On 127.0.0.1 (the default) there is no login and :func:`current_viewer` is None: everything is shown. Bound to any
other address (``--host 0.0.0.0``), :func:`install_login` puts one Flask ``before_request`` hook in front of every
route the server has, Dash's own (``/``, ``/_dash-layout``, ``/_dash-update-component``, the component bundles, the
assets) and ours (``/report/...``), so nothing is served without a login except the login page itself. Page
requests from a browser are redirected to ``/login``; anything else (callbacks, downloads, reports) gets 401.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, 12 hours), holding the account name and a tag of
its password hash; the account is looked up on every request, so disabling it or changing its password ends its
sessions at once. The signing key is made once and kept in the database (``db.accounts.session_secret``).
Failed logins are slowed (half a second each) and limited per address and per address and name.

Scoping: :func:`current_viewer` is the one place pages, callbacks, downloads and the report ask who is looking;
``db.queries`` takes its ``teacher_scope`` as a filter and ``db.queries.viewable_session`` checks one session.
"""

from __future__ import annotations

import collections
import datetime as dt
import html
import logging
import threading
import time
from urllib.parse import urlencode

from dash import html as html_components
from flask import Flask, Response, current_app, g, has_request_context, redirect, request, session
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import Unauthorized

from db.accounts import Viewer, active_viewer, authenticate, find_user, password_fingerprint, session_secret

log = logging.getLogger(__name__)

LOGIN_KEY = "classmood.login_required"
THROTTLE_KEY = "classmood.login_throttle"
OPEN_PATHS = frozenset({"/login", "/logout", "/notice.html", "/notice.pdf"})  # the notice: for students
SESSION_HOURS = 12
FAILURE_DELAY_S = 0.5
WINDOW_S = 300.0
MAX_FAILURES_PER_NAME = 5  # per client address and account name, in WINDOW_S
MAX_FAILURES_PER_ADDRESS = 20  # per client address, all names together, in WINDOW_S


class LoginThrottle:
    """Counts failed logins in a sliding window; a key over its limit must wait until its oldest failure expires."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._failures: dict[tuple[str, ...], collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def _keys(self, address: str, name: str) -> list[tuple[tuple[str, ...], int]]:
        return [(("address", address), MAX_FAILURES_PER_ADDRESS), (("name", address, name), MAX_FAILURES_PER_NAME)]

    def wait_s(self, address: str, name: str, now: float | None = None) -> float:
        """Seconds until this address may try this name again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        longest = 0.0
        with self._lock:
            for key, limit in self._keys(address, name):
                times = self._failures.get(key)
                if not times:
                    continue
                while times and times[0] <= now - self.window_s:
                    times.popleft()
                if len(times) >= limit:
                    longest = max(longest, times[0] + self.window_s - now)
        return longest

    def failed(self, address: str, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key, _limit in self._keys(address, name):
                self._failures[key].append(now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", address, name), None)


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
    name, tag = session.get("user"), session.get("pw")
    if not isinstance(name, str) or not isinstance(tag, str):
        return None
    try:
        with _sessions()() as s, s.begin():
            return active_viewer(s, name, tag)
    except SQLAlchemyError as exc:
        log.warning("checking the login of %r failed: %s", name, exc)
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


def _login() -> Response:
    next_path = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return _login_page(next_path=next_path)
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or "?"
    throttle: LoginThrottle = current_app.extensions[THROTTLE_KEY]
    wait = throttle.wait_s(address, name)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        log.warning("login for %r from %s refused: too many failed attempts", name, address)
        return _login_page(
            f"Too many failed logins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.", name, next_path, 429
        )
    try:
        with _sessions()() as s, s.begin():
            viewer = authenticate(s, name, password)
            user = find_user(s, name) if viewer is not None else None
            tag = password_fingerprint(user.password_hash) if user is not None else ""
    except SQLAlchemyError as exc:
        log.warning("login for %r failed on the database: %s", name, exc)
        return _login_page("The database cannot be read right now; try again.", name, next_path, 503)
    if viewer is None:
        throttle.failed(address, name)
        log.info("failed login for %r from %s", name, address)
        time.sleep(FAILURE_DELAY_S)
        # 200, not 401: the form is shown again with the message (a 401 page is a console error in the browser)
        return _login_page("Wrong account name or password, or the account is disabled.", name, next_path)
    throttle.succeeded(address, name)
    session.clear()
    session.permanent = True
    session["user"], session["pw"] = viewer.name, tag
    log.info("%s %r logged in from %s", viewer.role, viewer.name, address)
    return redirect(next_path)  # type: ignore[return-value]


def _logout() -> Response:
    session.clear()
    return redirect("/login")  # type: ignore[return-value]


def install_login(server: Flask, sessions: sessionmaker[Session]) -> None:
    """Require a login for every route of ``server`` (call once, after ``dashboard.data.install``)."""
    with sessions() as s, s.begin():
        secret = session_secret(s)
    server.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="classmood_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
    )
    server.extensions[LOGIN_KEY] = True
    server.extensions[THROTTLE_KEY] = LoginThrottle()
    server.before_request(_guard)
    server.add_url_rule("/login", "classmood_login", _login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "classmood_logout", _logout, methods=["GET", "POST"])


def account_links() -> list[html_components.Span]:
    """For the navbar: who is logged in and a way out; nothing when no login is in force."""
    viewer = signed_in_as()
    if viewer is None:
        return []
    return [
        html_components.Span(
            [f"{viewer.name} ({viewer.role})", " · ", html_components.A("Log out", href="/logout", id="logout")],
            className="nav-account",
        )
    ]
