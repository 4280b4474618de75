"""Command line: ``python -m monitor run --source SOURCE [options]``, ``python -m monitor demo`` and
``python -m monitor preview --source SOURCE [--out FILE]`` (one annotated frame to check a Zoom gallery setup).

Bad input (a missing file, an unreadable video, an unknown source string, an invalid option or config value, a
missing model, a bad roster file) is reported as one ``error:`` line on stderr with exit code 2, before any session is opened.
SIGINT (Ctrl+C) and SIGTERM end the session cleanly: the open interval is written and the session closed.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# FFmpeg and TensorFlow write their own diagnostics straight to stderr; the worker reports problems itself, in
# one line, so theirs are silenced before either library is loaded.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line and exit 2, like every other input error
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m monitor", description="ClassMood capture worker.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="monitor a class from a video source", description=__doc__.replace("``", ""))
    run.add_argument("--source", help="video file, camera index (0), rtsp:// or http(s):// URL, screen, screen:N "
                     "(monitor N), screen:LEFT,TOP,WIDTH,HEIGHT, window:TITLE, or a folder of images")
    run.add_argument("--roster", type=Path, help="gallery: CSV with columns display_name, student (the class list)")
    from monitor.preview import add_arguments as preview_arguments

    preview = sub.add_parser("preview", help="save one annotated frame (tiles, names, faces) to check the setup")
    preview_arguments(preview)
    from monitor.analyse import add_arguments as analyse_arguments

    analyse = sub.add_parser("analyse", help="analyse image files as the worker analyses a frame; stores nothing")
    analyse_arguments(analyse)
    replay = sub.add_parser("replay", help="write intervals saved while the database was unreachable")
    replay.add_argument("file", type=Path, nargs="?", help="a journal or spool file the worker named when it stopped")
    replay.add_argument("--pending", action="store_true",
                        help="every journal no running worker holds (a worker killed, a database that was down)")
    replay.add_argument("--db", help="database URL (default: SQLite in the user data folder; or DATABASE_URL)")
    from monitor.reflag import add_arguments as reflag_arguments

    reflag = sub.add_parser("reflag", help="recompute a stored session's attention flags with the current settings")
    reflag_arguments(reflag)
    demo = sub.add_parser("demo", help="monitor the bundled demo classroom video in real time")
    demo.add_argument("--seconds", type=int, default=180, help="length of the demo class (default 180)")
    for p in (run, demo):
        p.add_argument("--interval", type=float, help="seconds per aggregation interval (default 10)")
        p.add_argument("--fps", type=float, help="frames analysed per second (default 2)")
        p.add_argument("--db", help="database URL (default: SQLite in the user data folder; or DATABASE_URL)")
        p.add_argument("--name", help="session title")
        p.add_argument("--teacher", help="dashboard account that owns the session (a teacher sees only their own)")
        p.add_argument("--classroom", help="room or course label stored with the session")
        p.add_argument("--layout", choices=["room", "gallery", "auto"], help="room seats or Zoom gallery tiles")
        p.add_argument("--detector", choices=["yunet", "mtcnn", "haar"], help="face detector")
        p.add_argument("--model", type=Path, help="emotion model file (.keras, with labels.json beside it)")
        p.add_argument("--config", type=Path, help="TOML configuration file")
        p.add_argument("--mode", choices=["expressions", "presence"],
                       help="presence: no emotion inference, only who is seen (default: the school's setting)")
        p.add_argument("--no-per-student", dest="per_student", action="store_false", default=None,
                       help="store class-level aggregates only, no student labels")
        p.add_argument("--realtime", action="store_true", default=None,
                       help="pace a video file or image folder to the wall clock")
        p.add_argument("--validate-config", action="store_true", help="check the configuration and exit")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    pairs = {
        ("capture", "source"): getattr(args, "source", None),
        ("capture", "fps"): args.fps,
        ("capture", "realtime"): args.realtime,
        ("analysis", "interval_s"): args.interval,
        ("analysis", "name"): args.name,
        ("analysis", "layout"): args.layout,
        ("analysis", "teacher"): args.teacher,
        ("analysis", "classroom"): args.classroom,
        ("analysis", "roster"): getattr(args, "roster", None),
        ("analysis", "mode"): args.mode,
        ("analysis", "per_student"): args.per_student,
        ("detector", "kind"): args.detector,
        ("model", "path"): args.model,
        ("storage", "db_url"): args.db,
    }
    out: dict[str, dict[str, Any]] = {}
    for (section, key), value in pairs.items():
        if value is not None:
            out.setdefault(section, {})[key] = value
    return out


def replay_journals(file: Path | None, db_url: str | None) -> int:
    """Write unfinished journals (all of them, or one file) exactly once; each is removed once fully stored."""
    from db.engine import DatabaseURLError, normalise_url
    from monitor.journal import replay_journal, replay_pending

    try:
        if db_url is not None:
            normalise_url(db_url)
    except DatabaseURLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if file is not None:
        if not file.is_file():
            print(f"error: {file}: no such journal file", file=sys.stderr)
            return EXIT_USAGE
        one = replay_journal(file, db_url)
        if one is None:
            print(f"error: {file} is held by a running worker", file=sys.stderr)
            return EXIT_USAGE
        results = [one]
    else:
        results = replay_pending(db_url)
    status = EXIT_OK
    for r in results:
        if r.complete:
            print(f"session {r.session_id}: {r.intervals} interval(s) written from {r.path}", file=sys.stderr)
        elif r.session_id is None and r.intervals == 0 and r.error and "journal" in r.error:
            print(f"error: {r.error}", file=sys.stderr)
            status = max(status, EXIT_USAGE)
        else:
            print(f"error: database unavailable ({r.error}); nothing lost, still in {r.path}", file=sys.stderr)
            status = max(status, EXIT_FAILED)
    if not results:
        print("no unfinished journal", file=sys.stderr)
    return status


def replay(file: Path | None, db_url: str | None, pending: bool = False) -> int:
    """Write a spool file's (or journals') operations to the database; the file is removed once everything is
    stored. Every operation is idempotent, so a replay run twice, or cut short and run again, writes nothing twice."""
    from db.engine import DatabaseURLError, default_url, normalise_url
    from monitor.spool import load
    from monitor.storage import StorageWriter

    if pending or (file is not None and file.suffix == ".jsonl"):
        return replay_journals(file, db_url)
    if file is None:
        print("error: give a spool file or --pending (see python -m monitor replay --help)", file=sys.stderr)
        return EXIT_USAGE
    try:
        url = db_url or default_url()
        normalise_url(url)
        session_id, ops = load(file)
    except (ValueError, DatabaseURLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    writer = StorageWriter(url, retry_initial_s=0.5, retry_max_s=2.0, shutdown_timeout_s=10.0)
    writer.session_id = session_id
    writer.start()
    for op in ops:
        writer.put(op)
    writer.close(None)
    writer.join()
    if writer.spool_file is not None:
        print(f"error: database unavailable ({writer.last_error}); nothing lost, still in {writer.spool_file}",
              file=sys.stderr)
        return EXIT_FAILED
    file.unlink()
    print(f"session {writer.session_id}: {writer.intervals_written} interval(s) written from {file}", file=sys.stderr)
    return EXIT_OK


def _replay_orphans(open_engines: dict[str, Engine]) -> threading.Thread:
    """Journals left by a worker that died (or by a database that stayed down) are written at every start, beside
    the class, never delaying it: each replay is idempotent, so one cut short by the end of the class is simply
    done again at the next start. Those of the worker's own database go through its engine (``open_engines``)."""
    from monitor.journal import replay_pending

    def _replay() -> None:
        try:
            replay_pending(shutdown_timeout_s=5.0, open_engines=open_engines)
        except Exception as exc:  # noqa: BLE001 - an old journal must never disturb today's class
            logging.getLogger(__name__).warning("unfinished journals not replayed: %s", exc)

    thread = threading.Thread(target=_replay, name="journal-replay", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "replay":
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        return replay(args.file, args.db, args.pending)
    if args.command == "analyse":
        from monitor.analyse import run_analyse

        return run_analyse(args)
    if args.command == "preview":
        from monitor.preview import run_preview

        return run_preview(args)
    if args.command == "reflag":
        from monitor.reflag import run_reflag

        return run_reflag(args.session, args.db)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from db.engine import DatabaseURLError
    from models.classifier import ModelError
    from monitor.config import ConfigError, load_config
    from monitor.identity import RosterError
    from monitor.sources import SourceError
    from monitor.storage import UnwritableDatabase

    try:
        overrides = _overrides(args)
        if args.command == "demo":
            from monitor.demo import demo_video

            try:
                video = demo_video(args.seconds)
            except ValueError as exc:  # too short a demo: bad input, one line
                raise ConfigError(f"--seconds: {exc}") from None
            overrides.setdefault("capture", {}).update(source=str(video), realtime=True)
            overrides.setdefault("analysis", {}).setdefault("name", "Demo class")
            overrides["analysis"].setdefault("layout", "room")
        config = load_config(args.config, overrides)
        if not config.capture.source:
            raise ConfigError("capture.source: no source given (use --source or the config file)")
        from monitor.sources import parse_source
        from monitor.sources.spec import refuse_one_image

        refuse_one_image(parse_source(config.capture.source))  # before the database is opened or a model loaded
        if args.validate_config:
            print("configuration is valid")
            return EXIT_OK
        from monitor.worker import Worker, prepare

        prepared = prepare(config)  # the run's one engine; a read-only database is refused before the class starts
    except (ConfigError, DatabaseURLError, SourceError, ModelError, RosterError, UnwritableDatabase) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("%s received: closing the session", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    from db.engine import session_factory
    from db.privacy import RetentionKeeper

    engine = prepared.engine
    assert engine is not None  # prepare opens it
    RetentionKeeper(session_factory(engine), stop).start()  # now and daily
    replayer = _replay_orphans({prepared.config.storage.db_url: engine} if prepared.migrated else {})
    worker = Worker(prepared)
    from monitor.startup import startup_frozen

    with startup_frozen():  # the model, detector and database are loaded: collections walk only what the class makes
        summary = worker.run(stop)
    replayer.join(timeout=5)  # a short class: let an old journal's replay finish (it is idempotent if cut short)
    engine.dispose()
    print(
        f"session {summary.session_id}: {summary.intervals_written} interval(s) stored, "
        f"{summary.frames_analysed} frame(s) analysed, {summary.frames_skipped} skipped, "
        f"{summary.students} student(s)",
        file=sys.stderr,
    )
    if worker.storage.rejected:
        print(f"error: the database refused {len(worker.storage.rejected)} operation(s) for good "
              f"({worker.storage.rejected[0][1]})", file=sys.stderr)
    if summary.intervals_unwritten:
        where = f"kept in {worker.storage.spool_file}" if worker.storage.spool_file else "lost"
        print(f"error: {summary.intervals_unwritten} interval(s) could not be written to the database ({where})",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if worker.storage.rejected else EXIT_OK
