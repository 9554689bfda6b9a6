"""Canonical annotations <-> multi-hot frame.

:func:`encode` takes what a reader produced and decides, once for every form,
label clean-up (strip, label map, none-labels), the vocabulary, duplicate
images, carried columns, and builds the int8 multi-hot frame. Everything it
leaves out or merges is recorded in the ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from labelprep.errors import DATAFRAME_SOURCE, ConflictError, InputError, VocabularyError
from labelprep.multihot import SPARSE_THRESHOLD, dense_matrix, multi_hot, sparse_columns, use_sparse
from labelprep.paths import resolve_paths
from labelprep.readers.base import POSITIVE, UNCERTAIN, Annotations, LedgerEntry
from labelprep.vocabulary import Vocabulary, numbered_classes

__all__ = ["RESERVED_COLUMNS", "Encoded", "Summary", "check_split_cells", "encode", "frame_from_columns", "frame_from_matrix", "implied_label_map", "multi_hot", "to_label_lists"]

RESERVED_COLUMNS = ("path", "split", "group")


@dataclass
class Summary:
    """Counts printed at the end of a conversion."""

    rows_read: int = 0
    images: int = 0
    labels: int = 0
    empty_label_sets: int = 0
    merged_duplicates: int = 0
    uncertain: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    unused: list[str] = field(default_factory=list)  # labels of the vocabulary no image has
    # long forms list an image once per label: its rows after the first are folded into it (not duplicates)
    folded: int = 0

    def lines(self) -> list[str]:
        out = [f"rows read: {self.rows_read}", f"images: {self.images}", f"labels: {self.labels}"]
        if self.unused:
            shown = ", ".join(repr(x) for x in self.unused[:5]) + (" ..." if len(self.unused) > 5 else "")
            out.append(f"labels no image has: {len(self.unused)} ({shown}; kept in the vocabulary)")
        out += [
            f"images with no label: {self.empty_label_sets}",
            f"duplicate rows merged: {self.merged_duplicates}",
        ]
        if self.folded:
            out.append(f"rows folded into their image (a row per label): {self.folded}")
        if self.uncertain:
            out.append(f"uncertain (-1) cells kept: {self.uncertain}")
        if self.dropped:
            out.append("left out: " + "; ".join(f"{n} {why}" for why, n in sorted(self.dropped.items())))
        else:
            out.append("left out: nothing")
        return out


@dataclass
class Encoded:
    """The frame, its vocabulary, and the record of what happened on the way."""

    frame: pd.DataFrame
    vocabulary: Vocabulary
    summary: Summary
    ledger: list[LedgerEntry]
    notes: list[str]
    row_image: npt.NDArray[np.int64] | None = None  # image (frame row) of each input row
    first_row: npt.NDArray[np.int64] | None = None  # first input row listing each image
    outside: npt.NDArray[np.bool_] | None = None  # per input row: the path leaves the images root
    # the distinct paths as the factorisation found them (each once): check_frame's proof of unique paths
    distinct_paths: pa.Array | None = None


def check_split_cells(ann: Annotations) -> None:
    """A blank split cell is an error naming its line: it would otherwise make a split named ''."""
    if "split" not in ann.columns:
        return
    blank = np.flatnonzero(pd.Series(np.asarray(ann.columns["split"], dtype=object)).astype(str).str.strip().eq(""))
    if len(blank):
        f, ln = ann.where(int(blank[0]))
        more = f" (and {len(blank) - 1:,} more row(s))" if len(blank) > 1 else ""
        raise InputError(
            f"the split column is blank{more}",
            file=f,
            line=ln,
            hint="give every row its split, or leave out --split-col (labelprep split makes splits)",
        )


def to_label_lists(frame: pd.DataFrame, vocabulary: Sequence[str]) -> list[list[str]]:
    """The positive labels of each row, in vocabulary order (the inverse of encoding)."""
    labels = list(vocabulary)
    mat = dense_matrix(frame, labels, purpose="to_label_lists")
    return [[labels[j] for j in np.flatnonzero(r == 1)] for r in mat]


def implied_label_map(ann: Annotations, vocab: Vocabulary | None, vocab_map: Mapping[str, str] | None,
                      none_labels: Collection[str] = ()) -> Mapping[str, str] | None:  # fmt: skip
    """``vocab_map`` when every label ``ann`` uses is one of its ids and none is a label of ``vocab``, else None."""
    if not vocab_map or vocab is None:
        return None
    names = [n.strip() for n in ann.names]
    used = {names[c] for c in np.unique(ann.code).tolist()} - {""} - {x.strip() for x in none_labels}
    return vocab_map if used and all(n in vocab_map and n not in vocab for n in used) else None


@dataclass
class _Pairs:
    """The (row, label code, value) pairs being encoded, and each pair's index in the annotations (its line)."""

    rows: npt.NDArray[np.integer]
    codes: npt.NDArray[np.integer]
    values: npt.NDArray[np.int8]
    pidx: npt.NDArray[np.integer]

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        self.rows, self.codes, self.values, self.pidx = (self.rows[mask], self.codes[mask], self.values[mask],
                                                         self.pidx[mask])  # fmt: skip


