"""What happens to a source's rows after its reader, whatever the form: ``--exclude``, ``--join``,
``--group-from-path`` and ``--split-from-path``; and in-memory DataFrames read as table sources.

:func:`read_refined` wraps :func:`labelprep.readers.read_source`; ``convert`` and ``validate`` read every
raw source through it, so these options mean the same in every command.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.errors import DATAFRAME_SOURCE, InputError, LabelprepError
from labelprep.readers import read_source
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.csvtext import Table, find_column, read_table
from labelprep.readers.exclude import EXCLUDED, excluded_by

__all__ = ["DATAFRAME_SOURCE", "is_dataframe", "read_refined", "source_name"]

def is_dataframe(source: object) -> bool:
    return isinstance(source, pd.DataFrame)


def source_name(source: object) -> str:
    """How messages name a source: its path, or ``<DataFrame>``."""
    return DATAFRAME_SOURCE if is_dataframe(source) else str(source)


# -- --exclude ---------------------------------------------------------------------------------------


def _keep_rows(ann: Annotations, keep: npt.NDArray[np.bool_]) -> Annotations:
    """The annotations of the kept rows only (pairs re-indexed; every other field as it was)."""
    rows = np.flatnonzero(keep)
    new_index = np.full(ann.n_rows, -1, dtype=np.int64)
    new_index[rows] = np.arange(len(rows))
    pair_keep = new_index[ann.row] >= 0 if len(ann.row) else np.zeros(0, dtype=bool)
    return dataclasses.replace(
        ann, paths=ann.paths[rows], lines=ann.lines[rows], row=new_index[ann.row[pair_keep]], code=ann.code[pair_keep],
        value=ann.value[pair_keep], columns={k: np.asarray(v, dtype=object)[rows] for k, v in ann.columns.items()},
        files=None if ann.files is None else ann.files[rows],
        pair_lines=None if ann.pair_lines is None else ann.pair_lines[pair_keep],
        row_keys=None if ann.row_keys is None else ann.row_keys[rows],
    )  # fmt: skip


def _exclude(ann: Annotations, patterns: Sequence[str]) -> Annotations:
    if not patterns or not ann.n_rows:
        return ann
    hit = [excluded_by(str(p), patterns) for p in ann.paths.tolist()]
    out = np.array([h is not None for h in hit], dtype=bool)
    if not out.any():
        return ann
    dropped = list(ann.dropped)
    rows_read: int | None = ann.rows_read
    if ann.pair_lines is not None:  # long forms: one ledger entry per input line (pair) of a left-out image
        pairs = np.flatnonzero(out[ann.row])
        for j in pairs.tolist():
            r = int(ann.row[j])
            f, _ = ann.where(r)
            pl = int(ann.pair_lines[j])
            dropped.append(LedgerEntry(f, pl if pl > 0 else None, str(ann.paths[r]), EXCLUDED, str(hit[r])))
        rows_read = (ann.rows_read if ann.rows_read is not None else ann.n_rows) - len(pairs)
    else:
        for r in np.flatnonzero(out).tolist():
            f, line = ann.where(r)
            dropped.append(LedgerEntry(f, line, str(ann.paths[r]), EXCLUDED, str(hit[r])))
    kept = _keep_rows(ann, ~out)
    kept.dropped = dropped
    kept.rows_read = rows_read
    return kept


def _excluded_note(ann: Annotations) -> None:
    n = sum(1 for d in ann.dropped if d.reason == EXCLUDED)
    if n:
        by = sorted({d.detail for d in ann.dropped if d.reason == EXCLUDED})
        ann.notes.append(f"--exclude {', '.join(map(repr, by))}: {n} row(s) or file(s) left out (not labelled yet; "
                         "in the ledger), not read as images without labels")  # fmt: skip


# -- --group-from-path, --split-from-path ------------------------------------------------------------


def _from_path(ann: Annotations, regex: str, column: str, option: str) -> None:
    """Fill ``column`` with the first capture group (or the whole match) of ``regex`` searched in each path."""
    try:
        rx = re.compile(regex)
    except re.error as exc:
        raise InputError(f"{option} '{regex}' is not a regular expression: {exc}",
                         hint=r"e.g. 'patient(\d+)' (the first capture group is the value)") from None  # fmt: skip
    if column in ann.columns:
        what = "split folders" if column == "split" and ann.raw_path_is_final else f"--{column}-col"
        raise InputError(f"{option} and {what} both give the {column}", file=ann.source,
                         hint="keep one of them")  # fmt: skip
    values = np.empty(ann.n_rows, dtype=object)
    bad: list[int] = []
    for i, p in enumerate(ann.paths.tolist()):
        m = rx.search(str(p).replace("\\", "/"))
        if m is None:
            bad.append(i)
            continue
        values[i] = (m.group(1) if rx.groups else m.group(0)) or ""
    if bad:
        f, line = ann.where(bad[0])
        more = f" (and {len(bad) - 1:,} more row(s))" if len(bad) > 1 else ""
        raise InputError(f"path {str(ann.paths[bad[0]])!r} does not match {option} '{regex}'{more}", file=f, line=line,
                         hint="the expression is searched in the path as the source lists it; fix it, or leave such "
                         "rows out with --exclude")  # fmt: skip
    ann.columns[column] = values
    shown = ", ".join(map(repr, list(dict.fromkeys(values.tolist()))[:3]))
    ann.notes.append(f"{column} from the path ({option} '{regex}'): {len(set(values.tolist())):,} value(s), e.g. {shown}")


# -- --join FILE --on KEY ------------------------------------------------------------------------------


@dataclass
class _Join:
    file: str
    key: str
    table: Table
    columns: list[str]  # requested columns the join file provides


def _plan_join(opts: ReadOptions) -> tuple[ReadOptions, _Join | None]:
    """The options the reader gets (without the columns the join file provides), and the join to do after."""
    if opts.join is None:
        if opts.on is not None:
            raise InputError("--on names the key column of a --join file", hint="add --join FILE, or drop --on")
        return opts, None
    if not opts.on:
        raise InputError("--join needs --on KEY: the column of the join file that holds the image ids", file=opts.join)
    table = read_table(opts.join, encoding=opts.encoding)
    key = find_column(table, opts.on, (), role="key", option="--on")
    assert key is not None
    requested = [c for c in (opts.split_col, opts.group_col, *opts.keep_cols) if c]
    provided = [c for c in requested if c in table.columns and c != key]
    if not provided:
        others = [c for c in table.columns if c != key]
        raise InputError("--join brings columns in for --group-col, --split-col or --keep-cols, and none of them "
                         "names a column of this file", file=opts.join, line=1,
                         hint=f"its columns: {', '.join(map(repr, others[:12]))}")  # fmt: skip
    reader = dataclasses.replace(
        opts, split_col=None if opts.split_col in provided else opts.split_col,
        group_col=None if opts.group_col in provided else opts.group_col,
        keep_cols=[c for c in opts.keep_cols if c not in provided],
    )  # fmt: skip
    return reader, _Join(opts.join, key, table, provided)


_KEY_RULES: tuple[tuple[str, Any], ...] = (
    ("the path as listed", lambda s: s),
    ("file name", lambda s: s.rsplit("/", 1)[-1]),
    ("file name without extension", lambda s: os.path.splitext(s.rsplit("/", 1)[-1])[0]),
)


def _norm_id(value: object) -> str:
    return re.sub(r"^(\./)+", "", str(value).strip().replace("\\", "/"))


def _join(ann: Annotations, join: _Join, opts: ReadOptions) -> None:
    keys = [_norm_id(k) for k in join.table.strings(join.key).tolist()]
    ids = [_norm_id(p) for p in ann.paths.tolist()]
    best: tuple[int, str, dict[str, int], list[str]] | None = None
    for name, fn in _KEY_RULES:
        index: dict[str, int] = {}
        for i, k in enumerate(keys):
            index.setdefault(fn(k), i)
        hits = sum(fn(x) in index for x in ids)
        if best is None or hits > best[0]:
            best = (hits, name, index, [fn(x) for x in ids])
    assert best is not None
    hits, rule, index, wanted = best
    lines = join.table.lines()
    fn = dict(_KEY_RULES)[rule]
    cols = {c: join.table.strings(c) for c in join.columns}
    # one id listed twice with different values is a conflict, named by its lines
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        kk = fn(k)
        j = seen.setdefault(kk, i)
        if j != i and any(cols[c][i] != cols[c][j] for c in cols):
            c = next(c for c in cols if cols[c][i] != cols[c][j])
            raise InputError(f"image id {k!r} is listed twice with {c} {cols[c][j]!r} and {cols[c][i]!r} "
                             f"(first on line {int(lines[j])})", file=join.file, line=int(lines[i]),
                             hint="one image has one value: fix the rows that disagree")  # fmt: skip
    row_of = np.array([index.get(w, -1) for w in wanted], dtype=np.int64)
    missing = np.flatnonzero(row_of < 0)
    for c in join.columns:
        vals = np.asarray(cols[c], dtype=object)
        out = np.full(ann.n_rows, "", dtype=object)
        out[row_of >= 0] = vals[row_of[row_of >= 0]]
        target = "split" if c == opts.split_col else "group" if c == opts.group_col else c
        if target in ann.columns:
            raise InputError(f"the source gives the {target} already (split folders); --join cannot give it too",
                             file=ann.source, hint=f"drop --{target}-col")  # fmt: skip
        ann.columns[target] = out
    matched = set(row_of[row_of >= 0].tolist())
    unused = len({fn(k) for k in keys}) - len({fn(keys[i]) for i in matched})
    note = (f"--join {join.file} on {join.key!r} by {rule}: {hits:,} of {ann.n_rows:,} row(s) matched; "
            f"columns {', '.join(map(repr, join.columns))}")  # fmt: skip
    if len(missing):
        shown = ", ".join(repr(str(ann.paths[i])) for i in missing[:3]) + (" ..." if len(missing) > 3 else "")
        note += f"; {len(missing):,} row(s) have no row in it, kept with those columns blank: {shown}"
    if unused:
        note += f"; {unused:,} of its id(s) match no image"
    ann.notes.append(note)
    ann.join_unmatched = missing.astype(np.int64)


# -- DataFrames as table sources ------------------------------------------------------------------------


def _stage_dataframe(df: pd.DataFrame, folder: Path) -> tuple[Path, npt.NDArray[np.int64]]:
    """Write ``df`` as a CSV table source; return it and the 1-based row number of each line (0: no row)."""
    frame = df if isinstance(df.index, pd.RangeIndex) else df.reset_index()  # a named index holds ids: keep it
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    for c in frame.columns:
        if frame[c].dtype == bool or str(frame[c].dtype) == "boolean":
            frame[c] = frame[c].astype("Int8")  # a multi-hot frame of booleans is a wide table of 1 and 0
    path = folder / "dataframe.csv"
    frame.to_csv(path, index=False, lineterminator="\n")
    lines = read_table(path).lines()  # exact even when a cell holds a line break
    row_of_line = np.zeros(int(lines.max()) + 1 if len(lines) else 2, dtype=np.int64)
    row_of_line[lines] = np.arange(1, len(lines) + 1)
    return path, row_of_line


def _rows(lines: npt.NDArray[np.integer], row_of_line: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    arr = np.asarray(lines, dtype=np.int64)
    ok = (arr > 0) & (arr < len(row_of_line))
    out = np.zeros(len(arr), dtype=np.int64)
    out[ok] = row_of_line[arr[ok]]
    return out


def _as_dataframe_source(ann: Annotations, staged: str, row_of_line: npt.NDArray[np.int64]) -> Annotations:
    def line(x: int | None) -> int | None:
        return int(row_of_line[x]) or None if x is not None and 0 < x < len(row_of_line) else None

    return dataclasses.replace(
        ann, source=DATAFRAME_SOURCE, lines=_rows(ann.lines, row_of_line), files=None,
        pair_lines=None if ann.pair_lines is None else _rows(ann.pair_lines, row_of_line),
        dropped=[dataclasses.replace(d, file=DATAFRAME_SOURCE if d.file == staged else d.file, line=line(d.line))
                 for d in ann.dropped],
        notes=[n.replace(staged, DATAFRAME_SOURCE) for n in ann.notes],
    )  # fmt: skip


# -- the reading door ---------------------------------------------------------------------------------------


def read_refined(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    format: str | None = None,
    options: ReadOptions | None = None,
    none_labels: Collection[str] = (),
    engine: Any = None,
) -> Annotations:
    """:func:`labelprep.readers.read_source`, then ``--exclude``, ``--join`` and the columns from the path.

    ``source`` may be a pandas DataFrame laid out as a table source (delimited, wide or long): it is read as
    that table would be, and messages name it ``<DataFrame>`` with 1-based row numbers for lines.
    """
    opts = options or ReadOptions()
    reader_opts, join = _plan_join(opts)
    if not isinstance(source, pd.DataFrame):
        ann = read_source(Path(source), format=format, options=reader_opts, none_labels=none_labels, engine=engine)
    else:
        if format is not None and format not in ("delimited", "wide", "long"):
            raise InputError(f"a DataFrame is a table source: --format delimited, wide or long, not {format!r}")
        folder = Path(tempfile.mkdtemp(prefix="labelprep-dataframe-"))
        try:
            staged, row_of_line = _stage_dataframe(source, folder)
            try:
                ann = read_source(staged, format=format, options=reader_opts, none_labels=none_labels)
            except LabelprepError as exc:
                if exc.file == str(staged):
                    exc.file = DATAFRAME_SOURCE
                    exc.line = int(row_of_line[exc.line]) or None if exc.line and exc.line < len(row_of_line) else None
                raise
            ann = _as_dataframe_source(ann, str(staged), row_of_line)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    ann = _exclude(ann, opts.exclude)
    _excluded_note(ann)
    if join is not None:
        _join(ann, join, opts)
    if opts.group_from_path:
        _from_path(ann, opts.group_from_path, "group", "--group-from-path")
    if opts.split_from_path:
        _from_path(ann, opts.split_from_path, "split", "--split-from-path")
    return ann
