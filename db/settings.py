"""Settings stored in the database, shared by the worker (reads them at session start) and the dashboard (edits them).

The attention-flag rules live here rather than in ``monitor`` because the dashboard's Settings page edits them and
the dashboard never imports the worker. Each rule can be switched off and tuned; every field has bounds, and a
stored value that no longer validates (an older version's, a hand edit) is reported, never silently used.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from db.schema import Setting

FLAGS_KEY = "flags"
ANALYSIS_KEY = "analysis"
PRIVACY_KEY = "privacy"
MODES: tuple[str, ...] = ("expressions", "presence")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    enabled: bool = Field(True, description="evaluate this rule")


class SustainedNegative(_Rule):
    """A student's share of angry, sad, fear or disgust over the last ``window_min`` minutes."""

    window_min: float = Field(10, ge=1, le=120, description="look-back window in minutes")
    threshold: float = Field(0.6, gt=0, le=1, description="share of negative intervals that raises the flag")


class BaselineShift(_Rule):
    """A student's recent emotion mix departs from their own earlier mix in this session."""

    baseline_min: float = Field(10, ge=1, le=120, description="minutes of the session's start forming the baseline")
    recent_min: float = Field(5, ge=1, le=60, description="recent window in minutes compared with the baseline")
    threshold: float = Field(0.35, gt=0, le=1, description="Jensen-Shannon distance (base 2) that raises the flag")


class NotVisible(_Rule):
    """A student seen earlier whose face has not been visible (or camera off) for ``minutes`` or more."""

    minutes: float = Field(3, ge=0.5, le=120, description="minutes without a visible face")


class ClassNegative(_Rule):
    """The share of students showing negative or confused expressions (fear, surprise, sad) over the window."""

    window_min: float = Field(2, ge=0.5, le=60, description="look-back window in minutes")
    threshold: float = Field(0.5, gt=0, le=1, description="share of students that raises the flag")


class ClassMoodDrop(_Rule):
    """The class mood (share positive minus share negative) drops against the session's own start."""

    baseline_min: float = Field(5, ge=1, le=120, description="minutes of the session's start forming the baseline")
    window_min: float = Field(3, ge=0.5, le=60, description="recent window in minutes")
    drop: float = Field(0.3, gt=0, le=2, description="fall in mood score (-1..1) that raises the flag")


class FlagSettings(BaseModel):
    """All attention-flag rules plus the hysteresis that keeps flags from flapping."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    sustained_negative: SustainedNegative = SustainedNegative()
    baseline_shift: BaselineShift = BaselineShift()
    not_visible: NotVisible = NotVisible()
    class_negative: ClassNegative = ClassNegative()
    class_mood_drop: ClassMoodDrop = ClassMoodDrop()
    min_duration_min: float = Field(1, ge=0, le=30, description="a condition must hold this long before a flag")
    cooldown_min: float = Field(2, ge=0, le=60, description="a condition must be gone this long before clearing")
    min_frames: int = Field(10, ge=1, le=10000, description="no judgement from fewer analysed frames than this")
    min_seen_share: float = Field(
        0.5, ge=0, le=1, description="judge a student only when seen for this share of the rule's window"
    )
    min_seen_min: float = Field(
        2, ge=0, le=60, description="and for at least this many minutes (or the whole window, if shorter)"
    )


class AnalysisSettings(BaseModel):
    """Analysis options a teacher sets on the dashboard; the worker applies them at its next session.

    A value given explicitly to the worker (command line, config file, environment) still wins: these replace the
    built-in defaults only, so an IT admin's pinned config is never overridden from a web page.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    interval_s: float = Field(10.0, ge=1, le=3600, description="length of one aggregation interval in seconds")
    fps: float = Field(2.0, gt=0, le=30, description="frames analysed per second")
    layout: Literal["room", "gallery", "auto"] = Field("auto", description="room seats, Zoom gallery tiles, or auto")


class PrivacySettings(BaseModel):
    """The school's responsible-use choices, set by an admin on the Settings page.

    ``mode`` is the default analysis mode of every session; with ``mode_locked`` a worker refuses to start in another
    one (a teacher cannot switch a school's presence-only policy back to emotion recognition from the command line).
    ``retention_days`` deletes sessions that ended longer ago (``None``: kept until deleted by hand).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    mode: Literal["expressions", "presence"] = Field(
        "expressions", description="expressions (emotion model) or presence (no emotion inference at all)"
    )
    mode_locked: bool = Field(False, description="workers may not run in another mode")
    per_student: bool = Field(True, description="False: store class-level aggregates only, no student labels")
    retention_days: int | None = Field(
        None, ge=0, le=36500, description="delete sessions that ended more than this many days ago (None: keep)"
    )
    school: str = Field("", max_length=200, description="the school's name, shown on the notice for students")
    contact: str = Field(
        "", max_length=300, description="whom students ask for a copy or erasure of their data (office, e-mail)"
    )


class SettingsError(ValueError):
    """A stored setting does not validate; the message names the key path."""


_M = TypeVar("_M", bound=BaseModel)


def _load(s: Session, key: str, model: type[_M]) -> _M:
    row = s.get(Setting, key)
    if row is None:
        return model()
    try:
        return model.model_validate(row.value)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise SettingsError(f"stored setting {key}.{'.'.join(map(str, err['loc']))}: {err['msg']}") from exc


def _save(s: Session, key: str, settings: BaseModel) -> None:
    row = s.get(Setting, key)
    now = dt.datetime.now(dt.UTC)
    if row is None:
        s.add(Setting(key=key, value=settings.model_dump(), updated_at=now))
    else:
        row.value = settings.model_dump()
        row.updated_at = now


def load_flag_settings(s: Session) -> FlagSettings:
    return _load(s, FLAGS_KEY, FlagSettings)


def save_flag_settings(s: Session, settings: FlagSettings) -> None:
    _save(s, FLAGS_KEY, settings)


def load_analysis_settings(s: Session) -> AnalysisSettings:
    return _load(s, ANALYSIS_KEY, AnalysisSettings)


def save_analysis_settings(s: Session, settings: AnalysisSettings) -> None:
    _save(s, ANALYSIS_KEY, settings)


def load_privacy_settings(s: Session) -> PrivacySettings:
    return _load(s, PRIVACY_KEY, PrivacySettings)


def save_privacy_settings(s: Session, settings: PrivacySettings) -> None:
    _save(s, PRIVACY_KEY, settings)
