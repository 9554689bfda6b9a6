"""Tables: delimited label strings, one column per label (wide), one row per label (long)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, ReadOptions
from labelprep.readers.csvtext import (
    LABELS_COLUMNS,
    PATH_COLUMNS,
    Table,
    find_column,
    norm_name,
)
from labelprep.readers.labelcells import (
    NO_SEP,
    WHITESPACE,
    is_list_literal,
    normalise_sep,
    separator_note,
    sniff_separator,
    split_labels,
)

__all__ = ["delimited_separator", "looks_long", "read_delimited", "read_long", "read_wide", "wide_label_columns"]

LONG_LABEL_COLUMNS = ("labelname", "label", "class", "classname", "category", "tag", "labels", "tags")
CONFIDENCE_COLUMNS = ("confidence", "score", "present", "flag")
_WIDE_VALUES = {"": None, "1": 1, "1.0": 1, "0": 0, "0.0": 0, "-1": -1, "-1.0": -1,
                "1.": 1, "0.": 0, "-1.": -1, "true": 1, "false": 0, "True": 1, "False": 0}  # fmt: skip


def _carried_names(table: Table, opts: ReadOptions) -> dict[str, str]:
    """Frame column name -> table column of the carried columns (split, group, kept)."""
    out: dict[str, str] = {}
    for key, requested, role, option in (("split", opts.split_col, "split", "--split-col"),
                                         ("group", opts.group_col, "group", "--group-col")):  # fmt: skip
        if requested:
            name = find_column(table, requested, (), role=role, option=option)
            assert name is not None
            out[key] = name
    for keep in opts.keep_cols:
        name = find_column(table, keep, (), role="kept", option="--keep-cols")
        assert name is not None
        out[name] = name
    return out


def _carry(table: Table, opts: ReadOptions, exclude: tuple[str, ...] = ()) -> dict[str, npt.NDArray[np.object_]]:
    cols: dict[str, npt.NDArray[np.object_]] = {}
    if opts.split_col:
        name = find_column(table, opts.split_col, (), role="split", option="--split-col")
        assert name is not None
        cols["split"] = table.strings(name)
    if opts.group_col:
        name = find_column(table, opts.group_col, (), role="group", option="--group-col")
        assert name is not None
        cols["group"] = table.strings(name)
    for keep in opts.keep_cols:
        name = find_column(table, keep, (), role="kept", option="--keep-cols")
        assert name is not None
        cols[name] = table.strings(name)
    return cols


def _drop_coordinates(rows: npt.NDArray[np.integer], codes: npt.NDArray[np.integer],
                      names: list[str]) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer], int]:  # fmt: skip
    """Numbers that only ever follow a label name in their cell (``n01751748 7 22 335 383``) are coordinates:
    their pairs go. A cell of numbers alone (class ids, as HPA's) keeps them."""
    numeric = np.array([n.lstrip("-").replace(".", "", 1).isdigit() for n in names] + [False], dtype=bool)
    if not numeric[:-1].any() or numeric[:-1].all() or not len(codes):
        return rows, codes, 0
    is_num = numeric[codes]
    rows_with_word = np.unique(rows[~is_num])
    if not np.isin(np.unique(rows[is_num]), rows_with_word).all():
        return rows, codes, 0  # some cell holds numbers alone: they are labels there
    return rows[~is_num], codes[~is_num], int(is_num.sum())


def read_delimited(table: Table, opts: ReadOptions, none_labels: Collection[str] = ()) -> Annotations:
    """One row per image; a cell of labels joined by a separator or written as a list literal."""
    notes = list(table.notes)
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col")
    assert path_col is not None
    labels_col = find_column(
        table, opts.labels_col, LABELS_COLUMNS, role="labels", option="--labels-col", exclude=(path_col,)
    )
    assert labels_col is not None
    notes.append(f"path column {path_col!r}, labels column {labels_col!r}")
    cells = table.column(labels_col)
    sep = normalise_sep(opts.sep)
    if sep is None:
        sep = delimited_separator(table, opts, none_labels)
        notes.append(separator_note(sep, "detected"))
    elif sep == NO_SEP:
        sep = None
    rows, codes, names, n_literal = split_labels(cells, sep, source=table.source, lines=table.lines())
    if n_literal:
        notes.append(f"{n_literal} cell(s) hold list literals, parsed as lists")
    kept_rows, kept_codes, dropped_numbers = _drop_coordinates(rows, codes, names)
    if dropped_numbers:
        notes.append(f"{dropped_numbers} number(s) after label names are box coordinates (as in ILSVRC's "
                     "PredictionString), not labels")  # fmt: skip
        rows, codes = kept_rows.astype(rows.dtype), kept_codes.astype(codes.dtype)
    return Annotations(
        source=table.source,
        format="delimited",
        paths=table.strings(path_col),
        lines=table.lines(),
        row=rows,
        code=codes,
        names=names,
        value=np.ones(len(rows), dtype=np.int8),
        columns=_carry(table, opts),
        notes=notes,
    )


def delimited_separator(table: Table, opts: ReadOptions, none_labels: Collection[str] = ()) -> str | None:
    """The label separator of a delimited table's labels column, sniffed from its cells (None: one label)."""
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col")
    assert path_col is not None
    labels_col = find_column(
        table, opts.labels_col, LABELS_COLUMNS, role="labels", option="--labels-col", exclude=(path_col,)
    )  # fmt: skip
    assert labels_col is not None
    cells = table.column(labels_col)
    literal = is_list_literal(cells)
    plain = pc.filter(cells, pa.array(~literal)) if literal.any() else cells
    sep = sniff_separator(plain, none_labels)
    if sep == WHITESPACE and norm_name(labels_col) in SINGULAR_LABEL_COLUMNS:
        return None  # a column named 'label' holds one label a cell: 'golden retriever' is one label
    return sep


# A labels column named in the singular holds one label a cell: spaces there are part of the label.
SINGULAR_LABEL_COLUMNS = frozenset({"label", "class", "category", "tag", "classname", "labelname", "categoryname"})


# Header names of 0/1 columns that describe an image or a box, not a label of it.
METADATA_COLUMNS = frozenset({
    "rotation", "width", "height", "w", "h", "x", "y", "xmin", "ymin", "xmax", "ymax", "age", "size", "filesize",
    "bytes", "confidence", "score", "index", "idx", "id", "count", "year", "month", "day", "frame", "fold", "split",
    "subset", "group", "patient", "study", "view", "source", "license", "orientation", "channels", "depth",
    "isoccluded", "istruncated", "isgroupof", "isdepiction", "isinside", "iscrowd", "area", "quality", "difficult",
    "truncated", "occluded", "followup", "flag", "verified", "reviewed", "checked", "deleted", "ignore", "valid",
})  # fmt: skip


def wide_label_columns(table: Table, exclude: Collection[str],
                       known: Collection[str] | None = None) -> tuple[list[str], list[str], list[str]]:  # fmt: skip
    """The label columns of a wide table: cells all 1/0/-1/blank (or 1.0/0.0/-1.0), in table order; those of
    them that are blank in every row; and the 0/1 columns left out for want of evidence (with why).

    A 0/1 column is a label only with evidence: its header is not a metadata name (``Rotation``, ``Width``),
    and its block of neighbouring label columns holds at least one positive (an all-zero ``Rotation`` column
    alone is not a label). With ``known`` (a label map's ids or a vocabulary) only the columns it names are
    labels. A column left all blank (a finding nobody marked, as in CheXpert subsets) is a label when it sits
    between two label columns. A column among or next to them whose cells are mostly 1/0/-1 but not all is an
    error naming the cell: leaving it out would silently lose a label.
    """
    kinds: list[tuple[str, str, bool]] = []  # (column, "label" | "blank" | "near" | "other", has a positive)
    for name in table.columns:
        if name in exclude or name.startswith("_extra_"):
            continue
        cells = pc.utf8_trim_whitespace(table.column(name))
        counts = pc.value_counts(cells).to_pylist()
        filled = {c["values"]: c["counts"] for c in counts if c["values"] not in (None, "")}
        positive = any(_WIDE_VALUES.get(v) == 1 for v in filled)
        if not filled:
            kinds.append((name, "blank", False))
        elif all(v in _WIDE_VALUES for v in filled):
            kinds.append((name, "label", positive))
        else:
            ok = sum(n for v, n in filled.items() if v in _WIDE_VALUES)
            kinds.append((name, "near" if ok * 2 >= sum(filled.values()) else "other", False))
    left: list[str] = []
    if known is not None:
        known_set = {k.strip() for k in known}
        for i, (name, kind, pos) in enumerate(kinds):
            if kind in ("label", "blank", "near") and name.strip() not in known_set:
                if kind != "blank":
                    left.append(f"{name} (not in the label map or vocabulary)")
                kinds[i] = (name, "other", pos)
    else:
        for i, (name, kind, pos) in enumerate(kinds):
            if kind == "label" and norm_name(name) in METADATA_COLUMNS:
                left.append(f"{name} (a metadata name)")
                kinds[i] = (name, "other", pos)
        # blocks of neighbouring label (or blank) columns: a block with no positive at all is no evidence
        i = 0
        while i < len(kinds):
            if kinds[i][1] not in ("label", "blank"):
                i += 1
                continue
            j = i
            while j < len(kinds) and kinds[j][1] in ("label", "blank"):
                j += 1
            block = kinds[i:j]
            if not any(pos for _, _, pos in block):
                for k in range(i, j):
                    if kinds[k][1] == "label":
                        left.append(f"{kinds[k][0]} (no positive in its block of 0/1 columns)")
                    kinds[k] = (kinds[k][0], "other", False)
            i = j
    found = [i for i, (_, kind, _) in enumerate(kinds) if kind == "label"]
    if not found:
        return [], [], left
    first, last = found[0], found[-1]
    out, blank = [], []
    for i, (name, kind, _) in enumerate(kinds):
        if kind == "label" or (kind == "blank" and first < i < last):
            out.append(name)
            if kind == "blank":
                blank.append(name)
        elif kind == "near" and first - 1 <= i <= last + 1:
            cells = pc.fill_null(pc.utf8_trim_whitespace(table.column(name)), "")
            bad = pc.invert(pc.is_in(cells, value_set=pa.array(list(_WIDE_VALUES), pa.string())))
            row = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
            raise InputError(
                f"column {name!r}, among the label columns, holds {cells[row].as_py()!r}; "
                "a label cell is 1, 0, -1 or blank",
                file=table.source,
                line=int(table.lines()[row]),
                hint=f"fix the cell, or name the label columns with --label-cols (without {name!r} if it is "
                "not a label)",
            )
    return out, blank, left


def _plus_minus_one(table: Table, columns: list[str]) -> bool:
    """True when the label cells hold 1 and -1 and nothing else (no 0, no blank)."""
    seen: set[str] = set()
    for name in columns:
        cells = pc.fill_null(pc.utf8_trim_whitespace(table.column(name)), "")
        seen.update(str(v) for v in pc.unique(cells).to_pylist())
        if seen - {"1", "-1", "1.0", "-1.0", "1.", "-1."}:
            return False
    return bool(seen & {"-1", "-1.0", "-1."})


def read_wide(table: Table, opts: ReadOptions) -> Annotations:
    """One column per label, cells 1/0/-1/blank; column order is the vocabulary order."""
    notes = list(table.notes)
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col")
    assert path_col is not None
    carried = {c for c in (opts.split_col, opts.group_col, *opts.keep_cols) if c}
    if opts.label_cols:
        label_cols = []
        for c in opts.label_cols:
            found = find_column(table, c, (), role="label", option="--label-cols")
            assert found is not None
            label_cols.append(found)
    else:
        label_cols, blank, left = wide_label_columns(table, exclude={path_col, *carried}, known=opts.known_labels)
        if not label_cols:
            others = [c for c in table.columns if c not in (path_col, *carried) and not c.startswith("_extra_")]
            raise InputError(
                f"no label column: this table lists {table.n_rows} image(s) in {path_col!r} without labels"
                + (f" (its other columns: {', '.join(map(repr, others[:8]))}"
                   + (f"; 0/1 columns without evidence of being labels: {'; '.join(left[:4])}" if left else "")
                   + ")" if others else ""),
                file=table.source,
                line=1,
                hint="a list of unlabelled images? pass the file that holds their labels; if one column holds "
                "label names (a diagnosis, a class), name it with --labels-col COLUMN; if 0/1 columns are labels, "
                "--label-cols a,b,c",
            )  # fmt: skip
        if left:
            notes.append("0/1 column(s) not taken as labels: " + "; ".join(left[:6])
                         + " (--label-cols names the label columns)")  # fmt: skip
        notes.append(f"path column {path_col!r}, {len(label_cols)} label column(s) detected (--label-cols "
                     "names them): " + ", ".join(label_cols[:40]) + (" ..." if len(label_cols) > 40 else ""))  # fmt: skip
        if blank:
            notes.append("blank in every row, taken as label(s) with no positive: " + ", ".join(blank[:20]))
    if opts.uncertain not in (None, "keep", "zero", "one"):
        raise InputError(f"--uncertain must be keep, zero or one, not {opts.uncertain!r}")
    uncertain_to = {None: -1, "keep": -1, "zero": 0, "one": 1}[opts.uncertain]
    if opts.uncertain is None and _plus_minus_one(table, label_cols):
        uncertain_to = 0
        notes.append("label cells are only 1 and -1 (no 0, no blank): -1 read as absent, as in CelebA's attribute "
                     "lists (--uncertain keep reads -1 as uncertain)")  # fmt: skip
    lines = table.lines()
    rows_all, codes_all, vals_all = [], [], []
    keys = pa.array(list(_WIDE_VALUES), pa.string())
    mapped = np.array([-9 if v is None else v for v in _WIDE_VALUES.values()], dtype=np.int8)
    n_uncertain = 0
    for k, name in enumerate(label_cols):
        cells = pc.fill_null(pc.utf8_trim_whitespace(table.column(name)), "")
        idx = pc.index_in(cells, value_set=keys)
        idx_np = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        bad = np.flatnonzero(idx_np < 0)
        if len(bad):
            i = int(bad[0])
            raise InputError(
                f"label column {name!r} holds {cells[i].as_py()!r}; expected 1, 0, -1 or blank",
                file=table.source,
                line=int(lines[i]),
                hint="leave this column out of --label-cols",
            )
        vals = mapped[idx_np]
        n_uncertain += int((vals == -1).sum())
        vals = np.where(vals == -1, uncertain_to, vals).astype(np.int8)
        present = np.flatnonzero(vals != -9)  # blank means not mentioned: no pair
        rows_all.append(present)
        codes_all.append(np.full(len(present), k, dtype=np.int64))
        vals_all.append(vals[present])
    if n_uncertain and not (opts.uncertain is None and uncertain_to == 0):
        notes.append(f"{n_uncertain} uncertain (-1) cell(s): --uncertain {opts.uncertain or 'keep'}")
    return Annotations(
        source=table.source,
        format="wide",
        paths=table.strings(path_col),
        lines=lines,
        row=np.concatenate(rows_all) if rows_all else np.zeros(0, np.int64),
        code=np.concatenate(codes_all) if codes_all else np.zeros(0, np.int64),
        names=list(label_cols),
        value=np.concatenate(vals_all) if vals_all else np.zeros(0, np.int8),
        declared=list(label_cols),
        columns=_carry(table, opts),
        notes=notes,
    )


def read_long(table: Table, opts: ReadOptions) -> Annotations:
    """One row per (image, label), with an optional confidence where 0 means verified absent."""
    notes = list(table.notes)
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col")
    assert path_col is not None
    label_col = find_column(
        table, opts.labels_col, LONG_LABEL_COLUMNS, role="label", option="--labels-col", exclude=(path_col,)
    )
    assert label_col is not None
    conf_col = opts.confidence_col
    if conf_col is not None:
        conf_col = find_column(table, conf_col, (), role="confidence", option="--confidence-col")
    else:
        conf_col = find_column(
            table, None, CONFIDENCE_COLUMNS, role="confidence", option="--confidence-col",
            exclude=(path_col, label_col), required=False,
        )  # fmt: skip
    notes.append(
        f"path column {path_col!r}, label column {label_col!r}"
        + (f", confidence column {conf_col!r} (0 = verified absent)" if conf_col else "")
    )
    cells = pc.fill_null(pc.utf8_trim_whitespace(table.column(label_col)), "")
    lines = table.lines()
    enc = pc.dictionary_encode(cells).combine_chunks()
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    names = enc.dictionary.to_pylist()
    values = np.ones(len(codes), dtype=np.int8)
    if conf_col is not None:
        raw = pc.utf8_trim_whitespace(table.column(conf_col))
        try:
            conf = pc.cast(raw, pa.float64())
        except pa.ArrowInvalid:
            as_np = raw.to_numpy(zero_copy_only=False)
            for i, v in enumerate(as_np):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise InputError(
                        f"confidence {v!r} is not a number",
                        file=table.source,
                        line=int(lines[i]),
                        hint=f"column {conf_col!r} must hold numbers (1 present, 0 verified absent)",
                    ) from None
            raise
        conf_np = np.asarray(pc.fill_null(conf, 1.0).to_numpy(zero_copy_only=False), dtype=np.float64)
        values = (conf_np > 0).astype(np.int8)
    rows = np.arange(len(codes), dtype=np.int64)
    blank: npt.NDArray[np.int64] | list[int] = np.flatnonzero(np.asarray([n == "" for n in names], dtype=bool)[codes]) if "" in names else []
    if len(blank):
        keep = np.ones(len(codes), dtype=bool)
        keep[blank] = False
        rows, codes, values = rows[keep], codes[keep], values[keep]
        notes.append(f"{len(blank)} row(s) with a blank label: kept as images without that label")
    # One row per image (and split, group, kept values): the table lists each image once per label, so
    # its rows collapse to one here, and each pair keeps its own line for messages and the ledger.
    carried = _carried_names(table, opts)
    parts = [pc.fill_null(table.column(path_col), "")] + [pc.fill_null(table.column(c), "") for c in carried.values()]
    key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    enc_key = pc.dictionary_encode(key).combine_chunks()
    del key, parts
    image = np.asarray(enc_key.indices.to_numpy(zero_copy_only=False))
    n_images = len(enc_key.dictionary)
    first_row = np.full(n_images, -1, dtype=np.int64)
    first_row[image[::-1]] = np.arange(len(image) - 1, -1, -1, dtype=np.int64)
    take = pa.array(first_row)
    columns = {name: np.asarray(pc.take(pc.fill_null(table.column(col), ""), take).to_numpy(zero_copy_only=False),
                                dtype=object) for name, col in carried.items()}  # fmt: skip
    return Annotations(
        source=table.source,
        format="long",
        paths=np.asarray(pc.take(pc.fill_null(table.column(path_col), ""), take).to_numpy(zero_copy_only=False),
                         dtype=object),
        lines=lines[first_row],
        row=image[rows].astype(np.int32 if n_images < 2**31 else np.int64),
        code=codes.astype(np.int32),
        names=names,
        value=values,
        columns=columns,
        notes=notes,
        one_row_per_label=True,  # an image is listed once per label: only a repeated pair is a duplicate
        pair_lines=lines[rows].astype(np.int32) if len(lines) and lines.max() < 2**31 else lines[rows],
        row_keys=np.asarray(enc_key.dictionary.to_numpy(zero_copy_only=False), dtype=object),
        rows_read=table.n_rows,
    )


def looks_long(table: Table, opts: ReadOptions) -> bool:
    """A table is long when a confidence column exists, or paths repeat and no cell has a separator."""
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col", required=False)
    if path_col is None:
        return False
    if opts.confidence_col:
        return True
    label_col = find_column(
        table, opts.labels_col, LONG_LABEL_COLUMNS, role="label", option="--labels-col",
        exclude=(path_col,), required=False,
    )  # fmt: skip
    if label_col is None:
        return False
    if find_column(table, None, CONFIDENCE_COLUMNS, role="", option="", exclude=(path_col, label_col), required=False):
        return True
    # one row a box (xmin/ymin/xmax/ymax or x/y/width/height beside the label): one row per (image, label)
    boxes = {norm_name(c) for c in table.columns} & {"xmin", "ymin", "xmax", "ymax", "bbox", "x1", "y1", "x2", "y2"}
    if len(boxes) >= 2 and norm_name(label_col) in LONG_LABEL_COLUMNS[:6]:
        return True
    # long when paths repeat and (the cells hold no separator, or the column is named in the singular); the
    # separator is looked for first, as it is the cheaper test (counting a million distinct paths is not)
    singular = norm_name(label_col) in ("labelname", "label", "class")
    if not singular and sniff_separator(table.column(label_col)) is not None:
        return False
    paths = table.column(path_col)
    return bool(pc.count_distinct(paths).as_py() != len(paths))
