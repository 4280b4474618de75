"""parse_source: every accepted form with its kind and region, every refusal with its one-line message, and that no
password ever reaches ``display``, ``repr`` or an error message."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.sources import SourceError, SourceSpec, SourceSpecError, describe, parse_source, redact_url
from monitor.sources.spec import natural_key

pytestmark = pytest.mark.unit


@pytest.fixture
def media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a video file, a folder of images, an empty folder and a folder of non-images."""
    (tmp_path / "class.mp4").write_bytes(b"not decoded by parse_source")
    (tmp_path / "0").write_bytes(b"a file named like a camera index")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "img1.JPG").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("no images here")
    (tmp_path / "docs" / ".hidden.png").write_bytes(b"hidden files are not frames")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "kind", "target", "region"),
    [
        ("0", "camera", "0", None),
        ("1", "camera", "1", None),
        ("  2  ", "camera", "2", None),
        ("/dev/video0", "camera", "/dev/video0", None),
        ("rtsp://cam.local:554/stream1", "stream", "rtsp://cam.local:554/stream1", None),
        ("rtsps://cam.local/s", "stream", "rtsps://cam.local/s", None),
        ("http://127.0.0.1:8080/stream.mjpg", "stream", "http://127.0.0.1:8080/stream.mjpg", None),
        ("https://example.org/live.m3u8", "stream", "https://example.org/live.m3u8", None),
        ("RTSP://CAM/1", "stream", "RTSP://CAM/1", None),
        ("screen", "screen", "screen", None),
        ("Screen", "screen", "screen", None),
        ("screen:0,0,320,240", "screen", "screen:0,0,320,240", (0, 0, 320, 240)),
        ("screen: -1920, 0, 1920, 1080", "screen", "screen:-1920,0,1920,1080", (-1920, 0, 1920, 1080)),
    ],
)
def test_good_non_path_specs(text: str, kind: str, target: str, region: tuple[int, int, int, int] | None) -> None:
    spec = parse_source(text)
    assert (spec.kind, spec.target, spec.region) == (kind, target, region)
    assert spec.live


@pytest.mark.parametrize(
    ("text", "kind", "relative"),
    [
        ("class.mp4", "file", "class.mp4"),
        ("./0", "file", "0"),
        ("frames", "folder", "frames"),
        ("frames/", "folder", "frames"),
    ],
)
def test_good_path_specs(media: Path, text: str, kind: str, relative: str) -> None:
    spec = parse_source(text)
    assert spec.kind == kind
    assert Path(spec.target) == media / relative
    assert Path(spec.target).is_absolute()
    assert spec.display == spec.target
    assert spec.region is None
    assert not spec.live


def test_home_is_expanded(media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(media))
    assert parse_source("~/class.mp4").target == str(media / "class.mp4")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty source"),
        ("   ", "empty source"),
        ("banana", "'banana' does not exist"),
        ("missing.mp4", "'missing.mp4' does not exist"),
        ("-1", "'-1' does not exist"),
        ("ftp://x", "unknown URL scheme 'ftp://'"),
        ("file:///tmp/a.mp4", "unknown URL scheme 'file://'"),
        ("rtmp://host/live", "unknown URL scheme 'rtmp://'"),
        ("rtsp://", "no host"),
        ("http://:8080/x", "no host"),
        ("rtsp://cam:notaport/x", "malformed stream URL"),
        ("empty", "has no images"),
        ("docs", "has no images"),
        ("screen:", "malformed screen region"),
        ("screen:0,0,320", "malformed screen region"),
        ("screen:0,0,320,240,1", "malformed screen region"),
        ("screen:a,b,c,d", "with integers"),
        ("screen:0,0,32.5,24", "with integers"),
        ("screen:0,0,0,240", "must be positive"),
        ("screen:0,0,320,-240", "must be positive"),
        ("a\nb", "line break"),
    ],
)
def test_bad_specs(media: Path, text: str, fragment: str) -> None:
    with pytest.raises(SourceSpecError) as info:
        parse_source(text)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert isinstance(info.value, SourceError)  # the CLI catches SourceError for exit code 2


@pytest.mark.parametrize(
    ("url", "display"),
    [
        ("rtsp://admin:s3cret@cam.local:554/stream1", "rtsp://admin:***@cam.local:554/stream1"),
        ("http://user:p%40ss@10.0.0.5/video.mjpg", "http://user:***@10.0.0.5/video.mjpg"),
        ("rtsp://user:pa:ss@cam/1", "rtsp://user:***@cam/1"),
        ("rtsp://user:@cam/1", "rtsp://user:***@cam/1"),
        ("rtsp://viewer@cam/1", "rtsp://viewer@cam/1"),
        ("https://cdn.example/live.m3u8?token=abc123&q=1", "https://cdn.example/live.m3u8?token=***&q=1"),
        ("http://cam/snap?user=a&password=hunter2", "http://cam/snap?user=a&password=***"),
        ("rtsp://cam.local/stream1", "rtsp://cam.local/stream1"),
    ],
)
def test_password_is_redacted(url: str, display: str) -> None:
    spec = parse_source(url)
    assert spec.display == display
    assert spec.target == url  # the capture still needs the secret
    assert str(spec) == display
    assert "s3cret" not in repr(spec) and "hunter2" not in repr(spec) and "abc123" not in repr(spec)
    assert display in describe(spec)


def test_password_is_redacted_in_errors() -> None:
    with pytest.raises(SourceSpecError) as info:
        parse_source("ftp://admin:s3cret@files.local/a.mp4")
    assert "s3cret" not in str(info.value)
    assert "admin:***@files.local" in str(info.value)


def test_redact_url_survives_a_malformed_url() -> None:
    assert "s3cret" not in redact_url("rtsp://admin:s3cret@[::1/x")


def test_folder_listing_is_natural_and_case_insensitive() -> None:
    names = ["img10.png", "IMG2.jpg", "img1.webp", "img2b.bmp", "a.jpeg"]
    assert sorted(names, key=natural_key) == ["a.jpeg", "img1.webp", "IMG2.jpg", "img2b.bmp", "img10.png"]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("0", "camera 0"),
        ("screen", "screen (primary monitor)"),
        ("screen:10,20,320,240", "screen region 320x240 at (10, 20)"),
        ("rtsp://a:b@cam/1", "stream rtsp://a:***@cam/1"),
    ],
)
def test_describe(text: str, description: str) -> None:
    assert describe(parse_source(text)) == description


def test_spec_is_frozen() -> None:
    spec = parse_source("0")
    with pytest.raises(AttributeError):
        spec.kind = "file"  # type: ignore[misc]
    assert spec == SourceSpec(kind="camera", target="0", region=None, display="0")


def test_one_image_is_a_source_for_preview_but_not_for_a_class(media: Path) -> None:
    """``monitor run`` on a photo ran a session that stored no student (a seat needs a face seen over seconds);
    ``monitor preview`` takes a screenshot as its one frame."""
    from monitor.sources.spec import refuse_one_image

    spec = parse_source("frames/img1.JPG")
    assert spec.kind == "file"
    with pytest.raises(SourceSpecError, match="is one image: analyse it with python -m monitor analyse FILE"):
        refuse_one_image(spec)
    assert refuse_one_image(parse_source("class.mp4")).kind == "file"
    assert refuse_one_image(parse_source("frames")).kind == "folder"
