"""Compare (``/compare?ids=3,7``): two or more sessions side by side: each one's mood distribution, and their
timelines on lesson-relative time (minutes since each started), so Monday's and Thursday's lessons line up.

The sessions are picked in a list (pre-filled from ``?ids=``); the timeline shows the mood score or one group's or
emotion's share. At most ``MAX_SESSIONS`` at once, so the chart stays readable and the page fast.

A presence-mode session inferred no emotion: it is left out of the mood charts (a flat line at zero would be a lie)
and drawn in its own presence chart (students present and visible); the emotion cards hide when every session
picked is in presence mode.
"""

from __future__ import annotations

import logging
from typing import Any

from dash import Input, Output, callback, dcc, html, register_page
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import current_viewer, teacher_scope
from dashboard.components import GRAPH_CONFIG, card, text_table
from dashboard.data import read_session, record_id
from dashboard.figures import MEASURES, ComparedSession, compare_distribution_figure, compare_timeline_figure
from dashboard.formatting import fmt_datetime, fmt_duration, parse_ids
from dashboard.presence_figures import compare_presence_figure
from dashboard.tables import mood_text
from db.queries import class_timeline, presence_timeline, session_choices, session_moods, viewable_session

register_page(__name__, path="/compare", name="Compare", title="ClassMood · Compare", order=2)

log = logging.getLogger(__name__)

MAX_SESSIONS = 6
OPTIONS_LIMIT = 500
SUMMARY_COLUMNS: tuple[str, ...] = ("Session", "Mode", "Started", "Duration", "Most students at once", "Overall mood")
NO_EMOTION = "none inferred (presence mode)"
HIDDEN = {"display": "none"}


def session_label(name: str, started: Any, session_id: int) -> str:
    """``Maths 3B · 2026-11-20 09:15 (#7)``: names repeat every week, the date and id tell them apart."""
    return f"{name} · {fmt_datetime(started)} (#{session_id})"


def layout(**query: Any) -> html.Div:
    chosen = parse_ids(query.get("ids"), MAX_SESSIONS)
    try:
        with read_session() as s:
            sessions = session_choices(s, OPTIONS_LIMIT, teacher_scope())
    except SQLAlchemyError as exc:
        log.warning("listing sessions failed: %s", exc)
        return html.Div([html.H1("Compare"), html.P("The database cannot be read right now.", className="error")])
    options = [
        {"label": session_label(str(r["name"]), r["started_at"], int(r["id"])), "value": int(r["id"])}
        for r in sessions.to_dict("records")
    ]
    known = {o["value"] for o in options}
    if not chosen:  # a useful first view: the two newest sessions
        chosen = [int(i) for i in sessions["id"].head(2)]
    return html.Div(
        [
            html.H1("Compare sessions"),
            html.P(
                f"Pick two or more sessions (up to {MAX_SESSIONS}). Timelines run from each lesson's start, so "
                "lessons on different days line up.",
                className="muted",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Sessions", className="muted"),
                            dcc.Dropdown(
                                id=ids.COMPARE_SELECT,
                                options=options,
                                value=[i for i in chosen if i in known],
                                multi=True,
                                placeholder="Pick sessions",
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Label("Timeline shows", className="muted"),
                            dcc.Dropdown(
                                id=ids.COMPARE_MEASURE,
                                options=[{"label": label, "value": key} for key, label in MEASURES.items()],
                                value="score",
                                clearable=False,
                            ),
                        ],
                        style={"maxWidth": "22rem"},
                    ),
                ],
                className="compare-controls",
            ),
            html.Div(id=ids.COMPARE_SUMMARY, className="section"),
            html.Div(
                [
                    card("Mood distribution", dcc.Graph(id=ids.COMPARE_DISTRIBUTION, config=GRAPH_CONFIG)),
                    card(
                        "Over the lesson",
                        html.P(
                            "Mood score: the share of students looking happy minus the share looking angry, "
                            "disgusted, afraid or sad (-100% to +100%).",
                            className="caption",
                        ),
                        dcc.Graph(id=ids.COMPARE_TIMELINE, config=GRAPH_CONFIG),
                    ),
                ],
                className="grid-even",
                id=ids.COMPARE_EMOTION_CARDS,
            ),
            html.Div(
                card(
                    "Presence over the lesson",
                    html.P(
                        "Presence-mode sessions: students present (solid) and with a visible face (dotted); no "
                        "emotion was inferred for them.",
                        className="caption",
                    ),
                    dcc.Graph(id=ids.COMPARE_PRESENCE, config=GRAPH_CONFIG),
                ),
                id=ids.COMPARE_PRESENCE_CARD,
                className="section",
                style=HIDDEN,
            ),
        ]
    )


