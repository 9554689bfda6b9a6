"""Supervisely image projects: ``meta.json`` and one folder per dataset of ``img/`` and ``ann/<image>.json``.

``meta.json`` declares the project's object ``classes`` and its ``tags``. An image's labels are, on that
evidence:

- the classes of its objects (``objects[].classTitle``) when the project declares classes (the vocabulary is
  the declared classes, in order); image tags are then review marks or attributes, named in a note;
- its image tags (``tags[].name`` of tags without a value) when the project declares no class, as a
  classification project does (the vocabulary is the declared tags without a value type).

Tags with a value (``any_string``, ``oneof_string``, numbers) are attributes, never labels. Datasets are
splits when every dataset is named like one (``train``, ``val``); otherwise they are folders of one set. An
image with no annotation file is left out and reported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.folders import is_image_name
from labelprep.readers.jsonforms import load_json
from labelprep.readers.layout import split_word

__all__ = ["is_supervisely", "read_supervisely"]


def _datasets(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and (d / "ann").is_dir() and (d / "img").is_dir())


def is_supervisely(root: Path) -> bool:
    """A folder holding ``meta.json`` (``classes`` and ``tags``) and datasets of ``img/`` and ``ann/``."""
    meta = root / "meta.json"
    if not (root.is_dir() and meta.is_file() and _datasets(root)):
        return False
    try:
        data = load_json(meta)
    except InputError:
        return False
    return isinstance(data, dict) and isinstance(data.get("classes"), list) and isinstance(data.get("tags"), list)


def _declared(meta: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(object classes, tags without a value) that ``meta.json`` declares, in order."""
    classes = [c["title"] for c in meta["classes"] if isinstance(c, dict) and isinstance(c.get("title"), str)]
    tags = [t["name"] for t in meta["tags"] if isinstance(t, dict) and isinstance(t.get("name"), str)
            and t.get("value_type", "none") == "none"]  # fmt: skip
    return classes, tags


def _image_labels(ann: Any, by_class: bool, file: str) -> tuple[list[str], set[str]]:
    """An annotation's labels, and the image tags it carries (for the note when classes are the labels)."""
    if not isinstance(ann, dict) or not isinstance(ann.get("objects", []), list):
        raise InputError("not a Supervisely annotation (an object with 'objects' and 'tags')", file=file)
    tags = {t["name"] for t in ann.get("tags") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)
            and t.get("value") is None}  # fmt: skip
    if not by_class:
        return sorted(tags), tags
    names = [o.get("classTitle") for o in ann["objects"] if isinstance(o, dict)]
    bad = next((n for n in names if not isinstance(n, str)), None)
    if bad is not None or any(not isinstance(o, dict) for o in ann["objects"]):
        raise InputError(f"an object without a classTitle ({bad!r})", file=file, hint="re-export the project")
    return list(dict.fromkeys(names)), tags  # type: ignore[arg-type]


def read_supervisely(root: Path, opts: ReadOptions) -> Annotations:
    """The project under ``root`` (see the module docstring)."""
    meta_file = root / "meta.json"
    meta = load_json(meta_file)
    classes, tag_names = _declared(meta)
    by_class = bool(classes)
    datasets = _datasets(root)
    splits = [split_word(d.name) for d in datasets]
    as_splits = all(splits) and len(set(splits)) == len(splits)
    paths: list[str] = []
    labels: list[list[str]] = []
    row_splits: list[str] = []
    dropped: list[LedgerEntry] = []
    tags_seen: set[str] = set()
    for dataset, split in zip(datasets, splits, strict=True):
        # every image, and every annotation file (one naming an image that is not there is still a row: validate
        # reports the missing file); other files in img/ are left out with their reason
        images = set(os.listdir(dataset / "img"))
        annotated = {n[: -len(".json")] for n in os.listdir(dataset / "ann") if n.endswith(".json")}
        for name in sorted(images | annotated):
            rel = f"{dataset.name}/img/{name}"
            if not is_image_name(name):
                dropped.append(LedgerEntry(str(root), None, rel, "not an image file name", "file ignored"))
                continue
            ann_file = dataset / "ann" / f"{name}.json"
            if not ann_file.is_file():
                dropped.append(LedgerEntry(str(root), None, rel, "no annotation file", f"{dataset.name}/ann/{name}.json"))
                continue
            labs, tags = _image_labels(load_json(ann_file), by_class, str(ann_file))
            tags_seen |= tags
            paths.append(rel)
            labels.append(labs)
            row_splits.append(split or "")
    if not paths:
        raise InputError("a Supervisely project with no annotated image", file=str(root),
                         hint="each dataset holds img/<image> and ann/<image>.json")  # fmt: skip
    ann = Annotations.from_lists(str(root), "supervisely", paths, labels)
    ann.declared = classes if by_class else tag_names
    ann.dropped = dropped
    ann.images_root = str(root)
    ann.raw_path_is_final = True
    what = "the classes of its objects (meta.json declares classes)" if by_class else \
        "its image tags (meta.json declares no object class)"  # fmt: skip
    ann.notes.append(f"Supervisely project: {len(datasets)} dataset(s); an image's labels are {what}")
    if by_class and tags_seen:
        ann.notes.append(f"image tags {', '.join(map(repr, sorted(tags_seen)))} are not labels here (the project "
                         "declares object classes)")  # fmt: skip
    if as_splits:
        ann.columns = {"split": np.array(row_splits, dtype=object)}
        ann.notes.append(f"datasets named like splits: {', '.join(d.name for d in datasets)}")
    elif len(datasets) > 1:
        ann.notes.append(f"datasets {', '.join(d.name for d in datasets)} are folders of one set, not splits")
    return ann
