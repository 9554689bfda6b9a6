"""Label statistics of a multi-hot frame: counts, prevalence, pos_weight, co-occurrence.

Everything is computed from the int8 label matrix with numpy: per-split counts
with one matrix product against a one-hot split matrix, co-occurrence as
``M.T @ M`` in row chunks, so 100,000 images by 1,000 labels take about a second.

Unknown cells (-1) count neither as positive nor as negative: prevalence is
positives over known cells, ``pos_weight`` is negatives over positives, which is
what a masked binary cross-entropy sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.errors import InputError, VocabularyError
from labelprep.multihot import dense_matrix
from labelprep.statshtml import fmt_count, fmt_num, fmt_pct, stats_html

__all__ = [
    "MIN_EXPECTED",
    "ExclusiveGroup",
    "ExclusivePair",
    "LabelStats",
    "Pair",
    "SplitStats",
    "Stats",
    "compute_stats",
    "ordered_splits",
    "pos_weight_json",
]

ALL = "all"  # the name of the whole-frame split
_CHUNK = 16384  # rows per matrix product: float32 chunks of at most 64 MiB for 1,000 labels
_SPLIT_ORDER = ("train", "training", "trainval", "val", "valid", "validation", "dev", "test", "testing")
_CLIQUE_BUDGET = 20000  # Bron-Kerbosch calls before giving up on finding more groups
# Images two labels would share if independent, for never sharing one to count: P(none by chance) = e^-5 < 1%.
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class LabelStats:
    """Counts of one label in one split."""

    label: str
    positives: int
    negatives: int
    unknown: int

    @property
    def prevalence(self) -> float | None:
        """Positives over known (non -1) cells; None when no cell is known."""
        known = self.positives + self.negatives
        return self.positives / known if known else None

    @property
    def pos_weight(self) -> float | None:
        """Negatives over positives (for ``BCEWithLogits(pos_weight=...)``); None without positives."""
        return self.negatives / self.positives if self.positives else None

    def to_dict(self) -> dict[str, Any]:
        return {"positives": self.positives, "negatives": self.negatives, "unknown": self.unknown,
                "prevalence": self.prevalence, "pos_weight": self.pos_weight}  # fmt: skip


@dataclass(frozen=True)
class SplitStats:
    """Per-label counts and labels-per-image figures of one split (or of all images)."""

    name: str
    images: int
    labels: list[LabelStats]
    labels_per_image: list[int]  # index k: images with exactly k positive labels

    @property
    def cardinality(self) -> float:
        """Mean number of positive labels per image."""
        total = sum(k * n for k, n in enumerate(self.labels_per_image))
        return total / self.images if self.images else 0.0

    @property
    def density(self) -> float:
        """Cardinality over the number of labels."""
        return self.cardinality / len(self.labels) if self.labels else 0.0

    @property
    def empty(self) -> int:
        """Images with no positive label."""
        return self.labels_per_image[0] if self.labels_per_image else 0

    def label(self, name: str) -> LabelStats:
        for s in self.labels:
            if s.label == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "images": self.images,
            "cardinality": self.cardinality,
            "density": self.density,
            "empty": self.empty,
            "labels_per_image": list(self.labels_per_image),
            "labels": {s.label: s.to_dict() for s in self.labels},
        }


@dataclass(frozen=True)
class Pair:
    """Two labels that appear together on ``count`` images."""

    a: str
    b: str
    count: int
    jaccard: float  # count / images with either label
    lift: float  # observed over expected-if-independent count

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "count": self.count, "jaccard": self.jaccard, "lift": self.lift}


@dataclass(frozen=True)
class ExclusivePair:
    """Two frequent labels that never appear on one image."""

    a: str
    b: str
    positives_a: int
    positives_b: int
    expected: float  # images expected to carry both if the labels were independent

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "positives_a": self.positives_a, "positives_b": self.positives_b,
                "expected": self.expected}  # fmt: skip


@dataclass(frozen=True)
class ExclusiveGroup:
    """Frequent labels no two of which share an image: a candidate one-of-K (softmax) group."""

    labels: list[str]
    images: int  # images carrying one of them (exactly one, as they never co-occur)
    coverage: float  # images over all images; 1.0 means every image has exactly one

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "images": self.images, "coverage": self.coverage}


@dataclass
class Stats:
    """Label statistics of one frame; render with :meth:`to_text`, :meth:`to_json` or :meth:`to_html`.

    ``splits`` holds one entry per value of the ``split`` column (train, val,
    test first), then an ``"all"`` total when there are several; a frame without
    a split column has the one split ``"all"``. Pairs, exclusive labels and the
    co-occurrence matrix cover all images.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"path": ["a.jpg", "b.jpg"], "cat": [1, 1], "dog": [0, 1]})
        >>> stats = compute_stats(frame, ["cat", "dog"])
        >>> stats.split("all").label("dog").pos_weight
        1.0
    """

    labels: list[str]
    splits: list[SplitStats]
    pairs: list[Pair] = field(default_factory=list)
    exclusive_pairs: list[ExclusivePair] = field(default_factory=list)
    exclusive_groups: list[ExclusiveGroup] = field(default_factory=list)
    heatmap_labels: list[str] = field(default_factory=list)  # most frequent labels, by positives
    heatmap: list[list[int]] = field(default_factory=list)  # their co-occurrence counts (diagonal: positives)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> SplitStats:
        """The statistics of all images."""
        return self.splits[-1]

    @property
    def split_names(self) -> list[str]:
        return [s.name for s in self.splits]

    def split(self, name: str) -> SplitStats:
        """The statistics of split ``name`` (``"all"`` for every image)."""
        for s in self.splits:
            if s.name == name:
                return s
        raise InputError(f"no split named {name!r}", hint="splits: " + ", ".join(map(repr, self.split_names)))

    # -- rendering ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: every number, nothing capped except the pair and group lists."""
        return {
            "images": self.total.images,
            "labels": list(self.labels),
            "splits": [s.to_dict() for s in self.splits],
            "top_pairs": [p.to_dict() for p in self.pairs],
            "exclusive_pairs": [p.to_dict() for p in self.exclusive_pairs],
            "exclusive_groups": [g.to_dict() for g in self.exclusive_groups],
            "cooccurrence": {"labels": list(self.heatmap_labels), "counts": [list(r) for r in self.heatmap]},
            "settings": dict(self.settings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"

    def to_text(self) -> str:
        """A plain-text summary: splits, one row per label, pairs and exclusive labels."""
        out: list[str] = []
        k = len(self.labels)
        for s in self.splits:
            out.append(f"split {s.name}: {s.images} image(s), {k} label(s), cardinality {s.cardinality:.3f} "
                       f"labels/image, density {s.density:.4f}, {s.empty} with no label")  # fmt: skip
        out.append("")
        width = max([len("label"), *(len(x) for x in self.labels)])
        head = f"{'label':<{width}}"
        for s in self.splits:
            head += f"  {s.name + ' pos':>12} {'prev':>7}"
        head += f"  {'pos_weight (' + self._weight_split() + ')':>20}"
        out.append(head)
        weights = self.split(self._weight_split()).labels
        for i, label in enumerate(self.labels):
            row = f"{label:<{width}}"
            for s in self.splits:
                ls = s.labels[i]
                row += f"  {ls.positives:>12} {fmt_pct(ls.prevalence):>7}"
            row += f"  {fmt_num(weights[i].pos_weight):>20}"
            out.append(row)
        if any(any(ls.unknown for ls in s.labels) for s in self.splits):
            out.append("(prevalence and pos_weight leave out unknown (-1) cells)")
        out.append("")
        out.append(f"top co-occurring pairs ({len(self.pairs)}):" if self.pairs else "no two labels co-occur")
        for p in self.pairs:
            out.append(f"  {p.a} + {p.b}: {p.count} image(s), Jaccard {p.jaccard:.3f}, lift {p.lift:.2f}")
        if self.exclusive_pairs:
            out.append(f"frequent labels that never co-occur ({len(self.exclusive_pairs)} shown, each on at least "
                       f"{fmt_pct(self.settings.get('min_support'))} of images, pairs expected to share at least "
                       f"{fmt_count(self.settings.get('min_expected'))} image(s) if independent):")  # fmt: skip
            for e in self.exclusive_pairs:
                out.append(f"  {e.a} ({e.positives_a}) / {e.b} ({e.positives_b}): 0 together, "
                           f"{e.expected:.1f} expected if independent")  # fmt: skip
        if self.exclusive_groups:
            out.append("candidate mutually exclusive groups (no two share an image):")
            for g in self.exclusive_groups:
                out.append(f"  {', '.join(g.labels)}: {g.images} image(s), covers {fmt_pct(g.coverage)} of images")
        return "\n".join(out) + "\n"

    def to_html(self) -> str:
        """One self-contained HTML page: inline CSS and SVG charts, nothing fetched (see statshtml)."""
        return stats_html(self)

    def render(self, fmt: str) -> str:
        renderers = {"text": self.to_text, "json": self.to_json, "html": self.to_html}
        if fmt not in renderers:
            raise ValueError(f"unknown stats format {fmt!r}")
        return renderers[fmt]()

    def _weight_split(self) -> str:
        names = self.split_names
        return "train" if "train" in names else names[-1]


def pos_weight_json(stats: Stats, split: str = "train") -> dict[str, float | None]:
    """``{label: negatives / positives}`` of one split, in vocabulary order (None: no positives).

    When the frame has no split column the only split is ``"all"``, which then
    stands in for the default ``"train"``.
    """
    names = stats.split_names
    if split not in names and split == "train" and names == [ALL]:
        split = ALL
    return {ls.label: ls.pos_weight for ls in stats.split(split).labels}


def compute_stats(
    frame: pd.DataFrame,
    labels: Sequence[str],
    *,
    top_pairs: int = 20,
    min_support: float = 0.01,
    min_expected: float = MIN_EXPECTED,
    max_exclusive: int = 20,
    heatmap_labels: int = 30,
) -> Stats:
    """Count labels per split and how they co-occur.

    ``top_pairs`` caps the co-occurring pairs listed; ``min_support`` is the
    share of images a label needs to count as frequent when looking for labels
    that never co-occur, and ``min_expected`` the images two labels would share
    if they were independent (positives a x positives b / images) for their
    never sharing one to mean something (default 5: by chance alone that
    happens less than 1% of the time); ``max_exclusive`` caps those pairs and
    groups;
    ``heatmap_labels`` is how many of the most frequent labels the
    co-occurrence matrix keeps.
    """
    labels = [str(x) for x in labels]
    missing = [x for x in labels if x not in frame.columns]
    if missing:
        raise VocabularyError(
            f"frame lacks the label column(s) {', '.join(map(repr, missing[:5]))}",
            hint="the frame and its vocabulary do not belong together",
        )
    if not 0 <= min_support <= 1:
        raise InputError(f"min_support is a share of images between 0 and 1, not {min_support}")
    if min_expected < 0:
        raise InputError(f"min_expected is a number of images, 0 or more, not {min_expected}")
    n, k = len(frame), len(labels)
    mat = dense_matrix(frame, labels, purpose="stats") if k else np.zeros((n, 0), dtype=np.int8)
    names, codes = _split_codes(frame)
    n_splits = len(names)

    pos = np.zeros((n_splits, k), dtype=np.float64)
    unk = np.zeros((n_splits, k), dtype=np.float64)
    co = np.zeros((k, k), dtype=np.float64)
    per_image = np.zeros(n, dtype=np.int64)
    has_unknown = bool(k) and bool((mat == -1).any())
    for start in range(0, n, _CHUNK):
        chunk = mat[start : start + _CHUNK]
        onehot = np.zeros((len(chunk), n_splits), dtype=np.float32)
        onehot[np.arange(len(chunk)), codes[start : start + _CHUNK]] = 1
        p = (chunk == 1).astype(np.float32)
        # float32 products of 0/1 values are exact below 2**24 rows per chunk
        pos += onehot.T @ p
        co += p.T @ p
        per_image[start : start + _CHUNK] = p.sum(axis=1, dtype=np.int64) if k else 0
        if has_unknown:
            unk += onehot.T @ (chunk == -1).astype(np.float32)
    images = np.bincount(codes, minlength=n_splits)
    hist_width = int(per_image.max()) + 1 if n else 1
    hist = np.bincount(codes * hist_width + per_image, minlength=n_splits * hist_width).reshape(n_splits, hist_width)

    splits = [_split_stats(names[s], int(images[s]), labels, pos[s], unk[s], hist[s]) for s in range(n_splits)]
    if n_splits != 1:
        total = ALL if ALL not in names else f"({ALL})"
        splits.append(_split_stats(total, n, labels, pos.sum(axis=0), unk.sum(axis=0), hist.sum(axis=0)))

    counts = co.astype(np.int64)
    total_pos = np.diag(counts).copy()
    top = np.argsort(-total_pos, kind="stable")[: max(heatmap_labels, 0)]
    top = top[total_pos[top] > 0] if n else top[:0]
    ex_pairs, ex_groups = _exclusive(counts, total_pos, labels, n, min_support, min_expected, max_exclusive)
    settings = {"top_pairs": top_pairs, "min_support": min_support, "min_expected": min_expected,
                "max_exclusive": max_exclusive, "heatmap_labels": heatmap_labels}  # fmt: skip
    return Stats(
        labels=labels,
        splits=splits,
        pairs=_top_pairs(counts, total_pos, labels, n, top_pairs),
        exclusive_pairs=ex_pairs,
        exclusive_groups=ex_groups,
        heatmap_labels=[labels[i] for i in top],
        heatmap=counts[np.ix_(top, top)].tolist(),
        settings=settings,
    )


def ordered_splits(names: Iterable[str]) -> list[str]:
    """Split names in reading order: train, val, test (and their usual spellings) first, then the rest by name."""
    return sorted(names, key=lambda s: (_SPLIT_ORDER.index(s.lower()) if s.lower() in _SPLIT_ORDER else len(_SPLIT_ORDER),
                                        s))  # fmt: skip


def _split_codes(frame: pd.DataFrame) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Split names (train, val, test first) and each row's split index."""
    if "split" not in frame.columns:
        return ([ALL] if len(frame) else []), np.zeros(len(frame), dtype=np.int64)
    values = frame["split"].astype("string").fillna("").str.strip()
    values = values.mask(values == "", "(none)")
    uniques = ordered_splits([str(v) for v in pd.unique(values.to_numpy(dtype=object)).tolist()])
    lookup = {name: i for i, name in enumerate(uniques)}
    codes: npt.NDArray[np.int64] = np.asarray(values.map(lookup).to_numpy(), dtype=np.int64)
    return [str(u) for u in uniques], codes


def _split_stats(
    name: str,
    images: int,
    labels: list[str],
    pos: npt.NDArray[np.float64],
    unk: npt.NDArray[np.float64],
    hist: npt.NDArray[np.int64],
) -> SplitStats:
    rows = []
    for i, label in enumerate(labels):
        p, u = int(pos[i]), int(unk[i])
        rows.append(LabelStats(label, p, images - p - u, u))
    last = int(np.flatnonzero(hist)[-1]) + 1 if hist.any() else 1
    return SplitStats(name, images, rows, [int(x) for x in hist[:last]])


def _top_pairs(counts: npt.NDArray[np.int64], positives: npt.NDArray[np.int64], labels: list[str], n: int,
               limit: int) -> list[Pair]:  # fmt: skip
    k = len(labels)
    if k < 2 or limit <= 0:
        return []
    ii, jj = np.triu_indices(k, 1)
    c = counts[ii, jj]
    keep = np.flatnonzero(c > 0)
    if len(keep) > limit:
        # the ``limit`` largest counts, ties broken by vocabulary order (lexsort's last key sorts first)
        cut = np.partition(c[keep], len(keep) - limit)[len(keep) - limit]
        keep = keep[c[keep] >= cut]
    order = np.lexsort((jj[keep], ii[keep], -c[keep]))[:limit]
    out = []
    for idx in keep[order]:
        i, j, cij = int(ii[idx]), int(jj[idx]), int(c[idx])
        union = int(positives[i] + positives[j] - cij)
        lift = cij * n / (int(positives[i]) * int(positives[j]))
        out.append(Pair(labels[i], labels[j], cij, cij / union, lift))
    return out


def _exclusive(counts: npt.NDArray[np.int64], positives: npt.NDArray[np.int64], labels: list[str], n: int,
               min_support: float, min_expected: float,
               limit: int) -> tuple[list[ExclusivePair], list[ExclusiveGroup]]:  # fmt: skip
    if n == 0 or limit <= 0:
        return [], []
    need = max(1, math.ceil(min_support * n - 1e-9))
    frequent = np.flatnonzero(positives >= need)
    if len(frequent) < 2:
        return [], []
    sub = counts[np.ix_(frequent, frequent)]
    never = sub == 0
    ii, jj = np.nonzero(np.triu(never, 1))
    expected = positives[frequent[ii]].astype(np.float64) * positives[frequent[jj]] / n
    # never together means something only when independence would have put them together on enough images
    enough = expected >= min_expected - 1e-9
    ii, jj, expected = ii[enough], jj[enough], expected[enough]
    if not len(ii):
        return [], []
    order = np.lexsort((jj, ii, -expected))
    pairs = []
    for o in order[:limit]:
        a, b = int(frequent[ii[o]]), int(frequent[jj[o]])
        pairs.append(ExclusivePair(labels[a], labels[b], int(positives[a]), int(positives[b]), float(expected[o])))
    adjacency: dict[int, set[int]] = {int(v): set() for v in np.unique(np.concatenate([ii, jj]))}
    for a, b in zip(ii.tolist(), jj.tolist()):
        adjacency[a].add(b)
        adjacency[b].add(a)
    groups = []
    for clique in _maximal_cliques(adjacency):
        members = sorted(int(frequent[v]) for v in clique)
        covered = int(sum(int(positives[m]) for m in members))
        groups.append(ExclusiveGroup([labels[m] for m in members], covered, covered / n))
    groups.sort(key=lambda g: (-g.images, -len(g.labels), [labels.index(x) for x in g.labels]))
    return pairs, groups[:limit]


def _maximal_cliques(adjacency: dict[int, set[int]]) -> list[list[int]]:
    """Maximal cliques (Bron-Kerbosch with pivoting), stopping after a fixed budget of calls."""
    found: list[list[int]] = []
    budget = [_CLIQUE_BUDGET]

    def expand(r: list[int], p: set[int], x: set[int]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            return
        if not p and not x:
            if len(r) >= 2:
                found.append(r)
            return
        pivot = max(p | x, key=lambda u: (len(adjacency[u] & p), -u))
        for v in sorted(p - adjacency[pivot]):
            expand([*r, v], p & adjacency[v], x & adjacency[v])
            p = p - {v}
            x = x | {v}

    expand([], set(adjacency), set())
    return found
