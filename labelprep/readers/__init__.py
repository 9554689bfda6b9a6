"""One reader per annotation form; :func:`read_source` detects the form and dispatches."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np

from labelprep.errors import FormatDetectionError, InputError
from labelprep.executor import Executor
from labelprep.options import FORMATS
from labelprep.readers import csvtext as table_module
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions, concat_annotations
from labelprep.readers.cloud import has_url, map_prefix, read_cloud, read_json_lines
from labelprep.readers.csvtext import (
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
from labelprep.readers.cub import cub_root, read_cub
from labelprep.readers.dota import dota_root, read_dota
from labelprep.readers.folders import read_folder, read_sidecar
from labelprep.readers.jsonforms import (
    load_json,
    read_coco,
    read_fiftyone,
    read_json,
    read_jsonl,
    read_labelstudio,
)
from labelprep.readers.labelbox import read_labelbox
from labelprep.readers.labelcells import NO_SEP, separator_note
from labelprep.readers.layout import combine_splits, image_folder_candidates, locate_ids, locate_images, split_word
from labelprep.readers.lists import read_attribute_list, read_list
from labelprep.readers.masks import is_mask_table, read_mask_table
from labelprep.readers.openimages import read_openimages
from labelprep.readers.sniff import Detected, detect
from labelprep.readers.studiocsv import is_studio_table, read_studio_table
from labelprep.readers.supervisely import is_supervisely, read_supervisely
from labelprep.readers.tables import delimited_separator, looks_long, read_delimited, read_long, read_wide
from labelprep.readers.tools import read_cvat, read_datumaro, read_kitti, read_labelme, read_vott
from labelprep.readers.via import is_via_table, read_via, read_via_csv
from labelprep.readers.voc import read_voc, read_xml_folder
from labelprep.readers.yolo import read_yolo
from labelprep.safeio import require_regular_file

__all__ = ["FORMATS", "Annotations", "LedgerEntry", "ReadOptions", "detect_format", "read_source"]

_TABLE_FORMATS = ("delimited", "wide", "long")
_FOLDER_FORMATS = ("folder", "sidecar", "voc", "yolo", "labelme", "annotation-xml", "openimages", "kitti", "supervisely")
_CLOUD_FORMATS = ("vertex", "sagemaker", "azure")


def detect_format(source: str | Path, opts: ReadOptions | None = None) -> str:
    """The annotation form of ``source`` (one of :data:`FORMATS`)."""
    return _detect(Path(source), opts or ReadOptions())[0]


def _table_format(table: Table, opts: ReadOptions) -> str:
    """delimited, long or wide, for a table with a header line."""
    if opts.label_cols:
        return "wide"
    if opts.confidence_col:
        return "long"
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col", required=False)
    labels_col = find_column(
        table, opts.labels_col, LABELS_COLUMNS, role="labels", option="--labels-col",
        exclude=(path_col,) if path_col else (), required=False,
    )  # fmt: skip
    if labels_col is not None:
        return "long" if looks_long(table, opts) else "delimited"
    return "wide"


# Tables a tool exports, known by their columns: (form, test, the evidence printed), tried in this order.
_EXPORT_TABLES: tuple[tuple[str, Callable[[Table], bool], str], ...] = (
    ("labelstudio", is_studio_table,
     "a table with Label Studio's export columns (annotation_id, annotator, created_at, lead_time)"),
    ("via", is_via_table, "a table with VIA's CSV export columns (filename, ..., region_attributes)"),
    ("masks", is_mask_table, "a table of run-length masks (EncodedPixels) by image and class"),
)  # fmt: skip
_EXPORT_TABLE_READERS: dict[str, Callable[[Table, ReadOptions], Annotations]] = {
    "labelstudio": read_studio_table, "via": read_via_csv, "masks": read_mask_table}  # fmt: skip


def _export_table(table: Table) -> tuple[str, str] | None:
    """(form, evidence) of a table a labelling tool exported, or None."""
    return next(((form, why) for form, test, why in _EXPORT_TABLES if test(table)), None)


def _whole_table(path: Path, cached: object, opts: ReadOptions) -> Table:
    """The table detection read, when it holds the whole file; else the file read now."""
    if isinstance(cached, Table) and not _is_large(path):
        return cached
    return read_table(path, encoding=opts.encoding)


def _detect(path: Path, opts: ReadOptions) -> tuple[str, object, str]:
    """(form, what the reader can reuse, the evidence) of ``path``."""
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    if not path.is_dir():
        require_regular_file(path, what="the source")  # a FIFO would block the first read forever
    cub = cub_root(path)
    if cub is not None:
        return "cub", cub, "CUB-200-2011 index files (images.txt, image_class_labels.txt, classes.txt)"
    if dota_root(path) is not None:
        return "dota", None, "DOTA oriented-box label files (labelTxt/*.txt beside images/)"
    if is_supervisely(path) or (path.name == "meta.json" and is_supervisely(path.parent)):
        return "supervisely", None, "a Supervisely project (meta.json, datasets of img/ and ann/)"
    found = detect(path, opts)
    if found is not None:
        if found.format in ("table",):
            if found.parts:
                return "parts", found, found.why
            table = next(iter_tables(found.path, encoding=opts.encoding))
            export = _export_table(table)
            if export is not None:
                return export[0], table, export[1]
            return _table_format(table, opts), table, found.why
        return found.format, found, found.why
    table = next(iter_tables(path, encoding=opts.encoding))  # the first block of a large file is enough
    export = _export_table(table)
    if export is not None:
        return export[0], table, export[1]
    fmt = _table_format(table, opts)
    return fmt, table, {"wide": "a table with a header and no labels column: one column per label",
                        "long": "a table with a labels column and repeated paths: one row per (image, label)",
                        "delimited": "a table with a path column and a labels column"}[fmt]  # fmt: skip


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
    """The annotations of one later block of a large table (a task of ``convert --engine dask``)."""
    table = read_block(path, start, stop, line, header=header, columns=columns, delimiter=delimiter,
                       encoding=opts.encoding)  # fmt: skip
    if table is None:
        return None
    return read_long(table, opts) if format == "long" else read_delimited(table, opts, none_labels)


def read_block_job(job: tuple[Any, ...]) -> Annotations | None:
    """:func:`read_block_annotations` of one job (its arguments as a tuple): the task an executor runs."""
    return read_block_annotations(*job)


def _read_blocks(path: Path, format: str, opts: ReadOptions, none_labels: Collection[str],
                 engine: Executor | None = None) -> Annotations:  # fmt: skip
    """A large delimited or long table, block by block: memory follows the result, not the text.

    With a distributed ``engine`` (Dask) the blocks after the first are read as tasks (the workers see the
    file at the same absolute path); the parts come back in file order, so the result is the same.
    """
    parts: list[Annotations] = []
    if engine is None or not engine.distributed:
        block_opts = opts
        for table in iter_tables(path, encoding=opts.encoding):
            if not parts:
                ann, block_opts = _first_part(table, format, opts, none_labels)
                parts.append(ann)
            else:
                parts.append(read_long(table, block_opts) if format == "long" else
                             read_delimited(table, block_opts, none_labels))  # fmt: skip
    else:
        ranges = block_ranges(path)
        first = next(iter_tables(path, encoding=opts.encoding))
        ann, block_opts = _first_part(first, format, opts, none_labels)
        parts.append(ann)
        if len(ranges) > 1:
            jobs = [(str(path.resolve()), start, stop, line, header_line(path), first.columns, first.delimiter, format,
                     block_opts, list(none_labels)) for start, stop, line in ranges[1:]]  # fmt: skip
            engine.require_visible(jobs[0][0], "the annotation file")
            found = engine.map(read_block_job, jobs, name="read-block", what="reading the annotation file")
            parts.extend(p for p in found if p is not None)
    ann = concat_annotations(parts)
    if len(parts) > 1:
        ann.notes.append(f"read in {len(parts)} blocks of about {table_module.BLOCK_BYTES >> 20} MiB"
                         + (f" as {engine.label}" if engine is not None and engine.distributed else ""))  # fmt: skip
    return ann


def _read_one(path: Path, format: str, opts: ReadOptions, none_labels: Collection[str], engine: Any,
              cached: object) -> Annotations:  # fmt: skip
    """Read ``path`` as ``format`` (``cached``: what detection already parsed, a Table or a Detected)."""
    found = cached if isinstance(cached, Detected) else None
    if format == "cub":
        return read_cub(cub_root(path) or path, opts)
    if format == "dota":
        return read_dota(path, opts)
    if format in _FOLDER_FORMATS:
        if format == "yolo" and path.is_file():
            return read_yolo(path.parent, opts, config=path)
        if format == "openimages":
            return read_openimages(path, opts)
        if format == "supervisely" and path.is_file():
            return read_supervisely(path.parent, opts)
        if format == "annotation-xml" and path.is_file():
            return read_xml_folder(path, opts)
        if format == "labelme" and path.is_file():
            return read_labelme(path, opts)
        if not path.is_dir():
            raise FormatDetectionError(f"--format {format} needs a folder", file=str(path))
        reader = {"folder": read_folder, "sidecar": read_sidecar, "voc": read_voc, "yolo": read_yolo,
                  "labelme": read_labelme, "annotation-xml": read_xml_folder, "kitti": read_kitti,
                  "supervisely": read_supervisely}[format]  # fmt: skip
        return reader(path, opts)
    if path.is_dir():
        raise FormatDetectionError(f"--format {format} needs a file, not a folder", file=str(path),
                                   hint="pass the annotation file, or let labelprep detect the folder's form")  # fmt: skip
    # masks are only a table; VIA and Label Studio are a table when detection read one or the file is CSV/TSV
    if format in _EXPORT_TABLE_READERS and (format == "masks" or isinstance(cached, Table)
                                            or path.suffix.lower() in (".csv", ".tsv")):  # fmt: skip
        return _EXPORT_TABLE_READERS[format](_whole_table(path, cached, opts), opts)
    if format in ("delimited", "long") and _is_large(path):
        return _read_blocks(path, format, opts, none_labels, engine)
    if format in _TABLE_FORMATS:
        table = _whole_table(path, cached, opts)
        if format == "delimited":
            return read_delimited(table, opts, none_labels)
        return read_wide(table, opts) if format == "wide" else read_long(table, opts)
    if format == "list":
        return read_list(path, opts)
    if format == "attributes":
        return read_attribute_list(path, opts)
    if format == "cvat":
        return read_cvat(path, opts)
    if format in _CLOUD_FORMATS:
        records = found.data if found is not None and found.data is not None else read_json_lines(path)
        return read_cloud(path, opts, format, records)
    if format == "labelbox":
        return read_labelbox(path, opts, found.data if found is not None and found.data is not None else read_json_lines(path))
    if format == "jsonl":
        return read_jsonl(path, opts)
    data = found.data if found is not None and found.data is not None else load_json(path)
    json_readers: dict[str, Callable[[Path, ReadOptions, Any], Annotations]] = {
        "json": read_json, "coco": read_coco, "labelstudio": read_labelstudio, "fiftyone": read_fiftyone,
        "datumaro": read_datumaro, "vott": read_vott, "via": read_via,
    }  # fmt: skip
    try:
        return json_readers[format](path, opts, data)
    except (AttributeError, TypeError, KeyError) as exc:
        raise FormatDetectionError(
            f"the file does not have the shape of --format {format} ({exc})", file=str(path),
            hint="check --format, or let labelprep detect it",
        ) from None  # fmt: skip


def _locate_file_images(ann: Annotations, path: Path, opts: ReadOptions) -> None:
    """A file form that does not know where its images are: the folder where the listed files are found, and
    for ids without an extension the one folder and extension every sampled id is a file with."""
    if ann.images_root is not None or ann.default_template or not path.is_file() or opts.find_images:
        return
    base = Path(opts.images_root) if opts.images_root else path.parent
    sample = [str(p) for p in ann.paths[:64].tolist()]
    if opts.path_template and "{}" in opts.path_template:
        sample = [opts.path_template.replace("{}", p) for p in sample]  # the files the ids name
    listed: list[Any] = []

    def cands() -> Any:  # listed once, and only when needed: an images folder may hold a million files
        if not listed:
            listed.append(image_folder_candidates(base, split_word(path.stem), path.stem))
        return listed[0]

    found, note = locate_images(base, sample, cands)
    if found != base:
        ann.images_root = str(found)
        if note:
            ann.notes.append(note + " (--images-root names another folder)")
        return
    if not opts.path_template:
        ids = locate_ids(base, sample, cands())
        if ids is not None:
            ann.default_template, id_note = ids
            ann.images_root = str(base)
            ann.notes.append(id_note)


def _read_parts(found: Detected, opts: ReadOptions, none_labels: Collection[str]) -> Annotations:
    """Several annotation files of one form in a folder: each a split."""
    parts = []
    for split, file in found.parts:
        fmt, cached, _why = _detect(file, opts)
        ann = _read_one(file, fmt, opts, none_labels, None, cached)
        _locate_file_images(ann, file, opts)
        if ann.images_root is None:
            ann.images_root = str(file.parent)
        parts.append((split, ann))
    fmt = parts[0][1].format
    ann = combine_splits(parts, str(found.path), fmt)
    ann.raw_path_is_final = True
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

    ``engine``: a distributed :class:`labelprep.executor.Executor` (Dask) reads the blocks of a large table as tasks.
    Detection takes a form only on positive evidence and says what it found; when the evidence is missing or
    points two ways it raises :class:`FormatDetectionError` naming what it found and the command that reads it.
    """
    opts = options or ReadOptions()
    path = Path(source)
    if format is not None and format not in FORMATS:
        raise FormatDetectionError(f"unknown format {format!r}", hint=f"choose one of: {', '.join(FORMATS)}")
    detected = format is None
    cached: object = None
    why = ""
    if format is None:
        format, cached, why = _detect(path, opts)
    elif not path.exists():
        raise InputError("no such file or folder", file=str(path))
    elif not path.is_dir():
        require_regular_file(path, what="the source")
    if format == "parts":
        assert isinstance(cached, Detected)
        ann = _read_parts(cached, opts, none_labels)
        format = ann.format
    else:
        target = cached.path if isinstance(cached, Detected) and format not in _FOLDER_FORMATS else path
        if isinstance(cached, Detected) and format in ("yolo", "annotation-xml", "labelme") and cached.path.is_file():
            target = cached.path
        if isinstance(cached, Detected) and cached.parts:
            ann = _read_parts(cached, opts, none_labels)
        else:
            ann = _read_one(target, format, opts, none_labels, engine, cached)
            if (format not in ("list", *_CLOUD_FORMATS) and not ann.raw_path_is_final
                    and (opts.path_prefix is not None or has_url(ann.paths))):  # fmt: skip
                # paths on a bucket or a web server: --path-prefix, or the folder every URL shares, comes off
                mapped, _unmapped, note = map_prefix([str(p) for p in ann.paths], opts.path_prefix)
                if note:
                    ann.paths = np.array(mapped, dtype=object)
                    ann.notes.append(note)
            _locate_file_images(ann, target, opts)
    if ann.n_rows == 0:
        raise InputError("the source lists no image", file=str(path), hint="an empty result is not a dataset")
    how = f"detected: {why}; force it with --format" if detected else "as given"
    ann.notes.insert(0, f"format: {format} ({how})")
    return ann
