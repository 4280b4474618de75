"""The CSV download callback shared by the Live and Review pages.

Both pages put the same two buttons (``components.download_bar``) and a ``dcc.Store`` holding the shown session's id
on the page; one callback answers either. The CSV text itself comes from ``db.export``.
"""

from __future__ import annotations

import logging
import re

from dash import Input, Output, State, callback, ctx, dcc
from dash.exceptions import PreventUpdate
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import current_viewer
from dashboard.data import read_session, record_id
from db.export import UnknownSessionError, export_class_csv, export_student_csv
from db.queries import viewable_session

log = logging.getLogger(__name__)


def csv_filename(session_id: int, name: str, kind: str) -> str:
    """``classmood-7-maths-3b-class.csv``: the session id keeps it unique, the slug makes it recognisable."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return f"classmood-{session_id}-{slug}-{kind}.csv" if slug else f"classmood-{session_id}-{kind}.csv"


@callback(
    Output(ids.CSV_DOWNLOAD, "data"),
    Input(ids.CSV_CLASS_BUTTON, "n_clicks"),
    Input(ids.CSV_STUDENTS_BUTTON, "n_clicks"),
    State(ids.SESSION_ID_STORE, "data"),
    prevent_initial_call=True,
)
def download_csv(class_clicks: int | None, student_clicks: int | None, session_id: int | None) -> dict[str, object]:
    sid = record_id(session_id)
    if sid is None or not (class_clicks or student_clicks):
        raise PreventUpdate
    session_id = sid
    kind = "students" if ctx.triggered_id == ids.CSV_STUDENTS_BUTTON else "class"
    try:
        with read_session() as s:
            session = viewable_session(s, session_id, current_viewer())  # another teacher's: not found
            if session is None:
                raise PreventUpdate
            text = export_student_csv(s, session_id) if kind == "students" else export_class_csv(s, session_id)
            filename = csv_filename(session_id, session.name, kind)
    except UnknownSessionError:  # deleted since the page was opened
        raise PreventUpdate from None
    except SQLAlchemyError:
        log.exception("CSV export of session %s failed", session_id)
        raise PreventUpdate from None
    return dcc.send_string(text, filename, type="text/csv")
