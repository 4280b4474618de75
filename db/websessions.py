"""Dashboard logins and the login throttle, kept in the database so every dashboard process shares them.

A school runs the dashboard under gunicorn with several worker processes: a login made through one worker must be
known to the others, a logout must end it in all of them, and a password guessed through one worker must count
against the limit in every other. So both live here, not in process memory.

* :func:`open_session` / :func:`session_user` / :func:`end_session`: a random token in the browser's (signed)
  cookie; the table keeps its SHA-256, the account and an expiry fixed at login (absolute: polling never extends it).
* :func:`charge_attempt` / :func:`refund_attempt`: a failed-login counter per key in a fixed window. An attempt is
  charged *before* its password is checked, in one transaction whose conditional ``UPDATE`` is atomic on SQLite and
  PostgreSQL alike, so forty requests in flight at once cannot all get past a limit of five.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.schema import LoginThrottle, WebSession

TOKEN_BYTES = 32
MAX_KEY = 250


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def open_session(
    s: Session, user_name: str, password_tag: str, lifetime: dt.timedelta, *, now: dt.datetime | None = None
) -> str:
    """Record a login valid for ``lifetime`` from now and return the token for the cookie; expired rows go too."""
    at = _now(now)
    s.execute(delete(WebSession).where(WebSession.expires_at <= at))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    s.add(
        WebSession(
            token_hash=_hash(token),
            user_name=user_name,
            password_tag=password_tag,
            created_at=at,
            expires_at=at + lifetime,
        )
    )
    s.flush()
    return token


@dataclass(frozen=True)
class SessionUser:
    """The account behind a valid token and the password tag it logged in with."""

    user_name: str
    password_tag: str
    expires_at: dt.datetime


def session_user(s: Session, token: str, *, now: dt.datetime | None = None) -> SessionUser | None:
    """The account of a token that was issued, not ended and not expired; None otherwise."""
    if not token or len(token) > 200:
        return None
    row = s.get(WebSession, _hash(token))
    if row is None or row.expires_at <= _now(now):
        return None
    return SessionUser(row.user_name, row.password_tag, row.expires_at)


def end_session(s: Session, token: str) -> None:
    """Log out: the token opens nothing any more, in any process."""
    s.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_sessions_of(s: Session, user_name: str) -> int:
    """End every login of an account (for a removed account); returns how many were ended."""
    result = s.execute(delete(WebSession).where(WebSession.user_name == user_name))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed logins per ``key`` in one window."""

    key: str
    failures: int


class Throttled(Exception):
    """Too many failed logins for one of the keys: raised inside the transaction so that it rolls back (the keys
    charged before the full one are not counted); ``wait`` is how long until that key's window ends."""

    def __init__(self, key: str, wait: dt.timedelta) -> None:
        super().__init__(f"too many failed logins for {key!r}")
        self.key, self.wait = key, wait


def charge_attempt(
    s: Session, limits: Sequence[Limit], window: dt.timedelta, *, now: dt.datetime | None = None
) -> None:
    """Count one attempt against every limit, all or none, or raise :class:`Throttled` (let it leave the
    ``s.begin()`` block so nothing is counted). The caller commits; call :func:`refund_attempt` if it succeeds.

    The first statement writes (an ``INSERT ... ON CONFLICT DO NOTHING``), so on SQLite the transaction holds the
    write lock from the start and concurrent processes queue on the busy timeout instead of failing; on PostgreSQL
    the conditional ``UPDATE ... WHERE failures < limit`` re-checks the row after waiting for its lock. Keys are
    handled in sorted order so two attempts never wait on each other's rows.
    """
    at = _now(now)
    ordered = sorted(limits, key=lambda limit: limit.key)
    keys = [limit.key[:MAX_KEY] for limit in ordered]
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(
        insert(LoginThrottle)
        .values([{"key": key, "window_start": at, "failures": 0} for key in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    s.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key.in_(keys), LoginThrottle.window_start <= at - window)
        .values(window_start=at, failures=0)
    )
    for key, limit in zip(keys, ordered, strict=True):
        result = s.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key, LoginThrottle.failures < limit.failures)
            .values(failures=LoginThrottle.failures + 1)
        )
        if getattr(result, "rowcount", 0) != 1:
            started = s.scalar(select(LoginThrottle.window_start).where(LoginThrottle.key == key))
            remaining = (started + window - at) if started is not None else window
            raise Throttled(key, max(remaining, dt.timedelta(seconds=1)))


def refund_attempt(s: Session, keys: Sequence[str], *, forget: Sequence[str] = ()) -> None:
    """A login succeeded: take its charge back from ``keys`` and clear ``forget`` (the address and account pair)."""
    trimmed = [key[:MAX_KEY] for key in keys]
    s.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key.in_(sorted(trimmed)), LoginThrottle.failures > 0)
        .values(failures=LoginThrottle.failures - 1)
    )
    if forget:
        s.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([key[:MAX_KEY] for key in forget])))


def forget_old_attempts(s: Session, window: dt.timedelta, *, now: dt.datetime | None = None) -> None:
    """Drop counters whose window ended long ago, so the table stays the size of the recent attempts."""
    s.execute(delete(LoginThrottle).where(LoginThrottle.window_start <= _now(now) - 2 * window))
