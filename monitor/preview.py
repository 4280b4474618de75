"""``python -m monitor preview --source SOURCE [--out FILE]``: one annotated frame, to check the setup before class.

Grabs one frame from the source, finds the gallery tiles, reads their names, finds the faces, and saves the frame with
the tiles outlined, each tile's student (or ``Tile R-C``, camera off, face not visible) and each face's box drawn on
it. This file is the only image ClassMood ever writes, and only when asked. Nothing goes to the database.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from monitor.frame import Frame, SourceState

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
Image = npt.NDArray[np.uint8]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="as for run: a file, camera, stream, screen[:N or region], "
                        "window:TITLE or a folder of images")
    parser.add_argument("--out", type=Path, default=Path("classmood-preview.png"),
                        help="image file to write (default classmood-preview.png)")
    parser.add_argument("--roster", type=Path, help="CSV with columns display_name, student")
    parser.add_argument("--detector", choices=["yunet", "mtcnn", "haar"], help="face detector (default: the config's)")
    parser.add_argument("--config", type=Path, help="TOML configuration file (the worker's)")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a live source's frame")


def grab_frame(source_text: str, timeout_s: float) -> Image:
    """The first frame of the source; raises ``SourceError`` when it has none within ``timeout_s``."""
    from monitor.sources import SourceError, open_source, parse_source

    spec = parse_source(source_text)
    stop = threading.Event()
    timer = threading.Timer(timeout_s, stop.set)
    timer.start()
    detail = None
    source = open_source(spec, fps=2.0, stall_timeout_s=min(5.0, timeout_s))
    try:
        for event in source.events(stop):
            if isinstance(event, Frame):
                return event.image
            if isinstance(event, SourceState) and not event.online:
                detail = event.detail
    finally:
        timer.cancel()
        stop.set()
        source.close()
    raise SourceError(f"no frame from {spec.display} within {timeout_s:.0f} s" + (f": {detail}" if detail else ""))


def annotate(image: Image, detector_kind: str | None = None, roster_path: Path | None = None,
             config: Path | None = None) -> tuple[Image, str]:
    """The frame with tiles, names and faces drawn on it, and a one-line summary (``config``: the worker's TOML
    file, whose detector, OCR and matching settings apply)."""
    from monitor.analyse import FrameAnalyser
    from monitor.config import load_config
    from monitor.detections import make_detector
    from monitor.identity import Roster

    cfg = load_config(config, {"detector": {"kind": detector_kind}} if detector_kind else {})
    det = cfg.detector
    detector = make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)
    # the worker's own per-frame path, on one frame: a name read is the tile's name (no second look to wait for)
    analyser = FrameAnalyser(detector, None, "gallery", tile_px=det.gallery_tile_px,
                             roster=Roster.load(roster_path) if roster_path is not None else None,
                             name_match=cfg.analysis.name_match, seat_min_hits=1, name_confirm=1,
                             ocr=cfg.gallery.ocr, tesseract_lang=cfg.gallery.tesseract_lang)
    out = image.copy()
    result = analyser.analyse(Frame(image, 0.0, 0))
    grid, view = result.grid, result.view
    if grid is None or view is None:
        faces = detector.detect(Frame(image, 0.0, 0))
        summary = f"no gallery found; {len(faces)} face(s)"
    else:
        faces = view.faces
        for i, r in enumerate(view.readings):
            t = r.tile
            state = {"camera_off": "camera off", "face_not_visible": "face not visible"}.get(
                view.presence.get(view.student(i), ""), ""
            )
            colour = (0, 200, 255) if view.names[i] is None else (0, 220, 0)
            cv2.rectangle(out, (t.x, t.y), (t.x + t.w - 1, t.y + t.h - 1), colour, 2)
            text = (view.names[i] or f"{t.label} (name not read)") + (f" - {state}" if state else "")
            _label(out, text, t.x + 4, t.y + 4, max(0.35, min(0.6, t.h / 400)), colour)
        named = sum(n is not None for n in view.names)
        summary = f"{grid.rows}x{grid.cols} gallery, {len(grid.tiles)} tile(s), {named} name(s) read, " \
                  f"{view.camera_off} camera off, {len(faces)} face(s)"
    for x, y, w, h in faces.boxes.tolist():
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (255, 128, 0), 2)
    return out, summary


def _label(image: Image, text: str, x: int, y: int, scale: float, colour: tuple[int, int, int]) -> None:
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(image, (x, y), (x + w + 6, y + h + base + 6), (0, 0, 0), -1)
    cv2.putText(image, text, (x + 3, y + h + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def run_preview(args: argparse.Namespace) -> int:
    from monitor.config import ConfigError, load_config
    from monitor.identity import RosterError
    from monitor.sources import SourceError

    out_path: Path = args.out
    if out_path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".bmp"}:
        print(f"error: --out {out_path}: use a .png, .jpg or .bmp file name", file=sys.stderr)
        return EXIT_USAGE
    if not out_path.parent.is_dir():
        print(f"error: --out {out_path}: folder {out_path.parent} does not exist", file=sys.stderr)
        return EXIT_USAGE
    try:
        load_config(args.config)  # a bad file is refused before the source is opened
        image = grab_frame(args.source, args.timeout)
        annotated, summary = annotate(image, args.detector, args.roster, args.config)
    except (SourceError, RosterError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not cv2.imwrite(str(out_path), annotated):
        print(f"error: cannot write {out_path}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{summary}; saved {out_path}", file=sys.stderr)
    return EXIT_OK
