"""Session review (``/sessions/<id>``): one recorded session's timeline with its attention flags shaded, overall
mood, the flags, the students and the CSV export.

Rendered once from the database when the page opens; an id that is not a number or not in the database gets a
"not found" message, not an error.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dash import dcc, html, register_page
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import current_viewer
from dashboard.components import GRAPH_CONFIG, card, download_bar, session_facts, text_table
from dashboard.data import read_session
from dashboard.figures import distribution_figure, timeline_figure
from dashboard.report_links import report_links
from dashboard.tables import FLAG_COLUMNS, SUMMARY_COLUMNS, flag_rows, summary_rows
from db.queries import class_timeline, session_flags, student_totals, viewable_session


def _title(session_id: str | None = None, **_query: Any) -> str:
    return f"ClassMood · Session {session_id}"


register_page(__name__, path_template="/sessions/<session_id>", name="Session review", title=_title)

log = logging.getLogger(__name__)


def _not_found(session_id: str | None) -> html.Div:
    return html.Div(
        [
            html.H1("Session not found"),
            html.P(f"There is no session with id {session_id!r}.", className="muted"),
            dcc.Link("Back to all sessions", href="/sessions"),
        ],
        id=ids.REVIEW_NOT_FOUND,
        className="empty-state",
    )


def layout(session_id: str | None = None, **_query: Any) -> html.Div:
    try:
        sid = int(session_id or "")
    except ValueError:
        return _not_found(session_id)
    now = dt.datetime.now(dt.UTC)
    try:
        with read_session() as s:
            session = viewable_session(s, sid, current_viewer())  # dash-auth: another teacher's = not found
            if session is None:
                return _not_found(session_id)
            timeline = class_timeline(s, sid)
            summary = student_totals(s, sid)  # dash-auth/bench: aggregated in SQL, 43,000 rows stay in the database
            flags = session_flags(s, sid)
            facts = session_facts(session, now=now)
            name = session.name
            running = session.ended_at is None
    except SQLAlchemyError as exc:
        log.warning("reading session %s failed: %s", sid, exc)
        return html.Div([html.H1("Session"), html.P("The database cannot be read right now.", className="error")])

    header: list[Any] = [html.H1(name), facts, report_links(sid)]  # dash-auth: the printable report
    if running:
        header.append(
            html.P(["This session is still running: ", dcc.Link("watch it live", href="/"), "."], className="note")
        )
    return html.Div(
        [
            dcc.Store(id=ids.SESSION_ID_STORE, data=sid),
            html.Div(header, id=ids.REVIEW_HEADER, className="banner"),
            html.Div(
                [
                    card(
                        "Class mood over time",
                        dcc.Graph(
                            id=ids.REVIEW_TIMELINE,
                            config=GRAPH_CONFIG,
                            figure=timeline_figure(timeline, uirevision=sid, flags=flags),
                        ),
                    ),
                    card(
                        "Whole session",
                        html.P("Share of all student-intervals, with counts", className="caption"),
                        dcc.Graph(
                            id=ids.REVIEW_DISTRIBUTION, config=GRAPH_CONFIG, figure=distribution_figure(timeline)
                        ),
                        download_bar(),
                    ),
                ],
                className="grid",
            ),
            card(
                "Attention flags",
                html.P(
                    "Shaded on the chart above, numbered as in this table. Each rests on the analysed frames shown; "
                    "emotion estimates are probabilistic, so read a flag as a reason to look back, not a verdict.",
                    className="caption",
                ),
                text_table(
                    flag_rows(flags),
                    FLAG_COLUMNS,
                    table_id=ids.REVIEW_FLAGS,
                    severity_columns=("Severity",),
                    empty="No attention flags were raised in this session.",
                ),
                class_name="section",
            ),
            card(
                "Students",
                text_table(
                    summary_rows(summary),
                    SUMMARY_COLUMNS,
                    table_id=ids.REVIEW_STUDENTS,
                    emotion_columns=("Most frequent", "Last emotion"),
                    empty="No students were seen.",
                ),
            ),
        ]
    )
