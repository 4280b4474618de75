"""Live (``/``): the running session's class mood, refreshed every few seconds while the monitor works.

At the top, what a teacher takes in at a glance: the class mood now (positive / neutral / negative, with its trend
over the last minutes), students seen against those expected (with roster students never seen) and the source's
state. Below: the open flags, the mood over time, and one card per student (current emotion, a sparkline of the
last intervals, a flag badge, "camera off" or "face not visible"). Teacher notes added here are pinned to now.

One ``dcc.Interval`` drives one callback that reads the database and fills the page. Each output is re-sent only
when what it shows changed (a fingerprint per kind of change in a ``dcc.Store`` says so): a new flag redraws the
cards, not the charts; a new note patches the timeline's shapes only. With no running session the latest one is
shown; with no session at all, how to start the monitor.

The "Needs attention" panel is filled by the same callback, from the same lookup of the shown session (one per
poll), and redrawn only when its text changes so an Acknowledge button is not replaced under the teacher's
pointer. Acknowledging writes ``acknowledged_at`` and bumps a store the callback listens to, so the flag turns
muted at once instead of at the next poll. The shown session's id, and the headings that name its mode, are sent
only when it changes (a page load is two requests: the router's and this one).

Keeping the user's zoom: the timeline's ``uirevision`` is the session id, and while the same session grows the
callback sends only the traces' new data as a ``Patch``. Since Dash 4.2, ``dcc.Graph`` copies a zoom into its
``figure`` prop, after which a whole new figure no longer restores it through ``uirevision`` (Plotly sees the
range "changed" and drops the saved GUI state); a data-only patch leaves the copied layout, zoom included, alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update, register_page
from dash.exceptions import MissingCallbackContextException, PreventUpdate
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.access import current_viewer, teacher_scope
from dashboard.components import (
    GRAPH_CONFIG,
    HONESTY_NOTE,
    PRESENCE_HONESTY_NOTE,
    attention_panel,
    card,
    download_bar,
    empty_state,
    notes_form,
    session_facts,
    source_status_panel,
)
from dashboard.data import read_session, record_id, shared_cache, write_session
from dashboard.figures import empty_figure
from dashboard.formatting import fmt_datetime, fmt_duration, fmt_time
from dashboard.live_render import (
    LIVE_VERSION,
    OUTPUTS,
    VERSION_INTERVALS,
    StoredRender,
    draw,
    from_render,
    last_end,
    live_data,
    stored_render,
    version_key,
)
from dashboard.live_render import fingerprint as fingerprint_of
from dashboard.notice import mode_line
from dashboard.tables import attention_items, rows_fingerprint
from db.queries import (
    acknowledge_flag,
    add_note,
    flag_rows,
    is_interrupted,
    latest_session,
    live_session,
    source_status,
    viewable_session,
)
from db.schema import ClassSession, SourceStatus

register_page(__name__, path="/", name="Live", title="ClassMood · Live", order=0)

log = logging.getLogger(__name__)

REFRESH_MS = 3000
HIDDEN = {"display": "none"}
# the charts' placeholder, built once: a Plotly figure costs ~20 ms to validate, and every page load showed two
LOADING: dict[str, Any] = empty_figure("Loading…").to_plotly_json()
SHOWN: dict[str, str] = {}
LIVE_TTL_S = 5.0  # a backstop: the data version (LIVE_VERSION) already changes with every interval, flag and note
# A page load may be shown a stored render drawn up to one of the session's intervals ago (at least one poll): no
# older than the newest interval already is by nature (an interval is written when it closes), and the page's first
# poll brings whatever landed since. The banner's analysis lag is the render's, so it says how old what it shows is.
LIVE_STALE_S = REFRESH_MS / 1000
# ... and, for a running session, one holding all but the newest interval drawn up to this many windows ago: a burst
# of page loads holds the niced renderer back past one window, and drawing each load on request made the burst's tail
LOAD_BEHIND_WINDOWS = 2


def stale_window(session: ClassSession) -> float:
    return max(LIVE_STALE_S, float(session.interval_s))


def live_target(query: dict[str, Any]) -> dict[str, Any] | None:
    """What ``/?session=ID`` or ``/?classroom=ROOM`` (the school overview's links) asks the page to show: one
    session, or a classroom's running (else latest) session; None, the default, is the viewer's running or latest
    session. A session id that is not a number is treated as a session that does not exist."""
    session = query.get("session")
    if isinstance(session, str):
        return {"session": int(session) if session.strip().isdigit() else -1}
    classroom = query.get("classroom")
    if isinstance(classroom, str):
        return {"classroom": classroom}
    return None


def layout(**query: Any) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id=ids.LIVE_INTERVAL, interval=REFRESH_MS, n_intervals=0),
            dcc.Store(id=ids.LIVE_TARGET, data=live_target(query)),
            dcc.Store(id=ids.SESSION_ID_STORE),
            dcc.Store(id=ids.LIVE_FINGERPRINT),
            dcc.Store(id=ids.LIVE_FLAGS_FINGERPRINT),
            dcc.Store(id=ids.LIVE_ACKNOWLEDGED),
            dcc.Store(id=ids.LIVE_NOTE_ADDED),
            html.Div(id=ids.LIVE_BANNER, className="banner"),
            html.Div(
                [
                    html.Div(
                        [
                            card("Class mood now", html.Div(id=ids.LIVE_MOOD), class_name="summary", title_id=ids.LIVE_MOOD_TITLE),
                            card("Students", html.Div(id=ids.LIVE_ATTENDANCE), class_name="summary"),
                            card("Source", html.Div(id=ids.LIVE_STATUS), download_bar(), class_name="summary"),
                        ],
                        className="summary-row",
                    ),
                    card(
                        "Needs attention",
                        html.Div(id=ids.LIVE_FLAGS),
                        html.P(HONESTY_NOTE, id=ids.LIVE_HONESTY, className="honesty"),
                        class_name="attention",
                    ),
                    html.Div(
                        [
                            card(
                                "Class mood over time",
                                dcc.Graph(id=ids.LIVE_TIMELINE, config=GRAPH_CONFIG, figure=LOADING),
                                title_id=ids.LIVE_TIMELINE_TITLE,
                            ),
                            card(
                                "Right now",
                                html.P(id=ids.LIVE_DISTRIBUTION_CAPTION, className="caption"),
                                dcc.Graph(id=ids.LIVE_DISTRIBUTION, config=GRAPH_CONFIG, figure=LOADING),
                            ),
                        ],
                        className="grid",
                    ),
                    card(
                        "Each student",
                        html.P(STUDENTS_CAPTION["expressions"], id=ids.LIVE_STUDENTS_CAPTION, className="caption"),
                        html.Div(id=ids.LIVE_STUDENTS),
                        class_name="section",
                    ),
                    card(
                        "Notes",
                        html.P(
                            "Pin what is happening now (\u201cquiz started\u201d); it shows as a dashed line on the "
                            "charts here and when you review the session.",
                            className="caption",
                        ),
                        notes_form(
                            ids.LIVE_NOTE_INPUT,
                            ids.LIVE_NOTE_ADD,
                            ids.LIVE_NOTE_MESSAGE,
                            placeholder="e.g. quiz started",
                        ),
                        html.Div(id=ids.LIVE_NOTES),
                        class_name="section",
                    ),
                ],
                id=ids.LIVE_CONTENT,
                style=HIDDEN,
            ),
        ]
    )


# the headings and notes that name emotions, per analysis mode (layout() cannot know the mode: the session is found
# by the refresh callback, and a running session can give way to one in another mode without a reload)
MOOD_TITLE = {"expressions": "Class mood now", "presence": "Presence now"}
TIMELINE_TITLE = {"expressions": "Class mood over time", "presence": "Presence over time"}
STUDENTS_CAPTION = {
    "expressions": "Current emotion, and the last few intervals as bars (height: how sure the model is).",
    "presence": "Seen, camera off or face not visible in the latest interval; no emotion is inferred.",
}
HONESTY = {"expressions": HONESTY_NOTE, "presence": PRESENCE_HONESTY_NOTE}


HEADINGS = 4


def mode_headings(mode: str | None) -> tuple[Any, ...]:
    """The shown session's mode in the page's headings (presence mode never says "mood" or "emotion"): sent by
    the refresh with the session it first shows, so a page load is two requests, not a third chained on the
    session id."""
    if mode not in MOOD_TITLE:
        return (no_update,) * HEADINGS
    return MOOD_TITLE[mode], TIMELINE_TITLE[mode], STUDENTS_CAPTION[mode], HONESTY[mode]


def _shown_session(
    s: Session, target: dict[str, Any] | None = None, now: dt.datetime | None = None
) -> tuple[ClassSession | None, bool]:
    """The session ``target`` (:func:`live_target`) names, else the running session, else the latest one (of the
    target's classroom, when it names one); and whether it is running."""
    if target and "session" in target:
        session = viewable_session(s, int(target["session"]), current_viewer())  # another teacher's: not found
        return session, session is not None and session.ended_at is None
    teacher = teacher_scope()  # dash-auth: a teacher sees their own sessions only
    classroom = target.get("classroom") if target else None
    session = live_session(s, teacher, now or dt.datetime.now(dt.UTC), classroom=classroom)
    if session is not None:
        return session, True
    return latest_session(s, teacher, classroom=classroom), False


def _render_fingerprint(stored: StoredRender, session_id: int, running: bool) -> dict[str, Any]:
    """What a page shows once given ``stored``: the render's fingerprint, with whether the session runs now."""
    return {**stored.fingerprint, "data": [session_id, running, *stored.fingerprint["data"][2:]]}


def _changed_parts(old: dict[str, Any], new: dict[str, Any]) -> frozenset[str]:
    """The parts of fingerprint ``new`` that differ from ``old`` (what the page shows)."""
    return frozenset(key for key in new if old.get(key) != new[key])


def _timed_poll() -> bool:
    """Whether this refresh is the page's 3-s poll, not the viewer's own note or acknowledgement (called outside a
    Dash callback, as the tests call it: a poll)."""
    try:
        return ctx.triggered_id in (None, ids.LIVE_INTERVAL)
    except MissingCallbackContextException:
        return True


def _poll_from_render(
    stored: StoredRender, old: dict[str, Any], session_id: int, running: bool, presence_mode: bool, timed: bool = True
) -> tuple[Any, tuple[Any, ...]] | None:
    """A poll's new fingerprint and seven drawn outputs cut from the stored render (only what changed since ``old``,
    what the page shows), or None to draw them.

    The render of the current data version always serves. An older one (the renderer's turn has not come since the
    newest interval landed: under a second, at most one interval) serves only when it holds more intervals than the
    page, so the page moves forward to it and the next poll brings the rest; otherwise (the page is already as new as
    the render: a poll drew it) the change is drawn, so a page never goes back and never waits for the renderer.
    Only the timed poll takes an older render: after the viewer's own note or acknowledgement the page must show it.
    A stored payload that cannot be cut is drawn, never an error every poll."""
    shown = _render_fingerprint(stored, session_id, running)
    if not stored.current and not (timed and shown["data"][2] > (old["data"][2] or 0)):
        return None
    changed = _changed_parts(old, shown)
    if not changed:  # leave the charts and cards alone so hover labels and selections are not redrawn away
        return no_update, (no_update,) * OUTPUTS
    try:
        cut = from_render(stored.outputs, changed, not old["data"][2] or not shown["data"][2], presence_mode)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        log.warning("a stored Live render of session %d could not be cut (%s): drawn on request", session_id, exc)
        return None
    return None if cut is None else (shown, cut)


def _nothing_to_show(target: dict[str, Any] | None) -> html.Div:
    """The page without a session: how to start one, or that the session or classroom asked for has none."""
    if not target:
        return empty_state()
    what = f"classroom {target['classroom']!r}" if "classroom" in target else f"session {target['session']}"
    return html.Div(
        [html.H1("Nothing to show"), html.P(f"There is no {what} to show.", className="muted")],
        className="empty-state",
    )


LIVE_MAX_LAG_INTERVALS = 3  # newest data older than this many intervals is not called LIVE


def analysis_lag(
    last_end: dt.datetime | None, started_at: dt.datetime, interval_s: float, now: dt.datetime
) -> tuple[bool, str]:
    """(still live, a note saying how old the newest data is) for a running session.

    An interval is written when it closes, so data up to one interval old is normal; beyond
    ``LIVE_MAX_LAG_INTERVALS`` the worker is behind (or stuck) and the page must not say LIVE about the past: the
    demo once fell 97 s behind real time under load while this banner said LIVE."""
    newest = last_end if last_end is not None else started_at
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.UTC)
    lag = max(0.0, (now - newest).total_seconds())
    live = lag <= LIVE_MAX_LAG_INTERVALS * interval_s
    what = "newest interval ended" if last_end is not None else "no interval yet; started"
    return live, f"Analysis lag: {what} {fmt_duration(lag)} ago."


def _banner(
    session: Any, running: bool, tz: dt.tzinfo | None, now: dt.datetime, status: SourceStatus | None = None,
    last_end: dt.datetime | None = None,
) -> html.Div:
    if running:
        live, lag = analysis_lag(last_end, session.started_at, session.interval_s, now)
        if live:
            title = [html.Span("● LIVE", className="live-dot"), " ", session.name]
            note = f"Updates every {REFRESH_MS // 1000} s. {lag}"
        else:
            title = [html.Span("● BEHIND", className="live-dot"), " ", session.name]
            note = f"{lag} The worker is not keeping up (or has stopped writing): this is not the class right now."
    elif is_interrupted(session, status, now):  # its worker died: never shown as live
        last = status.updated_at if status is not None else session.started_at
        title = [session.name]
        note = (f"Interrupted: the monitor stopped reporting at {fmt_datetime(session.ended_at or last, tz)}; "
                "no class is running.")
        facts = session_facts(session, tz=tz, now=last, state="interrupted")
        return html.Div([html.H1(title), facts, html.P(note, className="note")])
    else:
        title = [session.name]
        note = f"No class is running; showing the last session from {fmt_datetime(session.started_at, tz)}."
    mode = html.P(
        [mode_line(session.mode), " ", dcc.Link("What this means for students", href="/notice")],
        id=ids.LIVE_MODE, className=f"mode mode-{session.mode}",
    )
    return html.Div([html.H1(title), session_facts(session, tz=tz, now=now), mode, html.P(note, className="note")])


@callback(
    Output(ids.LIVE_BANNER, "children"),
    Output(ids.LIVE_CONTENT, "style"),
    Output(ids.LIVE_STATUS, "children"),
    Output(ids.LIVE_TIMELINE, "figure"),
    Output(ids.LIVE_DISTRIBUTION, "figure"),
    Output(ids.LIVE_DISTRIBUTION_CAPTION, "children"),
    Output(ids.LIVE_STUDENTS, "children"),
    Output(ids.LIVE_MOOD, "children"),
    Output(ids.LIVE_ATTENDANCE, "children"),
    Output(ids.LIVE_NOTES, "children"),
    Output(ids.LIVE_FLAGS, "children"),
    Output(ids.LIVE_FLAGS_FINGERPRINT, "data"),
    Output(ids.LIVE_MOOD_TITLE, "children"),
    Output(ids.LIVE_TIMELINE_TITLE, "children"),
    Output(ids.LIVE_STUDENTS_CAPTION, "children"),
    Output(ids.LIVE_HONESTY, "children"),
    Output(ids.SESSION_ID_STORE, "data"),
    Output(ids.LIVE_FINGERPRINT, "data"),
    Input(ids.LIVE_INTERVAL, "n_intervals"),
    Input(ids.LIVE_NOTE_ADDED, "data"),
    State(ids.LIVE_FINGERPRINT, "data"),
    State(ids.LIVE_TARGET, "data"),
    Input(ids.LIVE_ACKNOWLEDGED, "data"),
    State(ids.LIVE_FLAGS_FINGERPRINT, "data"),
)
def refresh(
    _n: int | None,
    _note_added: Any,
    fingerprint: dict[str, Any] | None,
    target: dict[str, Any] | None = None,
    _acknowledged: Any = None,
    flags_shown: str | None = None,
) -> tuple[Any, ...]:
    """Read the shown session and send what changed since ``fingerprint`` (what the page shows now) and since
    ``flags_shown`` (what the "Needs attention" panel says now).

    The fingerprint has one part per kind of change: ``data`` (the session, whether it runs, its intervals and
    students), ``flags`` (open flags per student), ``presence`` and ``notes``; each output is re-sent only when a
    part it depends on changed. The open flags are read fresh every poll (an update changes a flag's reason).
    """
    now = dt.datetime.now(dt.UTC)
    tz = None  # the server's local zone
    cache = shared_cache()
    old = fingerprint if isinstance(fingerprint, dict) else {}
    stored: StoredRender | None = None
    try:
        with read_session() as s:
            session, running = _shown_session(s, target, now)  # per viewer: scoping happens here, never cached
            if session is None:
                return (_nothing_to_show(target), HIDDEN, None, *([no_update] * 7), None, None,
                        *([no_update] * HEADINGS), None, None)  # fmt: skip
            session_id = session.id
            mode = session.mode
            presence_mode = mode == "presence"
            expected = session.expected_students
            version = (session_id, presence_mode, *s.execute(LIVE_VERSION, {"session_id": session_id}).one())
            polled = bool(old) and old["data"][0] == session_id
            if cache.enabled:
                # the page as drawn ahead for every viewer, when it is current or less than an interval old: a page
                # load takes it whole, a poll what changed since what the page shows (_poll_from_render)
                # a load of a running session also takes a render one interval behind drawn up to two windows
                # ago (the renderer held back by a burst of loads): the page says how old its newest interval is,
                # and its first poll brings the next
                behind = not polled and running
                stored = stored_render(s, version_key(session_id, presence_mode, expected, version[2:]), now,
                                       stale_window(session), min_intervals=version[2 + VERSION_INTERVALS] - 1 if behind else None,
                                       behind_s=LOAD_BEHIND_WINDOWS * stale_window(session))  # fmt: skip
            poll_cut = None
            if stored is not None and polled:
                poll_cut = _poll_from_render(stored, old, session_id, running, presence_mode, _timed_poll())
                if poll_cut is None:
                    stored = None  # a change the render does not hold: drawn below
            if stored is None:
                # what every viewer of this session would read alike, shared for as long as its data version holds
                data = cache.get(("live-data", *version), lambda: live_data(s, session_id, presence_mode), LIVE_TTL_S)
            status = source_status(s, session_id)  # the heartbeat: every 2 s, read fresh
            flag_items = attention_items(flag_rows(s, session_id, open_only=True), now=now, tz=tz)
            banner = _banner(session, running, tz, now, status, stored.last_end if stored else last_end(data))
            status_panel = source_status_panel(status, now=now, tz=tz)
    except SQLAlchemyError as exc:
        log.warning("live refresh failed: %s", exc)
        warning = html.Div(html.P("The database cannot be read right now; retrying…", className="error"))
        return (warning, *([no_update] * (13 + HEADINGS)))

    flags_new = f"{session_id}:{rows_fingerprint(flag_items)}"
    flags = (no_update, no_update) if flags_new == flags_shown else (attention_panel(flag_items), flags_new)
    headings = (no_update,) * HEADINGS if polled else mode_headings(mode)  # the session's mode, once
    side = (*flags, *headings)  # the outputs between the drawn ones and the session id
    if poll_cut is not None:  # what changed since the page's fingerprint, cut from the render: nothing drawn
        shown_now, cut = poll_cut
        return (banner, SHOWN, status_panel, *cut, *side, no_update, shown_now)
    if stored is not None:  # everything drawn, and the fingerprint of what it shows
        return (banner, SHOWN, status_panel, *stored.outputs, *side, session_id,
                _render_fingerprint(stored, session_id, running))  # fmt: skip
    new = fingerprint_of(data, session_id, running, expected)
    shown_id = no_update if polled else session_id  # the store already holds it
    changed = _changed_parts(old, new)
    if not changed:
        # nothing new: leave the charts and cards alone so hover labels and selections are not redrawn away
        return (banner, SHOWN, status_panel, *([no_update] * OUTPUTS), *side, shown_id, no_update)

    whole_timeline = not polled or not old["data"][2] or data.timeline.empty
    # the same change drawn for the same data is the same for every viewer: 20 viewers opening a room draw it once
    drawn = cache.get(
        ("live-drawn", *version, expected, changed, whole_timeline),
        lambda: draw(data, changed, whole_timeline, session_id, expected, tz),
        LIVE_TTL_S,
    )
    return (banner, SHOWN, status_panel, *drawn, *side, shown_id, new)


@callback(
    Output(ids.LIVE_NOTE_ADDED, "data"),
    Output(ids.LIVE_NOTE_MESSAGE, "children"),
    Output(ids.LIVE_NOTE_INPUT, "value"),
    Input(ids.LIVE_NOTE_ADD, "n_clicks"),
    Input(ids.LIVE_NOTE_INPUT, "n_submit"),
    State(ids.LIVE_NOTE_INPUT, "value"),
    State(ids.SESSION_ID_STORE, "data"),
    prevent_initial_call=True,
)
def add_live_note(clicks: int | None, submits: int | None, text: str | None, session_id: int | None) -> tuple[Any, ...]:
    """Pin the typed note to now in the shown session (button or Enter)."""
    if not (clicks or submits):
        raise PreventUpdate
    if session_id is None:
        return no_update, html.Span("No session to add a note to.", className="error"), no_update
    sid = record_id(session_id)
    at = dt.datetime.now(dt.UTC)
    try:
        with write_session() as s:
            viewer = current_viewer()
            if sid is None or viewable_session(s, sid, viewer) is None:  # another teacher's session: as if deleted
                return no_update, html.Span("That session no longer exists.", className="error"), no_update
            note = add_note(s, sid, at, text or "", author=viewer.name if viewer else None)
            note_id = note.id if note is not None else None
    except ValueError as exc:
        return no_update, html.Span(f"Not added: {exc}.", className="error"), no_update
    except SQLAlchemyError as exc:
        log.warning("adding a note failed: %s", exc)
        return (
            no_update,
            html.Span("Not added: the database cannot be written right now.", className="error"),
            no_update,
        )
    if note_id is None:
        return no_update, html.Span("That session no longer exists.", className="error"), no_update
    return {"note": note_id}, html.Span(f"Added at {fmt_time(at)}.", className="ok"), ""


@callback(
    Output(ids.LIVE_ACKNOWLEDGED, "data"),
    Input({"type": ids.LIVE_FLAG_ACK, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def acknowledge(_clicks: list[int | None]) -> dict[str, Any]:
    """Set the clicked flag's ``acknowledged_at``. Also called when the panel is redrawn with new buttons (their
    ``n_clicks`` is 0 then), which must not acknowledge anything."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(t.get("value") for t in ctx.triggered):
        raise PreventUpdate
    flag_id = record_id(trigger.get("index"))
    if flag_id is None:
        raise PreventUpdate
    at = dt.datetime.now(dt.UTC)
    try:
        with write_session() as s:
            found = acknowledge_flag(s, flag_id, at, current_viewer())  # dash-auth: only a visible flag
    except SQLAlchemyError:
        log.exception("acknowledging flag %s failed", flag_id)
        raise PreventUpdate from None
    if not found:  # deleted with its session since the panel was drawn; the next poll redraws the panel
        log.info("flag %s to acknowledge no longer exists", flag_id)
    return {"flag": flag_id, "at": at.isoformat()}
