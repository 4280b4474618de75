"""Layout pieces shared by the pages: text tables, the source status panel, CSV buttons, the empty state, the
"Needs attention" list of flags.

Everything user-supplied (student labels, session names, source strings, error details, flag reasons) is passed to
Dash as a plain string child, which React renders as a text node: a label like ``<img onerror=…>`` shows up as those
characters. Nothing here uses ``dcc.Markdown`` or ``dangerously_allow_html``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.colours import EMOTION_COLOURS, EMOTION_EMOJI, MOOD_COLOURS
from dashboard.formatting import fmt_datetime, fmt_duration, fmt_time
from dashboard.mood import TREND_ARROWS, ClassMood
from dashboard.rules import SEVERITIES
from dashboard.tables import FLAG_MARK, NOTE_COLUMNS
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
NO_FLAGS = "Nothing needs attention right now."
HONESTY_NOTE = (
    "Emotion estimates are probabilistic: the model guesses from facial expressions, is often wrong about one face "
    "at one moment, and an expression is not a feeling. Each flag says how many analysed frames it rests on, and "
    "each student card's bars show how sure the model was. Treat a flag as a reason to look, not as a verdict."
)
PRESENCE_HONESTY_NOTE = (
    "Presence mode: no emotion is inferred. A face can be missed (turned away, poor light, a small tile), so \"face "
    "not visible\" is not \"absent\". Treat a flag as a reason to look, not as a verdict."
)


def card(title: str, *children: Any, class_name: str = "", title_id: str | None = None) -> html.Section:
    heading = html.H2(title, className="card-title") if title_id is None else html.H2(title, id=title_id,
                                                                                       className="card-title")
    return html.Section([heading, *children], className=f"card {class_name}".strip())


def emotion_label(emotion: str) -> html.Span:
    """The emotion's name behind a swatch of its chart colour."""
    return html.Span(
        [html.Span(className="swatch", style={"backgroundColor": EMOTION_COLOURS.get(emotion, "#ccc")}), emotion],
        className="emotion",
    )


def severity_badge(severity: str, text: str | None = None) -> html.Span:
    """A coloured pill saying ``alert``, ``warning`` or ``info`` (or ``text``); an unknown severity stays grey."""
    css = f"badge badge-{severity}" if severity in SEVERITIES else "badge"
    return html.Span(text or severity, className=css)


def text_table(
    rows: Sequence[dict[str, str]],
    columns: Sequence[str],
    *,
    table_id: str | None = None,
    emotion_columns: Iterable[str] = (),
    severity_columns: Iterable[str] = (),
    flag_column: str | None = None,
    links: dict[str, str] | None = None,
    empty: str = "Nothing to show yet.",
    actions: Callable[[dict[str, str]], Any] | None = None,
    actions_header: str = "",
) -> html.Div:
    """An HTML table whose cells are text. ``links`` maps a column to an href template over the row's fields.

    ``severity_columns`` show their value as a severity badge. A row carrying ``tables.FLAG_MARK`` (a student with
    an open flag) is highlighted, with a "needs attention" badge after its ``flag_column`` value. ``actions``
    builds an extra last cell per row (a button).
    """
    emotion_cols = set(emotion_columns)
    severity_cols = set(severity_columns)
    links = links or {}

    def cell(row: dict[str, str], column: str) -> html.Td:
        value = row.get(column, "")
        if column in emotion_cols:
            return html.Td(emotion_label(value))
        if column in severity_cols:
            return html.Td(severity_badge(value))
        if column in links:
            return html.Td(dcc.Link(value, href=links[column].format(**row)))
        if column == flag_column and row.get(FLAG_MARK):
            return html.Td([value, " ", severity_badge(row[FLAG_MARK], "needs attention")])
        return html.Td(value)

    def tr(row: dict[str, str]) -> html.Tr:
        flagged = flag_column is not None and bool(row.get(FLAG_MARK))
        marked: dict[str, Any] = {"className": "row-flagged"} if flagged else {}
        cells = [cell(row, c) for c in columns]
        if actions is not None:
            cells.append(html.Td(actions(row), className="actions"))
        return html.Tr(cells, **marked)

    extra: dict[str, Any] = {"id": table_id} if table_id else {}
    if not rows:
        return html.Div(html.P(empty, className="muted"), **extra)
    return html.Div(
        html.Table(
            [
                html.Thead(html.Tr([html.Th(c) for c in (*columns, *((actions_header,) if actions else ()))])),
                html.Tbody([tr(row) for row in rows]),
            ],
            className="table",
        ),
        className="table-wrap",
        **extra,
    )


