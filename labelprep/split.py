"""Stratified train/val/test splits of a multi-hot frame, honouring groups.

:func:`stratified_split` is multi-label iterative stratification (Sechidis,
Tsoumakas and Vlahavas, 2011) over *groups* (patients, studies, users): the
rows of one group always land in one split, and each group weighs as many rows
as it has. Without groups every row is its own group. It is pure (no I/O) and
returns a :class:`SplitResult`; writing a ``split`` column is the caller's job.

The algorithm, in three passes over the groups:

1. **Seed.** Labels carried by at least as many groups as there are splits
   get one group in every split, rarest label first, so that none of them
   misses a split. A seed takes no group that another rare label still
   needs, if it can help it, and otherwise fits the split best. Where one
   label at a time paints itself into a corner, a short local search moves
   seeds until every such label is everywhere, or reports the ones it could
   not place (not every case can be solved).
2. **Stratify.** Repeatedly take the label with the fewest unplaced groups
   and place all of them (Sechidis' rule): each split gets its remaining
   demand for that label (if a split already has too many, the others share
   the excess in proportion to their ratios), rounded where a unit costs the
   least prevalence. Which group goes where is decided in small vectorised
   chunks, by the change in squared prevalence error over the group's other
   labels and the split sizes.
3. **Fill.** Groups without any positive label fill the splits up to their
   sizes, largest groups first.

Unknown cells (-1) count as not positive. Prevalence is positives over all
rows of a split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.errors import InputError
from labelprep.multihot import is_sparse, label_pairs
from labelprep.vocabulary import Vocabulary

__all__ = ["SplitResult", "stratified_split"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Groups placed at once while stratifying: smaller is closer to placing them one at a time, larger is faster.
# Groups of differing sizes need small chunks to fit the quotas; single rows only differ in their labels.
_CHUNK_GROUPS = 16
_CHUNK_ROWS = 64
_FILL_CHUNK = 512  # groups placed at once in the fill pass (they only differ in size)
_SEED_CANDIDATES = 256  # groups looked at when choosing one seed for a label
_REPAIR_STEPS = 2000  # moves tried, plus 200 per (label, split) pair missing after seeding (only then)


@dataclass
class SplitResult:
    """Where each row goes, and how well every label is balanced across the splits.

    ``assignment[i]`` is the index into ``names`` of frame row ``i``. ``table``
    has one row per label (vocabulary order) with the columns ``positives`` and
    ``prevalence`` over the whole frame, ``<split>_positives`` and
    ``<split>_prevalence`` for each split, and ``deviation``: the largest
    ``|prevalence in a split - overall prevalence|`` of that label.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"path": [f"{i}.jpg" for i in range(10)], "cat": [1, 0] * 5})
        >>> res = stratified_split(frame, ["cat"], ratios=(0.6, 0.4), names=("train", "test"))
        >>> res.sizes
        {'train': 6, 'test': 4}
        >>> res.table.loc["cat", ["train_positives", "test_positives"]].tolist()
        [3, 2]
        >>> res.column().tolist().count("test")
        4
    """

    assignment: npt.NDArray[np.int64]
    names: list[str]
    table: pd.DataFrame
    max_deviation: float
    mean_deviation: float
    unplaced: list[tuple[str, str]]
    ratios: list[float] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # groups per split (rows when there are no groups)

    @property
    def sizes(self) -> dict[str, int]:
        """Rows per split."""
        counts = np.bincount(self.assignment, minlength=len(self.names))
        return {n: int(c) for n, c in zip(self.names, counts)}

    def indices(self, name: str) -> npt.NDArray[np.int64]:
        """Frame row positions (sorted) that go to split ``name``."""
        if name not in self.names:
            raise InputError(f"unknown split {name!r}", hint=f"the splits are {', '.join(map(repr, self.names))}")
        return np.flatnonzero(self.assignment == self.names.index(name))

    def column(self) -> pd.Series:
        """The split name of every row, ready to be stored as the frame's ``split`` column."""
        return pd.Series(np.asarray(self.names, dtype=object)[self.assignment], name="split", dtype="str")

    def to_text(self) -> str:
        """Split sizes, a per-label table (positives and prevalence per split) and the largest deviation."""
        sizes = np.bincount(self.assignment, minlength=len(self.names))
        total = max(int(sizes.sum()), 1)
        lines: list[str] = []
        w = max([len("split"), *map(len, self.names)])
        lines.append(f"{'split':<{w}}  {'rows':>10}  {'share':>6}  {'target':>6}  {'groups':>10}")
        for i, name in enumerate(self.names):
            target = f"{100 * self.ratios[i]:.1f}%" if i < len(self.ratios) else ""
            grp = f"{self.groups[i]:,}" if i < len(self.groups) else ""
            lines.append(f"{name:<{w}}  {int(sizes[i]):>10,}  {100 * sizes[i] / total:>5.1f}%  {target:>6}  {grp:>10}")
        lines.append("")
        t = self.table
        lw = max([len("label"), *(len(str(x)) for x in t.index)])
        cols = ["all", *self.names]
        cw = 20
        lines.append(f"{'label':<{lw}}  " + "  ".join(f"{c:>{cw}}" for c in cols) + f"  {'deviation':>9}")
        lines.append(f"{'':<{lw}}  " + "  ".join(f"{'positives prevalence':>{cw}}" for _ in cols))
        pos_cols = ["positives"] + [f"{n}_positives" for n in self.names]
        prev_cols = ["prevalence"] + [f"{n}_prevalence" for n in self.names]
        pos = t[pos_cols].to_numpy()
        prev = t[prev_cols].to_numpy(dtype=np.float64)
        dev = t["deviation"].to_numpy(dtype=np.float64)
        for r, label in enumerate(t.index):
            cells = [f"{int(pos[r, c]):>9,} {_pct(prev[r, c]):>10}" for c in range(len(cols))]
            lines.append(f"{label!s:<{lw}}  " + "  ".join(f"{x:>{cw}}" for x in cells) + f"  {_pp(dev[r]):>9}")
        lines.append("")
        if len(t) and np.isfinite(dev).any():
            r = int(np.nanargmax(dev))
            split_prev = prev[r, 1:]
            c = int(np.nanargmax(np.abs(split_prev - prev[r, 0])))
            lines.append(
                f"largest deviation: {_pp(self.max_deviation)} ({t.index[r]!r} in {self.names[c]!r}: "
                f"{_pct(split_prev[c])} against {_pct(prev[r, 0])} overall); mean deviation {_pp(self.mean_deviation)}"
            )
        else:
            lines.append("largest deviation: none (no labels)")
        if self.unplaced:
            lines.append(f"{len(self.unplaced)} label(s) not in every split:")
            lines.extend(f"  {reason}" for _, reason in self.unplaced)
        return "\n".join(lines) + "\n"


