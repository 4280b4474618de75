"""Parse a source string (what the user typed, or what the config holds) into a validated ``SourceSpec``.

Accepted, tried in this order:

* ``screen`` (the primary monitor), ``screen:N`` (monitor N, 1-based, as mss numbers them) or
  ``screen:LEFT,TOP,WIDTH,HEIGHT`` (a region in screen pixels; LEFT and TOP may be negative on multi-monitor
  desktops, WIDTH and HEIGHT must be positive);
* ``window:TITLE``: the window whose title contains TITLE (an X11 desktop with ``xwininfo``; found again on every
  reconnect, so a window moved or reopened is followed);
* ``rtsp://``, ``rtsps://``, ``http://``, ``https://`` URLs: a network stream (any other ``scheme://`` is refused);
* a camera index (``0``, ``1``, …) or a V4L2 device path (``/dev/video0``); a file literally named ``0`` is
  ``./0``;
* an existing folder holding images (jpg, jpeg, png, bmp, webp), read in natural name order
  (``img2.png`` before ``img10.png``);
* an existing file: a video (whether OpenCV can decode it is checked by ``open_source``).

``SourceSpec.display`` is the spec with any password in a URL replaced by ``***``: it is what logs, error messages
and the database get. Only ``target`` holds the secret, and it is left out of ``repr``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from db.labels import natural_key

SourceKind = Literal["file", "camera", "stream", "screen", "folder"]

STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
LIVE_KINDS = frozenset({"camera", "stream", "screen"})

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_CAMERA_INDEX_RE = re.compile(r"^\d{1,3}$")
_V4L2_DEVICE_RE = re.compile(r"^/dev/video\d+$")
_SECRET_QUERY_RE = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|pass|token|access_token|secret|key|api_key|apikey|auth|sig|signature)=)"
    r"[^&;#]*"
)
_SCREEN_USAGE = "expected screen:N or screen:LEFT,TOP,WIDTH,HEIGHT"
_WINDOW_LINE_RE = re.compile(r'^\s*(0x[0-9a-f]+) "(.*)":')


class SourceError(Exception):
    """A source cannot be used; the message is one line for the user (the CLI prints it and exits 2)."""


class SourceSpecError(SourceError):
    """The source string itself is wrong: unknown form, missing path, empty folder, malformed screen region."""


@dataclass(frozen=True)
class SourceSpec:
    """A validated source.

    ``target`` is what is opened: an absolute path, a camera index or device path, a full URL (with its password),
    or ``screen``. ``region`` is ``(left, top, width, height)`` for a screen region, else ``None``. ``display`` is
    safe to log and store.
    """

    kind: SourceKind
    target: str = field(repr=False)
    region: tuple[int, int, int, int] | None
    display: str
    monitor: int | None = None  # screen:N
    window: str | None = None  # window:TITLE

    @property
    def live(self) -> bool:
        """Cameras, streams and the screen run on the wall clock and can drop out; files and folders end."""
        return self.kind in LIVE_KINDS

    def __str__(self) -> str:
        return self.display


def redact_url(url: str) -> str:
    """``url`` with the password of its user-info and secret-looking query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # e.g. an invalid port: still never show what looks like credentials
        password = None
        parts = None
    redacted = url
    if parts is not None and password is not None and "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        redacted = redacted.replace(parts.netloc, f"{user}:***@{hostport}", 1)
    elif parts is None and "@" in url:
        scheme, sep, rest = url.partition("://")
        userinfo, at, tail = rest.partition("@")
        if ":" in userinfo:
            redacted = f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***{at}{tail}"
    return _SECRET_QUERY_RE.sub(r"\1***", redacted)


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The images directly in ``folder`` (not hidden, known extension), in natural name order."""
    paths = [
        p
        for p in Path(folder).iterdir()
        if not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    ]
    return sorted(paths, key=lambda p: natural_key(p.name))


def describe(spec: SourceSpec) -> str:
    """A short human description for logs, e.g. ``camera 0`` or ``stream rtsp://admin:***@cam/1``."""
    if spec.kind == "screen":
        if spec.window is not None:
            return f"window {spec.window!r}"
        if spec.monitor is not None:
            return f"screen (monitor {spec.monitor})"
        if spec.region is None:
            return "screen (primary monitor)"
        left, top, width, height = spec.region
        return f"screen region {width}x{height} at ({left}, {top})"
    return f"{spec.kind} {spec.display}"


def parse_source(spec: str) -> SourceSpec:
    """Validate a source string; raise ``SourceSpecError`` with a one-line message if it cannot be a source."""
    text = spec.strip()
    if not text:
        raise SourceSpecError("empty source: give a video file, folder of images, camera index, stream URL or screen")
    if "\n" in text or "\r" in text:
        raise SourceSpecError(f"source {_quote(text)} contains a line break")
    lowered = text.lower()
    if lowered == "screen" or lowered.startswith("screen:"):
        return _parse_screen(text)
    if lowered.startswith("window:"):
        return _parse_window(text)
    scheme_match = _SCHEME_RE.match(text)
    if scheme_match:
        return _parse_url(text, scheme_match.group(1).lower())
    if _CAMERA_INDEX_RE.match(text):
        return SourceSpec(kind="camera", target=str(int(text)), region=None, display=str(int(text)))
    if _V4L2_DEVICE_RE.match(text):
        return SourceSpec(kind="camera", target=text, region=None, display=text)
    return _parse_path(text)


