"""Responsible use in the worker: the school's analysis mode and storage choices, and presence mode's classifier.

In ``presence`` mode no emotion model is loaded or run: :class:`PresenceOnly` stands where the model stands and
answers, for each readable face, an empty row of probabilities, so the loop, the aggregation and the storage run
unchanged and store who was seen, with camera off or with the face not visible, and never an emotion. The EU AI Act
(Article 5(1)(f)) prohibits emotion recognition in education from 2 February 2025; presence mode is the mode for EU
schools.

The Settings page's school-wide choices (``db.settings.PrivacySettings``) replace the built-in defaults; a mode the
admin locked refuses a different one given explicitly to the worker, and class-only storage cannot be switched back
on from a worker.

The lock must not fail open: every time the worker reads the school's choices it keeps a copy in a small file in the
data folder (``privacy-cache.json``, mode 0600, one entry per database), and when the database cannot be read at start
(the class still starts) it uses that copy. With neither, the built-in defaults apply and a worker asked for
``expressions`` says loudly that the school's lock could not be checked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from db.engine import data_dir, session_factory
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


def privacy_cache_path() -> Path:
    return data_dir() / "privacy-cache.json"


def _cache_key(db_url: str) -> str:
    # a digest, not the URL: the file must not hold a database password
    return hashlib.sha256(db_url.encode()).hexdigest()[:32]


def _read_cache(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember_privacy_settings(db_url: str, settings: PrivacySettings, path: Path | None = None) -> None:
    """Keep ``settings`` as the last ones read from ``db_url`` (owner-only file, replaced atomically)."""
    path = path or privacy_cache_path()
    entries = _read_cache(path)
    entries[_cache_key(db_url)] = settings.model_dump()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".privacy-", dir=path.parent)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entries, f, indent=1, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("cannot keep a copy of the school's privacy settings in %s (%s)", path, one_line(exc))


def cached_privacy_settings(db_url: str, path: Path | None = None) -> PrivacySettings | None:
    """The last settings read from ``db_url``, or ``None`` if there is no valid copy."""
    entry = _read_cache(path or privacy_cache_path()).get(_cache_key(db_url))
    if not isinstance(entry, dict):
        return None
    try:
        return PrivacySettings.model_validate(entry)
    except ValidationError:
        return None


def read_privacy_settings(engine: Engine, db_url: str, cache: Path | None = None) -> PrivacySettings | None:
    """The school's stored choices read through ``engine`` (a copy is kept under ``db_url``, the URL the worker was
    given); when the database cannot be read now (the class does not wait), the last copy kept for this database, or
    ``None`` when there is none."""
    try:
        with session_factory(engine)() as s:
            settings = load_privacy_settings(s)
    except (SQLAlchemyError, SettingsError) as exc:
        cached = cached_privacy_settings(db_url, cache)
        if cached is not None:
            log.warning(
                "cannot read the school's settings (%s): using the last ones read (analysis mode %s%s)",
                one_line(exc), cached.mode, ", locked" if cached.mode_locked else "",
            )
        return cached
    remember_privacy_settings(db_url, settings, cache)
    return settings


def school_privacy(config: Config, engine: Engine, cache: Path | None = None) -> Config:
    """``config`` under the school's privacy settings, read now through ``engine`` (opened on
    ``config.storage.db_url``) or kept from the last read; raise ``ConfigError`` when the mode given differs from a
    locked one."""
    settings = read_privacy_settings(engine, config.storage.db_url, cache)
    if settings is None:
        if config.analysis.mode == "expressions":
            log.warning(
                "the school's settings cannot be read and none were kept from an earlier start: running in "
                "expressions mode without checking whether the administrator locked presence mode"
            )
        settings = PrivacySettings()
    return apply_privacy_settings(config, settings)


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
