"""Sources that run on the wall clock and can drop out: a camera, a network stream, the screen.

Three threads share the work:

* the **capture thread** owns the device. It opens it, reads as fast as the device delivers into a
  ``queue.Queue(maxsize=2)`` (dropping the older frame when full, counted in ``stats.frames_dropped``), and after a
  failure closes it and reopens with exponential backoff (``reconnect_initial_s`` doubling up to
  ``reconnect_max_s``; ``stop`` interrupts the wait). A device that cannot be opened at start is not an error:
  cameras get plugged in late, so the source starts offline and keeps retrying.
* the **watchdog thread** declares the source offline when no frame arrived for ``stall_timeout_s`` (a read that
  blocks, a stream that sends nothing) and asks the capture thread to reconnect. If the capture thread stays stuck
  inside one open/read call for ``stuck_after_s``, it is abandoned (it closes its own device when the call returns)
  and a fresh one takes over: OpenCV captures must not be released from another thread.
* the **consumer**, ``events()``, in the caller's thread: every ``1 / fps`` seconds of wall clock it yields the newest
  captured frame, ``t`` = seconds since ``events()`` started (the capture time of that frame).

Rules for what is yielded:

* ``SourceState(online=False, detail)`` once per change to offline (open failed, read failed, or stalled), and
  ``SourceState(online=True)`` on the first frame after that (and on the very first frame).
* A slot with no frame newer than the last one yielded yields nothing (the device is slower than ``fps``, or
  offline): analysing the same picture twice would bias the aggregates.
* **Stale rule**: sampling slots sit on a fixed wall-clock grid. When the consumer comes back for the next frame
  after one or more whole slots have passed (analysis slower than ``fps``), each passed slot is reported as one
  ``CorruptFrame(t=slot start, reason="stale")`` while the source is online, then the current slot is sampled at
  once. So the worker's skipped count is exactly the number of samples it could not analyse.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import cv2
import mss
import numpy as np

from monitor.frame import CorruptFrame, Frame, SourceEvent, SourceState
from monitor.sources.base import REASON_STALE, FrameSource, Image, one_line, to_bgr
from monitor.sources.spec import SourceSpec, describe, find_window

logger = logging.getLogger(__name__)

# How often the watchdog looks, and how often the consumer checks ``stop`` while waiting for the next slot.
_POLL_S = 0.05
# How long close() waits for the threads; a capture thread blocked in a read finishes on its own (daemon).
_JOIN_S = 2.0
# The screen has no frame rate of its own: grab at twice the sampling rate (at most 30/s) instead of spinning.
_SCREEN_MAX_RATE = 30.0


class CaptureFailed(Exception):
    """Opening or reading a live device failed; the message is one line for ``SourceState.detail``."""


class Reader(Protocol):
    """An opened live device, used only by the thread that opened it."""

    min_interval_s: float  # pace reads to at most one per this many seconds (0: the device paces itself)

    def read(self) -> Image:
        """The next frame, BGR; raise ``CaptureFailed`` when the device fails or the stream ends."""
        ...

    def close(self) -> None: ...


Opener = Callable[[], Reader]


class CvReader:
    """A camera (``cv2.VideoCapture(index)``) or a stream (``cv2.VideoCapture(url, cv2.CAP_FFMPEG)``)."""

    min_interval_s = 0.0

    def __init__(self, spec: SourceSpec, *, open_timeout_s: float, read_timeout_s: float) -> None:
        # FFMPEG enforces the read timeout on streams; other backends have their own (V4L2: 10 s).
        self._read_timeout_s = read_timeout_s if spec.kind == "stream" else None
        try:
            if spec.kind == "stream":
                # The timeouts must be given at construction: FFMPEG only honours them while opening.
                params = [
                    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000),
                ]  # fmt: skip
                cap = cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG, params)
            elif spec.target.isdigit():
                cap = cv2.VideoCapture(int(spec.target))
            else:
                cap = cv2.VideoCapture(spec.target)  # a device path such as /dev/video0
        except cv2.error as exc:
            raise CaptureFailed(f"cannot open: {one_line(exc)}") from None
        if not cap.isOpened():
            cap.release()
            what = "stream not reachable" if spec.kind == "stream" else "no such camera or it is busy"
            raise CaptureFailed(f"cannot open: {what}")
        self._cap = cap

    def read(self) -> Image:
        started = time.monotonic()
        try:
            ok, image = self._cap.read()
        except cv2.error as exc:
            raise CaptureFailed(f"read failed: {one_line(exc)}") from None
        if not ok:
            waited = time.monotonic() - started
            if self._read_timeout_s is not None and waited >= 0.9 * self._read_timeout_s:
                raise CaptureFailed(f"read failed: no data for {waited:.1f} s")
            raise CaptureFailed("read failed: stream ended or device lost")
        bgr = to_bgr(image)
        if bgr is None:
            raise CaptureFailed(f"read failed: unusable frame {getattr(image, 'shape', None)}")
        return bgr

    def close(self) -> None:
        self._cap.release()


class ScreenReader:
    """The primary monitor (mss monitor 1), monitor N, a region of the screen, or a window found by its title."""

    def __init__(self, spec: SourceSpec, *, fps: float) -> None:
        self.min_interval_s = 1.0 / min(2.0 * fps, _SCREEN_MAX_RATE)
        try:
            self._sct = mss.MSS()
        except mss.ScreenShotError as exc:
            raise CaptureFailed(f"cannot open the screen: {one_line(exc)}") from None
        region = spec.region
        if spec.window is not None:
            region = find_window(spec.window)
            if region is None:
                self._sct.close()
                raise CaptureFailed(f"no window titled {spec.window!r} is open")
        if region is not None:
            left, top, width, height = region
            self._monitor: dict[str, Any] = {"left": left, "top": top, "width": width, "height": height}
        else:
            monitors = self._sct.monitors
            number = spec.monitor or 1
            if len(monitors) <= number:
                self._sct.close()
                raise CaptureFailed(f"cannot open the screen: no monitor {number} ({len(monitors) - 1} found)")
            self._monitor = monitors[number]

    def read(self) -> Image:
        try:
            shot = self._sct.grab(self._monitor)
        except mss.ScreenShotError as exc:
            raise CaptureFailed(f"screen grab failed: {one_line(exc)}") from None
        bgr = to_bgr(np.asarray(shot))  # mss gives BGRA
        if bgr is None:
            raise CaptureFailed("screen grab failed: empty image")
        return bgr

    def close(self) -> None:
        self._sct.close()


def default_opener(spec: SourceSpec, fps: float, stall_timeout_s: float) -> Opener:
    """How to open ``spec``'s device: called again for every reconnect, in the capture thread."""
    if spec.kind == "screen":
        return lambda: ScreenReader(spec, fps=fps)
    # Opening an RTSP stream can legitimately take a few seconds (probing); reading must not wait past a stall.
    open_timeout_s = max(stall_timeout_s, 10.0)
    return lambda: CvReader(spec, open_timeout_s=open_timeout_s, read_timeout_s=stall_timeout_s)


