"""The label block of a frame, dense or sparse, read the same way.

A frame holds one int8 column per label. Up to :data:`SPARSE_THRESHOLD` labels
the columns are plain ``int8``; above it they are ``pd.SparseDtype("int8", 0)``
(only the 1 and -1 cells are stored), so a frame of 1,000,000 images and 20,000
labels takes tens of megabytes instead of 20 GB. Column names, order, values
and the API are the same either way; the helpers here read counts and (row,
label) pairs from either kind without building the dense matrix.

Example:
    >>> import pandas as pd, labelprep.multihot as mh
    >>> f = pd.DataFrame({"path": ["a.jpg", "b.jpg"], "cat": pd.array([1, 0], dtype="int8"),
    ...                   "dog": pd.array([1, -1], dtype="int8")})
    >>> mh.positive_counts(f, ["cat", "dog"]).tolist()
    [1, 1]
    >>> mh.to_sparse(f, ["cat", "dog"])["dog"].dtype
    Sparse[int8, 0]
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.arrays import SparseArray

from labelprep.errors import InputError

__all__ = [
    "ABSENT",
    "MAX_DENSE_CELLS",
    "POSITIVE",
    "SCATTER_CHUNK",
    "SPARSE_DTYPE",
    "SPARSE_THRESHOLD",
    "UNCERTAIN",
    "align_labels",
    "dense_matrix",
    "is_sparse",
    "label_pairs",
    "multi_hot",
    "positive_counts",
    "rows_with_label",
    "sparse_columns",
    "to_dense",
    "to_sparse",
    "use_sparse",
    "value_counts",
    "zeroed_int8",
]

# The values of a label cell.
POSITIVE = 1
ABSENT = 0  # verified absent: the label is known to the source but not on this image
UNCERTAIN = -1

SPARSE_DTYPE = pd.SparseDtype("int8", 0)
# Above this many labels, convert builds sparse label columns (``--sparse-threshold`` changes it).
# At 2,000 labels a dense frame of 1M images is 2 GB; sparse it is about 5 bytes per positive.
SPARSE_THRESHOLD = 2000
# The largest label block (images x labels) that is ever made dense on request.
MAX_DENSE_CELLS = 2_000_000_000

_Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int8]]


def use_sparse(n_labels: int, threshold: int | None = None) -> bool:
    """Whether a frame of ``n_labels`` label columns is built sparse (more labels than the threshold)."""
    limit = SPARSE_THRESHOLD if threshold is None else threshold
    return n_labels > limit


def is_sparse(frame: pd.DataFrame, labels: Sequence[str]) -> bool:
    """True when the label columns of ``frame`` are sparse."""
    return bool(labels) and isinstance(frame[labels[0]].dtype, pd.SparseDtype)


def _final_cells(rows: npt.NDArray[np.integer], codes: npt.NDArray[np.integer], values: npt.NDArray[np.int8] | None,
                 n_rows: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:  # fmt: skip
    """Unique cells ``code * n_rows + row`` (sorted) and their value: positive beats uncertain beats absent."""
    cell = codes.astype(np.int64) * max(n_rows, 1) + rows.astype(np.int64)
    if values is None:
        return np.unique(cell), np.ones(0, np.int8)
    nz = values != 0
    cell, vals = cell[nz], values[nz]
    order = np.lexsort((vals, cell))  # by cell, then value: -1 before 1, so the last of each cell wins
    cell, vals = cell[order], vals[order]
    last = np.ones(len(cell), dtype=bool)
    last[:-1] = cell[1:] != cell[:-1]
    return cell[last], vals[last]


def sparse_columns(
    rows: npt.NDArray[np.integer],
    codes: npt.NDArray[np.integer],
    n_rows: int,
    n_labels: int,
    values: npt.NDArray[np.int8] | None = None,
) -> list[SparseArray]:
    """Scatter (row, code[, value]) pairs into one sparse int8 column per label (like :func:`multi_hot`)."""
    cell, vals = _final_cells(rows, codes, values, n_rows)
    width = max(n_rows, 1)
    col = cell // width
    row = (cell - col * width).astype(np.int32)
    if values is None:
        vals = np.ones(len(cell), dtype=np.int8)
    bounds = np.searchsorted(col, np.arange(n_labels + 1))
    # SparseArray's own constructor scans a dense array; building from the index is ~100x faster for wide frames
    from pandas._libs.sparse import IntIndex

    out = []
    for j in range(n_labels):
        a, b = int(bounds[j]), int(bounds[j + 1])
        index = IntIndex(n_rows, row[a:b].copy())  # type: ignore[call-arg]
        out.append(SparseArray._simple_new(vals[a:b].copy(), index, SPARSE_DTYPE))  # type: ignore[attr-defined]
    return out


def _arrays(frame: pd.DataFrame, labels: Sequence[str]) -> list[object]:
    """The arrays of the label columns, in ``labels`` order (one pass; ``frame[name]`` costs ~10 µs a column)."""
    try:
        arrays = list(frame._iter_column_arrays())  # type: ignore[operator]  # pandas-private, 20x faster than indexing
    except AttributeError:  # pragma: no cover - another pandas
        return [frame[name].array for name in labels]
    pos = {str(c): i for i, c in enumerate(frame.columns)}
    if len(pos) != len(frame.columns):  # duplicated column names: let pandas decide
        return [frame[name].array for name in labels]
    return [arrays[pos[name]] for name in labels]


def _column_cells(arr: object) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Row indices and values of the non-zero cells of one label column's array (sparse or not)."""
    if isinstance(arr, SparseArray):
        idx = np.asarray(arr.sp_index.indices, dtype=np.int64)
        v = np.asarray(arr.sp_values)
    else:
        v = np.asarray(arr)
        idx = np.flatnonzero(v)
        v = v[idx]
    nz = v != 0
    return idx[nz], v[nz].astype(np.int8)


