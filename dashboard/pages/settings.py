"""Settings (``/settings``): the analysis options (interval, frames per second, layout) and the attention-flag
rules, each switched on or off and tuned, all stored in the database.

The analysis section edits ``db.settings.AnalysisSettings`` with its own Save button; the worker applies it at its
next session, and a value pinned in the worker's own configuration (command line, config file) still wins.

The form is built from ``db.settings.FlagSettings`` (``dashboard.rules.form_sections``): one card per rule with its
switch and thresholds, each number input carrying the model's bounds, then the timing fields shared by all rules.
Save validates the whole form with FlagSettings and stores it with ``save_flag_settings``; a value the model rejects
gets its message under the field and nothing is stored. The worker reads these settings when a session starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dash import ALL, Input, Output, State, callback, ctx, dcc, html, register_page
from dash.exceptions import PreventUpdate
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import current_viewer
from dashboard.components import card
from dashboard.data import read_session, write_session
from dashboard.formatting import fmt_time
from dashboard.privacy_settings import privacy_cards
from dashboard.rules import (
    HYSTERESIS_HELP,
    HYSTERESIS_TITLE,
    NumberField,
    form_sections,
    number_field,
    number_fields,
    parse_settings,
)
from db.settings import (
    AnalysisSettings,
    FlagSettings,
    PrivacySettings,
    SettingsError,
    load_analysis_settings,
    load_flag_settings,
    load_privacy_settings,
    save_analysis_settings,
    save_flag_settings,
)

register_page(__name__, path="/settings", name="Settings", title="ClassMood · Settings", order=3)

log = logging.getLogger(__name__)

REFLAG_COMMAND = "python -m monitor reflag --session ID"
WORKER_NOTE = (
    "The monitor reads these settings at the start of each session; a class already running keeps the ones it "
    "started with. To apply changed settings to a recorded session, run "
)
REFLAG_NOTE = " with the session's number (shown in its address on the Sessions page)."
ON = "on"
ANALYSIS_WORKER_NOTE = (
    "The monitor applies these at the start of its next session; a class already running keeps its own. A value "
    "given to the monitor itself (on its command line or in its config file) wins over the one saved here."
)
LAYOUT_LABELS = {"auto": "decide from what the frames show (a gallery grid with names, or faces without one)",
                 "room": "seats in a room", "gallery": "tiles of a Zoom gallery"}


def _analysis_field(label: str, key: str, control: Any) -> html.Div:
    field = AnalysisSettings.model_fields[key]
    return html.Div(
        [
            html.Label([html.Span(label, className="field-label"), control]),
            html.Div(field.description, className="muted small"),
        ],
        className="field",
    )


def _analysis_number(label: str, key: str, control_id: str, value: float) -> html.Div:
    """A number input whose label and browser-side bounds come from ``AnalysisSettings`` itself (as the rules')."""
    field = number_field(key, AnalysisSettings.model_fields[key], value)
    control = dcc.Input(
        id=control_id,
        type="number",
        value=value,
        min=field.minimum,
        max=field.maximum,
        step="any",
        required=True,
        className="input input-no-steppers",
    )
    return _analysis_field(label.format(bounds=field.bounds()), key, control)


def _analysis_card(settings: AnalysisSettings, problem: str | None) -> html.Section:
    return card(
        "Analysis",
        html.P(ANALYSIS_WORKER_NOTE, id=ids.ANALYSIS_NOTE, className="caption"),
        html.P(problem, className="error") if problem else None,
        _analysis_number("Interval (seconds, {bounds})", "interval_s", ids.ANALYSIS_INTERVAL, settings.interval_s),
        _analysis_number("Frames analysed per second ({bounds})", "fps", ids.ANALYSIS_FPS, settings.fps),
        _analysis_field(
            "Layout",
            "layout",
            dcc.RadioItems(
                id=ids.ANALYSIS_LAYOUT,
                options=[{"label": f" {key}: {text}", "value": key} for key, text in LAYOUT_LABELS.items()],
                value=settings.layout,
                className="radio",
            ),
        ),
        html.Div(
            [
                html.Button("Save analysis settings", id=ids.ANALYSIS_SAVE, n_clicks=0, className="button"),
                html.Div(id=ids.ANALYSIS_MESSAGE, className="settings-message", role="status"),
            ],
            className="settings-actions",
        ),
        class_name="settings-card analysis-card",
    )


def input_class(field: NumberField | None, *, invalid: bool = False) -> str:
    """dcc.Input's container class: ``input``, without the -/+ steppers where a step of 1 would only jump out of
    range (a 0..1 share), and marked when Save rejected the value."""
    classes = ["input"]
    if field is not None and not field.whole_steps:
        classes.append("input-no-steppers")
    if invalid:
        classes.append("input-invalid")
    return " ".join(classes)


def _number(field: NumberField) -> html.Div:
    """A labelled number input with the model's bounds (the browser marks a value outside them as invalid, and
    ``dcc.Input`` then sends no value, which the save callback answers with the allowed range) and its message."""
    return html.Div(
        [
            html.Label(
                [
                    html.Span(field.label, className="field-label"),
                    html.Span(f" ({field.bounds()})", className="muted"),
                    dcc.Input(
                        id={"type": ids.SETTINGS_NUMBER, "field": field.key},
                        type="number",
                        value=field.default,
                        min=field.minimum,  # for a bound like "above 0" the model, not the browser, rejects 0
                        max=field.maximum,
                        step=1 if field.integer else "any",
                        required=True,
                        className=input_class(field),
                    ),
                ]
            ),
            html.Div(id={"type": ids.SETTINGS_ERROR, "field": field.key}, className="field-error", role="alert"),
        ],
        className="field",
    )


def _form(settings: FlagSettings) -> html.Div:
    rules, top = form_sections(settings)
    cards = [
        card(
            section.label,
            html.P(section.help, className="caption"),
            dcc.Checklist(
                id={"type": ids.SETTINGS_ENABLED, "rule": section.key},
                options=[{"label": " Use this rule", "value": ON}],
                value=[ON] if section.enabled else [],
                className="switch",
            ),
            *(_number(f) for f in section.fields),
            class_name="settings-card",
        )
        for section in rules
    ]
    cards.append(
        card(
            HYSTERESIS_TITLE,
            html.P(HYSTERESIS_HELP, className="caption"),
            *(_number(f) for f in top),
            class_name="settings-card",
        )
    )
    return html.Div(cards, id=ids.SETTINGS_FORM, className="settings-grid")


def layout(**_query: Any) -> html.Div:
    problem = analysis_problem = None
    try:
        with read_session() as s:
            try:
                settings = load_flag_settings(s)
            except SettingsError as exc:
                problem = (
                    f"The stored settings are not valid ({exc}); the defaults are shown, and saving replaces them."
                )
                settings = FlagSettings()
            try:
                privacy, privacy_problem = load_privacy_settings(s), None
            except SettingsError as exc:
                privacy, privacy_problem = PrivacySettings(), f"The stored settings are not valid ({exc})."
            try:
                analysis = load_analysis_settings(s)
            except SettingsError as exc:
                analysis_problem = f"The stored analysis settings are not valid ({exc}); the defaults are shown."
                analysis = AnalysisSettings()
    except SQLAlchemyError as exc:
        log.warning("reading the settings failed: %s", exc)
        return html.Div([html.H1("Settings"), html.P("The database cannot be read right now.", className="error")])
    return html.Div(
        [
            html.H1("Settings"),
            html.Div(_analysis_card(analysis, analysis_problem), className="settings-grid analysis"),
            privacy_cards(privacy, privacy_problem),
            html.H2("Attention flags", className="section-title"),
            html.P(
                "Attention flags point you to a student, or the whole class, when the emotion estimates suggest a "
                "look may help. Switch each rule on or off and set how sensitive it is.",
                className="muted",
            ),
            html.P(
                [WORKER_NOTE, html.Code(REFLAG_COMMAND), REFLAG_NOTE],
                id=ids.SETTINGS_NOTE,
                className="note",
            ),
            html.P(problem, className="error") if problem else None,
            _form(settings),
            html.Div(
                [
                    html.Button("Save settings", id=ids.SETTINGS_SAVE, n_clicks=0, className="button"),
                    html.Div(id=ids.SETTINGS_MESSAGE, className="settings-message", role="status"),
                ],
                className="settings-actions",
            ),
        ]
    )


@callback(
    Output(ids.SETTINGS_MESSAGE, "children"),
    Output({"type": ids.SETTINGS_ERROR, "field": ALL}, "children"),
    Output({"type": ids.SETTINGS_NUMBER, "field": ALL}, "className"),
    Input(ids.SETTINGS_SAVE, "n_clicks"),
    State({"type": ids.SETTINGS_NUMBER, "field": ALL}, "value"),
    State({"type": ids.SETTINGS_ENABLED, "rule": ALL}, "value"),
    prevent_initial_call=True,
)
def save(n_clicks: int | None, _numbers: list[Any], _enabled: list[Any]) -> tuple[Any, list[str], list[str]]:
    if not n_clicks:
        raise PreventUpdate
    numbers = {item["id"]["field"]: item.get("value") for item in ctx.states_list[0]}
    enabled = {item["id"]["rule"]: ON in (item.get("value") or []) for item in ctx.states_list[1]}
    error_keys = [item["id"]["field"] for item in ctx.outputs_list[1]]
    input_keys = [item["id"]["field"] for item in ctx.outputs_list[2]]
    settings, errors = parse_settings(numbers, enabled)
    field_errors = [errors.get(key, "") for key in error_keys]
    specs = {f.key: f for f in number_fields()}
    classes = [input_class(specs.get(key), invalid=key in errors) for key in input_keys]
    if settings is None:
        n = len(errors)
        message = html.P(
            f"Not saved: {n} value{'s are' if n != 1 else ' is'} not allowed; see the message under "
            f"{'each marked field' if n != 1 else 'the marked field'}.",
            className="error",
        )
        return message, field_errors, classes
    refused = _refused_unless_admin()
    if refused is not None:
        return refused, field_errors, classes
    try:
        with write_session() as s:
            save_flag_settings(s, settings)
    except SQLAlchemyError as exc:
        log.warning("saving the settings failed: %s", exc)
        return html.P("Not saved: the database cannot be written right now.", className="error"), field_errors, classes
    saved = fmt_time(dt.datetime.now(dt.UTC))
    return html.P(f"Saved at {saved}. New sessions use these settings.", className="ok"), field_errors, classes


def _refused_unless_admin() -> html.P | None:
    """Every saved setting applies to every class, so with a login in force only an admin may change one."""
    viewer = current_viewer()
    if viewer is not None and not viewer.is_admin:
        return html.P("Not saved: only an admin account can change the settings.", className="error")
    return None


@callback(
    Output(ids.ANALYSIS_MESSAGE, "children"),
    Input(ids.ANALYSIS_SAVE, "n_clicks"),
    State(ids.ANALYSIS_INTERVAL, "value"),
    State(ids.ANALYSIS_FPS, "value"),
    State(ids.ANALYSIS_LAYOUT, "value"),
    prevent_initial_call=True,
)
def save_analysis(n_clicks: int | None, interval_s: Any, fps: Any, layout_: Any) -> Any:
    """Validate with AnalysisSettings and store; an empty or out-of-range value is named, nothing is stored."""
    if not n_clicks:
        raise PreventUpdate
    refused = _refused_unless_admin()
    if refused is not None:
        return refused
    values = {"interval_s": interval_s, "fps": fps, "layout": layout_}
    missing = [key for key, value in values.items() if value is None or value == ""]
    if missing:  # dcc.Input sends None for a value outside min/max or not a number
        names = ", ".join(AnalysisSettings.model_fields[k].description or k for k in missing)
        return html.P(f"Not saved: enter a value within the allowed range for: {names}.", className="error")
    try:
        settings = AnalysisSettings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return html.P(f"Not saved: {where}: {err['msg']}.", className="error")
    try:
        with write_session() as s:
            save_analysis_settings(s, settings)
    except SQLAlchemyError as exc:
        log.warning("saving the analysis settings failed: %s", exc)
        return html.P("Not saved: the database cannot be written right now.", className="error")
    saved = fmt_time(dt.datetime.now(dt.UTC))
    return html.P(
        f"Saved at {saved}: every {settings.interval_s:g} s, {settings.fps:g} frames per second, layout "
        f"{settings.layout}. The monitor uses them from its next session.",
        className="ok",
    )
