"""What a worker process does once everything long-lived is loaded (TensorFlow and the model, the detector,
SQLAlchemy and Alembic; the gallery's OCR loads later, on its first frame): :func:`startup_frozen` for the length of
the class."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def startup_frozen() -> Iterator[None]:
    """Move every object alive now out of the garbage collector's reach (CPython's ``gc.freeze``, as its
    documentation suggests for long-running processes), so full collections during the class walk only what the
    class itself made; give them back afterwards (a run inside a longer process, as in the tests, leaves nothing
    frozen; a process frozen already is left as it is). A prepared worker holds ~400,000 tracked objects and each
    full collection walked them all again: 220 ms of CPU on the 2-core machine, a pause in the capture loop; a
    storage-only process (the school benchmark's rooms) 60 ms, and a hundred of them collected at about the same
    interval. Objects made later are collected as usual."""
    if gc.get_freeze_count():  # frozen already by whoever runs this process: theirs to give back, not ours
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