@dataclass
class _Images:
    """The distinct images: each input row's image, their paths (first listing order) and first rows."""

    of_row: npt.NDArray[np.int64]
    paths: npt.NDArray[np.object_] | pa.Array
    first_row: npt.NDArray[np.int64]
    outside: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.paths)


def encode(
    ann: Annotations,
    *,
    images_root: str | Path,
    vocab: Vocabulary | None = None,
    unknown: str = "error",
    none_labels: Collection[str] = (),
    label_map: Mapping[str, str] | None = None,
    label_map_source: str | None = None,
    min_count: int | None = None,
    path_template: str | None = None,
    find_images: bool = False,
    sparse_threshold: int | None = None,
    vocab_map: Mapping[str, str] | None = None,
) -> Encoded:
    """Turn :class:`Annotations` into the canonical multi-hot frame.

    ``vocab_map`` is the id -> name map of a ``vocab`` given as a label map file: when there is no
    ``label_map`` and every label the source uses is one of its ids (and none a label), it maps them.

    Above ``sparse_threshold`` labels (default :data:`labelprep.multihot.SPARSE_THRESHOLD`)
    the label columns are sparse; below it they are plain int8.
    """
    notes = list(ann.notes)
    ledger = list(ann.dropped)
    summary = Summary(rows_read=(ann.rows_read if ann.rows_read is not None else ann.n_rows) + len(ann.dropped))
    for e in ann.dropped:
        if e.reason != "merged copy":
            summary.dropped[e.reason] += 1
        else:
            summary.merged_duplicates += 1
    if label_map is None and implied_label_map(ann, vocab, vocab_map, none_labels) is not None:
        label_map = vocab_map
        notes.append("labels are the ids of the label map given as --vocab: mapped to its names")
    # 1. label names: strip, map, none-labels; 2. the vocabulary
    final, pairs = _label_names(ann, label_map, label_map_source, none_labels, notes, ledger)
    labels = _vocabulary(ann, final, pairs, vocab, unknown, label_map, none_labels, summary, notes, ledger)
    for name in labels:
        if name in RESERVED_COLUMNS:
            raise VocabularyError(f"label {name!r} has the name of a frame column",
                                  file=label_map_source or ann.source, hint="rename it with --label-map")  # fmt: skip
    # 3. paths and duplicate images; the carried columns of each image
    images = _images(ann, images_root, path_template, find_images, summary, notes, ledger)
    check_split_cells(ann)
    carried = _carried(ann, images, notes)
    # 4. minimum count
    if min_count is not None and min_count > 1:
        labels = _min_count(ann, labels, pairs, images.of_row, min_count, summary, notes, ledger)
    # 5. the frame
    frame, vocabulary = _frame(labels, pairs, images, carried, sparse_threshold, summary, notes)
    distinct = images.paths if isinstance(images.paths, pa.Array) else None
    return Encoded(frame, vocabulary, summary, ledger, notes, images.of_row, images.first_row, images.outside,
                   distinct)  # fmt: skip


