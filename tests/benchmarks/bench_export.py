"""Benchmark: `labelprep export` throughput against a plain copy of the same image bytes.

2,000 generated 224 x 224 JPEGs (8-bit RGB, EXIF-free: all pass through untouched)
with random labels. In one run, each best of ``--repeat``:

- copy: ``shutil.copyfile`` of every image into one folder;
- concat: every image's bytes appended to one file (the I/O a shard writer cannot avoid);
- export, shard writing only (plan, read each image, check it may pass through, wrap it in a
  tf.train.Example, write TFRecords, hash each shard, write the manifest), with 1 and 2 workers;
- export, whole call (``labelprep.export``: read the frame, validate with ``--check-images header``,
  then the above) with TensorFlow already imported;
- the CLI in a fresh process (``python -m labelprep export``), TensorFlow import included.

Target: shard writing at least 0.5x the throughput of the plain copy.

    python tests/benchmarks/bench_export.py [--images 2000] [--repeat 3] [--keep DIR]
    python tests/benchmarks/bench_export.py --quick     # 200 images, one run each, a smoke run
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

try:  # run as a script, this folder is sys.path[0]
    from _results import record
except ImportError:  # imported from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import record

LABELS = [f"label{i}" for i in range(10)]


def make_data(root: Path, n: int) -> Path:
    """``n`` 224px JPEGs that compress like photos (smooth gradients plus noise), and labels.csv."""
    img_dir = root / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pick = random.Random(0)
    yy, xx = np.mgrid[0:224, 0:224]
    rows = ["image,labels"]
    for i in range(n):
        base = np.stack([(xx + i) % 256, (yy * 2 + i) % 256, (xx + yy + 3 * i) % 256], axis=-1)
        noise = rng.integers(-24, 24, size=(224, 224, 3))
        arr = np.clip(base + noise, 0, 255).astype(np.uint8)
        name = f"{i:05d}.jpg"
        Image.fromarray(arr, "RGB").save(img_dir / name, "JPEG", quality=90)
        labels = pick.sample(LABELS, pick.randint(0, 3))
        rows.append(f"images/{name},{'|'.join(labels)}")
    src = root / "labels.csv"
    src.write_text("\n".join(rows) + "\n")
    return src


def best(repeat: int, run: Callable[[int], Any]) -> float:
    times = []
    for k in range(repeat):
        start = time.perf_counter()
        run(k)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, help="generated JPEGs [2000; 200 with --quick]")
    ap.add_argument("--repeat", type=int, help="runs of each method; the best counts [3; 1 with --quick]")
    ap.add_argument("--quick", action="store_true", help="200 images, one run each, a smoke run")
    ap.add_argument("--keep", type=Path, help="Generate the data here and keep it (default: a temporary folder).")
    args = ap.parse_args()
    args.images = args.images or (200 if args.quick else 2000)
    args.repeat = args.repeat or (1 if args.quick else 3)

    import labelprep
    import labelprep.shards.export as shard_export
    from labelprep.extras import require_tensorflow

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-export-"))
    src = work / "labels.csv" if (work / "labels.csv").exists() else make_data(work, args.images)
    for old in [*work.glob("copy*"), *work.glob("concat*"), *work.glob("out-*")]:  # outputs of an earlier run
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    files = sorted((work / "images").glob("*.jpg"))
    total = sum(f.stat().st_size for f in files)
    print(f"{len(files):,} JPEGs, {total / 1e6:.1f} MB, in {work}")
    for f in files:  # warm the page cache for every method alike
        f.read_bytes()
    require_tensorflow()

    def copy(k: int) -> None:
        dst = work / f"copy{k}"
        dst.mkdir()
        for f in files:
            shutil.copyfile(f, dst / f.name)

    def concat(k: int) -> None:
        with open(work / f"concat{k}.bin", "wb") as out:
            for f in files:
                with open(f, "rb") as fh:
                    out.write(fh.read())

    write_times: list[float] = []
    real_write = shard_export.write_export

    def timed_write(*a: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return real_write(*a, **kw)
        finally:
            write_times.append(time.perf_counter() - start)

    shard_export.write_export = timed_write  # type: ignore[assignment]

    def export(workers: int) -> Callable[[int], Any]:
        def run(k: int) -> Any:
            return labelprep.export(src, work / f"out-w{workers}-{k}", shard_size="8MiB", workers=workers)

        return run

    results: list[tuple[str, float]] = []
    results.append(("plain copy (shutil.copyfile per image)", best(args.repeat, copy)))
    results.append(("plain concat (bytes appended to one file)", best(args.repeat, concat)))
    # Small exports are written in-process whatever --workers says; force processes to measure them.
    shard_export._INLINE_BELOW_BYTES = 0
    for workers in (1, 2):
        write_times.clear()
        whole = best(args.repeat, export(workers))
        results.append((f"export: shard writing, {workers} worker process(es)" if workers > 1 else
                        "export: shard writing, in-process", min(write_times)))
        results.append((f"export: whole call incl. validation, workers={workers}", whole))
    cli = [sys.executable, "-m", "labelprep", "export", str(src), "-o", "", "--shard-size", "8MiB", "-q"]

    def run_cli(k: int) -> None:
        cli[6] = str(work / f"out-cli-{k}")
        subprocess.run(cli, check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})

    results.append(("CLI in a fresh process (TensorFlow import incl.)", best(args.repeat, run_cli)))
    shard_bytes = sum(p.stat().st_size for p in (work / "out-w1-0").glob("*.tfrecord-*"))
    copy_rate = total / results[0][1]
    print(f"\nimages {total / 1e6:.1f} MB -> shards {shard_bytes / 1e6:.1f} MB; best of {args.repeat}\n")
    print(f"| {'method':<55} | seconds | MB/s | vs copy |")
    print(f"|{'-' * 57}|---------|------|---------|")
    for name, secs in results:
        rate = total / secs
        print(f"| {name:<55} | {secs:7.2f} | {rate / 1e6:4.0f} | {rate / copy_rate:6.2f}x |")
    writing = [total / secs / copy_rate for name, secs in results if "shard writing" in name]
    verdict = "pass" if max(writing) >= 0.5 else "FAIL"
    record("bench_export", f"export shard writing, {len(files):,} 224px JPEGs ({total / 1e6:.1f} MB), "
           "best of in-process and 2 worker processes: throughput / copy throughput",
           value=max(writing), anchor=results[0][0], target=">= 0.5x", passed=verdict == "pass")  # fmt: skip
    print(f"\ntarget: shard writing >= 0.5x the plain copy: {verdict} ({', '.join(f'{w:.2f}x' for w in writing)})")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
