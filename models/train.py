"""Train the emotion CNN: ``python -m models.train --data PATH [--out models/emotion.keras]``.

Validation (and the choice of the best epoch) uses PublicTest only; PrivateTest is never read. The run is seeded,
prints one line per epoch, and writes the model, its label map and a JSON history beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from models.classifier import DEFAULT_MODEL, write_labels
from models.data import DataError, FaceSet, load_split

if TYPE_CHECKING:
    import numpy as np


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="FER2013 folder, fer2013.csv, or Kaggle train/ test/ folders")
    p.add_argument("--val-data", help="where the PublicTest split lives, if not in --data")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model file to write (.keras)")
    p.add_argument("--epochs", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (AdamW, cosine decay)")
    p.add_argument("--width", type=int, default=16, help="channels of the first conv stage")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke tests)")
    p.add_argument("--init", type=Path, help="start from this model's weights (a fine-tuning phase) instead of scratch")
    p.add_argument(
        "--class-weight",
        choices=["none", "sqrt", "balanced"],
        default="none",
        help="weight each face's loss by inverse class frequency (balanced) or its square root (sqrt)",
    )
    p.add_argument("--erasing", type=float, default=0.0, help="probability of random erasing per training face")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0 or args.width < 4:
        p.error("--epochs, --batch-size, --width must be positive and --lr > 0")
    if not 0 <= args.erasing <= 1:
        p.error("--erasing must be a probability between 0 and 1")
    if args.init is not None and not args.init.is_file():
        p.error(f"--init: model file not found: {args.init}")
    if args.out.suffix != ".keras":
        p.error("--out must end in .keras")
    return args


def class_weights(y: np.ndarray, mode: str) -> np.ndarray:
    """Per-class loss weights, mean 1 over the training faces: 1 (none), 1/frequency (balanced) or its square root.

    FER2013 has 16 times more happy faces than disgust ones; without weighting the rare classes collapse."""
    import numpy as np

    counts = np.bincount(y, minlength=7).astype("float64")
    if mode == "none":
        return np.ones(7)
    w = 1.0 / np.maximum(counts, 1)
    if mode == "sqrt":
        w = np.sqrt(w)
    return w / float((w[y]).mean())


def random_erasing(x, p: float, seed: int):  # type: ignore[no-untyped-def]
    """Zhong et al.'s random erasing: with probability ``p`` a rectangle of 2-20% of the face becomes noise."""
    import tensorflow as tf

    n = tf.shape(x)[0]
    size = x.shape[1]
    area = tf.random.uniform([n], 0.02, 0.2, seed=seed) * size * size
    ratio = tf.exp(tf.random.uniform([n], -1.2, 1.2, seed=seed + 1))
    h = tf.clip_by_value(tf.sqrt(area * ratio), 4.0, size - 1.0)
    w = tf.clip_by_value(tf.sqrt(area / ratio), 4.0, size - 1.0)
    top = tf.random.uniform([n], 0, 1, seed=seed + 2) * (size - h)
    left = tf.random.uniform([n], 0, 1, seed=seed + 3) * (size - w)
    grid = tf.range(size, dtype=tf.float32)
    rows = (grid[None, :] >= top[:, None]) & (grid[None, :] < (top + h)[:, None])
    cols = (grid[None, :] >= left[:, None]) & (grid[None, :] < (left + w)[:, None])
    box = rows[:, :, None] & cols[:, None, :]
    box &= (tf.random.uniform([n], 0, 1, seed=seed + 4) < p)[:, None, None]
    noise = tf.random.uniform(tf.shape(x), 0, 255, seed=seed + 5)
    return tf.where(box[..., None], noise, x)


def make_datasets(  # type: ignore[no-untyped-def]
    train: FaceSet, val: FaceSet, batch_size: int, seed: int, weights=None, erasing: float = 0.0
):
    import keras
    import numpy as np
    import tensorflow as tf

    augment = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomRotation(0.04, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 3),
        ],
        name="augment",
    )
    x_train = train.x[..., None].astype("float32")
    x_val = val.x[..., None].astype("float32")
    w_table = tf.constant(np.ones(7) if weights is None else weights, tf.float32)

    def _prepare(x, y):  # type: ignore[no-untyped-def]
        x = augment(x, training=True)
        if erasing > 0:
            x = random_erasing(x, erasing, seed + 10)
        return x, tf.one_hot(y, 7), tf.gather(w_table, y)

    train_ds = (
        tf.data.Dataset.from_tensor_slices((x_train, train.y.astype("int32")))
        .shuffle(len(train), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(_prepare, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, tf.one_hot(val.y.astype("int32"), 7))).batch(256)
    return train_ds, val_ds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train = load_split(args.data, "train")
        val = load_split(args.val_data or args.data, "val")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        train = FaceSet(train.x[: args.limit], train.y[: args.limit])

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from models.network import build_model

    keras.utils.set_random_seed(args.seed)
    weights = class_weights(train.y, args.class_weight)
    train_ds, val_ds = make_datasets(train, val, args.batch_size, args.seed, weights, args.erasing)
    steps = (len(train) // args.batch_size) * args.epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, alpha=0.01, warmup_target=args.lr, warmup_steps=max(1, steps // 30)
    )
    if args.init is not None:
        model = keras.saving.load_model(args.init, compile=False)
        print(f"fine-tuning from {args.init}", flush=True)
    else:
        model = build_model(width=args.width)
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
        metrics=["categorical_accuracy"],
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    best = args.out.with_suffix(".best.keras")
    print(f"training on {len(train)} faces, validating on {len(val)}; {model.count_params():,} parameters", flush=True)
    started = time.monotonic()
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        verbose=2,
        callbacks=[
            keras.callbacks.ModelCheckpoint(best, monitor="val_categorical_accuracy", save_best_only=True),
        ],
    )
    wall = time.monotonic() - started
    best_model = keras.saving.load_model(best, compile=False)
    best_model.save(args.out)
    best.unlink()
    write_labels(args.out)
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    val_acc = hist.get("val_categorical_accuracy", [0.0])
    meta = {
        "command": "python -m models.train " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": args.seed,
        "epochs": args.epochs,
        "best_epoch": int(np.argmax(val_acc)) + 1,
        "best_val_accuracy": max(val_acc),
        "wall_seconds": round(wall, 1),
        "train_images": len(train),
        "init": str(args.init) if args.init else None,
        "class_weight": args.class_weight,
        "erasing": args.erasing,
        "history": hist,
    }
    args.out.with_name(args.out.stem + ".history.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"saved {args.out} (best epoch {meta['best_epoch']}, PublicTest accuracy {max(val_acc):.4f}, {wall:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
