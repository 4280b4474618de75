"""The analysis loop: source events in, interval aggregates out to the storage thread.

Everything that can be wrong with the user's input (source, model, configuration) is checked in ``prepare`` before
a session is opened, so the command line can exit with a clear message; once running, nothing in the loop may crash
it: bad frames are skipped and counted, a dropped source is the source's watchdog's job, a database outage is the
storage thread's. ``stop`` (set by SIGINT/SIGTERM) ends the loop, and the open interval is flushed and the session
closed with its end time.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from db.engine import make_engine, redact, session_factory
from db.settings import AnalysisSettings, FlagSettings, SettingsError, load_analysis_settings, load_flag_settings
from monitor.aggregate import Aggregator, IntervalAggregate
from monitor.analyse import FrameAnalyser
from monitor.config import Config
from monitor.detections import FaceDetector, make_detector
from monitor.flags import FlagEngine, FlagEvent
from monitor.frame import CorruptFrame, Frame, SourceState
from monitor.identity import Roster
from monitor.journal import journal_dir, open_journal
from monitor.predictions import Classifier
from monitor.privacy import PresenceOnly, presence_rules_only, school_privacy
from monitor.sources import FrameSource, open_source, parse_source
from monitor.sources.base import one_line
from monitor.storage import (
    FlagOp,
    OpenSession,
    SetLayout,
    Status,
    StorageWriter,
    UnwritableDatabase,
    folder_takes_files,
    probe_writable,
)

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    session_id: int | None
    intervals_written: int
    intervals_unwritten: int
    frames_analysed: int
    frames_skipped: int
    students: int


@dataclass
class Prepared:
    config: Config
    source: FrameSource
    detector: FaceDetector
    classifier: Classifier
    model_name: str
    flag_settings: FlagSettings = field(default_factory=FlagSettings)
    roster: Roster | None = None
    # the run's one engine, shared by the storage thread, retention and the journal replay; the caller disposes it
    engine: Engine | None = None
    migrated: bool = False  # its schema was brought to head at start (False: the database was away)


@dataclass(frozen=True)
class FrameAnalysis:
    """One analysed frame: each named face's probabilities, and each student there without a readable face."""

    labelled: list[tuple[str, npt.NDArray[np.float32]]]
    presence: dict[str, str] = field(default_factory=dict)  # student -> camera_off | face_not_visible
    waiting: list[tuple[int, npt.NDArray[np.float32]]] = field(default_factory=list)  # room: (place, probs)
    promoted: dict[int, str] = field(default_factory=dict)  # room: place -> the new seat it became (so far)


def read_db_settings(engine: Engine) -> tuple[FlagSettings, AnalysisSettings]:
    """The attention-flag rules and analysis options stored in the database; the defaults if it cannot be read right
    now (a class does not wait for the database: the storage thread buffers until it is back)."""
    try:
        with session_factory(engine)() as s:
            return load_flag_settings(s), load_analysis_settings(s)
    except (SQLAlchemyError, SettingsError) as exc:
        log.warning("using the default flag rules and analysis options: cannot read them from the database (%s)",
                    one_line(exc))
        return FlagSettings(), AnalysisSettings()


def open_database(db_url: str) -> tuple[Engine, bool]:
    """The run's one engine, its schema brought to head (True) unless the database is away now (False); raises
    UnwritableDatabase for a database that answers but refuses writes."""
    try:
        engine = make_engine(db_url)
    except (OSError, SQLAlchemyError) as exc:
        raise UnwritableDatabase(f"cannot open the database: {exc}") from exc
    try:
        return engine, probe_writable(engine)  # a read-only database is refused before the class starts
    except BaseException:
        engine.dispose()
        raise


def refuse_nowhere_to_keep(db_url: str) -> None:
    """With the database away at start the class is kept in the journal (the data folder) until it is back; where
    that folder takes no file either, nothing measured could be kept: a setting to fix before the class, not a loss
    found after it (raises UnwritableDatabase)."""
    folder = journal_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        pass
    if not folder_takes_files(folder):
        raise UnwritableDatabase(
            f"the database {redact(db_url)} does not answer, and the data folder {folder} takes no new file to "
            "keep the class in until it does (read-only? set CLASSMOOD_HOME to a writable folder)"
        )


def apply_analysis_settings(config: Config, settings: AnalysisSettings) -> Config:
    """The dashboard's analysis options in place of the built-in defaults; values set explicitly (command line,
    config file, environment) are kept."""
    capture = config.capture
    analysis = config.analysis
    if "fps" not in capture.model_fields_set:
        capture = capture.model_copy(update={"fps": settings.fps})
    update = {k: getattr(settings, k) for k in ("interval_s", "layout") if k not in analysis.model_fields_set}
    if update:
        analysis = analysis.model_copy(update=update)
    return config.model_copy(update={"capture": capture, "analysis": analysis})