def _attention_item(item: dict[str, Any]) -> html.Li:
    acknowledged = bool(item["acknowledged"])
    if acknowledged:
        action: Any = html.Span(item["acknowledged"], className="muted flag-acknowledged-at")
    else:
        action = html.Button(
            "Acknowledge",
            id={"type": ids.LIVE_FLAG_ACK, "index": item["id"]},
            n_clicks=0,
            className="button button-small",
            title="Mark as seen; the flag stays listed until its condition clears",
        )
    css = f"flag flag-{item['severity'] if item['severity'] in SEVERITIES else 'info'}"
    data: dict[str, Any] = {"data-flag-id": str(item["id"])}  # the browser tests find a flag's row by it
    return html.Li(
        [
            html.Div(
                [
                    html.Div(
                        [
                            severity_badge(item["severity"]),
                            html.Strong(item["who"], className="flag-who"),
                            html.Span(item["rule"], className="flag-rule muted"),
                        ],
                        className="flag-head",
                    ),
                    html.Div(item["reason"], className="flag-reason"),
                    html.Div(f"{item['since']} · {item['frames']}", className="flag-meta muted"),
                ],
                className="flag-body",
            ),
            html.Div(action, className="flag-action"),
        ],
        className=f"{css} flag-muted" if acknowledged else css,
        **data,
    )


def attention_panel(items: Sequence[dict[str, Any]]) -> html.Div:
    """The live page's list of open flags (``tables.attention_items``), each with its Acknowledge button."""
    if not items:
        return html.Div(html.P(NO_FLAGS, className="muted"))
    return html.Div(html.Ul([_attention_item(item) for item in items], className="flags"))


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


def session_facts(session: ClassSession, *, tz: dt.tzinfo | None = None, now: dt.datetime | None = None,
                  state: str | None = None) -> html.P:
    """``started … · 45 min · room · source`` under a session's title (``state``: "interrupted" for one whose worker
    died, rather than "running")."""
    end = session.ended_at or now
    duration = fmt_duration((end - session.started_at).total_seconds()) if end else "—"
    parts = [f"started {fmt_datetime(session.started_at, tz)}", duration, session.classroom or "", session.layout,
             f"{session.mode} mode", session.source]
    if not session.per_student:
        parts.insert(5, "class totals only")
    if session.ended_at is None or state is not None:
        parts.insert(2, state or "running")
    return html.P(" · ".join(p for p in parts if p), className="muted facts")


# --- live: class mood, attendance, student cards ---------------------------------------------------------------------


def mood_indicator(mood: ClassMood | None) -> html.Div:
    """Positive / neutral / negative shares of the latest interval as one bar with numbers, and the trend of the
    mood score against the minutes before (arrow and change in percentage points)."""
    if mood is None:
        return html.Div(html.P("No intervals recorded yet.", className="muted"))
    now = mood.now
    groups = (("positive", "😊", now.positive), ("neutral", "😐", now.neutral), ("negative", "☹", now.negative))
    bar = html.Div(
        [
            html.Div(
                className=f"mood-segment mood-{name}",
                style={"width": f"{share * 100:.1f}%", "backgroundColor": MOOD_COLOURS[name]},
                title=f"{name} {share:.0%}",
            )
            for name, _emoji, share in groups
        ],
        className="mood-bar",
    )
    numbers = html.Div(
        [
            html.Div(
                [html.Span(emoji, className="mood-emoji"), html.Span(f"{share:.0%}", className="mood-share"), name],
                className=f"mood-group mood-group-{name}",
            )
            for name, emoji, share in groups
        ],
        className="mood-groups",
    )
    delta = mood.delta_points
    if delta is None:
        trend_text = "no earlier interval to compare with yet"
    else:
        trend_text = f"{delta:+.0f} pts against the {mood.window_min:g} minutes before"
    trend = html.Div(
        [html.Span(TREND_ARROWS[mood.trend], className=f"trend-arrow trend-{mood.trend}"), html.Span(trend_text)],
        className="mood-trend",
        title="change of the mood score: share positive minus share negative",
    )
    data: dict[str, Any] = {"data-trend": mood.trend}
    return html.Div([numbers, bar, trend], className="mood-indicator", **data)


def attendance_panel(info: dict[str, Any]) -> html.Div:
    """``9 of 12 expected`` seen in the latest interval, seen this session, and the roster students never seen."""
    expected = info["expected"]
    headline = f"{info['seen_now']}" + (f" of {expected}" if expected else "")
    children: list[Any] = [
        html.Div(
            [
                html.Div(
                    [html.Div(headline, className="stat-value"), html.Div("seen now", className="stat-label")],
                    className="stat",
                ),
                html.Div(
                    [
                        html.Div(str(info["seen_session"]), className="stat-value"),
                        html.Div("seen this session", className="stat-label"),
                    ],
                    className="stat",
                ),
            ],
            className="stats",
        )
    ]
    if not expected:
        children.append(html.P("No class size or roster was given for this session.", className="muted small"))
    if info["never_seen"]:
        children.append(
            html.Div(
                [
                    html.Span("On the roster, not seen yet: ", className="muted"),
                    html.Ul([html.Li(name) for name in info["never_seen"]], className="never-seen"),
                ]
            )
        )
    return html.Div(children)


