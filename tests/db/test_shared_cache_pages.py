"""The shared cache behind ``/school`` and Live (``dashboard.shared_cache``) on a real database (SQLite and
PostgreSQL): what one viewer's request cached is never served to a viewer who may not see it, and a new interval,
flag or note is on the very next poll although the cached entry is still young.

Each "viewer" is its own request context on one app (so one process's cache), logged in as a teacher or an admin."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from dash import Dash, no_update
from sqlalchemy import Engine

from db.accounts import Viewer
from db.emotions import EMOTIONS
from db.engine import session_factory
from db.schema import Flag, Interval, Note, StudentInterval
from tests.db.test_school_pages import rows_of
from tests.helpers.dash_pages import page, text_of
from tests.helpers.school_viewers import ADMIN, JONES, SMITH, as_viewer, cache_of

pytestmark = pytest.mark.db


def school_rooms(app: Dash, viewer: Viewer) -> list[str]:
    with as_viewer(app, viewer):
        _summary, table = page("school").refresh(0)
    return sorted(r["classroom"] for r in rows_of(table))


def test_school_overview_cached_for_the_head_is_never_shown_to_a_teacher(app: Dash, school: dict[str, int]) -> None:
    every_room = school_rooms(app, ADMIN)
    assert len(every_room) == 10
    assert school_rooms(app, SMITH) == ["Room 2", "Room 6"]
    assert school_rooms(app, JONES) == ["Room 10"]
    assert school_rooms(app, ADMIN) == every_room
    assert school_rooms(app, Viewer("root", "admin")) == every_room
    # the second admin and the head's second poll were served from the cache: the sharing is real
    assert cache_of(app).hits >= 2


def test_a_teacher_never_gets_another_teachers_live_room_from_the_cache(app: Dash, school: dict[str, int]) -> None:
    live = page("live")
    with as_viewer(app, ADMIN):  # the head opens Room 10 (jones's) and Room 2 (smith's): both now cached
        for room in ("Room 10", "Room 2"):
            assert live.refresh(0, None, None, {"classroom": room})[-2] == school[room]
    with as_viewer(app, SMITH):
        banner, style, *_rest, session_id, _fingerprint = live.refresh(0, None, None, {"classroom": "Room 10"})
        assert session_id is None and "Nothing to show" in text_of(banner) and style == {"display": "none"}
        by_id = live.refresh(0, None, None, {"session": school["Room 10"]})
        assert by_id[-2] is None and "Nothing to show" in text_of(by_id[0])
        assert by_id[10] is None  # nor its flags panel
        assert live.refresh(0, None, None, {"classroom": "Room 2"})[-2] == school["Room 2"]  # their own: shown
    with as_viewer(app, JONES):
        assert live.refresh(0, None, None, None)[-2] == school["Room 10"]  # no target: their own running room


def test_twenty_viewers_of_one_room_draw_it_once(app: Dash, school: dict[str, int]) -> None:
    live = page("live")
    first = None
    with as_viewer(app, ADMIN):
        for _ in range(20):
            out = live.refresh(0, None, None, {"classroom": "Room 3"})
            first = first or out
            assert out[3] is first[3] and out[6] is first[6]  # the same timeline figure and cards, not redrawn
    assert cache_of(app).misses == 2  # the data read once, the page drawn once


def _add_interval(engine: Engine, session_id: int) -> None:
    with session_factory(engine)() as s, s.begin():
        last = max(s.query(Interval).filter_by(session_id=session_id), key=lambda i: i.start)
        interval = Interval(
            session_id=session_id,
            start=last.end,
            end=last.end + dt.timedelta(seconds=10),
            students_seen=1,
            frames_analysed=20,
            frames_skipped=0,
            **{f"n_{e}": int(e == "sad") for e in EMOTIONS},
        )
        interval.students.append(
            StudentInterval(student="Seat 9", frames_seen=18, dominant="sad", **{f"p_{e}": 1 / 7 for e in EMOTIONS})
        )
        s.add(interval)


def test_a_new_interval_flag_or_note_is_on_the_next_poll(app: Dash, engine: Engine, school: dict[str, int]) -> None:
    """Every viewer polls every 3 s and the cached entry lives 5 s: without the data version in its key, the poll
    right after a new interval would have shown the old one."""
    live = page("live")
    room = {"classroom": "Room 7"}
    with as_viewer(app, ADMIN):
        out = live.refresh(0, None, None, room)
        fingerprint = out[-1]
        intervals = fingerprint["data"][2]
        assert live.refresh(1, None, fingerprint, room)[3] is no_update  # a poll with nothing new: nothing redrawn

    _add_interval(engine, school["Room 7"])
    with as_viewer(app, Viewer("root", "admin")):  # another viewer of the room
        out = live.refresh(2, None, fingerprint, room)
        assert out[-1]["data"][2] == intervals + 1
        assert "Seat 9" in text_of(out[6])  # the new interval's student card
        fingerprint = out[-1]

    with session_factory(engine)() as s, s.begin():
        s.add(Flag(session_id=school["Room 7"], rule="x", start=dt.datetime.now(dt.UTC), severity="alert",
                   reason="r", student="Seat 9"))  # fmt: skip
    with as_viewer(app, ADMIN):
        out = live.refresh(3, None, fingerprint, room)
        assert out[-1]["flags"] == [["Seat 9", "alert"]]
        fingerprint = out[-1]

    with session_factory(engine)() as s, s.begin():
        s.add(Note(session_id=school["Room 7"], at=dt.datetime.now(dt.UTC), text="quiz started",
                   created_at=dt.datetime.now(dt.UTC)))  # fmt: skip
    with as_viewer(app, ADMIN):
        out = live.refresh(4, None, fingerprint, room)
        assert "quiz started" in text_of(out[9])


def _review(app: Dash, viewer: Viewer, session_id: int) -> tuple[list[str], int] | None:
    """The students table's labels and the heatmap's number of columns (intervals) of one Review load; None when
    the page says "not found"."""
    from dashboard import ids

    with as_viewer(app, viewer):
        found: dict[str, Any] = {}

        def walk(node: Any) -> None:
            if isinstance(node, list | tuple):
                for child in node:
                    walk(child)
            elif hasattr(node, "to_plotly_json"):
                if getattr(node, "id", None) in (ids.REVIEW_HEATMAP, ids.REVIEW_STUDENTS):
                    found[node.id] = node
                walk(getattr(node, "children", None))

        walk(page("review").layout(session_id=str(session_id)))
    if ids.REVIEW_STUDENTS not in found:
        return None
    table = text_of(found[ids.REVIEW_STUDENTS])
    labels = [label for label in (f"Seat {n}" for n in range(1, 30)) if f'"{label}"' in table]
    heatmap = found[ids.REVIEW_HEATMAP].figure
    return labels, len(heatmap["data"][0]["x"])


def test_review_grid_is_shared_until_the_sessions_student_rows_change(
    app: Dash, engine: Engine, school: dict[str, int]
) -> None:
    """A 3-hour class's student grid is most of a Review load, so the page shares it between viewers of the
    session, keyed by the grid's data version: a new interval is on the next load, and so is a forgotten student's
    absence (``forget_student`` deletes student rows without touching the intervals: a key of the intervals alone
    would have kept showing them for the cache's lifetime)."""
    from db.privacy import forget_student

    sid = school["Room 2"]
    first = _review(app, ADMIN, sid)
    assert first is not None
    students, columns = first
    assert "Seat 3" in students and columns > 0
    misses = cache_of(app).misses
    assert _review(app, SMITH, sid) == (students, columns)  # Room 2 is smith's: the same grid, not read again
    assert cache_of(app).misses == misses and cache_of(app).hits >= 1
    assert _review(app, JONES, sid) is None  # not jones's session: "not found", the cached grid never reached

    _add_interval(engine, sid)
    grown = _review(app, ADMIN, sid)
    assert grown is not None and grown[1] == columns + 1

    with session_factory(engine)() as s, s.begin():
        assert forget_student(s, "Seat 3").intervals > 0
    after = _review(app, SMITH, sid)
    assert after is not None and after[0] == [*(s for s in students if s != "Seat 3"), "Seat 9"]
