"""One reader per annotation form; :func:`read_source` detects the form and dispatches."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from labelprep.errors import FormatDetectionError, InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
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
from labelprep.readers.table import LABELS_COLUMNS, PATH_COLUMNS, find_column, read_table
from labelprep.readers.tables import looks_long, read_delimited, read_long, read_wide
from labelprep.readers.voc import find_voc_main, read_voc

__all__ = ["FORMATS", "Annotations", "LedgerEntry", "ReadOptions", "detect_format", "read_source"]

FORMATS = ("folder", "sidecar", "voc", "delimited", "wide", "long", "json", "jsonl", "coco", "labelstudio", "fiftyone")
_TABLE_FORMATS = ("delimited", "wide", "long")
_JSON_FORMATS = ("json", "coco", "labelstudio", "fiftyone")


def detect_format(source: str | Path, opts: ReadOptions | None = None) -> str:
    """The annotation form of ``source`` (one of :data:`FORMATS`)."""
    return _detect(Path(source), opts or ReadOptions())[0]


def _detect(path: Path, opts: ReadOptions) -> tuple[str, object]:
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    if path.is_dir():
        files = walk_files(path)
        if not files:
            raise InputError("folder is empty", file=str(path), hint="expected label folders or images with tag files")
        if find_voc_main(path) is not None:
            return "voc", None
        return ("sidecar" if has_sidecars(path, files) else "folder"), None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl", None
    if suffix == ".json":
        data = load_json(path)
        return json_kind(data), data
    table = read_table(path, encoding=opts.encoding)
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


def read_source(
    source: str | Path,
    *,
    format: str | None = None,
    options: ReadOptions | None = None,
    none_labels: Collection[str] = (),
) -> Annotations:
    """Read any annotation source into :class:`Annotations`, detecting the form unless given."""
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

    if format in ("folder", "sidecar", "voc"):
        if not path.is_dir():
            raise FormatDetectionError(f"--format {format} needs a folder", file=str(path))
        folder_reader = {"folder": read_folder, "sidecar": read_sidecar, "voc": read_voc}[format]
        ann = folder_reader(path, opts)
    elif path.is_dir():
        raise FormatDetectionError(f"--format {format} needs a file, not a folder", file=str(path),
                                   hint="use --format folder or sidecar for folders")  # fmt: skip
    elif format in _TABLE_FORMATS:
        table = cached if cached is not None else read_table(path, encoding=opts.encoding)
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
