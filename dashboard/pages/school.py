"""School overview (``/school``): every classroom at a glance, rooms needing a look first, each opening its Live page.

One row per classroom (the ``--classroom`` label; sessions without one grouped as "unassigned") with the session it
shows (running, else the latest), its state, the class mood now, students seen against expected, open flags, the
source, the analysis lag and the last update. An admin sees every room, a teacher their own sessions' rooms
(``teacher_scope``). One query (``db.queries.school_overview``) per poll; the states and their order are judged in
``dashboard.school``; the overview read is shared for ``SCHOOL_TTL_S`` by the viewers of one scope in one process
(``dashboard.shared_cache``), and the page built from it, as plain JSON, for the second of the clock. Everything
typed by people (room labels, session titles) is shown as text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pandas as pd
from dash import Input, Output, callback, dcc, html, no_update, register_page
from plotly.io.json import to_json_plotly
from sqlalchemy.exc import SQLAlchemyError

from dashboard import ids
from dashboard.access import teacher_scope
from dashboard.colours import MOOD_COLOURS
from dashboard.components import MONITOR_COMMAND
from dashboard.data import read_session, shared_cache
from dashboard.mood import MoodShares
from dashboard.school import room_rows, school_summary
from db.queries import school_overview

register_page(__name__, path="/school", name="School", title="ClassMood · School", order=1)

log = logging.getLogger(__name__)

REFRESH_MS = 5000
# How long one process reuses an overview for every viewer of the same scope: a change (a new interval, a flag, a
# room starting) is on every poll from SCHOOL_TTL_S after its commit, well within one 5-s refresh of anyone's page.
SCHOOL_TTL_S = 2.0
PAGE_TTL_S = 1.0  # the page built from it, per second of the clock (its lags and ages are stated in seconds)
COLUMNS = ("Classroom", "State", "Mood now", "Students", "Open flags", "Source", "Lag", "Last update")
MOOD_EMOJI = {"positive": "😊", "neutral": "😐", "negative": "☹"}


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id=ids.SCHOOL_INTERVAL, interval=REFRESH_MS, n_intervals=0),
            html.H1("School"),
            html.P(
                "Every classroom's running (or latest) class, rooms that need a look first. Open a room for its "
                f"Live page. Updates every {REFRESH_MS // 1000} s.",
                className="muted",
            ),
            html.P(id=ids.SCHOOL_SUMMARY, className="facts"),
            html.Div(id=ids.SCHOOL_ROOMS, children=html.P("Loading…", className="muted")),
        ]
    )


def mood_cell(mood: MoodShares | None) -> Any:
    """The three shares as text over a thin positive / neutral / negative bar, or why there is none.

    One component per cell (the bar is the cell's CSS gradient, not three nested divs): 100 rooms polled by 20
    viewers make component count the page's main cost."""
    if mood is None:
        return html.Span("no interval yet", className="muted")
    if mood.students == 0:
        return html.Span("nobody seen", className="muted")
    cut1, cut2 = mood.positive * 100, (mood.positive + mood.neutral) * 100
    colours = MOOD_COLOURS
    gradient = (
        f"linear-gradient(to right, {colours['positive']} {cut1:.1f}%, {colours['neutral']} {cut1:.1f}% "
        f"{cut2:.1f}%, {colours['negative']} {cut2:.1f}%)"
    )
    shares = (("positive", mood.positive), ("neutral", mood.neutral), ("negative", mood.negative))
    text = " ".join(f"{MOOD_EMOJI[name]} {share:.0%}" for name, share in shares)
    return html.Div(
        text, className="room-mood-text", style={"--mood-bar": gradient}, title="positive, neutral, negative"
    )


def room_table(rows: list[dict[str, Any]]) -> html.Div:
    def tr(row: dict[str, Any]) -> html.Tr:
        who = " · ".join(p for p in (row["session"], row["teacher"]) if p)
        return html.Tr(
            [
                html.Td(
                    [
                        dcc.Link(row["classroom"], href=row["href"], className="room-name"),
                        html.Div(who, className="room-session"),
                    ]
                ),
                html.Td(row["state_label"], className=f"room-state room-state-{row['state']}"),
                html.Td(mood_cell(row["mood"]), className="room-mood"),
                html.Td(row["seen"]),
                html.Td(row["flags"]),
                html.Td(row["source"]),
                html.Td(row["lag"]),
                html.Td(row["updated"]),
            ],
            className="room-row",
            **{"data-state": row["state"], "data-classroom": row["classroom"]},
        )

    return html.Div(
        html.Table(
            [html.Thead(html.Tr([html.Th(c) for c in COLUMNS])), html.Tbody([tr(r) for r in rows])],
            className="table school-table",
        ),
        className="table-wrap",
    )


@callback(
    Output(ids.SCHOOL_SUMMARY, "children"),
    Output(ids.SCHOOL_ROOMS, "children"),
    Input(ids.SCHOOL_INTERVAL, "n_intervals"),
)
def refresh(_n: int | None) -> tuple[Any, Any]:
    now = dt.datetime.now(dt.UTC)
    scope = teacher_scope()  # per viewer: the cache key carries it, so a teacher only gets an overview of theirs

    def read() -> pd.DataFrame:
        with read_session() as s:
            return school_overview(s, scope)

    try:
        # the head and every admin polling /school share one read a second per process (the rows are judged
        # against the time now below, per request)
        overview = shared_cache().get(("school", scope), read, SCHOOL_TTL_S)
    except SQLAlchemyError as exc:
        log.warning("school overview failed: %s", exc)
        return html.Span("The database cannot be read right now; retrying…", className="error"), no_update
    # the page as JSON, built once a second per scope and process: 20 viewers of a 100-room school opening it
    # together used to build and serialise 1,200 components each (~16 ms of CPU a request, ~1 ms as plain JSON);
    # the overview in it is the one above, the times it states are at most a second older than the request
    return shared_cache().get(("school-page", scope, int(now.timestamp())), lambda: _page(overview, now), PAGE_TTL_S)


def _page(overview: pd.DataFrame, now: dt.datetime) -> tuple[Any, Any]:
    """The summary line and the rooms (or how to start), as plain JSON: what Dash sends, serialised once."""

    def sent(component: Any) -> Any:
        return json.loads(to_json_plotly(component))

    rows = room_rows(overview, now)
    if not rows:
        empty = html.Div(
            [
                html.P("No class sessions yet. Start a worker per classroom, labelled with its room:"),
                html.Pre(html.Code(f'{MONITOR_COMMAND} --classroom "Room 12"')),
            ]
        )
        return "", sent(empty)
    return school_summary(rows), sent(room_table(rows))
