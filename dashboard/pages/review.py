"""Session review (``/sessions/<id>``): one recorded session's timeline with its attention flags shaded, overall
mood, a students x time heatmap, one student's own timeline and probabilities, teacher notes, the flags, the
students and the CSV export.

Rendered from the database when the page opens; an id that is not a number or not in the database gets a "not
found" message, not an error. Clicking a heatmap row (or picking from the list) shows that student; clicking the
timeline puts its time into the note form. A note added here is drawn on every chart at once: the charts get a
``Patch`` of their shapes only, so a zoom stays as it is.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd
from dash import Input, Output, Patch, State, callback, dcc, html, no_update, register_page
from dash.exceptions import PreventUpdate
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dashboard import ids
from dashboard.access import current_viewer
from dashboard.components import GRAPH_CONFIG, card, download_bar, notes_list, session_facts, text_table
from dashboard.data import read_session, record_id, shared_cache, write_session
from dashboard.figures import (
    distribution_figure,
    empty_figure,
    flag_shapes,
    heatmap_figure,
    note_shapes,
    probabilities_figure,
    student_figure,
    timeline_figure,
)
from dashboard.formatting import fmt_time, parse_clock
from dashboard.notice import mode_line
from dashboard.presence_figures import presence_timeline_figure
from dashboard.report_links import report_links
from dashboard.tables import (
    FLAG_COLUMNS,
    SUMMARY_COLUMNS,
    flag_rows,
    note_rows,
    summary_from_grid,
    summary_rows,
)
from db.queries import (
    add_note,
    class_timeline,
    grid_version,
    presence_timeline,
    session_flags,
    session_notes,
    student_grid,
    student_timeline,
    viewable_session,
)


def _title(session_id: str | None = None, **_query: Any) -> str:
    return f"ClassMood · Session {session_id}"


register_page(__name__, path_template="/sessions/<session_id>", name="Session review", title=_title)

log = logging.getLogger(__name__)

# How long one process keeps a session's student grid and students table for the next viewer of that session (a
# reload, the teacher coming back from a student's page, a colleague): a backstop only, as the key carries the grid's
# data version. Short, because a 3-hour class of 40's grid holds ~6.5 MB: only the sessions opened in the last
# minute stay in memory.
REVIEW_TTL_S = 60.0


def _grid_and_summary(s: Session, sid: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The heatmap's rows and, from them, the students table: most of a fresh review's work on a 3-hour class."""
    grid = student_grid(s, sid)
    return grid, summary_from_grid(grid)


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
    sid = record_id(session_id)
    if sid is None:
        return _not_found(session_id)
    now = dt.datetime.now(dt.UTC)
    try:
        with read_session() as s:
            session = viewable_session(s, sid, current_viewer())  # dash-auth: another teacher's = not found
            if session is None:
                return _not_found(session_id)
            timeline = class_timeline(s, sid)
            # the same for every viewer allowed to see the session (checked above), and unchanged as long as its
            # student rows are (grid_version), so shared in this process: ~80 ms of a 3-hour class's ~180 ms
            grid, summary = shared_cache().get(
                ("review-grid", sid, *grid_version(s, sid)), lambda: _grid_and_summary(s, sid), REVIEW_TTL_S
            )
            flags = session_flags(s, sid)
            notes = session_notes(s, sid)
            facts = session_facts(session, now=now)
            name = session.name
            running = session.ended_at is None
            presence_mode = session.mode == "presence"
            ptimeline = presence_timeline(s, sid) if presence_mode else None
    except SQLAlchemyError as exc:
        log.warning("reading session %s failed: %s", sid, exc)
        return html.Div([html.H1("Session"), html.P("The database cannot be read right now.", className="error")])

    students = summary["student"].tolist()
    header: list[Any] = [html.H1(name), facts, html.P(mode_line("presence" if presence_mode else "expressions"),
                                                        className="mode")]
    if running:
        header.append(
            html.P(["This session is still running: ", dcc.Link("watch it live", href="/"), "."], className="note")
        )
    header.append(
        html.P(
            [dcc.Link("Compare with other sessions", href=f"/compare?ids={sid}")],
            className="muted",
        )
    )
    # the printable report's links ("Report (HTML)", "Report (PDF)"), built in dashboard.report_links
    header.append(report_links(sid))
    return html.Div(
        [
            dcc.Store(id=ids.SESSION_ID_STORE, data=sid),
            html.Div(header, id=ids.REVIEW_HEADER, className="banner"),
            html.Div(
                [
                    card(
                        "Presence over time" if presence_mode else "Class mood over time",
                        html.P("Click the chart to pin a note at that time.", className="caption"),
                        dcc.Graph(
                            id=ids.REVIEW_TIMELINE,
                            config=GRAPH_CONFIG,
                            figure=presence_timeline_figure(ptimeline, uirevision=sid) if ptimeline is not None
                            else timeline_figure(timeline, uirevision=sid, flags=flags, notes=notes),
                        ),
                    ),
                    card(
                        "Whole session",
                        html.P("Share of all student-intervals, with counts", className="caption"),
                        dcc.Graph(
                            id=ids.REVIEW_DISTRIBUTION, config=GRAPH_CONFIG,
                            figure=empty_figure("Presence mode: no emotion was inferred") if presence_mode
                            else distribution_figure(timeline),
                        ),
                        download_bar(),
                    ),
                ],
                className="grid",
            ),
            card(
                "Notes",
                html.P(
                    "Pin a note to a moment of the lesson: type the time (HH:MM or HH:MM:SS) or click the chart above.",
                    className="caption",
                ),
                html.Div(
                    [
                        dcc.Input(
                            id=ids.REVIEW_NOTE_TIME, type="text", placeholder="HH:MM", className="note-time", value=""
                        ),
                        dcc.Input(
                            id=ids.REVIEW_NOTE_INPUT,
                            type="text",
                            placeholder="e.g. quiz started",
                            maxLength=500,
                            className="note-input",
                        ),
                        html.Button("Add note", id=ids.REVIEW_NOTE_ADD, n_clicks=0, className="button"),
                        html.Div(id=ids.REVIEW_NOTE_MESSAGE, className="note-message", role="status"),
                    ],
                    className="note-form",
                ),
                html.Div(notes_list(note_rows(notes), list_id=ids.REVIEW_NOTES + "-list"), id=ids.REVIEW_NOTES),
                class_name="section",
            ),
            card(
                "Students over time",
                html.P(
                    "Each row is a student, each cell an interval in the colour of their most likely emotion; blank "
                    "where they were not seen. Click a row to see that student below.",
                    className="caption",
                ),
                dcc.Graph(
                    id=ids.REVIEW_HEATMAP,
                    config=GRAPH_CONFIG,
                    figure=heatmap_figure(grid, students, notes=notes),
                ),
                class_name="section",
            ),
            card(
                "One student",
                html.Div(
                    [
                        html.Span("Student", className="muted"),
                        dcc.Dropdown(
                            id=ids.REVIEW_STUDENT_SELECT,
                            options=[{"label": s, "value": s} for s in students],
                            value=students[0] if students else None,
                            clearable=False,
                            placeholder="Pick a student",
                        ),
                    ],
                    className="student-picker",
                ),
                html.Div(
                    [
                        dcc.Graph(
                            id=ids.REVIEW_STUDENT_TIMELINE,
                            config=GRAPH_CONFIG,
                            figure=empty_figure("Loading…", height=300),
                        ),
                        dcc.Graph(
                            id=ids.REVIEW_STUDENT_PROBABILITIES,
                            config=GRAPH_CONFIG,
                            figure=empty_figure("Loading…", height=300),
                        ),
                    ],
                    className="grid",
                ),
                class_name="section",
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


@callback(
    Output(ids.REVIEW_STUDENT_SELECT, "value"),
    Input(ids.REVIEW_HEATMAP, "clickData"),
    State(ids.REVIEW_STUDENT_SELECT, "options"),
    prevent_initial_call=True,
)
def pick_from_heatmap(click: dict[str, Any] | None, options: list[dict[str, str]] | None) -> str:
    """A click on a heatmap cell picks its row's student (rows are numbered in the dropdown's order)."""
    try:
        row = int(click["points"][0]["y"])  # type: ignore[index]
        return options[row]["value"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError, ValueError):
        raise PreventUpdate from None


@callback(
    Output(ids.REVIEW_STUDENT_TIMELINE, "figure"),
    Output(ids.REVIEW_STUDENT_PROBABILITIES, "figure"),
    Input(ids.REVIEW_STUDENT_SELECT, "value"),
    Input(ids.REVIEW_NOTES, "children"),
    State(ids.SESSION_ID_STORE, "data"),
)
def show_student(student: str | None, _notes: Any, session_id: int | None) -> tuple[Any, Any]:
    """The picked student's probabilities over time (with the session's notes) and averaged over the session."""
    sid = record_id(session_id)
    if sid is None or not student or not isinstance(student, str):
        message = "Pick a student to see their timeline"
        return empty_figure(message, height=300), empty_figure(message, height=300)
    try:
        with read_session() as s:
            if viewable_session(s, sid, current_viewer()) is None:  # a forged id reads nothing
                raise PreventUpdate
            rows = student_timeline(s, sid, student)
            notes = session_notes(s, sid)
    except SQLAlchemyError as exc:
        log.warning("reading a student's timeline failed: %s", exc)
        raise PreventUpdate from None
    return student_figure(rows, notes=notes), probabilities_figure(rows)


def _clock_of(x: object) -> str | None:
    """``"2026-11-21 09:41:30"`` (a clicked point's local x) -> ``"09:41:30"``."""
    try:
        return pd.Timestamp(str(x)).strftime("%H:%M:%S")
    except (ValueError, TypeError):
        return None


@callback(
    Output(ids.REVIEW_NOTE_TIME, "value"),
    Input(ids.REVIEW_TIMELINE, "clickData"),
    prevent_initial_call=True,
)
def time_from_click(click: dict[str, Any] | None) -> str:
    try:
        clock = _clock_of(click["points"][0]["x"])  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        clock = None
    if clock is None:
        raise PreventUpdate
    return clock


@callback(
    Output(ids.REVIEW_NOTE_MESSAGE, "children"),
    Output(ids.REVIEW_NOTES, "children"),
    Output(ids.REVIEW_NOTE_INPUT, "value"),
    Output(ids.REVIEW_TIMELINE, "figure"),
    Output(ids.REVIEW_HEATMAP, "figure"),
    Input(ids.REVIEW_NOTE_ADD, "n_clicks"),
    Input(ids.REVIEW_NOTE_INPUT, "n_submit"),
    State(ids.REVIEW_NOTE_TIME, "value"),
    State(ids.REVIEW_NOTE_INPUT, "value"),
    State(ids.SESSION_ID_STORE, "data"),
    prevent_initial_call=True,
)
def add_review_note(
    clicks: int | None, submits: int | None, clock: str | None, text: str | None, session_id: int | None
) -> tuple[Any, ...]:
    """Pin the note at the typed time, then redraw the notes list and the charts' lines (shapes only)."""
    if not (clicks or submits) or session_id is None:
        raise PreventUpdate

    def refused(message: str) -> tuple[Any, ...]:
        return html.Span(message, className="error"), no_update, no_update, no_update, no_update

    sid = record_id(session_id)
    if sid is None:
        return refused("That session no longer exists.")
    try:
        with write_session() as s:
            session = viewable_session(s, sid, current_viewer())
            if session is None:
                return refused("That session no longer exists.")
            at = parse_clock(clock or "", session.started_at)
            if at is None:
                return refused("Not added: give the time as HH:MM or HH:MM:SS (or click the chart).")
            add_note(s, sid, at, text or "")
        with read_session() as s:
            timeline = class_timeline(s, sid)
            flags = session_flags(s, sid)
            notes = session_notes(s, sid)
    except ValueError as exc:
        return refused(f"Not added: {exc}.")
    except SQLAlchemyError as exc:
        log.warning("adding a note failed: %s", exc)
        return refused("Not added: the database cannot be written right now.")
    # only the charts' shapes change: computed from the timeline, flags and notes, never from the 43,000-row grid
    # of a 3-hour class (reloading it and redrawing both figures cost most of a second). A chart drawn empty (no
    # interval, nobody seen) has no lines, as the layout drew it.
    lines = note_shapes(notes)
    timeline_shapes, heatmap_shapes = Patch(), Patch()
    timeline_shapes["layout"]["shapes"] = [*flag_shapes(flags, timeline), *lines] if not timeline.empty else []
    heatmap_shapes["layout"]["shapes"] = lines if bool((timeline["students_seen"] > 0).any()) else []
    listing = notes_list(note_rows(notes), list_id=ids.REVIEW_NOTES + "-list")
    return html.Span(f"Added at {fmt_time(at)}.", className="ok"), listing, "", timeline_shapes, heatmap_shapes
