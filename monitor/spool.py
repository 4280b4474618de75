"""The last resort when even the journal could not be written: operations the database never accepted, in a file.

Normally the worker's journal (``monitor.journal``) keeps what the database has not taken. If the journal itself
failed (its folder unwritable, the disk full when the session began) and the database is still unreachable when the
class ends, the buffered operations are written as JSON to the user's data folder; ``python -m monitor replay FILE``
writes them later, into the same session if it had been created. The file holds the same aggregates the database
would: no images. It is written atomically (a temporary file, fsynced, renamed), so a full disk leaves either the
whole file or none, never an empty one, and it is readable by its owner only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path

from db.engine import data_dir
from monitor.journal import FILE_MODE, decode_op, encode_op, fsync_dir
from monitor.storage import Op


def dump(ops: list[Op], session_id: int | None, folder: Path | None = None) -> Path:
    """Write ``ops`` atomically; raises OSError (and leaves nothing behind) if the file cannot be written whole."""
    folder = folder or data_dir() / "spool"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"unwritten-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}.json"
    payload = {"session_id": session_id, "ops": [encode_op(op) for op in ops]}
    write_atomic(path, (json.dumps(payload, indent=1) + "\n").encode())
    return path


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def load(path: Path) -> tuple[int | None, list[Op]]:
    """Read a spool file; raises ValueError with one line if it is not one."""
    try:
        payload = json.loads(path.read_text())
        ops = [decode_op(raw) for raw in payload["ops"]]
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: no such file (a replayed file is removed once all of it is written)") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a ClassMood spool file: {path} ({exc})") from exc
    session_id = payload.get("session_id")
    return (int(session_id) if session_id is not None else None), ops