@callback(
    Output(ids.COMPARE_DISTRIBUTION, "figure"),
    Output(ids.COMPARE_TIMELINE, "figure"),
    Output(ids.COMPARE_SUMMARY, "children"),
    Output(ids.COMPARE_PRESENCE, "figure"),
    Output(ids.COMPARE_PRESENCE_CARD, "style"),
    Output(ids.COMPARE_EMOTION_CARDS, "style"),
    Input(ids.COMPARE_SELECT, "value"),
    Input(ids.COMPARE_MEASURE, "value"),
)
def compare(chosen: list[int] | None, measure: str | None) -> tuple[Any, ...]:
    picked = chosen if isinstance(chosen, list) else []
    chosen = [sid for sid in (record_id(i) for i in picked) if sid is not None][:MAX_SESSIONS]
    measure = measure if measure in MEASURES else "score"
    compared: list[ComparedSession] = []
    present: list[ComparedSession] = []  # presence-mode sessions: drawn apart, never in an emotion chart
    rows: list[dict[str, str]] = []
    try:
        with read_session() as s:
            viewer = current_viewer()
            chosen = [i for i in chosen if viewable_session(s, i, viewer) is not None]  # another teacher's: absent
            moods = session_moods(s, chosen).set_index("session_id")
            for session_id in chosen:
                session = viewable_session(s, session_id, viewer)
                if session is None:
                    continue
                timeline = class_timeline(s, session_id)
                label = session_label(session.name, session.started_at, session.id)
                presence_mode = session.mode == "presence"
                if presence_mode:
                    present.append(ComparedSession(label, session.started_at, presence_timeline(s, session_id)))
                else:
                    compared.append(ComparedSession(label, session.started_at, timeline))
                end = session.ended_at or (timeline["interval_end"].iloc[-1] if not timeline.empty else None)
                counts = moods.loc[session_id].to_dict() if session_id in moods.index else None
                rows.append(
                    {
                        "Session": session.name,
                        "Mode": session.mode,
                        "Started": fmt_datetime(session.started_at),
                        "Duration": fmt_duration((end - session.started_at).total_seconds())
                        if end is not None
                        else "—",
                        "Most students at once": str(timeline["students_seen"].max()) if not timeline.empty else "0",
                        "Overall mood": NO_EMOTION if presence_mode else mood_text(counts),
                    }
                )
    except SQLAlchemyError as exc:
        log.warning("comparing sessions failed: %s", exc)
        message = html.P("The database cannot be read right now.", className="error")
        empty = compare_presence_figure([])
        return compare_distribution_figure([]), compare_timeline_figure([]), message, empty, HIDDEN, None
    picked_n = len(compared) + len(present)
    hint = None if picked_n >= 2 else html.P("Pick at least two sessions to compare.", className="note")
    mixed = (
        html.P(
            f"{len(present)} presence-mode session(s) are not in the mood charts: no emotion was inferred for them. "
            "Their presence is charted below.",
            className="note",
        )
        if present and compared
        else None
    )
    summary = card(
        "Sessions compared",
        hint,
        mixed,
        text_table(rows, SUMMARY_COLUMNS, table_id=ids.COMPARE_SUMMARY + "-table", empty="No session picked."),
    )
    return (
        compare_distribution_figure(compared),
        compare_timeline_figure(compared, measure),
        summary,
        compare_presence_figure(present),
        None if present else HIDDEN,
        HIDDEN if present and not compared else None,
    )
