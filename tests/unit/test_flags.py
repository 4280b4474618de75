"""The attention-flag rules engine on synthetic sessions of 10-second intervals.

A session is written as one string per student, one character per interval: ``h`` happy, ``s`` sad, ``a`` angry,
``f`` fear, ``d`` disgust, ``u`` surprise, ``n`` neutral, ``-`` absent. Expected events are
``(observed_at, kind, rule, student, start, end)`` with times as interval indices (``i`` = T0 + 10 s * i) and
``observed_at`` the index of the interval whose ``observe`` returned the event, or ``"finish"``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import pytest

from db.emotions import EMOTIONS
from db.settings import FlagSettings
from monitor.aggregate import IntervalAggregate, StudentAggregate
from monitor.flags import RULES, FlagEngine, FlagEvent, js_distance, severity_for

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=10)
CODES = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "s": "sad", "u": "surprise", "n": "neutral"}
S1, S2 = "Seat 1", "Seat 2"
Brief = tuple[int | str, str, str, str | None, float, float | None]


def probs(dominant: str) -> tuple[float, ...]:
    return tuple(0.7 if e == dominant else 0.05 for e in EMOTIONS)


def certain(dominant: str) -> tuple[float, ...]:
    """A reading without doubt: the expected share of negative expression is then the share of negative intervals."""
    return tuple(1.0 if e == dominant else 0.0 for e in EMOTIONS)


def at(i: float) -> dt.datetime:
    return T0 + i * STEP


def build(
    students: Mapping[str, str],
    *,
    frames: int = 20,
    dark: Collection[int] = (),
    missing: Collection[int] = (),
    reading: Callable[[str], tuple[float, ...]] = probs,
) -> list[IntervalAggregate]:
    """Back-to-back 10 s intervals; ``dark`` ones analysed no frame (all skipped), ``missing`` ones were not stored
    (the source was offline throughout), so session time jumps over them."""
    n = max(len(p) for p in students.values())
    out = []
    for i in range(n):
        if i in missing:
            continue
        seen = tuple(
            StudentAggregate(name, frames, reading(CODES[p[i]]))
            for name, p in students.items()
            if i < len(p) and p[i] != "-" and i not in dark
        )
        analysed = 0 if i in dark else frames
        out.append(IntervalAggregate(at(i), at(i + 1), analysed, 5 if i in dark else 0, seen))
    return out


def settings(*enabled: str, **overrides: Any) -> FlagSettings:
    """Only ``enabled`` rules on; no hysteresis and one frame enough unless overridden. A rule's keyword (e.g.
    ``sustained_negative={"threshold": 0.5}``) merges into its section."""
    data: dict[str, Any] = {r: {"enabled": r in enabled} for r in RULES}
    data |= {"min_duration_min": 0, "cooldown_min": 0, "min_frames": 1, "min_seen_share": 0, "min_seen_min": 0}
    for key, value in overrides.items():
        if isinstance(value, dict):
            data[key] = data[key] | value
        else:
            data[key] = value
    return FlagSettings.model_validate(data)


def run(
    cfg: FlagSettings, intervals: Sequence[IntervalAggregate], finish: bool = False
) -> list[tuple[int | str, FlagEvent]]:
    engine = FlagEngine(cfg)
    out: list[tuple[int | str, FlagEvent]] = []
    for iv in intervals:
        out += [(_index(iv.start), e) for e in engine.observe(iv)]
    if finish:
        out += [("finish", e) for e in engine.finish(intervals[-1].end)]
    return out


def _index(t: dt.datetime) -> int:
    return round((t - T0) / STEP)


def brief(events: Sequence[tuple[int | str, FlagEvent]]) -> list[Brief]:
    return [
        (when, e.kind, e.rule, e.student, (e.start - T0) / STEP, None if e.end is None else (e.end - T0) / STEP)
        for when, e in events
    ]


def d_happy_sad() -> float:
    return js_distance(probs("happy"), probs("sad"))


# --- each rule: raises at the threshold, not just below it ----------------------------------------------------------

SN = {"window_min": 1, "threshold": 0.5}  # 6 intervals
BS = {"baseline_min": 1, "recent_min": 1}
NV = {"minutes": 0.5}  # 3 intervals
CN = {"window_min": 0.5, "threshold": 0.5}
MD = {"baseline_min": 1, "window_min": 0.5}

THRESHOLD_CASES: list[tuple[str, FlagSettings, dict[str, str], list[Brief]]] = [
    # 3 of the 6 intervals of the last minute sad (0.85 negative each, happy 0.2): share 0.525, reached in interval 5.
    (
        "sustained-at",
        settings("sustained_negative", sustained_negative=SN),
        {S1: "hhhsss"},
        [(5, "open", "sustained_negative", S1, 5, None)],
    ),
    (
        "sustained-below",
        settings("sustained_negative", sustained_negative=SN | {"threshold": 0.53}),
        {S1: "hhhsss"},
        [],
    ),
    ("sustained-one-fewer", settings("sustained_negative", sustained_negative=SN), {S1: "hhhhss"}, []),
    ("sustained-not-surprise", settings("sustained_negative", sustained_negative=SN), {S1: "hhhuuu"}, []),
    # 6 happy intervals make the baseline; the last minute all sad is the full happy-sad distance.
    (
        "baseline-at",
        settings("baseline_shift", baseline_shift=BS | {"threshold": d_happy_sad()}),
        {S1: "hhhhhhssssss"},
        [(11, "open", "baseline_shift", S1, 11, None)],
    ),
    (
        "baseline-below",
        settings("baseline_shift", baseline_shift=BS | {"threshold": d_happy_sad() + 0.01}),
        {S1: "hhhhhhssssss"},
        [],
    ),
    # Not judged before the baseline is complete: at interval 3 the 30 s seen (happy) already differ from the
    # happy/sad mix since, but the baseline is the whole first minute, which is exactly the last minute.
    ("baseline-incomplete", settings("baseline_shift", baseline_shift=BS | {"threshold": 0.05}), {S1: "hhhsss"}, []),
    # Baseline 2 minutes: sad twice, then happy. Judged against the part seen so far, interval 7 (2 sad + 6 happy
    # against 6 happy) would be 0.22 apart; the complete baseline (2 sad + 10 happy) is 0.16 from the last minute.
    (
        "baseline-complete-only",
        settings("baseline_shift", baseline_shift={"baseline_min": 2, "recent_min": 1, "threshold": 0.2}),
        {S1: "ss" + "h" * 10},
        [],
    ),
    # Seat 1 absent in intervals 3, 4, 5 while Seat 2 is analysed: 30 s = 0.5 min in interval 5.
    (
        "not-visible-at",
        settings("not_visible", not_visible=NV),
        {S1: "hhh---", S2: "hhhhhh"},
        [(5, "open", "not_visible", S1, 5, None)],
    ),
    ("not-visible-below", settings("not_visible", not_visible={"minutes": 0.51}), {S1: "hhh---", S2: "hhhhhh"}, []),
    # Of the 6 student-intervals of the last 30 s, 3 surprised.
    (
        "class-negative-at",
        settings("class_negative", class_negative=CN),
        {S1: "hhhuuu", S2: "hhhhhh"},
        [(5, "open", "class_negative", None, 5, None)],
    ),
    (
        "class-negative-below",
        settings("class_negative", class_negative=CN | {"threshold": 0.51}),
        {S1: "hhhuuu", S2: "hhhhhh"},
        [],
    ),
    ("class-negative-not-angry", settings("class_negative", class_negative=CN), {S1: "hhhaaa", S2: "hhhhhh"}, []),
    # Baseline mood +1 (all happy for a minute); the last 30 s all neutral (mood 0) is a drop of 1.
    (
        "mood-drop-at",
        settings("class_mood_drop", class_mood_drop=MD | {"drop": 1.0}),
        {S1: "hhhhhhnnn"},
        [(8, "open", "class_mood_drop", None, 8, None)],
    ),
    ("mood-drop-below", settings("class_mood_drop", class_mood_drop=MD | {"drop": 1.01}), {S1: "hhhhhhnnn"}, []),
    # Baseline = the whole first minute (3 happy, 3 sad: mood 0), judged only once complete, in interval 5 (drop 1).
    # Judged early against the part seen so far, interval 4 would already drop 0.53 (0.2 to -0.33).
    (
        "mood-drop-waits-for-baseline",
        settings("class_mood_drop", class_mood_drop=MD | {"drop": 0.5}),
        {S1: "hhhsss"},
        [(5, "open", "class_mood_drop", None, 5, None)],
    ),
]


@pytest.mark.parametrize(
    ("cfg", "students", "expected"), [c[1:] for c in THRESHOLD_CASES], ids=[c[0] for c in THRESHOLD_CASES]
)
def test_rule_raises_at_threshold(cfg: FlagSettings, students: dict[str, str], expected: list[Brief]) -> None:
    assert brief(run(cfg, build(students))) == expected


# --- gaps, leaving and returning, frames ----------------------------------------------------------------------------

GAP_CASES: list[tuple[str, FlagSettings, list[IntervalAggregate], list[Brief]]] = [
    # Intervals 3-8 were never stored (source offline): the window is on session time, so in interval 9 the last
    # minute holds only happy; counting the last 6 stored intervals would still see 3 sad of 4.
    (
        "window-on-session-time",
        settings("sustained_negative", sustained_negative=SN),
        build({S1: "sss------hh"}, missing=range(3, 9)),
        [(0, "open", "sustained_negative", S1, 0, None), (9, "close", "sustained_negative", S1, 0, 9)],
    ),
    # While Seat 1 is away (intervals 3-5) the share counts only the intervals in which they were seen: in interval
    # 6 the last minute has h, s, s seen (2 of 3 >= 0.6), not 2 of 6.
    (
        "absence-contributes-no-data",
        settings("sustained_negative", sustained_negative={"window_min": 1, "threshold": 0.6}),
        build({S1: "hhs---s", S2: "nnnnnnn"}),
        [(6, "open", "sustained_negative", S1, 6, None)],
    ),
    # Seat 1 leaves for 4 intervals and comes back: not visible from interval 5, cleared when back in interval 7.
    (
        "leaves-and-returns",
        settings("not_visible", not_visible=NV),
        build({S1: "hhh----hh", S2: "hhhhhhhhh"}),
        [(5, "open", "not_visible", S1, 5, None), (7, "close", "not_visible", S1, 5, 7)],
    ),
    # Intervals with no analysed frame (camera covered) are not absence: nobody looked. Seat 1 is missed for 10 s.
    (
        "dark-is-not-absence",
        settings("not_visible", not_visible=NV),
        build({S1: "hhh----", S2: "hhhhhhh"}, dark={3, 4, 5}),
        [],
    ),
    # A student seen in fewer than min_frames frames in all (a misdetection) is never reported missing.
    (
        "unknown-student-never-missing",
        settings("not_visible", not_visible=NV, min_frames=30),
        build({S1: "h------", S2: "hhhhhhh"}),
        [],
    ),
    # min_frames 50 with 20 frames per interval: no judgement until the third interval.
    (
        "min-frames-delays",
        settings("sustained_negative", sustained_negative=SN, min_frames=50),
        build({S1: "sss"}),
        [(2, "open", "sustained_negative", S1, 2, None)],
    ),
    (
        "min-frames-blocks",
        settings("sustained_negative", sustained_negative=SN, min_frames=61),
        build({S1: "sss"}),
        [],
    ),
    (
        "min-frames-class",
        settings("class_negative", class_negative=CN, min_frames=10),
        build({S1: "uu"}, frames=5),
        [(1, "open", "class_negative", None, 1, None)],
    ),
    # Open, then Seat 1 leaves: once their sad minute slides out of the window there is no judgement, which must
    # not clear the flag (cooldown 0 would close it at once on any "false").
    (
        "no-judgement-never-clears",
        settings("sustained_negative", sustained_negative=SN, min_frames=20),
        build({S1: "ss----------", S2: "nnnnnnnnnnnn"}),
        [(0, "open", "sustained_negative", S1, 0, None)],
    ),
]


@pytest.mark.parametrize(
    ("cfg", "intervals", "expected"),
    [c[1:] for c in GAP_CASES],
    ids=[c[0] for c in GAP_CASES],
)
def test_gaps_and_frames(cfg: FlagSettings, intervals: list[IntervalAggregate], expected: list[Brief]) -> None:
    assert brief(run(cfg, intervals)) == expected


# --- disabled rules -----------------------------------------------------------------------------------------------

ALL_ON = {
    "sustained_negative": SN,
    "baseline_shift": BS | {"threshold": 0.3},
    "not_visible": NV,
    "class_negative": CN,
    "class_mood_drop": MD | {"drop": 0.5},
}
# Seat 1 happy for a minute, then sad, then gone; Seat 2 the same but stays: every rule fires.
PROVOKING = {S1: "hhhhhhsssssss----", S2: "hhhhhhsssssssssss"}


def test_provoking_session_fires_every_rule() -> None:
    fired = {e.rule for _, e in run(settings(*RULES, **ALL_ON), build(PROVOKING))}
    assert fired == set(RULES)


@pytest.mark.parametrize("disabled", RULES)
def test_disabled_rule_never_fires(disabled: str) -> None:
    overrides = ALL_ON | {disabled: ALL_ON[disabled] | {"enabled": False}}
    cfg = settings(*RULES, **overrides)
    fired = {e.rule for _, e in run(cfg, build(PROVOKING), finish=True)}
    assert fired == set(RULES) - {disabled}


# --- hysteresis ---------------------------------------------------------------------------------------------------

# Class-wide share over the last 3 intervals, surprised/happy alternating: 2/3, 1/3, 2/3 ... around 0.6.
CN_FLAP = {"window_min": 0.5, "threshold": 0.6}
ALTERNATING = {S1: "uh" * 20 + "u"}


@pytest.mark.parametrize(
    ("min_duration", "cooldown", "expected"),
    [
        (0, 0.5, [(0, "open", 0, None), ("finish", "close", 0, 41)]),
        (0.5, 0, []),
        (0.5, 0.5, []),
    ],
    ids=["cooldown-holds-it-open", "min-duration-never-reached", "both"],
)
def test_alternating_intervals_do_not_flap(
    min_duration: float, cooldown: float, expected: list[tuple[int | str, str, float, float | None]]
) -> None:
    cfg = settings("class_negative", class_negative=CN_FLAP, min_duration_min=min_duration, cooldown_min=cooldown)
    events = brief(run(cfg, build(ALTERNATING), finish=True))
    assert [(when, kind, start, end) for when, kind, _, _, start, end in events if kind != "update"] == expected


def test_without_hysteresis_alternation_flaps() -> None:
    """The control for the test above: with neither min_duration nor cooldown the same data opens and closes
    every other interval, so the hysteresis is what prevents it."""
    kinds = [e.kind for _, e in run(settings("class_negative", class_negative=CN_FLAP), build(ALTERNATING))]
    assert kinds.count("open") == 21 and kinds.count("close") == 20


def test_min_duration_delays_the_open_but_keeps_the_start() -> None:
    cfg = settings("sustained_negative", sustained_negative=SN, min_duration_min=0.5)
    assert brief(run(cfg, build({S1: "ssssss"}))) == [(2, "open", "sustained_negative", S1, 0, None)]


def test_min_duration_restarts_after_a_break() -> None:
    """Threshold 0.7 over 6 intervals: sad twice holds for 2 intervals only (s s h = 0.67 breaks the run); after
    the happy stretch the share holds again from interval 12 (5 of 6), so the flag opens 3 intervals later, at 14.
    Summing held time across the break would have opened it at 12."""
    cfg = settings("sustained_negative", sustained_negative=SN | {"threshold": 0.7}, min_duration_min=0.5)
    events = brief(run(cfg, build({S1: "ss" + "h" * 6 + "s" * 8})))
    assert events == [(14, "open", "sustained_negative", S1, 12, None)]


def test_cooldown_delays_the_close_and_dates_it_when_the_condition_stopped() -> None:
    cfg = settings("not_visible", not_visible=NV, cooldown_min=0.5)
    events = brief(run(cfg, build({S1: "hhh---hhhh", S2: "hhhhhhhhhh"})))
    assert events == [(5, "open", "not_visible", S1, 5, None), (8, "close", "not_visible", S1, 5, 6)]


def test_cooldown_interrupted_keeps_the_flag_open() -> None:
    """Surprised share over 3 intervals, threshold 0.6: holds 0-3, false at 4-5 (20 s, under the 30 s cooldown),
    holds again at 6-7, false from 8. The cooldown restarts at 8 and closes at 10; without the restart it would
    have closed at 8."""
    cfg = settings("class_negative", class_negative=CN_FLAP, cooldown_min=0.5)
    events = brief(run(cfg, build({S1: "uuuhhuuhhhh"})))
    assert [e for e in events if e[1] != "update"] == [
        (0, "open", "class_negative", None, 0, None),
        (10, "close", "class_negative", None, 0, 8),
    ]


# --- finish ---------------------------------------------------------------------------------------------------------


def test_finish_closes_every_open_flag_at_the_end() -> None:
    cfg = settings(*RULES, **ALL_ON)
    intervals = build(PROVOKING)
    engine = FlagEngine(cfg)
    opened: set[tuple[str, str | None]] = set()
    for iv in intervals:
        for e in engine.observe(iv):
            if e.kind == "open":
                opened.add((e.rule, e.student))
            elif e.kind == "close":
                opened.discard((e.rule, e.student))
    end = intervals[-1].end + dt.timedelta(seconds=3)
    closes = engine.finish(end)
    assert opened and {(e.rule, e.student) for e in closes} == opened
    assert all(e.kind == "close" and e.end == end for e in closes)
    assert engine.finish(end) == []  # nothing left open


def test_finish_ends_a_cooling_flag_when_its_condition_stopped() -> None:
    cfg = settings("not_visible", not_visible=NV, cooldown_min=1)
    events = brief(run(cfg, build({S1: "hhh---hh", S2: "hhhhhhhh"}), finish=True))
    assert events == [(5, "open", "not_visible", S1, 5, None), ("finish", "close", "not_visible", S1, 5, 6)]


def test_finish_drops_a_condition_that_never_opened() -> None:
    cfg = settings("sustained_negative", sustained_negative=SN, min_duration_min=5)
    assert run(cfg, build({S1: "ssssss"}), finish=True) == []


# --- content: reasons, severity, evidence, updates --------------------------------------------------------------------


def test_sustained_negative_reason_names_the_emotions_and_minutes() -> None:
    cfg = settings("sustained_negative", sustained_negative={"window_min": 10, "threshold": 0.7})
    # 18 happy, 30 sad, 12 angry: the share first reaches 42/60 = 0.7 with the 60th interval.
    events = run(cfg, build({"Seat 4": "h" * 18 + "s" * 30 + "a" * 12}, reading=certain))
    assert len(events) == 1
    when, event = events[0]
    assert when == 59 and event.kind == "open" and event.severity == "warning"
    assert event.reason == "Seat 4: sad or angry for 7 of the last 10 minutes"
    assert event.evidence["share"] == 0.7 and event.evidence["negative_intervals"] == 42
    assert event.frames == 60 * 20


def test_reason_when_the_student_was_seen_part_of_the_window() -> None:
    cfg = settings("sustained_negative", sustained_negative={"window_min": 1, "threshold": 0.5})
    (_, event), *_ = run(cfg, build({S1: "---fff", S2: "nnnnnn"}, reading=certain))
    assert event.reason == "Seat 1: afraid for 0.2 of the 0.2 minutes seen in the last 1 minute"


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("baseline_shift", "Seat 1: more sad and less happy in the last 1 minute than in their first 1 minute"),
        ("not_visible", "Seat 1: not visible for 0.5 minutes"),
        ("class_negative", "Class: 67% of students looked sad in the last 0.5 minutes"),
        ("class_mood_drop", "Class: mood down from +1.00 in the first 1 minute to +0.33 in the last 0.5 minutes"),
    ],
)
def test_reasons_are_plain_language(rule: str, fragment: str) -> None:
    events = run(settings(rule, **ALL_ON), build(PROVOKING))
    first = next(e for _, e in events if e.rule == rule and e.kind == "open")
    assert first.reason.startswith(fragment), first.reason
    assert first.frames > 0 and first.evidence


def test_severity_rises_to_alert_with_one_update() -> None:
    """Threshold 0.5: the share climbs from 0.5 to 1 as the sad intervals fill the window, alert from 0.75."""
    cfg = settings("sustained_negative", sustained_negative=SN)
    events = run(cfg, build({S1: "hhhssssss"}, reading=certain))
    kinds = [(when, e.kind, e.severity, e.evidence["share"]) for when, e in events]
    # shares 0.5 (5), 0.67 (6: +0.17, an update), 0.83 (7: alert), 1.0 (8: +0.17, an update)
    assert kinds == [
        (5, "open", "warning", 0.5),
        (6, "update", "warning", 0.6667),
        (7, "update", "alert", 0.8333),
        (8, "update", "alert", 1.0),
    ]


def test_no_update_for_identical_readings() -> None:
    cfg = settings("sustained_negative", sustained_negative=SN)
    assert [e.kind for _, e in run(cfg, build({S1: "s" * 30}))] == ["open"]


def test_not_visible_updates_once_per_period() -> None:
    events = run(settings("not_visible", not_visible=NV), build({S1: "h" + "-" * 9, S2: "h" * 10}))
    assert [(when, e.kind, e.severity) for when, e in events] == [
        (3, "open", "info"),
        (6, "update", "info"),
        (9, "update", "info"),
    ]
    assert events[-1][1].reason == "Seat 1: not visible for 1.5 minutes"


def test_not_visible_says_camera_off_when_the_gallery_tile_shows_it() -> None:
    """In a Zoom gallery a student with the camera off is there, not gone: the flag says so, with the state."""
    import dataclasses

    from monitor.aggregate import PresenceAggregate

    intervals = [
        iv if i == 0 else dataclasses.replace(iv, presence=(PresenceAggregate(S1, 20, 0),))
        for i, iv in enumerate(build({S1: "h" + "-" * 9, S2: "h" * 10}))
    ]
    events = run(settings("not_visible", not_visible=NV), intervals)
    assert events[0][1].reason == "Seat 1: camera off for 0.5 minutes"
    assert events[0][1].evidence["state"] == "camera_off"


def test_class_rules_have_no_student_and_student_rules_have_one() -> None:
    for _, e in run(settings(*RULES, **ALL_ON), build(PROVOKING), finish=True):
        assert (e.student is None) == (e.rule in ("class_negative", "class_mood_drop")), e


def test_same_input_same_events() -> None:
    cfg = settings(*RULES, **ALL_ON)
    assert run(cfg, build(PROVOKING), finish=True) == run(cfg, build(PROVOKING), finish=True)


def test_out_of_order_interval_is_rejected() -> None:
    engine = FlagEngine(settings(*RULES))
    a, b = build({S1: "hh"})
    engine.observe(b)
    with pytest.raises(ValueError, match="older than the previous"):
        engine.observe(a)


# --- pure helpers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [
        ((0.5, 0.5), (0.5, 0.5), 0.0),
        ((1.0, 0.0), (0.0, 1.0), 1.0),
        ((1.0, 0.0), (0.5, 0.5), math.sqrt(0.5 * math.log2(4 / 3) + 0.25 * math.log2(2 / 3) + 0.25)),
        ((2.0, 2.0), (1.0, 1.0), 0.0),  # normalised first
    ],
)
def test_js_distance(p: tuple[float, ...], q: tuple[float, ...], expected: float) -> None:
    assert js_distance(p, q) == pytest.approx(expected, abs=1e-12)
    assert js_distance(q, p) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("p", "q"), [((), ()), ((1.0,), (0.5, 0.5)), ((0.0, 0.0), (1.0, 0.0)), ((-1.0, 2.0), (1.0, 0.0))]
)
def test_js_distance_rejects_non_distributions(p: tuple[float, ...], q: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        js_distance(p, q)


@pytest.mark.parametrize(
    ("value", "threshold", "maximum", "expected"),
    [
        (0.6, 0.6, 1.0, "warning"),
        (0.89, 0.6, 1.0, "warning"),
        (0.9, 0.6, 1.0, "alert"),  # 1.5 x threshold
        (1.0, 0.8, 1.0, "alert"),  # 1.5 x 0.8 is out of reach: the maximum is the alert level
        (1.0, 1.0, 1.0, "warning"),  # never above a threshold at the maximum
        (0.45, 0.3, 2.0, "alert"),
        (0.44, 0.3, 2.0, "warning"),
    ],
)
def test_severity(value: float, threshold: float, maximum: float, expected: str) -> None:
    assert severity_for(value, threshold, maximum) == expected
