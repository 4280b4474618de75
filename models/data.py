"""Read FER2013 in every format a user is likely to have, into one ``FaceSet`` of uint8 48x48 faces.

Supported layouts for ``--data PATH``:

* a folder with ``fer2013_train.npz`` / ``fer2013_publictest.npz`` (the project's shared copy), or with the compact
  training copy ``fer2013_train_x.u8.xz`` + ``fer2013_train_y.npy``;
* Kaggle's ``fer2013.csv`` (columns ``emotion, pixels, Usage``), or a folder containing it;
* Kaggle's image folders ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` (or the folder holding them).

``split`` is ``"train"`` (FER2013 Training) or ``"val"`` (PublicTest; for the image-folder release, whose ``test/``
mixes PublicTest and PrivateTest, the ``test/`` folder). PrivateTest rows of the CSV are never returned.
"""

from __future__ import annotations

import csv
import lzma
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from models.preprocess import FACE_SIZE

Split = Literal["train", "val"]
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm"}
_CSV_USAGE = {"train": "Training", "val": "PublicTest"}
_NPZ_NAME = {"train": "fer2013_train.npz", "val": "fer2013_publictest.npz"}
_FOLDER_NAME = {"train": "train", "val": "test"}


class DataError(Exception):
    """The dataset path is missing or not in a format we read; the message is one line for the user."""


@dataclass(frozen=True)
class FaceSet:
    """Faces ``x`` (uint8, [N, 48, 48]) with class indices ``y`` (uint8, [N]) in ``EMOTIONS`` order."""

    x: npt.NDArray[np.uint8]
    y: npt.NDArray[np.uint8]

    def __post_init__(self) -> None:
        if self.x.dtype != np.uint8 or self.x.ndim != 3 or self.x.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise DataError(f"faces must be uint8 [N, 48, 48], got {self.x.dtype} {self.x.shape}")
        if self.y.shape != (len(self.x),):
            raise DataError(f"labels must be [N] with N={len(self.x)}, got {self.y.shape}")
        if len(self.y) and int(self.y.max()) >= len(EMOTIONS):
            raise DataError(f"label {int(self.y.max())} is outside the {len(EMOTIONS)} FER2013 classes")

    def __len__(self) -> int:
        return len(self.y)

    def counts(self) -> dict[str, int]:
        return {name: int((self.y == i).sum()) for i, name in enumerate(EMOTIONS)}


def load_split(path: str | Path, split: Split) -> FaceSet:
    """Load one split from ``path`` in whichever supported layout it is."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"dataset path does not exist: {p}")
    if p.is_file():
        if p.suffix == ".csv":
            return _from_csv(p, split)
        if p.suffix == ".npz":
            return _from_npz(p)
        raise DataError(f"unsupported dataset file (expected .csv, .npz or a folder): {p}")
    if (p / _NPZ_NAME[split]).is_file():
        return _from_npz(p / _NPZ_NAME[split])
    if split == "train" and (p / "fer2013_train_x.u8.xz").is_file() and (p / "fer2013_train_y.npy").is_file():
        return _from_compact(p)
    if (p / "fer2013.csv").is_file():
        return _from_csv(p / "fer2013.csv", split)
    for candidate in (p / _FOLDER_NAME[split], p):
        if candidate.is_dir() and any((candidate / c).is_dir() for c in EMOTIONS):
            if candidate == p and split == "val" and (p / "train").is_dir():
                break  # a root with train/ but no test/: do not validate on training images
            return _from_folders(candidate)
    raise DataError(f"no FER2013 {split} split found in {p} (expected npz, fer2013.csv or train/ test/ folders)")


def _from_npz(path: Path) -> FaceSet:
    try:
        with np.load(path) as z:
            x, y = z["x"], z["y"]
            if "classes" in z and tuple(str(c) for c in z["classes"]) != EMOTIONS:
                raise DataError(f"{path}: class order {list(z['classes'])} differs from {list(EMOTIONS)}")
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    return FaceSet(np.ascontiguousarray(x, np.uint8), np.asarray(y, np.uint8))


def _from_compact(folder: Path) -> FaceSet:
    try:
        raw = lzma.decompress((folder / "fer2013_train_x.u8.xz").read_bytes())
        y = np.load(folder / "fer2013_train_y.npy")
    except (OSError, ValueError, lzma.LZMAError) as exc:
        raise DataError(f"cannot read compact copy in {folder}: {exc}") from exc
    x = np.frombuffer(raw, np.uint8).reshape(-1, FACE_SIZE, FACE_SIZE)
    return FaceSet(x.copy(), np.asarray(y, np.uint8))


def _from_csv(path: Path, split: Split) -> FaceSet:
    want = _CSV_USAGE[split]
    xs: list[npt.NDArray[np.uint8]] = []
    ys: list[int] = []
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"emotion", "pixels"} - set(reader.fieldnames or [])
            if missing:
                raise DataError(f"{path}: missing column(s) {sorted(missing)}")
            for line, row in enumerate(reader, start=2):
                usage = row.get("Usage") or "Training"
                if usage != want:
                    continue
                pixels = np.array(row["pixels"].split(), dtype=np.int32)
                if pixels.size != FACE_SIZE * FACE_SIZE or pixels.min() < 0 or pixels.max() > 255:
                    raise DataError(f"{path}:{line}: expected 2304 pixel values 0..255, got {pixels.size}")
                xs.append(pixels.astype(np.uint8).reshape(FACE_SIZE, FACE_SIZE))
                ys.append(int(row["emotion"]))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise DataError(f"{path}: malformed row: {exc}") from exc
    if not xs:
        raise DataError(f"{path}: no rows with Usage == {want}")
    return FaceSet(np.stack(xs), np.asarray(ys, np.uint8))


def _from_folders(root: Path) -> FaceSet:
    xs: list[npt.NDArray[np.uint8]] = []
    ys: list[int] = []
    for label, name in enumerate(EMOTIONS):
        folder = root / name
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise DataError(f"cannot decode image {f}")
            if img.shape != (FACE_SIZE, FACE_SIZE):
                img = np.asarray(cv2.resize(img, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA), np.uint8)
            xs.append(np.asarray(img, np.uint8))
            ys.append(label)
    if not xs:
        raise DataError(f"no images found under {root}/<class>/")
    return FaceSet(np.stack(xs), np.asarray(ys, np.uint8))
