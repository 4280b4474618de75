"""Sessions (``/sessions``): every recorded class session, newest first, with its overall mood; filter by title and
date, open one to review it, compare some, delete one (after a confirmation) with all its data.

The list is drawn by one callback on the filters and on a "deleted" store, so a deletion shows at once. Deleting
goes through ``db.queries.delete_session``: the database's ``ON DELETE CASCADE`` removes the intervals, student
rows, flags and notes with it.
"""

from __future__ import annotations

import logging
from typing import Any

from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update, register_page
from dash.exceptions import PreventUpdate
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import current_viewer, teacher_scope
from dashboard.components import MONITOR_COMMAND, text_table
from dashboard.data import read_session, record_id, write_session
from dashboard.formatting import date_bounds, fmt_datetime
from dashboard.tables import SESSION_COLUMNS, session_rows
from db.queries import delete_session, list_sessions, session_moods, viewable_session

register_page(__name__, path="/sessions", name="Sessions", title="ClassMood · Sessions", order=1)

log = logging.getLogger(__name__)

LIMIT = 100  # the newest 100 (each row counts its distinct students); the filters reach older ones
COMPARE_FIRST = 3  # the "compare" link opens the newest sessions listed, up to this many
MAX_FILTER = 200  # a session title is at most 200 characters, so a longer filter can match nothing


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1("Sessions"),
            html.P(
                "Recorded class sessions, newest first. Open one to review it or download its data.", className="muted"
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Title contains", htmlFor=ids.SESSIONS_TITLE_FILTER),
                            dcc.Input(
                                id=ids.SESSIONS_TITLE_FILTER,
                                type="text",
                                placeholder="e.g. maths",
                                maxLength=MAX_FILTER,
                                debounce=0.4,
                                value="",
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Label("Started between"),
                            dcc.DatePickerRange(
                                id=ids.SESSIONS_DATE_FILTER,
                                display_format="YYYY-MM-DD",
                                clearable=True,
                                start_date_placeholder_text="from",
                                end_date_placeholder_text="to",
                            ),
                        ]
                    ),
                    html.Div(id=ids.SESSIONS_COUNT, className="muted"),
                ],
                className="filters",
            ),
            html.Div(id=ids.SESSIONS_MESSAGE, role="status"),
            html.Section(html.Div(id=ids.SESSIONS_LIST), className="card"),
            dcc.ConfirmDialog(id=ids.SESSIONS_CONFIRM),
            dcc.Store(id=ids.SESSIONS_PENDING),
            dcc.Store(id=ids.SESSIONS_DELETED),
        ]
    )


def _delete_button(row: dict[str, str]) -> html.Button:
    return html.Button(
        "Delete",
        id={"type": ids.SESSIONS_DELETE, "index": int(row["id"])},
        n_clicks=0,
        className="button button-small button-quiet",
        title="Delete this session and all its data",
    )


@callback(
    Output(ids.SESSIONS_LIST, "children"),
    Output(ids.SESSIONS_COUNT, "children"),
    Input(ids.SESSIONS_TITLE_FILTER, "value"),
    Input(ids.SESSIONS_DATE_FILTER, "start_date"),
    Input(ids.SESSIONS_DATE_FILTER, "end_date"),
    Input(ids.SESSIONS_DELETED, "data"),
)
def show_sessions(title: str | None, start: str | None, end: str | None, _deleted: Any) -> tuple[Any, Any]:
    if title is not None and (not isinstance(title, str) or len(title) > MAX_FILTER):
        return html.P(f"The title filter is too long: at most {MAX_FILTER} characters.", className="error"), ""
    since, until = date_bounds(start, end)
    try:
        with read_session() as s:
            sessions = list_sessions(s, LIMIT, teacher_scope(), title=title, since=since, until=until)
            moods = session_moods(s, sessions["id"].tolist())
    except SQLAlchemyError as exc:
        log.warning("listing sessions failed: %s", exc)
        return html.P("The database cannot be read right now.", className="error"), ""
    filtered = bool((title or "").strip() or since or until)
    if sessions.empty and not filtered:
        empty = f"No sessions recorded yet. Start the monitor with: {MONITOR_COMMAND}"
    else:
        empty = "No session matches these filters."
    table = text_table(
        session_rows(sessions, moods=moods),
        SESSION_COLUMNS,
        table_id=ids.SESSIONS_TABLE,
        links={"Name": "/sessions/{id}"},
        empty=empty,
        actions=_delete_button,
    )
    n = len(sessions)
    count: list[Any] = [f"{n} session{'s' if n != 1 else ''}" + (" (the newest shown)" if n == LIMIT else "")]
    if n >= 2:
        first = ",".join(str(i) for i in sessions["id"].head(COMPARE_FIRST))
        count += [" · ", dcc.Link("compare the newest", href=f"/compare?ids={first}", id=ids.SESSIONS_COMPARE_LINK)]
    return table, count


@callback(
    Output(ids.SESSIONS_CONFIRM, "displayed"),
    Output(ids.SESSIONS_CONFIRM, "message"),
    Output(ids.SESSIONS_PENDING, "data"),
    Input({"type": ids.SESSIONS_DELETE, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def ask_to_delete(_clicks: list[int | None]) -> tuple[bool, str, int]:
    """Ask before deleting. Also called when the list is redrawn with new buttons (``n_clicks`` 0 then)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(t.get("value") for t in ctx.triggered):
        raise PreventUpdate
    session_id = record_id(trigger.get("index"))
    if session_id is None:
        raise PreventUpdate
    try:
        with read_session() as s:
            session = viewable_session(s, session_id, current_viewer())
            if session is None:
                raise PreventUpdate
            what = f"“{session.name}” of {fmt_datetime(session.started_at)}"
    except SQLAlchemyError as exc:
        log.warning("reading session %s failed: %s", session_id, exc)
        raise PreventUpdate from None
    # window.confirm shows the message as plain text, so a session name cannot inject anything here
    return True, f"Delete the session {what} with all its data? This cannot be undone.", session_id


@callback(
    Output(ids.SESSIONS_DELETED, "data"),
    Output(ids.SESSIONS_MESSAGE, "children"),
    Input(ids.SESSIONS_CONFIRM, "submit_n_clicks"),
    State(ids.SESSIONS_PENDING, "data"),
    prevent_initial_call=True,
)
def delete_confirmed(submitted: int | None, session_id: int | None) -> tuple[Any, Any]:
    if not submitted or session_id is None:
        raise PreventUpdate
    sid = record_id(session_id)
    if sid is None:
        return no_update, html.P("That session was not found.", className="muted")
    try:
        with write_session() as s:
            viewer = current_viewer()
            session = viewable_session(s, sid, viewer)
            name = session.name if session is not None else None
            deleted = delete_session(s, sid, viewer)  # another teacher's session: not found
    except SQLAlchemyError as exc:
        log.warning("deleting session %s failed: %s", session_id, exc)
        return no_update, html.P("Not deleted: the database cannot be written right now.", className="error")
    if not deleted:
        return {"id": sid}, html.P("That session was already deleted.", className="muted")
    return {"id": sid}, html.P(f"Deleted the session “{name}”.", className="ok")
