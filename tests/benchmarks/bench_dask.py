"""Benchmark the Dask engine against the local engine: what running as Dask tasks costs on one machine.

Run (a script, not a test; pytest does not collect it)::

    python tests/benchmarks/bench_dask.py                  # 4,000 JPEGs, best of 3, about two minutes
    python tests/benchmarks/bench_dask.py --quick          # 400 JPEGs, one run each, a smoke run
    python tests/benchmarks/bench_dask.py --images 8000 --repeat 5 --export

``--images`` generated 224 x 224 photo-like JPEGs (gradients plus noise, as in bench_validate.py) and a
labels.csv listing them, in a temporary folder. Measured in this one run, the engines taking turns
(warm page cache; one warm-up call each first, so the Dask workers have imported labelprep):

* ``labelprep.validate(labels.csv, check_images="full")``, the local engine with ``workers=2``
  (a process pool), against the Dask engine on the 2-worker ``LocalCluster`` that ``--engine dask
  --workers 2`` starts (``n_workers=2, threads_per_worker=1, processes=True``), started beforehand, as a
  cluster would be. Both reports must be identical. Target: Dask time / local time <= 1.3.
* the same on a plain ``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``,
  whose workers get Dask's default ``MALLOC_TRIM_THRESHOLD_=65536`` (labelprep's leaves it out): a
  reference, no target.
* with ``--export``, ``labelprep.export(labels.csv, out, num_shards=8)`` the same two ways (reference,
  no target): the local engine writes an export this small in-process (below 256 MiB starting
  processes costs more than it saves), the Dask engine one task per shard. The shards must be
  byte-identical.

The cluster's start-up time is printed for reference; it is paid once per run of a command.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:  # run as a script, this folder is sys.path[0]
    from _measure import best_of, photo
    from _results import record
except ImportError:  # imported from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _measure import best_of, photo
    from _results import record

TARGET = 1.3  # Dask time / local time at most this
LABELS = ["cat", "dog", "bird", "fish", "horse"]


def make_data(root: Path, n: int) -> Path:
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(20240611)
    lines = ["image,labels"]
    for i in range(n):
        name = f"images/{i:05d}.jpg"
        photo(rng).save(root / name, "JPEG", quality=90)
        picked = [lab for j, lab in enumerate(LABELS) if (i >> j) & 1 and j < 1 + i % 4]
        lines.append(f"{name},{'|'.join(picked)}")
    src = root / "labels.csv"
    src.write_text("\n".join(lines) + "\n")
    return src


def tree(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def bench_export(src: Path, tmp: Path, client: Any, repeat: int, n: int) -> bool:
    """Export with each engine; returns whether the shards are byte-identical."""
    import labelprep

    outs = {k: tmp / f"out-{k}" for k in ("local", "dask")}

    def export(kind: str) -> Callable[[], Any]:
        def run() -> Any:
            shutil.rmtree(outs[kind], ignore_errors=True)
            engine = client if kind == "dask" else "local"
            return labelprep.export(src, outs[kind], num_shards=8, workers=2, engine=engine)

        return run

    export("local")(), export("dask")()  # warm-up: TensorFlow imported here and on the workers
    timed = best_of(repeat, {"local": export("local"), "dask": export("dask")})
    t_local, t_dask = timed["local"][0], timed["dask"][0]
    same = tree(outs["local"]) == tree(outs["dask"])
    print(f"export, 8 shards: local engine {t_local:.2f} s, Dask engine {t_dask:.2f} s: "
          f"{t_dask / t_local:.2f}x; byte-identical: {same}")  # fmt: skip
    record("bench_dask", f"export, {n:,} images, 8 shards", value=t_dask / t_local,
           anchor="local engine, 2 workers", target="(reference)", passed=None,
           local_s=round(t_local, 3), dask_s=round(t_dask, 3), byte_identical=same)  # fmt: skip
    return same


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="400 JPEGs, one run each")
    parser.add_argument("--images", type=int, help="generated JPEGs [4,000; 400 with --quick]")
    parser.add_argument("--repeat", type=int, help="runs of each method; the best counts [3; 1 with --quick]")
    parser.add_argument("--export", action="store_true", help="also compare export (needs TensorFlow)")
    args = parser.parse_args(argv)
    n = args.images or (400 if args.quick else 4_000)
    repeat = args.repeat or (1 if args.quick else 3)

    import distributed

    import labelprep
    from labelprep.executor import DaskExecutor as DaskEngine

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"labelprep Dask engine benchmark: Python {platform.python_version()}, dask {distributed.__version__}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}, {n:,} images, best of {repeat}", flush=True)  # fmt: skip
    failed = False
    with tempfile.TemporaryDirectory(prefix="labelprep-bench-dask-") as tmp:
        t0 = time.perf_counter()
        src = make_data(Path(tmp), n)
        mean_kb = sum(p.stat().st_size for p in (Path(tmp) / "images").iterdir()) / n / 1000
        print(f"generated {n:,} JPEGs ({mean_kb:.1f} kB each) in {time.perf_counter() - t0:.1f} s", flush=True)

        def local() -> Any:
            return labelprep.validate(src, check_images="full", workers=2)

        for kind in ("labelprep", "dask-defaults"):
            t0 = time.perf_counter()
            if kind == "labelprep":  # the cluster `--engine dask` starts when no scheduler is given
                engine = DaskEngine(workers=2)
                client = engine.client
            else:  # reference: a LocalCluster with Dask's default worker environment
                cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                   dashboard_address=None)  # fmt: skip
                client = distributed.Client(cluster)
            print(f"{kind} LocalCluster(n_workers=2) started in {time.perf_counter() - t0:.1f} s (not counted)",
                  flush=True)  # fmt: skip
            try:

                def dask(client: Any = client) -> Any:
                    return labelprep.validate(src, check_images="full", engine=client)

                local(), dask()  # warm-up: page cache, and labelprep imported on the workers
                timed = best_of(repeat, {"local": local, "dask": dask})
                (t_local, r_local), (t_dask, r_dask) = timed["local"], timed["dask"]
                same = r_local.to_json() == r_dask.to_json()
                ratio = t_dask / t_local
                print(f"validate --check-images full: local engine (2 workers) {t_local:.2f} s, Dask engine "
                      f"({kind} 2-worker LocalCluster) {t_dask:.2f} s: {ratio:.2f}x"
                      + (f" (target <= {TARGET}x: {'PASS' if ratio <= TARGET else 'FAIL'})" if kind == "labelprep"
                         else " (reference)") + f"; same report: {same}")  # fmt: skip
                if kind == "labelprep":
                    record("bench_dask", f"validate --check-images full, {n:,} images", value=ratio,
                           anchor="local engine, 2 workers", target=f"<= {TARGET}x", passed=ratio <= TARGET and same,
                           local_s=round(t_local, 3), dask_s=round(t_dask, 3), same_report=same)  # fmt: skip
                    failed |= not (ratio <= TARGET and same)
                else:
                    record("bench_dask", f"validate --check-images full, {n:,} images, LocalCluster with Dask's "
                           "default worker environment (MALLOC_TRIM_THRESHOLD_=65536)", value=ratio,
                           anchor="local engine, 2 workers", target="(reference)", passed=None,
                           local_s=round(t_local, 3), dask_s=round(t_dask, 3), same_report=same)  # fmt: skip
                    failed |= not same
                if args.export and kind == "labelprep":
                    failed |= not bench_export(src, Path(tmp), client, repeat, n)
            finally:
                if kind == "labelprep":
                    engine.close()
                else:
                    client.close()
                    cluster.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
