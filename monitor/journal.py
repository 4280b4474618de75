"""The worker's crash-proof journal: every measurement on disk before it is queued for the database.

A session's journal is one JSON Lines file in the data folder (``journal/<uid>.jsonl``, readable by its owner only).
Its first line names the session's ``uid`` and the database; then each closed interval (with its presence rows), flag
event and source state change is appended and fsynced *before* the storage thread is asked to write it, and a
``{"done": seq}`` line follows once the database committed it (``{"rejected": seq}`` when the database refused it for
good). A worker holds an exclusive ``flock`` on its journal while it runs, so a journal nobody holds belongs to a
worker that died (kill -9, a power cut) or gave up on a database that was down.

``replay_pending`` writes such journals exactly once: every operation is idempotent on its natural key (the session
by ``uid``, an interval by session and start, a flag by rule, student and start, a source event by time and state),
so a journal replayed twice, or a replay cut short and run again, never duplicates a row; a session the worker did
not close is closed as ``interrupted`` at the end of its last interval. A journal fully written is deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db.engine import data_dir, redact
from monitor.aggregate import IntervalAggregate, PresenceAggregate, StudentAggregate
from monitor.storage import CloseSession, FlagOp, Op, OpenSession, SetLayout, Status, StorageWriter

log = logging.getLogger(__name__)

FILE_MODE = 0o600
_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (OpenSession, SetLayout, IntervalAggregate, Status, CloseSession, FlagOp)
}


def journal_dir() -> Path:
    return data_dir() / "journal"


# -- encoding (shared with monitor.spool) ----------------------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, StudentAggregate):
        return {"student": value.student, "frames_seen": value.frames_seen, "probs": list(value.probs)}
    if isinstance(value, PresenceAggregate):
        return dataclasses.asdict(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def _decode_field(name: str, value: Any) -> Any:
    if isinstance(value, dict) and "$dt" in value:
        return dt.datetime.fromisoformat(value["$dt"])
    if name == "students":
        return tuple(StudentAggregate(s["student"], int(s["frames_seen"]), tuple(s["probs"])) for s in value)
    if name == "presence":
        return tuple(PresenceAggregate(p["student"], int(p["frames_camera_off"]), int(p["frames_face_not_visible"]))
                     for p in value)
    if name == "roster":
        return tuple(value)
    return value


def encode_op(op: Op) -> dict[str, Any]:
    return {"type": type(op).__name__, **{f.name: _encode(getattr(op, f.name)) for f in dataclasses.fields(op)}}


def decode_op(raw: dict[str, Any]) -> Op:
    """Raises KeyError/TypeError/ValueError on anything that is not an encoded operation."""
    raw = dict(raw)
    op: Op = _TYPES[raw.pop("type")](**{k: _decode_field(k, v) for k, v in raw.items()})
    return op


def _open_private(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # an existing file made by an older version, or under a loose umask
    return fd


def fsync_dir(folder: Path) -> None:
    """Make a new or renamed file's name durable, not only its bytes."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
    """One session's journal, open for appending and locked while the worker (or a replay) owns it.

    Appends are thread-safe (the worker appends operations, the storage thread marks them done). A journal that
    cannot be written (disk full, folder gone) reports it once and is then ``broken``: the class goes on, the
    database path still works, and what the storage thread cannot write is spooled at the end as before.
    """

    def __init__(self, path: Path, fd: int, next_seq: int = 1) -> None:
        self.path = path
        self._fd = fd
        self._next = next_seq
        self._lock = threading.Lock()
        self.broken: str | None = None

    @classmethod
    def create(cls, uid: str, db_url: str, folder: Path | None = None) -> Journal:
        """A new journal for session ``uid``; raises OSError if it cannot be created."""
        folder = folder or journal_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{uid}.jsonl"
        # made under another name, locked and headed, then renamed: a replay never sees it unlocked or headless
        tmp = folder / f".{uid}.new"
        fd = _open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        journal = cls(path, fd)
        try:
            journal._write({"journal": 1, "uid": uid, "db": db_url})
            os.rename(tmp, path)
        except OSError:
            journal.release()
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(folder)
        return journal

    @classmethod
    def claim(cls, path: Path) -> Journal | None:
        """Lock an existing journal for replay; None when a running worker holds it."""
        try:
            fd = _open_private(path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            return None  # another replay finished it a moment ago
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(path)
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)  # held by a running worker, or finished and removed while we waited for the lock
            return None
        return cls(path, fd)

    def _write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._lock:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"short write to {self.path} ({written} of {len(data)} bytes)")
            os.fsync(self._fd)

    def _guarded(self, record: dict[str, Any]) -> bool:
        if self.broken is not None:
            return False
        try:
            self._write(record)
        except OSError as exc:
            self.broken = str(exc)
            log.error("journal %s cannot be written (%s): measurements are now kept in memory only until the "
                      "database takes them", self.path, exc)
            return False
        return True

    def append(self, op: Op) -> int | None:
        """Append ``op`` and fsync it; its sequence number, or None if the journal is broken."""
        with self._lock:
            seq = self._next
            self._next += 1
        return seq if self._guarded({"seq": seq, "op": encode_op(op)}) else None

    def done(self, seq: int) -> None:
        self._guarded({"done": seq})

    def rejected(self, seq: int, error: str) -> None:
        """The database refused this operation for good: set it aside (kept in the file, never replayed)."""
        self._guarded({"rejected": seq, "error": error})

    def release(self) -> None:
        """Unlock and close, keeping the file (something is still unwritten)."""
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1

    def finish(self) -> None:
        """Everything is in the database: remove the journal."""
        self.release()
        self.path.unlink(missing_ok=True)

    def set_aside(self) -> Path:
        """Everything the database would take is in it, but it refused some operations for good: keep the file,
        under a name no replay picks up, for a person to look at."""
        self.release()
        kept = self.path.with_name(self.path.name + ".rejected")
        os.replace(self.path, kept)
        return kept


