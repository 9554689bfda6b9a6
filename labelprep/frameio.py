"""Reading and writing frames with their vocabulary, atomically."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from labelprep.atomic import remove_stale_temporaries, write_temporary
from labelprep.errors import InputError, LabelprepError, VocabularyError
from labelprep.multihot import is_sparse, label_pairs, sparse_columns
from labelprep.safeio import loads_json, require_regular_file
from labelprep.vocabulary import Vocabulary

__all__ = ["FORMAT_ATTR", "FRAME_SUFFIXES", "IMAGES_ROOT_ATTR", "METADATA_KEY", "frame_images_root", "is_frame",
           "output_problem", "read_frame", "read_frame_meta", "vocab_path", "write_frame"]

FRAME_SUFFIXES = (".parquet", ".csv")
METADATA_KEY = b"labelprep"
FORMAT_VERSION = 1
# Sparse frames (above multihot.SPARSE_THRESHOLD labels) are stored as label-index lists, not one column per label.
SPARSE_LAYOUT = "sparse"
POSITIVE_COLUMN = "__positive__"
UNCERTAIN_COLUMN = "__uncertain__"


# frame.attrs key: the absolute images root of a frame read from a file (write_frame stores it relative to its output).
IMAGES_ROOT_ATTR = "labelprep_images_root"
# frame.attrs key: the annotation form the frame was converted from ("folder", "delimited" ...), when known.
FORMAT_ATTR = "labelprep_format"


def vocab_path(out: str | Path) -> Path:
    """Where the vocabulary of frame ``out`` lives: ``labels.parquet`` -> ``labels.vocab.json``."""
    return Path(out).with_suffix(".vocab.json")


def output_problem(out: str | os.PathLike[str]) -> str | None:
    """What is wrong with ``out`` as the name of a frame to write (None when it ends in .parquet or .csv): the
    one place that decides, for convert, split and the CLI alike."""
    suffix = Path(out).suffix.lower()
    return None if suffix in FRAME_SUFFIXES else f"output must end in .parquet or .csv, not {suffix or 'nothing'!r}"


def write_frame(frame: pd.DataFrame, vocab: Vocabulary, out: str | Path, *, meta: Mapping[str, Any] | None = None) -> list[Path]:
    """Write ``frame`` to ``.parquet`` or ``.csv`` and its vocabulary beside it; returns the files written."""
    out = Path(out)
    problem = output_problem(out)
    if problem:
        raise InputError(problem, file=str(out))
    suffix = out.suffix.lower()
    payload = {"format_version": FORMAT_VERSION, "vocabulary": vocab.to_dict(), **(meta or {})}
    root = frame.attrs.get(IMAGES_ROOT_ATTR)
    if "images_root" not in payload and isinstance(root, str):
        from labelprep import storage  # a frame read with read_frame keeps its images root, re-expressed from here

        payload["images_root"] = storage.relative_root(root if storage.is_url(root) else Path(root), out)
    if "format" not in payload and isinstance(frame.attrs.get(FORMAT_ATTR), str):
        payload["format"] = frame.attrs[FORMAT_ATTR]  # a split of a folder-form frame is still one (diff pairs by name)
    sparse = is_sparse(frame, list(vocab))
    if sparse:
        if suffix == ".csv":
            raise InputError(
                f"a frame of {len(vocab):,} labels is sparse and is written as Parquet only "
                f"(a CSV would hold {len(frame):,} x {len(vocab):,} cells)", file=str(out),
                hint=f"use -o {out.with_suffix('.parquet').name}, or --sparse-threshold {len(vocab)} for a dense CSV",
            )  # fmt: skip
        payload["layout"] = SPARSE_LAYOUT

    def write_parquet(tmp: Path) -> None:
        table = _sparse_table(frame, list(vocab)) if sparse else pa.Table.from_pandas(frame, preserve_index=False)
        md = dict(table.schema.metadata or {})
        md[METADATA_KEY] = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        # Label columns are written without dictionary pages: a 0/1 column gains little from a dictionary and
        # building one costs about a third of the write (1M rows x 100 labels); path and text columns keep it.
        labels = set() if sparse else set(vocab)
        dictionary = [name for name in table.column_names if name not in labels]
        pq.write_table(table.replace_schema_metadata(md), tmp, use_dictionary=True if sparse else dictionary)

    def write_csv(tmp: Path) -> None:
        frame.to_csv(tmp, index=False, lineterminator="\n")

    # Both files are written under temporary names first and renamed only when both succeeded, the frame last:
    # its rename commits the pair. A kill between the two renames leaves the new vocabulary beside the previous
    # frame, which still reads: a Parquet frame carries its own vocabulary, and a CSV frame's previous
    # vocabulary is kept as a hidden copy (previous_vocab_path) until the new frame is in place.
    vp = vocab_path(out)
    staged: list[tuple[Path, Path]] = []
    prev = previous_vocab_path(out)
    try:
        for target, write in ((vp, lambda t: t.write_text(vocab.to_json(), encoding="utf-8")),
                              (out, write_parquet if suffix == ".parquet" else write_csv)):  # fmt: skip
            staged.append((write_temporary(target, write), target))
        if suffix == ".csv":
            current = _csv_vocab_file(out)  # the vocabulary the frame now in place reads with
            if current is not None and current != prev:
                os.replace(write_temporary(prev, lambda t: t.write_bytes(current.read_bytes())), prev)
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    prev.unlink(missing_ok=True)
    remove_stale_temporaries(vp)
    remove_stale_temporaries(out)
    return [out, vp]


def previous_vocab_path(out: str | Path) -> Path:
    """Where :func:`write_frame` keeps a CSV frame's previous vocabulary while it replaces the pair."""
    vp = vocab_path(out)
    return vp.with_name(f".{vp.name}.previous")


