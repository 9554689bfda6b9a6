"""Cloud labelling exports: Vertex AI JSON Lines, SageMaker Ground Truth manifests, Azure ML image JSON Lines.

Their image paths point at a bucket (``gs://``, ``s3://``, ``azureml://``): the prefix every path shares (or
``--path-prefix``) is taken off, so paths are relative to the images root where the user keeps the files.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.layout import image_folder_candidates, lines_of, locate_images, read_text_file
from labelprep.safeio import loads_json

__all__ = ["ML_USE", "cloud_kind", "has_url", "map_prefix", "read_cloud", "read_json_lines"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Vertex AI's ml_use and AutoML's first CSV column
ML_USE = {"training": "train", "train": "train", "validation": "validation", "validate": "validation",
          "test": "test", "unassigned": ""}  # fmt: skip
_VERTEX_USE_KEY = "aiplatform.googleapis.com/ml_use"


def read_json_lines(path: Path) -> list[tuple[int, Any]]:
    """(line, value) of each non-blank line of a JSON Lines file; a bad line is an error naming it."""
    out = []
    for lineno, line in enumerate(lines_of(read_text_file(path, what="JSON Lines file")), start=1):
        if not line.strip():
            continue
        out.append((lineno, loads_json(line, file=str(path), line=lineno, hint="each line must be one JSON object")))
    if not out:
        raise InputError("file is empty", file=str(path), hint="expected one JSON object a line")
    return out


def _label_attributes(record: dict[str, Any]) -> list[str]:
    return [k for k in record if isinstance(record.get(f"{k}-metadata"), dict)]


def cloud_kind(record: Any) -> str | None:
    """``vertex``, ``sagemaker`` or ``azure`` for the first record of a JSON Lines export, else None."""
    if not isinstance(record, dict):
        return None
    if "imageGcsUri" in record:
        return "vertex"
    if "source-ref" in record:
        return "sagemaker"
    if "image_url" in record and ("label" in record or "image_details" in record):
        return "azure"
    return None


def has_url(paths: Sequence[str] | npt.NDArray[np.object_]) -> bool:
    """Whether any path is a URL (``gs://...``), in one vectorised pass (a million paths in milliseconds)."""
    try:
        arr = pa.array(paths, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # not all str: the plain loop decides
        return any(_URL.match(str(p)) for p in paths)
    return bool(pc.any(pc.match_substring_regex(arr, _URL.pattern)).as_py())


def map_prefix(paths: Sequence[str], prefix: str | None) -> tuple[list[str], list[int], str | None]:
    """Paths with ``prefix`` taken off; without one, the folder every URL shares (``gs://b/dir/``).

    Returns the paths, the indices that did not start with the prefix (kept as given; validate reports
    them), and a note saying what was done (None when nothing was).
    """
    if prefix is None:
        if not has_url(paths):
            return list(paths), [], None
        urls = [p for p in paths if _URL.match(p)]
        if not urls:
            return list(paths), [], None
        common = os.path.commonprefix(urls)  # noqa: RUF071 (a string prefix, cut at its last slash)
        prefix = common[: common.rfind("/") + 1]
        if not prefix or prefix.endswith("://"):
            return list(paths), [], None
        how = "the folder every path shares; --path-prefix names another"
    else:
        how = "--path-prefix"
    out, unmapped = [], []
    for i, p in enumerate(paths):
        if p.startswith(prefix):
            out.append(p[len(prefix) :])
        else:
            out.append(p)
            unmapped.append(i)
    note = f"paths under {prefix} are read relative to the images root ({how})"
    if unmapped:
        note += f"; {len(unmapped)} path(s) do not start with it and are kept as given, e.g. {paths[unmapped[0]]!r}"
    return out, unmapped, note


def _names(value: Any, *, where: str, source: str, line: int) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, dict):
                v = v.get("displayName", v.get("label"))
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                raise InputError(f"{where}: label {v!r} is not a name", file=source, line=line)
            out.append(str(v))
        return out
    if isinstance(value, dict) and "displayName" in value:
        return [str(value["displayName"])]
    raise InputError(f"{where}: labels are {type(value).__name__}, expected a list of names", file=source, line=line)


def _vertex(record: dict[str, Any], where: str, source: str, line: int) -> tuple[str, list[str] | None, str]:
    labs: list[str] | None = None
    for key in ("classificationAnnotations", "classificationAnnotation", "boundingBoxAnnotations"):
        if key in record:
            labs = (labs or []) + _names(record[key], where=where, source=source, line=line)
    use = (record.get("dataItemResourceLabels") or {}).get(_VERTEX_USE_KEY, "")
    return str(record["imageGcsUri"]), labs, str(use)


def _azure(record: dict[str, Any], where: str, source: str, line: int) -> tuple[str, list[str] | None, str]:
    value = record.get("label")
    labs = None if value is None else _names(value, where=where, source=source, line=line)
    return str(record["image_url"]), labs, ""


def _sagemaker(record: dict[str, Any], attr: str, where: str, source: str, line: int) -> tuple[str, list[str] | None, str]:
    value = record.get(attr)
    meta = record.get(f"{attr}-metadata") or {}
    if value is None or meta.get("failure-reason"):
        return str(record["source-ref"]), None, ""
    kind = str(meta.get("type", ""))
    cmap = {str(k): str(v) for k, v in (meta.get("class-map") or {}).items()}

    def name(cid: Any) -> str:
        if str(cid) in cmap:
            return cmap[str(cid)]
        if kind == "groundtruth/image-classification" and "class-name" in meta:
            return str(meta["class-name"])
        raise InputError(f"{where}: class {cid!r} is not in {attr}-metadata's class-map", file=source, line=line)

    if kind.endswith("image-classification-multilabel") or isinstance(value, list):
        labs = [name(v) for v in value]
    elif kind.endswith("object-detection") or isinstance(value, dict):
        annotations = value.get("annotations") if isinstance(value, dict) else None
        if not isinstance(annotations, list):
            raise InputError(f"{where}: {attr!r} of type {kind or 'unknown'} has no annotations list", file=source,
                             line=line, hint="labelprep reads classification and object-detection jobs")  # fmt: skip
        labs = [name(a.get("class_id")) for a in annotations if isinstance(a, dict)]
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        labs = [name(value)]
    else:
        raise InputError(f"{where}: cannot read labels of type {kind or type(value).__name__!r}", file=source,
                         line=line, hint="labelprep reads classification and object-detection jobs")  # fmt: skip
    return str(record["source-ref"]), labs, ""


def _one_label_each(records: list[tuple[int, Any]], attrs: list[str]) -> bool:
    """Rekognition Custom Labels' multi-label manifest: every label attribute is a single-label classification
    with a ``class-name`` (one attribute a label), not one attribute holding them all."""
    for _, rec in records:
        for a in attrs:
            meta = rec.get(f"{a}-metadata") if isinstance(rec, dict) else None
            if meta is not None and not (str(meta.get("type", "")).endswith("image-classification")
                                         and "class-name" in meta):  # fmt: skip
                return False
    return True


def _under_images_root(paths: list[str], opts: ReadOptions, path: Path) -> tuple[list[str], Path, list[str]]:
    """The records' paths with ``--path-prefix`` (or the shared URL folder) taken off and, when the images sit in
    a subfolder of the images root, that folder put in front; the root; and the notes saying so."""
    mapped, _unmapped, note = map_prefix(paths, opts.path_prefix)
    base = Path(opts.images_root) if opts.images_root else path.parent
    found, found_note = locate_images(base, mapped, image_folder_candidates(base))
    prefix = os.path.relpath(found, base).replace(os.sep, "/")
    if prefix != ".":
        mapped = [p if _URL.match(p) else posixpath.join(prefix, p) for p in mapped]
    return mapped, base, [n for n in (note, found_note) if n]


def _read_label_attributes(path: Path, opts: ReadOptions, records: list[tuple[int, Any]],
                           attrs: list[str]) -> Annotations:  # fmt: skip
    """One attribute a label (Rekognition): an image has each label whose attribute it carries, named by the
    metadata's ``class-name``."""
    source = str(path)
    paths, labels, lines = [], [], []
    for n, (line, rec) in enumerate(records, start=1):
        if not isinstance(rec, dict) or "source-ref" not in rec:
            raise InputError(f"record {n} has no 'source-ref'", file=source, line=line)
        labs = []
        for a in attrs:
            meta = rec.get(f"{a}-metadata")
            if meta is not None and rec.get(a) not in (None, 0, False) and not meta.get("failure-reason"):
                labs.append(str(meta["class-name"]))
        paths.append(str(rec["source-ref"]))
        labels.append(list(dict.fromkeys(labs)))
        lines.append(line)
    mapped, base, notes = _under_images_root(paths, opts, path)
    ann = Annotations.from_lists(source, "sagemaker", mapped, labels, lines)
    ann.notes = [f"Rekognition Custom Labels manifest: one attribute a label ({', '.join(attrs[:6])}"
                 f"{' ...' if len(attrs) > 6 else ''}), named by class-name",
                 *notes]  # fmt: skip
    ann.images_root = str(base)
    return ann


def read_cloud(path: Path, opts: ReadOptions, kind: str, records: list[tuple[int, Any]] | None = None) -> Annotations:
    """A Vertex AI, SageMaker Ground Truth or Azure ML JSON Lines export (``kind``)."""
    source = str(path)
    if records is None:
        records = read_json_lines(path)
    attr = None
    if kind == "sagemaker":
        attrs: list[str] = []
        for _, rec in records:
            if isinstance(rec, dict):
                attrs += [a for a in _label_attributes(rec) if a not in attrs]
        if opts.labels_col:
            if opts.labels_col not in attrs:
                raise InputError(f"label attribute {opts.labels_col!r} not found", file=source,
                                 hint=f"the manifest's label attributes: {', '.join(attrs) or 'none'}")  # fmt: skip
            attr = opts.labels_col
        elif len(attrs) == 1:
            attr = attrs[0]
        elif _one_label_each(records, attrs):
            return _read_label_attributes(path, opts, records, attrs)
        elif not attrs:
            raise InputError("no label attribute (a key with a '<key>-metadata' beside it) in the manifest",
                             file=source, hint="is this a Ground Truth output manifest?")  # fmt: skip
        else:
            raise InputError(f"the manifest holds {len(attrs)} label attributes: {', '.join(attrs)}", file=source,
                             hint=f"choose one with --labels-col, e.g. --labels-col {attrs[-1]}")  # fmt: skip
    paths, labels, lines, splits = [], [], [], []
    dropped: list[LedgerEntry] = []
    for n, (line, rec) in enumerate(records, start=1):
        where = f"record {n}"
        if not isinstance(rec, dict):
            raise InputError(f"{where} is {type(rec).__name__}, not an object", file=source, line=line)
        if kind == "vertex":
            p, labs, split = _vertex(rec, where, source, line)
        elif kind == "azure":
            p, labs, split = _azure(rec, where, source, line)
        else:
            assert attr is not None
            if "source-ref" not in rec:
                raise InputError(f"{where} has no 'source-ref'", file=source, line=line)
            p, labs, split = _sagemaker(rec, attr, where, source, line)
        if labs is None:
            dropped.append(LedgerEntry(source, line, p, "unlabelled", "the record has no label"))
            continue
        paths.append(p)
        labels.append(list(dict.fromkeys(labs)))
        lines.append(line)
        splits.append(split)
    if not paths:
        raise InputError("no labelled record in the file", file=source)
    mapped, base, notes = _under_images_root(paths, opts, path)
    what = {"vertex": "Vertex AI JSON Lines", "sagemaker": f"SageMaker Ground Truth manifest (label attribute {attr!r})",
            "azure": "Azure ML image JSON Lines"}[kind]  # fmt: skip
    ann = Annotations.from_lists(source, kind, mapped, labels, lines)
    if any(splits):
        ann.columns = {"split": np.array([s or "unassigned" for s in splits], dtype=object)}
    ann.notes = [f"{what}: {len(paths)} labelled record(s)", *notes]
    ann.dropped = dropped
    if dropped:
        ann.notes.append(f"{len(dropped)} record(s) without a label left out (in the ledger)")
    ann.images_root = str(base)
    return ann
