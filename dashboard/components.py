"""Layout pieces shared by the pages: text tables, the source status panel, CSV buttons, the empty state.

Everything user-supplied (student labels, session names, source strings, error details) is passed to Dash as a
plain string child, which React renders as a text node: a label like ``<img onerror=…>`` shows up as those
characters. Nothing here uses ``dcc.Markdown`` or ``dangerously_allow_html``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.colours import EMOTION_COLOURS
from dashboard.formatting import fmt_datetime, fmt_duration, fmt_time
from db.schema import ClassSession, SourceStatus

MONITOR_COMMAND = "python -m monitor run --source ..."
SOURCE_HELP = (
    "The source is a camera index such as 0, a video file, an rtsp:// or http:// URL, or screen (a Zoom window)."
)
STALE_AFTER_S = 90.0  # the monitor refreshes its status every heartbeat_s (2 s by default, 60 s at most)
GRAPH_CONFIG: Any = {  # Any: dcc.Graph's Config TypedDict does not list every plotly.js option
    "displaylogo": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
STATE_CLASSES = {"online": "state-online", "starting": "state-starting", "offline": "state-offline"}


def card(title: str, *children: Any, class_name: str = "") -> html.Section:
    return html.Section([html.H2(title, className="card-title"), *children], className=f"card {class_name}".strip())


def emotion_label(emotion: str) -> html.Span:
    """The emotion's name behind a swatch of its chart colour."""
    return html.Span(
        [html.Span(className="swatch", style={"backgroundColor": EMOTION_COLOURS.get(emotion, "#ccc")}), emotion],
        className="emotion",
    )


def text_table(
    rows: Sequence[dict[str, str]],
    columns: Sequence[str],
    *,
    table_id: str | None = None,
    emotion_columns: Iterable[str] = (),
    links: dict[str, str] | None = None,
    empty: str = "Nothing to show yet.",
) -> html.Div:
    """An HTML table whose cells are text. ``links`` maps a column to an href template over the row's fields."""
    emotion_cols = set(emotion_columns)
    links = links or {}

    def cell(row: dict[str, str], column: str) -> html.Td:
        value = row.get(column, "")
        if column in emotion_cols:
            return html.Td(emotion_label(value))
        if column in links:
            return html.Td(dcc.Link(value, href=links[column].format(**row)))
        return html.Td(value)

    extra: dict[str, Any] = {"id": table_id} if table_id else {}
    if not rows:
        return html.Div(html.P(empty, className="muted"), **extra)
    return html.Div(
        html.Table(
            [
                html.Thead(html.Tr([html.Th(c) for c in columns])),
                html.Tbody([html.Tr([cell(row, c) for c in columns]) for row in rows]),
            ],
            className="table",
        ),
        className="table-wrap",
        **extra,
    )


def _stat(label: str, value: str, *, class_name: str = "") -> html.Div:
    return html.Div(
        [html.Div(value, className=f"stat-value {class_name}".strip()), html.Div(label, className="stat-label")],
        className="stat",
    )


def source_status_panel(status: SourceStatus | None, *, now: dt.datetime, tz: dt.tzinfo | None = None) -> html.Div:
    """Online/offline with frames analysed and skipped; an ``online`` row with an old heartbeat reads as stale."""
    if status is None:
        return html.Div(html.P("The source has not reported its status yet.", className="muted"))
    state = status.state
    age = (now - status.updated_at).total_seconds()
    label, css = state, STATE_CLASSES.get(state, "state-ended")
    if state in ("online", "starting") and age > STALE_AFTER_S:
        label, css = f"no heartbeat for {fmt_duration(age)}", "state-stale"
    children: list[Any] = [
        html.Div(
            [
                _stat("source", label, class_name=css),
                _stat("frames analysed", f"{status.frames_analysed:,}"),
                _stat("frames skipped", f"{status.frames_skipped:,}"),
                _stat("reconnects", str(status.reconnects)),
                _stat("last update", fmt_time(status.updated_at, tz)),
            ],
            className="stats",
        )
    ]
    if status.detail:
        children.append(html.P(status.detail, className="muted detail"))
    return html.Div(children)


def download_bar() -> html.Div:
    """The two CSV buttons; ``dashboard.downloads`` answers them for the session in ``ids.SESSION_ID_STORE``."""
    return html.Div(
        [
            html.Button("Download class CSV", id=ids.CSV_CLASS_BUTTON, n_clicks=0, className="button"),
            html.Button("Download per-student CSV", id=ids.CSV_STUDENTS_BUTTON, n_clicks=0, className="button"),
            dcc.Download(id=ids.CSV_DOWNLOAD),
        ],
        className="downloads",
    )


def empty_state() -> html.Div:
    return html.Div(
        [
            html.H1("No class sessions yet"),
            html.P("Start the monitor on a camera, a video file or a Zoom window to record one:"),
            html.Pre(html.Code(MONITOR_COMMAND)),
            html.P(SOURCE_HELP, className="muted"),
            html.P("This page picks the new session up by itself within a few seconds.", className="muted"),
        ],
        className="empty-state",
    )


def session_facts(session: ClassSession, *, tz: dt.tzinfo | None = None, now: dt.datetime | None = None) -> html.P:
    """``started … · 45 min · room · source`` under a session's title."""
    end = session.ended_at or now
    duration = fmt_duration((end - session.started_at).total_seconds()) if end else "—"
    parts = [f"started {fmt_datetime(session.started_at, tz)}", duration, session.layout, session.source]
    if session.ended_at is None:
        parts.insert(2, "running")
    return html.P(" · ".join(p for p in parts if p), className="muted facts")
