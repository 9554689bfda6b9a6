"""VGG Image Annotator (VIA 1.x and 2.x): the project JSON, the annotations JSON and the CSV export.

An image's labels are the values its regions give one region attribute (``species: "cat"``), or that its
file attribute of that name gives: which attribute is the class is taken only on evidence:

- ``--labels-col NAME`` names it (a region or a file attribute);
- a project file's attribute definitions (``_via_attributes``): the one region attribute of type
  ``dropdown`` or ``radio`` (its options, in order, are the declared vocabulary); with several, none is taken;
- without definitions (the annotations JSON, the CSV export): the one region attribute whose values are
  text in every region that has it.

Checkbox answers (``{"yes": true}``) give the options ticked. An image without regions is a row with no label.
Regions that give no attribute at all (VIA's demo projects, whose class lives in the training code) are
refused: there is no label to read. Paths are the ``filename`` of each image (relative to the annotation file's
folder, or a URL).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, ReadOptions
from labelprep.readers.csvtext import Table, norm_name

__all__ = ["VIA_CSV_COLUMNS", "is_via", "is_via_table", "read_via", "read_via_csv"]

VIA_CSV_COLUMNS = ("filename", "file_size", "file_attributes", "region_count", "region_id",
                   "region_shape_attributes", "region_attributes")  # fmt: skip
_CLASS_TYPES = ("dropdown", "radio")


def _is_image_entry(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("filename"), str) and "regions" in v


def is_via(data: Any) -> bool:
    """A VIA project (``_via_img_metadata``) or annotations JSON (``{key: {filename, regions, ...}}``)."""
    if not isinstance(data, dict) or not data:
        return False
    if isinstance(data.get("_via_img_metadata"), dict):
        return True
    values = list(data.values())[:200]
    return all(_is_image_entry(v) for v in values)


def is_via_table(table: Table) -> bool:
    """VIA's CSV export: its seven columns, in its order."""
    return [norm_name(c) for c in table.columns] == [norm_name(c) for c in VIA_CSV_COLUMNS]


def _regions(entry: dict[str, Any]) -> list[dict[str, Any]]:
    regions = entry.get("regions") or []
    if isinstance(regions, dict):  # VIA 1.x: regions keyed by index
        regions = [regions[k] for k in sorted(regions, key=lambda k: int(k) if str(k).isdigit() else 0)]
    return [r.get("region_attributes") or {} for r in regions if isinstance(r, dict)]


def _values(answer: Any) -> list[str]:
    """The labels of one attribute's answer: text, a checkbox dict of ticked options, or a list."""
    if isinstance(answer, str):
        return [answer.strip()] if answer.strip() else []
    if isinstance(answer, dict):
        return [str(k) for k, ticked in answer.items() if ticked]
    if isinstance(answer, list):
        return [str(v) for v in answer if str(v).strip()]
    return []


def _class_attribute(defined: dict[str, Any] | None, regions: Iterable[dict[str, Any]], requested: str | None,
                     files: Iterable[dict[str, Any]], source: str) -> tuple[str, str, list[str] | None, str]:  # fmt: skip
    """(attribute, "region" or "file", its declared options or None, how it was chosen)."""
    regions, files = list(regions), list(files)
    if requested is not None:
        if any(requested in r for r in regions):
            return requested, "region", _options(defined, "region", requested), "named by --labels-col"
        if any(requested in f for f in files):
            return requested, "file", _options(defined, "file", requested), "named by --labels-col"
        raise InputError(f"no region or file attribute is named {requested!r}", file=source,
                         hint=f"attributes found: {_found(regions, files)}")  # fmt: skip
    if defined is not None:
        region_defs = defined.get("region") or {}
        classes = [a for a, d in region_defs.items() if isinstance(d, dict) and d.get("type") in _CLASS_TYPES]
        if len(classes) == 1:
            return classes[0], "region", _options(defined, "region", classes[0]), \
                f"the project's one {region_defs[classes[0]]['type']} region attribute"  # fmt: skip
        if len(classes) > 1:
            raise InputError(f"a VIA project with several choice region attributes ({', '.join(map(repr, classes))})",
                             file=source, hint="name the one that holds the classes with --labels-col")  # fmt: skip
    texts = sorted({k for r in regions for k, v in r.items() if isinstance(v, str)}
                   - {k for r in regions for k, v in r.items() if not isinstance(v, str)})  # fmt: skip
    if len(texts) == 1:
        return texts[0], "region", None, "the one region attribute whose answers are text"
    if not texts:
        found = _found(regions, files)
        fix = ("label the regions in VIA (a dropdown region attribute) and export again" if found == "none" else
               f"attributes found: {found}; name the one holding the classes with --labels-col")  # fmt: skip
        raise InputError("VIA regions with no class attribute: no region says what it holds (the class is not "
                         "written in this file)", file=source, hint=fix)  # fmt: skip
    raise InputError(f"VIA region attributes {', '.join(map(repr, texts))} all hold text: which is the class?",
                     file=source, hint="name it with --labels-col")  # fmt: skip


