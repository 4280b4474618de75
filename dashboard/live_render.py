"""The Live page's data and drawing, and the same drawing done ahead of the viewers: once per change of a running
session, stored in the database (``live_render``) and served as it is to every viewer who opens the page.

Why ahead: a fresh Live load of a school-sized room is ~45 ms of CPU (seven reads, the figures, the cards), and
twenty teachers opening twenty rooms at the same moment queue for a second or two on a 2-core server, although
every one of those drawings was the same for whoever looked. So the dashboard draws a room when its newest interval
(flag, note, roster) lands, not when someone asks: the renderer (:func:`render_due`, run every second by
``dashboard.render_process`` beside the dashboard's processes) reads the data version of every running session in
one query, claims each changed one in the database (so one process draws it, whichever), draws it and stores the
JSON. A page load then reads the stored JSON (one query)
and adds only what is per viewer or per second: the banner, the source's heartbeat and the "Needs attention" panel.

What is stored is never per viewer: the page's scoping (``_shown_session``: a teacher's own sessions, or "not
found") runs before the stored render is looked up by that session's id, exactly as for the per-process cache.

Freshness: a render is served when it was drawn for the session's current data version, or, on a page load only,
when it was drawn less than one of the session's intervals ago (the newest interval may have landed a moment ago
and be waiting for its turn): a page is never further behind than its newest interval already is by nature; and, on
a running session's load, when it holds all but the newest interval and was drawn less than two intervals ago (a
burst of page loads holds the niced renderer back; ``pages.live.LOAD_BEHIND_WINDOWS``). The
page's fingerprint then describes what the render shows, so the page's first poll finds the difference and sends
it, as it does for any change; the banner's analysis lag is the render's own, so it never claims fresher data.
Forgetting a student deletes every render (:func:`db.privacy.forget_student`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import zlib
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Patch, html, no_update
from plotly.io.json import to_json_plotly
from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dashboard import ids
from dashboard.components import attendance_panel, mood_indicator, notes_list, student_grid
from dashboard.figures import distribution_figure, empty_figure, note_shapes, timeline_figure
from dashboard.formatting import fmt_time
from dashboard.mood import class_mood
from dashboard.presence_figures import presence_now_figure, presence_timeline_figure
from dashboard.tables import attendance, flagged_students, note_rows, student_cards
from db.queries import (
    class_timeline,
    latest_presence,
    latest_students,
    presence_timeline,
    recent_students,
    roster,
    session_flags,
    session_notes,
)
from db.schema import ClassSession, Flag, Interval, LiveRender, Note, RosterStudent

log = logging.getLogger(__name__)

SPARK_INTERVALS = 12  # the student cards' sparklines: the last 12 intervals (2 minutes at 10-s intervals)
MOOD_WINDOW_MIN = 5.0  # the mood indicator's trend: the latest interval against the 5 minutes before it
RENDER_PERIOD_S = 1.0  # how often the renderer looks for changed sessions
# A room is redrawn at most once per poll of the page (3 s): a page load is shown the render and polls 3 s later, so
# drawing a room more often shows nobody anything sooner (with 10-s intervals it never waits; bench/school.py's
# compressed clock lands a room's intervals 2 s apart)
MIN_REDRAW_S = 3.0
CLAIM_S = 30.0  # a claim older than this was left by a process that died mid-draw: another may take it over
OUTPUTS = 7  # timeline, distribution, its caption, cards, mood, attendance, notes (see draw())


VERSION_INTERVALS = 1  # the position of the count of intervals in a data version (_version_columns)


def _version_columns(sid: Any) -> list[ColumnElement[Any]]:
    """The session's data version: any new interval (and with it its student and presence rows), flag opened,
    closed, acknowledged or changed in level, note added or removed, or roster change makes a new one. ``sid``: a
    bound parameter (one session) or ``ClassSession.id`` (every running session at once)."""
    return [
        select(func.max(Interval.id)).where(Interval.session_id == sid).scalar_subquery(),
        select(func.count(Interval.id)).where(Interval.session_id == sid).scalar_subquery(),
        select(func.max(Flag.id)).where(Flag.session_id == sid).scalar_subquery(),
        select(func.count(Flag.id)).where(Flag.session_id == sid, Flag.end.is_(None)).scalar_subquery(),
        select(func.count(Flag.id)).where(Flag.session_id == sid, Flag.acknowledged_at.is_not(None)).scalar_subquery(),
        # an open flag's level raised or lowered in place (the flag engine's update event rewrites its row): the
        # cards' badges change, so the version must too
        *(
            select(func.count(Flag.id))
            .where(Flag.session_id == sid, Flag.end.is_(None), Flag.severity == level)
            .scalar_subquery()
            for level in ("alert", "warning")
        ),
        select(func.max(Note.id)).where(Note.session_id == sid).scalar_subquery(),
        select(func.count(Note.id)).where(Note.session_id == sid).scalar_subquery(),
        select(func.count(RosterStudent.id)).where(RosterStudent.session_id == sid).scalar_subquery(),
    ]


# one session's data version, one cheap indexed read per poll
LIVE_VERSION = select(*_version_columns(bindparam("session_id")))
# every running session's, with what is stored for it: the renderer's one read per second
RUNNING_VERSIONS = (
    select(
        ClassSession.id,
        ClassSession.mode,
        ClassSession.expected_students,
        *_version_columns(ClassSession.id),
        LiveRender.version,
        LiveRender.claimed_at,
        LiveRender.rendered_at,
    )
    .outerjoin(LiveRender, LiveRender.session_id == ClassSession.id)
    .where(ClassSession.ended_at.is_(None))
    # the longest-waiting first: when the renderer falls behind, every room's render ages alike
    .order_by(LiveRender.rendered_at.is_not(None), LiveRender.rendered_at, ClassSession.id)
)


def version_key(session_id: int, presence_mode: bool, expected: int | None, version: tuple[Any, ...]) -> str:
    """The stored form of a data version. Its first three fields name what a render is drawn for whatever the data
    (the session, its mode, the students expected)."""
    return "|".join(str(v) for v in (session_id, "presence" if presence_mode else "expressions", expected, *version))


def _same_drawing(a: str, b: str) -> bool:
    return a.split("|", 3)[:3] == b.split("|", 3)[:3]


def _intervals(key: str) -> int:
    """How many intervals the data version ``key`` holds (its count of intervals; -1 if it is not a version)."""
    parts = key.split("|")
    field = 3 + VERSION_INTERVALS  # after the session, the mode and the expected students
    return int(parts[field]) if len(parts) > field and parts[field].isdigit() else -1


class LiveData(NamedTuple):
    """What the Live page reads for one session, identical for every viewer allowed to see it (read-only)."""

    timeline: pd.DataFrame
    students: pd.DataFrame
    recent: pd.DataFrame
    presence: dict[str, str]
    flagged: dict[str, str]
    notes: pd.DataFrame
    class_list: list[str]
    ptimeline: pd.DataFrame | None


def live_data(s: Session, session_id: int, presence_mode: bool) -> LiveData:
    return LiveData(
        timeline=class_timeline(s, session_id),
        students=latest_students(s, session_id),
        recent=recent_students(s, session_id, SPARK_INTERVALS),
        presence=latest_presence(s, session_id),
        flagged=flagged_students(session_flags(s, session_id, open_only=True)),
        notes=session_notes(s, session_id),
        class_list=roster(s, session_id),
        ptimeline=presence_timeline(s, session_id) if presence_mode else None,
    )


def last_end(data: LiveData) -> dt.datetime | None:
    """The newest interval's end (the banner's analysis lag), or None before the first interval."""
    return data.timeline["interval_end"].iloc[-1].to_pydatetime() if not data.timeline.empty else None


def fingerprint(data: LiveData, session_id: int, running: bool, expected: int | None) -> dict[str, Any]:
    """What the page shows, one part per kind of change (see ``pages/live.refresh``). Lists, not tuples: it comes
    back from the browser's store as JSON."""
    timeline, notes = data.timeline, data.notes
    end = timeline["interval_end"].iloc[-1].isoformat() if not timeline.empty else None
    return {
        "data": [session_id, running, len(timeline), end, len(data.students)],
        "flags": [[student, severity] for student, severity in sorted(data.flagged.items())],
        "presence": sorted([student, state] for student, state in data.presence.items()),
        "notes": [[int(i), str(text)] for i, text in zip(notes["id"], notes["text"], strict=True)],
        "roster": [expected, len(data.class_list)],
    }