def label_pairs(frame: pd.DataFrame, labels: Sequence[str]) -> _Pairs:
    """The non-zero cells of the label block as (row, label index, value), sorted by row then label."""
    labels = list(labels)
    if not labels or not len(frame):
        return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int8)
    if is_sparse(frame, labels):
        rows_l: list[npt.NDArray[np.int64]] = []
        cols_l: list[npt.NDArray[np.int32]] = []
        vals_l: list[npt.NDArray[np.int8]] = []
        for j, arr in enumerate(_arrays(frame, labels)):
            idx, v = _column_cells(arr)
            rows_l.append(idx)
            cols_l.append(np.full(len(idx), j, dtype=np.int32))
            vals_l.append(v)
        rows, cols, vals = np.concatenate(rows_l), np.concatenate(cols_l), np.concatenate(vals_l)
        order = np.lexsort((cols, rows))
        return rows[order], cols[order], vals[order]
    mat = frame[labels].to_numpy(dtype=np.int8, copy=False)
    r, c = np.nonzero(mat)
    return r.astype(np.int64), c.astype(np.int32), mat[r, c]


def value_counts(frame: pd.DataFrame, labels: Sequence[str], value: int) -> npt.NDArray[np.int64]:
    """Per label, the number of rows holding ``value`` (1 or -1)."""
    labels = list(labels)
    if not labels:
        return np.zeros(0, np.int64)
    if is_sparse(frame, labels):
        return np.array([int((_column_cells(a)[1] == value).sum()) for a in _arrays(frame, labels)], dtype=np.int64)
    mat = frame[labels].to_numpy(dtype=np.int8, copy=False)
    return (mat == value).sum(axis=0).astype(np.int64)


def positive_counts(frame: pd.DataFrame, labels: Sequence[str]) -> npt.NDArray[np.int64]:
    """Per label, the number of rows where it is 1."""
    return value_counts(frame, labels, 1)


