"""The Live page drawn ahead of its viewers (``dashboard.live_render``) on a real database (SQLite and PostgreSQL):
what a page load is served from the stored render is exactly what a draw on request sends; each change of a
running session is drawn once, by one process; a viewer sees the newest interval on the first poll after it lands;
a teacher is never served another teacher's room or notes through it; forgetting a student forgets the renders.

Each "viewer" is its own request context on one app, logged in as a teacher or an admin; ``render_due`` is what the
renderer thread of every dashboard process runs once a second, called here directly so nothing depends on timing."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from dash import Dash, no_update
from plotly.io.json import to_json_plotly
from sqlalchemy import Engine, select, update

from dashboard.live_render import (
    ALL_PARTS,
    CLAIM_S,
    LIVE_VERSION,
    MIN_REDRAW_S,
    draw,
    from_render,
    live_data,
    payload_text,
    render_due,
    render_payload,
    stored_render,
    version_key,
)
from db.emotions import EMOTIONS
from db.engine import session_factory
from db.privacy import forget_student
from db.schema import ClassSession, Flag, Interval, LiveRender, Note, StudentInterval
from tests.helpers.dash_pages import page
from tests.helpers.school_viewers import ADMIN, JONES, SMITH, as_viewer, cache_of

pytestmark = pytest.mark.db

RUNNING = 9  # seed_school's sessions without an end
DRAWN = slice(3, 10)  # refresh(): timeline, distribution, caption, cards, mood, attendance, notes


def as_json(outputs: Any) -> Any:
    """What Dash sends to the browser for these outputs."""
    return json.loads(to_json_plotly(list(outputs) if isinstance(outputs, tuple | list) else outputs))


def later(seconds: float = MIN_REDRAW_S) -> dt.datetime:
    """The renderer's next turn once a room drawn now may be drawn again."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def text(output: Any) -> str:
    """An output as the browser receives it, as one string (a component, a stored render's dict, a figure)."""
    return json.dumps(as_json(output), ensure_ascii=False)


def add_interval(engine: Engine, session_id: int, student: str = "Seat 9") -> None:
    with session_factory(engine)() as s, s.begin():
        last = max(s.scalars(select(Interval).where(Interval.session_id == session_id)), key=lambda i: i.start)
        interval = Interval(
            session_id=session_id, start=last.end, end=last.end + dt.timedelta(seconds=10), students_seen=1,
            frames_analysed=20, frames_skipped=0, **{f"n_{e}": int(e == "sad") for e in EMOTIONS},
        )  # fmt: skip
        interval.students.append(
            StudentInterval(student=student, frames_seen=18, dominant="sad", **{f"p_{e}": 1 / 7 for e in EMOTIONS})
        )
        s.add(interval)


def test_a_page_load_is_served_the_stored_render_and_it_is_what_a_draw_on_request_sends(
    app: Dash, engine: Engine, school: dict[str, int]
) -> None:
    live = page("live")
    room = {"classroom": "Room 3"}  # with open flags: cards with badges
    with as_viewer(app, ADMIN):
        cache_of(app).enabled = False  # no stored render is looked up: drawn on request, as before
        drawn = live.refresh(0, None, None, room)
        cache_of(app).enabled = True
    assert render_due(session_factory(engine)) == RUNNING
    with as_viewer(app, ADMIN):
        served = live.refresh(0, None, None, room)
    assert cache_of(app).misses == 0  # nothing read or drawn for it on request
    assert as_json(served[DRAWN]) == as_json(drawn[DRAWN])
    assert served[-1] == drawn[-1]  # the same fingerprint: the next poll behaves as after a drawn load
    assert served[-2] == drawn[-2] == school["Room 3"]
    assert "LIVE" in text(served[0]) and "History" in text(served[0])  # the banner: the request's own