def prepare(config: Config) -> Prepared:
    """Open the database (once, for the whole run), the source, and load the detector and model; raises
    UnwritableDatabase/SourceError/ModelError/RosterError with one-line messages. The caller disposes
    ``Prepared.engine`` once the run is over."""
    from models.classifier import EmotionClassifier

    engine, migrated = open_database(config.storage.db_url)
    try:
        if not migrated:
            refuse_nowhere_to_keep(config.storage.db_url)
        spec = parse_source(config.capture.source)
        roster = Roster.load(config.analysis.roster) if config.analysis.roster is not None else None
        flag_settings, analysis_settings = read_db_settings(engine)
        config = apply_analysis_settings(config, analysis_settings)
        config = school_privacy(config, engine)  # ConfigError if locked; the last settings kept if the database is down
        presence = config.analysis.mode == "presence"
        cap = config.capture
        # the source first: a wrong path or a corrupt file is reported before seconds of TensorFlow start-up
        source = open_source(
            spec,
            cap.fps,
            realtime=cap.realtime,
            stall_timeout_s=cap.stall_timeout_s,
            reconnect_initial_s=cap.reconnect_initial_s,
            reconnect_max_s=cap.reconnect_max_s,
        )
    except BaseException:
        engine.dispose()
        raise
    try:
        classifier: Classifier = (
            PresenceOnly()
            if presence
            else EmotionClassifier(config.model.path, batch_size=config.model.batch_size, engine=config.model.engine)
        )
        det = config.detector
        detector = make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)
    except BaseException:
        source.close()
        engine.dispose()
        raise
    model_name = PresenceOnly.name if presence else Path(config.model.path).name
    return Prepared(config, source, detector, classifier, model_name, flag_settings, roster, engine, migrated)


