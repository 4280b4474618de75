"""Live (``/``): the running session's class mood, refreshed every few seconds while the monitor works.

One ``dcc.Interval`` drives one callback that reads the database and fills the page. The charts are only re-sent
when the data changed (a fingerprint in a ``dcc.Store`` says so); when only the open flags changed, only the
students table (its "needs attention" badges) is. With no running session the latest one is shown; with no session
at all, how to start the monitor.

The "Needs attention" panel has its own callback on the same interval, redrawn only when its text changes so an
Acknowledge button is not replaced under the teacher's pointer. Acknowledging writes ``acknowledged_at`` and
bumps a store the panel listens to, so the flag turns muted at once instead of at the next poll.

Keeping the user's zoom: the timeline's ``uirevision`` is the session id, and while the same session grows the
callback sends only the traces' new data as a ``Patch``. Since Dash 4.2, ``dcc.Graph`` copies a zoom into its
``figure`` prop, after which a whole new figure no longer restores it through ``uirevision`` (Plotly sees the
range "changed" and drops the saved GUI state); a data-only patch leaves the copied layout, zoom included, alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Input, Output, Patch, State, callback, ctx, dcc, html, no_update, register_page
from dash.exceptions import PreventUpdate
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.access import current_viewer, teacher_scope
from dashboard.components import (
    GRAPH_CONFIG,
    HONESTY_NOTE,
    attention_panel,
    card,
    download_bar,
    empty_state,
    session_facts,
    source_status_panel,
    text_table,
)
from dashboard.data import read_session, write_session
from dashboard.figures import distribution_figure, empty_figure, timeline_figure
from dashboard.formatting import fmt_datetime, fmt_time
from dashboard.tables import CURRENT_COLUMNS, attention_items, current_students, flagged_students, rows_fingerprint
from db.queries import (
    acknowledge_flag,
    class_timeline,
    latest_session,
    latest_students,
    live_session,
    session_flags,
    source_status,
)
from db.schema import ClassSession

register_page(__name__, path="/", name="Live", title="ClassMood · Live", order=0)

log = logging.getLogger(__name__)

REFRESH_MS = 3000
HIDDEN = {"display": "none"}
SHOWN: dict[str, str] = {}


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id=ids.LIVE_INTERVAL, interval=REFRESH_MS, n_intervals=0),
            dcc.Store(id=ids.SESSION_ID_STORE),
            dcc.Store(id=ids.LIVE_FINGERPRINT),
            dcc.Store(id=ids.LIVE_FLAGS_FINGERPRINT),
            dcc.Store(id=ids.LIVE_ACKNOWLEDGED),
            html.Div(id=ids.LIVE_BANNER, className="banner"),
            html.Div(
                [
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
                                dcc.Graph(id=ids.LIVE_TIMELINE, config=GRAPH_CONFIG, figure=empty_figure("Loading…")),
                            ),
                            card(
                                "Right now",
                                html.P(id=ids.LIVE_DISTRIBUTION_CAPTION, className="caption"),
                                dcc.Graph(
                                    id=ids.LIVE_DISTRIBUTION, config=GRAPH_CONFIG, figure=empty_figure("Loading…")
                                ),
                            ),
                        ],
                        className="grid",
                    ),
                    html.Div(
                        [
                            card("Students", html.Div(id=ids.LIVE_STUDENTS)),
                            card("Source", html.Div(id=ids.LIVE_STATUS), download_bar()),
                        ],
                        className="grid",
                    ),
                ],
                id=ids.LIVE_CONTENT,
                style=HIDDEN,
            ),
        ]
    )


def _shown_session(s: Session) -> tuple[ClassSession | None, bool]:
    """The running session, else the latest one; and whether it is running."""
    teacher = teacher_scope()  # dash-auth: a teacher sees their own sessions only
    session = live_session(s, teacher)
    return (session, True) if session is not None else (latest_session(s, teacher), False)


def _banner(session: Any, running: bool, tz: dt.tzinfo | None, now: dt.datetime) -> html.Div:
    if running:
        title = [html.Span("● LIVE", className="live-dot"), " ", session.name]
        note = f"Updates every {REFRESH_MS // 1000} s."
    else:
        title = [session.name]
        note = f"No class is running; showing the last session from {fmt_datetime(session.started_at, tz)}."
    return html.Div([html.H1(title), session_facts(session, tz=tz, now=now), html.P(note, className="note")])


def _distribution_caption(timeline: pd.DataFrame, tz: dt.tzinfo | None) -> str:
    last = timeline.iloc[-1]
    seen = int(last["students_seen"])
    return (
        f"Interval {fmt_time(last['interval_start'], tz)}–{fmt_time(last['interval_end'], tz)} · "
        f"{seen} student{'s' if seen != 1 else ''}"
    )


def _data_only(fig: go.Figure) -> Patch:
    """A patch replacing each trace's points and nothing else (layout, zoom and legend state stay as they are)."""
    patch = Patch()
    for i, trace in enumerate(fig.data):
        patch["data"][i]["x"] = list(trace.x)
        patch["data"][i]["y"] = list(trace.y)
        patch["data"][i]["customdata"] = list(trace.customdata)
    return patch