def _pct(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:.3f}%"


def _pp(x: float) -> str:
    """A difference of prevalences, in percentage points."""
    return "-" if not np.isfinite(x) else f"{100 * x:.3f} pp"


def stratified_split(
    frame: pd.DataFrame,
    labels: Sequence[str],
    *,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    names: Sequence[str] = ("train", "val", "test"),
    seed: int = 0,
    group: Sequence[object] | npt.NDArray[np.generic] | pd.Series | None = None,
) -> SplitResult:
    """Split the rows of a multi-hot frame so that every label keeps its prevalence in every split.

    ``labels`` are the label columns (1 positive; 0 and -1 are not). ``group``
    gives one value per row; rows sharing a value always share a split (missing
    values make a row its own group). Each label carried by at least as many
    groups as there are splits appears in every split; the labels for which
    that cannot be done are listed in ``unplaced`` with the reason. The same
    input and seed give the same split.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"path": [f"{i}.jpg" for i in range(20)], "cat": [1, 0, 0, 0] * 5})
        >>> res = stratified_split(frame, ["cat"], ratios=(0.5, 0.5), names=("a", "b"), seed=1)
        >>> res.table.loc["cat", ["a_positives", "b_positives"]].tolist()
        [3, 2]
    """
    ratio_arr, name_list = _check_ratios(ratios, names)
    label_list = _check_labels(frame, labels)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(f"seed must be an integer, not {seed!r}", hint="for example --seed 0")
    n = len(frame)
    k = len(name_list)
    if n == 0:
        raise InputError("the frame has no rows to split")
    group_of_row, n_groups = _group_codes(group, n)
    if n_groups < k:
        unit = "group" if group is not None else "row"
        raise InputError(
            f"cannot split {n_groups} {unit}(s) into {k} splits",
            hint="use fewer splits" + (" or a finer group column" if group is not None else ""),
        )
    pos_rows, pos_labels = _positives(frame, label_list)
    rng = np.random.default_rng(int(seed))
    strat = _Stratifier(group_of_row, n_groups, pos_rows, pos_labels, len(label_list), ratio_arr, rng)
    strat.seed()
    strat.stratify()
    strat.fill()
    assignment = strat.assigned[group_of_row].astype(np.int64)
    return _result(assignment, name_list, ratio_arr, label_list, pos_rows, pos_labels, strat, grouped=group is not None)