def test_what_a_poll_cuts_from_the_stored_render_is_what_drawing_it_sends(engine: Engine, school: dict[str, int]) -> None:
    """Every change a poll can find (each set of changed parts, a whole or a patched timeline), in a room with flags
    and a note, one in presence mode with a note, and one without intervals: the outputs taken from the render are
    byte-for-byte the ones draw() makes, or None (drawn then) only for a presence-mode timeline that needs notes."""
    factory = session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    with factory() as s, s.begin():
        for room in ("Room 3", "Room 2"):
            s.add(Note(session_id=school[room], at=now, text=f"quiz in {room}", created_at=now))
        s.execute(update(ClassSession).where(ClassSession.id == school["Room 2"]).values(mode="presence"))
    parts = sorted(ALL_PARTS)
    changes = [frozenset(c) for n in range(1, len(parts) + 1) for c in itertools.combinations(parts, n)]
    cut_any = 0
    for room, presence_mode in (("Room 3", False), ("Room 2", True), ("Room 5", False)):
        sid = school[room]
        with factory() as s, s.begin():
            data = live_data(s, sid, presence_mode)
            expected = s.get(ClassSession, sid).expected_students  # type: ignore[union-attr]
        stored = json.loads(payload_text(render_payload(data, sid, expected, None)))["outputs"]
        for changed, whole in itertools.product(changes, (False, True)):
            cut = from_render(stored, changed, whole, presence_mode)
            if cut is None:
                assert presence_mode and (whole or "notes" in changed), (room, changed, whole)
                continue
            cut_any += 1
            drawn = draw(data, changed, whole, sid, expected, None)
            for i, (a, b) in enumerate(zip(cut, drawn, strict=True)):
                assert (a is no_update) == (b is no_update), (room, changed, whole, i)
                if a is not no_update:
                    assert as_json(a) == as_json(b), (room, changed, whole, i)
    assert cut_any > 150  # most changes are cut, presence mode's included


def test_each_change_of_a_running_session_is_drawn_once(engine: Engine, school: dict[str, int]) -> None:
    factory = session_factory(engine)
    assert render_due(factory) == RUNNING
    assert render_due(factory, now=later()) == 0  # nothing changed
    add_interval(engine, school["Room 7"])
    assert render_due(factory) == 0  # drawn a moment ago: not again before the page's next poll
    assert render_due(factory, now=later()) == 1
    with factory() as s, s.begin():
        s.add(Note(session_id=school["Room 2"], at=dt.datetime.now(dt.UTC), text="quiz", created_at=dt.datetime.now(dt.UTC)))
        s.execute(update(ClassSession).where(ClassSession.id == school["Room 3"]).values(ended_at=dt.datetime.now(dt.UTC)))
    assert render_due(factory, now=later()) == 1  # Room 2's note; Room 3 has ended and is no longer drawn ahead
    with factory() as s, s.begin():
        renders = {r.session_id: r for r in s.scalars(select(LiveRender))}
        assert school["Room 6"] not in renders  # ended before: never drawn ahead
        assert "quiz" in payload_text(renders[school["Room 2"]].payload or b"")
        assert all(r.claimed_at is None and r.rendered_at is not None for r in renders.values())


def test_a_session_claimed_by_another_process_is_left_to_it_unless_its_claim_is_abandoned(
    engine: Engine, school: dict[str, int]
) -> None:
    factory = session_factory(engine)
    render_due(factory)
    add_interval(engine, school["Room 7"])
    now = dt.datetime.now(dt.UTC)
    with factory() as s, s.begin():  # another dashboard process is drawing Room 7
        s.execute(update(LiveRender).where(LiveRender.session_id == school["Room 7"]).values(claimed_at=now))
    assert render_due(factory, now=now + dt.timedelta(seconds=MIN_REDRAW_S)) == 0
    assert render_due(factory, now=now + dt.timedelta(seconds=CLAIM_S + 1)) == 1  # it died mid-draw: taken over


def test_a_flag_raised_in_place_is_a_new_version_and_is_drawn_again(engine: Engine, school: dict[str, int]) -> None:
    """The flag engine's update event rewrites an open flag's level in its row: the cards' badge changes, so the
    render must be drawn again (a poll would otherwise be cut from the render with the old badge)."""
    factory = session_factory(engine)
    render_due(factory)
    assert render_due(factory, now=later()) == 0
    with factory() as s, s.begin():
        s.execute(
            update(Flag).where(Flag.session_id == school["Room 4"], Flag.end.is_(None)).values(severity="alert")
        )
    assert render_due(factory, now=later()) == 1  # Room 4 only: its warning became an alert