def _label_names(ann: Annotations, label_map: Mapping[str, str] | None, label_map_source: str | None,
                 none_labels: Collection[str], notes: list[str],
                 ledger: list[LedgerEntry]) -> tuple[list[str], _Pairs]:  # fmt: skip
    """The distinct label names (stripped, mapped, none-labels and blanks out) and the pairs coded by them."""
    names = [n.strip() for n in ann.names]
    if label_map is not None:
        mapped = []
        for c, n in enumerate(names):
            if n in label_map:
                mapped.append(label_map[n])
            else:
                used = np.flatnonzero(ann.code == c)
                if len(used) == 0:
                    mapped.append(n)
                    continue
                file, line = ann.pair_where(int(used[0]))
                raise VocabularyError(f"label {n!r} is not in the label map", file=file, line=line,
                                      hint=f"add it to {label_map_source or 'the label map'}")  # fmt: skip
        names = mapped
    none_set = {s.strip() for s in none_labels}
    final: list[str] = []
    index: dict[str, int] = {}
    recode = np.empty(len(names), dtype=np.int64)
    for c, n in enumerate(names):
        if n == "" or n in none_set:
            recode[c] = -1 if n == "" else -2
            continue
        if n not in index:
            index[n] = len(final)
            final.append(n)
        recode[c] = index[n]
    codes = recode[ann.code] if len(ann.code) else np.zeros(0, dtype=np.int64)
    rows, values = ann.row, ann.value
    sentinel = codes == -2
    if none_set:
        seen_none = {n for n in names if n in none_set}
        for s in sorted(none_set - seen_none):
            notes.append(f"--none-label {s!r} never appears in the source")
        if sentinel.any():
            s_rows = np.unique(rows[sentinel & (values == POSITIVE)])
            real_rows = np.unique(rows[(codes >= 0) & (values == POSITIVE)])
            both = np.intersect1d(s_rows, real_rows)
            notes.append(f"{len(s_rows)} row(s) carry a none-label ({', '.join(sorted(seen_none))}): no labels")
            if len(both):
                notes.append(f"{len(both)} row(s) list a none-label together with real labels; kept the real labels")
                for r in both[:10000]:
                    f, ln = ann.where(int(r))
                    ledger.append(LedgerEntry(f, ln, str(ann.paths[r]), "none-label with real labels",
                                              "none-label ignored"))  # fmt: skip
    keep = codes >= 0
    if keep.all():  # the common case: no blank or none-label pair, nothing to copy
        return final, _Pairs(rows, codes, values, np.arange(len(codes)))
    return final, _Pairs(rows[keep], codes[keep], values[keep], np.flatnonzero(keep))