@callback(
    Output(ids.LIVE_BANNER, "children"),
    Output(ids.LIVE_CONTENT, "style"),
    Output(ids.LIVE_STATUS, "children"),
    Output(ids.LIVE_TIMELINE, "figure"),
    Output(ids.LIVE_DISTRIBUTION, "figure"),
    Output(ids.LIVE_DISTRIBUTION_CAPTION, "children"),
    Output(ids.LIVE_STUDENTS, "children"),
    Output(ids.SESSION_ID_STORE, "data"),
    Output(ids.LIVE_FINGERPRINT, "data"),
    Input(ids.LIVE_INTERVAL, "n_intervals"),
    State(ids.LIVE_FINGERPRINT, "data"),
)
def refresh(_n: int | None, fingerprint: list[Any] | None) -> tuple[Any, ...]:
    now = dt.datetime.now(dt.UTC)
    tz = None  # the server's local zone
    try:
        with read_session() as s:
            session, running = _shown_session(s)
            if session is None:
                return (empty_state(), HIDDEN, None, no_update, no_update, None, None, None, None)
            timeline = class_timeline(s, session.id)
            students = latest_students(s, session.id)
            flagged = flagged_students(session_flags(s, session.id, open_only=True))
            status = source_status(s, session.id)
            banner = _banner(session, running, tz, now)
            status_panel = source_status_panel(status, now=now, tz=tz)
            session_id = session.id
    except SQLAlchemyError as exc:
        log.warning("live refresh failed: %s", exc)
        warning = html.Div(html.P("The database cannot be read right now; retrying…", className="error"))
        return (warning, no_update, no_update, no_update, no_update, no_update, no_update, no_update, no_update)

    last_end = timeline["interval_end"].iloc[-1].isoformat() if not timeline.empty else None
    # lists, not tuples: the fingerprint comes back from the browser's store as JSON
    flags_part = [[student, severity] for student, severity in sorted(flagged.items())]
    new_fingerprint = [session_id, running, len(timeline), last_end, len(students), flags_part]
    if new_fingerprint == fingerprint:
        # nothing new: leave the charts and table alone so hover labels and selections are not redrawn away
        return (banner, SHOWN, status_panel, no_update, no_update, no_update, no_update, session_id, no_update)
    table = text_table(
        current_students(students, tz=tz, flagged=flagged),
        CURRENT_COLUMNS,
        emotion_columns=("Emotion",),
        flag_column="Student",
        empty="No students seen yet.",
    )
    if fingerprint and fingerprint[:5] == new_fingerprint[:5]:
        # only the open flags changed: the students table's badges, not the charts
        return (banner, SHOWN, status_panel, no_update, no_update, no_update, table, session_id, new_fingerprint)
    timeline_fig: go.Figure | Patch = timeline_figure(timeline, tz=tz, uirevision=session_id)
    if fingerprint and fingerprint[0] == session_id and fingerprint[2] and not timeline.empty:
        timeline_fig = _data_only(timeline_fig)  # same session, more intervals: keep the user's view
    if timeline.empty:
        distribution_fig, caption = empty_figure("No intervals recorded yet"), ""
    else:
        distribution_fig, caption = distribution_figure(timeline.tail(1)), _distribution_caption(timeline, tz)
    return (banner, SHOWN, status_panel, timeline_fig, distribution_fig, caption, table, session_id, new_fingerprint)


@callback(
    Output(ids.LIVE_FLAGS, "children"),
    Output(ids.LIVE_FLAGS_FINGERPRINT, "data"),
    Input(ids.LIVE_INTERVAL, "n_intervals"),
    Input(ids.LIVE_ACKNOWLEDGED, "data"),
    State(ids.LIVE_FLAGS_FINGERPRINT, "data"),
)
def refresh_flags(_n: int | None, _acknowledged: Any, shown: str | None) -> tuple[Any, Any]:
    """The shown session's open flags; the panel is only re-sent when what it says changed."""
    now = dt.datetime.now(dt.UTC)
    try:
        with read_session() as s:
            session, _running = _shown_session(s)
            if session is None:
                return None, None
            items = attention_items(session_flags(s, session.id, open_only=True), now=now, tz=None)
            session_id = session.id
    except SQLAlchemyError as exc:
        log.warning("reading the flags failed: %s", exc)
        return no_update, no_update
    new = f"{session_id}:{rows_fingerprint(items)}"
    if new == shown:
        return no_update, no_update
    return attention_panel(items), new


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
    flag_id = int(trigger["index"])
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