def default_session_name(started_at: dt.datetime, display: str, limit: int = 200) -> str:
    """Date and source, fitted to the session name's column: a long path keeps its end (the file name)."""
    prefix = f"{started_at.astimezone():%Y-%m-%d %H:%M} "
    room = limit - len(prefix)
    if len(display) > room:
        display = "\u2026" + display[-(room - 1):]
    return prefix + display


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Worker:
    def __init__(self, prepared: Prepared, storage: StorageWriter | None = None) -> None:
        self.p = prepared
        cfg = prepared.config
        self.storage = storage or StorageWriter(
            cfg.storage.db_url, cfg.storage.retry_initial_s, cfg.storage.retry_max_s,
            engine=prepared.engine, migrated=prepared.migrated,
        )
        self.layout = cfg.analysis.layout
        self.frames = FrameAnalyser(
            prepared.detector, prepared.classifier, self.layout, tile_px=cfg.detector.gallery_tile_px,
            roster=prepared.roster, name_match=cfg.analysis.name_match, seat_match=cfg.analysis.seat_match,
            seat_min_age_s=cfg.analysis.seat_min_age,
            ocr=cfg.gallery.ocr, tesseract_lang=cfg.gallery.tesseract_lang, min_read_px=cfg.model.min_read_px,
        )
        presence = cfg.analysis.mode == "presence"
        self.flags = FlagEngine(presence_rules_only(prepared.flag_settings) if presence else prepared.flag_settings)
        self.students: set[str] = set()
        self.frame_errors = 0
        self.online: bool | None = None  # unknown until the first frame or source event
        self.was_offline = False
        self.reconnects = 0
        self.detail: str | None = None

    def run(self, stop: threading.Event) -> RunSummary:
        cfg = self.p.config
        started_at = _now()
        spec = self.p.source.spec
        name = cfg.analysis.name or default_session_name(started_at, spec.display)
        uid = uuid.uuid4().hex
        if self.storage.journal is None:
            self.storage.journal = open_journal(uid, self.storage.db_url)
        self.storage.start()
        self.storage.put(
            OpenSession(
                name=name, source=spec.display, layout=self.layout, interval_s=cfg.analysis.interval_s,
                fps=cfg.capture.fps, detector=self.p.detector.name, model=self.p.model_name, started_at=started_at,
                teacher=cfg.analysis.teacher, classroom=cfg.analysis.classroom,
                roster=tuple(self.p.roster.students) if self.p.roster is not None else (), uid=uid,
                mode=cfg.analysis.mode, per_student=cfg.analysis.per_student,
            )
        )
        agg = Aggregator(started_at, cfg.analysis.interval_s, 1.0 / cfg.capture.fps,
                         emotions=cfg.analysis.mode == "expressions", per_student=cfg.analysis.per_student)
        next_beat = 0.0
        log.info("session %r started: %s, %s layout, %s mode, every %.0f s", name, spec.display, self.layout,
                 cfg.analysis.mode, cfg.analysis.interval_s)
        try:
            for event in self.p.source.events(stop):
                if isinstance(event, Frame):
                    try:
                        labelled = self._analyse(event)
                    except Exception as exc:  # noqa: BLE001 - one bad frame in a library must not end the class
                        self.frame_errors += 1
                        if self.frame_errors == 1 or self.frame_errors % 100 == 0:
                            log.warning("frame at %.1f s skipped: analysis failed (%d so far): %s", event.t,
                                        self.frame_errors, one_line(exc) or type(exc).__name__)
                        self._store(agg.add_skipped(event.t))
                    else:
                        self._store(agg.add_frame(event.t, labelled.labelled, labelled.presence,
                                                  labelled.waiting, labelled.promoted))
                elif isinstance(event, CorruptFrame):
                    log.debug("skipped frame at %.1f s: %s", event.t, event.reason)
                    self._store(agg.add_skipped(event.t))
                elif isinstance(event, SourceState):
                    self._source_changed(event, agg)
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + cfg.storage.heartbeat_s
                    self.storage.put(self._status(agg, "online" if self.online else "offline"))
                if stop.is_set():
                    break
        finally:
            self.p.source.close()
            last = agg.flush()
            if last is not None:
                self._store([last])
            live = self.p.source.live
            ended_at = _now() if live else started_at + dt.timedelta(seconds=agg.last_t + 1.0 / cfg.capture.fps)
            self._flag(self.flags.finish(ended_at))
            self.storage.put(self._status(agg, "ended", at=ended_at, event=True))
            self.storage.close(ended_at)
            self.storage.join()
        return RunSummary(
            session_id=self.storage.session_id,
            intervals_written=self.storage.intervals_written,
            intervals_unwritten=self.storage.unwritten_intervals(),
            frames_analysed=agg.total_analysed,
            frames_skipped=agg.total_skipped,
            students=len(self.students),
        )

    def _analyse(self, frame: Frame) -> FrameAnalysis:
        if self.online is None:  # a file or folder has no watchdog events: its first frame means it is online
            self.online = True
        result = self.frames.analyse(frame)
        if self.layout != self.frames.layout:  # "auto" resolved on this frame
            self.layout = self.frames.layout
            self.storage.put(SetLayout(self.layout))
            log.info("layout resolved to %s", self.layout)
        out = result.labelled
        self.students.update(label for label, _ in out)
        self.students.update(result.presence)
        return FrameAnalysis(out, result.presence, result.waiting, result.promoted)

    def _store(self, closed: list[IntervalAggregate]) -> None:
        for interval in closed:
            self.storage.put(interval)  # journaled (on disk) before it is reported as closed
            counts = ", ".join(f"{k} {v}" for k, v in interval.counts().items() if v)
            log.info(
                "interval %s-%s: %d student(s)%s; %d frame(s) analysed, %d skipped",
                f"{interval.start.astimezone():%H:%M:%S}", f"{interval.end.astimezone():%H:%M:%S}",
                interval.students_seen, f" ({counts})" if counts else "", interval.frames_analysed,
                interval.frames_skipped,
            )
            self._flag(self.flags.observe(interval))

    def _flag(self, events: list[FlagEvent]) -> None:
        for ev in events:
            if ev.student is not None and not self.p.config.analysis.per_student:
                continue  # class-only storage: a flag naming a student would store the label
            if ev.kind == "open":
                log.warning("needs attention: %s", ev.reason)
            elif ev.kind == "close":
                log.info("cleared: %s", ev.reason)
            self.storage.put(FlagOp(ev.kind, ev.rule, ev.student, ev.start, ev.end, ev.severity, ev.reason,
                                    dict(ev.evidence), ev.frames))

    def _source_changed(self, event: SourceState, agg: Aggregator) -> None:
        """Record a change of the source's state once; a return after an outage counts as a reconnect."""
        if event.online == self.online:
            return
        if event.online and self.was_offline:
            self.reconnects += 1
        self.was_offline = self.was_offline or not event.online
        self.online = event.online
        self.detail = None if event.online else (event.detail or "no frames")
        state = "online" if event.online else "offline"
        (log.info if event.online else log.warning)("source %s%s", state, f": {event.detail}" if event.detail else "")
        self.storage.put(self._status(agg, state, event=True))

    def _status(self, agg: Aggregator, state: str, at: dt.datetime | None = None, event: bool = False) -> Status:
        return Status(
            state=state, at=at or _now(), frames_analysed=agg.total_analysed, frames_skipped=agg.total_skipped,
            reconnects=self.reconnects, detail=self.detail, event=event,
        )
