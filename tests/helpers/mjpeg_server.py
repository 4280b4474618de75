"""A tiny MJPEG-over-HTTP server for stream tests: start, stop and restart it on the same port.

It serves ``/stream.mjpg`` as ``multipart/x-mixed-replace; boundary=frame`` (what IP cameras and ``mjpg-streamer``
send), one JPEG part every ``1 / fps`` seconds, each with a frame counter drawn in. Stopping the server ends every
open response, so a client sees the stream drop exactly like a camera that lost power; ``start()`` again binds the
same port so the client's reconnect finds it. ``pause()`` keeps connections open but silent: a stall, not a drop.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import cv2
import numpy as np

logger = logging.getLogger(__name__)

BOUNDARY = "frame"
PATH = "/stream.mjpg"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_jpegs(count: int, width: int = 320, height: int = 240) -> list[bytes]:
    """``count`` JPEG frames with their number drawn in, encoded once so serving costs no CPU."""
    jpegs = []
    for i in range(count):
        img = np.full((height, width, 3), (40 + 7 * i) % 255, dtype=np.uint8)
        cv2.putText(img, str(i), (20, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 3)
        ok, buf = cv2.imencode(".jpg", img)
        assert ok
        jpegs.append(buf.tobytes())
    return jpegs


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, port: int, jpegs: list[bytes], fps: float, stopping: threading.Event, sending: threading.Event
    ) -> None:
        self.jpegs = jpegs
        self.fps = fps
        self.stopping = stopping
        self.sending = sending
        self.parts_sent = 0
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # the name http.server dispatches to
        if self.path.split("?")[0] != PATH:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        srv = self.server
        i = 0
        try:
            while not srv.stopping.wait(1.0 / srv.fps):
                if not srv.sending.is_set():
                    continue  # paused: the connection stays open but silent, like a frozen camera
                jpeg = srv.jpegs[i % len(srv.jpegs)]
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(head.encode("ascii") + jpeg + b"\r\n")
                self.wfile.flush()
                srv.parts_sent += 1
                i += 1
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away: nothing to clean up

    def log_message(self, format: str, *args: object) -> None:  # the base class's signature
        logger.debug("mjpeg server: " + format, *args)


class MjpegServer:
    """``with MjpegServer() as srv: cv2.VideoCapture(srv.url)``; ``srv.stop()`` and ``srv.start()`` to drop and
    restore the stream on the same port."""

    def __init__(self, port: int | None = None, fps: float = 10.0, frames: int = 10) -> None:
        self.port = port if port is not None else free_port()
        self.fps = fps
        self._jpegs = make_jpegs(frames)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._sending = threading.Event()
        self._sending.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        self._stopping = threading.Event()
        self._server = _Server(self.port, self._jpegs, self.fps, self._stopping, self._sending)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="mjpeg-server", daemon=True
        )
        self._thread.start()

    @property
    def parts_sent(self) -> int:
        return self._server.parts_sent if self._server is not None else 0

    def pause(self) -> None:
        """Keep every connection open but send nothing (a stall, not a drop); new connections get headers only."""
        self._sending.clear()

    def resume(self) -> None:
        self._sending.set()

    def stop(self) -> None:
        """Stop accepting and end every open response (clients see EOF at once)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # handlers leave their loop and close their connection
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
