"""Train the emotion CNN: ``python -m models.train --data PATH --run-dir runs/NAME [--resume]``.

Validation (and the choice of the best epoch) uses PublicTest only; PrivateTest is never read. After every epoch the
whole training state (every model variable including BN statistics and dropout seeds, the optimiser's slots and
step, which fixes the learning-rate schedule's position, the NumPy random generator and the history) is written
atomically to ``RUN_DIR/checkpoint.npz``. ``--resume`` continues from it bit for bit, so a CPU run of many hours
survives the end of a session: the same command starts a run or continues it.

Augmentation runs in NumPy from one seeded generator (so it is part of the checkpoint): each face is re-cut with
``models.preprocess.crop_face`` from a jittered box, the crop the worker makes from a detector box (scale, shift,
in-plane rotation), mirrored half the time, then random erasing and mixup or cutmix on label-smoothed targets.
The best epoch's network is ``RUN_DIR/best.keras``; ``--out`` copies it (with its label map and history) at the end.

``--swa-epochs K`` ends the run with stochastic weight averaging (Izmailov et al., 2018): the cosine decay ends
``K`` epochs early at ``--swa-lr``, the rate is held there, and the weights after each of those epochs are averaged
into one network (its BatchNorm statistics recomputed on training faces), which competes for ``best.keras`` with
the network of every epoch. It is one network, as cheap to run as any other; the average sits in a wider optimum
than any single epoch's weights. Started from a trained network (``--init``) it is a cheap second round.

``--teacher MODEL`` distils a bigger network into this one (Hinton et al., 2015): the teacher sees the same augmented
(and mixed) batch, and the loss is ``(1 - a) * cross-entropy(targets) + a * T^2 * KL(teacher_T || student_T)`` with
``a = --distill-weight`` and both distributions softened by ``T = --distill-temperature``. A 2.6 M-weight network
reads about 2.4x slower than the shipped one in the worker, so its gain reaches the classroom through the small one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.classifier import write_labels
from models.data import DataError, FaceSet, load_split
from models.preprocess import FACE_SIZE, CropSpec, crop_face

CHECKPOINT = "checkpoint.npz"
# Arguments that shape the run; a resumed run takes them from the run folder, never from the new command line.
RECIPE = (
    "arch", "width", "epochs", "batch_size", "lr", "optimizer", "weight_decay", "label_smoothing", "seed", "limit",
    "class_weight", "erasing", "mix", "mix_prob", "jitter", "warmup_epochs", "teacher", "distill_weight",
    "distill_temperature", "swa_epochs", "swa_lr",
)
# what a run folder written before a recipe key existed meant by it
RECIPE_BEFORE = {"teacher": None, "distill_weight": 0.5, "distill_temperature": 2.0, "swa_epochs": 0, "swa_lr": None}
SWA_BN_FACES = 4096  # training faces the averaged network's BatchNorm statistics are recomputed on


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="FER2013 folder, fer2013.csv, or Kaggle train/ test/ folders")
    p.add_argument("--val-data", help="where the PublicTest split lives, if not in --data")
    p.add_argument("--run-dir", type=Path, help="folder for the checkpoint, best model and log (git-ignored runs/)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir if it has a checkpoint")
    p.add_argument("--out", type=Path, help="also copy the best model here at the end (.keras)")
    p.add_argument("--arch", choices=["vgg", "compact"], default="vgg", help="vgg: 4x2 convs; compact: the 310k net")
    p.add_argument("--width", type=int, default=32, help="channels of the first conv stage")
    p.add_argument("--epochs", type=int, default=80)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd", help="SGD with Nesterov momentum, or AdamW")
    p.add_argument("--lr", type=float, default=0.05, help="peak learning rate (linear warm-up, cosine decay)")
    p.add_argument("--warmup-epochs", type=float, default=3.0)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke tests)")
    p.add_argument(
        "--class-weight",
        choices=["none", "sqrt", "balanced"],
        default="none",
        help="weight each face's loss by inverse class frequency (balanced) or its square root (sqrt)",
    )
    p.add_argument("--erasing", type=float, default=0.5, help="probability of random erasing per training face")
    p.add_argument("--mix", choices=["none", "mixup", "cutmix"], default="cutmix")
    p.add_argument("--mix-prob", type=float, default=0.5, help="share of batches mixed")
    p.add_argument("--jitter", type=float, default=1.0, help="scale of the crop jitter (0: none)")
    p.add_argument("--threads", type=int, default=2, help="TensorFlow threads (the machine is shared)")
    p.add_argument("--stop-after", type=int, default=0, help="stop after this epoch as if interrupted (tests)")
    p.add_argument("--init", type=Path, help="start from this model's weights instead of scratch")
    p.add_argument("--teacher", type=Path, help="distil this trained model (.keras) into the one trained")
    p.add_argument("--distill-weight", type=float, help="share of the loss that follows the teacher (default 0.5)")
    p.add_argument("--distill-temperature", type=float, help="softening of both distributions (default 2.0)")
    p.add_argument("--swa-epochs", type=int, default=0, help="average the weights of the last K epochs (0: off)")
    p.add_argument("--swa-lr", type=float, help="the constant learning rate of the averaged epochs (default lr/5)")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0 or args.width < 4 or args.threads < 1:
        p.error("--epochs, --batch-size, --width, --threads must be positive and --lr > 0")
    if not 0 <= args.erasing <= 1 or not 0 <= args.mix_prob <= 1:
        p.error("--erasing and --mix-prob must be probabilities between 0 and 1")
    if args.init is not None and not args.init.is_file():
        p.error(f"--init: model file not found: {args.init}")
    if args.teacher is not None and not args.teacher.is_file():
        p.error(f"--teacher: model file not found: {args.teacher}")
    if args.teacher is None and (args.distill_weight is not None or args.distill_temperature is not None):
        p.error("--distill-weight and --distill-temperature need --teacher")
    args.distill_weight = RECIPE_BEFORE["distill_weight"] if args.distill_weight is None else args.distill_weight
    args.distill_temperature = (RECIPE_BEFORE["distill_temperature"] if args.distill_temperature is None
                                else args.distill_temperature)
    if not 0 <= args.distill_weight <= 1 or args.distill_temperature <= 0:
        p.error("--distill-weight must be between 0 and 1 and --distill-temperature > 0")
    if not 0 <= args.swa_epochs < args.epochs:
        p.error("--swa-epochs must be at least 0 and fewer than --epochs")
    if args.swa_lr is not None and (args.swa_epochs == 0 or not 0 < args.swa_lr <= args.lr):
        p.error("--swa-lr needs --swa-epochs and must be above 0 and at most --lr")
    if args.swa_epochs and args.swa_lr is None:
        args.swa_lr = args.lr / 5
    if args.out is not None and args.out.suffix != ".keras":
        p.error("--out must end in .keras")
    if args.resume and args.run_dir is None:
        p.error("--resume needs --run-dir")
    if args.run_dir is None:  # beside --out, or runs/train (git-ignored)
        args.run_dir = Path("runs") / "train" if args.out is None else args.out.parent / (args.out.stem + ".run")
    return args


def class_weights(y: npt.NDArray[np.integer], mode: str) -> npt.NDArray[np.float64]:
    """Per-class loss weights, mean 1 over the training faces: 1 (none), 1/frequency (balanced) or its square root.

    FER2013 has 16 times more happy faces than disgust ones; without weighting the rare classes collapse."""
    counts = np.bincount(y, minlength=7).astype("float64")
    if mode == "none":
        return np.ones(7)
    w = 1.0 / np.maximum(counts, 1)
    if mode == "sqrt":
        w = np.sqrt(w)
    return w / float((w[y]).mean())  # type: ignore[no-any-return]


def jittered_crops(x: npt.NDArray[np.uint8], rng: np.random.Generator, jitter: float) -> npt.NDArray[np.uint8]:
    """Re-cut each 48x48 FER2013 face as the worker cuts a detector box: the same ``crop_face`` with the box moved
    (±8%), resized (±10%), turned (±12°) and mirrored half the time, so the network learns the framing errors a
    detector makes instead of only FER2013's own framing."""
    n = len(x)
    scale = 1 + jitter * rng.uniform(-0.1, 0.1, n)
    shift = jitter * rng.uniform(-0.08, 0.08, (n, 2)) * FACE_SIZE
    angle = jitter * rng.uniform(-12, 12, n)
    flip = rng.random(n) < 0.5
    out = np.empty_like(x)
    for i in range(n):
        side = FACE_SIZE * scale[i]
        box = (FACE_SIZE / 2 + shift[i, 0] - side / 2, FACE_SIZE / 2 + shift[i, 1] - side / 2, side, side)
        t = np.radians(angle[i])
        eyes = ((0.0, 0.0), (np.cos(t), np.sin(t)))  # an eye line at this angle: crop_face levels it
        face = crop_face(x[i], box, eyes, CropSpec(align=True, interpolation="linear"))
        assert face is not None  # the box centre is always inside the 48x48 face
        out[i] = face[:, ::-1] if flip[i] else face
    return out