def _options(defined: dict[str, Any] | None, kind: str, name: str) -> list[str] | None:
    d = ((defined or {}).get(kind) or {}).get(name)
    options = d.get("options") if isinstance(d, dict) else None
    return [str(o) for o in options] if isinstance(options, dict) and options else None


def _found(regions: list[dict[str, Any]], files: list[dict[str, Any]]) -> str:
    shown = [f"region {k!r}" for k in sorted({k for r in regions for k in r})]
    shown += [f"file {k!r}" for k in sorted({k for f in files for k in f})]
    return ", ".join(shown) or "none"


def _annotations(source: str, entries: list[tuple[str, list[dict[str, Any]], dict[str, Any], int]],
                 defined: dict[str, Any] | None, opts: ReadOptions) -> Annotations:  # fmt: skip
    """entries: (filename, region attributes, file attributes, line) per image."""
    attr, kind, declared, how = _class_attribute(defined, (r for _, rs, _, _ in entries for r in rs),
                                                 opts.labels_col, (f for _, _, f, _ in entries), source)  # fmt: skip
    paths, labels, lines = [], [], []
    for filename, regions, file_attrs, line in entries:
        answers = [r.get(attr) for r in regions] if kind == "region" else [file_attrs.get(attr)]
        paths.append(filename)
        labels.append(list(dict.fromkeys(v for a in answers for v in _values(a))))
        lines.append(line)
    ann = Annotations.from_lists(source, "via", paths, labels, lines=lines)
    ann.declared = declared
    ann.notes.append(f"VIA: labels are the {kind} attribute {attr!r} ({how}); other attributes are not labels")
    return ann


def read_via(path: Path, opts: ReadOptions, data: Any = None) -> Annotations:
    """A VIA project or annotations JSON file."""
    defined = data.get("_via_attributes") if isinstance(data.get("_via_attributes"), dict) else None
    images = data["_via_img_metadata"] if "_via_img_metadata" in data else data
    order = data.get("_via_image_id_list") if isinstance(data.get("_via_image_id_list"), list) else list(images)
    entries = []
    for key in order:
        entry = images.get(key)
        if not _is_image_entry(entry):
            raise InputError(f"VIA image {key!r} has no filename", file=str(path), hint="re-export the project")
        entries.append((entry["filename"], _regions(entry), entry.get("file_attributes") or {}, 0))
    return _annotations(str(path), entries, defined, opts)


def _cell_json(text: str, source: str, line: int) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        raise InputError(f"not JSON: {text[:80]!r}", file=source, line=line,
                         hint="VIA's CSV export writes attributes as JSON text") from None  # fmt: skip
    if not isinstance(value, dict):
        raise InputError(f"attributes are a JSON object, not {text[:80]!r}", file=source, line=line)
    return value


def _table_entries(table: Table) -> list[tuple[str, list[dict[str, Any]], dict[str, Any], int]]:
    """VIA's CSV export, one row per region (a row of ``region_count`` 0 for an image without one)."""
    cols = dict(zip((norm_name(c) for c in VIA_CSV_COLUMNS), table.columns, strict=True))
    names = table.strings(cols["filename"]).tolist()
    counts = table.strings(cols["regioncount"]).tolist()
    files = table.strings(cols["fileattributes"]).tolist()
    regions = table.strings(cols["regionattributes"]).tolist()
    lines = table.lines().tolist()
    by_image: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any], int]] = {}
    for name, count, file_text, region_text, line in zip(names, counts, files, regions, lines, strict=True):
        entry = by_image.setdefault(name, (name, [], _cell_json(file_text, table.source, line), line))
        if count.strip() not in ("", "0"):
            entry[1].append(_cell_json(region_text, table.source, line))
    return list(by_image.values())


def read_via_csv(table: Table, opts: ReadOptions) -> Annotations:
    return _annotations(table.source, _table_entries(table), None, opts)
