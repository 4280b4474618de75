"""Running the real dashboard in a subprocess and driving Debian's headless Chromium against it.

Used by the browser tests' fixtures (``conftest.py``) and by ``python -m tests.browser.screenshots``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
)
WIDTH, HEIGHT = 1280, 900
START_TIMEOUT_S = 45.0

T = TypeVar("T")


def missing_browser() -> list[str]:
    return [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def run_dashboard(
    db_url: str, log: Path, *, host: str | None = None, ready_path: str = "/", extra: Sequence[str] = ()
) -> Iterator[Server]:
    """``python -m dashboard --port <free> --db <db_url> [extra...]``, waited for until ``ready_path`` answers,
    stopped afterwards. With ``host`` (e.g. 0.0.0.0, which requires a login) it listens there; the tests still
    connect through 127.0.0.1 only."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dashboard",
                "--port",
                str(port),
                "--db",
                db_url,
                *(["--host", host] if host else []),
                *extra,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"dashboard exited with {process.returncode}:\n{server.output()}")
            try:
                with urllib.request.urlopen(server.url + ready_path, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not answer within {START_TIMEOUT_S:.0f} s:\n{server.output()}")
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def make_driver(download_dir: Path) -> webdriver.Chrome:
    """Headless Chromium at 1280x900 that keeps its console log and saves downloads into ``download_dir``."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='classmood-chromium-')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    # the window size includes headless "browser chrome"; fix the viewport itself so screenshots are 1280x900
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver


def wait_for(check: Callable[[], T | None], *, timeout: float = 15.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - the page may be mid-render; retry until the deadline
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


# NumPy arrays reach the browser as Plotly's typed-array specs ({dtype, bdata, shape}); gd.data keeps them as sent
DECODE_JS = """
const plain = (a) => {
    if (a == null) return null;
    if (a.bdata !== undefined) {
        const bin = atob(a.bdata);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const T = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array,
                   u2: Uint16Array, i1: Int8Array, u1: Uint8Array}[a.dtype];
        const flat = Array.from(new T(bytes.buffer));
        const shape = a.shape ? String(a.shape).split(',').map(Number) : [flat.length];
        if (shape.length === 2) return Array.from({length: shape[0]}, (_, i) => flat.slice(i * shape[1], (i + 1) * shape[1]));
        return flat;
    }
    return Array.from(a, (v) => (v != null && typeof v === 'object' && !Array.isArray(v) ? plain(v) : v));
};
"""


def graph_data(driver: webdriver.Chrome, graph_id: str) -> list[dict[str, Any]] | None:
    """The traces Plotly drew in the ``dcc.Graph`` with id ``graph_id``: name, x, y, z and customdata as JSON."""
    result: list[dict[str, Any]] | None = driver.execute_script(
        DECODE_JS
        + """
        const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        if (!gd || !gd.data) return null;
        return gd.data.map(t => ({name: t.name, x: plain(t.x), y: plain(t.y), z: plain(t.z),
                                  customdata: plain(t.customdata)}));
        """,
        graph_id,
    )
    return result


def graph_layout(driver: webdriver.Chrome, graph_id: str, path: str) -> Any:
    """A value from the drawn graph's layout, e.g. ``xaxis.range``."""
    return driver.execute_script(
        """
        const gd = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
        return arguments[1].split('.').reduce((o, k) => (o == null ? o : o[k]), gd && gd.layout);
        """,
        graph_id,
        path,
    )


def severe_console_entries(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """SEVERE browser console entries since the last call (reading the log drains it)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
