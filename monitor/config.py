"""The worker's configuration: one validated tree, from defaults, a TOML file, the environment and the command line.

Every field has a default, a description and bounds; unknown keys are rejected (``extra="forbid"``), and an invalid
value is reported as one line naming its key path, e.g. ``capture.fps: Input should be greater than 0``.
Precedence, lowest to highest: defaults, ``--config FILE``, ``DATABASE_URL``, command-line options.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from db.engine import default_url
from models.classifier import DEFAULT_MODEL


class ConfigError(ValueError):
    """Configuration cannot be used; the message is one line naming the offending key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class CaptureConfig(_Section):
    source: str = Field("", description="video file, camera index, rtsp/http URL, screen[:L,T,W,H] or image folder")
    fps: float = Field(2.0, gt=0, le=30, description="frames analysed per second of the source's clock")
    realtime: bool = Field(False, description="pace a video file or folder to the wall clock (demo, live-like)")
    stall_timeout_s: float = Field(5.0, gt=0, le=300, description="no frame for this long marks a live source offline")
    reconnect_initial_s: float = Field(1.0, gt=0, le=60, description="first reconnect delay; doubles each try")
    reconnect_max_s: float = Field(30.0, gt=0, le=600, description="longest delay between reconnect tries")


class DetectorConfig(_Section):
    kind: Literal["yunet", "mtcnn", "haar"] = Field("yunet", description="face detector (see bench/detectors.py)")
    min_face_px: int = Field(
        0, ge=0, le=1000, description="faces smaller than this (pixels) are ignored; 0: 1.85% of the frame's shorter side"
    )
    max_side_px: int = Field(960, ge=320, le=8192, description="frames are downscaled to this longest side first")
    min_confidence: float | None = Field(
        None, ge=0, le=1, description="minimum face confidence (default: yunet 0.5, mtcnn 0.9; haar has none)"
    )
    gallery_tile_px: int = Field(
        112, ge=48, le=720, description="gallery: each video tile is scaled to this height and searched on its own"
    )


MIN_READ_PX = 24
"""Faces narrower than this (frame pixels) are there, their expression not read: ``python bench/small_faces.py``."""


class ModelConfig(_Section):
    path: Path = Field(DEFAULT_MODEL, description="Keras model file; its labels.json must sit beside it")
    min_read_px: int = Field(
        MIN_READ_PX, ge=0, le=512,
        description="a face narrower than this (pixels of the frame) is present, its expression not read (face not "
        "visible): smaller faces carry too little of it, and the model's readings of them lean negative "
        "(bench/small_faces.py); 0: read every face",
    )
    batch_size: int = Field(
        128, ge=1, le=1024, description="face crops per inference call (two crops a face: a 64-face class in one call)"
    )
    engine: Literal["quantized", "lite", "tf"] = Field(
        "quantized",
        description="quantized (TensorFlow Lite, 8-bit weights: the fastest), lite (TensorFlow Lite in float) or "
        "tf (the compiled TensorFlow graph)",
    )


class AnalysisConfig(_Section):
    name: str = Field("", max_length=200, description="session title (default: date and source)")
    interval_s: float = Field(10.0, ge=1, le=3600, description="length of one aggregation interval in seconds")
    layout: Literal["room", "gallery", "auto"] = Field("auto", description="room seats or Zoom gallery tiles")
    seat_match: float = Field(1.0, gt=0, le=5, description="room: max centre distance to a seat, in face widths")
    seat_min_age_s: float = Field(
        2.0, ge=0, le=60,
        description="room: a new place becomes a numbered seat only once seen over this many seconds (a student "
        "stays, a hand or chair back taken for a face does not; at most half of interval_s is used); its readings "
        "meanwhile go to the seat, unless its interval closes first",
    )

    @property
    def seat_min_age(self) -> float:
        """``seat_min_age_s`` as the worker applies it: at most half an interval, since a place's waiting readings are
        kept within its interval only."""
        return min(self.seat_min_age_s, self.interval_s / 2)

    teacher: str | None = Field(
        None, min_length=1, max_length=100, description="dashboard account that owns the session (sees it)"
    )
    classroom: str | None = Field(None, min_length=1, max_length=100, description="room or course label")
    roster: Path | None = Field(None, description="gallery: CSV of display_name, student mapping Zoom names to the class")
    name_match: float = Field(80.0, ge=50, le=100, description="gallery: fuzzy score (0-100) for a name to match")
    mode: Literal["expressions", "presence"] = Field(
        "expressions",
        description="expressions (emotion model) or presence (no emotion inference; the mode for EU schools); "
        "default: the school's setting on the dashboard",
    )
    per_student: bool = Field(True, description="False: store class-level aggregates only, no student labels")


class GalleryConfig(_Section):
    ocr: Literal["rapidocr", "tesseract"] = Field(
        "rapidocr", description="gallery: OCR engine for the name labels (rapidocr: PP-OCRv4 bundled; tesseract)"
    )
    tesseract_lang: str = Field(
        "eng+kor", pattern=r"^[a-z_]+(\+[a-z_]+)*$", max_length=100,
        description="gallery: Tesseract languages (Debian tesseract-ocr-LANG packs), for the tesseract engine and "
        "for the labels rapidocr cannot read (Hangul)",
    )


class StorageConfig(_Section):
    db_url: str = Field(default_factory=default_url, description="SQLAlchemy URL (sqlite:///FILE or postgresql://)")
    retry_initial_s: float = Field(0.5, gt=0, le=60, description="first retry delay when the database is busy/down")
    retry_max_s: float = Field(30.0, gt=0, le=600, description="longest delay between database retries")
    heartbeat_s: float = Field(2.0, gt=0, le=60, description="how often the source status row is refreshed")

    @field_validator("db_url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        from db.engine import refuse_in_memory

        refuse_in_memory(v)  # raises DatabaseURLError (a ValueError) with a one-line message
        return v


class Config(_Section):
    # each section made when a config is loaded, not when this module is imported: a bad DATABASE_URL (read by
    # the storage section's default) is then one error line naming its key, not a traceback at import
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    gallery: GalleryConfig = Field(default_factory=GalleryConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)


def _format(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"]) or "config"
    msg = str(err["msg"]).removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{path}: {msg}{more}"


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(file: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Build the configuration tree; raise ``ConfigError`` with the key path of the first invalid value."""
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {file}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: invalid TOML: {exc}") from exc
    if os.environ.get("DATABASE_URL"):
        data = _merge(data, {"storage": {"db_url": os.environ["DATABASE_URL"]}})
    data = _merge(data, overrides or {})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(exc)) from exc