# ----------------------------------------------------------------------------------------------------------------
# input checks


def _check_ratios(ratios: Sequence[float], names: Sequence[str]) -> tuple[FloatArray, list[str]]:
    if isinstance(names, str):
        raise InputError(f"names must be a list of split names, not the string {names!r}", hint="e.g. train,val,test")
    name_list = list(names)
    for name in name_list:
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise InputError(f"split name {name!r} is empty or has surrounding whitespace", hint="e.g. train,val,test")
    dup = sorted({x for x in name_list if name_list.count(x) > 1})
    if dup:
        raise InputError(f"split name(s) {', '.join(map(repr, dup))} given twice", hint="each split needs its own name")
    try:
        values = [float(r) for r in ratios]
    except (TypeError, ValueError):
        raise InputError(f"ratios must be numbers, got {list(ratios)!r}", hint="e.g. --ratios 0.8,0.1,0.1") from None
    if len(values) != len(name_list):
        raise InputError(
            f"{len(values)} ratio(s) for {len(name_list)} split name(s) ({', '.join(name_list)})",
            hint="give one ratio per split name",
        )
    if not values:
        raise InputError("no splits given", hint="e.g. --ratios 0.8,0.1,0.1 --names train,val,test")
    bad = [r for r in values if not (math.isfinite(r) and r > 0)]
    if bad:
        raise InputError(
            f"ratio {bad[0]!r} is not a positive number",
            hint="every split needs a share above 0; leave a split out instead of giving it 0",
        )
    total = math.fsum(values)
    if abs(total - 1.0) > 1e-6:
        raise InputError(
            f"ratios {', '.join(f'{r:g}' for r in values)} sum to {total:.6g}, not 1",
            hint="make them add up to 1, e.g. --ratios 0.8,0.1,0.1",
        )
    return np.asarray(values, dtype=np.float64) / total, name_list


def _check_labels(frame: pd.DataFrame, labels: Sequence[str]) -> list[str]:
    if isinstance(labels, str):
        raise InputError(f"labels must be a list of label columns, not the string {labels!r}")
    label_list = list(labels)
    seen: set[str] = set()
    columns = [str(c) for c in frame.columns]
    for label in label_list:
        if label in seen:
            raise InputError(f"label {label!r} is listed twice", hint="each label may appear once")
        seen.add(label)
        if label not in frame.columns:
            close = Vocabulary([c for c in dict.fromkeys(columns) if c and c == c.strip()]).suggest(str(label))
            raise InputError(
                f"label {label!r} is not a column of the frame",
                hint=f"did you mean {close!r}?" if close else "pass the frame's vocabulary as labels",
            )
    return label_list


