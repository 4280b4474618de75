"""The Settings page's responsible-use cards: the school's analysis mode (and its lock), class-only storage,
retention, the notice's school name and contact; and one student's data, downloaded or erased.

Admin-only like every setting: with a login in force a teacher's Save or erase is refused. Erasure asks for
confirmation in the browser and then deletes every row naming the label (``db.privacy.forget_student``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import current_viewer
from dashboard.components import card
from dashboard.data import read_session, write_session
from dashboard.formatting import fmt_time
from dashboard.notice import NOTICE_HTML
from dashboard.rules import number_field
from db.privacy import count_student, forget_student, student_csv
from db.settings import PrivacySettings, save_privacy_settings

log = logging.getLogger(__name__)

ON = "on"
MODE_LABELS = {
    "presence": "presence: who is seen, camera off or face not visible; no emotion inferred (the mode for EU schools)",
    "expressions": "expressions: the emotion model estimates facial expressions (prohibited in EU schools)",
}
AI_ACT_NOTE = (
    "The EU AI Act (Article 5(1)(f)) prohibits emotion recognition in education institutions since 2 February 2025. "
    "Schools in the EU choose presence mode and lock it."
)


def _admin_refusal() -> html.P | None:
    viewer = current_viewer()
    if viewer is not None and not viewer.is_admin:
        return html.P("Not done: only an admin account can do this.", className="error")
    return None


def privacy_cards(settings: PrivacySettings, problem: str | None = None) -> html.Div:
    """The two cards, for the Settings page's layout."""
    retention = "" if settings.retention_days is None else settings.retention_days
    days = number_field("retention_days", PrivacySettings.model_fields["retention_days"], retention)
    school_card = card(
        "Responsible use",
        html.P(AI_ACT_NOTE, className="caption"),
        html.P(problem, className="error") if problem else None,
        html.Div(
            [
                html.Span("Analysis mode of every class", className="field-label"),
                dcc.RadioItems(
                    id=ids.PRIVACY_MODE,
                    options=[{"label": f" {text}", "value": key} for key, text in MODE_LABELS.items()],
                    value=settings.mode,
                    className="radio",
                ),
                dcc.Checklist(
                    id=ids.PRIVACY_LOCK,
                    options=[{"label": " Lock: a monitor started in another mode refuses to run", "value": ON}],
                    value=[ON] if settings.mode_locked else [],
                    className="switch",
                ),
                dcc.Checklist(
                    id=ids.PRIVACY_PER_STUDENT,
                    options=[{"label": " Store rows per student (off: class totals only, no student label)",
                              "value": ON}],
                    value=[ON] if settings.per_student else [],
                    className="switch",
                ),
            ],
            className="field",
        ),
        html.Label(
            [
                html.Span("Delete sessions that ended more than this many days ago (empty: keep)",
                          className="field-label"),
                dcc.Input(id=ids.PRIVACY_RETENTION, type="number", min=days.minimum, max=days.maximum,
                          step=1 if days.integer else "any", value=retention, className="input"),
            ],
            className="field",
        ),
        html.Label([html.Span("School name (on the notice)", className="field-label"),
                    dcc.Input(id=ids.PRIVACY_SCHOOL, type="text", value=settings.school, maxLength=200,
                              className="input")], className="field"),
        html.Label([html.Span("Whom students ask for a copy or erasure (on the notice)", className="field-label"),
                    dcc.Input(id=ids.PRIVACY_CONTACT, type="text", value=settings.contact, maxLength=300,
                              className="input")], className="field"),
        html.P(["The notice for students: ", dcc.Link("/notice", href="/notice"), " (printable: ",
                html.A(NOTICE_HTML, href=NOTICE_HTML, target="_blank"), ")."], className="muted small"),
        html.Div(
            [
                html.Button("Save responsible-use settings", id=ids.PRIVACY_SAVE, n_clicks=0, className="button"),
                html.Div(id=ids.PRIVACY_MESSAGE, className="settings-message", role="status"),
            ],
            className="settings-actions",
        ),
        class_name="settings-card privacy-card",
    )
    student_card = card(
        "One student's data",
        html.P(
            "Everything stored under one student label in every session: download it (a request for a copy) or "
            "erase it (intervals, presence, flags, class lists). Class totals stay: they name nobody. Teachers' "
            "notes are free text and are not searched: check them by hand (the notice says so).",
            className="caption",
        ),
        html.Label([html.Span("Student label, exactly as stored", className="field-label"),
                    dcc.Input(id=ids.STUDENT_NAME, type="text", value="", className="input")], className="field"),
        html.Div(
            [
                html.Button("Download CSV", id=ids.STUDENT_EXPORT, n_clicks=0, className="button"),
                dcc.ConfirmDialogProvider(
                    html.Button("Erase", id=ids.STUDENT_FORGET, n_clicks=0, className="button danger"),
                    id=ids.STUDENT_FORGET_CONFIRM,
                    message="Erase everything stored about this student in every session? This cannot be undone.",
                ),
                dcc.Download(id=ids.STUDENT_DOWNLOAD),
                html.Div(id=ids.STUDENT_MESSAGE, className="settings-message", role="status"),
            ],
            className="settings-actions",
        ),
        class_name="settings-card student-card",
    )
    return html.Div([school_card, student_card], className="settings-grid privacy")


