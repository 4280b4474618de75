"""Sessions (``/sessions``): every recorded class session, newest first, each linking to its review page."""

from __future__ import annotations

import logging
from typing import Any

from dash import html, register_page
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import teacher_scope
from dashboard.components import MONITOR_COMMAND, text_table
from dashboard.data import read_session
from dashboard.tables import SESSION_COLUMNS, session_rows
from db.queries import list_sessions

register_page(__name__, path="/sessions", name="Sessions", title="ClassMood · Sessions", order=1)

log = logging.getLogger(__name__)


def layout(**_query: Any) -> html.Div:
    try:
        with read_session() as s:
            sessions = list_sessions(s, teacher=teacher_scope())  # dash-auth: a teacher sees their own
    except SQLAlchemyError as exc:
        log.warning("listing sessions failed: %s", exc)
        return html.Div([html.H1("Sessions"), html.P("The database cannot be read right now.", className="error")])
    table = text_table(
        session_rows(sessions),
        SESSION_COLUMNS,
        table_id=ids.SESSIONS_TABLE,
        links={"Name": "/sessions/{id}"},
        empty=f"No sessions recorded yet. Start the monitor with: {MONITOR_COMMAND}",
    )
    return html.Div(
        [
            html.H1("Sessions"),
            html.P(
                "Recorded class sessions, newest first. Open one to review it or download its data.", className="muted"
            ),
            html.Section(table, className="card"),
        ]
    )