def _vocabulary(ann: Annotations, final: list[str], pairs: _Pairs, vocab: Vocabulary | None, unknown: str,
                label_map: Mapping[str, str] | None, none_labels: Collection[str], summary: Summary,
                notes: list[str], ledger: list[LedgerEntry]) -> list[str]:  # fmt: skip
    """The frame's labels (the given vocabulary, or the ones the source uses); ``pairs`` recoded to them."""
    if vocab is not None:
        return _given_vocabulary(ann, final, pairs, vocab, unknown, summary, notes, ledger)
    codes = pairs.codes
    used_codes = set(np.unique(codes).tolist())
    present = [n for i, n in enumerate(final) if i in used_codes]
    none_set = {s.strip() for s in none_labels}
    if ann.declared is not None:
        declared = [d.strip() for d in ann.declared]
        if label_map is not None:
            declared = [label_map.get(d, d) for d in declared]
        declared = [d for d in dict.fromkeys(declared) if d and d not in none_set]
        listed = declared + sorted(set(present) - set(declared))
    else:
        listed = sorted(present)
    numbered = numbered_classes(label_map) if label_map else None
    if numbered is not None:
        # A numbered label map declares the vocabulary (Human Protein Atlas, Kaggle class ids): every class it
        # names stays, in id order (class 0 first), so model outputs line up with the ids, used or not.
        classes = [n for n in numbered if n not in none_set]
        in_map = set(classes)
        labels = classes + [n for n in listed if n not in in_map]
        unused = [n for n in classes if n not in set(present)]
        if unused:
            shown = ", ".join(repr(n) for n in unused[:5]) + (" ..." if len(unused) > 5 else "")
            notes.append(f"{len(unused)} class(es) of the label map have no image and stay in the vocabulary "
                         f"(class-id order): {shown}")  # fmt: skip
    else:
        labels = listed
    pos = {n: i for i, n in enumerate(labels)}
    lookup = np.array([pos.get(n, -1) for n in final], dtype=np.int64)
    pairs.codes = lookup[codes] if len(codes) else codes
    return labels


def _given_vocabulary(ann: Annotations, final: list[str], pairs: _Pairs, vocab: Vocabulary, unknown: str,
                      summary: Summary, notes: list[str], ledger: list[LedgerEntry]) -> list[str]:  # fmt: skip
    """``pairs`` recoded to a given vocabulary: an unknown label is an error, or dropped with ``--unknown drop``."""
    codes = pairs.codes
    lookup = np.array([vocab._index.get(n, -1) for n in final], dtype=np.int64)
    pair_idx = lookup[codes] if len(codes) else codes
    unknown_pairs = pair_idx < 0
    if unknown_pairs.any():
        bad_codes = np.unique(codes[unknown_pairs])
        if unknown != "drop":
            first = np.flatnonzero(unknown_pairs)[0]
            label = final[int(codes[first])]
            file, line = ann.pair_where(int(pairs.pidx[first]))
            others = len(bad_codes) - 1
            raise VocabularyError(
                f"unknown label {label!r}" + (f" (and {others} other unknown label(s))" if others else ""),
                file=file, line=line, hint=vocab.hint_for(label) + "; or pass --unknown drop to leave unknown labels out",
            )  # fmt: skip
        for c in bad_codes:
            sel = np.flatnonzero(codes == c)
            notes.append(f"unknown label {final[int(c)]!r} dropped from {len(sel)} row(s) ({vocab.hint_for(final[int(c)])})")
            summary.dropped[f"unknown label {final[int(c)]!r}"] += len(sel)
            for j in sel[:10000]:
                f, ln = ann.pair_where(int(pairs.pidx[j]))
                ledger.append(LedgerEntry(f, ln, str(ann.paths[pairs.rows[j]]), "unknown label dropped", final[int(c)]))
        pairs.codes = pair_idx
        pairs.keep(~unknown_pairs)
    else:
        pairs.codes = pair_idx
    return list(vocab)


