"""The last resort against losing measurements: storage operations the database never accepted, saved to a file.

When the worker shuts down while the database is still unreachable (after the storage thread's shutdown timeout),
the buffered operations are written as JSON to the user's data folder; ``python -m monitor replay FILE`` writes them
to the database later, into the same session if it had been created. The file holds the same aggregates the
database would: no images.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from db.engine import data_dir
from monitor.aggregate import IntervalAggregate, PresenceAggregate, StudentAggregate
from monitor.storage import CloseSession, FlagOp, Op, OpenSession, SetLayout, Status

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (OpenSession, SetLayout, IntervalAggregate, Status, CloseSession, FlagOp)
}


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


def dump(ops: list[Op], session_id: int | None, folder: Path | None = None) -> Path:
    folder = folder or data_dir() / "spool"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"unwritten-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}.json"
    payload = {
        "session_id": session_id,
        "ops": [{"type": type(op).__name__, **{f.name: _encode(getattr(op, f.name)) for f in dataclasses.fields(op)}}
                for op in ops],
    }
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def load(path: Path) -> tuple[int | None, list[Op]]:
    """Read a spool file; raises ValueError with one line if it is not one."""
    try:
        payload = json.loads(path.read_text())
        ops = [
            _TYPES[raw.pop("type")](**{k: _decode_field(k, v) for k, v in raw.items()}) for raw in payload["ops"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a ClassMood spool file: {path} ({exc})") from exc
    session_id = payload.get("session_id")
    return (int(session_id) if session_id is not None else None), ops