@callback(
    Output(ids.PRIVACY_MESSAGE, "children"),
    Input(ids.PRIVACY_SAVE, "n_clicks"),
    State(ids.PRIVACY_MODE, "value"),
    State(ids.PRIVACY_LOCK, "value"),
    State(ids.PRIVACY_PER_STUDENT, "value"),
    State(ids.PRIVACY_RETENTION, "value"),
    State(ids.PRIVACY_SCHOOL, "value"),
    State(ids.PRIVACY_CONTACT, "value"),
    prevent_initial_call=True,
)
def save_privacy(n_clicks: int | None, mode: Any, lock: Any, per_student: Any, retention: Any, school: Any,
                 contact: Any) -> Any:
    if not n_clicks:
        raise PreventUpdate
    refused = _admin_refusal()
    if refused is not None:
        return refused
    values = {
        "mode": mode, "mode_locked": ON in (lock or []), "per_student": ON in (per_student or []),
        "retention_days": None if retention in (None, "") else retention,
        "school": school or "", "contact": contact or "",
    }
    try:
        settings = PrivacySettings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        return html.P(f"Not saved: {'.'.join(map(str, err['loc']))}: {err['msg']}.", className="error")
    try:
        with write_session() as s:
            save_privacy_settings(s, settings)
    except SQLAlchemyError as exc:
        log.warning("saving the responsible-use settings failed: %s", exc)
        return html.P("Not saved: the database cannot be written right now.", className="error")
    kept = "kept until deleted" if settings.retention_days is None else f"kept {settings.retention_days} day(s)"
    return html.P(
        f"Saved at {fmt_time(dt.datetime.now(dt.UTC))}: {settings.mode} mode"
        f"{' (locked)' if settings.mode_locked else ''}, {'per student' if settings.per_student else 'class only'}, "
        f"{kept}. New sessions use these; the notice shows them.",
        className="ok",
    )


def _label(name: Any) -> str:
    label = (name or "").strip() if isinstance(name, str) else ""
    if not label:
        raise PreventUpdate
    return label


@callback(
    Output(ids.STUDENT_DOWNLOAD, "data"),
    Output(ids.STUDENT_MESSAGE, "children", allow_duplicate=True),
    Input(ids.STUDENT_EXPORT, "n_clicks"),
    State(ids.STUDENT_NAME, "value"),
    prevent_initial_call=True,
)
def export_student(n_clicks: int | None, name: Any) -> tuple[Any, Any]:
    if not n_clicks:
        raise PreventUpdate
    refused = _admin_refusal()
    if refused is not None:
        return no_update, refused
    label = _label(name)
    try:
        with read_session() as s:
            text = student_csv(s, label)
    except SQLAlchemyError as exc:
        log.warning("exporting a student's data failed: %s", exc)
        return no_update, html.P("The database cannot be read right now.", className="error")
    rows = text.count("\n") - 1
    if rows == 0:
        return no_update, html.P(f"Nothing is stored about {label!r} (labels match exactly).", className="error")
    safe = re.sub(r"[^\w.-]+", "_", label, flags=re.UNICODE).strip("_")[:60] or "student"
    return dcc.send_string(text, f"classmood-student-{safe}.csv", type="text/csv"), html.P(
        f"{rows} row(s) about {label!r} downloaded.", className="ok"
    )


@callback(
    Output(ids.STUDENT_MESSAGE, "children"),
    Input(ids.STUDENT_FORGET_CONFIRM, "submit_n_clicks"),
    State(ids.STUDENT_NAME, "value"),
    prevent_initial_call=True,
)
def erase_student(submitted: int | None, name: Any) -> Any:
    if not submitted:
        raise PreventUpdate
    refused = _admin_refusal()
    if refused is not None:
        return refused
    label = _label(name)
    try:
        with write_session() as s:
            if count_student(s, label).total == 0:
                return html.P(f"Nothing is stored about {label!r} (labels match exactly).", className="error")
            counts = forget_student(s, label)
    except SQLAlchemyError as exc:
        log.warning("erasing a student's data failed: %s", exc)
        return html.P("Not erased: the database cannot be written right now.", className="error")
    return html.P(f"Erased {counts.describe()} about {label!r}. Class totals are kept.", className="ok")
