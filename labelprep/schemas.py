"""pandera schemas built from a vocabulary: the contract every multi-hot frame meets."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from labelprep.errors import SchemaError
from labelprep.executor import Executor
from labelprep.multihot import SPARSE_DTYPE, is_sparse, value_counts
from labelprep.vocabulary import Vocabulary

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = ["check_frame", "schema", "schema_failures"]

# Above this many labels check_frame checks the label block itself (vectorised) and pandera the other columns.
PANDERA_LABEL_LIMIT = 2000


def schema(
    vocab: Vocabulary | Sequence[str],
    *,
    unknown: bool = False,
    columns: Sequence[str] = (),
    value_checks: bool = True,
    sparse: bool = False,
) -> pa.DataFrameSchema:
    """The pandera schema of a multi-hot frame over ``vocab``.

    ``path`` (unique, non-empty string), then one int8 column per label in
    vocabulary order holding 0/1 (or -1/0/1 with ``unknown=True``), then the
    carried ``columns`` (``split``, ``group`` or kept columns) as strings.
    Column order is enforced and no other column is allowed. With
    ``sparse=True`` the label columns are ``Sparse[int8, 0]`` (the frames
    ``convert`` builds above its ``--sparse-threshold``).

    Example:
        >>> import labelprep
        >>> s = labelprep.schema(labelprep.Vocabulary(["cat", "dog"]))
        >>> list(s.columns)
        ['path', 'cat', 'dog']
    """
    import pandera.pandas as pa  # imported when used: a frame that meets the contract is checked without it
    allowed = [-1, 0, 1] if unknown else [0, 1]
    cols: dict[str, pa.Column] = {
        "path": pa.Column(
            str,
            checks=[pa.Check.str_length(min_value=1)],
            unique=True,
            nullable=False,
            description="image path, POSIX, relative to the images root",
        )
    }
    for label in vocab:
        checks = [pa.Check.isin(allowed)] if value_checks else []
        cols[label] = pa.Column(SPARSE_DTYPE if sparse else "int8", checks=checks, nullable=False)
    for extra in columns:
        cols[extra] = pa.Column(str, nullable=True, required=True)
    return pa.DataFrameSchema(cols, ordered=True, strict=True, name="labelprep multi-hot frame")


_HINT = ("re-create it with labelprep convert, or fix the frame: path, then the labels in vocabulary order (int8 "
         "0/1, or -1 for unknown), then split, group and other text columns")


def check_frame(
    frame: pd.DataFrame,
    vocab: Vocabulary | Sequence[str],
    *,
    unknown: bool | None = None,
    source: str | None = None,
    engine: Executor | None = None,
    distinct_paths: pyarrow.Array | None = None,
) -> pd.DataFrame:
    """Validate ``frame`` lazily against :func:`schema`; raise :class:`SchemaError` listing every failure.

    Every check of the schema is first made vectorised over whole columns (names and order, dtypes, label
    values, paths present, non-empty and unique); a frame that passes them all meets the schema, and pandera
    runs only when one fails, to name every failure. Text columns that are not Arrow-backed strings (what
    ``convert`` and :func:`labelprep.load_frame` make) are left to pandera. ``distinct_paths``: the distinct
    values a hash factorisation of the input paths produced (:func:`labelprep.toframe.encode`); when the
    ``path`` column holds exactly them, in order (one comparison, no hashing), the paths are unique by
    construction. Without it uniqueness is counted.

    With a distributed ``engine`` (:class:`labelprep.executor.DaskExecutor`) pandera validates the frame's rows
    in parts, one task a worker thread, on the cluster; the label block is checked here, vectorised, either way.
    """
    distributed = engine is not None and engine.distributed
    labels = list(vocab)
    # the carried columns (split, group, ...): whatever is neither the path nor a label, wherever it stands
    label_set = set(labels)
    extra = [c for c in frame.columns if c != "path" and c not in label_set]
    has_labels = bool(labels) and set(labels) <= set(frame.columns)
    sparse = has_labels and is_sparse(frame, labels)
    if unknown is None:
        unknown = has_labels and bool(value_counts(frame, labels, -1).any())
    # One vectorised range check over the label block replaces a pandera isin per
    # label column (seconds for 1,000 labels); pandera still checks everything
    # else, and runs the per-column checks to name every failure when one exists.
    if not distributed and has_labels and _meets_schema(frame, labels, extra, low=-1 if unknown else 0,
                                                        sparse=sparse, distinct_paths=distinct_paths):  # fmt: skip
        return frame
    import pandera.pandas as pa  # a failure to name (or a column only pandera can judge)

    value_checks = True
    if has_labels:
        value_checks = not _labels_in_range(frame, labels, low=-1 if unknown else 0, sparse=sparse)
        if not value_checks and (len(labels) > PANDERA_LABEL_LIMIT or distributed):
            # Tens of thousands of columns: pandera's per-column dtype checks alone take seconds, so the label
            # block (names, order, dtype, values: all checked above) is left out and pandera checks the rest.
            _check_label_names(frame, labels, source)
            rest = frame[["path", *extra]]
            try:
                failures: list[str] = []
                if engine is not None and distributed:
                    failures = _failures_in_parts(engine, schema([], columns=extra), rest)
                else:
                    schema([], columns=extra).validate(rest, lazy=True)
            except pa.errors.SchemaErrors as exc:
                failures = describe_failures(exc.failure_cases)
            if failures:
                raise SchemaError(f"frame does not match its schema: {'; '.join(failures[:5])}", file=source,
                                  failures=failures, hint=_HINT) from None  # fmt: skip
            return frame
    try:
        return schema(labels, unknown=unknown, columns=extra, value_checks=value_checks, sparse=sparse).validate(
            frame, lazy=True
        )
    except pa.errors.SchemaErrors as exc:
        failures = describe_failures(exc.failure_cases)
        shown = "; ".join(failures[:5]) + (f"; ... and {len(failures) - 5} more" if len(failures) > 5 else "")
        raise SchemaError(
            f"frame does not match its schema: {shown}", file=source, failures=failures,
            hint=_HINT,
        ) from None


def schema_failures(sch: pa.DataFrameSchema, part: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str]]:
    """pandera's failure cases of ``part`` (None when it is valid), and the message of an error that has none.

    The task :func:`check_frame` runs on each part of a frame.
    """
    import pandera.pandas as pa

    try:
        sch.validate(part, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return exc.failure_cases, []
    except pa.errors.SchemaError as exc:
        return None, [str(exc).splitlines()[0]]
    return None, []


def _failures_in_parts(engine: Executor, sch: pa.DataFrameSchema, frame: pd.DataFrame) -> list[str]:
    """pandera checks ``frame`` in parts (one a worker slot) as tasks on ``engine``; one sentence a failure.

    A part holds its rows' index, so failures name the same rows as when the whole frame is checked. A
    ``unique`` column is unique within a part only: uniqueness over the whole frame is checked here.
    """
    unique = [name for name, col in sch.columns.items() if col.unique and name in frame.columns]
    part_schema = sch.update_columns({name: {"unique": False} for name in unique}) if unique else sch
    parts = max(1, min(engine.slots(), len(frame)))
    bounds = np.linspace(0, len(frame), parts + 1).astype(int).tolist()
    found = engine.map(functools.partial(schema_failures, part_schema),
                       [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)],
                       name="validate-rows", what="validating the frame")  # fmt: skip
    cases = [c for c, _ in found if c is not None]
    failures = [m for _, messages in found for m in messages]
    if cases:
        failures += describe_failures(pd.concat(cases, ignore_index=True))
    for name in unique:
        dup = frame[name].duplicated()
        if dup.any():
            failures.append(f"column {name!r} fails field_uniqueness (value {frame.loc[dup, name].iloc[0]!r})")
    return list(dict.fromkeys(failures))


def _meets_schema(frame: pd.DataFrame, labels: list[str], extra: list[str], *, low: int, sparse: bool,
                  distinct_paths: pyarrow.Array | None) -> bool:  # fmt: skip
    """True when ``frame`` meets :func:`schema` (``path``, ``labels``, then ``extra``), checked column-wise.

    False when any check fails or cannot be decided here (a text column that is not an Arrow-backed string:
    pandera decides those, element by element).
    """
    cols = list(frame.columns)
    if not frame.columns.is_unique or cols[:1] != ["path"] or cols[1 : 1 + len(labels)] != labels:
        return False
    if not all(_arrow_text(frame.dtypes[c]) for c in ["path", *extra]):
        return False
    if not _labels_in_range(frame, labels, low=low, sparse=sparse):
        return False
    path = pyarrow.array(frame["path"].array)
    if isinstance(path, pyarrow.ChunkedArray):
        path = path.combine_chunks()
    if path.null_count or (len(path) and pc.min(pc.binary_length(path)).as_py() < 1):
        return False
    if distinct_paths is not None and len(distinct_paths) == len(path):
        # the factorisation's dictionary holds each value once; the column must be that dictionary, as it is
        if path.equals(distinct_paths.cast(path.type)):
            return True
    return bool(pc.count_distinct(path).as_py() == len(path))


def _arrow_text(dtype: Any) -> bool:
    """An Arrow-backed pandas string dtype (``str`` in pandas 3, ``string[pyarrow]``): pandera's ``str``."""
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _labels_in_range(frame: pd.DataFrame, labels: list[str], *, low: int, sparse: bool) -> bool:
    """True when every label column has the expected dtype and only values in ``low..1``."""
    dtype = SPARSE_DTYPE if sparse else "int8"
    if any(dt != dtype for dt in frame.dtypes[labels]):
        return False
    if sparse:
        for name in labels:
            v = np.asarray(frame[name].array.sp_values)
            if v.size and (int(v.min()) < low or int(v.max()) > 1):
                return False
        return True
    arr = frame[labels].to_numpy(dtype="int8", copy=False)
    return arr.size == 0 or (int(arr.min()) >= low and int(arr.max()) <= 1)