def distribution_caption(timeline: pd.DataFrame, tz: dt.tzinfo | None) -> str:
    last = timeline.iloc[-1]
    seen = int(last["students_seen"])
    return (
        f"Interval {fmt_time(last['interval_start'], tz)}–{fmt_time(last['interval_end'], tz)} · "
        f"{seen} student{'s' if seen != 1 else ''}"
    )


def data_only(fig: go.Figure) -> Patch:
    """A patch replacing each trace's points and nothing else (layout, zoom and legend state stay as they are)."""
    patch = Patch()
    for i, trace in enumerate(fig.data):
        patch["data"][i]["x"] = trace.x
        patch["data"][i]["y"] = trace.y
        patch["data"][i]["customdata"] = trace.customdata
    return patch


def draw(
    data: LiveData, changed: frozenset[str], whole_timeline: bool, session_id: int, expected: int | None,
    tz: dt.tzinfo | None,
) -> tuple[Any, ...]:
    """The seven outputs that show the session's data, each re-drawn only if a part it depends on is in
    ``changed`` (else ``no_update``); ``whole_timeline``: a new figure rather than a patch of its data."""
    timeline, notes, presence = data.timeline, data.notes, data.presence
    if whole_timeline:
        timeline_fig: Any = timeline_figure(timeline, tz=tz, uirevision=session_id, notes=notes)
    elif "data" in changed:
        timeline_fig = data_only(timeline_figure(timeline, tz=tz, uirevision=session_id))  # keep the user's view
        if "notes" in changed:
            timeline_fig["layout"]["shapes"] = note_shapes(notes, tz=tz)
    elif "notes" in changed:
        timeline_fig = Patch()
        timeline_fig["layout"]["shapes"] = note_shapes(notes, tz=tz)
    else:
        timeline_fig = no_update

    distribution_fig: Any = no_update
    caption: Any = no_update
    mood: Any = no_update
    if "data" in changed:
        if timeline.empty:
            distribution_fig, caption = empty_figure("No intervals recorded yet"), ""
        else:
            distribution_fig, caption = distribution_figure(timeline.tail(1)), distribution_caption(timeline, tz)
        mood = mood_indicator(class_mood(timeline, window_min=MOOD_WINDOW_MIN))
    cards: Any = no_update
    if changed & {"data", "flags", "presence"}:
        cards = student_grid(student_cards(data.students, data.recent, flagged=data.flagged, presence=presence, tz=tz))
    seen: Any = no_update
    if changed & {"data", "presence", "roster"}:
        seen_now = int(timeline["students_seen"].iloc[-1]) if not timeline.empty else 0
        seen = attendance_panel(
            attendance(
                seen_now, data.students["student"].tolist(), roster=data.class_list, expected=expected,
                presence=presence,
            )
        )
    notes_out: Any = (
        notes_list(note_rows(notes, tz=tz), list_id=ids.LIVE_NOTES + "-list") if "notes" in changed else no_update
    )
    if data.ptimeline is not None and changed & {"data", "presence"}:  # presence mode: presence, not emotions
        timeline_fig = presence_timeline_figure(data.ptimeline, tz=tz, uirevision=session_id)
        distribution_fig, caption = presence_now_figure(presence), "Students of the latest interval"
        mood = html.P("Presence mode: no emotion or mood is inferred.", className="muted")
    return timeline_fig, distribution_fig, caption, cards, mood, seen, notes_out


