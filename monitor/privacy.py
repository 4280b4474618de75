"""Responsible use in the worker: the school's analysis mode and storage choices, and presence mode's classifier.

In ``presence`` mode no emotion model is loaded or run: :class:`PresenceOnly` stands where the model stands and
answers, for each readable face, an empty row of probabilities, so the loop, the aggregation and the storage run
unchanged and store who was seen, with camera off or with the face not visible, and never an emotion. The EU AI Act
(Article 5(1)(f)) prohibits emotion recognition in education from 2 February 2025; presence mode is the mode for EU
schools.

The Settings page's school-wide choices (``db.settings.PrivacySettings``) replace the built-in defaults; a mode the
admin locked refuses a different one given explicitly to the worker, and class-only storage cannot be switched back
on from a worker.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from sqlalchemy.exc import SQLAlchemyError

from db.engine import make_engine, session_factory, upgrade
from db.settings import FlagSettings, PrivacySettings, SettingsError, load_privacy_settings
from monitor.config import Config, ConfigError
from monitor.sources.base import one_line

log = logging.getLogger(__name__)

EMOTION_RULES = ("sustained_negative", "baseline_shift", "class_negative", "class_mood_drop")


class PresenceOnly:
    """The classifier of presence mode: a readable face is a face seen; nothing about it is inferred."""

    name = "none (presence mode)"

    def predict(self, faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        return np.zeros((len(faces), 0), np.float32)


def read_privacy_settings(db_url: str) -> PrivacySettings:
    """The school's stored choices; the defaults if the database cannot be read now (the class does not wait)."""
    try:
        engine = make_engine(db_url)
        try:
            upgrade(engine)
            with session_factory(engine)() as s:
                return load_privacy_settings(s)
        finally:
            engine.dispose()
    except (SQLAlchemyError, SettingsError) as exc:
        log.warning("using the default analysis mode: cannot read the school's settings (%s)", one_line(exc))
        return PrivacySettings()


def apply_privacy_settings(config: Config, settings: PrivacySettings) -> Config:
    """The school's mode in place of the default, unless given explicitly; raise ``ConfigError`` when the given mode
    differs from a locked one. Class-only storage set by the school always holds."""
    analysis = config.analysis
    explicit = "mode" in analysis.model_fields_set
    if explicit and settings.mode_locked and analysis.mode != settings.mode:
        raise ConfigError(
            f"analysis.mode: the school's administrator locked the analysis mode to {settings.mode}; "
            f"{analysis.mode} is not allowed (see the dashboard's Settings page)"
        )
    update: dict[str, object] = {}
    if not explicit or settings.mode_locked:
        update["mode"] = settings.mode
    if not settings.per_student:
        update["per_student"] = False
    return config.model_copy(update={"analysis": analysis.model_copy(update=update)}) if update else config


def presence_rules_only(settings: FlagSettings) -> FlagSettings:
    """The flag rules with every emotion rule switched off: in presence mode only presence can flag."""
    off = {rule: getattr(settings, rule).model_copy(update={"enabled": False}) for rule in EMOTION_RULES}
    return settings.model_copy(update=off)
