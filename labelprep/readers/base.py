"""The canonical table every reader produces: rows (images as listed) and label pairs.

A reader turns one annotation form into an :class:`Annotations` object without
deciding anything about vocabulary, duplicates or paths; :mod:`labelprep.toframe`
does that once for every form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from labelprep.multihot import ABSENT, POSITIVE, UNCERTAIN  # the values of a label cell

__all__ = ["ABSENT", "POSITIVE", "UNCERTAIN", "Annotations", "LedgerEntry", "ReadOptions", "concat_annotations"]



def _as_index(a: npt.ArrayLike) -> npt.NDArray[np.integer]:
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        arr = arr.astype(np.int64)
    return arr


@dataclass(frozen=True)
class LedgerEntry:
    """One input row that conversion dropped or merged, and why."""

    file: str
    line: int | None
    path: str
    reason: str
    detail: str = ""


@dataclass
class ReadOptions:
    """Options shared by the readers (a subset of :func:`labelprep.convert`'s)."""

    path_col: str | None = None
    labels_col: str | None = None
    sep: str | None = None
    label_cols: list[str] | None = None
    confidence_col: str | None = None
    uncertain: str | None = None  # None: -1 is uncertain, except in tables of only 1 and -1 (absent)
    split_col: str | None = None
    group_col: str | None = None
    keep_cols: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    folder_conflicts: str = "error"
    path_prefix: str | None = None  # taken off every path (a bucket or another machine's folder)
    images_root: str | None = None  # a local images root the user gave: readers look for images under it
    path_template: str | None = None  # the user's --path-template: no template is then looked for
    find_images: bool = False  # --find-images: the images are found by name under the root, not located
    known_labels: frozenset[str] | None = None  # a label map's ids or a vocabulary: wide tables' label columns
    exclude: list[str] = field(default_factory=list)  # glob patterns of paths (and folders) to leave out
    group_from_path: str | None = None  # regex: the group is its first capture group, searched in the path
    split_from_path: str | None = None  # regex: the split, likewise
    join: str | None = None  # a CSV/TSV whose columns are brought in by image id ...
    on: str | None = None  # ... found in this column of it
    nested_folders: str | None = None  # folder form, dog/puppy/x.jpg: "top" (dog), "path" (dog/puppy), None: refuse


@dataclass
class Annotations:
    """Rows as the source lists them, and (row, label, value) pairs.

    ``paths[i]`` is the raw path or id of row ``i`` (before templates and
    normalisation), ``lines[i]`` its 1-based line (0 when the form has no lines)
    and ``files[i]`` the file it came from when rows come from several files.
    Pair ``j`` says that row ``row[j]`` has label ``names[code[j]]`` with value
    ``value[j]`` (1 positive, 0 verified absent, -1 uncertain).
    """

    source: str
    format: str
    paths: npt.NDArray[np.object_]
    lines: npt.NDArray[np.int64]
    row: npt.NDArray[np.integer]
    code: npt.NDArray[np.integer]
    names: list[str]
    value: npt.NDArray[np.int8]
    declared: list[str] | None = None
    columns: dict[str, npt.NDArray[np.object_]] = field(default_factory=dict)
    files: npt.NDArray[np.object_] | None = None
    dropped: list[LedgerEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images_root: str | None = None  # a reader that knows where its images live says so
    name_conflicts: list[list[str]] = field(default_factory=list)  # folder form: one name, different bytes (paths)
    raw_path_is_final: bool = False  # folder forms produce paths already relative to the root
    default_template: str | None = None  # ids become paths with this unless --path-template is given
    one_row_per_label: bool = False  # long forms list an image once per label: repeated paths are not duplicates
    # Long forms: rows are the distinct images (first line in ``lines``) and each pair keeps its own line here.
    pair_lines: npt.NDArray[np.integer] | None = None
    row_keys: npt.NDArray[np.object_] | None = None  # long forms: what made a row distinct (path and carried values)
    rows_read: int | None = None  # input rows, when rows were collapsed (long forms); else n_rows
    join_unmatched: npt.NDArray[np.int64] | None = None  # rows --join found no row for (kept, joined columns blank)

    def __post_init__(self) -> None:
        self.paths = np.asarray(self.paths, dtype=object)
        self.lines = np.asarray(self.lines, dtype=np.int64)
        # pair indices may be int32 (large tables): keep them, only make sure they are integers
        self.row = _as_index(self.row)
        self.code = _as_index(self.code)
        self.value = np.asarray(self.value, dtype=np.int8)

    @property
    def n_rows(self) -> int:
        return len(self.paths)

    def file_of(self, i: int) -> str:
        if self.files is not None:
            return str(self.files[i])
        return self.source

    def where(self, i: int) -> tuple[str, int | None]:
        line = int(self.lines[i])
        return self.file_of(i), (line if line > 0 else None)

    def pair_where(self, j: int) -> tuple[str, int | None]:
        """File and line of pair ``j`` (its own line in long forms, else its row's)."""
        if self.pair_lines is None:
            return self.where(int(self.row[j]))
        line = int(self.pair_lines[j])
        return self.file_of(int(self.row[j])), (line if line > 0 else None)

    @classmethod
    def from_lists(
        cls,
        source: str,
        format: str,
        paths: list[str],
        labels: list[list[str]],
        lines: list[int] | None = None,
        **kwargs: object,
    ) -> Annotations:
        """Build from one list of label names per row (all positive)."""
        index: dict[str, int] = {}
        names: list[str] = []
        rows: list[int] = []
        codes: list[int] = []
        for i, labs in enumerate(labels):
            for lab in labs:
                c = index.get(lab)
                if c is None:
                    c = index[lab] = len(names)
                    names.append(lab)
                rows.append(i)
                codes.append(c)
        return cls(
            source=source,
            format=format,
            paths=np.array(paths, dtype=object),
            lines=np.array(lines if lines is not None else [0] * len(paths), dtype=np.int64),
            row=np.array(rows, dtype=np.int64),
            code=np.array(codes, dtype=np.int64),
            names=names,
            value=np.ones(len(rows), dtype=np.int8),
            **kwargs,  # type: ignore[arg-type]
        )


def concat_annotations(parts: list[Annotations]) -> Annotations:
    """One :class:`Annotations` from the blocks of one file, read one after another.

    Label names are unified; in long forms (``row_keys`` set) a row listed in
    several blocks becomes one row with the pairs of all of them.
    """
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    names: list[str] = []
    index: dict[str, int] = {}
    codes: list[npt.NDArray[np.integer]] = []
    rows: list[npt.NDArray[np.integer]] = []
    values: list[npt.NDArray[np.int8]] = []
    pair_lines: list[npt.NDArray[np.integer]] = []
    notes = list(first.notes)
    dropped: list[LedgerEntry] = []
    collapsed = first.row_keys is not None
    key_index: dict[object, int] = {}
    paths: list[npt.NDArray[np.object_]] = []
    lines: list[npt.NDArray[np.int64]] = []
    columns: dict[str, list[npt.NDArray[np.object_]]] = {c: [] for c in first.columns}
    n_rows = 0
    seen_notes = set(first.notes)
    for part in parts:
        remap = np.empty(len(part.names), dtype=np.int32)
        for i, name in enumerate(part.names):
            c = index.get(name)
            if c is None:
                c = index[name] = len(names)
                names.append(name)
            remap[i] = c
        codes.append(remap[part.code] if len(part.code) else np.zeros(0, np.int32))
        values.append(part.value)
        if part.pair_lines is not None:
            pair_lines.append(np.asarray(part.pair_lines, dtype=np.int32))
        if collapsed:
            assert part.row_keys is not None
            new_row = np.empty(part.n_rows, dtype=np.int64)
            fresh = []
            for i, key in enumerate(part.row_keys.tolist()):
                r = key_index.get(key)
                if r is None:
                    r = key_index[key] = n_rows
                    n_rows += 1
                    fresh.append(i)
                new_row[i] = r
            take = np.asarray(fresh, dtype=np.int64)
            rows.append(new_row[part.row])
        else:
            take = np.arange(part.n_rows)
            rows.append(part.row.astype(np.int64) + n_rows)
            n_rows += part.n_rows
        paths.append(part.paths[take])
        lines.append(part.lines[take])
        for col in columns:
            columns[col].append(np.asarray(part.columns[col], dtype=object)[take])
        dropped.extend(part.dropped)
        if part is not first:
            notes.extend(n for n in part.notes if n not in seen_notes)
            seen_notes.update(part.notes)
    idx_t = np.int32 if n_rows < 2**31 else np.int64
    return Annotations(
        source=first.source, format=first.format, paths=np.concatenate(paths), lines=np.concatenate(lines),
        row=np.concatenate(rows).astype(idx_t), code=np.concatenate(codes), names=names,
        value=np.concatenate(values), declared=first.declared,
        columns={k: np.concatenate(v) for k, v in columns.items()}, dropped=dropped, notes=notes,
        images_root=first.images_root, raw_path_is_final=first.raw_path_is_final,
        default_template=first.default_template, one_row_per_label=first.one_row_per_label,
        pair_lines=np.concatenate(pair_lines) if len(pair_lines) == len(parts) else None,
        rows_read=sum(p.rows_read if p.rows_read is not None else p.n_rows for p in parts),
    )  # fmt: skip
