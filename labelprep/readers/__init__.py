"""One reader per annotation form; :func:`read_source` detects the form and dispatches."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from pathlib import Path
from typing import Any

from labelprep.errors import FormatDetectionError, InputError
from labelprep.readers import table as table_module
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions, concat_annotations
from labelprep.readers.folders import has_sidecars, read_folder, read_sidecar, walk_files
from labelprep.readers.jsonforms import (
    json_kind,
    load_json,
    read_coco,
    read_fiftyone,
    read_json,
    read_jsonl,
    read_labelstudio,
)
from labelprep.readers.table import (
    LABELS_COLUMNS,
    PATH_COLUMNS,
    Table,
    block_ranges,
    find_column,
    header_line,
    iter_tables,
    read_block,
    read_table,
)
from labelprep.readers.tables import (
    NO_SEP,
    delimited_separator,
    looks_long,
    read_delimited,
    read_long,
    read_wide,
    separator_note,
)
from labelprep.readers.voc import find_voc_main, read_voc
from labelprep.safeio import require_regular_file

__all__ = ["FORMATS", "Annotations", "LedgerEntry", "ReadOptions", "detect_format", "read_source"]

FORMATS = ("folder", "sidecar", "voc", "delimited", "wide", "long", "json", "jsonl", "coco", "labelstudio", "fiftyone")
_TABLE_FORMATS = ("delimited", "wide", "long")
_JSON_FORMATS = ("json", "coco", "labelstudio", "fiftyone")


def detect_format(source: str | Path, opts: ReadOptions | None = None) -> str:
    """The annotation form of ``source`` (one of :data:`FORMATS`)."""
    return _detect(Path(source), opts or ReadOptions())[0]


# Annotation files that exports put inside the image folders: a folder holding them is not a label tree.
ANNOTATION_FILE_NAMES = {
    "metadata.jsonl": "Hugging Face imagefolder",
    "metadata.csv": "Hugging Face imagefolder",
    "_classes.csv": "Roboflow multi-label CSV",
    "_annotations.coco.json": "Roboflow COCO",
    "_annotations.csv": "Roboflow CSV",
}


def _refuse_annotation_files(root: Path, files: list[str]) -> None:
    """A folder whose top or split folders hold annotation files: read those, not the folder names as labels."""
    names = [f for f in files if f.count("/") <= 1 and f.rsplit("/", 1)[-1].lower() in ANNOTATION_FILE_NAMES]
    if not names:
        return
    kind = ANNOTATION_FILE_NAMES[names[0].rsplit("/", 1)[-1].lower()]
    found = [str(root / f) for f in names]  # as the user would type them
    shown = " ".join(found[:6]) + (" ..." if len(found) > 6 else "")
    raise InputError(
        f"this folder holds annotation files ({kind}: {', '.join(found[:6])}), not label folders",
        file=str(root),
        hint=f"pass the files as sources, each a split named by its folder (labelprep convert {shown} -o "
        f"labels.parquet; labelprep validate {shown}; labelprep export {shown} -o shards); --format folder reads "
        "the folder names as labels anyway",
    )


def _detect(path: Path, opts: ReadOptions) -> tuple[str, object]:
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    if not path.is_dir():
        require_regular_file(path, what="the source")  # a FIFO would block the first read forever
    if path.is_dir():
        files = walk_files(path)
        if not files:
            raise InputError("folder is empty", file=str(path), hint="expected label folders or images with tag files")
        if find_voc_main(path) is not None:
            return "voc", None
        _refuse_annotation_files(path, files)
        return ("sidecar" if has_sidecars(path, files) else "folder"), None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl", None
    if suffix == ".json":
        data = load_json(path)
        return json_kind(data), data
    table = next(iter_tables(path, encoding=opts.encoding))  # the first block of a large file is enough
    if opts.label_cols:
        return "wide", table
    if opts.confidence_col:
        return "long", table
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col", required=False)
    labels_col = find_column(
        table, opts.labels_col, LABELS_COLUMNS, role="labels", option="--labels-col",
        exclude=(path_col,) if path_col else (), required=False,
    )  # fmt: skip
    if labels_col is not None:
        return ("long" if looks_long(table, opts) else "delimited"), table
    return "wide", table


def _is_large(path: Path) -> bool:
    try:
        return path.stat().st_size > table_module.BLOCK_BYTES
    except OSError:
        return False


def _first_part(table: Table, format: str, opts: ReadOptions,
                none_labels: Collection[str]) -> tuple[Annotations, ReadOptions]:  # fmt: skip
    """The first block's annotations, and the options every later block is read with (the separator fixed)."""
    if format == "long":
        return read_long(table, opts), opts
    if opts.sep is not None:
        return read_delimited(table, opts, none_labels), opts
    sep = delimited_separator(table, opts, none_labels)  # decided once, on the first block
    block_opts = dataclasses.replace(opts, sep=NO_SEP if sep is None else sep)
    ann = read_delimited(table, block_opts, none_labels)
    ann.notes.append(separator_note(sep, f"detected on the first {table.n_rows:,} rows"))
    return ann, block_opts