def _plain_array(value: Any) -> Any:
    """A trace array of a stored figure as draw() patches it: plotly writes a figure's numpy arrays as base64 typed
    arrays (``{"dtype": "f8", "bdata": ...}``), a Patch carries them as plain lists."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]).newbyteorder("<"))
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    return value


def from_render(
    outputs: list[Any], changed: frozenset[str], whole_timeline: bool, presence_mode: bool
) -> tuple[Any, ...] | None:
    """What ``draw(data, changed, whole_timeline, ...)`` sends, cut from the stored render of the same data version
    (``draw(data, ALL_PARTS, True, ...)`` as JSON) instead of drawn again: a poll then costs a read, not a drawing,
    whenever the renderer has already drawn what it finds. None where the render does not hold it (a presence-mode
    timeline whose notes alone changed): draw it then."""
    timeline, distribution, caption, cards, mood, seen, notes_out = outputs
    timeline_fig: Any = no_update
    if presence_mode and changed & {"data", "presence"}:
        timeline_fig = timeline  # the presence timeline, always whole (as draw() sends it)
    elif presence_mode and (whole_timeline or "notes" in changed):
        return None
    elif whole_timeline:
        timeline_fig = timeline
    elif "data" in changed:
        timeline_fig = Patch()
        for i, trace in enumerate(timeline["data"]):
            for attr in ("x", "y", "customdata"):
                timeline_fig["data"][i][attr] = _plain_array(trace.get(attr))
        if "notes" in changed:
            timeline_fig["layout"]["shapes"] = timeline["layout"].get("shapes", [])
    elif "notes" in changed:
        timeline_fig = Patch()
        timeline_fig["layout"]["shapes"] = timeline["layout"].get("shapes", [])
    data_changed = "data" in changed or (presence_mode and "presence" in changed)
    return (
        timeline_fig,
        distribution if data_changed else no_update,
        caption if data_changed else no_update,
        cards if changed & {"data", "flags", "presence"} else no_update,
        mood if data_changed else no_update,
        seen if changed & {"data", "presence", "roster"} else no_update,
        notes_out if "notes" in changed else no_update,
    )


ALL_PARTS = frozenset({"data", "flags", "presence", "notes", "roster"})
# the stored payload's layout: bumped whenever draw()'s outputs change, so that a render stored by an older dashboard
# (still in the table of a running lesson after a deploy) is drawn afresh instead of served into the wrong outputs
RENDER_FORMAT = 1


def render_payload(data: LiveData, session_id: int, expected: int | None, tz: dt.tzinfo | None) -> bytes:
    """The page as a fresh viewer is first shown it, as zlib-compressed JSON: the seven drawn outputs, the
    fingerprint (its ``running`` is the viewer's request's to set) and the newest interval's end. Compressed here
    (~1 ms): a school-sized room's 150 kB of JSON is ~20 kB to write, log and read back, every few seconds per room."""
    end = last_end(data)
    text = to_json_plotly(
        {
            "outputs": list(draw(data, ALL_PARTS, True, session_id, expected, tz)),
            "fingerprint": fingerprint(data, session_id, False, expected),
            "last_end": end.isoformat() if end is not None else None,
            "format": RENDER_FORMAT,
        }
    )
    return zlib.compress(text.encode(), 1)