def _quote(text: str, limit: int = 120) -> str:
    """A redacted, shortened repr for error messages (which must stay one line and secret-free)."""
    safe = redact_url(text)
    return repr(safe if len(safe) <= limit else safe[: limit - 1] + "…")


def _parse_screen(text: str) -> SourceSpec:
    _, sep, rest = text.partition(":")
    if not sep:
        return SourceSpec(kind="screen", target="screen", region=None, display="screen")
    fields = [f.strip() for f in rest.split(",")]
    if len(fields) == 1 and fields[0].isdigit():
        number = int(fields[0])
        if number < 1:
            raise SourceSpecError(f"malformed screen {_quote(text)}: monitors are numbered from 1")
        return SourceSpec(kind="screen", target=f"screen:{number}", region=None, display=f"screen:{number}",
                          monitor=number)
    if len(fields) != 4:
        raise SourceSpecError(f"malformed screen region {_quote(text)}: {_SCREEN_USAGE} (4 integers)")
    try:
        left, top, width, height = (int(f) for f in fields)
    except ValueError:
        raise SourceSpecError(f"malformed screen region {_quote(text)}: {_SCREEN_USAGE} with integers") from None
    if width <= 0 or height <= 0:
        raise SourceSpecError(f"malformed screen region {_quote(text)}: WIDTH and HEIGHT must be positive")
    canonical = f"screen:{left},{top},{width},{height}"
    return SourceSpec(kind="screen", target=canonical, region=(left, top, width, height), display=canonical)


def _parse_window(text: str) -> SourceSpec:
    title = text.partition(":")[2].strip()
    if not title:
        raise SourceSpecError(f"malformed window source {_quote(text)}: expected window:TITLE")
    if not sys.platform.startswith("linux") or not os.environ.get("DISPLAY"):
        raise SourceSpecError(
            "window capture by title needs an X11 desktop (Linux with DISPLAY set); "
            "use screen:LEFT,TOP,WIDTH,HEIGHT for the window's region instead"
        )
    if shutil.which("xwininfo") is None:
        raise SourceSpecError("window capture by title needs xwininfo (Debian: apt-get install x11-utils); "
                              "or use screen:LEFT,TOP,WIDTH,HEIGHT")
    return SourceSpec(kind="screen", target=f"window:{title}", region=None, display=f"window:{title}", window=title)


def find_window(title: str) -> tuple[int, int, int, int] | None:
    """``(left, top, width, height)`` of the first X11 window whose name contains ``title``, or ``None``."""
    import subprocess

    try:
        tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in tree.stdout.splitlines():
        match = _WINDOW_LINE_RE.match(line)
        if match is None or title.casefold() not in match.group(2).casefold():
            continue
        try:
            info = subprocess.run(["xwininfo", "-id", match.group(1)], capture_output=True, text=True, timeout=5,
                                  check=True).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        values = dict(re.findall(r"^\s*(Absolute upper-left [XY]|Width|Height):\s*(-?\d+)", info, re.MULTILINE))
        try:
            geometry = tuple(int(values[k]) for k in ("Absolute upper-left X", "Absolute upper-left Y", "Width",
                                                      "Height"))
        except KeyError:
            continue
        left, top, width, height = geometry
        if width > 1 and height > 1:
            return left, top, width, height
    return None


def _parse_url(text: str, scheme: str) -> SourceSpec:
    if scheme not in STREAM_SCHEMES:
        accepted = ", ".join(f"{s}://" for s in sorted(STREAM_SCHEMES))
        raise SourceSpecError(f"unknown URL scheme {scheme + '://'!r} in {_quote(text)}: streams must be {accepted}")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise SourceSpecError(f"malformed stream URL {_quote(text)}: {exc}") from None
    if not host:
        raise SourceSpecError(f"malformed stream URL {_quote(text)}: no host")
    return SourceSpec(kind="stream", target=text, region=None, display=redact_url(text))


def _parse_path(text: str) -> SourceSpec:
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceSpecError(
            f"source {_quote(text)} does not exist: expected a video file, a folder of images, a camera index, "
            "an rtsp/http(s) URL or screen[:LEFT,TOP,WIDTH,HEIGHT]"
        )
    absolute = os.path.abspath(path)
    if path.is_dir():
        try:
            images = list_images(path)
        except OSError as exc:
            raise SourceSpecError(f"cannot list folder {_quote(absolute)}: {exc.strerror or exc}") from None
        if not images:
            exts = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
            raise SourceSpecError(f"folder {_quote(absolute)} has no images ({exts})")
        return SourceSpec(kind="folder", target=absolute, region=None, display=absolute)
    return SourceSpec(kind="file", target=absolute, region=None, display=absolute)


def refuse_one_image(spec: SourceSpec) -> SourceSpec:
    """``spec``, unless it is a single image file, which ``monitor run`` cannot make a class of: a seat needs a face
    seen over seconds, so a photo of three people ran as a session and stored no student. (``monitor preview``
    takes one, as its one frame.) Raises ``SourceSpecError``."""
    if spec.kind == "file" and Path(spec.target).suffix.lower() in IMAGE_EXTENSIONS:
        raise SourceSpecError(f"source {_quote(spec.target)} is one image: analyse it with python -m monitor "
                              "analyse FILE, or give a folder of images (frames) or a video")
    return spec
