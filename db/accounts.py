"""Dashboard accounts: teachers (see their own sessions) and admins (see all), with argon2-hashed passwords.

Passwords are hashed with argon2-cffi's ``PasswordHasher`` (argon2id, a random salt per hash, its parameters stored
in the hash string), never stored or logged as given. A teacher's sessions are those whose ``class_session.teacher``
is the account's name (``python -m monitor run --teacher NAME``); :class:`Viewer` is who is looking, as the
dashboard's login knows it, and ``db.queries.can_view`` decides what they may see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Final, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.schema import Setting, User

ROLES: Final = ("teacher", "admin")
Role = Literal["teacher", "admin"]
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; a cap keeps one login request from costing seconds of CPU

_hasher = PasswordHasher()
# Verifying a password against this when the account does not exist takes as long as a real check, so the answer
# time does not tell an attacker which names exist.
_DUMMY_HASH: Final = _hasher.hash("not a real password, only for constant-time refusals")


class AccountError(ValueError):
    """A bad name, password, role, or an account that does not (or already) exist; one line for the user."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the dashboard: an account's name and role."""

    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def teacher_scope(self) -> str | None:
        """The ``teacher`` filter for ``db.queries``: the name for a teacher, None (everything) for an admin."""
        return None if self.is_admin else self.name


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise AccountError(
            f"invalid account name {name!r}: use 1-100 letters, digits, '.', '_', '-' or '@', starting with a letter "
            "or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD} characters")
    return password


def check_role(role: str) -> Role:
    if role == "teacher":
        return "teacher"
    if role == "admin":
        return "admin"
    raise AccountError(f"invalid role {role!r}: use teacher or admin")


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def find_user(s: Session, name: str) -> User | None:
    return s.scalars(select(User).where(User.name == name)).first()


def _existing(s: Session, name: str) -> User:
    user = find_user(s, name)
    if user is None:
        raise AccountError(f"no account named {name!r}")
    return user


def add_user(s: Session, name: str, password: str, role: str = "teacher", *, now: dt.datetime | None = None) -> User:
    """Create an account; the caller's transaction commits it."""
    check_name(name)
    checked_role = check_role(role)
    if find_user(s, name) is not None:
        raise AccountError(f"an account named {name!r} already exists")
    user = User(
        name=name,
        password_hash=hash_password(password),
        role=checked_role,
        created_at=now or dt.datetime.now(dt.UTC),
        disabled=False,
    )
    s.add(user)
    s.flush()
    return user


def remove_user(s: Session, name: str) -> None:
    s.delete(_existing(s, name))
    s.flush()


def set_password(s: Session, name: str, password: str) -> None:
    _existing(s, name).password_hash = hash_password(password)
    s.flush()


def set_disabled(s: Session, name: str, disabled: bool) -> None:
    _existing(s, name).disabled = disabled
    s.flush()


def list_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.name)))


def count_enabled_users(s: Session) -> int:
    return int(s.scalar(select(func.count(User.id)).where(User.disabled.is_(False))) or 0)


def authenticate(s: Session, name: str, password: str, *, now: dt.datetime | None = None) -> Viewer | None:
    """The account's :class:`Viewer` if ``password`` is right and the account is enabled, else None.

    Records ``last_login_at`` and re-hashes a hash made with older argon2 parameters; the caller commits.
    """
    user = find_user(s, name) if NAME_PATTERN.match(name) else None
    if user is None or len(password) > MAX_PASSWORD:
        _verify(_DUMMY_HASH, password[:MAX_PASSWORD])
        return None
    if not _verify(user.password_hash, password) or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now or dt.datetime.now(dt.UTC)
    s.flush()
    return Viewer(user.name, check_role(user.role))


def active_viewer(s: Session, name: str, fingerprint: str) -> Viewer | None:
    """The :class:`Viewer` for a logged-in browser: the account must still exist, be enabled and have the password
    it had at login (``fingerprint`` is :func:`password_fingerprint` of it), so disabling an account or changing its
    password ends its sessions at their next request."""
    user = find_user(s, name)
    if user is None or user.disabled or password_fingerprint(user.password_hash) != fingerprint:
        return None
    return Viewer(user.name, check_role(user.role))


def password_fingerprint(password_hash: str) -> str:
    """A short tag of the account's password hash for the (signed, readable) session cookie: a SHA-256 of the hash,
    so the cookie reveals nothing of it, and changing the password changes the tag."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


SECRET_KEY_SETTING: Final = "dashboard_secret"


def session_secret(s: Session) -> str:
    """The key that signs the dashboard's session cookies, made once (64 random hex digits) and kept in the
    ``setting`` table, so a restart or a second dashboard process on the same database keeps everyone logged in.
    The caller's transaction commits a new one."""
    row = s.get(Setting, SECRET_KEY_SETTING)
    key = row.value.get("key") if row is not None else None
    if isinstance(key, str) and len(key) >= 32:
        return key
    key = secrets.token_hex(32)
    now = dt.datetime.now(dt.UTC)
    if row is None:
        s.add(Setting(key=SECRET_KEY_SETTING, value={"key": key}, updated_at=now))
    else:
        row.value, row.updated_at = {"key": key}, now
    s.flush()
    return key