def open_journal(uid: str, db_url: str) -> Journal | None:
    """The journal for a new session, or None (said once) if the data folder cannot take one."""
    try:
        return Journal.create(uid, db_url)
    except OSError as exc:
        log.error("no journal for this session (%s): a crash while the database is away would lose intervals", exc)
        return None


@dataclass
class JournalContent:
    uid: str | None
    db_url: str | None
    ops: list[tuple[int, Op]]  # every operation in order
    done: set[int]
    rejected: set[int]

    @property
    def pending(self) -> list[tuple[int, Op]]:
        return [(seq, op) for seq, op in self.ops if seq not in self.done and seq not in self.rejected]

    @property
    def closed(self) -> bool:
        """The worker itself queued the session's end (it ran to the end, whatever the database did)."""
        return any(isinstance(op, CloseSession) for _, op in self.ops)

    def last_interval_end(self) -> dt.datetime | None:
        ends = [op.end for _, op in self.ops if isinstance(op, IntervalAggregate)]
        return max(ends) if ends else None


def read(path: Path) -> JournalContent:
    """Parse a journal; a torn last line (the crash came mid-write) is ignored. Raises ValueError if it is not one."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    content = JournalContent(None, None, [], set(), set())
    for number, line in enumerate(lines):
        try:
            record = json.loads(line)
            if number == 0:
                if record.get("journal") != 1:
                    raise ValueError("no journal header")
                content.uid, content.db_url = str(record["uid"]), record.get("db")
            elif "seq" in record:
                content.ops.append((int(record["seq"]), decode_op(record["op"])))
            elif "done" in record:
                content.done.add(int(record["done"]))
            elif "rejected" in record:
                content.rejected.add(int(record["rejected"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if number == 0:
                raise ValueError(f"not a ClassMood journal: {path} ({exc})") from exc
            if number == len(lines) - 1:
                log.info("journal %s: ignoring a torn last line", path.name)
                continue
            raise ValueError(f"journal {path} is damaged at line {number + 1} ({exc})") from exc
    return content


@dataclass
class ReplayResult:
    path: Path
    session_id: int | None
    intervals: int
    complete: bool
    error: str | None = None


def replay_journal(
    path: Path, db_url: str | None = None, shutdown_timeout_s: float = 10.0,
    open_engines: Mapping[str, Engine] | None = None,
) -> ReplayResult | None:
    """Write one unheld journal's unfinished operations; None if a running worker holds it.

    The session is found by its uid (created if it never reached the database), every operation is idempotent,
    and a session its worker never closed is closed as ``interrupted`` at the end of its last interval.
    ``open_engines``: engines already open on migrated databases, by URL (the running worker's): a journal of one of
    them is written through it instead of a new engine.
    """
    journal = Journal.claim(path)
    if journal is None:
        return None
    try:
        content = read(path)
    except ValueError as exc:
        journal.release()
        return ReplayResult(path, None, 0, False, str(exc))
    url = db_url or content.db_url
    if url is None:
        journal.release()
        return ReplayResult(path, None, 0, False, f"journal {path} names no database (use --db)")
    gone = _missing_sqlite_file(url)
    if gone is not None:  # never create an empty database where the class's one was (a moved or deleted file)
        journal.release()
        return ReplayResult(path, None, 0, False, f"no database file at {gone}")
    journal._next = max((seq for seq, _ in content.ops), default=0) + 1
    engine = (open_engines or {}).get(url)
    writer = StorageWriter(url, retry_initial_s=0.5, retry_max_s=2.0, shutdown_timeout_s=shutdown_timeout_s,
                           journal=journal, engine=engine, migrated=engine is not None)
    opening = next(((seq, op) for seq, op in content.ops if isinstance(op, OpenSession)), None)
    pending = content.pending
    if opening is not None and opening not in pending:
        pending.insert(0, opening)  # already written: replaying it only finds the session by uid
    if not content.closed:
        started = opening[1].started_at if opening is not None else None
        end = content.last_interval_end() or started
        if end is not None:
            interrupted = CloseSession(end, state="interrupted")
            seq = journal.append(interrupted)
            pending.append((seq if seq is not None else 0, interrupted))
    writer.start()
    for seq, op in pending:
        writer.put(op, seq=seq or None)
    writer.close(None)
    writer.join()
    complete = writer.backlog == 0  # the writer has removed the journal, set it aside or released it
    return ReplayResult(path, writer.session_id, writer.intervals_written, complete,
                        None if complete else writer.last_error)


def _missing_sqlite_file(url: str) -> Path | None:
    from db.engine import DatabaseURLError, normalise_url

    try:
        parsed = normalise_url(url)
    except DatabaseURLError:
        return None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser()
        return None if path.is_file() else path
    return None


def replay_pending(db_url: str | None = None, folder: Path | None = None, shutdown_timeout_s: float = 10.0,
                   open_engines: Mapping[str, Engine] | None = None) -> list[ReplayResult]:
    """Replay every journal no running worker holds (``db_url``: only those for that database; ``open_engines``: as
    for ``replay_journal``)."""
    folder = folder or journal_dir()
    results: list[ReplayResult] = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        if db_url is not None:
            try:
                header = json.loads(path.open("rb").readline() or b"{}")
            except (OSError, ValueError):
                continue
            if header.get("db") != db_url:
                continue
        result = replay_journal(path, None, shutdown_timeout_s, open_engines)
        if result is None:
            continue
        results.append(result)
        if result.complete:
            log.info("journal %s: session %s, %d interval(s) written", path.name, result.session_id, result.intervals)
        else:
            log.warning("journal %s not fully written yet (%s); kept for the next replay", path.name,
                        redact(result.error or "database unavailable"))
    return results