def rows_with_label(frame: pd.DataFrame, labels: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Per row: whether any label cell is non-zero (1 or -1)."""
    out = np.zeros(len(frame), dtype=bool)
    labels = list(labels)
    if not labels:
        return out
    if is_sparse(frame, labels):
        for arr in _arrays(frame, labels):
            out[_column_cells(arr)[0]] = True
        return out
    return np.asarray((frame[labels].to_numpy(dtype=np.int8, copy=False) != 0).any(axis=1))


def dense_matrix(frame: pd.DataFrame, labels: Sequence[str], *, purpose: str = "this step") -> npt.NDArray[np.int8]:
    """The label block as a dense (rows, labels) int8 array; refuses blocks over :data:`MAX_DENSE_CELLS`."""
    labels = list(labels)
    if not labels:
        return np.zeros((len(frame), 0), dtype=np.int8)
    if not is_sparse(frame, labels):
        return frame[labels].to_numpy(dtype=np.int8)
    cells = len(frame) * len(labels)
    if cells > MAX_DENSE_CELLS:
        raise InputError(
            f"{purpose} needs the dense label matrix, {len(frame):,} images x {len(labels):,} labels "
            f"({cells / 1e9:.1f} GB as int8)",
            hint="work on a subset of the labels or images (for example convert --min-count)",
        )
    mat = np.zeros((len(frame), len(labels)), dtype=np.int8)
    rows, cols, vals = label_pairs(frame, labels)
    mat[rows, cols] = vals
    return mat


def align_labels(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """``path`` then ``labels`` in this order, int8; labels the frame lacks are all 0 (sparse stays sparse)."""
    labels = list(labels)
    if list(frame.columns) == ["path", *labels] and len({str(d) for d in frame.dtypes.iloc[1:]}) <= 1 and \
            all(d == SPARSE_DTYPE or d == np.int8 for d in frame.dtypes.iloc[1:2]) and \
            frame.index.equals(pd.RangeIndex(len(frame))):  # fmt: skip
        return frame.copy(deep=False)  # already path then the labels, all int8 or all sparse: nothing to rebuild
    present = [c for c in labels if c in frame.columns]
    sparse = is_sparse(frame, present)
    n = len(frame)
    data: dict[str, object] = {"path": frame["path"].array}
    for name in labels:
        if name not in frame.columns:
            data[name] = sparse_columns(np.zeros(0, np.int64), np.zeros(0, np.int64), n, 1)[0] if sparse else (
                np.zeros(n, dtype=np.int8))
        elif sparse:
            col = frame[name]
            if col.dtype == SPARSE_DTYPE:
                data[name] = col.array
            else:
                idx, v = _column_cells(col.array)
                data[name] = sparse_columns(idx, np.zeros(len(idx), np.int64), n, 1, v)[0]
        else:
            data[name] = np.asarray(frame[name].to_numpy(), dtype=np.int8)
    return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)


def _rebuild(frame: pd.DataFrame, labels: list[str], arrays: Sequence[object]) -> pd.DataFrame:
    cols = dict(zip(labels, arrays, strict=True))
    data = {c: (cols[c] if c in cols else frame[c].array) for c in frame.columns}
    return pd.DataFrame(data, index=frame.index, copy=False)


def to_sparse(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """A copy of ``frame`` whose label columns are sparse."""
    labels = list(labels)
    if not labels or is_sparse(frame, labels):
        return frame.copy()
    rows, cols, vals = label_pairs(frame, labels)
    return _rebuild(frame, labels, sparse_columns(rows, cols, len(frame), len(labels), vals))


def to_dense(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """A copy of ``frame`` whose label columns are plain int8 (refuses blocks over :data:`MAX_DENSE_CELLS`)."""
    labels = list(labels)
    if not labels or not is_sparse(frame, labels):
        return frame.copy()
    mat = np.asfortranarray(dense_matrix(frame, labels, purpose="to_dense"))
    return _rebuild(frame, labels, [mat[:, j] for j in range(len(labels))])


ZEROED_MMAP_BYTES = 1 << 26  # from 64 MiB on, the matrix is an anonymous mapping (see zeroed_int8)


def zeroed_int8(n_labels: int, n_rows: int) -> npt.NDArray[np.int8]:
    """A (n_labels, n_rows) int8 array of zeros; a large one is an anonymous memory mapping.

    ``np.zeros`` asks for transparent huge pages on a large array, and where the kernel then compacts memory
    to find them (THP ``defrag=madvise``, the common default) the first touch of a scattered write can stall:
    0.5 s instead of 0.1 s for 1M rows x 100 labels on the benchmark machine. An anonymous mapping is zeroed
    by the kernel page by page, with ordinary pages.
    """
    size = n_labels * n_rows
    if size < ZEROED_MMAP_BYTES:
        return np.zeros((n_labels, n_rows), dtype=np.int8)
    # MAP_POPULATE (Linux): the kernel maps and zeroes every page at once, faster than a fault a page as the
    # scatter first touches them (0.40-0.44 s against 0.45-0.55 s for 1 GB here); the matrix is dense anyway
    flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0) | getattr(mmap, "MAP_POPULATE", 0)
    buf = mmap.mmap(-1, size, flags=flags) if flags else mmap.mmap(-1, size)
    return np.frombuffer(buf, dtype=np.int8).reshape(n_labels, n_rows)


SCATTER_CHUNK = 1 << 19  # pairs scattered at a time (4 MB of indices)


def multi_hot(
    rows: npt.NDArray[np.integer],
    codes: npt.NDArray[np.integer],
    n_rows: int,
    n_labels: int,
    values: npt.NDArray[np.int8] | None = None,
) -> npt.NDArray[np.int8]:
    """Scatter (row, code[, value]) pairs into a (n_labels, n_rows) int8 array.

    The array is label-major so that ``result.T`` becomes a DataFrame block
    without a copy. Where pairs disagree, positive beats uncertain beats absent.
    """
    mat = zeroed_int8(n_labels, n_rows)
    flat = mat.reshape(-1)  # a view: one flat index a pair scatters about twice as fast as (code, row) pairs

    def scatter(c: npt.NDArray[np.integer], r: npt.NDArray[np.integer], value: int) -> None:
        # in chunks: the int64 flat indices of all pairs at once would add 8 bytes a pair to the peak memory
        for start in range(0, len(c), SCATTER_CHUNK):
            idx = c[start : start + SCATTER_CHUNK].astype(np.int64)
            idx *= n_rows
            idx += r[start : start + SCATTER_CHUNK]
            flat[idx] = value

    if values is None:
        scatter(codes, rows, 1)
        return mat
    unc = values == UNCERTAIN
    if unc.any():
        scatter(codes[unc], rows[unc], -1)
    pos = values == POSITIVE
    scatter(codes[pos], rows[pos], 1)
    return mat
