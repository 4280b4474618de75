"""The attention-flag pieces of the dashboard without a browser or a database: the live list's items, the students
table's badges, the review table's rows, the timeline's shaded ranges, and the Settings form (``dashboard.rules``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from plotly.utils import PlotlyJSONEncoder

from dashboard import ids
from dashboard.colours import SEVERITY_COLOURS
from dashboard.components import NO_FLAGS, attention_panel, text_table
from dashboard.figures import flag_spans, timeline_figure
from dashboard.rules import (
    SEVERITIES,
    NumberField,
    form_sections,
    number_fields,
    parse_settings,
    rule_label,
    severity_rank,
)
from dashboard.tables import (
    CURRENT_COLUMNS,
    FLAG_COLUMNS,
    FLAG_MARK,
    attention_items,
    current_students,
    flag_rows,
    flagged_students,
    rows_fingerprint,
)
from db.emotions import EMOTIONS
from db.queries import FLAG_COLUMNS as QUERY_FLAG_COLUMNS
from db.settings import FlagSettings

pytestmark = pytest.mark.unit

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def flags(*rows: dict[str, Any]) -> pd.DataFrame:
    """A ``db.queries.session_flags``-shaped frame; each row gives what differs from an open Seat 1 info flag."""
    records = []
    for k, row in enumerate(rows, start=1):
        base = {
            "id": k,
            "student": "Seat 1",
            "rule": "sustained_negative",
            "start": minutes(0),
            "end": None,
            "severity": "info",
            "reason": "Seat 1: sad or angry in 7 of the last 10 minutes",
            "frames": 120,
            "acknowledged_at": None,
            "evidence": {},
        }
        records.append({**base, **row})
    frame = pd.DataFrame.from_records(records, columns=list(QUERY_FLAG_COLUMNS))
    for col in ("start", "end", "acknowledged_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def timeline(n: int, *, step_min: int = 1) -> pd.DataFrame:
    """``n`` one-minute intervals from T0 (counts do not matter for the ranges)."""
    starts = [minutes(k * step_min) for k in range(n)]
    frame = pd.DataFrame(
        {
            "interval_start": starts,
            "interval_end": [s + dt.timedelta(minutes=step_min) for s in starts],
            "students_seen": [2] * n,
            "frames_analysed": [60] * n,
            "frames_skipped": [0] * n,
            **{e: [1 if e == "happy" else 0] * n for e in EMOTIONS},
        }
    )
    frame["neutral"] = 1
    for col in ("interval_start", "interval_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def as_json(component: Any) -> str:
    return json.dumps(component.to_plotly_json(), cls=PlotlyJSONEncoder, ensure_ascii=False)


# --- the live "Needs attention" list ----------------------------------------------------------------------------


def test_attention_items_put_unacknowledged_and_severe_first_then_oldest() -> None:
    frame = flags(
        {"student": "Seat 2", "severity": "info", "start": minutes(1)},
        {"student": "Seat 3", "severity": "alert", "start": minutes(5)},
        {"student": "Seat 4", "severity": "alert", "start": minutes(2), "acknowledged_at": minutes(6)},
        {"student": None, "severity": "warning", "start": minutes(3)},
        {"student": "Seat 10", "severity": "alert", "start": minutes(4)},
        {"student": "Seat 9", "severity": "alert", "start": minutes(4)},
        {"student": "Seat 5", "severity": "alert", "end": minutes(7)},  # closed: not listed
    )
    items = attention_items(frame, now=minutes(8), tz=UTC)
    assert [i["who"] for i in items] == ["Seat 9", "Seat 10", "Seat 3", "Whole class", "Seat 2", "Seat 4"]
    assert [i["id"] for i in items] == [6, 5, 2, 4, 1, 3]


def test_attention_item_says_who_why_since_when_and_on_how_many_frames() -> None:
    frame = flags(
        {"student": None, "rule": "class_negative", "severity": "warning", "reason": "6 of 12 looked lost",
         "start": minutes(0), "frames": 1234},
        {"student": "<b>Ana</b>", "reason": "<b>Ana</b>: not visible", "frames": 1, "start": minutes(11.5),
         "acknowledged_at": minutes(11.75)},
    )  # fmt: skip
    whole, ana = attention_items(frame, now=minutes(12), tz=UTC)
    assert whole == {
        "id": 1,
        "who": "Whole class",
        "class_wide": True,
        "severity": "warning",
        "rule": "Class negative or confused",
        "reason": "6 of 12 looked lost",
        "since": "since 09:00:00 (12 min)",
        "frames": "based on 1,234 analysed frames",
        "acknowledged": "",
    }
    assert ana["who"] == "<b>Ana</b>" and ana["reason"] == "<b>Ana</b>: not visible"  # kept literally
    assert ana["since"] == "since 09:11:30 (under a minute)"
    assert ana["frames"] == "based on 1 analysed frame"
    assert ana["acknowledged"] == "Acknowledged at 09:11:45"


def test_attention_items_show_local_time() -> None:
    (item,) = attention_items(flags({}), now=minutes(3), tz=ZoneInfo("Europe/Berlin"))
    assert item["since"] == "since 10:00:00 (3 min)"


def test_attention_panel_renders_text_and_an_acknowledge_button_per_unacknowledged_flag() -> None:
    frame = flags(
        {"student": "<img src=x onerror=alert(1)>", "reason": "[x](http://evil) <script>", "severity": "alert"},
        {"student": "Seat 2", "acknowledged_at": minutes(1)},
    )
    panel = attention_panel(attention_items(frame, now=minutes(2), tz=UTC))
    first, second = panel.children.children
    assert first.className == "flag flag-alert" and second.className == "flag flag-info flag-muted"
    text = as_json(first)
    # plain string children: React renders them as text, never as HTML or markdown
    assert '"children": "<img src=x onerror=alert(1)>"' in text
    assert '"children": "[x](http://evil) <script>"' in text
    assert "Markdown" not in text and "dangerously" not in text
    button = first.children[1].children
    assert button.id == {"type": ids.LIVE_FLAG_ACK, "index": 1} and button.n_clicks == 0
    acknowledged = second.children[1].children  # no button any more: when it was acknowledged
    assert acknowledged.children == "Acknowledged at 09:01:00" and "Button" not in as_json(second)


def test_attention_panel_without_flags_says_so() -> None:
    assert NO_FLAGS in as_json(attention_panel([]))


def test_rows_fingerprint_changes_with_what_the_panel_says_only() -> None:
    items = attention_items(flags({}), now=minutes(3), tz=UTC)
    assert rows_fingerprint(items) == rows_fingerprint(
        attention_items(flags({}), now=minutes(3.5), tz=UTC)
    )  # same minute text
    assert rows_fingerprint(items) != rows_fingerprint(attention_items(flags({}), now=minutes(4), tz=UTC))
    acked = attention_items(flags({"acknowledged_at": minutes(2)}), now=minutes(3), tz=UTC)
    assert rows_fingerprint(items) != rows_fingerprint(acked)


# --- the students table's badge ---------------------------------------------------------------------------------


def test_flagged_students_keep_the_most_severe_open_flag_and_skip_class_wide_and_closed_ones() -> None:
    frame = flags(
        {"student": "Seat 1", "severity": "info"},
        {"student": "Seat 1", "severity": "alert"},
        {"student": "Seat 1", "severity": "warning"},
        {"student": "Seat 2", "severity": "alert", "end": minutes(3)},
        {"student": None, "severity": "alert"},
        {"student": "Seat 3", "severity": "warning"},
    )
    assert flagged_students(frame) == {"Seat 1": "alert", "Seat 3": "warning"}
    assert flagged_students(flags()) == {}


def latest(students: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "interval_start": [T0] * len(students),
            "interval_end": [minutes(1)] * len(students),
            "student": students,
            "frames_seen": [10] * len(students),
            "dominant": ["sad"] * len(students),
            **{f"p_{e}": [0.7 if e == "sad" else 0.05] * len(students) for e in EMOTIONS},
        }
    )


def test_students_table_marks_and_badges_flagged_rows_only() -> None:
    rows = current_students(latest(["<b>Ana</b>", "Seat 2"]), tz=UTC, flagged={"<b>Ana</b>": "alert"})
    assert rows[0][FLAG_MARK] == "alert" and FLAG_MARK not in rows[1]
    table = text_table(rows, CURRENT_COLUMNS, flag_column="Student")
    ana_row, seat2_row = table.children.children[1].children
    assert ana_row.className == "row-flagged" and getattr(seat2_row, "className", None) is None
    label, _space, badge = ana_row.children[0].children
    assert label == "<b>Ana</b>"  # the label stays a string child
    assert badge.children == "needs attention" and badge.className == "badge badge-alert"
    assert seat2_row.children[0].children == "Seat 2"


def test_students_table_without_a_flag_column_ignores_the_mark() -> None:
    rows = current_students(latest(["Seat 1"]), tz=UTC, flagged={"Seat 1": "alert"})
    (row,) = text_table(rows, CURRENT_COLUMNS).children.children[1].children
    assert row.children[0].children == "Seat 1"


# --- the review page's table ------------------------------------------------------------------------------------


def test_flag_rows_number_the_flags_and_say_open() -> None:
    frame = flags(
        {"student": None, "rule": "class_mood_drop", "severity": "warning", "end": minutes(5), "frames": 4321,
         "reason": "Class mood fell"},
        {"student": "Tile 1-2", "rule": "some_future_rule", "start": minutes(6)},
    )  # fmt: skip
    assert flag_rows(frame, tz=UTC) == [
        {
            "#": "1",
            "Student": "Whole class",
            "Rule": "Class mood drop",
            "Start": "09:00:00",
            "End": "09:05:00",
            "Severity": "warning",
            "Reason": "Class mood fell",
            "Frames": "4,321",
        },
        {
            "#": "2",
            "Student": "Tile 1-2",
            "Rule": "Some future rule",  # a rule this dashboard does not know yet still reads as words
            "Start": "09:06:00",
            "End": "open",
            "Severity": "info",
            "Reason": "Seat 1: sad or angry in 7 of the last 10 minutes",
            "Frames": "120",
        },
    ]
    assert list(flag_rows(frame)[0]) == list(FLAG_COLUMNS)
    assert flag_rows(flags()) == []


def test_severity_column_is_a_badge_and_an_unknown_severity_stays_neutral() -> None:
    rows = flag_rows(flags({"severity": "alert"}, {"severity": "<i>odd</i>"}), tz=UTC)
    body = text_table(rows, FLAG_COLUMNS, severity_columns=("Severity",)).children.children[1].children
    badges = [row.children[FLAG_COLUMNS.index("Severity")].children for row in body]
    assert [(b.children, b.className) for b in badges] == [("alert", "badge badge-alert"), ("<i>odd</i>", "badge")]


# --- the timeline's shaded ranges -------------------------------------------------------------------------------


def test_flag_spans_clip_to_the_charted_points_and_keep_table_numbers() -> None:
    frame = flags(
        {"start": minutes(2), "end": minutes(4), "severity": "warning"},  # inside
        {"start": minutes(-5), "end": minutes(1), "severity": "alert"},  # began before the first interval
        {"start": minutes(7), "end": None, "severity": "info"},  # open: runs to the last point (09:09)
        {"start": minutes(30), "end": minutes(40)},  # after the recording: left out
        {"start": minutes(9.5), "end": None},  # in the last interval: zero width at the last point
    )
    spans = flag_spans(frame, timeline(10), tz=UTC)
    got = [(s.number, s.x0.strftime("%H:%M:%S"), s.x1.strftime("%H:%M:%S"), s.severity) for s in spans]
    assert got == [
        (1, "09:02:00", "09:04:00", "warning"),
        (2, "09:00:00", "09:01:00", "alert"),
        (3, "09:07:00", "09:09:00", "info"),
        (5, "09:09:00", "09:09:00", "info"),
    ]
    assert all(s.x0.tzinfo is None for s in spans)  # naive local wall-clock, like the traces' x


def test_flag_spans_are_in_the_given_local_zone() -> None:
    (span,) = flag_spans(flags({"start": minutes(2), "end": minutes(3)}), timeline(5), tz=ZoneInfo("Europe/Berlin"))
    assert span.x0 == pd.Timestamp("2026-03-02 10:02") and span.x1 == pd.Timestamp("2026-03-02 10:03")


@pytest.mark.parametrize("frame", [flags(), None])
def test_timeline_without_flags_has_no_shapes(frame: pd.DataFrame | None) -> None:
    assert timeline_figure(timeline(5), tz=UTC, flags=frame).layout.shapes == ()


def test_timeline_draws_each_flag_as_a_numbered_vrect_in_its_severity_colour_above_the_areas() -> None:
    frame = flags(
        {"student": "<b>Ana</b>", "start": minutes(1), "end": minutes(3), "severity": "alert"},
        {"student": None, "start": minutes(2), "end": None, "severity": "warning"},
    )
    fig = timeline_figure(timeline(6), tz=UTC, uirevision=3, flags=frame)
    assert [t.name for t in fig.data] == list(EMOTIONS)  # the ranges are shapes, not extra traces
    first, second = fig.layout.shapes
    assert (first.type, first.xref, first.yref, first.y0, first.y1) == ("rect", "x", "y domain", 0, 1)
    assert (pd.Timestamp(first.x0), pd.Timestamp(first.x1)) == (pd.Timestamp("2026-03-02 09:01"),
                                                                 pd.Timestamp("2026-03-02 09:03"))  # fmt: skip
    assert pd.Timestamp(second.x1) == pd.Timestamp("2026-03-02 09:05")
    assert first.layer == "above"  # the stacked areas fill the plot: below them it would be invisible
    assert first.line.color == SEVERITY_COLOURS["alert"] and second.line.color == SEVERITY_COLOURS["warning"]
    assert first.fillcolor.startswith("rgba(185,28,28,")
    # only the flag's number is written into the chart, never a student label Plotly would parse for tags
    assert [s.label.text for s in fig.layout.shapes] == ["1", "2"]
    assert fig.layout.uirevision == 3


def test_timeline_of_no_intervals_ignores_flags() -> None:
    fig = timeline_figure(timeline(0), tz=UTC, flags=flags({}))
    assert fig.layout.shapes == () and "No intervals" in fig.layout.annotations[0].text


# --- rules and the Settings form --------------------------------------------------------------------------------


def test_severity_rank_orders_info_warning_alert_and_tolerates_the_unknown() -> None:
    assert [severity_rank(s) for s in SEVERITIES] == [0, 1, 2]
    assert severity_rank("bogus") == 0


@pytest.mark.parametrize(
    ("rule", "label"),
    [("sustained_negative", "Sustained negative mood"), ("not_visible", "Not visible"), ("new_rule", "New rule")],
)
def test_rule_label(rule: str, label: str) -> None:
    assert rule_label(rule) == label


def test_form_covers_every_setting_with_the_models_bounds() -> None:
    settings = FlagSettings()
    rules, top = form_sections(settings)
    rule_fields = {name for name, f in FlagSettings.model_fields.items() if f.annotation not in (int, float)}
    assert [r.key for r in rules] == [n for n in FlagSettings.model_fields if n in rule_fields]
    assert [f.key for f in top] == ["min_duration_min", "cooldown_min", "min_frames", "min_seen_share", "min_seen_min"]
    for section in rules:
        assert section.enabled is True and section.label and section.help
        model = getattr(settings, section.key)
        assert {f.key for f in section.fields} == {f"{section.key}.{n}" for n in type(model).model_fields} - {
            f"{section.key}.enabled"
        }
    fields = {f.key: f for r in rules for f in r.fields} | {f.key: f for f in top}
    threshold = fields["sustained_negative.threshold"]
    assert (threshold.minimum, threshold.exclusive_minimum, threshold.maximum, threshold.default) == (0, True, 1, 0.6)
    assert threshold.label == "Share of negative intervals that raises the flag"
    assert fields["min_frames"].integer and not fields["cooldown_min"].integer
    assert fields["cooldown_min"].label.endswith("(minutes)")  # the unit is in the key only, so it is added


def test_form_is_filled_with_the_given_settings() -> None:
    custom = FlagSettings.model_validate({"not_visible": {"enabled": False, "minutes": 7}, "min_frames": 25})
    rules, top = form_sections(custom)
    not_visible = next(r for r in rules if r.key == "not_visible")
    assert not not_visible.enabled and not_visible.fields[0].default == 7
    assert next(f for f in top if f.key == "min_frames").default == 25


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (NumberField("a", "A", 1, minimum=1, maximum=120), "from 1 to 120"),
        (NumberField("a", "A", 1, minimum=0, maximum=1, exclusive_minimum=True), "above 0, up to 1"),
        (NumberField("a", "A", 1, minimum=0.5, maximum=60), "from 0.5 to 60"),
        (NumberField("a", "A", 1, minimum=0, maximum=1, exclusive_maximum=True), "from 0, below 1"),
        (NumberField("a", "A", 1, minimum=1), "from 1"),
        (NumberField("a", "A", 1), "any value"),
    ],
)
def test_bounds_in_words(field: NumberField, text: str) -> None:
    assert field.bounds() == text


@pytest.mark.parametrize(
    ("key", "whole_steps"),
    [("sustained_negative.threshold", False), ("class_mood_drop.drop", False), ("not_visible.minutes", True),
     ("class_negative.window_min", True), ("min_frames", True), ("min_duration_min", True)],
)  # fmt: skip
def test_whole_steps_only_where_a_step_of_one_stays_useful(key: str, whole_steps: bool) -> None:
    (field,) = [f for f in number_fields() if f.key == key]
    assert field.whole_steps is whole_steps


def form_values(settings: FlagSettings) -> tuple[dict[str, Any], dict[str, bool]]:
    rules, top = form_sections(settings)
    numbers = {f.key: f.default for r in rules for f in r.fields} | {f.key: f.default for f in top}
    return numbers, {r.key: r.enabled for r in rules}


def test_parse_settings_round_trips_the_form() -> None:
    numbers, enabled = form_values(FlagSettings())
    numbers["sustained_negative.threshold"] = 0.75
    enabled["baseline_shift"] = False
    settings, errors = parse_settings(numbers, enabled)
    assert errors == {} and settings is not None
    expected = FlagSettings().model_dump()
    expected["sustained_negative"]["threshold"] = 0.75
    expected["baseline_shift"]["enabled"] = False
    assert settings.model_dump() == expected  # the two changes and nothing else


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("sustained_negative.threshold", 1.5, "Input should be less than or equal to 1."),
        ("sustained_negative.threshold", 0, "Input should be greater than 0."),
        ("not_visible.minutes", 0.1, "Input should be greater than or equal to 0.5."),
        ("min_frames", 10.5, "Input should be a valid integer, got a number with a fractional part."),
        # what dcc.Input sends for an empty box or one the browser finds outside min/max
        ("baseline_shift.recent_min", None, "Enter a number from 1 to 60."),
        ("min_frames", None, "Enter a whole number from 1 to 10000."),
        ("class_mood_drop.drop", float("nan"), "Enter a number above 0, up to 2."),
    ],
)
def test_parse_settings_names_the_bad_field_with_a_message(key: str, value: Any, message: str) -> None:
    numbers, enabled = form_values(FlagSettings())
    numbers[key] = value
    settings, errors = parse_settings(numbers, enabled)
    assert settings is None
    assert errors == {key: message}


def test_parse_settings_reports_every_bad_field_at_once() -> None:
    numbers, enabled = form_values(FlagSettings())
    numbers |= {"cooldown_min": -1, "class_negative.window_min": None}
    settings, errors = parse_settings(numbers, enabled)
    assert settings is None and set(errors) == {"cooldown_min", "class_negative.window_min"}
