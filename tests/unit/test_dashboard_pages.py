"""The pages' layouts and the live callback rendered in-process on a real database, without a browser.

Marked ``db``: they run on SQLite and, with ``CLASSMOOD_TEST_PG_URL``, on PostgreSQL, which the browser tests do not.
The Dash app is built once per process (``tests/helpers/dash_pages.py``): Dash Pages executes the page modules, which
register their callbacks globally, so a second app in the same process would see them twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from dash import Dash, Patch, html, no_update, page_registry
from sqlalchemy import Engine, update

from db.emotions import EMOTIONS
from db.engine import session_factory
from db.schema import ClassSession
from tests.browser.seed import LIVE_STUDENTS, add_interval, add_session, seed_classroom
from tests.helpers.dash_pages import page, text_of

pytestmark = pytest.mark.db


def layout_of(path_template_or_path: str) -> Any:
    (entry,) = [p for p in page_registry.values() if (p.get("path_template") or p["path"]) == path_template_or_path]
    return entry["layout"]


def test_pages_are_registered(app: Dash) -> None:
    paths = {p.get("path_template") or p["path"] for p in page_registry.values()}
    assert {"/", "/sessions", "/sessions/<session_id>"} <= paths


def test_live_callback_on_an_empty_database_says_how_to_start(ctx: None) -> None:
    banner, style, *_rest = page("live").refresh(0, None, None)
    assert "python -m monitor run --source" in text_of(banner)
    assert style == {"display": "none"}


def test_live_callback_shows_the_running_session(ctx: None, engine: Engine) -> None:
    seeded = seed_classroom(session_factory(engine))
    out = page("live").refresh(0, None, None)
    (banner, style, status, timeline, _distribution, _caption, students, mood, seen, _notes, _flags, _flags_shown,
     mood_title, timeline_title, _students_caption, _honesty, session_id, fingerprint) = out
    assert session_id == seeded.live.id and style == {}
    assert (mood_title, timeline_title) == ("Class mood now", "Class mood over time")  # the session's mode, once
    assert "LIVE" in text_of(banner) and "Maths 3B" in text_of(banner)
    assert "online" in text_of(status)
    assert len(timeline.data[0].x) == len(seeded.live.intervals)
    assert "<b>Ana</b>" in text_of(students)  # as a string child: React renders it as text
    assert "positive" in text_of(mood) and "negative" in text_of(mood)
    # the seeded roster: 12 seen, 14 expected, Seat 13 and 14 never seen; Seat 12's camera is off now
    assert "of 14" in text_of(seen) and "Seat 13" in text_of(seen) and "Seat 14" in text_of(seen)
    assert "camera off" in text_of(students)
    assert all(name in text_of(students) for name in LIVE_STUDENTS)
    # nothing changed since: charts are not re-sent
    again = page("live").refresh(1, None, fingerprint)
    assert again[3] is no_update
    assert again[12:16] == (no_update,) * 4  # the headings came with the session


def test_live_callback_patches_only_the_data_when_the_session_grows(ctx: None, engine: Engine) -> None:
    """Regression: on Dash >= 4.2 a whole new figure every interval reset a zoomed-in teacher's view, uirevision or
    not, because dcc.Graph copies the zoom into its figure prop. Same session: send the new points only."""
    sessions = session_factory(engine)
    seeded = seed_classroom(sessions)
    fingerprint = page("live").refresh(0, None, None)[-1]
    with sessions() as s, s.begin():
        session = s.get(ClassSession, seeded.live.id)
        assert session is not None
        add_interval(s, session, len(seeded.live.intervals), LIVE_STUDENTS, interval_s=30.0)
    timeline = page("live").refresh(1, None, fingerprint)[3]
    assert isinstance(timeline, Patch)
    operations = timeline.to_plotly_json()["operations"]
    assert {tuple(op["location"][:2]) for op in operations} == {("data", i) for i in range(len(EMOTIONS))}
    assert all(op["location"][2] in ("x", "y", "customdata") for op in operations)


def test_live_callback_without_a_running_session_shows_the_last_one(ctx: None, engine: Engine) -> None:
    seeded = seed_classroom(session_factory(engine))
    with session_factory(engine).begin() as s:
        s.execute(update(ClassSession).values(ended_at=dt.datetime.now(dt.UTC)))
    banner, *_rest, session_id, _fp = page("live").refresh(0, None, None)
    assert session_id == seeded.live.id
    assert "No class is running; showing the last session from" in text_of(banner)


def test_sessions_page_links_every_session(ctx: None, engine: Engine) -> None:
    seeded = seed_classroom(session_factory(engine))
    layout_of("/sessions")()  # the list itself is drawn by its callback, on the filters
    table, count = page("sessions").show_sessions("", None, None, None)
    text = text_of(table)
    for s in (seeded.past, seeded.live):
        assert f"/sessions/{s.id}" in text and s.name in text
    assert "2 sessions" in text_of(html.Div(count)) and f"/compare?ids={seeded.live.id},{seeded.past.id}" in text_of(
        html.Div(count)
    )
    filtered, _count = page("sessions").show_sessions("bio", None, None, None)
    assert seeded.past.name in text_of(filtered) and seeded.live.name not in text_of(filtered)


@pytest.mark.parametrize("session_id", ["9999", "abc", "", None])
def test_review_of_unknown_session_is_not_found(ctx: None, session_id: str | None) -> None:
    assert "Session not found" in text_of(layout_of("/sessions/<session_id>")(session_id=session_id))


def test_review_of_a_session_has_its_charts(ctx: None, engine: Engine) -> None:
    seeded = seed_classroom(session_factory(engine))
    layout = layout_of("/sessions/<session_id>")(session_id=str(seeded.past.id))
    text = text_of(layout)
    assert seeded.past.name in text and "Tile 1-5" in text
    assert f'"data": {seeded.past.id}' in text  # the store the CSV buttons read


def test_a_session_without_intervals_yet_renders_on_both_pages(ctx: None, engine: Engine) -> None:
    """The monitor opens the session before its first interval closes: no data yet must not be an error."""
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        just_started = add_session(s, name="Just started", started_at=dt.datetime.now(dt.UTC), n_intervals=0,
                                   students=LIVE_STUDENTS, running=True)  # fmt: skip
    _banner, style, _status, timeline, distribution, *_rest = page("live").refresh(0, None, None)
    assert style == {} and len(timeline.data) == 0 and len(distribution.data) == 0
    text = text_of(layout_of("/sessions/<session_id>")(session_id=str(just_started.id)))
    assert "Just started" in text and "No intervals recorded yet" in text and "No students were seen." in text


def test_a_session_whose_worker_died_is_shown_interrupted_not_live(ctx: None, engine: Engine) -> None:
    """Issue 13 item 4: a killed worker's session stays `ended_at NULL`, status online; the Live page showed the dead
    session as "● LIVE … running" for ever. Ten minutes without a heartbeat: it was interrupted."""
    from db.schema import SourceStatus

    seeded = seed_classroom(session_factory(engine))
    silent_since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    with session_factory(engine).begin() as s:
        s.execute(update(SourceStatus).where(SourceStatus.session_id == seeded.live.id)
                  .values(updated_at=silent_since))
    banner, *_rest, session_id, _fp = page("live").refresh(0, None, None)
    text = text_of(banner)
    assert session_id == seeded.live.id  # still the latest session, shown for what it is
    assert "\u25cf LIVE" not in text and "live-dot" not in text and "\u00b7 running \u00b7" not in text
    assert "\u00b7 interrupted \u00b7" in text and "Interrupted: the monitor stopped reporting at" in text


@pytest.mark.parametrize(
    ("last_end_ago_s", "live", "says"),
    [
        (5.0, True, "newest interval ended 5 s ago"),
        (89.0, True, "1 min ago"),  # three 30 s intervals: the worker may still be closing the open one
        (91.0, False, "ended 1 min ago"),
        (97 * 60.0, False, "1 h 37 min ago"),  # the demo that fell behind while the page said LIVE
        (None, True, "no interval yet; started 20 s ago"),
    ],
)
def test_the_banner_never_says_live_about_data_older_than_three_intervals(
    ctx: None, last_end_ago_s: float | None, live: bool, says: str
) -> None:
    analysis_lag, _banner = page("live").analysis_lag, page("live")._banner

    now = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
    started = now - dt.timedelta(seconds=20 if last_end_ago_s is None else 3 * 3600)
    last_end = None if last_end_ago_s is None else now - dt.timedelta(seconds=last_end_ago_s)
    is_live, note = analysis_lag(last_end, started, 30.0, now)
    assert is_live is live and says in note

    from db.schema import ClassSession

    session = ClassSession(name="Maths 3B", started_at=started, interval_s=30.0, ended_at=None, layout="room",
                           source="cam", classroom=None, mode="expressions", per_student=True)
    shown = text_of(_banner(session, True, dt.UTC, now, None, last_end))
    assert ("LIVE" in shown) is live and ("BEHIND" in shown) is not live and "Analysis lag" in shown