def _check_label_names(frame: pd.DataFrame, labels: list[str], source: str | None) -> None:
    got = [str(c) for c in frame.columns[1 : 1 + len(labels)]]
    if str(frame.columns[0]) != "path" or got != labels:
        bad = next((i for i, (a, b) in enumerate(zip(got, labels, strict=False)) if a != b), min(len(got), len(labels)))
        raise SchemaError(
            "frame columns are not path then the vocabulary in order"
            + (f" (column {bad + 2} is {got[bad]!r}, expected {labels[bad]!r})" if bad < len(got) and bad < len(labels) else ""),
            file=source, failures=["column order"], hint=_HINT,
        )  # fmt: skip


def describe_failures(cases: pd.DataFrame) -> list[str]:
    """One sentence per pandera failure: frame-level ones (a missing, unexpected or misplaced column) in words,
    value failures grouped per column and check with their count and first row."""
    out: list[str] = []
    grouped: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    frame_level = {"column_in_schema": "unexpected column {v!r} (a frame holds path, the labels, then split, group "
                   "and carried columns)", "column_in_dataframe": "missing column {v!r}",
                   "column_ordered": "column {v!r} is out of order (path, then the labels in vocabulary order)"}  # fmt: skip
    for rec in cases.to_dict("records"):
        col, check, value, index = rec.get("column"), str(rec.get("check")), rec.get("failure_case"), rec.get("index")
        if check in frame_level:
            out.append(frame_level[check].format(v=value))
            continue
        grouped.setdefault((str(col), check), []).append((index, value))
    for (col, check), hits in grouped.items():
        index, value = hits[0]
        if index is None or pd.isna(index):
            where = ""
        elif isinstance(index, (int, np.integer)):
            where = f"row {int(index) + 1}, "  # counted from 1, as people count rows
        else:
            where = f"index {index!r}, "
        if len(hits) == 1:
            out.append(f"column {col!r} fails {check} ({where}value {value!r})")
        else:
            out.append(f"column {col!r} fails {check} in {len(hits):,} rows (first: {where}value {value!r})")
    return out
