"""Benchmark labelprep's stratified split against iterative-stratification's MultilabelStratifiedShuffleSplit.

Run (a script, not a test; pytest does not collect it)::

    pip install iterative-stratification
    python tests/benchmarks/bench_split.py              # 100,000 images x 500 labels, 20,000 groups (~1 min)
    python tests/benchmarks/bench_split.py --quick      # 20,000 images x 200 labels, 4,000 groups
    python tests/benchmarks/bench_split.py --rows 50000 --labels 300 --groups 10000 --seed 3

Data (numpy seed fixed): images in groups of skewed sizes (1 + a lognormal share of the rest, as patients
with many studies), 1 + Poisson(2.4) label draws an image (3.0 distinct labels on average once repeats
merge; no image without a label) from Zipf-like label frequencies (the commonest label ~500x the rarest), 40%
of the draws from three labels the image's group leans to (a patient's images share findings). The frame is built with labelprep.toframe.frame_from_matrix, as ``convert`` makes it.

Methods, all 3-way 0.8/0.1/0.1, each timed from the frame to the assignment (best of ``--repeat`` runs for
labelprep; iterstrat once, it is slow):

* labelprep, groups: ``stratified_split(frame, labels, group=frame["group"])`` -- every group in one split,
  a harder problem than the other two, which may cut a group across splits;
* labelprep, rows: ``stratified_split(frame, labels)`` -- like for like with iterstrat;
* iterstrat: ``MultilabelStratifiedShuffleSplit`` twice, as users make three splits with it: 0.8 / 0.2, then
  the 0.2 halved (it has no groups; the ``to_numpy`` of the label columns is included in its time).

Balance: for each label and split, ``|prevalence in the split - overall prevalence|`` (positives over all rows
of the split; computed here, the same way for every method); the table gives the mean and the largest over
labels and splits. ``labels missing`` counts (label, split) pairs with no positive although the label has at
least as many positives (groups, for the groups run) as there are splits: labelprep guarantees none.
``groups cut`` counts groups whose rows landed in more than one split.

Targets: labelprep (rows) at least as balanced as iterstrat (mean deviation) and no more than 2x its time.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

try:  # run as a script, this folder is sys.path[0]
    from _results import record
except ImportError:  # imported from elsewhere
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import record

SEED = 20240611
RATIOS = (0.8, 0.1, 0.1)
NAMES = ("train", "val", "test")
TIME_TARGET = 2.0  # labelprep seconds / iterstrat seconds, at most


@dataclass
class Run:
    method: str
    seconds: float
    assignment: npt.NDArray[np.int64]


def make_frame(n_rows: int, n_labels: int, n_groups: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    from labelprep.toframe import frame_from_matrix
    from labelprep.vocabulary import Vocabulary

    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, n_labels + 1)
    freq = rng.permutation(freq / freq.sum())
    share = rng.lognormal(0.0, 1.0, n_groups)
    sizes = 1 + rng.multinomial(n_rows - n_groups, share / share.sum())
    group = rng.permutation(np.repeat(np.arange(n_groups), sizes))
    leaning = rng.choice(n_labels, size=(n_groups, 3), p=freq)
    per_image = 1 + rng.poisson(2.4, n_rows)
    row = np.repeat(np.arange(n_rows), per_image)
    drawn = rng.choice(n_labels, size=len(row), p=freq)
    own = leaning[group[row], rng.integers(0, 3, len(row))]
    label = np.where(rng.random(len(row)) < 0.4, own, drawn)
    mat = np.zeros((n_labels, n_rows), dtype=np.int8)  # label-major, as encoding builds it
    mat[label, row] = 1
    vocab = Vocabulary([f"label_{i:04d}" for i in range(n_labels)])
    paths = np.array([f"images/{i:07d}.jpg" for i in range(n_rows)], dtype=object)
    groups = np.array([f"patient_{g:06d}" for g in group], dtype=object)
    return frame_from_matrix(paths, mat, vocab, {"group": groups}), list(vocab)


def balance(assignment: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], labs: npt.NDArray[np.int64],
            n_labels: int, k: int) -> tuple[float, float]:  # fmt: skip
    """Mean and largest |prevalence in split - overall prevalence| over labels and splits."""
    sizes = np.bincount(assignment, minlength=k).astype(np.float64)
    per_split = np.bincount(assignment[rows] * n_labels + labs, minlength=k * n_labels).reshape(k, n_labels)
    overall = per_split.sum(axis=0) / len(assignment)
    dev = np.abs(per_split / sizes[:, None] - overall[None, :])
    return float(dev.mean()), float(dev.max())


def missing_pairs(assignment: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], labs: npt.NDArray[np.int64],
                  unit: npt.NDArray[np.int64], n_labels: int, k: int) -> int:  # fmt: skip
    """(label, split) pairs without a positive, for labels with positives in at least k units (rows or groups)."""
    per_split = np.bincount(assignment[rows] * n_labels + labs, minlength=k * n_labels).reshape(k, n_labels)
    units = np.unique(unit[rows] * n_labels + labs) % n_labels
    eligible = np.bincount(units, minlength=n_labels) >= k
    return int(((per_split == 0) & eligible[None, :]).sum())


def groups_cut(assignment: npt.NDArray[np.int64], group: npt.NDArray[np.int64]) -> int:
    pairs = np.unique(group * 8 + assignment)
    return int((np.bincount(pairs // 8) > 1).sum())


def timed(method: str, fn: Callable[[], npt.NDArray[np.int64]], repeat: int) -> Run:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    return Run(method, best, out)


def run_iterstrat(frame: pd.DataFrame, labels: list[str], seed: int) -> npt.NDArray[np.int64]:
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    y = frame[labels].to_numpy(dtype=np.int8) == 1
    x = np.zeros((len(y), 1))
    out = np.zeros(len(y), dtype=np.int64)
    first = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=1 - RATIOS[0], random_state=seed)
    _, rest = next(first.split(x, y))
    second = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=RATIOS[2] / (1 - RATIOS[0]), random_state=seed)
    _, last = next(second.split(x[rest], y[rest]))
    out[rest] = 1
    out[rest[last]] = 2
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=500)
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0, help="split seed (the data seed is fixed)")
    parser.add_argument("--repeat", type=int, default=3, help="labelprep runs per method (best is kept)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 200 labels, 4,000 groups")
    parser.add_argument("--skip-iterstrat", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.labels, args.groups = 20_000, 200, 4_000

    from labelprep.splitting import stratified_split

    started = time.perf_counter()
    frame, labels = make_frame(args.rows, args.labels, args.groups, SEED)
    y = frame[labels].to_numpy(dtype=np.int8)
    labs, rows = np.nonzero(y.T == 1)
    group = np.asarray(pd.factorize(frame["group"])[0], dtype=np.int64)
    positives = np.bincount(labs, minlength=len(labels))
    print(
        f"data: {args.rows:,} images x {len(labels)} labels, {args.groups:,} groups "
        f"(rows per group: median {int(np.median(np.bincount(group)))}, largest {np.bincount(group).max()}); "
        f"{len(rows) / args.rows:.2f} labels per image; positives per label: commonest {positives.max():,}, "
        f"median {int(np.median(positives))}, rarest {positives.min()}"
    )
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; split 0.8/0.1/0.1")
    print()

    runs = [
        timed("labelprep (groups)",
              lambda: stratified_split(frame, labels, seed=args.seed, group=frame["group"]).assignment, args.repeat),
        timed("labelprep (rows)", lambda: stratified_split(frame, labels, seed=args.seed).assignment, args.repeat),
    ]  # fmt: skip
    if not args.skip_iterstrat:
        try:
            import iterstrat  # noqa: F401
        except ImportError:
            print("iterative-stratification is not installed: pip install iterative-stratification")
            return 1
        runs.append(timed("iterstrat MSSS, two steps (rows)", lambda: run_iterstrat(frame, labels, args.seed), 1))

    k = len(RATIOS)
    row_unit = np.arange(args.rows, dtype=np.int64)
    head = (f"{'method':<34} {'seconds':>8} {'mean dev':>10} {'max dev':>10} {'train/val/test rows':>22} "
            f"{'missing':>8} {'groups cut':>10}")  # fmt: skip
    print(head)
    print("-" * len(head))
    stats: dict[str, tuple[float, float, float]] = {}
    for r in runs:
        mean, worst = balance(r.assignment, rows, labs, len(labels), k)
        unit = group if "groups" in r.method else row_unit
        sizes = "/".join(f"{int(c):,}" for c in np.bincount(r.assignment, minlength=k))
        miss = missing_pairs(r.assignment, rows, labs, unit, len(labels), k)
        print(f"{r.method:<34} {r.seconds:>8.2f} {mean:>10.3e} {worst:>10.3e} {sizes:>22} {miss:>8} "
              f"{groups_cut(r.assignment, group):>10,}")  # fmt: skip
        stats[r.method] = (r.seconds, mean, worst)
    print()
    if "iterstrat MSSS, two steps (rows)" in stats:
        ts, tm, tw = stats["iterstrat MSSS, two steps (rows)"]
        ok = True
        for name in ("labelprep (rows)", "labelprep (groups)"):
            s, m, w = stats[name]
            print(f"{name} / iterstrat: time {s / ts:.3f}x, mean deviation {m / tm:.3f}x, max deviation {w / tw:.3f}x")
        s, m, _ = stats["labelprep (rows)"]
        ok = s / ts <= TIME_TARGET and m <= tm
        what = f"split {args.rows:,} images x {len(labels)} labels 0.8/0.1/0.1, rows only (no groups)"
        anchor = "iterstrat MultilabelStratifiedShuffleSplit, two steps"
        record("bench_split", f"{what}: labelprep time / iterstrat time", value=s / ts, anchor=anchor,
               target=f"<= {TIME_TARGET:g}x", passed=s / ts <= TIME_TARGET)  # fmt: skip
        record("bench_split", f"{what}: labelprep mean prevalence deviation / iterstrat's", value=m / tm,
               anchor=anchor, target="<= 1x", passed=m <= tm)  # fmt: skip
        print(f"target (labelprep rows: time <= {TIME_TARGET:g}x iterstrat, mean deviation <= iterstrat): "
              f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