class LiveSource(FrameSource):
    """A camera, stream or screen: see the module docstring for threads, reconnection and the stale rule."""

    live = True

    def __init__(
        self,
        spec: SourceSpec,
        fps: float,
        *,
        stall_timeout_s: float = 5.0,
        reconnect_initial_s: float = 1.0,
        reconnect_max_s: float = 30.0,
        stuck_after_s: float | None = None,
        opener: Opener | None = None,
    ) -> None:
        super().__init__(spec, fps)
        for name, value in (
            ("stall_timeout_s", stall_timeout_s),
            ("reconnect_initial_s", reconnect_initial_s),
            ("reconnect_max_s", reconnect_max_s),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if reconnect_max_s < reconnect_initial_s:
            raise ValueError("reconnect_max_s must be at least reconnect_initial_s")
        self.stall_timeout_s = stall_timeout_s
        self.reconnect_initial_s = reconnect_initial_s
        self.reconnect_max_s = reconnect_max_s
        self.stuck_after_s = stuck_after_s if stuck_after_s is not None else max(3 * stall_timeout_s, 30.0)
        self._opener = opener if opener is not None else default_opener(spec, fps, stall_timeout_s)
        self._describe = describe(spec)

        self._lock = threading.Lock()
        self._stop = threading.Event()  # set by close(), or by the watchdog when the caller's stop is set
        self._reconnect = threading.Event()  # the watchdog asks the capture thread to reopen
        # (sequence number, capture time, image); only the newest matters.
        self._frames: queue.Queue[tuple[int, float, Image]] = queue.Queue(maxsize=2)
        self._states: list[SourceState] = []
        self._online: bool | None = None  # None until the first frame or the first failure
        self._t0 = 0.0
        self._last_frame_at = 0.0
        self._busy_since: float | None = None  # when the capture thread entered its current open()/read()
        self._generation = 0  # bumped to abandon a capture thread stuck in a call
        self._seq = 0
        self._threads: list[tuple[int, threading.Thread]] = []  # (capture generation, or 0 for the watchdog)
        self._started = False
        self._closed = False

    # ---- the consumer ----------------------------------------------------------------------------------------

    def events(self, stop: threading.Event) -> Iterator[SourceEvent]:
        if self._started:
            raise RuntimeError("LiveSource.events() can be iterated only once")
        self._started = True
        if stop.is_set() or self._stop.is_set():
            self.close()
            return
        self._t0 = self._last_frame_at = time.monotonic()
        self._start_capture_thread()
        watchdog = threading.Thread(target=self._watch, args=(stop,), name=f"watchdog {self._describe}", daemon=True)
        with self._lock:
            self._threads.append((0, watchdog))
        watchdog.start()

        period = 1.0 / self.fps
        slot = 0  # the next sampling slot: [slot * period, (slot + 1) * period) after t0
        last_seq = -1
        try:
            while not stop.is_set() and not self._stop.is_set():
                now = time.monotonic() - self._t0
                due = slot * period
                if now < due:
                    # Wake for the slot, or sooner to pass on a state change and to notice ``stop``.
                    stop.wait(min(due - now, _POLL_S))
                    yield from self._take_states()
                    continue
                current = math.floor(now / period)
                states, newest, online = self._take_sample()
                yield from states
                if current > slot and online:
                    # The consumer was busy past whole slots: one stale report per missed slot (module docstring).
                    for missed in range(slot, current):
                        self._count(stale=1, corrupt=1)
                        yield CorruptFrame(t=missed * period, reason=REASON_STALE)
                slot = current + 1
                if newest is not None and newest[0] > last_seq:
                    last_seq, t, image = newest
                    self._count(frames_yielded=1)
                    yield Frame(image=image, t=t, index=last_seq)
        finally:
            self.close()

    def _take_states(self) -> list[SourceState]:
        with self._lock:
            states, self._states = self._states, []
        return states

    def _take_sample(self) -> tuple[list[SourceState], tuple[int, float, Image] | None, bool]:
        """Pending state changes and the newest frame, taken together so "online" always precedes its frame."""
        with self._lock:
            states, self._states = self._states, []
            newest = None
            while True:
                try:
                    item = self._frames.get_nowait()
                except queue.Empty:
                    break
                if newest is not None:
                    self.stats.frames_dropped += 1
                newest = item
            return states, newest, self._online is True

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, n in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + n)

    # ---- state changes (called with self._lock held) -----------------------------------------------------------

    def _set_online_locked(self, online: bool, detail: str = "", at: float | None = None) -> None:
        """Record a change (``at``: its monotonic time, default now); a repeat of the current state is ignored."""
        if self._online is online:
            return
        self._online = online
        state = SourceState(online=online, t=(time.monotonic() if at is None else at) - self._t0, detail=detail)
        self._states.append(state)
        if online:
            logger.info("%s: online", self._describe)
            return
        self.stats.offline += 1
        # Frames from before the drop must not come out after the offline event.
        while True:
            try:
                self._frames.get_nowait()
            except queue.Empty:
                break
            self.stats.frames_dropped += 1
        logger.warning("%s: offline: %s", self._describe, detail)

    # ---- the capture thread ------------------------------------------------------------------------------------

    def _start_capture_thread(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            self._generation += 1
            generation = self._generation
            self._busy_since = None
            thread = threading.Thread(
                target=self._capture, args=(generation,), name=f"capture {self._describe} #{generation}", daemon=True
            )
            self._threads.append((generation, thread))
        thread.start()

    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self._stop.is_set()

    def _capture(self, generation: int) -> None:
        backoff = self.reconnect_initial_s
        attempt = 0
        while self._current(generation):
            if attempt:
                self._count(reconnects=1)
            attempt += 1
            reader = self._open(generation)
            if reader is not None:
                # A fresh connection is what a reconnect request asks for, even one made during a slow open.
                self._reconnect.clear()
                try:
                    if self._read_until_failure(reader, generation):
                        backoff = self.reconnect_initial_s  # it worked for a while: start the backoff afresh
                finally:
                    reader.close()  # always in the thread that opened it
            if not self._current(generation):
                return
            logger.info("%s: reconnecting in %.1f s", self._describe, backoff)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self.reconnect_max_s)

    def _busy(self, generation: int, since: float | None) -> None:
        """Record when this thread entered a blocking call (None: it left it); an abandoned thread records nothing."""
        with self._lock:
            if generation == self._generation:
                self._busy_since = since

    def _open(self, generation: int) -> Reader | None:
        self._busy(generation, time.monotonic())
        try:
            return self._opener()
        except CaptureFailed as exc:
            self._fail(generation, str(exc))
        except Exception as exc:  # a driver bug must mark the source offline, not kill the thread
            logger.exception("%s: unexpected error while opening", self._describe)
            self._fail(generation, f"cannot open: {one_line(exc)}")
        finally:
            self._busy(generation, None)
        return None

    def _read_until_failure(self, reader: Reader, generation: int) -> bool:
        """Read into the queue until a read fails, a reconnect is asked for, or stop; True if any frame arrived."""
        got_any = False
        last_read = 0.0
        while self._current(generation) and not self._reconnect.is_set():
            if reader.min_interval_s:
                wait = last_read + reader.min_interval_s - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
            last_read = time.monotonic()
            self._busy(generation, last_read)
            try:
                image = reader.read()
            except CaptureFailed as exc:
                self._fail(generation, str(exc))
                break
            except Exception as exc:  # a driver bug must mark the source offline, not kill the thread
                logger.exception("%s: unexpected error while reading", self._describe)
                self._fail(generation, f"read failed: {one_line(exc)}")
                break
            finally:
                self._busy(generation, None)
            got_any = self._deliver(image, generation) or got_any
        return got_any

    def _deliver(self, image: Image, generation: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if generation != self._generation or self._reconnect.is_set():
                return False  # abandoned, or the watchdog already declared a stall: reopen instead
            self._last_frame_at = now
            self.stats.frames_read += 1
            self._set_online_locked(True, at=now)  # online at the capture time of its first frame
            if self._frames.full():
                self._frames.get_nowait()
                self.stats.frames_dropped += 1
            self._frames.put_nowait((self._seq, now - self._t0, image))
            self._seq += 1
        return True

    def _fail(self, generation: int, detail: str) -> None:
        with self._lock:
            if generation == self._generation and not self._stop.is_set():
                self._set_online_locked(False, one_line(detail))

    # ---- the watchdog ------------------------------------------------------------------------------------------

    def _watch(self, stop: threading.Event) -> None:
        while not self._stop.wait(_POLL_S):
            if stop.is_set():
                self._stop.set()  # the caller's stop ends the capture thread too
                return
            now = time.monotonic()
            with self._lock:
                if self._online is not False and now - self._last_frame_at > self.stall_timeout_s:
                    self._set_online_locked(False, f"no frame for {self.stall_timeout_s:g} s")
                    self._reconnect.set()
                busy_since = self._busy_since
                stuck_for = now - busy_since if self._online is False and busy_since is not None else 0.0
            if stuck_for > self.stuck_after_s:
                logger.warning(
                    "%s: capture thread stuck in one call for %.0f s: abandoning it", self._describe, stuck_for
                )
                self._start_capture_thread()

    def close(self) -> None:
        """Stop the threads and wait (``_JOIN_S`` at most in all) for the live ones to release the device.

        An abandoned capture thread is not waited for: it is stuck in a call and releases its device when that
        call returns.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            waited_for = [t for gen, t in self._threads if gen in (0, self._generation)]
        deadline = time.monotonic() + _JOIN_S
        current = threading.current_thread()
        for thread in waited_for:
            if thread is not current and thread.is_alive():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
