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
from labelprep.stratify import FloatArray, IntArray, Stratifier
from labelprep.vocabulary import Vocabulary

__all__ = ["SplitResult", "stratified_split"]



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
    strat = Stratifier(group_of_row, n_groups, pos_rows, pos_labels, len(label_list), ratio_arr, rng)
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
# the result


def _result(
    assignment: IntArray,
    names: list[str],
    ratios: FloatArray,
    labels: list[str],
    pos_rows: IntArray,
    pos_labels: IntArray,
    strat: Stratifier,
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