def random_erasing(x: npt.NDArray[np.float32], rng: np.random.Generator, p: float) -> None:
    """Zhong et al.'s random erasing, in place: with probability ``p`` a rectangle of 2-20% of the face becomes noise."""
    n, size = len(x), x.shape[1]
    area = rng.uniform(0.02, 0.2, n) * size * size
    ratio = np.exp(rng.uniform(-1.2, 1.2, n))
    h = np.clip(np.sqrt(area * ratio), 4, size - 1).astype(int)
    w = np.clip(np.sqrt(area / ratio), 4, size - 1).astype(int)
    top = (rng.random(n) * (size - h)).astype(int)
    left = (rng.random(n) * (size - w)).astype(int)
    hit = rng.random(n) < p
    for i in np.flatnonzero(hit):
        x[i, top[i] : top[i] + h[i], left[i] : left[i] + w[i]] = rng.uniform(0, 255, (h[i], w[i], 1))


def mix_batch(
    x: npt.NDArray[np.float32], t: npt.NDArray[np.float32], rng: np.random.Generator, mode: str
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Mixup (blend two faces and their targets) or cutmix (paste a patch, targets mixed by the patch's area)."""
    perm = rng.permutation(len(x))
    lam = float(rng.beta(1.0, 1.0))
    if mode == "mixup":
        lam = max(lam, 1 - lam)  # the first face stays the main one
        return lam * x + (1 - lam) * x[perm], lam * t + (1 - lam) * t[perm]
    size = x.shape[1]
    cut = round(size * np.sqrt(1 - lam))
    cy, cx = int(rng.integers(size)), int(rng.integers(size))
    y0, y1 = max(cy - cut // 2, 0), min(cy + cut // 2, size)
    x0, x1 = max(cx - cut // 2, 0), min(cx + cut // 2, size)
    out = x.copy()
    out[:, y0:y1, x0:x1] = x[perm, y0:y1, x0:x1]
    lam = 1 - (y1 - y0) * (x1 - x0) / (size * size)
    return out, lam * t + (1 - lam) * t[perm]


def epoch_batches(
    train: FaceSet, args: argparse.Namespace, rng: np.random.Generator, weights: npt.NDArray[np.float64]
) -> Any:
    """Yield ``(faces float32 [B,48,48,1], soft targets [B,7], loss weights [B])`` for one epoch."""
    order = rng.permutation(len(train))
    smooth = args.label_smoothing
    for start in range(0, len(order) - args.batch_size + 1, args.batch_size):
        idx = order[start : start + args.batch_size]
        x = jittered_crops(train.x[idx], rng, args.jitter).astype(np.float32)[..., None]
        t = np.full((len(idx), 7), smooth / 7, np.float32)
        t[np.arange(len(idx)), train.y[idx]] += 1 - smooth
        if args.erasing > 0:
            random_erasing(x, rng, args.erasing)
        if args.mix != "none" and rng.random() < args.mix_prob:
            x, t = mix_batch(x, t, rng, args.mix)
        yield x, t, weights[train.y[idx]].astype(np.float32)


def distill_loss(t: Any, p: Any, teacher: Any, w: Any, weight: float, temperature: float) -> Any:
    """Per-face ``(1 - weight) * CE(t, p) + weight * T^2 * KL(softmax(log teacher / T) || softmax(log p / T))``,
    times the face's loss weight ``w``, averaged over the batch as Keras averages a weighted loss. ``p`` and
    ``teacher`` are softmax outputs; T^2 keeps the soft term's gradients the size of the hard term's."""
    from keras import ops

    eps = 1e-7
    log_p = ops.log(ops.clip(p, eps, 1.0))
    ce = -ops.sum(t * log_p, axis=-1)
    student_t = ops.log_softmax(log_p / temperature, axis=-1)
    teacher_t = ops.softmax(ops.log(ops.clip(teacher, eps, 1.0)) / temperature, axis=-1)
    kl = ops.sum(teacher_t * (ops.log(ops.clip(teacher_t, eps, 1.0)) - student_t), axis=-1)
    per_face = (1.0 - weight) * ce + weight * temperature**2 * kl
    return ops.mean(per_face * w)


def save_checkpoint(
    path: Path, model: Any, optimizer: Any, meta: dict[str, Any], average: list[npt.NDArray[Any]] | None = None
) -> None:
    """Every variable of the model (weights, BN statistics, dropout seed state) and the optimiser, the running
    weight average of SWA, plus ``meta``, written to a temporary file and renamed, so a run killed mid-write keeps
    its previous checkpoint."""
    arrays = {f"m{i}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
    arrays |= {f"o{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
    arrays |= {f"s{i}": a for i, a in enumerate(average or [])}
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def load_checkpoint(path: Path, model: Any, optimizer: Any) -> tuple[dict[str, Any], list[npt.NDArray[Any]]]:
    """Restore ``model`` and ``optimizer``; return the meta and the running weight average (empty before SWA)."""
    with np.load(path) as z:
        meta: dict[str, Any] = json.loads(str(z["meta"]))
        for i, v in enumerate(model.variables):
            v.assign(z[f"m{i}"])
        for i, v in enumerate(optimizer.variables):
            v.assign(z[f"o{i}"])
        average = [z[f"s{i}"] for i in range(len(model.trainable_variables)) if f"s{i}" in z.files]
    return meta, average


def _all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, nested models' layers included (the shipped file wraps the network in another)."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out += _all_layers(layer)
    return out


def refresh_batchnorm(model: Any, faces: npt.NDArray[np.float32], batch: int = 256) -> None:
    """Recompute every BatchNorm layer's moving statistics as the plain mean over ``faces`` (training-mode passes
    with the momentum set so that batch k weighs 1/k): averaged weights need statistics of their own. Dropout is
    switched off meanwhile: a dropout before a BatchNorm (the compact network's head) would make the statistics
    depend on its random state, which the checkpoint does not hold for the averaged copy."""
    from keras import layers

    found = _all_layers(model)
    norms = [layer for layer in found if isinstance(layer, layers.BatchNormalization)]
    drops = [layer for layer in found if isinstance(layer, layers.Dropout)]
    if not norms:
        raise ValueError("refresh_batchnorm: the model has no BatchNormalization layer")
    kept = [layer.momentum for layer in norms]
    rates = [layer.rate for layer in drops]
    try:
        for layer in drops:
            layer.rate = 0.0
        for k, start in enumerate(range(0, len(faces), batch), 1):
            for layer in norms:
                layer.momentum = (k - 1) / k
            model(faces[start : start + batch], training=True)
    finally:
        for layer, momentum in zip(norms, kept, strict=True):
            layer.momentum = momentum
        for layer, rate in zip(drops, rates, strict=True):
            layer.rate = rate


def build_network(args: argparse.Namespace) -> Any:
    import keras

    from models.network import build_model, build_vgg

    if args.init is not None:
        return keras.saving.load_model(args.init, compile=False)
    return build_vgg(width=args.width) if args.arch == "vgg" else build_model(width=args.width)


def make_optimizer(args: argparse.Namespace, steps_per_epoch: int) -> Any:
    import keras

    total = steps_per_epoch * (args.epochs - (args.swa_epochs or 0))  # averaged epochs hold the final rate
    warm = min(total - 1, max(1, int(steps_per_epoch * args.warmup_epochs)))
    alpha = args.swa_lr / args.lr if args.swa_epochs else 0.01
    schedule = keras.optimizers.schedules.CosineDecay(  # stays at alpha * lr after its decay steps
        0.0, max(1, total - warm), alpha=alpha, warmup_target=args.lr, warmup_steps=warm
    )
    if args.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    return keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_dir: Path = args.run_dir
    ckpt = run_dir / CHECKPOINT
    resuming = args.resume and ckpt.is_file()
    if resuming:
        saved = json.loads((run_dir / "config.json").read_text())
        for key in RECIPE:
            setattr(args, key, saved[key] if key in saved else RECIPE_BEFORE[key])
        args.init = Path(saved["init"]) if saved.get("init") else None
        args.teacher = Path(args.teacher) if args.teacher else None
        if args.teacher is not None and not args.teacher.is_file():
            print(f"error: {run_dir}: its teacher {args.teacher} is gone; the run cannot continue as it began",
                  file=sys.stderr)
            return 2
    elif ckpt.is_file():
        print(f"error: {run_dir} already holds a run; add --resume to continue it or pick another --run-dir",
              file=sys.stderr)
        return 2
    try:
        train = load_split(args.data, "train")
        val = load_split(args.val_data or args.data, "val")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        train = FaceSet(train.x[: args.limit], train.y[: args.limit])
    steps = len(train) // args.batch_size
    if steps < 1:
        print(f"error: {len(train)} training faces are fewer than one batch of {args.batch_size}", file=sys.stderr)
        return 2

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    import models.layers  # noqa: F401  (registers the shipped model's own layers: --init or --teacher may be one)

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()  # a resumed run must repeat the uninterrupted one exactly
    keras.utils.set_random_seed(args.seed)

    model = build_network(args)
    optimizer = make_optimizer(args, steps)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.CategoricalCrossentropy()
    weights = class_weights(train.y, args.class_weight)
    run_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    meta: dict[str, Any] = {"epoch": 0, "history": [], "best_val_accuracy": -1.0, "best_epoch": 0}
    average: list[npt.NDArray[Any]] = []  # SWA: the mean of the trainable weights after each averaged epoch
    if resuming:
        meta, average = load_checkpoint(ckpt, model, optimizer)
        rng.bit_generator.state = meta["rng"]
        print(f"resuming {run_dir} after epoch {meta['epoch']} of {args.epochs}", flush=True)
    else:
        config = {k: getattr(args, k) for k in RECIPE} | {  # absolute: a resume may start from another folder
            "init": str(args.init.resolve()) if args.init else None,
            "teacher": str(args.teacher.resolve()) if args.teacher else None}
        (run_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        print(f"training on {len(train)} faces, validating on {len(val)}; {model.count_params():,} weights"
              + (f"; distilling {args.teacher}" if args.teacher else ""), flush=True)

    teacher = keras.saving.load_model(args.teacher, compile=False) if args.teacher is not None else None
    if teacher is not None:
        teacher.trainable = False

    @tf.function(reduce_retracing=True)
    def train_step(x: Any, t: Any, w: Any) -> Any:
        soft = teacher(x, training=False) if teacher is not None else None
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            if soft is None:
                loss = loss_fn(t, p, sample_weight=w)
            else:
                loss = distill_loss(t, p, soft, w, args.distill_weight, args.distill_temperature)
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    def flip_reader(net: Any) -> Any:
        @tf.function(reduce_retracing=True)
        def predict(x: Any) -> Any:
            return (net(x, training=False) + net(tf.reverse(x, axis=[2]), training=False)) / 2

        def accuracy() -> float:
            probs = np.concatenate([np.asarray(predict(x_val[i : i + 256])) for i in range(0, len(x_val), 256)])
            return float((probs.argmax(1) == val.y).mean())

        return accuracy

    def keep_best(net: Any, val_acc: float, epoch: int, source: str) -> bool:
        if val_acc <= meta["best_val_accuracy"]:
            return False
        meta["best_val_accuracy"], meta["best_epoch"], meta["best_source"] = val_acc, epoch, source
        net.save(run_dir / "best.tmp.keras")
        os.replace(run_dir / "best.tmp.keras", run_dir / "best.keras")
        return True

    x_val = val.x[..., None].astype(np.float32)
    swa_model = keras.models.clone_model(model) if args.swa_epochs else None
    accuracy_flip = flip_reader(model)
    accuracy_swa = flip_reader(swa_model) if swa_model is not None else None
    for epoch in range(meta["epoch"] + 1, args.epochs + 1):
        started = time.monotonic()
        losses = [float(train_step(x, t, w)) for x, t, w in epoch_batches(train, args, rng, weights)]
        val_acc = accuracy_flip()
        record = {"epoch": epoch, "loss": float(np.mean(losses)), "val_accuracy_flip": val_acc}
        improved = keep_best(model, val_acc, epoch, "epoch")
        swa_acc = None
        if swa_model is not None and epoch > args.epochs - args.swa_epochs:
            n = epoch - (args.epochs - args.swa_epochs)  # this epoch's weights are the n-th in the average
            current = [np.asarray(v.numpy()) for v in model.trainable_variables]
            average = current if n == 1 else [a + (c - a) / n for a, c in zip(average, current, strict=True)]
            swa_model.set_weights(model.get_weights())
            for v, a in zip(swa_model.trainable_variables, average, strict=True):
                v.assign(a)
            refresh_batchnorm(swa_model, train.x[:SWA_BN_FACES, ..., None].astype(np.float32))
            swa_acc = accuracy_swa()  # type: ignore[misc]
            record["val_accuracy_swa"] = swa_acc
            improved = keep_best(swa_model, swa_acc, epoch, "swa") or improved
        seconds = time.monotonic() - started
        meta["history"].append(record | {"seconds": round(seconds, 1)})
        meta["epoch"] = epoch
        meta["rng"] = rng.bit_generator.state
        save_checkpoint(ckpt, model, optimizer, meta, average)
        (run_dir / "history.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "rng"}, indent=2) + "\n")
        print(
            f"epoch {epoch}/{args.epochs}: loss {np.mean(losses):.4f}, PublicTest accuracy (flip) {val_acc:.4f}"
            + (f", averaged {swa_acc:.4f}" if swa_acc is not None else "")
            + f"{' (best)' if improved else ''}, {seconds:.0f} s",
            flush=True,
        )
        if args.stop_after and epoch >= args.stop_after and epoch < args.epochs:
            print(f"stopped after epoch {epoch}; continue with --resume", flush=True)
            return 0
    write_labels(run_dir / "best.keras")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run_dir / "best.keras", args.out)
        write_labels(args.out)
        shutil.copyfile(run_dir / "history.json", args.out.with_name(args.out.stem + ".history.json"))
    source = " (the weight average)" if meta.get("best_source") == "swa" else ""
    print(f"done: best epoch {meta['best_epoch']}{source}, PublicTest accuracy (flip) {meta['best_val_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
