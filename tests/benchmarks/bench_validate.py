"""Benchmark labelprep's file and image checks against the loops a user would write, and Keras.

Run (a script, not a test; pytest does not collect it)::

    python tests/benchmarks/bench_validate.py            # 200,000 paths and 2,000 JPEGs, about two minutes
    python tests/benchmarks/bench_validate.py --quick    # 20,000 paths and 300 JPEGs, a smoke run
    python tests/benchmarks/bench_validate.py --repeat 5 --files 100000 --images 1000

Everything is generated in a temporary folder and measured in this one run; each time is the best of
``--repeat`` runs, the methods of a section taking turns (warm page cache: the files were just written).
The machine should be otherwise idle: the load average is printed first.

Existence: ``--files`` paths spread over ``--files / 1000`` folders of ``images_NNN/images/``, 1% of them
listed but never created. The files hold one byte each: empty files would (rightly) each be reported as
``empty-file`` by labelprep, which no other method looks for. Methods, each must find the same missing set:

* labelprep ``check_files(paths, root, stat_files=False)``, as ``validate`` runs it when image checks follow: a
  listing of each folder (entry types from the listing), membership; and with one ``lstat`` per file, as
  ``validate --check-images none`` runs it (shown for reference)
  that exists (size for ``empty-file``, type and permissions for ``unreadable-file``, symlinks);
* ``os.path.exists(os.path.join(root, p))`` for every path;
* Keras ``ImageDataGenerator().flow_from_dataframe(..., class_mode="raw", validate_filenames=True)``: the
  call is timed (TensorFlow is imported before), its own file-name validation being nearly all of it;
* two references without a target: an ``os.stat`` loop (the least any size check costs, one system call
  a path) and a folder listing with membership only (existence and nothing else).

Header checks: ``--images`` generated 224 x 224 JPEGs plus the broken and unusual files of the tests
(truncated JPEG/PNG/GIF/WEBP/BMP at 50%, 90% and all but 2 bytes, an HTML page, text, other formats under
``.jpg``, CMYK, YCCK, 16-bit and palette PNGs, EXIF rotation, a decompression bomb header) and valid
controls (progressive, grayscale, bytes after the end marker). ``check_images(level="header", workers=1)``
against a full Pillow decode loop (``Image.open`` + ``load``). It must find every truncated file and call no
valid file corrupt.

Full checks: ``check_images(level="full")`` with ``workers=2`` against ``workers=1`` on the generated JPEGs;
the results must be identical.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import random
import statistics
import struct
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from labelprep.checks.files import check_files
from labelprep.checks.images import ImageInfo, check_images

try:  # run as a script, this folder is sys.path[0]
    from _measure import best_of, photo
    from _results import record
except ImportError:  # imported from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _measure import best_of, photo
    from _results import record

SEED = 20240611
EXISTENCE_TARGET = 2.0  # labelprep at least this many times faster than each other method
HEADER_TARGET = 5.0  # header checks at least this many times faster than a full decode loop
WORKERS_TARGET = 1.6  # full checks with 2 workers at least this many times faster than with 1


@dataclass
class Row:
    section: str
    method: str
    seconds: float
    speedup: float | None = None  # other method's time / labelprep's time (or 1 worker / 2 workers)
    target: float | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None or self.speedup is None:
            return ""
        return "PASS" if self.speedup >= self.target else "FAIL"


# -- existence ---------------------------------------------------------------------------------------------


def make_tree(root: Path, n_files: int) -> tuple[list[str], set[str]]:
    """``n_files`` listed paths over n_files/1000 folders; 1% listed but not created. Returns (paths, missing)."""
    n_folders = max(1, n_files // 1000)
    rng = random.Random(SEED)
    paths: list[str] = []
    missing: set[str] = set()
    for i in range(n_files):
        folder = f"images_{i % n_folders:03d}/images"
        paths.append(f"{folder}/{i:08d}_000.png")
    for p in rng.sample(paths, n_files // 100):
        missing.add(p)
    for folder in {p.rpartition("/")[0] for p in paths}:
        (root / folder).mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for p in paths:
        if p not in missing:
            fd = os.open(root / p, flags, 0o644)
            os.write(fd, b"x")
            os.close(fd)
    rng.shuffle(paths)  # annotation order is not folder order
    return paths, missing


def bench_existence(root: Path, n_files: int, repeat: int) -> tuple[list[Row], list[str]]:
    t0 = time.perf_counter()
    paths, missing = make_tree(root, n_files)
    setup = time.perf_counter() - t0
    section = f"existence: {n_files:,} listed paths ({len(missing):,} missing) in {max(1, n_files // 1000)} folders"
    notes = [f"existence data written in {setup:.1f} s"]

    def labelprep() -> set[str]:
        # as validate runs it when image checks follow (they read every file, so no per-file stat here)
        found = check_files(paths, root, stat_files=False)
        return {p for p, issues in found.items() if any(i.code == "missing-file" for i in issues)}

    def labelprep_stat() -> set[str]:
        # as validate --check-images none runs it: one lstat per file for empty-file and permissions
        found = check_files(paths, root)
        return {p for p, issues in found.items() if any(i.code == "missing-file" for i in issues)}

    def exists_loop() -> set[str]:
        r = str(root)
        return {p for p in paths if not os.path.exists(os.path.join(r, p))}

    def stat_loop() -> set[str]:
        r = str(root)
        out: set[str] = set()
        for p in paths:
            try:
                os.stat(os.path.join(r, p))
            except FileNotFoundError:
                out.add(p)
        return out

    def listing_only() -> set[str]:
        by_folder: dict[str, list[str]] = {}
        for p in paths:
            folder, _, name = p.rpartition("/")
            by_folder.setdefault(folder, []).append(name)
        out: set[str] = set()
        for folder, names in by_folder.items():
            listed = set(os.listdir(os.path.join(root, folder)))
            out.update(f"{folder}/{n}" for n in names if n not in listed)
        return out

    t0 = time.perf_counter()
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from tensorflow.keras.preprocessing.image import ImageDataGenerator
    notes.append(f"TensorFlow imported in {time.perf_counter() - t0:.1f} s (before timing)")
    frame = pd.DataFrame({"filename": paths, "y": np.zeros(len(paths))})

    def keras() -> set[str]:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            it = ImageDataGenerator().flow_from_dataframe(
                frame, directory=str(root), x_col="filename", y_col="y", class_mode="raw", validate_filenames=True
            )
        return set(paths) - set(it.filenames)

    others: list[tuple[str, Callable[[], set[str]], float | None]] = [
        ("os.path.exists loop", exists_loop, EXISTENCE_TARGET),
        ("Keras flow_from_dataframe(validate_filenames)", keras, EXISTENCE_TARGET),
        ("labelprep check_files with a stat a file (--check-images none)", labelprep_stat, None),
        ("reference: os.stat loop (1 stat a path)", stat_loop, None),
        ("reference: folder listing + membership only", listing_only, None),
    ]
    timed = best_of(repeat, {"labelprep check_files": labelprep, **{name: fn for name, fn, _ in others}})
    t_lp, found_lp = timed["labelprep check_files"]
    rows = [Row(section, "labelprep check_files", t_lp)]
    ok = found_lp == missing
    for name, _, target in others:
        t, found = timed[name]
        ok = ok and found == missing
        rows.append(Row(section, name, t, t / t_lp, target))
    rows.append(Row(section, "all methods find the same missing files", 0.0, 1.0 if ok else 0.0, 1.0,
                    note="yes" if ok else "NO"))  # fmt: skip
    return rows, notes


# -- images ---------------------------------------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def raw_png(width: int, height: int, depth: int, colour: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def make_images(root: Path, n_images: int) -> tuple[list[str], dict[str, bytes], set[str], set[str]]:
    """Returns (generated JPEG paths, extra files, truncated extra paths, valid extra paths)."""
    rng = np.random.default_rng(SEED)
    jpegs = []
    for i in range(n_images):
        name = f"photos/{i:05d}.jpg"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        photo(rng).save(root / name, quality=90)
        jpegs.append(name)
    base = photo(rng)
    extra: dict[str, bytes] = {}
    truncated: set[str] = set()
    for fmt, ext in (("JPEG", ".jpg"), ("PNG", ".png"), ("GIF", ".gif"), ("WEBP", ".webp"), ("BMP", ".bmp")):
        whole = encode(base, fmt)
        for cut, keep in (("50", len(whole) // 2), ("90", len(whole) * 9 // 10), ("2", len(whole) - 2)):
            name = f"broken/cut{cut}{ext}"
            extra[name] = whole[:keep]
            truncated.add(name)
    cmyk = encode(base.convert("CMYK"), "JPEG")
    at = cmyk.find(b"Adobe") + 11
    exif = Image.Exif()
    exif[0x0112] = 6
    extra |= {
        "broken/page.jpg": b"<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head></html>",
        "broken/text.jpg": b"quota exceeded\n",
        "odd/png.jpg": encode(base, "PNG"),
        "odd/webp.jpg": encode(base, "WEBP"),
        "odd/cmyk.jpg": cmyk,
        "odd/ycck.jpg": cmyk[:at] + b"\x02" + cmyk[at + 1 :],
        "odd/gray16.png": encode(Image.new("I;16", (224, 224)), "PNG"),
        "odd/palette.png": encode(base.convert("P"), "PNG"),
        "odd/rotated.jpg": encode(base, "JPEG", exif=exif.tobytes()),
        "odd/bomb.png": raw_png(100_000, 100_000, 8, 0, b"\x00" * 16),
        "valid/progressive.jpg": encode(base, "JPEG", progressive=True),
        "valid/gray.jpg": encode(base.convert("L"), "JPEG"),
        "valid/trailing.jpg": encode(base, "JPEG") + b"\x00" * 64 + b"bytes after the end marker",
    }
    for name, data in extra.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    valid = {n for n in extra if n.startswith(("valid/", "odd/")) and n != "odd/bomb.png"}
    return jpegs, extra, truncated, valid


def bench_images(root: Path, n_images: int, repeat: int) -> tuple[list[Row], list[str]]:
    t0 = time.perf_counter()
    jpegs, extra, truncated, valid = make_images(root, n_images)
    notes = [f"{n_images:,} JPEGs (mean {statistics.mean((root / p).stat().st_size for p in jpegs) / 1000:.1f} kB) "
             f"and {len(extra)} other files written in {time.perf_counter() - t0:.1f} s"]  # fmt: skip
    paths = jpegs + sorted(extra)
    random.Random(SEED).shuffle(paths)

    def decode_loop() -> set[str]:
        failed = set()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for p in paths:
                try:
                    with Image.open(root / p) as im:
                        im.load()
                except Exception:
                    failed.add(p)
        return failed

    header_section = f"header checks: {n_images:,} 224px JPEGs + {len(extra)} broken/unusual files"
    timed = best_of(repeat, {"header": lambda: check_images(paths, root, level="header", workers=1),
                             "decode": decode_loop})  # fmt: skip
    t_h, infos = timed["header"]
    t_d, failed = timed["decode"]
    corrupt = {p for p, info in infos.items() if any(i.code == "corrupt-image" for i in info.issues)}
    caught = truncated <= corrupt
    false_alarms = corrupt & (set(jpegs) | valid)
    rows = [
        Row(header_section, "labelprep check_images(level='header', workers=1)", t_h),
        Row(header_section, "Pillow Image.open + load loop", t_d, t_d / t_h, HEADER_TARGET),
        Row(header_section, f"truncated files found: {len(truncated & corrupt)}/{len(truncated)}", 0.0,
            1.0 if caught else 0.0, 1.0, note="all" if caught else "NOT ALL"),
        Row(header_section, f"valid files called corrupt: {len(false_alarms)}", 0.0,
            0.0 if false_alarms else 1.0, 1.0, note="none" if not false_alarms else ", ".join(sorted(false_alarms))),
    ]  # fmt: skip
    unnoticed = ", ".join(sorted(truncated - failed)) or "none"
    notes.append(f"the decode loop raised on {len(failed & truncated)}/{len(truncated)} truncated files; "
                 f"it decoded without complaint: {unnoticed}")  # fmt: skip
    counts: dict[str, int] = {}
    for info in infos.values():
        for issue in info.issues:
            counts[issue.code] = counts.get(issue.code, 0) + 1
    notes.append("header findings: " + ", ".join(f"{c} {n}" for c, n in sorted(counts.items())))

    full_section = f"full checks: {n_images:,} 224px JPEGs, decoded"
    timed = best_of(repeat, {"1": lambda: check_images(jpegs, root, level="full", workers=1),
                             "2": lambda: check_images(jpegs, root, level="full", workers=2)})  # fmt: skip
    t_1, one = timed["1"]
    t_2, two = timed["2"]
    same = _same(one, two)
    rows += [
        Row(full_section, "labelprep check_images(level='full', workers=2)", t_2),
        Row(full_section, "labelprep check_images(level='full', workers=1)", t_1, t_1 / t_2, WORKERS_TARGET),
        Row(full_section, "2 workers give the same results as 1", 0.0, 1.0 if same else 0.0, 1.0,
            note="yes" if same else "NO"),
    ]  # fmt: skip
    return rows, notes


def _same(a: dict[str, ImageInfo], b: dict[str, ImageInfo]) -> bool:
    return list(a) == list(b) and all(a[p] == b[p] for p in a)


# -- report ----------------------------------------------------------------------------------------------------


def render(rows: list[Row]) -> str:
    lines = []
    width = max(len(r.method) for r in rows) + 2
    header = f"{'method':<{width}}{'seconds':>9}  {'speedup':>8}  {'target':>8}  result"
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            lines += ["", section, header, "-" * len(header)]
        if r.seconds == 0.0:  # a correctness line
            lines.append(f"{r.method:<{width}}{'':>9}  {'':>8}  {'':>8}  {r.verdict} ({r.note})")
            continue
        speed = f"{r.speedup:.2f}x" if r.speedup is not None else "-"
        target = f">= {r.target:g}x" if r.target is not None else ""
        lines.append(f"{r.method:<{width}}{r.seconds:>9.3f}  {speed:>8}  {target:>8}  {r.verdict}")
    return "\n".join(lines)


def record_rows(rows: list[Row]) -> None:
    """One ``RESULT`` line per row with a verdict; a section's first row is the labelprep method measured."""
    subject: dict[str, str] = {}
    for r in rows:
        subject.setdefault(r.section, r.method)
        if not r.verdict or r.speedup is None or r.target is None:
            continue
        if r.seconds == 0.0:  # a correctness line
            record("bench_validate", f"{r.section}: {r.method}", value=r.speedup, anchor="", target="yes",
                   passed=r.verdict == "PASS", unit="check", note=r.note)  # fmt: skip
        else:
            record("bench_validate", f"{r.section}: {subject[r.section]}, speed-up", value=r.speedup,
                   anchor=r.method, target=f">= {r.target:g}x", passed=r.verdict == "PASS")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20,000 paths and 300 JPEGs, one run each")
    parser.add_argument("--files", type=int, help="listed paths for the existence benchmark [200,000]")
    parser.add_argument("--images", type=int, help="generated JPEGs for the image benchmarks [2,000]")
    parser.add_argument("--repeat", type=int, help="runs of each method; the best counts [3; 1 with --quick]")
    args = parser.parse_args(argv)
    n_files = args.files or (20_000 if args.quick else 200_000)
    n_images = args.images or (300 if args.quick else 2_000)
    repeat = args.repeat or (1 if args.quick else 3)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"labelprep validate benchmark: Python {platform.python_version()}, Pillow {Image.__version__}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}, best of {repeat}", flush=True)  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labelprep-bench-") as tmp:
        # Images first: their worker processes are forked before TensorFlow (and its threads) is imported.
        img_rows, img_notes = bench_images(Path(tmp) / "images", n_images, repeat)
        ex_rows, ex_notes = bench_existence(Path(tmp) / "tree", n_files, repeat)
    rows = ex_rows + img_rows
    print(render(rows))
    print()
    for note in ex_notes + img_notes:
        print(f"note: {note}")
    verdicts = [r.verdict for r in rows if r.verdict]
    record_rows(rows)
    print(f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL; total {time.perf_counter() - started:.0f} s")
    return 0 if "FAIL" not in verdicts else 1


if __name__ == "__main__":
    sys.exit(main())
