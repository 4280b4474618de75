"""Dashboard logins and the login throttle in the database (``db.websessions``), on real SQLite and PostgreSQL.

Issue 13 items 7-8: the throttle lived in one process's memory and was checked before a request's password check but
counted after it, so 40 requests in flight were all checked; a logout only cleared the browser's cookie, so a copy of
it still opened every page; a login's lifetime was extended by every poll. Here: the charge is atomic across
threads with their own connections (as gunicorn's worker processes have), a limit is all-or-none over its keys, an
ended or expired login opens nothing, and reading the login does not extend it.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.schema import LoginThrottle, WebSession
from db.websessions import (
    Limit,
    Throttled,
    charge_attempt,
    end_session,
    end_sessions_of,
    forget_old_attempts,
    open_session,
    refund_attempt,
    session_user,
)

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=5)
HOURS_12 = dt.timedelta(hours=12)


def charge(Session: sessionmaker[OrmSession], limits: list[Limit], now: dt.datetime = T0) -> bool:
    """True when the attempt was let through (and counted), False when it was throttled."""
    try:
        with Session() as s, s.begin():
            charge_attempt(s, limits, WINDOW, now=now)
    except Throttled:
        return False
    return True


def failures(Session: sessionmaker[OrmSession]) -> dict[str, int]:
    with Session() as s:
        return {row.key: row.failures for row in s.scalars(select(LoginThrottle))}


def test_a_logout_ends_the_login_and_only_that_one(Session: sessionmaker[OrmSession]) -> None:
    with Session() as s, s.begin():
        first = open_session(s, "alice", "tag1", HOURS_12, now=T0)
        second = open_session(s, "alice", "tag1", HOURS_12, now=T0)
    with Session() as s, s.begin():
        end_session(s, first)
    with Session() as s:
        assert session_user(s, first, now=T0) is None
        user = session_user(s, second, now=T0)
        assert user is not None and (user.user_name, user.password_tag) == ("alice", "tag1")
        # the table never holds the token itself, so reading it gives nobody a cookie
        assert second not in {row.token_hash for row in s.scalars(select(WebSession))}


def test_a_login_expires_at_its_fixed_time_however_often_it_is_read(Session: sessionmaker[OrmSession]) -> None:
    with Session() as s, s.begin():
        token = open_session(s, "bob", "tag", HOURS_12, now=T0)
    for minutes in range(0, 12 * 60, 30):  # a poll every half hour of the lesson day: the expiry must not move
        with Session() as s:
            user = session_user(s, token, now=T0 + dt.timedelta(minutes=minutes))
            assert user is not None and user.expires_at == T0 + HOURS_12
    with Session() as s:
        assert session_user(s, token, now=T0 + HOURS_12) is None
        assert session_user(s, "not a token", now=T0) is None and session_user(s, "", now=T0) is None


def test_removing_an_account_ends_its_logins(Session: sessionmaker[OrmSession]) -> None:
    with Session() as s, s.begin():
        tokens = [open_session(s, "carol", "t", HOURS_12, now=T0) for _ in range(3)]
        other = open_session(s, "dave", "t", HOURS_12, now=T0)
    with Session() as s, s.begin():
        assert end_sessions_of(s, "carol") == 3
    with Session() as s:
        assert all(session_user(s, token, now=T0) is None for token in tokens)
        assert session_user(s, other, now=T0) is not None


def test_the_throttle_is_all_or_none_and_its_window_ends(Session: sessionmaker[OrmSession]) -> None:
    address, pair = Limit("address:10.0.0.9", 3), Limit("pair:10.0.0.9|alice", 2)
    assert [charge(Session, [address, pair]) for _ in range(3)] == [True, True, False]
    # the third attempt was refused on the pair's limit: the address's count was not charged for it
    assert failures(Session) == {"address:10.0.0.9": 2, "pair:10.0.0.9|alice": 2}
    assert charge(Session, [address, Limit("pair:10.0.0.9|bob", 2)])  # another account from there: one left
    assert not charge(Session, [address, Limit("pair:10.0.0.9|carol", 2)])  # now the address is full
    later = T0 + WINDOW
    assert charge(Session, [address, pair], now=later)  # a new window
    assert failures(Session)["pair:10.0.0.9|alice"] == 1


def test_a_refund_takes_back_only_the_successful_attempt(Session: sessionmaker[OrmSession]) -> None:
    keys = [Limit("address:a", 10), Limit("pair:a|x", 10), Limit("account:x", 10)]
    for _ in range(3):
        assert charge(Session, keys)
    with Session() as s, s.begin():
        refund_attempt(s, [k.key for k in keys], forget=["pair:a|x"])
    assert failures(Session) == {"address:a": 2, "account:x": 2}


def test_attempts_in_flight_cannot_pass_the_limit(Session: sessionmaker[OrmSession]) -> None:
    """20 threads, each with its own connection, charge the same key at once: exactly the limit get through."""
    limit = [Limit("pair:198.51.100.7|root", 5), Limit("address:198.51.100.7", 20)]
    start = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        start.wait()
        ok = charge(Session, limit)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 20
    assert results.count(True) == 5
    assert failures(Session) == {"pair:198.51.100.7|root": 5, "address:198.51.100.7": 5}


def test_old_counters_are_forgotten(Session: sessionmaker[OrmSession]) -> None:
    assert charge(Session, [Limit("address:old", 5)], now=T0)
    assert charge(Session, [Limit("address:new", 5)], now=T0 + 2 * WINDOW)
    with Session() as s, s.begin():
        forget_old_attempts(s, WINDOW, now=T0 + 2 * WINDOW)
    assert failures(Session) == {"address:new": 1}
