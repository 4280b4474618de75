"""Every dataset format a user may download reads into the same faces and labels; bad paths fail in one line."""

from __future__ import annotations

import lzma
from pathlib import Path

import cv2
import numpy as np
import pytest

from db.emotions import EMOTIONS
from models.data import DataError, load_split

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(7)
X = RNG.integers(0, 256, (14, 48, 48), dtype=np.uint8)
Y = np.array([i % 7 for i in range(14)], np.uint8)


def write_csv(path: Path, usages: list[str]) -> None:
    lines = ["emotion,pixels,Usage"]
    for x, y, u in zip(X, Y, usages):
        lines.append(f"{y},{' '.join(str(v) for v in x.ravel())},{u}")
    path.write_text("\n".join(lines) + "\n")


def test_kaggle_csv_splits_by_usage_and_never_returns_privatetest(tmp_path: Path) -> None:
    usages = ["Training"] * 8 + ["PublicTest"] * 4 + ["PrivateTest"] * 2
    write_csv(tmp_path / "fer2013.csv", usages)
    train = load_split(tmp_path / "fer2013.csv", "train")
    val = load_split(tmp_path, "val")  # the folder holding fer2013.csv works too
    assert np.array_equal(train.x, X[:8]) and np.array_equal(train.y, Y[:8])
    assert np.array_equal(val.x, X[8:12]) and len(val) == 4


def test_kaggle_image_folders(tmp_path: Path) -> None:
    for split, rows in (("train", range(10)), ("test", range(10, 14))):
        for i in rows:
            d = tmp_path / split / EMOTIONS[Y[i]]
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"im{i:03d}.png"), X[i])
    train, val = load_split(tmp_path, "train"), load_split(tmp_path, "val")
    assert len(train) == 10 and len(val) == 4
    assert sorted(train.y.tolist()) == sorted(Y[:10].tolist())
    assert train.counts()["angry"] == int((Y[:10] == 0).sum())
    # PNG is lossless: pixels survive exactly
    first = train.x[train.y == Y[0]][0]
    assert np.array_equal(first, X[0])


def test_npz_and_compact_copy(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "fer2013_train.npz", x=X, y=Y, classes=np.array(EMOTIONS))
    np.savez_compressed(tmp_path / "fer2013_publictest.npz", x=X[:3], y=Y[:3], classes=np.array(EMOTIONS))
    assert len(load_split(tmp_path, "train")) == 14 and len(load_split(tmp_path, "val")) == 3
    compact = tmp_path / "compact"
    compact.mkdir()
    (compact / "fer2013_train_x.u8.xz").write_bytes(lzma.compress(X.tobytes()))
    np.save(compact / "fer2013_train_y.npy", Y)
    assert np.array_equal(load_split(compact, "train").x, X)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "x.txt").write_text("hi") and p / "x.txt", "unsupported dataset file"),
        (lambda p: p, "no FER2013 train split"),
        (lambda p: (p / "fer2013.csv").write_text("a,b\n1,2\n") and p / "fer2013.csv", "missing column"),
        (
            lambda p: (p / "fer2013.csv").write_text("emotion,pixels,Usage\n1,1 2 3,Training\n") and p / "fer2013.csv",
            "expected 2304 pixel values",
        ),
    ],
)
def test_bad_datasets_fail_with_one_line(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError) as err:
        load_split(make(tmp_path), "train")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_class_order_mismatch_is_refused(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "fer2013_train.npz", x=X, y=Y, classes=np.array(EMOTIONS[::-1]))
    with pytest.raises(DataError, match="class order"):
        load_split(tmp_path, "train")
