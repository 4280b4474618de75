"""``python -m dashboard.render_process``: the Live renderer (``dashboard.live_render``) in a process of its own.

Why not a thread in the dashboard's own processes: a render is ~35 ms of pure Python, and a request thread of the
same process that waits on the database gets the interpreter back only when the renderer yields it (every 5 ms), at
each of its reads; a 20-viewer burst then queued behind drawings nobody was waiting for. Each dashboard process
(every gunicorn worker, or the development server) starts one (:func:`spawn`); one per database and machine draws
(an exclusive lock on a file named after the database), the others wait for the lock, without importing anything
heavy, and take over if it goes. Each stops when the dashboard process that started it goes (SIGTERM, or its parent
is gone).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

PARENT_ENV = "CLASSMOOD_RENDERER_PARENT"
WAIT_S = 1.0
NICE = 10  # added to the renderer's niceness (the dashboard's request threads keep theirs)


def lock_path(url: str) -> Path:
    """One lock file per database and OS user (another user's file of the same name could not be opened here)."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"classmood-live-renderer-{os.getuid()}-{digest}.lock"


def _watch_parent(parent: int) -> None:
    """Leave at once when the dashboard process that started this one is gone (killed, or stopped without running
    its exit handlers), even while a turn is blocked on the database: otherwise an orphan would keep the lock and
    every later renderer of this database would wait on it for ever."""
    while os.getppid() == parent:
        time.sleep(WAIT_S)
    os._exit(0)


def spawn(url: str) -> subprocess.Popen[bytes] | None:
    """Start this dashboard process's renderer process; not with ``CLASSMOOD_SHARED_CACHE=0``, which serves every
    page as drawn on request (what ``bench/school.py --no-cache`` compares against)."""
    if os.environ.get("CLASSMOOD_SHARED_CACHE", "1").strip() == "0":
        return None
    env = {**os.environ, "DATABASE_URL": url, PARENT_ENV: str(os.getpid())}
    process = subprocess.Popen([sys.executable, "-m", "dashboard.render_process"], env=env)
    atexit.register(process.terminate)
    return process


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = os.environ.get("DATABASE_URL", "")
    parent = int(os.environ.get(PARENT_ENV, "0") or 0)
    if not url or not parent:
        print(f"error: DATABASE_URL and {PARENT_ENV} must be set (started by the dashboard)", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    try:
        lock = open(lock_path(url), "a")  # noqa: SIM115 - held for the process's life
    except OSError as exc:
        log.warning("no Live renderer: its lock file cannot be opened (%s); pages are drawn on request", exc)
        return 0
    with lock:
        while True:  # one renderer per database and machine; the others wait here, light
            if stop.is_set() or os.getppid() != parent:
                return 0
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                stop.wait(WAIT_S)
        from dashboard.data import freeze_startup_objects
        from dashboard.live_render import RENDER_PERIOD_S, render_due
        from db.engine import make_engine, session_factory

        factory = session_factory(make_engine(url))
        freeze_startup_objects()
        # drawing ahead is background work: a viewer's request comes first. A render stays servable for an
        # interval (pages.live.stale_window), so a burst of page loads that holds the renderer back a few seconds
        # is served renders a few seconds old instead of queueing behind drawings nobody is waiting for yet
        os.nice(NICE)
        log.info("Live renderer drawing running classes (pid %d)", os.getpid())
        while not stop.wait(RENDER_PERIOD_S):
            if os.getppid() != parent:  # the dashboard process went without a word (killed)
                break
            try:
                render_due(factory)
            except Exception as exc:  # noqa: BLE001 - the database away, or a bug in one drawing: next turn
                log.warning("the Live renderer's turn failed: %s", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