def _group_codes(group: object, n: int) -> tuple[npt.NDArray[np.int64], int]:
    if group is None:
        return np.arange(n, dtype=np.int64), n
    if isinstance(group, str):
        raise InputError("group must hold one value per row, not a column name", hint="pass frame['group']")
    values = pd.Series(np.asarray(group, dtype=object) if not isinstance(group, pd.Series) else group.to_numpy())
    if len(values) != n:
        raise InputError(f"group has {len(values)} value(s) for {n} row(s)", hint="give one group value per frame row")
    # a blank value ("" as a CSV or a --join without a row for the image leaves it) is no group either
    values = values.mask(values.map(lambda v: isinstance(v, str) and not v.strip()))
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    missing = codes < 0
    if missing.any():
        # a row without a group value belongs to no one else: it is its own group
        codes[missing] = len(uniques) + np.arange(int(missing.sum()), dtype=np.int64)
    return codes, len(uniques) + int(missing.sum())


def _positives(frame: pd.DataFrame, labels: list[str]) -> tuple[IntArray, IntArray]:
    """(row, label) index pairs of the positive (== 1) cells, sorted by label then row."""
    n = len(frame)
    if not labels:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if is_sparse(frame, labels):
        rows, cols, vals = label_pairs(frame, labels)
        pos = vals == 1
        order = np.lexsort((rows[pos], cols[pos]))
        return rows[pos][order], cols[pos][order].astype(np.int64)
    sub = frame[labels]
    if sub.shape != (n, len(labels)):
        raise InputError("label columns are not unique in the frame", hint="rename the duplicated columns")
    for i, dtype in enumerate(sub.dtypes):
        if dtype == np.int8:
            continue  # the frame's own dtype: checked below, all at once
        ok = sub.iloc[:, i].isin([-1, 0, 1]).to_numpy()
        if not ok.all():
            _bad_cell(frame, labels[i], int(np.flatnonzero(~ok)[0]))
    mat = sub.to_numpy(dtype=np.int8, copy=False)
    if mat.size and (mat.min() < -1 or mat.max() > 1):
        r, c = np.argwhere((mat < -1) | (mat > 1))[0]
        _bad_cell(frame, labels[int(c)], int(r))
    # a frame from encoding holds one label-major block: walk it in memory order
    lab, row = np.nonzero(mat.T == 1)
    return row.astype(np.int64, copy=False), lab.astype(np.int64, copy=False)


def _bad_cell(frame: pd.DataFrame, label: str, row: int) -> NoReturn:
    value = frame[label].iloc[row]
    value = value.item() if isinstance(value, np.generic) else value
    where = f" (path {frame['path'].iloc[row]!r})" if "path" in frame.columns else ""
    raise InputError(
        f"label column {label!r} holds {value!r} in row {row}{where}; cells must be 1, 0 or -1",
        hint="encode the labels with labelprep convert, or map the values to 1 (positive), 0 and -1 (unknown)",
    )


# ----------------------------------------------------------------------------------------------------------------
# the algorithm


def _spans(ptr: IntArray, items: IntArray) -> tuple[IntArray, IntArray]:
    """Positions in a CSR array of the entries of ``items``, and which item (0..len-1) each one belongs to."""
    starts = ptr[items]
    lens = ptr[items + 1] - starts
    owner = np.repeat(np.arange(len(items), dtype=np.int64), lens)
    offsets = np.cumsum(lens) - lens
    pos = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(offsets - starts, lens)
    return pos, owner


def _apportion(quota: FloatArray, total: float, ratios: FloatArray, tie_break: FloatArray) -> FloatArray:
    """Whole numbers close to ``quota`` that add up to ``total``, rounding where it costs least prevalence.

    Starting from the floors, each unit left over goes where it lowers ``sum |count - quota| / ratio`` the
    most: a unit too many or too few in a small split moves its prevalence further than in a large one.
    """
    total = round(total)
    floor = np.floor(quota + 1e-9)
    short = int(total - floor.sum())
    gain = (2 * (quota - floor) - 1) / ratios  # what rounding up instead of down saves
    if short > 0:
        floor[np.lexsort((tie_break, -gain))[:short]] += 1
    elif short < 0:  # pragma: no cover - only from rounding noise in the quotas
        floor[np.lexsort((tie_break, gain))[:-short]] -= 1
    return floor


