"""The school's privacy settings against the worker's own configuration: default, explicit, locked, class-only."""

from __future__ import annotations

import numpy as np
import pytest

from db.settings import FlagSettings, PrivacySettings
from monitor.aggregate import Aggregator, IntervalAggregate
from monitor.config import ConfigError, load_config
from monitor.privacy import EMOTION_RULES, PresenceOnly, apply_privacy_settings, presence_rules_only

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("given", "school", "expected"),
    [
        ({}, PrivacySettings(), ("expressions", True)),
        ({}, PrivacySettings(mode="presence"), ("presence", True)),
        ({"mode": "expressions"}, PrivacySettings(mode="presence"), ("expressions", True)),  # not locked: may differ
        ({"mode": "presence"}, PrivacySettings(mode="expressions", mode_locked=True), ConfigError),
        ({"mode": "expressions"}, PrivacySettings(mode="presence", mode_locked=True), ConfigError),
        ({"mode": "presence"}, PrivacySettings(mode="presence", mode_locked=True), ("presence", True)),
        ({"per_student": True}, PrivacySettings(per_student=False), ("expressions", False)),  # the school's stricter
        ({"per_student": False}, PrivacySettings(), ("expressions", False)),
    ],
)
def test_school_settings_against_the_worker(given: dict[str, object], school: PrivacySettings, expected: object) -> None:
    config = load_config(None, {"analysis": given})
    if expected is ConfigError:
        with pytest.raises(ConfigError, match=r"^analysis\.mode: .*locked"):
            apply_privacy_settings(config, school)
        return
    out = apply_privacy_settings(config, school)
    assert (out.analysis.mode, out.analysis.per_student) == expected


def test_presence_rules_only_switches_off_every_emotion_rule() -> None:
    rules = presence_rules_only(FlagSettings())
    assert [getattr(rules, r).enabled for r in EMOTION_RULES] == [False] * len(EMOTION_RULES)
    assert rules.not_visible.enabled


def test_presence_classifier_infers_nothing_and_the_aggregate_carries_no_emotion() -> None:
    import datetime as dt

    faces = np.zeros((3, 48, 48, 1), np.uint8)
    assert PresenceOnly().predict(faces).shape == (3, 0)
    t0 = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)
    agg = Aggregator(t0, 10, 0.5, emotions=False)
    empty = np.zeros(0, np.float32)
    for t in (0.0, 0.5, 1.0, 1.5):
        agg.add_frame(t, [("Seat 1", empty)] + ([("Seat 2", empty)] if t < 1 else []),
                      {"Seat 2": "face_not_visible"} if t >= 1 else None)
    interval = agg.flush()
    assert interval is not None and not interval.emotions
    assert interval.counts() == dict.fromkeys(interval.counts(), 0)
    assert [(v.student, v.state, v.visible_share) for v in interval.visibility()] == [
        ("Seat 1", "seen", 1.0), ("Seat 2", "seen", 0.5)  # a tie between seen and not visible: seen
    ]
    assert interval.students_present == 2


def test_an_interval_cannot_mix_presence_mode_and_probabilities() -> None:
    import datetime as dt

    from monitor.aggregate import StudentAggregate

    t0 = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="presence-mode"):
        IntervalAggregate(t0, t0, 1, 0, (StudentAggregate("Seat 1", 1, (1.0,) + (0.0,) * 6),), emotions=False)
