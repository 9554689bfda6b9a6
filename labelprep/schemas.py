"""pandera schemas built from a vocabulary: the contract every multi-hot frame meets."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pandera.pandas as pa

from labelprep.errors import SchemaError
from labelprep.vocabulary import Vocabulary

__all__ = ["CARRIED_COLUMNS", "check_frame", "schema"]

CARRIED_COLUMNS = ("split", "group")


def schema(
    vocab: Vocabulary | Sequence[str],
    *,
    unknown: bool = False,
    columns: Sequence[str] = (),
    value_checks: bool = True,
) -> pa.DataFrameSchema:
    """The pandera schema of a multi-hot frame over ``vocab``.

    ``path`` (unique, non-empty string), then one int8 column per label in
    vocabulary order holding 0/1 (or -1/0/1 with ``unknown=True``), then the
    carried ``columns`` (``split``, ``group`` or kept columns) as strings.
    Column order is enforced and no other column is allowed.

    Example:
        >>> import labelprep
        >>> s = labelprep.schema(labelprep.Vocabulary(["cat", "dog"]))
        >>> list(s.columns)
        ['path', 'cat', 'dog']
    """
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
        cols[label] = pa.Column("int8", checks=checks, nullable=False)
    for extra in columns:
        cols[extra] = pa.Column(str, nullable=True, required=True)
    return pa.DataFrameSchema(cols, ordered=True, strict=True, name="labelprep multi-hot frame")


def check_frame(
    frame: pd.DataFrame,
    vocab: Vocabulary | Sequence[str],
    *,
    unknown: bool | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Validate ``frame`` lazily against :func:`schema`; raise :class:`SchemaError` listing every failure."""
    labels = list(vocab)
    extra = [c for c in frame.columns[1 + len(labels) :]] if len(frame.columns) > len(labels) else []
    if unknown is None:
        unknown = bool(labels) and bool((frame[labels].to_numpy() == -1).any()) if set(labels) <= set(frame.columns) else False
    # One vectorised range check over the label block replaces a pandera isin per
    # label column (seconds for 1,000 labels); pandera still checks everything
    # else, and runs the per-column checks to name every failure when one exists.
    value_checks = True
    if labels and set(labels) <= set(frame.columns):
        block = frame[labels]
        if all(dt == "int8" for dt in block.dtypes):
            arr = block.to_numpy(dtype="int8", copy=False)
            value_checks = arr.size > 0 and (int(arr.min()) < (-1 if unknown else 0) or int(arr.max()) > 1)
    try:
        return schema(labels, unknown=unknown, columns=extra, value_checks=value_checks).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        failures = describe_failures(exc.failure_cases)
        shown = "; ".join(failures[:5]) + (f"; ... and {len(failures) - 5} more" if len(failures) > 5 else "")
        raise SchemaError(
            f"frame does not match its schema: {shown}", file=source, failures=failures,
            hint="regenerate it with labelprep convert",
        ) from None


def describe_failures(cases: pd.DataFrame) -> list[str]:
    """One sentence per pandera failure case."""
    out = []
    for rec in cases.to_dict("records"):
        col = rec.get("column")
        check = rec.get("check")
        value = rec.get("failure_case")
        index = rec.get("index")
        where = f"row {index}: " if index is not None and not pd.isna(index) else ""
        out.append(f"{where}column {col!r} fails {check} (value {value!r})")
    return out