def _waterfill(need: FloatArray, amount: float, ratios: FloatArray) -> FloatArray:
    """Share ``amount`` out so that what is still missing afterwards is proportional to the ratios, never below 0."""
    # find t with sum(max(need - t * ratios, 0)) == amount; need.sum() == amount when nothing is overfull (t == 0)
    if amount <= 0:
        return np.zeros_like(need)
    level = need / ratios
    order = np.argsort(-level, kind="stable")
    for i in range(len(order)):
        active = order[: i + 1]
        t = (need[active].sum() - amount) / ratios[active].sum()
        if i + 1 == len(order) or t >= level[order[i + 1]]:
            return np.maximum(need - t * ratios, 0.0)
    return amount * ratios  # pragma: no cover - unreachable, the last interval is unbounded


class _Stratifier:
    """State of one split: which split each group went to, and what every split still lacks."""

    def __init__(
        self,
        group_of_row: IntArray,
        n_groups: int,
        pos_rows: IntArray,
        pos_labels: IntArray,
        n_labels: int,
        ratios: FloatArray,
        rng: np.random.Generator,
    ) -> None:
        G, L, k = n_groups, n_labels, len(ratios)
        self.G, self.L, self.k = G, L, k
        self.ratios = ratios
        self.w = 1.0 / ratios**2  # squared prevalence error: a positive too many weighs more in a small split
        self.sizes = np.bincount(group_of_row, minlength=G).astype(np.float64)
        self.chunk = _CHUNK_ROWS if G == len(group_of_row) else _CHUNK_GROUPS
        n_rows = float(len(group_of_row))
        # group x label positive counts as CSR (by group) and CSC (by label)
        g = group_of_row[pos_rows]
        keys = g * max(L, 1) + pos_labels
        uniq, counts = np.unique(keys, return_counts=True)
        gl_group, gl_label = uniq // max(L, 1), uniq % max(L, 1)
        self.g_ptr = np.concatenate(([0], np.cumsum(np.bincount(gl_group, minlength=G)))).astype(np.int64)
        self.g_lab = gl_label.astype(np.int64)
        self.g_cnt = counts.astype(np.float64)
        by_label = np.argsort(gl_label, kind="stable")
        self.l_ptr = np.concatenate(([0], np.cumsum(np.bincount(gl_label, minlength=L)))).astype(np.int64)
        self.l_grp = gl_group[by_label].astype(np.int64)
        self.l_cnt = counts[by_label].astype(np.float64)
        self.groups_with = np.diff(self.l_ptr)  # groups carrying each label
        positives = np.bincount(pos_labels, minlength=L).astype(np.float64)
        # what each split still lacks: label positives and rows, against ratio * total
        self.need = np.outer(ratios, positives)
        self.need_rows = ratios * n_rows
        self.assigned = np.full(G, -1, dtype=np.int64)
        self.remaining = self.groups_with.copy()  # unplaced groups carrying each label
        self.pos_left = positives.copy()  # positives in the unplaced groups
        self.rows_left = n_rows  # rows in the unplaced groups
        self.cover = np.zeros((k, L), dtype=np.int64)  # groups carrying each label, per split
        self.split_groups = np.zeros(k, dtype=np.int64)
        # random priorities break ties; with the draws in _choose and repair, this is where the seed acts
        self.group_prio = rng.permutation(G)
        self.label_prio = rng.permutation(L)
        self.rng = rng

    # -- bookkeeping -----------------------------------------------------------------------------------------

    def place(self, items: IntArray, splits: IntArray, sign: int = 1) -> None:
        """Put ``items`` in ``splits`` (``sign=-1``: take them back out of the splits they are in)."""
        self.assigned[items] = splits if sign > 0 else -1
        pos, owner = _spans(self.g_ptr, items)
        labs, js = self.g_lab[pos], splits[owner]
        flat = js * self.L + labs
        kl = (self.k, self.L)
        self.need -= sign * np.bincount(flat, weights=self.g_cnt[pos], minlength=self.k * self.L).reshape(kl)
        self.need_rows -= sign * np.bincount(splits, weights=self.sizes[items], minlength=self.k)
        self.remaining -= sign * np.bincount(labs, minlength=self.L)
        self.pos_left -= sign * np.bincount(labs, weights=self.g_cnt[pos], minlength=self.L)
        self.rows_left -= sign * float(self.sizes[items].sum())
        self.cover += sign * np.bincount(flat, minlength=self.k * self.L).reshape(kl)
        self.split_groups += sign * np.bincount(splits, minlength=self.k)

    def move(self, item: int, j: int) -> None:
        """Move one group to split ``j`` (-1: back to the unplaced ones)."""
        items = np.array([item], dtype=np.int64)
        if self.assigned[item] >= 0:
            self.place(items, self.assigned[items], sign=-1)
        if j >= 0:
            self.place(items, np.array([j], dtype=np.int64))

    def unplaced_with(self, label: int) -> tuple[IntArray, FloatArray]:
        lo, hi = self.l_ptr[label], self.l_ptr[label + 1]
        items, counts = self.l_grp[lo:hi], self.l_cnt[lo:hi]
        free = self.assigned[items] < 0
        return items[free], counts[free]

    # -- pass 1: one group of every rare-enough label in every split --------------------------------------------

    def seed(self) -> None:
        k = self.k
        eligible = self.groups_with >= k
        labels = np.flatnonzero(eligible)
        labels = labels[np.lexsort((self.label_prio[labels], self.groups_with[labels]))]
        for label in labels.tolist():
            for j in np.argsort(self.ratios, kind="stable").tolist():
                if self.cover[j, label]:
                    continue
                items, _ = self.unplaced_with(label)
                if len(items) == 0:
                    continue  # reported as unplaced from the final counts
                if len(items) > _SEED_CANDIDATES:
                    items = items[np.argsort(self.group_prio[items])[:_SEED_CANDIDATES]]
                best = self._best_seed(items, label, j, eligible)
                self.place(np.array([best], dtype=np.int64), np.array([j], dtype=np.int64))
        self.repair(eligible)
        # a split that no label seeded still gets a group, the smallest unlabelled one if there is one
        for j in np.flatnonzero(self.split_groups == 0).tolist():
            free = np.flatnonzero(self.assigned < 0)
            if len(free) == 0:
                break
            n_labels = np.diff(self.g_ptr)[free]
            best = free[np.lexsort((self.group_prio[free], self.sizes[free], n_labels))[0]]
            self.place(np.array([best], dtype=np.int64), np.array([j], dtype=np.int64))

    def repair(self, eligible: npt.NDArray[np.bool_]) -> None:
        """Move seeds until every label with enough groups is in every split, where that can be found.

        Seeding one label at a time can paint itself into a corner; this is a min-conflicts local search
        over the placed groups: take a (label, split) pair still missing, move the group of that label
        whose move loses the fewest other pairs, now and then a random one, and keep the best state seen.
        (Some cases cannot be solved at all: three labels on three rows, each pair sharing a row, cannot
        all reach two splits.)
        """
        todo = eligible[None, :] & (self.cover == 0)
        missing = int(todo.sum())
        if missing == 0:
            return
        best, log, best_len = missing, [], 0
        for _ in range(_REPAIR_STEPS + 200 * missing):
            pairs = np.argwhere(eligible[None, :] & (self.cover == 0))
            if len(pairs) == 0:
                break
            j, label = (int(x) for x in pairs[self.rng.integers(len(pairs))])
            groups = self.l_grp[self.l_ptr[label] : self.l_ptr[label + 1]]
            pos, owner = _spans(self.g_ptr, groups)
            labs, src = self.g_lab[pos], self.assigned[groups][owner]
            ok = eligible[labs]
            lost = ok & (src >= 0) & (self.cover[np.maximum(src, 0), labs] == 1)  # an unplaced group costs nothing
            lose = np.bincount(owner, weights=lost, minlength=len(groups))
            gain = np.bincount(owner, weights=ok & (self.cover[j, labs] == 0), minlength=len(groups))
            delta = lose - gain
            if self.rng.random() < 0.1:
                pick = int(self.rng.integers(len(groups)))
            else:
                ties = np.flatnonzero(delta == delta.min())
                pick = int(ties[self.rng.integers(len(ties))])
            g = int(groups[pick])
            log.append((g, int(self.assigned[g])))
            self.move(g, j)
            missing += int(delta[pick])
            if missing < best:
                best, best_len = missing, len(log)
                if missing == 0:
                    break
        for g, s in reversed(log[best_len:]):
            self.move(g, s)  # s == -1: back out of the splits

    def _best_seed(self, items: IntArray, label: int, j: int, eligible: npt.NDArray[np.bool_]) -> int:
        pos, owner = _spans(self.g_ptr, items)
        labs = self.g_lab[pos]
        m = len(items)
        missing = self.k - (self.cover[:, labs] > 0).sum(axis=0)
        slack = self.remaining[labs] - missing  # spare groups of each other label, this one included
        open_ = eligible[labs] & (missing > 0) & (labs != label)
        here = self.cover[j, labs] > 0
        kills = np.bincount(owner, weights=open_ & here & (slack <= 0), minlength=m)
        helps = np.bincount(owner, weights=open_ & ~here, minlength=m)
        harm = np.bincount(owner, weights=np.where(open_ & here, 1.0 / np.maximum(slack, 1), 0.0), minlength=m)
        fit = self._scores(items, label)[:, j]
        order = np.lexsort((self.group_prio[items], -helps, -fit, harm, kills > 0))
        return int(items[order[0]])

    # -- pass 2: iterative stratification, rarest label first ---------------------------------------------------

    def stratify(self) -> None:
        while True:
            todo = np.flatnonzero(self.remaining > 0)
            if len(todo) == 0:
                return
            label = int(todo[np.lexsort((self.label_prio[todo], self.remaining[todo]))[0]])
            items, counts = self.unplaced_with(label)
            # big groups first (they are the hard ones to fit), ties in random order
            order = np.lexsort((self.group_prio[items], -self.sizes[items]))
            items, counts = items[order], counts[order]
            left = float(counts.sum())
            step = self.chunk
            for lo in range(0, len(items), step):
                ch, ach = items[lo : lo + step], counts[lo : lo + step]
                share = _waterfill(self.need[:, label], left, self.ratios)
                chunk_total = float(ach.sum())
                quota = share * (chunk_total / left) if lo + step < len(items) else share
                self.place(ch, self._choose(ch, ach, quota, self._scores(ch, label)))
                left -= chunk_total

    def _scores(self, items: IntArray, label: int) -> FloatArray:
        """(items, k): minus the change in squared prevalence error when the item goes to each split.

        The error of label l in split j is ``need[j, l] - q[l] * need_rows[j]``: positives still wanted minus
        what the rows still wanted will bring, ``q`` being the prevalence among the groups not placed yet
        (not the overall one: the rarest labels go first, so what is left is poorer in them). ``label``
        itself is left out, its quota already decides it.
        """
        m, k = len(items), self.k
        q_all = self.pos_left / max(self.rows_left, 1.0)
        q2 = float(q_all @ q_all)
        pos, owner = _spans(self.g_ptr, items)
        labs, c = self.g_lab[pos], self.g_cnt[pos]
        c = np.where(labs == label, 0.0, c)
        q = q_all[labs]
        s = self.sizes[items]
        err = self.need[:, labs] - np.outer(self.need_rows, q)  # (k, pairs)
        sum_c2 = np.bincount(owner, weights=c * c, minlength=m)
        sum_cq = np.bincount(owner, weights=c * q, minlength=m)
        flat = (np.arange(k)[:, None] * m + owner[None, :]).reshape(-1)
        sum_ec = np.bincount(flat, weights=(err * c).reshape(-1), minlength=k * m).reshape(k, m)
        u = self.need @ q_all - self.need_rows * q2  # sum over all labels of err * q
        base = sum_c2 - 2 * s * sum_cq + s * s * q2
        delta = (base[None, :] - 2 * sum_ec + 2 * s[None, :] * u[:, None]) * self.w[:, None]
        return -delta.T

    def _choose(self, items: IntArray, weights: FloatArray, quota: FloatArray, scores: FloatArray) -> IntArray:
        """Give each split its rounded ``quota`` of the weight, the items it prefers most first.

        The splits are served from the smallest quota up; the last one takes what is left.
        """
        m = len(items)
        splits = np.full(m, -1, dtype=np.int64)
        free = np.ones(m, dtype=bool)
        room = _apportion(quota, float(weights.sum()), self.ratios, self.rng.random(self.k))
        order = np.argsort(quota, kind="stable")
        open_ = order.tolist()
        for j in order[:-1].tolist():
            open_.remove(j)
            left = room[j]
            for _ in range(4):  # a few passes: an item too heavy for the room left is skipped, not a stopper
                fits = np.flatnonzero(free & (weights <= left))
                if len(fits) == 0:
                    break
                pref = scores[fits, j] - scores[np.ix_(fits, open_)].max(axis=1)
                ranked = fits[np.argsort(-pref, kind="stable")]
                take = ranked[np.cumsum(weights[ranked]) <= left]
                splits[take] = j
                free[take] = False
                left -= float(weights[take].sum())
        splits[free] = order[-1]
        return splits

    # -- pass 3: groups without positives fill the splits up to their sizes -------------------------------------

    def fill(self) -> None:
        items = np.flatnonzero(self.assigned < 0)
        if len(items) == 0:
            return
        items = items[np.lexsort((self.group_prio[items], -self.sizes[items]))]
        left = float(self.sizes[items].sum())
        no_label = -1
        for lo in range(0, len(items), _FILL_CHUNK):
            ch = items[lo : lo + _FILL_CHUNK]
            w = self.sizes[ch]
            share = _waterfill(self.need_rows.copy(), left, self.ratios)
            quota = share * (float(w.sum()) / left) if lo + _FILL_CHUNK < len(items) else share
            self.place(ch, self._choose(ch, w, quota, self._scores(ch, no_label)))
            left -= float(w.sum())