def _factorize(paths: npt.NDArray[np.object_], arrow: pa.Array | None) -> tuple[npt.NDArray[np.int64], Any]:
    """Each path's image number (first-listing order) and the distinct paths, by hashing the strings once.

    Arrow's dictionary encoding when the paths are all strings (a pyarrow array whose every entry differs
    from every other: what makes the frame's ``path`` column unique by construction); pandas otherwise.
    """
    try:
        arr = arrow if arrow is not None else pa.array(paths, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    if arr is not None and arr.null_count == 0:
        enc = pc.dictionary_encode(arr)
        return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64), enc.dictionary
    codes, uniques = pd.factorize(pd.Series(paths, dtype=object), sort=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _images(ann: Annotations, images_root: str | Path, path_template: str | None, find_images: bool,
            summary: Summary, notes: list[str], ledger: list[LedgerEntry]) -> _Images:  # fmt: skip
    """Resolve the paths and find the distinct images; duplicate rows (or repeated pairs) are merged."""
    if ann.raw_path_is_final and not path_template:
        paths, arrow = ann.paths, None
        outside = np.zeros(len(paths), dtype=bool)
    else:
        res = resolve_paths(ann.paths, images_root=Path(images_root), template=path_template, find_images=find_images,
                            lines=ann.lines, source=ann.source)  # fmt: skip
        paths, outside, arrow = res.paths, res.outside, res.arrow
        notes.extend(res.notes)
    img_of_row, uniques = _factorize(paths, arrow)
    n_images = len(uniques)
    if n_images < ann.n_rows:
        first_row = np.full(n_images, -1, dtype=np.int64)
        order = np.arange(ann.n_rows)
        first_row[img_of_row[::-1]] = order[::-1]
        if not ann.one_row_per_label:
            dup_rows = np.flatnonzero(first_row[img_of_row] != order)
            first_of = first_row[img_of_row[dup_rows]]
            _merged(ann, paths, img_of_row, dup_rows, first_of, summary, notes, ledger, pairs=False)
    else:
        first_row = np.arange(ann.n_rows, dtype=np.int64)
    if ann.one_row_per_label:
        # one row per (image, label) is the form itself: only a repeated pair is a duplicate
        dup_pairs, first_pairs = _repeated_pairs(ann, img_of_row)
        _merged(ann, paths, img_of_row, dup_pairs, first_pairs, summary, notes, ledger, pairs=True)
        # every input row is an image's first row, a repeated pair, or another label of an image listed above
        n_listed = ann.rows_read if ann.rows_read is not None else ann.n_rows
        summary.folded = n_listed - n_images - len(dup_pairs)
    return _Images(img_of_row, uniques, first_row, outside)


def _carried(ann: Annotations, images: _Images, notes: list[str]) -> dict[str, npt.NDArray[np.object_]]:
    """Each carried column's value for each image (its first row's); split and group must agree across rows."""
    carried: dict[str, npt.NDArray[np.object_]] = {}
    img_of_row, n_images = images.of_row, len(images)
    for col, vals in ann.columns.items():
        vals = np.asarray(vals, dtype=object)
        if n_images < ann.n_rows:
            df = pd.DataFrame({"img": img_of_row, "v": vals}).drop_duplicates()
            counts = df["img"].value_counts()
            bad_counts = counts[counts > 1]
            if len(bad_counts):
                img = int(bad_counts.index[0])
                rows_bad = np.flatnonzero(img_of_row == img)
                vs = list(dict.fromkeys(vals[rows_bad].tolist()))
                f, ln = ann.where(int(rows_bad[1]))
                if col in ("split", "group"):
                    path = images.paths[img]
                    raise ConflictError(
                        f"image {path.as_py() if isinstance(path, pa.Scalar) else path!r} is listed with {col} values "
                        f"{', '.join(map(repr, vs))}"
                        + (f" ({len(bad_counts) - 1} more image(s) too)" if len(bad_counts) > 1 else ""),
                        file=f, line=ln, hint=f"one image belongs to one {col}; fix the rows that disagree",
                    )  # fmt: skip
                notes.append(f"{len(bad_counts)} image(s) have differing {col!r} values; kept the first")
        carried[col] = vals[images.first_row]
    return carried


def _min_count(ann: Annotations, labels: list[str], pairs: _Pairs, img_of_row: npt.NDArray[np.int64], min_count: int,
               summary: Summary, notes: list[str], ledger: list[LedgerEntry]) -> list[str]:  # fmt: skip
    """The labels with at least ``min_count`` images; the pairs of the others left out and recoded."""
    codes, rows, values = pairs.codes, pairs.rows, pairs.values
    pos_pairs = np.unique(np.stack([codes[values == POSITIVE], img_of_row[rows[values == POSITIVE]]]), axis=1)
    label_counts = np.bincount(pos_pairs[0], minlength=len(labels)) if pos_pairs.size else np.zeros(len(labels), int)
    keep_labels = label_counts >= min_count
    if keep_labels.all():
        return labels
    gone = [labels[i] for i in np.flatnonzero(~keep_labels)]
    notes.append(f"--min-count {min_count}: {len(gone)} label(s) with fewer images left out: "
                 + ", ".join(map(repr, gone[:10])) + (" ..." if len(gone) > 10 else ""))  # fmt: skip
    summary.dropped[f"label under --min-count {min_count}"] += len(gone)
    for g in gone:
        ledger.append(LedgerEntry(ann.source, None, "", "label under --min-count", g))
    new_index = np.cumsum(keep_labels) - 1
    pair_keep = keep_labels[codes]
    pairs.keep(pair_keep)
    pairs.codes = new_index[pairs.codes]
    return [lab for lab, k in zip(labels, keep_labels, strict=True) if k]


def _frame(labels: list[str], pairs: _Pairs, images: _Images, carried: Mapping[str, npt.NDArray[np.object_]],
           sparse_threshold: int | None, summary: Summary, notes: list[str]) -> tuple[pd.DataFrame, Vocabulary]:  # fmt: skip
    """The frame (dense int8, or sparse above the threshold) and the summary's counts."""
    vocabulary = Vocabulary(labels)
    from labelprep.checks.labels import label_variants  # the checks import the encoder: not at module level

    variants = label_variants(labels)
    if variants:
        shown = "; ".join(", ".join(map(repr, g)) for g in variants[:5]) + (" ..." if len(variants) > 5 else "")
        notes.append(f"labels that differ only by case or spacing, kept apart: {shown} (one label? a --label-map "
                     "listing every label can map each spelling to one name)")  # fmt: skip
    codes, values, n_images = pairs.codes, pairs.values, len(images)
    img_pairs = images.of_row[pairs.rows]
    sparse = use_sparse(len(labels), sparse_threshold)
    if sparse:
        limit = SPARSE_THRESHOLD if sparse_threshold is None else sparse_threshold
        notes.append(f"{len(labels):,} labels, more than --sparse-threshold {limit:,}: sparse label columns "
                     "(Sparse[int8, 0]; written as Parquet)")  # fmt: skip
        arrays = sparse_columns(img_pairs, codes, n_images, len(labels), values)
        frame = frame_from_columns(images.paths, arrays, vocabulary, carried)
    else:
        mat = multi_hot(img_pairs, codes, n_images, len(labels), values)
        frame = frame_from_matrix(images.paths, mat, vocabulary, carried)
    summary.images = n_images
    summary.labels = len(labels)
    # counted from the pairs, not the matrix: no temporary as large as the result
    has_label = np.zeros(n_images, dtype=bool)
    has_label[img_pairs[values == POSITIVE]] = True
    summary.empty_label_sets = int(n_images - has_label.sum())
    used = np.bincount(codes[values == POSITIVE], minlength=len(labels)) if len(labels) else np.zeros(0, np.int64)
    summary.unused = [labels[i] for i in np.flatnonzero(used == 0)]
    unc = values == UNCERTAIN
    if unc.any():
        if sparse:
            summary.uncertain = int(sum((np.asarray(a.sp_values) == -1).sum() for a in arrays))
        else:
            cells = np.unique(codes[unc] * n_images + img_pairs[unc])
            summary.uncertain = int((mat[cells // n_images, cells % n_images] == -1).sum())
    return frame, vocabulary


def _repeated_pairs(
    ann: Annotations, img_of_row: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]]:
    """Pairs that repeat an (image, label) pair already listed, and the pair that listed it first."""
    keys = img_of_row[ann.row] * (len(ann.names) + 1) + ann.code
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    new = np.ones(len(sk), dtype=bool)
    new[1:] = sk[1:] != sk[:-1]
    dup_sorted = np.flatnonzero(~new)
    if not len(dup_sorted):
        return dup_sorted, dup_sorted
    group_start = np.maximum.accumulate(np.where(new, np.arange(len(sk)), 0))
    return order[dup_sorted], order[group_start[dup_sorted]]


LEDGER_CAP = 10_000  # entries of one kind kept in memory; the summary counts all of them


def _merged(ann: Annotations, paths: npt.NDArray[np.object_], img_of_row: npt.NDArray[np.int64],
            dup: npt.NDArray[np.integer], first_of: npt.NDArray[np.integer], summary: Summary, notes: list[str],
            ledger: list[LedgerEntry], *, pairs: bool) -> None:  # fmt: skip
    """Record merged duplicate rows (or repeated pairs of a long form) in the summary, notes and ledger."""
    if not len(dup):
        return
    rows = ann.row[dup] if pairs else dup
    summary.merged_duplicates += len(dup)
    notes.append(f"{len(dup)} duplicate {'(image, label) pair' if pairs else 'row'}(s) merged into "
                 f"{len(np.unique(img_of_row[rows]))} image(s)")  # fmt: skip
    where = ann.pair_where if pairs else ann.where
    for d, d0 in zip(dup[:LEDGER_CAP].tolist(), first_of[:LEDGER_CAP].tolist(), strict=True):
        f, ln = where(d)
        _, ln0 = where(d0)
        r = int(ann.row[d]) if pairs else d
        ledger.append(LedgerEntry(f, ln, str(paths[r]), "merged duplicate",
                                  f"labels merged into the first listing ({'row' if f == DATAFRAME_SOURCE else 'line'} "
                                  f"{ln0})" if ln0 else "labels merged"))  # fmt: skip
    if len(dup) > LEDGER_CAP:
        notes.append(f"the ledger lists the first {LEDGER_CAP:,} merged duplicates of {len(dup):,}")


def _string_array(paths: npt.NDArray[np.object_] | Sequence[str] | pa.Array) -> pa.Array:
    return paths if isinstance(paths, pa.Array) and paths.type == pa.string() else pa.array(paths, pa.string())


def frame_from_columns(
    paths: npt.NDArray[np.object_] | Sequence[str] | pa.Array,
    arrays: Sequence[object],
    vocabulary: Vocabulary,
    carried: Mapping[str, npt.ArrayLike] | None = None,
) -> pd.DataFrame:
    """Assemble ``path``, one label column per array (sparse or dense), then carried columns."""
    data: dict[str, object] = {"path": pd.array(_string_array(paths).to_pandas(), dtype="str")}
    data.update(zip(vocabulary, arrays, strict=True))
    if carried:
        order = [c for c in ("split", "group") if c in carried] + [c for c in carried if c not in ("split", "group")]
        for c in order:
            data[c] = pd.array(np.asarray(carried[c], dtype=object), dtype="str")
    frame = pd.DataFrame(data, copy=False)
    frame.columns = pd.Index([str(c) for c in frame.columns], dtype="str")
    return frame


def frame_from_matrix(
    paths: npt.NDArray[np.object_] | Sequence[str] | pa.Array,
    mat: npt.NDArray[np.int8],
    vocabulary: Vocabulary,
    carried: Mapping[str, npt.ArrayLike] | None = None,
) -> pd.DataFrame:
    """Assemble ``path``, label columns (from a label-major matrix), then carried columns."""
    labels = pd.DataFrame(mat.T, columns=pd.Index(list(vocabulary), dtype="str"), copy=False)
    path = pd.Series(_string_array(paths).to_pandas(), name="path", dtype="str")
    parts = [path.to_frame(), labels]
    if carried:
        order = [c for c in ("split", "group") if c in carried] + [c for c in carried if c not in ("split", "group")]
        parts.append(pd.DataFrame({c: pd.Series(np.asarray(carried[c], dtype=object), dtype="str") for c in order}))
    frame = pd.concat(parts, axis=1)
    frame.columns = pd.Index([str(c) for c in frame.columns], dtype="str")
    return frame