def test_a_drawing_whose_claim_was_taken_over_meanwhile_is_not_stored(
    engine: Engine, school: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass slower than CLAIM_S: another process takes the claim over while this one draws; this one's older
    drawing must not overwrite the row, and the other's claim stays."""
    from dashboard import live_render

    factory = session_factory(engine)
    render_due(factory)
    add_interval(engine, school["Room 7"])
    theirs = later(CLAIM_S + 5)
    real_payload = live_render.render_payload

    def taken_over_while_drawing(*args: Any, **kwargs: Any) -> bytes:
        with factory() as s, s.begin():
            s.execute(update(LiveRender).where(LiveRender.session_id == school["Room 7"]).values(claimed_at=theirs))
        return real_payload(*args, **kwargs)

    monkeypatch.setattr(live_render, "render_payload", taken_over_while_drawing)
    with factory() as s:
        before = s.get(LiveRender, school["Room 7"])
        assert before is not None
        old_version = before.version
    assert render_due(factory, now=later()) == 0
    with factory() as s:
        row = s.get(LiveRender, school["Room 7"])
        assert row is not None and row.version == old_version and row.claimed_at == theirs


def test_a_viewer_sees_the_newest_interval_on_the_first_poll_after_it_lands(
    app: Dash, engine: Engine, school: dict[str, int]
) -> None:
    """The interval lands between two turns of the renderer: a page load in that moment is served the render of
    the interval before (drawn less than one interval ago), with that render's fingerprint, so its first poll sends
    the new interval; an older render is never served for a version it was not drawn for."""
    live = page("live")
    room = {"classroom": "Room 7"}
    render_due(session_factory(engine))
    add_interval(engine, school["Room 7"])
    with as_viewer(app, ADMIN):
        loaded = live.refresh(0, None, None, room)
        intervals = loaded[-1]["data"][2]
        assert "Seat 9" not in text(loaded[6])  # the render of the interval before
        polled = live.refresh(1, None, loaded[-1], room)
    assert polled[-1]["data"][2] == intervals + 1
    assert "Seat 9" in text(polled[6])  # the new interval's student card
    assert polled[3] is not no_update  # and its point on the timeline

    with session_factory(engine)() as s, s.begin():
        session = s.get(ClassSession, school["Room 7"])
        assert session is not None
        key = version_key(session.id, False, session.expected_students, tuple(s.execute(LIVE_VERSION, {"session_id": session.id}).one()))
        window = live.stale_window(session)
        assert window == session.interval_s == 10  # one interval
        assert stored_render(s, key, later(window), window) is None  # too old for the new version
    render_due(session_factory(engine), now=later())
    with as_viewer(app, ADMIN):
        assert "Seat 9" in text(live.refresh(0, None, None, room)[6])  # drawn for it: served


def test_a_page_load_takes_a_render_one_interval_behind_for_two_windows_and_draws_otherwise(
    app: Dash, engine: Engine, school: dict[str, int]
) -> None:
    """A burst of page loads can hold the (niced) renderer back past the stale window: a load of a running session
    is still served the render while it is one interval behind and under two windows old, its first poll bringing
    the new interval; older, two intervals behind, or the session ended, the load is drawn."""
    live = page("live")
    room = {"classroom": "Room 7"}
    sid = school["Room 7"]

    def render_age(seconds: float) -> None:
        with session_factory(engine)() as s, s.begin():
            at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
            s.execute(update(LiveRender).where(LiveRender.session_id == sid).values(rendered_at=at))

    def load() -> tuple[tuple[Any, ...], bool]:
        with as_viewer(app, ADMIN):
            misses = cache_of(app).misses
            out = live.refresh(0, None, None, room)
            return out, cache_of(app).misses > misses

    render_due(session_factory(engine))
    add_interval(engine, sid)
    render_age(15)  # past the stale window (one 10-s interval), under two
    loaded, drawn = load()
    assert not drawn and "Seat 9" not in text(loaded[6])  # served the render: nothing read or drawn on request
    with as_viewer(app, ADMIN):
        polled = live.refresh(1, None, loaded[-1], room)
    assert polled[-1]["data"][2] == loaded[-1]["data"][2] + 1 and "Seat 9" in text(polled[6])
    render_age(25)  # two windows: the renderer is not merely held back
    loaded, drawn = load()
    assert drawn and "Seat 9" in text(loaded[6])
    render_age(15)
    add_interval(engine, sid, "Seat 10")  # two intervals past the render now
    loaded, drawn = load()
    assert drawn and "Seat 10" in text(loaded[6])
    render_due(session_factory(engine), now=later())
    add_interval(engine, sid, "Seat 11")
    with session_factory(engine)() as s, s.begin():  # the class ends: the renderer will not draw it again
        s.execute(update(ClassSession).where(ClassSession.id == sid).values(ended_at=dt.datetime.now(dt.UTC)))
    render_age(15)
    loaded, drawn = load()
    assert drawn and "Seat 11" in text(loaded[6])


def test_a_poll_after_the_renderer_drew_the_new_interval_is_cut_from_the_render_not_drawn(
    app: Dash, engine: Engine, school: dict[str, int]
) -> None:
    live = page("live")
    room = {"classroom": "Room 3"}
    render_due(session_factory(engine))
    with as_viewer(app, ADMIN):
        loaded = live.refresh(0, None, None, room)
    add_interval(engine, school["Room 3"])
    assert render_due(session_factory(engine), now=later()) == 1  # the renderer's next turn draws it
    with as_viewer(app, ADMIN):
        misses = cache_of(app).misses
        polled = live.refresh(1, None, loaded[-1], room)
        assert cache_of(app).misses == misses  # nothing read or drawn for it on request
        cache_of(app).enabled = False
        drawn = live.refresh(1, None, loaded[-1], room)
        cache_of(app).enabled = True
        again = live.refresh(2, None, polled[-1], room)
    assert polled[-1] == drawn[-1] and polled[-1]["data"][2] == loaded[-1]["data"][2] + 1
    for a, b in zip(polled[DRAWN], drawn[DRAWN], strict=True):
        assert (a is no_update) == (b is no_update)
        assert a is no_update or as_json(a) == as_json(b)
    assert "Seat 9" in text(polled[6])  # the new interval's student card
    assert all(x is no_update for x in again[DRAWN]) and again[-1] is no_update  # nothing new since


def test_a_poll_moves_forward_to_a_newer_render_and_never_back_to_an_older_one(
    app: Dash, engine: Engine, school: dict[str, int]
) -> None:
    """Two intervals land; the renderer has drawn only the first. The first poll is cut from that render (no drawing
    on request), the next one draws the second interval itself, and the one after that is not sent the render back."""
    live = page("live")
    room = {"classroom": "Room 3"}
    render_due(session_factory(engine))
    with as_viewer(app, ADMIN):
        loaded = live.refresh(0, None, None, room)
    n = loaded[-1]["data"][2]
    add_interval(engine, school["Room 3"], "Seat 9")
    assert render_due(session_factory(engine), now=later()) == 1
    add_interval(engine, school["Room 3"], "Seat 10")  # not drawn ahead yet
    with as_viewer(app, ADMIN):
        misses = cache_of(app).misses
        first = live.refresh(1, None, loaded[-1], room)
        assert cache_of(app).misses == misses  # cut from the render
        second = live.refresh(2, None, first[-1], room)
        assert cache_of(app).misses > misses  # the newest interval, drawn on request
        third = live.refresh(3, None, second[-1], room)
    assert first[-1]["data"][2] == n + 1 and "Seat 9" in text(first[6]) and "Seat 10" not in text(first[6])
    assert second[-1]["data"][2] == n + 2 and "Seat 10" in text(second[6])
    assert all(x is no_update for x in third[DRAWN]) and third[-1] is no_update  # not back to the render's


def test_a_teacher_is_never_served_another_teachers_room_or_notes(
    app: Dash, engine: Engine, school: dict[str, int]
) -> None:
    live = page("live")
    with session_factory(engine)() as s, s.begin():
        s.add(Note(session_id=school["Room 2"], at=dt.datetime.now(dt.UTC), text="smith's private note",
                   created_at=dt.datetime.now(dt.UTC)))  # fmt: skip
    assert render_due(session_factory(engine)) == RUNNING
    with as_viewer(app, SMITH):
        own = live.refresh(0, None, None, {"classroom": "Room 2"})
        assert own[-2] == school["Room 2"] and "smith's private note" in text(own[9])
        forged = {"data": [school["Room 2"], True, 0, None, 0]}
    with as_viewer(app, JONES):
        for target, fingerprint in (
            ({"session": school["Room 2"]}, None),
            ({"classroom": "Room 2"}, None),
            ({"session": school["Room 2"]}, forged),
        ):
            out = live.refresh(0, None, fingerprint, target)
            assert out[-2] is None and "Nothing to show" in text(out[0])
            assert "smith's private note" not in text([o for o in out if o is not no_update])
            assert all(o is no_update for o in out[DRAWN])  # nothing drawn sent at all
        theirs = live.refresh(0, None, None, None)  # no target: their own running room, from its own render
        assert theirs[-2] == school["Room 10"]
        assert "smith's private note" not in json.dumps(as_json(theirs[DRAWN]))
    assert cache_of(app).misses == 0  # both pages were served from stored renders


def test_forgetting_a_student_forgets_every_render(engine: Engine, school: dict[str, int]) -> None:
    factory = session_factory(engine)
    add_interval(engine, school["Room 7"], student="Ada Lovelace")
    render_due(factory)
    with factory() as s, s.begin():
        forget_student(s, "Ada Lovelace")
    with factory() as s, s.begin():
        assert s.scalars(select(LiveRender)).all() == []
    render_due(factory, now=later())
    with factory() as s, s.begin():
        payloads = " ".join(payload_text(r.payload or b"") for r in s.scalars(select(LiveRender)))
    assert "Seat" in payloads and "Ada Lovelace" not in payloads


def test_the_attention_panel_from_plain_rows_is_the_one_from_the_data_frame(engine: Engine, school: dict[str, int]) -> None:
    """Every poll reads the open flags fresh; it now hands their rows on without building a DataFrame (a third of
    a served page load's CPU), and must say exactly what it said before."""
    from dashboard.tables import attention_items
    from db.queries import flag_rows, session_flags

    now = dt.datetime.now(dt.UTC)
    with session_factory(engine)() as s, s.begin():
        s.execute(update(Flag).where(Flag.session_id == school["Room 3"], Flag.student.is_(None)).values(acknowledged_at=now))
        frame = attention_items(session_flags(s, school["Room 3"], open_only=True), now=now)
        rows = attention_items(flag_rows(s, school["Room 3"], open_only=True), now=now)
    assert len(rows) == 2 and rows == frame


def test_the_renderer_process_draws_the_running_rooms_and_stops_with_its_dashboard(
    db_url: str, engine: Engine, school: dict[str, int]
) -> None:
    """What each dashboard process starts (``dashboard.render_process.spawn``): a process of its own drawing every
    running room; two started as two gunicorn workers do (one draws, the other waits for the lock), both stopped by
    SIGTERM."""
    import time

    from dashboard.render_process import spawn

    first, second = spawn(db_url), spawn(db_url)
    assert first is not None and second is not None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with session_factory(engine)() as s, s.begin():
                if len([r for r in s.scalars(select(LiveRender)) if r.payload]) == RUNNING:
                    break
            time.sleep(0.5)
        else:
            raise AssertionError("the renderer process drew nothing within 60 s")
    finally:
        first.terminate()
        second.terminate()
        assert first.wait(timeout=30) == 0 and second.wait(timeout=30) == 0


def test_the_renderer_process_refuses_to_start_without_its_dashboard() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CLASSMOOD_RENDERER_PARENT"}}
    done = subprocess.run([sys.executable, "-m", "dashboard.render_process"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_the_renderer_process_leaves_when_its_dashboard_is_killed(db_url: str) -> None:
    """A dashboard process killed outright (SIGKILL: no exit handler runs) must not leave its renderer behind
    holding the lock, or every later renderer of the database would wait on it for ever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("import sys, time; from dashboard.render_process import spawn; p = spawn(sys.argv[1]); "
            "print(p.pid, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", code, db_url], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # running
    finally:
        parent.kill()
        parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        try:
            with open(f"/proc/{child}/stat") as fh:  # an exited child of the dead parent, not yet reaped
                if fh.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.2)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the renderer outlived its killed dashboard by 30 s")