def payload_text(payload: bytes) -> str:
    """A stored payload as its JSON text."""
    return zlib.decompress(payload).decode()


class StoredRender(NamedTuple):
    outputs: list[Any]
    fingerprint: dict[str, Any]
    last_end: dt.datetime | None
    current: bool = True  # drawn for the data version asked for (else an older one: see stored_render)


def stored_render(
    s: Session, key: str, now: dt.datetime, stale_s: float, *, min_intervals: int | None = None,
    behind_s: float = 0.0,
) -> StoredRender | None:
    """The stored render for the session of ``key`` (:func:`version_key`) when it was drawn for that version, or for
    the same session, mode and expected students less than ``stale_s`` seconds ago, or (``min_intervals``: a running
    session's page load) less than ``behind_s`` seconds ago and holding at least ``min_intervals`` intervals; else
    None."""
    session_id = int(key.split("|", 1)[0])
    row = s.execute(
        select(LiveRender.version, LiveRender.rendered_at, LiveRender.payload).where(
            LiveRender.session_id == session_id, LiveRender.payload.is_not(None)
        )
    ).first()
    if row is None or row.rendered_at is None or not _same_drawing(row.version, key):
        return None
    age = (now - row.rendered_at).total_seconds()
    if (
        row.version != key
        and age >= stale_s
        and (min_intervals is None or age >= behind_s or _intervals(row.version) < min_intervals)
    ):
        return None
    try:  # a render stored by another version of the dashboard (a deploy mid-lesson) is drawn afresh, not a crash
        payload = json.loads(zlib.decompress(row.payload))
        if payload.get("format") != RENDER_FORMAT:
            return None
        end = payload["last_end"]
        return StoredRender(
            payload["outputs"], payload["fingerprint"], dt.datetime.fromisoformat(end) if end else None, row.version == key
        )
    except (zlib.error, ValueError, KeyError, TypeError) as exc:
        log.warning("a stored Live render of session %d could not be read (%s): drawn on request", session_id, exc)
        return None


