"""Benchmark labelprep at Open Images scale: memory bound and linear time of convert, validate and export.

Run (a script, not a test; pytest does not collect it)::

    python tests/benchmarks/bench_scale.py                  # 1,000,000 images x 20,000 labels, ~10 minutes on 2 cores
    python tests/benchmarks/bench_scale.py --quick          # 100,000 images x 20,000 labels, about a minute
    python tests/benchmarks/bench_scale.py --images 300000 --skip-export

Data: a long table in Open Images' layout (``ImageID,Source,LabelName,Confidence``; 16-hex ids, labels
``/m/00000``..), N images with 1 + Poisson(7) distinct labels each (about 8, Zipf-distributed over the
vocabulary so that a few labels are common and most are rare, as in Open Images), 90% of rows with
confidence 1 and 10% with 0 (verified absent); numpy seed fixed. The same generator makes a table of
N/2 images for the linearity check. Images: 64 small PNGs under ``images/_shared/``, and one hard link
``images/<ImageID>.png`` per image to one of them ("a small shared image set": a million directory entries,
64 files of bytes).

Every command runs as a fresh process (``python -m labelprep ...``), timed by wall clock with its peak RSS
from ``os.wait4`` (for export, the largest of the main process and its worker processes):

* ``convert long.csv -o frame.parquet --path-template '{}.png' --images-root images`` at N and N/2 images;
* the anchor a user would reach for: ``pandas.read_csv(long.csv)`` alone (no multi-hot yet; the
  ``get_dummies``/``crosstab`` that would follow needs N x labels bytes dense, 20 GB at full size, so it is
  not run), timed and measured the same way;
* ``validate long.csv --check-images none`` (same options): the label, path and existence checks;
* ``export frame.parquet -o shards --check-images header --severity duplicate-image=off`` (the shared
  image set is the same 64 images over and over, which validate rightly calls duplicates).

Targets (issue 6): convert under 2 GB peak RSS; convert time at N within 2.2x its time at N/2; validate
``--check-images none`` and export under the same 2 GB.

Targets (issue 15): ``validate --check-images none`` no slower than the convert of the same source (the two
commands' wall clocks, fresh processes); export's throughput at least 0.5x that of the plain loop a user would
write, both whole processes (interpreter, TensorFlow import, reading the frame): for each row in frame order, read the image file (the same bytes export stores), build the ``tf.train.Example`` of the same seven
features and write it with ``tf.io.TFRecordWriter`` into one file. The floor under both, writing records
already serialised in memory (the loop's own records, timed again without reading or building), is shown too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Proc, run_process
from _results import record

SEED = 20260611
MEMORY_TARGET = 2 * 1000**3  # bytes: "under 2 GB"
LINEAR_TARGET = 2.2
N_SHARED = 64
GB = 1000**3


def ids_of(n: int) -> np.ndarray:
    """Open Images-like 16-hex ids, distinct, in a scrambled order."""
    return np.char.mod("%016x", (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(4))


def write_long(path: Path, n_images: int, n_labels: int, seed: int = SEED) -> int:
    """Write the long table; returns its number of rows."""
    rng = np.random.default_rng(seed)
    per = rng.poisson(7, n_images) + 1
    rows = np.repeat(np.arange(n_images, dtype=np.int64), per)
    codes = (rng.zipf(1.15, len(rows)) - 1) % n_labels
    cell = np.unique(rows * n_labels + codes)  # distinct labels per image, grouped by image
    rows, codes = cell // n_labels, cell % n_labels
    ids = ids_of(n_images)
    names = np.char.mod("/m/%05d", np.arange(n_labels))
    conf = (rng.random(len(rows)) < 0.9).astype(np.int8)
    source = np.where(rng.random(len(rows)) < 0.5, "verification", "crowdsource-verification")
    table = pa.table({"ImageID": pa.array(ids[rows]), "Source": pa.array(source),
                      "LabelName": pa.array(names[codes]), "Confidence": pa.array(conf)})  # fmt: skip
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    return len(rows)


def make_images(root: Path, n_images: int) -> None:
    """64 small PNGs, and one hard link per image id to one of them."""
    from PIL import Image

    shared = root / "_shared"
    shared.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    files = []
    for i in range(N_SHARED):
        f = shared / f"{i:02d}.png"
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(f)
        files.append(str(f))
    for i, image_id in enumerate(ids_of(n_images).tolist()):
        os.link(files[i % N_SHARED], root / f"{image_id}.png")


def labelprep(*args: str) -> list[str]:
    return [sys.executable, "-m", "labelprep", *args]


def check(proc: Proc, what: str, ok_codes: tuple[int, ...] = (0,)) -> None:
    if proc.returncode not in ok_codes:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        raise SystemExit(f"{what} failed with exit code {proc.returncode}:\n{tail}")


def export_anchor(frame_path: Path, images: Path, out: Path) -> None:
    """The plain TFRecordWriter loop (see the module docstring); prints one JSON line of seconds."""

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    import labelprep
    from labelprep.multihot import label_pairs

    frame, vocab = labelprep.load_frame(frame_path)
    rows, cols, vals = label_pairs(frame, list(vocab))
    bounds = np.searchsorted(rows, np.arange(len(frame) + 1))
    paths = frame["path"].tolist()
    feature, bytes_list, int64_list = tf.train.Feature, tf.train.BytesList, tf.train.Int64List
    kept: list[bytes] = []
    t0 = time.perf_counter()
    with tf.io.TFRecordWriter(str(out)) as writer:
        for i, p in enumerate(paths):
            with open(os.path.join(images, p), "rb") as fh:
                data = fh.read()
            c, v = cols[bounds[i]:bounds[i + 1]], vals[bounds[i]:bounds[i + 1]]
            ex = tf.train.Example(features=tf.train.Features(feature={
                "image/encoded": feature(bytes_list=bytes_list(value=[data])),
                "image/format": feature(bytes_list=bytes_list(value=[b"png"])),
                "image/height": feature(int64_list=int64_list(value=[16])),
                "image/width": feature(int64_list=int64_list(value=[16])),
                "image/path": feature(bytes_list=bytes_list(value=[p.encode()])),
                "labels/positive": feature(int64_list=int64_list(value=c[v == 1].tolist())),
                "labels/unknown": feature(int64_list=int64_list(value=c[v == -1].tolist())),
            }))  # fmt: skip
            record = ex.SerializeToString()
            writer.write(record)
            if i < 200_000:  # enough to time the write floor; kept in memory
                kept.append(record)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    with tf.io.TFRecordWriter(str(out) + ".floor") as writer:
        for record in kept:
            writer.write(record)
    floor = (time.perf_counter() - t0) * len(paths) / max(len(kept), 1)
    print(json.dumps({"loop": loop, "write_floor": floor, "records": len(paths),
                      "bytes": out.stat().st_size}), flush=True)  # fmt: skip


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--images", type=int, default=None, help="images (default 1,000,000; 100,000 with --quick)")
    ap.add_argument("--labels", type=int, default=20_000, help="vocabulary size (default 20,000)")
    ap.add_argument("--quick", action="store_true", help="100,000 images unless --images is given")
    ap.add_argument("--skip-validate", action="store_true")
    ap.add_argument("--skip-export", action="store_true")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary folder)")
    ap.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--anchor-export", type=Path, nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.anchor_export:
        export_anchor(*args.anchor_export)
        return 0
    n = args.images or (100_000 if args.quick else 1_000_000)
    if args.generate:
        rows = write_long(args.generate / "long.csv", n, args.labels)
        rows_half = write_long(args.generate / "long_half.csv", n // 2, args.labels, seed=SEED + 1)
        if not args.skip_validate or not args.skip_export:
            make_images(args.generate / "images", n)
        else:
            (args.generate / "images").mkdir(exist_ok=True)
        print(rows, rows_half)
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="labelprep-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    scale = f"{n:,} images x {args.labels:,} labels"
    try:
        big, half = work / "long.csv", work / "long_half.csv"
        t0 = time.perf_counter()
        # Generated in a child process: a child forked from a process holding the generator's arrays would
        # start its peak RSS (ru_maxrss is inherited across fork and exec) at this process's size.
        images = work / "images"
        gen = subprocess.run([sys.executable, __file__, "--generate", str(work), "--images", str(n), "--labels",
                              str(args.labels), *(["--skip-validate", "--skip-export"] if args.skip_validate
                                                  and args.skip_export else [])],
                             capture_output=True, text=True, check=False)  # fmt: skip
        if gen.returncode != 0:
            raise SystemExit(f"generating the data failed:\n{gen.stderr}")
        rows, rows_half = map(int, gen.stdout.split())
        print(f"data: {scale}, {rows:,} rows ({big.stat().st_size / 1e6:,.0f} MB); half: {rows_half:,} rows; "
              f"generated in {time.perf_counter() - t0:.0f} s in {work}")  # fmt: skip
        opts = ["--path-template", "{}.png", "--images-root", str(images)]

        conv = run_process(labelprep("convert", str(big), "-o", str(work / "frame.parquet"), "-q", *opts))
        check(conv, "convert")
        conv_half = run_process(labelprep("convert", str(half), "-o", str(work / "half.parquet"), "-q", *opts))
        check(conv_half, "convert (half)")
        pandas_code = f"import pandas as pd; df = pd.read_csv({str(big)!r}); print(len(df))"
        pandas = run_process([sys.executable, "-c", pandas_code])
        check(pandas, "pandas.read_csv")

        table = [("convert (N)", conv), ("convert (N/2)", conv_half), ("pandas.read_csv alone (N)", pandas)]
        if not args.skip_validate:
            val = run_process(labelprep("validate", str(big), "--check-images", "none", "--output-format", "json",
                                        "--output", str(work / "report.json"), *opts))  # fmt: skip
            check(val, "validate")
            table.append(("validate --check-images none (N)", val))
        if not args.skip_export:
            exp = run_process(labelprep("export", str(work / "frame.parquet"), "-o", str(work / "shards"),
                                        "--images-root", str(images), "--check-images", "header",
                                        "--severity", "duplicate-image=off", "--workers", "2"))  # fmt: skip
            check(exp, "export")
            table.append(("export (N)", exp))
            anchor_proc = run_process([sys.executable, __file__, "--anchor-export", str(work / "frame.parquet"),
                                       str(images), str(work / "anchor.tfrecord")])  # fmt: skip
            check(anchor_proc, "the TFRecordWriter loop")
            plain = json.loads(anchor_proc.stdout.strip().splitlines()[-1])

        print(f"\n{scale}; dense int8 frame would be {n * args.labels / GB:,.1f} GB\n")
        print(f"| {'command':<36} | seconds | peak RSS (GB) |")
        print(f"|{'-' * 38}|---------|---------------|")
        for name, proc in table:
            print(f"| {name:<36} | {proc.seconds:7.1f} | {proc.peak_rss / GB:13.2f} |")
        anchor = f"pandas.read_csv alone: {pandas.peak_rss / GB:.2f} GB; dense int8 frame {n * args.labels / GB:,.0f} GB"
        ok = conv.peak_rss < MEMORY_TARGET
        print(f"\nconvert peak RSS {conv.peak_rss / GB:.2f} GB < 2 GB: {verdict(ok)}")
        record("bench_scale", f"convert {scale}, long CSV: peak RSS", value=conv.peak_rss / GB, unit="GB",
               anchor=anchor, target="< 2 GB", passed=ok)  # fmt: skip
        ratio = conv.seconds / conv_half.seconds
        ok = ratio <= LINEAR_TARGET
        print(f"convert time N / (N/2) = {ratio:.2f}x <= {LINEAR_TARGET}x: {verdict(ok)}")
        record("bench_scale", f"convert time, {n:,} vs {n // 2:,} images", value=ratio,
               anchor=f"convert of {n // 2:,} images", target=f"<= {LINEAR_TARGET}x", passed=ok)  # fmt: skip
        if not args.skip_validate:
            val = dict(table)["validate --check-images none (N)"]
            ratio = val.seconds / conv.seconds
            ok = ratio <= 1.0
            print(f"validate / convert time = {ratio:.2f}x <= 1x: {verdict(ok)}")
            record("bench_scale", f"validate --check-images none, {scale}: its time / convert's", value=ratio,
                   anchor=f"convert of the same source ({conv.seconds:.1f} s)", target="<= 1x", passed=ok,
                   seconds=round(val.seconds, 1))  # fmt: skip
        if not args.skip_export:
            exp = dict(table)["export (N)"]
            # whole processes on both sides: interpreter, TensorFlow import and reading the frame included
            ratio = anchor_proc.seconds / exp.seconds  # throughput of export / throughput of the loop
            ok = ratio >= 0.5
            print(f"\nexport {exp.seconds:.1f} s; plain TFRecordWriter loop {anchor_proc.seconds:.1f} s as a process "
                  f"({plain['loop']:.1f} s the loop itself; writing alone, records already serialised: "
                  f"{plain['write_floor']:.1f} s) for {plain['records']:,} records")
            print(f"export throughput / the loop's = {ratio:.2f}x >= 0.5x: {verdict(ok)}")
            record("bench_scale", f"export --check-images header, {n:,} records: throughput / a plain loop's",
                   value=ratio, anchor=f"read file + tf.train.Example + TFRecordWriter loop, a process "
                   f"({anchor_proc.seconds:.1f} s; the loop {plain['loop']:.1f} s; writing serialised records alone "
                   f"{plain['write_floor']:.1f} s)", target=">= 0.5x", passed=ok,
                   seconds=round(exp.seconds, 1))  # fmt: skip
        for name, proc in table[3:]:
            ok = proc.peak_rss < MEMORY_TARGET
            print(f"{name} peak RSS {proc.peak_rss / GB:.2f} GB < 2 GB: {verdict(ok)}")
            record("bench_scale", f"{name.replace(' (N)', '')}, {scale}: peak RSS", value=proc.peak_rss / GB,
                   unit="GB", anchor=anchor, target="< 2 GB", passed=ok)  # fmt: skip
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