def read_block_annotations(path: str, start: int, stop: int, line: int, header: bytes, columns: list[str],
                           delimiter: str, format: str, opts: ReadOptions,
                           none_labels: Collection[str]) -> Annotations | None:  # fmt: skip
    """The annotations of one later block of a large table (a Dask task of ``convert --engine dask``)."""
    table = read_block(path, start, stop, line, header=header, columns=columns, delimiter=delimiter,
                       encoding=opts.encoding)  # fmt: skip
    if table is None:
        return None
    return read_long(table, opts) if format == "long" else read_delimited(table, opts, none_labels)


def _read_blocks(path: Path, format: str, opts: ReadOptions, none_labels: Collection[str],
                 engine: Any = None) -> Annotations:  # fmt: skip
    """A large delimited or long table, block by block: memory follows the result, not the text.

    With a Dask ``engine`` the blocks after the first are read as tasks (the workers see the file at the
    same absolute path); the parts come back in file order, so the result is the same.
    """
    parts: list[Annotations] = []
    if engine is None:
        block_opts = opts
        for table in iter_tables(path, encoding=opts.encoding):
            if not parts:
                ann, block_opts = _first_part(table, format, opts, none_labels)
                parts.append(ann)
            else:
                parts.append(read_long(table, block_opts) if format == "long" else
                             read_delimited(table, block_opts, none_labels))  # fmt: skip
    else:
        from labelprep.engine import read_blocks

        ranges = block_ranges(path)
        first = next(iter_tables(path, encoding=opts.encoding))
        ann, block_opts = _first_part(first, format, opts, none_labels)
        parts.append(ann)
        if len(ranges) > 1:
            jobs = [(str(path.resolve()), start, stop, line, header_line(path), first.columns, first.delimiter, format,
                     block_opts, list(none_labels)) for start, stop, line in ranges[1:]]  # fmt: skip
            parts.extend(p for p in read_blocks(engine, jobs) if p is not None)
    ann = concat_annotations(parts)
    if len(parts) > 1:
        ann.notes.append(f"read in {len(parts)} blocks of about {table_module.BLOCK_BYTES >> 20} MiB"
                         + (" as Dask tasks" if engine is not None else ""))  # fmt: skip
    return ann


def read_source(
    source: str | Path,
    *,
    format: str | None = None,
    options: ReadOptions | None = None,
    none_labels: Collection[str] = (),
    engine: Any = None,
) -> Annotations:
    """Read any annotation source into :class:`Annotations`, detecting the form unless given.

    ``engine``: a :class:`labelprep.engine.DaskEngine` reads the blocks of a large table as Dask tasks.
    """
    opts = options or ReadOptions()
    path = Path(source)
    if format is not None and format not in FORMATS:
        raise FormatDetectionError(f"unknown format {format!r}", hint=f"choose one of: {', '.join(FORMATS)}")
    detected = format is None
    cached: object = None
    if format is None:
        format, cached = _detect(path, opts)
    elif not path.exists():
        raise InputError("no such file or folder", file=str(path))
    elif not path.is_dir():
        require_regular_file(path, what="the source")

    if format in ("folder", "sidecar", "voc"):
        if not path.is_dir():
            raise FormatDetectionError(f"--format {format} needs a folder", file=str(path))
        folder_reader = {"folder": read_folder, "sidecar": read_sidecar, "voc": read_voc}[format]
        ann = folder_reader(path, opts)
    elif path.is_dir():
        raise FormatDetectionError(f"--format {format} needs a file, not a folder", file=str(path),
                                   hint="use --format folder or sidecar for folders")  # fmt: skip
    elif format in ("delimited", "long") and _is_large(path):
        ann = _read_blocks(path, format, opts, none_labels, engine)
    elif format in _TABLE_FORMATS:
        whole = cached if cached is not None and not _is_large(path) else None
        table = whole if whole is not None else read_table(path, encoding=opts.encoding)
        if format == "delimited":
            ann = read_delimited(table, opts, none_labels)  # type: ignore[arg-type]
        elif format == "wide":
            ann = read_wide(table, opts)  # type: ignore[arg-type]
        else:
            ann = read_long(table, opts)  # type: ignore[arg-type]
    elif format == "jsonl":
        ann = read_jsonl(path, opts)
    else:
        data = cached if cached is not None else load_json(path)
        reader = {"json": read_json, "coco": read_coco, "labelstudio": read_labelstudio, "fiftyone": read_fiftyone}
        try:
            ann = reader[format](path, opts, data)
        except (AttributeError, TypeError, KeyError) as exc:
            raise FormatDetectionError(
                f"the file does not have the shape of --format {format} ({exc})", file=str(path),
                hint="check --format, or let labelprep detect it",
            ) from None  # fmt: skip
    how = "detected; force it with --format" if detected else "as given"
    ann.notes.insert(0, f"format: {format} ({how})")
    return ann
