"""The pure pieces behind the issue-4 pages: class mood and its trend, student cards, attendance, notes, the
heatmap, one student's charts, Compare's figures, and the small parsers, without a browser or a database."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from dash import html
from dash._utils import to_json

from dashboard.colours import EMOTION_COLOURS, EMOTION_EMOJI
from dashboard.components import html_json, student_card, student_grid
from dashboard.figures import (
    ComparedSession,
    compare_distribution_figure,
    compare_timeline_figure,
    heatmap_figure,
    note_shapes,
    plotly_text,
    probabilities_figure,
    student_figure,
    timeline_figure,
)
from dashboard.formatting import date_bounds, parse_clock, parse_ids
from dashboard.mood import MOOD_GROUPS, MoodShares, class_mood, mood_series
from dashboard.tables import attendance, mood_text, note_rows, student_cards
from db.emotions import EMOTIONS, NEGATIVE
from db.queries import NOTE_COLUMNS, STUDENT_COLUMNS

pytestmark = pytest.mark.unit

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
STEP = dt.timedelta(seconds=60)


def timeline(rows: list[dict[str, int]]) -> pd.DataFrame:
    """A class_timeline-shaped frame, one minute per row; each row gives emotion counts (students_seen = sum)."""
    records = []
    for k, row in enumerate(rows):
        start = T0 + k * STEP
        counts = {e: row.get(e, 0) for e in EMOTIONS}
        records.append(
            {"interval_start": start, "interval_end": start + STEP, "students_seen": sum(counts.values()),
             "frames_analysed": 120, "frames_skipped": 0, **counts}
        )  # fmt: skip
    columns = ["interval_start", "interval_end", "students_seen", "frames_analysed", "frames_skipped", *EMOTIONS]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for col in ("interval_start", "interval_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def students(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """A student_intervals-shaped frame from (interval index, student, dominant); 0.6 for the dominant emotion."""
    records = []
    for k, student, dominant in rows:
        start = T0 + k * STEP
        probs = {f"p_{e}": 0.6 if e == dominant else 0.4 / 6 for e in EMOTIONS}
        records.append((start, start + STEP, student, 50, dominant, *probs.values()))
    frame = pd.DataFrame.from_records(records, columns=list(STUDENT_COLUMNS))
    for col in ("interval_start", "interval_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def notes(rows: list[tuple[int, str]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(
        [(n, T0 + k * STEP, text, None, T0) for n, (k, text) in enumerate(rows, start=1)], columns=list(NOTE_COLUMNS)
    )
    for col in ("at", "created_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


# --- mood -------------------------------------------------------------------------------------------------------------


def test_mood_groups_cover_every_emotion_once() -> None:
    members = [e for group in MOOD_GROUPS.values() for e in group]
    assert sorted(members) == sorted(EMOTIONS)
    assert set(MOOD_GROUPS["negative"]) == NEGATIVE and MOOD_GROUPS["positive"] == ("happy",)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"happy": 2, "neutral": 1, "sad": 1}, (0.5, 0.25, 0.25, 4)),
        ({"surprise": 3}, (0.0, 1.0, 0.0, 3)),  # surprise alone says nothing about how the class feels
        ({"angry": 1, "disgust": 1, "fear": 1, "sad": 1}, (0.0, 0.0, 1.0, 4)),
        ({}, (0.0, 0.0, 0.0, 0)),  # nobody seen: zeros, not a division error
    ],
)
def test_mood_shares_from_counts(counts: dict[str, int], expected: tuple[float, float, float, int]) -> None:
    shares = MoodShares.from_counts(counts)
    assert (shares.positive, shares.neutral, shares.negative, shares.students) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rows", "trend", "delta"),
    [
        # the last minute against the 5 before it: from all neutral to half happy is up 50 points
        ([{"neutral": 4}] * 5 + [{"happy": 2, "neutral": 2}], "up", 50.0),
        ([{"happy": 4}] * 5 + [{"happy": 2, "sad": 2}], "down", -100.0),
        ([{"happy": 20, "neutral": 20}] * 5 + [{"happy": 21, "neutral": 19}], "steady", 2.5),  # under 5 points
        ([{"happy": 1}], "steady", None),  # nothing earlier to compare with
    ],
)
def test_class_mood_trend(rows: list[dict[str, int]], trend: str, delta: float | None) -> None:
    mood = class_mood(timeline(rows), window_min=5)
    assert mood is not None and mood.trend == trend
    if delta is None:
        assert mood.delta_points is None and mood.before is None
    else:
        assert mood.delta_points == pytest.approx(delta)


def test_class_mood_window_leaves_out_older_intervals() -> None:
    """Only the 2 minutes before the latest interval count: a sad start of the lesson is not the trend now."""
    rows = [{"sad": 4}] * 5 + [{"neutral": 4}] * 2 + [{"neutral": 4}]
    mood = class_mood(timeline(rows), window_min=2)
    assert mood is not None and mood.before is not None and mood.before.negative == 0
    assert mood.trend == "steady"
    assert class_mood(timeline([])) is None


def test_mood_series_measures() -> None:
    frame = timeline([{"happy": 2, "sad": 1, "neutral": 1}, {}])
    assert mood_series(frame, "score") == pytest.approx([0.25, 0.0])
    assert mood_series(frame, "negative") == pytest.approx([0.25, 0.0])
    assert mood_series(frame, "neutral") == pytest.approx([0.25, 0.0])
    assert mood_series(frame, "happy") == pytest.approx([0.5, 0.0])
    with pytest.raises(ValueError, match="unknown measure"):
        mood_series(frame, "joy")


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ({"happy": 1, "neutral": 2, "sad": 1}, "😊 25% · 😐 50% · ☹ 25%"),
        ({}, "—"),
        (None, "—"),
    ],
)
def test_mood_text(counts: dict[str, int] | None, text: str) -> None:
    assert mood_text(counts) == text


# --- live cards and attendance ------------------------------------------------------------------------------------------


def test_student_cards_current_emotion_sparkline_flag_and_presence() -> None:
    recent = students([(0, "Seat 10", "happy"), (0, "Seat 2", "sad"), (1, "Seat 2", "fear"), (2, "Seat 2", "angry")])
    latest = students([(0, "Seat 10", "happy"), (2, "Seat 2", "angry")])
    cards = student_cards(
        latest, recent, flagged={"Seat 2": "alert"}, presence={"Seat 10": "camera_off", "Seat 7": "face_not_visible"},
        tz=UTC,
    )  # fmt: skip
    assert [c["student"] for c in cards] == ["Seat 2", "Seat 7", "Seat 10"]  # natural order, Seat 7 has no face yet
    seat2, seat7, seat10 = cards
    assert (seat2["emotion"], seat2["confidence"], seat2["flag"], seat2["stale"]) == ("angry", "60%", "alert", False)
    assert [p["emotion"] for p in seat2["spark"]] == ["sad", "fear", "angry"]
    assert seat2["spark"][0]["title"] == "09:00:00 sad 60%"
    assert seat10["spark"][0]["emotion"] == "happy" and seat10["spark"][1:] == [None, None]  # not seen since
    assert (seat10["presence"], seat10["stale"], seat10["last_seen"]) == ("camera off", True, "09:01:00")
    assert (seat7["emotion"], seat7["presence"], seat7["spark"]) == ("", "face not visible", [None, None, None])


@pytest.mark.parametrize(("p", "uncertain"), [(0.6, False), (0.5, False), (0.49, True), (0.3, True)])
def test_a_low_confidence_reading_is_uncertain_on_its_card(p: float, uncertain: bool) -> None:
    """Issue 11: a portrait read as angry 41% showed as a confident angry face; under one half it says uncertain."""
    latest = students([(0, "Seat 1", "angry")])
    latest["p_angry"] = p
    (card,) = student_cards(latest, latest, tz=UTC)
    assert card["uncertain"] is uncertain and card["emotion"] == "angry"
    shown = student_card(card)
    text = str(shown["props"]["children"])
    assert ("'uncertain'" in text) is uncertain and ("angry?" in text) is uncertain
    assert shown["props"]["data-uncertain"] == str(uncertain).lower()


def _as_components(node: Any) -> Any:
    """A :func:`dashboard.components.html_json` tree rebuilt as Dash components (which checks every prop name)."""
    if isinstance(node, list):
        return [_as_components(n) for n in node]
    if isinstance(node, dict) and node.get("namespace") == "dash_html_components":
        props = dict(node["props"])
        return getattr(html, node["type"])(**{**props, "children": _as_components(props.get("children"))})
    return node


@pytest.mark.parametrize(
    ("flag", "presence", "p", "stale"),
    [("", "", 0.8, False), ("alert", "camera_off", 0.3, True), ("odd", "face_not_visible", 0.6, False)],
)
def test_student_cards_sent_as_json_are_valid_dash_components(flag: str, presence: str, p: float, stale: bool) -> None:
    """The cards are built as the JSON Dash would send (``html_json``: constructing ~20 components per student was a
    third of a fresh Live draw); rebuilt as real components the JSON must be identical, and an unknown prop raise."""
    recent = students([(0, "Seat 1", "sad"), (1, "Seat 2", "happy"), (2, "Seat 2", "angry")])
    latest = students([(0, "Seat 1", "sad"), (2, "Seat 2", "angry")])
    latest["p_angry"] = p
    cards = student_cards(latest, recent, flagged={"Seat 2": flag}, presence={"Seat 2": presence}, tz=UTC)
    assert cards[0]["stale"] is True and cards[1]["stale"] is False
    grid = student_grid(cards if stale else cards[1:])
    assert json.loads(to_json(grid)) == json.loads(to_json(_as_components(grid.to_plotly_json())))
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        _as_components(html_json("Span", "x", colour="red"))


def test_every_emotion_has_an_emoji() -> None:
    assert tuple(EMOTION_EMOJI) == EMOTIONS and len(set(EMOTION_EMOJI.values())) == len(EMOTIONS)


@pytest.mark.parametrize(
    ("expected_students", "roster", "want_expected", "never_seen"),
    [
        (None, [], None, []),
        (None, ["Seat 1", "Seat 2", "Seat 10", "Seat 3"], 4, ["Seat 3", "Seat 10"]),
        (30, ["Seat 1"], 30, []),  # the session's class size wins over a shorter roster
    ],
)
def test_attendance(expected_students: int | None, roster: list[str], want_expected: int | None,
                    never_seen: list[str]) -> None:  # fmt: skip
    info = attendance(
        1, ["Seat 1", "Seat 1"], roster=roster, expected=expected_students, presence={"Seat 2": "camera_off"}
    )
    assert info == {"seen_now": 1, "seen_session": 1, "expected": want_expected, "never_seen": never_seen}


# --- notes ------------------------------------------------------------------------------------------------------------


def test_plotly_text_escapes_markup_and_shortens() -> None:
    assert plotly_text("<b>Ana</b> & co") == "&lt;b&gt;Ana&lt;/b&gt; &amp; co"
    assert plotly_text("a" * 30, 10) == "a" * 9 + "…"


def test_note_shapes_are_dashed_lines_with_escaped_labels_in_local_time() -> None:
    shapes = note_shapes(notes([(2, "quiz <i>started</i>")]), tz=ZoneInfo("Europe/Berlin"))
    (shape,) = shapes
    assert shape["type"] == "line" and shape["yref"] == "paper" and shape["line"]["dash"] == "dash"
    assert shape["x0"] == shape["x1"] == "2026-01-15T10:02:00"  # 09:02 UTC is 10:02 in Berlin
    assert shape["label"]["text"] == "✎ quiz &lt;i&gt;started&lt;/i&gt;" and shape["name"] == "note 1"
    assert note_shapes(notes([])) == []


def test_notes_go_on_the_timeline_next_to_flag_ranges() -> None:
    fig = timeline_figure(timeline([{"happy": 1}] * 4), tz=UTC, notes=notes([(1, "a"), (3, "b")]))
    assert [s.name for s in fig.layout.shapes] == ["note 1", "note 2"]


def test_note_rows_are_numbered_text() -> None:
    assert note_rows(notes([(0, "<b>x</b>")]), tz=UTC) == [
        {"#": "1", "Time": "09:00:00", "Note": "<b>x</b>", "Author": ""}
    ]


# --- review charts ------------------------------------------------------------------------------------------------------


def test_heatmap_rows_are_students_in_the_given_order_and_cells_the_emotion_index() -> None:
    grid = students([(0, "Seat 2", "happy"), (0, "<b>Ana</b>", "sad"), (1, "Seat 2", "fear")])
    fig = heatmap_figure(grid[["interval_start", "student", "dominant"]], ["Seat 2", "<b>Ana</b>"], tz=UTC,
                         notes=notes([(1, "quiz")]))  # fmt: skip
    (trace,) = fig.data
    happy, sad, fear = (EMOTIONS.index(e) for e in ("happy", "sad", "fear"))
    z = [[None if np.isnan(v) else int(v) for v in row] for row in trace.z]
    assert z == [[happy, fear], [sad, None]]  # blank (NaN) where not seen
    assert [list(row) for row in trace.customdata] == [["happy", "fear"], ["sad", ""]]
    assert list(fig.layout.yaxis.ticktext) == ["Seat 2", "&lt;b&gt;Ana&lt;/b&gt;"]  # drawn as typed
    assert fig.layout.yaxis.autorange == "reversed"  # first student on top
    # each emotion index maps onto exactly its colour
    scale = {round(stop, 6): colour for stop, colour in trace.colorscale}
    for i, emotion in enumerate(EMOTIONS):
        assert scale[round(i / len(EMOTIONS), 6)] == EMOTION_COLOURS[emotion]
    assert [s.name for s in fig.layout.shapes] == ["note 1"]
    assert not heatmap_figure(grid.iloc[0:0], []).data


def test_student_figures() -> None:
    rows = students([(0, "Seat 1", "happy"), (1, "Seat 1", "sad")])
    fig = student_figure(rows, tz=UTC, notes=notes([(1, "x")]))
    assert [t.name for t in fig.data] == list(EMOTIONS)
    assert list(fig.data[EMOTIONS.index("happy")].y) == pytest.approx([0.6, 0.4 / 6])
    assert [s.name for s in fig.layout.shapes] == ["note 1"]
    (bars,) = probabilities_figure(rows).data
    assert list(bars.y) == pytest.approx([(0.6 + 0.4 / 6) / 2 if e in ("happy", "sad") else 0.4 / 6 for e in EMOTIONS])
    assert not student_figure(rows.iloc[0:0]).data and not probabilities_figure(rows.iloc[0:0]).data


# --- compare ----------------------------------------------------------------------------------------------------------


def test_compare_figures_put_sessions_side_by_side_on_lesson_time() -> None:
    first = ComparedSession("Maths <3B>", T0, timeline([{"happy": 2}, {"sad": 2}]))
    later = ComparedSession("Art", T0 - dt.timedelta(seconds=30), timeline([{"neutral": 1}]))
    empty = ComparedSession("Nothing yet", T0, timeline([]))
    bars = compare_distribution_figure([first, later, empty])
    assert [t.name for t in bars.data] == ["Maths &lt;3B&gt;", "Art"]  # escaped; a session with no data left out
    assert list(bars.data[0].y) == pytest.approx([0.5 if e in ("happy", "sad") else 0 for e in EMOTIONS])
    lines = compare_timeline_figure([first, later], "score")
    assert list(lines.data[0].x) == [0.0, 1.0]  # minutes since that session's start
    assert list(lines.data[1].x) == [0.5]  # its first interval began 30 s after it started
    assert list(lines.data[0].y) == pytest.approx([1.0, -1.0])
    assert not compare_timeline_figure([empty]).data and not compare_distribution_figure([]).data


# --- parsers ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:41", dt.datetime(2026, 1, 15, 9, 41, tzinfo=UTC)),
        ("9:41:30", dt.datetime(2026, 1, 15, 9, 41, 30, tzinfo=UTC)),
        ("00:10", dt.datetime(2026, 1, 16, 0, 10, tzinfo=UTC)),  # a lesson across midnight: the next day
        ("08:30", dt.datetime(2026, 1, 15, 8, 30, tzinfo=UTC)),  # a little before the start: the same day
        ("24:00", None),
        ("9.41", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_clock(text: str, expected: dt.datetime | None) -> None:
    assert parse_clock(text, dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC), tz=UTC) == expected


def test_parse_clock_reads_the_local_time() -> None:
    got = parse_clock("10:41", dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC), tz=ZoneInfo("Europe/Berlin"))
    assert got == dt.datetime(2026, 1, 15, 9, 41, tzinfo=UTC)


@pytest.mark.parametrize(("text", "ids"), [("3,7", [3, 7]), (" 7, x,3,7 ", [7, 3]), ("", []), (None, []),
                                           ("1,2,3,4,5,6,7,8", [1, 2, 3, 4, 5, 6])])  # fmt: skip
def test_compare_ids_from_the_query(text: str | None, ids: list[int]) -> None:
    assert parse_ids(text, 6) == ids


def test_date_bounds_cover_whole_local_days() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    since, until = date_bounds("2026-01-15", "2026-01-16", tz=berlin)
    assert since == dt.datetime(2026, 1, 14, 23, 0, tzinfo=UTC) and until == dt.datetime(2026, 1, 16, 23, 0, tzinfo=UTC)
    assert date_bounds(None, "not a date", tz=berlin) == (None, None)
