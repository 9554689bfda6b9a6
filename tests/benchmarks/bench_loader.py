"""Benchmark labelprep.load_dataset against the input pipelines a user would otherwise write.

Run (a script, not a test; pytest does not collect it)::

    python tests/benchmarks/bench_loader.py                 # 2,000 images of 224 px, a few minutes on 2 cores
    python tests/benchmarks/bench_loader.py --quick         # 320 images, a smoke run
    python tests/benchmarks/bench_loader.py --image-size 160  # a resize that does work

Data: N JPEGs of 224x224 (quality 90, smooth gradients with a few shapes and some noise, 15-30 KB each,
numpy seed fixed), 10 labels, 1 + Poisson(1) positives an image, written to a temporary folder; the
same JPEG bytes go into TFRecord shards (``labelprep export`` when it exists, else a plain writer of the
``spec.FEATURES`` records) and into memory for the decode-only limit.

Every method reads all N images once per epoch as batches of 32 float32 ``[32, S, S, 3]`` images
(S = ``--image-size``, 224 by default) plus multi-hot float32 labels, with a random horizontal flip,
and is iterated in a fresh Python process of its own (so no method inherits another's threads or memory):
one untimed warm-up epoch, then ``--epochs`` timed ones (5 by default; the median is kept and the best shown), as
images per second. Five rather than three because this project's 2-vCPU machine runs about one epoch in four at
the speed of a single core, for whole epochs at a time and for every method alike; a median of three catches one
such epoch too often. Methods:

* ``flow_from_dataframe``: ``ImageDataGenerator(horizontal_flip=True).flow_from_dataframe(class_mode="raw",
  y_col=<label columns>)``, what Keras offers for multi-label data (Pillow decoding, one thread, as
  ``fit`` runs it);
* Pillow PyDataset: a ``keras.utils.PyDataset`` decoding with Pillow (resize BILINEAR when needed, numpy
  flip), run through Keras' own PyDataset adapter with ``workers=2`` threads;
* tf.data from files: ``from_tensor_slices((paths, labels)).shuffle().map(read_file + decode_jpeg +
  resize, AUTOTUNE).batch().map(random_flip_left_right).prefetch()``, the tutorial pipeline;
* TFRecord, straightforward: ``TFRecordDataset(shards).shuffle(1024).map(parse_single_example +
  decode_jpeg + resize + one_hot, AUTOTUNE).batch().map(flip).prefetch()``;
* decode-only limit: ``from_tensor_slices(<the JPEG bytes in memory>).map(decode_jpeg, AUTOTUNE).batch()
  .prefetch()``: decoding the same bytes with nothing else (no file reading, parsing, resize, flip,
  labels or float conversion), the ceiling for any loader of these files on this machine;
* labelprep ``load_dataset(out, "train", image_size=(S, S), flip="horizontal")``;
* the same with ``augment=keras.layers.RandomFlip("horizontal")`` instead of ``flip=`` (for reference: on CPU
  the Keras layer costs more than decoding the JPEGs, which is why ``flip=`` exists);
* labelprep ``load_dataset(..., flip="horizontal", cache=True)``: the warm-up epoch fills the in-memory cache;
  timed epochs read from it (and still shuffle and flip).

Besides images per second (wall clock), the table gives the CPU time of the whole process per image (all
threads; user + system), which moves less than wall clock when other work shares the machine.

Targets: load_dataset >= 0.75x the decode-only limit and >= 2.5x flow_from_dataframe; load_dataset with
cache from the second epoch >= 10x flow_from_dataframe.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

try:  # run as a script, this folder is sys.path[0]
    from _results import record
except ImportError:  # imported from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import record

SEED = 20240611
LABELS = [f"label_{i}" for i in range(10)]
SOURCE_SIZE = 224

FLOW = "flow_from_dataframe (legacy, raw multi-label)"
PILLOW = "Pillow PyDataset (workers=2)"
FILES = "tf.data from JPEG files"
TFRECORD = "TFRecord, straightforward"
DECODE = "decode-only limit"
LOAD = 'labelprep load_dataset(flip="horizontal")'
LOAD_U8 = 'labelprep load_dataset(flip="horizontal", dtype="uint8")'
LOAD_KERAS = "labelprep load_dataset(augment=RandomFlip)"
CACHED = 'labelprep load_dataset(flip="horizontal", cache=True), epoch 2+'
METHODS = [FLOW, PILLOW, FILES, TFRECORD, DECODE, LOAD, LOAD_U8, LOAD_KERAS, CACHED]
# The targets, each a ratio of two methods measured in one process, epochs alternating (see pair_ratio).
TARGETS = [
    ("load_dataset / decode-only limit", LOAD, DECODE, 0.75),
    ("load_dataset / flow_from_dataframe", LOAD, FLOW, 2.5),
    ("load_dataset(cache=True) epoch 2+ / flow_from_dataframe", CACHED, FLOW, 10.0),
]
# Not a target: the uint8 output beside the limit, which yields uint8 too.
EXTRA_PAIRS = [('load_dataset(dtype="uint8") / decode-only limit', LOAD_U8, DECODE)]
RESULT_TAG = "BENCH_RESULT "


# -- data -----------------------------------------------------------------------------------------------------------


def make_images(root: Path, n: int) -> pd.DataFrame:
    """N JPEGs (colour gradients, a few shapes, some noise) and a multi-hot frame of random labels."""
    rng = np.random.default_rng(SEED)
    (root / "images").mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:SOURCE_SIZE, 0:SOURCE_SIZE].astype(np.float32) / SOURCE_SIZE
    rows = []
    for i in range(n):
        c0, c1, c2 = rng.uniform(0, 255, (3, 3))
        base = c0 * (1 - xx)[..., None] + c1 * xx[..., None] * (1 - yy)[..., None] + c2 * yy[..., None]
        base += rng.normal(0, 6, base.shape)
        im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(im)
        for _ in range(rng.integers(2, 6)):
            x0, y0 = rng.integers(0, SOURCE_SIZE - 40, 2)
            w, h = rng.integers(20, 120, 2)
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x0 + w, y0 + h), fill=fill)
        path = f"images/{i:05d}.jpg"
        im.save(root / path, "JPEG", quality=90)
        positive = rng.choice(len(LABELS), size=min(len(LABELS), 1 + rng.poisson(1)), replace=False)
        row = np.zeros(len(LABELS), np.int8)
        row[positive] = 1
        rows.append((path, row))
    frame = pd.DataFrame({"path": [p for p, _ in rows]})
    matrix = np.stack([r for _, r in rows])
    for k, label in enumerate(LABELS):
        frame[label] = matrix[:, k]
    frame["split"] = "train"
    return frame


def write_shards(frame: pd.DataFrame, root: Path, out: Path) -> str:
    """Shards of the frame in ``out``: through ``labelprep.export`` when it exists, else a plain writer."""
    import labelprep

    labelprep.write_frame(frame, labelprep.Vocabulary(LABELS), root / "labels.parquet")
    export = getattr(labelprep, "export", None)
    if export is not None:
        export(root / "labels.parquet", out, images_root=root, overwrite=True)
        return "labelprep export"
    import tensorflow as tf

    from labelprep.shards import spec
    from labelprep.shards.manifest import Manifest, ShardInfo, SplitInfo
    from labelprep.shards.writer import file_sha256

    out.mkdir(parents=True, exist_ok=True)
    matrix = frame[LABELS].to_numpy()
    count = 8
    bounds = np.linspace(0, len(frame), count + 1).astype(int)
    shards = []
    for k in range(count):
        name = spec.shard_name("bench", "train", k, count)
        with tf.io.TFRecordWriter(str(out / name)) as writer:
            for i in range(bounds[k], bounds[k + 1]):
                path = frame["path"].iloc[i]
                data = (root / path).read_bytes()
                feats = {
                    "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
                    "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"jpeg"])),
                    "image/height": tf.train.Feature(int64_list=tf.train.Int64List(value=[SOURCE_SIZE])),
                    "image/width": tf.train.Feature(int64_list=tf.train.Int64List(value=[SOURCE_SIZE])),
                    "image/path": tf.train.Feature(bytes_list=tf.train.BytesList(value=[path.encode()])),
                    "labels/positive": tf.train.Feature(
                        int64_list=tf.train.Int64List(value=np.flatnonzero(matrix[i] == 1).tolist())
                    ),
                    "labels/unknown": tf.train.Feature(int64_list=tf.train.Int64List(value=[])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString())
        file = out / name
        shards.append(ShardInfo(name, int(bounds[k + 1] - bounds[k]), file.stat().st_size, file_sha256(file)))
    pos, neg = (matrix == 1).sum(axis=0), (matrix == 0).sum(axis=0)
    info = SplitInfo(
        "train",
        len(frame),
        {lab: int(p) for lab, p in zip(LABELS, pos)},
        {lab: (float(n / p) if p else None) for lab, n, p in zip(LABELS, neg, pos)},
        dict.fromkeys(LABELS, 0),
        shards,
    )
    manifest = Manifest("bench", labelprep.Vocabulary(LABELS), {"train": info}, image={}, source={})
    (out / spec.MANIFEST_NAME).write_text(manifest.to_json())
    return "a plain tf.io.TFRecordWriter (labelprep.export not available)"


# -- methods: each returns a function that runs one epoch and returns the number of images it yielded --------------


def flow_epoch(frame: pd.DataFrame, root: Path, size: int, batch: int) -> Callable[[], int]:
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    df = frame[["path", *LABELS]].astype(dict.fromkeys(LABELS, "float32"))
    it = ImageDataGenerator(horizontal_flip=True).flow_from_dataframe(
        df, directory=str(root), x_col="path", y_col=LABELS, class_mode="raw",
        target_size=(size, size), batch_size=batch, shuffle=True, seed=SEED,
    )  # fmt: skip

    def epoch() -> int:
        n = 0
        for _ in range(len(it)):
            x, _y = next(it)
            n += len(x)
        return n

    return epoch


def pillow_epoch(frame: pd.DataFrame, root: Path, size: int, batch: int) -> Callable[[], int]:
    import keras
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    class PillowDataset(keras.utils.PyDataset):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.paths = [str(root / p) for p in frame["path"]]
            self.labels = frame[LABELS].to_numpy(np.float32)
            self.order = np.arange(len(self.paths))
            self.rng = np.random.default_rng(SEED)

        def __len__(self) -> int:
            return math.ceil(len(self.paths) / batch)

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            idx = self.order[i * batch : (i + 1) * batch]
            x = np.empty((len(idx), size, size, 3), np.float32)
            for j, k in enumerate(idx):
                with Image.open(self.paths[k]) as im:
                    rgb = im.convert("RGB")
                if rgb.size != (size, size):
                    rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
                a = np.asarray(rgb, np.float32)
                x[j] = a[:, ::-1] if self.rng.random() < 0.5 else a
            return x, self.labels[idx]

        def on_epoch_end(self) -> None:
            self.rng.shuffle(self.order)

    adapter = PyDatasetAdapter(PillowDataset(workers=2, max_queue_size=10), shuffle=False)

    def epoch() -> int:
        n = sum(len(x) for x, _ in adapter.get_numpy_iterator())
        adapter.on_epoch_end()
        return n

    return epoch


def _count(ds: Iterable[Any]) -> int:
    return sum(int(b[0].shape[0]) for b in ds)


def files_epoch(frame: pd.DataFrame, root: Path, size: int, batch: int) -> Callable[[], int]:
    import tensorflow as tf

    paths = [str(root / p) for p in frame["path"]]
    labels = frame[LABELS].to_numpy(np.float32)

    def load(path: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        img = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.image.resize(img, (size, size)), y

    ds = (
        tf.data.Dataset.from_tensor_slices((paths, labels))
        .shuffle(len(paths), seed=SEED)
        .map(load, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch)
        .map(lambda x, y: (tf.image.random_flip_left_right(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return lambda: _count(ds)


def tfrecord_epoch(out: Path, size: int, batch: int) -> Callable[[], int]:
    import tensorflow as tf

    files = sorted(str(p) for p in out.glob("*.tfrecord-*"))
    features = {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "labels/positive": tf.io.VarLenFeature(tf.int64),
    }

    def parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        ex = tf.io.parse_single_example(record, features)
        img = tf.image.resize(tf.io.decode_jpeg(ex["image/encoded"], channels=3), (size, size))
        y = tf.reduce_sum(tf.one_hot(tf.sparse.to_dense(ex["labels/positive"]), len(LABELS)), axis=0)
        return img, y

    ds = (
        tf.data.TFRecordDataset(files)
        .shuffle(1024, seed=SEED)
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch)
        .map(lambda x, y: (tf.image.random_flip_left_right(x), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return lambda: _count(ds)


def decode_epoch(frame: pd.DataFrame, root: Path, batch: int) -> Callable[[], int]:
    import tensorflow as tf

    data = [(root / p).read_bytes() for p in frame["path"]]
    # One parallel call per core, autotuner off: with AUTOTUNE this pipeline ran some epochs at one core's
    # speed (3,190 against 7,100 images/s, whole epochs at a time), which would flatter every ratio to it.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    options = tf.data.Options()
    options.autotune.enabled = False
    ds = (
        tf.data.Dataset.from_tensor_slices(data)
        .map(lambda b: tf.io.decode_jpeg(b, channels=3), num_parallel_calls=cores)
        .batch(batch)
        .prefetch(2)
        .with_options(options)
    )
    return lambda: _count((b,) for b in ds)


def labelprep_epoch(
    out: Path, size: int, batch: int, *, cache: bool, keras_flip: bool = False, dtype: str = "float32"
) -> Callable[[], int]:
    import keras

    import labelprep

    flip: dict[str, Any] = {"augment": keras.layers.RandomFlip("horizontal")} if keras_flip else {"flip": "horizontal"}
    ds = labelprep.load_dataset(out, "train", batch_size=batch, image_size=(size, size), cache=cache, dtype=dtype,
                                **flip)  # fmt: skip
    return lambda: _count(ds)


# -- timing and the table -------------------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, epoch: Callable[[], int], epochs: int, expected: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = epoch()  # warm-up: tracing, thread pools, page cache; fills the cache of cache=True
    warm = time.perf_counter() - t0
    if n != expected:
        raise SystemExit(f"{name}: yielded {n} images in an epoch, expected {expected}")
    rates, cpu = [], []
    for _ in range(epochs):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        n = epoch()
        rates.append(n / (time.perf_counter() - t0))
        cpu.append((_cpu_seconds() - c0) / n * 1e6)
    return {"method": name, "rate": statistics.median(rates), "rates": rates, "cpu_us": statistics.median(cpu),
            "warmup_s": warm}  # fmt: skip


def table(results: dict[str, dict[str, Any]]) -> str:
    flow = results[FLOW]["rate"] if FLOW in results else None
    limit = results[DECODE]["rate"] if DECODE in results else None
    lines = [
        "| method | images/s (median) | best epoch | x flow_from_dataframe | of decode-only limit | CPU us an image |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        vs_flow = f"{r['rate'] / flow:.1f}x" if flow else "-"
        vs_limit = f"{r['rate'] / limit:.2f}" if limit else "-"
        lines.append(
            f"| {name} | {r['rate']:,.0f} | {max(r['rates']):,.0f} | {vs_flow} | {vs_limit} | {r['cpu_us']:,.0f} |"
        )
    return "\n".join(lines)


def pair_ratio(first: Callable[[], int], second: Callable[[], int], rounds: int, expected: int) -> dict[str, Any]:
    """Rates of two methods built in one process, timed in alternating epochs (A B, B A, A B, ...).

    A ratio of two medians taken minutes apart moves with whatever else the machine does in between
    (this 2-vCPU machine's speed drifts by a third over minutes); epochs side by side see the same
    machine, and the median of the per-round ratios keeps that. Each method gets a warm-up epoch first.
    """
    for epoch in (first, second):
        if epoch() != expected:
            raise SystemExit(f"an epoch yielded the wrong number of images (expected {expected})")
    ratios, rates_a, rates_b = [], [], []
    for r in range(rounds):
        rates = {}
        for key in ("ab" if r % 2 == 0 else "ba"):
            epoch = first if key == "a" else second
            t0 = time.perf_counter()
            n = epoch()
            rates[key] = n / (time.perf_counter() - t0)
        rates_a.append(rates["a"])
        rates_b.append(rates["b"])
        ratios.append(rates["a"] / rates["b"])
    return {"ratio": statistics.median(ratios), "ratios": ratios, "rates_a": rates_a, "rates_b": rates_b}


def targets(pairs: dict[str, dict[str, Any]], *, setting: str) -> list[str]:
    """One line per target that was measured, each also recorded through ``_results.record``."""
    out = []
    for what, a, b, target in TARGETS:
        if what not in pairs:
            continue
        value = pairs[what]["ratio"]
        passed = value >= target
        out.append(f"{what}: {value:.2f} (target >= {target}): {'pass' if passed else 'FAIL'}")
        measure = f"{'load_dataset(flip, cache=True) images/s from epoch 2' if a == CACHED else 'load_dataset(flip) images/s'} ({setting})"
        anchor = "decode-only limit" if b == DECODE else "flow_from_dataframe"
        record("bench_loader", measure, value=value, anchor=anchor, target=f">= {target}x", passed=passed)
    return out


def _build(name: str, root: Path, size: int, batch: int) -> Callable[[], int]:
    frame = pd.read_parquet(root / "labels.parquet")
    shards = root / "shards"
    builders: dict[str, Callable[[], Callable[[], int]]] = {
        FLOW: lambda: flow_epoch(frame, root, size, batch),
        PILLOW: lambda: pillow_epoch(frame, root, size, batch),
        FILES: lambda: files_epoch(frame, root, size, batch),
        TFRECORD: lambda: tfrecord_epoch(shards, size, batch),
        DECODE: lambda: decode_epoch(frame, root, batch),
        LOAD: lambda: labelprep_epoch(shards, size, batch, cache=False),
        LOAD_U8: lambda: labelprep_epoch(shards, size, batch, cache=False, dtype="uint8"),
        LOAD_KERAS: lambda: labelprep_epoch(shards, size, batch, cache=False, keras_flip=True),
        CACHED: lambda: labelprep_epoch(shards, size, batch, cache=True),
    }
    return builders[name]()


def _child(args: argparse.Namespace) -> None:
    if args.pair:
        a, b = (METHODS[int(i)] for i in args.pair.split(","))
        built = [_build(name, args.data, args.image_size, args.batch) for name in (a, b)]
        result = pair_ratio(built[0], built[1], args.rounds, args.images)
    else:
        result = measure(args.child, _build(args.child, args.data, args.image_size, args.batch), args.epochs,
                         args.images)  # fmt: skip
    print(RESULT_TAG + json.dumps(result), flush=True)


def _run_child(name: str, args: argparse.Namespace, root: Path, n: int, *, pair: tuple[str, str] | None = None
               ) -> dict[str, Any]:  # fmt: skip
    cmd = [sys.executable, __file__, "--data", str(root), "--images", str(n), "--image-size", str(args.image_size),
           "--batch", str(args.batch), "--epochs", str(args.epochs), "--rounds", str(args.rounds)]  # fmt: skip
    cmd += ["--pair", ",".join(str(METHODS.index(m)) for m in pair)] if pair else ["--child", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return dict(json.loads(line[len(RESULT_TAG) :]))
    raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--images", type=int, default=None, help="number of images (default 2,000)")
    parser.add_argument("--quick", action="store_true", help="320 images unless --images is given")
    parser.add_argument("--image-size", type=int, default=SOURCE_SIZE, help="side of the images yielded (224)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per method, after one warm-up")
    parser.add_argument("--data", type=Path, default=None, help="keep the generated images and shards here")
    parser.add_argument("--only", nargs="+", default=None, help="methods to run (substrings of their names)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds for each ratio with a target")
    parser.add_argument("--no-pairs", action="store_true", help="only the table, no alternating ratios")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--pair", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = args.images or (320 if args.quick else 2000)
    if args.child or args.pair:
        _child(args)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp:
        root = args.data or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        frame = make_images(root, n)
        kb = sum((root / p).stat().st_size for p in frame["path"]) / n / 1e3
        how = write_shards(frame, root, root / "shards")
        print(f"{n} JPEGs of {SOURCE_SIZE}px ({kb:.0f} KB each on average) and shards written with {how} "
              f"in {time.perf_counter() - t0:.1f}s", file=sys.stderr)  # fmt: skip
        results: dict[str, dict[str, Any]] = {}
        for name in METHODS:
            if args.only and not any(s in name for s in args.only):
                continue
            results[name] = r = _run_child(name, args, root, n)
            print(f"  {name}: {r['rate']:,.0f} images/s (epochs: {', '.join(f'{x:,.0f}' for x in r['rates'])}; "
                  f"{r['cpu_us']:,.0f} us CPU an image; warm-up {r['warmup_s']:.1f}s)", file=sys.stderr, flush=True)  # fmt: skip
        pairs: dict[str, dict[str, Any]] = {}
        for what, a, b, *_ in [] if args.no_pairs else [*TARGETS, *EXTRA_PAIRS]:
            if args.only and not all(any(s in m for s in args.only) for m in (a, b)):
                continue
            pairs[what] = r = _run_child(what, args, root, n, pair=(a, b))
            print(f"  {what}, alternating: {r['ratio']:.2f} (rounds: {', '.join(f'{x:.2f}' for x in r['ratios'])})",
                  file=sys.stderr, flush=True)  # fmt: skip

    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n{n} images, {SOURCE_SIZE}px JPEG -> {args.image_size}x{args.image_size} float32, batch {args.batch}, "
          f"random horizontal flip; median of {args.epochs} epochs after a warm-up, each method in a fresh process. "
          f"{os.cpu_count()} CPUs (load average at the end {load}), Python {platform.python_version()}\n")  # fmt: skip
    print(table(results))
    if pairs:
        print(f"\nRatios measured in one process, epochs of the two alternating, median of {args.rounds} rounds "
              "(the targets are judged on these):\n")  # fmt: skip
        print("| ratio | median | rounds (min-max) | images/s, first | images/s, second |")
        print("|---|---|---|---|---|")
        for what, r in pairs.items():
            print(f"| {what} | {r['ratio']:.2f} | {min(r['ratios']):.2f}-{max(r['ratios']):.2f} | "
                  f"{statistics.median(r['rates_a']):,.0f} | {statistics.median(r['rates_b']):,.0f} |")  # fmt: skip
        print()
    setting = f"{n:,} JPEGs to {args.image_size}px float32, batch {args.batch}"
    for line in targets(pairs, setting=setting):
        print(line)
    if DECODE in results and LOAD in results:
        # CPU time moves less than wall clock when other jobs share the machine (informative, not a target).
        cpu = {k: v["cpu_us"] for k, v in results.items()}
        print(f"CPU time an image, decode-only limit / load_dataset: {cpu[DECODE] / cpu[LOAD]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