def _csv_vocab_file(csv_path: Path) -> Path | None:
    """The vocabulary file a CSV frame reads with: the one beside it whose labels its header lists in order,
    or the previous one a replacement of the pair kept (when the new vocabulary got in but not the new frame)."""
    if not csv_path.is_file():
        return None
    for candidate in (vocab_path(csv_path), previous_vocab_path(csv_path)):
        if candidate.is_file() and _csv_header_is_frame(csv_path, candidate):
            return candidate
    return None


def _sparse_table(frame: pd.DataFrame, labels: list[str]) -> pa.Table:
    """The sparse layout: ``path``, the label indices of each row as lists, then the carried columns."""
    rows, cols, vals = label_pairs(frame, labels)
    n = len(frame)
    columns: dict[str, pa.Array] = {"path": pa.array(frame["path"].to_numpy(dtype=object), pa.string())}
    for key, value in ((POSITIVE_COLUMN, 1), (UNCERTAIN_COLUMN, -1)):
        sel = vals == value
        offsets = np.searchsorted(rows[sel], np.arange(n + 1)).astype(np.int32)
        columns[key] = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(cols[sel], pa.int32()))
    for c in frame.columns[1 + len(labels):]:
        columns[str(c)] = pa.array(frame[c].to_numpy(dtype=object), pa.string())
    return pa.table(columns)


def _from_sparse_table(table: pa.Table, vocab: Vocabulary, source: str) -> pd.DataFrame:
    n, labels = table.num_rows, list(vocab)
    rows_l, cols_l, vals_l = [], [], []
    for key, value in ((POSITIVE_COLUMN, 1), (UNCERTAIN_COLUMN, -1)):
        if key not in table.column_names:
            raise InputError(f"sparse frame lacks its {key!r} column", file=source, hint="regenerate it with labelprep convert")
        lists = table.column(key).combine_chunks()
        lengths = np.asarray(pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False), np.int64)
        idx = np.asarray(pc.list_flatten(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(labels)):
            raise InputError(f"sparse frame holds label index {int(idx.max() if idx.max() >= len(labels) else idx.min())} "
                             f"outside its vocabulary of {len(labels)}", file=source,
                             hint="the frame and its vocabulary do not belong together")  # fmt: skip
        rows_l.append(np.repeat(np.arange(n, dtype=np.int64), lengths))
        cols_l.append(idx)
        vals_l.append(np.full(len(idx), value, dtype=np.int8))
    arrays = sparse_columns(np.concatenate(rows_l), np.concatenate(cols_l), n, len(labels), np.concatenate(vals_l))
    data: dict[str, object] = {"path": table.column("path").to_pandas().astype("str").array}
    data.update(zip(labels, arrays, strict=True))
    for c in table.column_names:
        if c not in ("path", POSITIVE_COLUMN, UNCERTAIN_COLUMN):
            data[c] = table.column(c).to_pandas().astype("str").array
    frame = pd.DataFrame(data, copy=False)
    frame.columns = pd.Index([str(c) for c in frame.columns], dtype="str")
    return frame


def is_frame(path: str | Path) -> bool:
    """True for a converted frame: ``.parquet``, or a ``.csv`` laid out as one beside its ``.vocab.json``.

    A CSV counts as a frame only when its header is ``path`` followed by the labels of that vocabulary
    file, in order: ``convert labels.csv -o labels.parquet`` writes ``labels.vocab.json`` beside the raw
    ``labels.csv``, which stays an annotation file.
    """
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return True
    if p.suffix.lower() != ".csv" or not vocab_path(p).exists():
        return False
    return _csv_vocab_file(p) is not None


def _csv_header_is_frame(csv_path: Path, vocab_file: Path) -> bool:
    """Whether the CSV's header is ``path,<the vocabulary's labels in order>,...`` (as write_frame writes it)."""
    if not csv_path.is_file():  # a FIFO named .csv: not opened here (the reader refuses it)
        return False
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader([f.readline()]), [])
        labels = list(Vocabulary.read(vocab_file))
    except (OSError, UnicodeDecodeError, csv.Error, LabelprepError):
        return False
    return header[:1] == ["path"] and header[1 : 1 + len(labels)] == labels