def html_json(tag: str, children: Any = None, **props: Any) -> dict[str, Any]:
    """``html.<tag>(children, **props)`` in the JSON form Dash sends it in (what its ``to_plotly_json()`` returns);
    ``props`` may use ``class_name`` for ``className`` and ``data_x`` for ``data-x``.

    For the student cards, ~20 components per student and 12 of them the sparkline's bars: constructing a Dash
    component checks every argument against its list of props, ~20-40 us each, which made the cards a third of a
    fresh Live draw of a class of 40. The browser receives the same JSON; ``tests/unit/test_dashboard_builders.py``
    rebuilds the cards as Dash components from it (which checks every prop name) and compares."""
    named = {
        "className" if k == "class_name" else k.replace("_", "-") if k.startswith("data_") else k: v
        for k, v in props.items()
    }
    return {"props": {"children": children, **named}, "type": tag, "namespace": "dash_html_components"}


def _sparkline(spark: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """The student's recent intervals as small bars: height the dominant emotion's probability, colour the
    emotion; a gap where they were not seen."""
    bars = []
    for point in spark:
        if point is None:
            bars.append(html_json("Span", class_name="spark-bar spark-gap"))
            continue
        style = {
            "height": f"{max(point['p'], 0.15) * 100:.0f}%",
            "backgroundColor": EMOTION_COLOURS.get(point["emotion"], "#ccc"),
        }
        bars.append(html_json("Span", class_name="spark-bar", style=style, title=point["title"]))
    return html_json("Div", bars, class_name="sparkline")


def student_card(card_data: dict[str, Any]) -> dict[str, Any]:
    """One student's card (as :func:`html_json`): label (text), current emotion with emoji and colour, sparkline,
    flag badge, presence."""
    emotion = card_data["emotion"]
    colour = EMOTION_COLOURS.get(emotion, "#d1d5db")
    head: list[Any] = [html_json("Span", card_data["student"], class_name="student-label")]
    if card_data["flag"]:
        severity = card_data["flag"]
        css = f"badge badge-{severity}" if severity in SEVERITIES else "badge"  # as severity_badge()
        head.append(html_json("Span", "needs attention", class_name=css))
    body: list[Any] = [html_json("Div", head, class_name="student-head")]
    uncertain = bool(emotion and card_data.get("uncertain"))
    if uncertain:
        colour = "#d1d5db"  # no emotion colour for a reading the model is not sure of
    if emotion:
        now: list[Any] = (
            [
                html_json("Span", "❔", class_name="student-emoji"),
                html_json("Span", "uncertain", class_name="student-emotion student-uncertain"),
                html_json("Span", f"{emotion}? {card_data['confidence']}", class_name="muted"),
            ]
            if uncertain
            else [
                html_json("Span", EMOTION_EMOJI.get(emotion, ""), class_name="student-emoji"),
                html_json("Span", emotion, class_name="student-emotion"),
                html_json("Span", card_data["confidence"], class_name="muted"),
            ]
        )
        body.append(
            html_json("Div", now, class_name="student-now student-stale" if card_data.get("stale") else "student-now")
        )
        if card_data.get("stale"):
            body.append(html_json("Div", f"last seen {card_data['last_seen']}", class_name="muted small"))
    else:
        body.append(html_json("Div", "no face seen yet", class_name="student-now muted"))
    if card_data["presence"]:
        body.append(html_json("Span", card_data["presence"], class_name="presence"))
    body.append(_sparkline(card_data["spark"]))
    css = (
        "student-card"
        + (" student-flagged" if card_data["flag"] else "")
        + (" student-absent" if card_data["presence"] not in ("", "seen") else "")
    )
    return html_json(
        "Div", body, class_name=css, style={"borderTopColor": colour}, data_student=card_data["student"],
        data_emotion=emotion, data_uncertain=str(uncertain).lower(),
    )  # fmt: skip


def student_grid(cards: Sequence[dict[str, Any]]) -> html.Div:
    if not cards:
        return html.Div(html.P("No students seen yet.", className="muted"))
    cards_json: Any = [student_card(c) for c in cards]  # component JSON, which Dash sends on as it is
    return html.Div(cards_json, className="student-grid")


# --- notes ------------------------------------------------------------------------------------------------------------


def notes_form(input_id: str, button_id: str, message_id: str, *, placeholder: str) -> html.Div:
    """A one-line text box and a button to pin a note; the page's callback says where in time it goes."""
    return html.Div(
        [
            dcc.Input(
                id=input_id,
                type="text",
                placeholder=placeholder,
                maxLength=500,
                debounce=False,
                className="note-input",
            ),
            html.Button("Add note", id=button_id, n_clicks=0, className="button"),
            html.Div(id=message_id, className="note-message", role="status"),
        ],
        className="note-form",
    )


def notes_list(rows: Sequence[dict[str, str]], *, list_id: str) -> html.Div:
    """The notes as a text table (numbered as on the charts)."""
    return text_table(rows, NOTE_COLUMNS, table_id=list_id, empty="No notes yet.")
