"""Dashboard accounts and per-teacher scoping on real SQLite and PostgreSQL: hashing, login checks, the query
filters and ``can_view``, and the worker's ``--teacher`` reaching ``class_session.teacher``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.accounts import (
    AccountError,
    Viewer,
    active_viewer,
    add_user,
    authenticate,
    count_enabled_users,
    find_user,
    password_fingerprint,
    remove_user,
    session_secret,
    set_disabled,
    set_password,
)
from db.queries import (
    acknowledge_flag,
    can_view,
    delete_session,
    latest_session,
    list_sessions,
    live_session,
    viewable_session,
)
from db.schema import ClassSession, Flag, User
from monitor.storage import OpenSession, StorageWriter
from tests.db.builders import T0, Seeded

pytestmark = pytest.mark.db

ALICE = Viewer("alice", "teacher")
BOB = Viewer("bob", "teacher")
ADMIN = Viewer("root", "admin")


def own(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    """Maths and History are Alice's, Lab is Bob's, Art belongs to nobody (admins only)."""
    with Session() as s, s.begin():
        for sid, teacher in ((seeded.maths, "alice"), (seeded.history, "alice"), (seeded.lab, "bob")):
            session = s.get(ClassSession, sid)
            assert session is not None
            session.teacher = teacher


def test_passwords_are_argon2_hashed_and_checked(Session: sessionmaker[OrmSession]) -> None:
    with Session() as s, s.begin():
        add_user(s, "alice", "correct horse", "teacher")
        add_user(s, "root", "admin password", "admin")
    with Session() as s, s.begin():
        stored = find_user(s, "alice")
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash
        assert authenticate(s, "alice", "correct horse") == ALICE
        assert authenticate(s, "root", "admin password") == Viewer("root", "admin")
        assert authenticate(s, "alice", "wrong horse") is None
        assert authenticate(s, "nobody", "correct horse") is None
        assert authenticate(s, "alice", "x" * 5000) is None
        assert count_enabled_users(s) == 2
    with Session() as s:
        user = find_user(s, "alice")
        assert user is not None and user.last_login_at is not None


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("bad name", "long enough", "teacher", "invalid account name"),
        ("<script>", "long enough", "teacher", "invalid account name"),
        ("carol", "short", "teacher", "too short"),
        ("carol", "long enough", "owner", "invalid role"),
        ("alice", "long enough", "teacher", "already exists"),
    ],
)
def test_bad_accounts_are_refused(
    Session: sessionmaker[OrmSession], name: str, password: str, role: str, message: str
) -> None:
    with Session() as s, s.begin():
        add_user(s, "alice", "correct horse")
    with Session() as s, s.begin(), pytest.raises(AccountError, match=message):
        add_user(s, name, password, role)


def test_disabling_or_a_new_password_ends_logins(Session: sessionmaker[OrmSession]) -> None:
    with Session() as s, s.begin():
        user = add_user(s, "alice", "correct horse")
        tag = password_fingerprint(user.password_hash)
    with Session() as s, s.begin():
        assert active_viewer(s, "alice", tag) == ALICE
        set_disabled(s, "alice", True)
        assert active_viewer(s, "alice", tag) is None
        assert authenticate(s, "alice", "correct horse") is None
        assert count_enabled_users(s) == 0
        set_disabled(s, "alice", False)
        set_password(s, "alice", "battery staple")
        assert active_viewer(s, "alice", tag) is None  # the old cookie's tag no longer matches
        assert authenticate(s, "alice", "battery staple") == ALICE
        remove_user(s, "alice")
        assert s.scalars(select(User)).all() == []
        with pytest.raises(AccountError, match="no account named"):
            remove_user(s, "alice")


def test_the_session_secret_is_made_once(Session: sessionmaker[OrmSession]) -> None:
    with Session() as s, s.begin():
        first = session_secret(s)
    with Session() as s, s.begin():
        assert session_secret(s) == first and len(first) == 64


def test_a_teacher_sees_only_their_own_sessions(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    own(Session, seeded)
    with Session() as s:
        assert set(list_sessions(s)["id"]) == {seeded.maths, seeded.lab, seeded.history, seeded.art}
        assert set(list_sessions(s, teacher="alice")["id"]) == {seeded.maths, seeded.history}
        assert set(list_sessions(s, teacher="bob")["id"]) == {seeded.lab}
        assert list_sessions(s, teacher="carol").empty
        # running: Lab (Bob's, started at +30 min) and History (Alice's, +1 h); latest overall: Art (nobody's)
        assert live_session(s).id == seeded.history  # type: ignore[union-attr]
        assert live_session(s, "bob").id == seeded.lab  # type: ignore[union-attr]
        assert latest_session(s).id == seeded.art  # type: ignore[union-attr]
        assert latest_session(s, "alice").id == seeded.history  # type: ignore[union-attr]
        assert latest_session(s, "carol") is None
        maths = s.get(ClassSession, seeded.maths)
        art = s.get(ClassSession, seeded.art)
        assert can_view(maths, None) and can_view(maths, ALICE) and can_view(maths, ADMIN)
        assert not can_view(maths, BOB)
        assert can_view(art, ADMIN) and not can_view(art, ALICE) and not can_view(None, ADMIN)
        assert viewable_session(s, seeded.maths, BOB) is None  # another teacher's id: "not found"
        assert viewable_session(s, seeded.maths, ALICE) is maths


def test_a_teacher_cannot_acknowledge_another_teachers_flag(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    own(Session, seeded)
    with Session() as s, s.begin():
        flag = Flag(session_id=seeded.maths, student="Seat 1", rule="not_visible", start=T0, severity="info",
                    reason="Seat 1: not visible", evidence={}, frames=10)  # fmt: skip
        s.add(flag)
        s.flush()
        flag_id = flag.id
    at = T0 + dt.timedelta(minutes=5)
    with Session() as s, s.begin():
        assert not acknowledge_flag(s, flag_id, at, BOB)
        assert acknowledge_flag(s, flag_id, at, ALICE)
    with Session() as s:
        assert s.get(Flag, flag_id).acknowledged_at == at  # type: ignore[union-attr]


def test_the_worker_stores_the_sessions_teacher_and_classroom(db_url: str) -> None:
    writer = StorageWriter(db_url, retry_initial_s=0.1)
    writer.start()
    writer.put(OpenSession("Maths", "class.mp4", "room", 10.0, 2.0, "haar", "m.keras", T0, teacher="alice",
                           classroom="Room 12"))  # fmt: skip
    writer.close(T0 + dt.timedelta(seconds=30))
    writer.join(timeout=30)
    from db.engine import make_engine, session_factory

    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        session = s.scalars(select(ClassSession)).one()
        assert (session.teacher, session.classroom) == ("alice", "Room 12")
        assert [r for r in list_sessions(s, teacher="alice")["id"]] == [session.id]
    engine.dispose()


def test_a_teacher_cannot_delete_another_teachers_session(Session: sessionmaker[OrmSession], seeded: Seeded) -> None:
    """The check sits in ``delete_session`` itself: a forged id from the browser deletes nothing."""
    own(Session, seeded)
    with Session() as s, s.begin():
        assert not delete_session(s, seeded.lab, ALICE)
        assert not delete_session(s, seeded.art, ALICE)  # nobody's session: admins only
    with Session() as s, s.begin():
        assert s.get(ClassSession, seeded.lab) is not None and s.get(ClassSession, seeded.art) is not None
        assert delete_session(s, seeded.lab, BOB)
        assert delete_session(s, seeded.art, ADMIN)
    with Session() as s:
        assert s.get(ClassSession, seeded.lab) is None and s.get(ClassSession, seeded.art) is None
