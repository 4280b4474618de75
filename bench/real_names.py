"""Names read on real Zoom screenshots, OCR engine against OCR engine in one run, with the worker's own reader.
``python bench/real_names.py [--engines rapidocr,tesseract] [--tesseract-lang eng] [--show]``

Material: ``../shared/data/real/galleries`` (read its README; never copied into the repository). Each screenshot
is read by the ``NameReader`` that ``FrameAnalyser`` builds from the configuration tree (``gallery.ocr``), on the
grid ``find_grid`` finds, once per engine, with an empty cache (``reset``), so every label is read: the first-frame
cost, not the steady state.

Ground truth: ``bench/gallery_names_real.json``, made on 2026-11-30 by transcribing by eye, per tile (row, col as
the grid finder numbers them), the name a person can read on an enlarged crop of each tile's bottom strip (and the
centred name of a camera-off tile); a tile whose name a person cannot make out with confidence (the 640x400 7x7
gallery's blurriest labels, a tile without a label) is ``legible: false``. No name is stored: only the SHA-256 of
``SALT`` + the name's key. A read counts as exact when its key hashes alike. The key is ``normalise_name`` (case,
whitespace, a trailing "...", O/0 and l/1 in numbers), with the trailing dots left by a cut name stripped, capital I
read as l (sans-serif labels draw them alike) and spaces removed (OCR drops the narrow spaces of small labels; the
name matcher compares without them too). Hangul tiles are those whose transcription holds Hangul.

Reported per engine: exact names over legible tiles, per file and Latin vs Hangul, and OCR time per frame (wall
clock of the analyser's ``NameReader.read`` on the grid ``find_grid`` found; faces and the emotion model are not
part of it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.analyse import FrameAnalyser, read_image
from monitor.gallery import find_grid
from monitor.identity import normalise_name
from monitor.names import ENGINES

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "galleries"
TRUTH = Path(__file__).resolve().parent / "gallery_names_real.json"
SALT = "classmood-gallery-names-2026-11-30:"
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def name_key(text: str | None) -> str | None:
    """How a read and a transcription are compared (see the module docstring)."""
    if not text:
        return None
    return normalise_name(text.replace("I", "l")).rstrip(" .\u2026").replace(" ", "") or None


def name_hash(text: str | None) -> str | None:
    key = name_key(text)
    return hashlib.sha256((SALT + key).encode()).hexdigest() if key is not None else None


def make_analyser(engine: str, lang: str | None) -> FrameAnalyser:
    from monitor.config import load_config
    from monitor.detections import make_detector

    cfg = load_config(overrides={"gallery": {"ocr": engine, **({"tesseract_lang": lang} if lang else {})}})
    det = cfg.detector
    detector = make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)
    return FrameAnalyser(detector, None, "gallery", tile_px=det.gallery_tile_px, name_match=cfg.analysis.name_match,
                         seat_min_hits=1, name_confirm=1, ocr=cfg.gallery.ocr,
                         tesseract_lang=cfg.gallery.tesseract_lang)


def run(engine: str, lang: str | None, truth: dict[str, list[dict[str, object]]], show: bool) -> dict[str, float]:
    analyser = make_analyser(engine, lang)
    totals = {"latin": [0, 0], "hangul": [0, 0]}
    ms_total = tiles_total = 0.0
    print(f"\n== {engine} (tesseract_lang {analyser.tesseract_lang})")
    print(f"{'file':<60} {'exact':>9} {'ms/frame':>9} {'ms/tile':>8}")
    for file, tiles in truth.items():
        image = read_image(REAL / file)
        analyser.reset()
        grid = find_grid(image)
        if grid is None:
            print(f"{file[:60]:<60} no grid")
            continue
        t0 = time.perf_counter()
        readings = analyser.gallery.reader.read(image, grid)  # the worker's reader, as the analyser built it
        ms = 1000 * (time.perf_counter() - t0)
        read = {(r.tile.row, r.tile.col): r.name for r in readings}
        ok = n = 0
        for t in tiles:
            if not t["legible"]:
                continue
            got = read.get((t["row"], t["col"]))
            hit = name_hash(got) == t["sha256"]
            script = "hangul" if t.get("hangul") else "latin"
            totals[script][0] += hit
            totals[script][1] += 1
            ok += hit
            n += 1
            if show and not hit:
                print(f"    {t['row']},{t['col']} read {got!r}")
        ms_total += ms
        tiles_total += len(tiles)
        print(f"{file[:60]:<60} {ok:>4}/{n:<4} {ms:>9.0f} {ms / max(1, len(tiles)):>8.1f}")
    (lo, ln), (ho, hn) = totals["latin"], totals["hangul"]
    print(f"exact on legible tiles: {lo + ho}/{ln + hn} ({100 * (lo + ho) / max(1, ln + hn):.0f}%); Latin {lo}/{ln} "
          f"({100 * lo / max(1, ln):.0f}%), Hangul {ho}/{hn} ({100 * ho / max(1, hn):.0f}%); "
          f"{ms_total / len(truth):.0f} ms/frame, {ms_total / tiles_total:.1f} ms/tile (first frame, empty cache)")
    return {"exact": (lo + ho) / max(1, ln + hn)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated OCR engines to compare")
    parser.add_argument("--tesseract-lang", help="gallery.tesseract_lang for this run (default: the config's)")
    parser.add_argument("--show", action="store_true", help="print each wrong read (real names: do not paste)")
    args = parser.parse_args()
    if not (REAL / "labels.csv").is_file():
        print(f"skipped: {REAL} not found")
        return 0
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))["files"]
    print(f"material: {REAL}; truth: {TRUTH.name} ({sum(len(v) for v in truth.values())} tiles, "
          f"{sum(t['legible'] for v in truth.values() for t in v)} legible)")
    for engine in args.engines.split(","):
        if engine not in ENGINES:
            print(f"error: unknown engine {engine!r} (expected one of {', '.join(ENGINES)})", file=sys.stderr)
            return 2
        run(engine, args.tesseract_lang, truth, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
