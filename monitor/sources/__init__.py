"""Capture sources: turn a source string into a stream of ``SourceEvent``s sampled at ``fps``.

    spec = parse_source("rtsp://admin:pw@cam/1")      # SourceSpecError: one line, exit 2
    with open_source(spec, fps=2.0) as source:         # SourceError for a file that cannot be decoded
        for event in source.events(stop_event):        # Frame | CorruptFrame | SourceState
            ...

Files and folders are sampled on their own clock and end (``monitor.sources.offline``); cameras, streams and the
screen are sampled on the wall clock, drop stale frames, and reconnect under a watchdog (``monitor.sources.live``).
"""

from __future__ import annotations

import time

from monitor.sources.base import (
    REASON_DECODE,
    REASON_EMPTY,
    REASON_READ,
    REASON_STALE,
    FrameSource,
    SourceStats,
)
from monitor.sources.live import CaptureFailed, LiveSource, default_opener
from monitor.sources.offline import FileSource, FolderSource
from monitor.sources.spec import (
    IMAGE_EXTENSIONS,
    STREAM_SCHEMES,
    SourceError,
    SourceKind,
    SourceSpec,
    SourceSpecError,
    describe,
    parse_source,
    redact_url,
)

PROBE_TRIES = 3  # a camera or the screen is tried this many times at start before it is refused
PROBE_WAIT_S = 0.5  # after the first failure, then twice that: a real absence costs 1.5 s more to report


def open_source(
    spec: SourceSpec,
    fps: float,
    *,
    realtime: bool = False,
    stall_timeout_s: float = 5.0,
    reconnect_initial_s: float = 1.0,
    reconnect_max_s: float = 30.0,
) -> FrameSource:
    """Open ``spec`` for sampling at ``fps`` frames per second.

    Files and folders are opened now: an unreadable or corrupt file raises ``SourceError`` (one line). ``realtime``
    paces them to the wall clock; live sources are always on the wall clock and ignore it. A camera or the screen is
    opened once here too (tried ``PROBE_TRIES`` times), and released: one that never opens (``--source 7`` with no such
    camera, ``screen`` with no display) is a ``SourceError``, not a class retried for ever into an empty session. From then on the device is
    owned by a capture thread once ``events()`` starts, and a device that drops is retried with backoff
    (``stall_timeout_s``, ``reconnect_initial_s``, ``reconnect_max_s``). A stream is not probed: an IP camera may
    still be booting. Invalid numbers raise ``ValueError``.
    """
    if spec.kind == "file":
        return FileSource(spec, fps, realtime=realtime)
    if spec.kind == "folder":
        return FolderSource(spec, fps, realtime=realtime)
    if spec.kind in ("camera", "screen"):
        for attempt in range(PROBE_TRIES):
            try:
                default_opener(spec, fps, stall_timeout_s)().close()
                break
            except CaptureFailed as exc:
                # a device or display that is there but answered nothing this once (an X server busy or just
                # started, a camera another program is letting go of) is tried again before the class is refused
                if attempt == PROBE_TRIES - 1:
                    raise SourceError(f"{describe(spec)}: {exc}") from None
                time.sleep(PROBE_WAIT_S * (attempt + 1))
    return LiveSource(
        spec,
        fps,
        stall_timeout_s=stall_timeout_s,
        reconnect_initial_s=reconnect_initial_s,
        reconnect_max_s=reconnect_max_s,
    )


__all__ = [
    "IMAGE_EXTENSIONS",
    "REASON_DECODE",
    "REASON_EMPTY",
    "REASON_READ",
    "REASON_STALE",
    "STREAM_SCHEMES",
    "FileSource",
    "FolderSource",
    "FrameSource",
    "LiveSource",
    "SourceError",
    "SourceKind",
    "SourceSpec",
    "SourceSpecError",
    "SourceStats",
    "describe",
    "open_source",
    "parse_source",
    "redact_url",
]