def _claim(factory: sessionmaker[Session], session_id: int, now: dt.datetime, exists: bool) -> bool:
    """Claim the session's render for this process (one conditional write, so two processes never both win)."""
    try:
        with factory() as s, s.begin():
            if not exists:
                s.add(LiveRender(session_id=session_id, version="", claimed_at=now))
                return True
            taken = s.execute(
                update(LiveRender)
                .where(
                    LiveRender.session_id == session_id,
                    (LiveRender.claimed_at.is_(None)) | (LiveRender.claimed_at < now - dt.timedelta(seconds=CLAIM_S)),
                )
                .values(claimed_at=now)
            )
            return bool(taken.rowcount)  # type: ignore[attr-defined]
    except IntegrityError:  # another process inserted the row first: it draws this one
        return False


def render_due(factory: sessionmaker[Session], now: dt.datetime | None = None, tz: dt.tzinfo | None = None) -> int:
    """Draw and store every running session whose data changed since it was last drawn (and that no other process
    is drawing). Returns how many were drawn.

    Each claim carries the time it was made (``now``, when given, stands for the clock in tests), and a drawing is
    stored only while its claim is still the one in the row: a pass slower than ``CLAIM_S`` whose claim another
    process took over never overwrites that process's newer drawing with its older one."""
    fixed = now
    with factory() as s, s.begin():
        rows = s.execute(RUNNING_VERSIONS).all()
    drawn = 0
    for row in rows:
        now = fixed or dt.datetime.now(dt.UTC)
        session_id, mode, expected = row[0], row[1], row[2]
        presence_mode = mode == "presence"
        key = version_key(session_id, presence_mode, expected, tuple(row[3:-3]))
        stored, claimed_at, rendered_at = row[-3:]
        if stored == key or (claimed_at is not None and (now - claimed_at).total_seconds() < CLAIM_S):
            continue
        if rendered_at is not None and (now - rendered_at).total_seconds() < MIN_REDRAW_S:
            continue
        if not _claim(factory, session_id, now, exists=stored is not None):
            continue
        try:
            with factory() as s, s.begin():
                # the version read again just before the data (rooms change while others are drawn), and never
                # after it: what is stored is at least as new as its key says
                version = tuple(s.execute(LIVE_VERSION, {"session_id": session_id}).one())
                key = version_key(session_id, presence_mode, expected, version)
                payload = render_payload(live_data(s, session_id, presence_mode), session_id, expected, tz)
                stored_now = s.execute(
                    update(LiveRender)
                    .where(LiveRender.session_id == session_id, LiveRender.claimed_at == now)
                    .values(version=key, payload=payload, rendered_at=dt.datetime.now(dt.UTC), claimed_at=None)
                ).rowcount  # type: ignore[attr-defined]
        except Exception:
            # never leave the claim behind a failed drawing (the next turn tries again), never stop the thread
            log.exception("drawing the Live page of session %s failed", session_id)
            with factory() as s, s.begin():
                s.execute(
                    update(LiveRender)
                    .where(LiveRender.session_id == session_id, LiveRender.claimed_at == now)
                    .values(claimed_at=None)
                )
            continue
        if not stored_now:
            log.info("the Live render of session %s was claimed by another process meanwhile: not stored", session_id)
            continue
        drawn += 1
    return drawn