def frame_images_root(path: str | Path, images_root: str | os.PathLike[str] | None = None) -> Path | str:
    """The images root of a converted frame: as given, else as stored in its metadata, else its folder.

    A remote URL root comes back as a string (see :mod:`labelprep.storage`).
    """
    from labelprep import storage

    p = Path(path)
    if images_root is not None:
        return storage.to_root(images_root)
    rel = read_frame_meta(p).get("images_root")
    fetched = storage.frame_root(p, rel)  # a frame fetched from a URL: its images sit beside the URL
    if fetched is not None:
        return fetched
    if isinstance(rel, str) and storage.is_url(rel):
        return storage.to_root(rel)
    if rel is not None and (p.parent / rel).is_dir():
        return p.parent / rel
    return p.parent


def read_frame_meta(path: str | Path) -> dict[str, Any]:
    """The labelprep metadata stored in a Parquet frame (empty for CSV frames)."""
    p = Path(path)
    if p.suffix.lower() != ".parquet" or not p.is_file():
        return {}
    try:
        md = pq.read_schema(p).metadata or {}
    except (pa.ArrowInvalid, OSError):
        return {}
    raw = md.get(METADATA_KEY)
    data = loads_json(raw.decode("utf-8", "replace"), file=str(p)) if raw else {}
    return dict(data) if isinstance(data, dict) else {}


def read_frame(path: str | Path, *, vocab: Vocabulary | None = None) -> tuple[pd.DataFrame, Vocabulary]:
    """Read a frame written by :func:`write_frame` with its vocabulary (from Parquet metadata or the sidecar)."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    require_regular_file(p, what="the frame")
    suffix = p.suffix.lower()
    payload: dict[str, Any] = {}
    if suffix == ".parquet":
        try:
            table = pq.read_table(p)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"not a readable Parquet file ({exc})", file=str(p)) from None
        md = (table.schema.metadata or {}).get(METADATA_KEY)
        payload = loads_json(md.decode("utf-8", "replace"), file=str(p)) if md is not None else {}
        if not isinstance(payload, dict) or not isinstance(payload.get("vocabulary", {}), (dict, list)):
            raise InputError("the frame's labelprep metadata is not what convert writes", file=str(p),
                             hint="regenerate it with labelprep convert")  # fmt: skip
        if vocab is None and "vocabulary" in payload:
            vocab = Vocabulary.from_dict(payload["vocabulary"], source=str(p))
        if payload.get("layout") == SPARSE_LAYOUT and "vocabulary" in payload:
            # label indices refer to the stored vocabulary, whatever vocabulary the caller checks against
            stored = Vocabulary.from_dict(payload["vocabulary"], source=str(p))
            frame = _from_sparse_table(table, stored, str(p))
            vocab = vocab or stored
        else:
            frame = table.to_pandas()
    elif suffix == ".csv":
        frame = None
    else:
        raise InputError(f"a frame is .parquet or .csv, not {suffix!r}", file=str(p))
    if vocab is None:
        vp = (_csv_vocab_file(p) if frame is None else None) or vocab_path(p)
        if not vp.exists():
            raise VocabularyError(
                "no vocabulary found for this frame", file=str(p),
                hint=f"expected {vp.name} beside it (written by labelprep convert), or pass --vocab",
            )  # fmt: skip
        vocab = Vocabulary.read(vp)
    if frame is None:
        dtypes: dict[str, Any] = {c: "int8" for c in vocab}
        frame = pd.read_csv(p, dtype={"path": "str", **dtypes}, keep_default_na=False, na_values=[])
    missing = [c for c in vocab if c not in frame.columns]
    if missing:
        raise VocabularyError(
            f"frame lacks the label column(s) {', '.join(map(repr, missing[:5]))} of its vocabulary",
            file=str(p), hint="the frame and its vocabulary file do not belong together",
        )  # fmt: skip
    frame.attrs[IMAGES_ROOT_ATTR] = str(frame_images_root(p))  # for write_frame of an edited copy elsewhere
    if isinstance(payload.get("format"), str):
        frame.attrs[FORMAT_ATTR] = payload["format"]
    return frame, vocab