# ----------------------------------------------------------------------------------------------------------------
# the result


def _result(
    assignment: IntArray,
    names: list[str],
    ratios: FloatArray,
    labels: list[str],
    pos_rows: IntArray,
    pos_labels: IntArray,
    strat: _Stratifier,
    *,
    grouped: bool,
) -> SplitResult:
    k, L = len(names), len(labels)
    rows = np.bincount(assignment, minlength=k).astype(np.float64)
    per_split = np.bincount(assignment[pos_rows] * L + pos_labels, minlength=k * L).reshape(k, L)
    total = per_split.sum(axis=0)
    overall = total / float(len(assignment))
    with np.errstate(invalid="ignore", divide="ignore"):
        prevalence = per_split / rows[:, None]
    dev = np.abs(prevalence - overall[None, :])
    columns: dict[str, object] = {"positives": total.astype(np.int64), "prevalence": overall}
    for j, name in enumerate(names):
        columns[f"{name}_positives"] = per_split[j].astype(np.int64)
        columns[f"{name}_prevalence"] = prevalence[j]
    columns["deviation"] = dev.max(axis=0) if k else np.zeros(L)
    table = pd.DataFrame(columns, index=pd.Index(labels, name="label", dtype="str"))

    unit = "group" if grouped else "row"
    unplaced: list[tuple[str, str]] = []
    for li in np.flatnonzero((per_split == 0).any(axis=0)).tolist():
        label, n = labels[li], int(strat.groups_with[li])
        missing = [names[j] for j in range(k) if per_split[j, li] == 0]
        if n == 0:
            reason = f"{label!r} has no positives"
        elif n < k:
            reason = f"{label!r} has positives in {n} {unit}{'s' if n != 1 else ''}, fewer than {k} splits"
        else:
            reason = (
                f"{label!r} has positives in {n} {unit}s, but they also carry other rare labels and no placement "
                f"was found that puts all of them in every split: none in {', '.join(map(repr, missing))}"
            )
        unplaced.append((label, reason))
    finite = dev[np.isfinite(dev)]
    return SplitResult(
        assignment=assignment,
        names=names,
        table=table,
        max_deviation=float(finite.max()) if finite.size else 0.0,
        mean_deviation=float(finite.mean()) if finite.size else 0.0,
        unplaced=unplaced,
        ratios=[float(r) for r in ratios],
        groups=[int(x) for x in strat.split_groups],
    )
