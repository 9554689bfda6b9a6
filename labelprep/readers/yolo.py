"""YOLO (darknet and Ultralytics): a ``.txt`` label file per image of ``class x y w h`` lines.

Layouts: Ultralytics ``data.yaml`` (``names``; ``train``/``val``/``test`` folders or image lists) with
``images/<split>/`` and ``labels/<split>/``; Roboflow's ``<split>/images`` + ``<split>/labels``; darknet's
``obj.data`` + ``obj.names`` + ``obj_train_data/`` (label files beside the images) and ``train.txt`` lists;
LabelImg's label files beside the images with ``classes.txt``. An image's labels are the classes of its
objects; an image without a label file, or with an empty one, has none (YOLO's background image).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.folders import is_image_name, walk_files
from labelprep.readers.layout import is_regular, lines_of, read_text_file, split_word

__all__ = ["NAME_FILES", "find_yolo_config", "is_yolo_text", "read_yolo"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# a class id and at least four numbers: a box (4), an oriented box (8), a polygon or keypoints (more)
_LINE = re.compile(rf"^\s*(\d+)(?:\s+{_NUM}){{4,}}\s*$")
NAME_FILES = ("obj.names", "classes.txt", "classes.names", "coco.names", "names.txt", "_darknet.labels")
_SPLIT_KEYS = ("train", "val", "valid", "test")


def is_yolo_text(text: str) -> bool:
    """True when every non-blank line is ``class x y w h`` (or longer: polygons, keypoints) and there is one."""
    lines = [ln for ln in lines_of(text) if ln.strip()]
    return bool(lines) and all(_LINE.match(ln) for ln in lines)


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(read_text_file(path, what="YAML file"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"malformed YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                         line=mark.line + 1 if mark is not None else None) from None  # fmt: skip


def find_yolo_config(root: Path, files: list[str]) -> Path | None:
    """The dataset YAML (``names`` key) or darknet ``obj.data`` at the top of ``root``, if there is one."""
    cands = [f for f in files if "/" not in f and f.lower().endswith((".yaml", ".yml"))]
    found = []
    for f in cands:
        try:
            data = _load_yaml(root / f)
        except InputError:
            continue
        if isinstance(data, dict) and ("names" in data or "nc" in data):
            found.append(root / f)
    if len(found) > 1:
        named = [p for p in found if p.name.lower() in ("data.yaml", "data.yml", "dataset.yaml")]
        if len(named) == 1:
            return named[0]
        raise InputError(f"{len(found)} YOLO dataset files here: {', '.join(p.name for p in found)}",
                         file=str(root), hint="pass the one to read as SOURCE")  # fmt: skip
    if found:
        return found[0]
    data_files = [f for f in files if "/" not in f and f.lower().endswith(".data")]
    return root / data_files[0] if len(data_files) == 1 else None


def _names_from(value: Any, where: Path) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        try:
            ids = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            raise InputError("'names' must map class numbers to names", file=str(where)) from None
        if ids != list(range(len(ids))):
            raise InputError(f"'names' class numbers are not 0..{len(ids) - 1}", file=str(where))
        by_id = {int(k): str(v) for k, v in value.items()}
        return [by_id[i] for i in ids]
    raise InputError(f"'names' is {type(value).__name__}, expected a list or a mapping", file=str(where))


def _names_file(path: Path) -> list[str]:
    return [ln.strip() for ln in lines_of(read_text_file(path, what="class names file")) if ln.strip()]


@dataclass
class _Layout:
    root: Path
    names: list[str] | None = None
    names_from: str | None = None
    # split -> image paths relative to root; None: every image under root, split by folder words
    splits: dict[str, list[str]] | None = None
    notes: list[str] = field(default_factory=list)


def _resolve(base: Path, root: Path, value: str) -> Path | None:
    """A path from a YOLO config: relative to the dataset root, else the config's folder, trying without the
    ``../`` Roboflow writes and the ``data/`` darknet writes."""
    v = value.strip().replace("\\", "/")
    tries = [v]
    stripped = v
    while stripped.startswith("../"):
        stripped = stripped[3:]
        tries.append(stripped)
    if v.startswith("data/"):
        tries.append(v[5:])
    for t in tries:
        for b in (root, base):
            p = b / t
            if p.exists():
                return p
    return None


def _images_of(target: Path, root: Path, source: Path) -> list[str]:
    """Image paths (relative to ``root``) a config's split names: a folder of images or a list file."""
    if target.is_dir():
        return [posixpath.join(os.path.relpath(target, root).replace(os.sep, "/"), f)
                for f in walk_files(target) if is_image_name(f) and "/labels/" not in f"/{f}"]  # fmt: skip
    out = []
    for line in lines_of(read_text_file(target, what="image list")):
        line = line.strip()
        if not line:
            continue
        p = _resolve(target.parent, root, line)
        rel = os.path.relpath(p, root).replace(os.sep, "/") if p is not None else line.removeprefix("./")
        out.append(rel)
    return out


def _layout(root: Path, config: Path | None, files: list[str]) -> _Layout:
    lay = _Layout(root)
    if config is not None and config.suffix.lower() == ".data":
        entries = {}
        for line in lines_of(read_text_file(config, what="darknet data file")):
            if "=" in line:
                k, v = line.split("=", 1)
                entries[k.strip().lower()] = v.strip()
        if "names" in entries:
            p = _resolve(config.parent, root, entries["names"])
            if p is None:
                raise InputError(f"names file {entries['names']!r} not found", file=str(config))
            lay.names, lay.names_from = _names_file(p), p.name
        splits = {}
        for key in _SPLIT_KEYS:
            if key in entries:
                p = _resolve(config.parent, root, entries[key])
                if p is None:
                    raise InputError(f"{key} list {entries[key]!r} not found", file=str(config))
                splits[key] = _images_of(p, root, config)
        lay.splits = splits or None
        return lay
    if config is not None:
        data = _load_yaml(config)
        base = config.parent
        if isinstance(data.get("path"), str):
            p = _resolve(config.parent, config.parent, data["path"])
            if p is not None and p.is_dir():
                base = p
        lay.root = root = base if base.is_dir() else root
        if "names" in data:
            lay.names, lay.names_from = _names_from(data["names"], config), config.name
        splits = {}
        for key in _SPLIT_KEYS:
            value = data.get(key)
            if not value:
                continue
            images: list[str] = []
            for v in value if isinstance(value, list) else [value]:
                p = _resolve(config.parent, root, str(v))
                if p is None:
                    lay.notes.append(f"{key}: {v!r} from {config.name} not found; that split is left out")
                    continue
                images += _images_of(p, root, config)
            splits[key] = images
        lay.splits = splits or None
        return lay
    for name in NAME_FILES:
        hits = [f for f in files if f.rsplit("/", 1)[-1] == name and f.count("/") <= 1]
        if not hits:
            continue
        lists = [_names_file(root / h) for h in hits]
        if any(lst != lists[0] for lst in lists[1:]):  # Roboflow writes one per split folder: they must agree
            raise InputError(f"the class names files disagree: {', '.join(hits[:4])}", file=str(root / hits[1]),
                             hint="the class numbers mean one thing in every split; make the files the same")  # fmt: skip
        lay.names, lay.names_from = lists[0], hits[0] if len(hits) == 1 else f"{name} ({len(hits)} alike)"
        break
    return lay


def _label_file(root: Path, image: str) -> str | None:
    """The label file of an image: Ultralytics' (the last ``images/`` folder becomes ``labels/``), else beside."""
    stem = posixpath.splitext(image)[0]
    cands = []
    parts = stem.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i].lower() == "images":
            cands.append("/".join([*parts[:i], "labels" if parts[i] == "images" else "Labels", *parts[i + 1 :]]) + ".txt")
            break
    cands.append(stem + ".txt")
    for c in cands:
        if (root / c).is_file():
            return c
    return None


def _folder_split(image: str) -> str:
    for part in image.split("/")[:-1]:
        word = split_word(part)
        if word is not None and part.lower() not in ("images", "labels"):
            return part
    return ""


def read_yolo(root: Path, opts: ReadOptions, config: Path | None = None) -> Annotations:
    """A YOLO dataset folder (``root``), or its ``data.yaml`` / ``obj.data`` (``config``)."""
    if root.is_file():
        config, root = root, root.parent
    files = walk_files(root)
    if config is None:
        config = find_yolo_config(root, files)
    lay = _layout(root, config, files)
    root = lay.root
    if lay.splits is None:
        files = walk_files(root)
        items = [(_folder_split(f), f) for f in files if is_image_name(f) and "labels" not in f.split("/")[:-1]]
    else:
        items = [("" if key == "train" and len(lay.splits) == 1 else key, img)
                 for key, imgs in lay.splits.items() for img in imgs]  # fmt: skip
    if not items:
        raise InputError("no images found for this YOLO dataset", file=str(config or root),
                         hint="expected images/<split>/*.jpg beside labels/<split>/*.txt")  # fmt: skip
    names = lay.names
    paths, labels, lines_, files_of, splits = [], [], [], [], []
    missing = 0
    used_labels: set[str] = set()
    seen_ids: set[str] = set()
    for split, image in items:
        lf = _label_file(root, image)
        labs: list[str] = []
        if lf is None:
            missing += 1
        else:
            used_labels.add(lf)
            text = read_text_file(root / lf, what="YOLO label file", root=root)
            for lineno, line in enumerate(lines_of(text), start=1):
                if not line.strip():
                    continue
                m = _LINE.match(line)
                if m is None:
                    raise InputError(f"not a YOLO label line (class x y w h): {line.strip()[:80]!r}",
                                     file=str(root / lf), line=lineno)  # fmt: skip
                cls = int(m.group(1))
                if names is not None:
                    if cls >= len(names):
                        raise InputError(f"class {cls} is not in {lay.names_from} ({len(names)} names)",
                                         file=str(root / lf), line=lineno, hint="fix the class id or the names")  # fmt: skip
                    name = names[cls]
                else:
                    name = str(cls)
                    seen_ids.add(name)
                if name not in labs:
                    labs.append(name)
        paths.append(image)
        labels.append(labs)
        lines_.append(0)
        files_of.append(str(root / lf) if lf else str(root / image))
        splits.append(split)
    ann = Annotations.from_lists(str(config or root), "yolo", paths, labels, lines_)
    ann.files = np.array(files_of, dtype=object)
    if any(splits):
        ann.columns = {"split": np.array([s or "default" for s in splits], dtype=object)}
    if names is not None:
        ann.declared = list(names)
    else:
        ann.declared = sorted(seen_ids, key=int)
    notes = [f"YOLO labels: {len(items)} image(s), {len(used_labels)} label file(s)"
             + (f"; class names from {lay.names_from}" if lay.names_from else ""), *lay.notes]
    if names is None:
        notes.append("no class names file (data.yaml, obj.names, classes.txt): labels are the class numbers; "
                     "pass --label-map with one name a line to name them")  # fmt: skip
    if missing:
        notes.append(f"{missing} image(s) without a label file: images with no object (all-zero rows)")
    all_txt = {f for f in walk_files(root) if f.endswith(".txt") and posixpath.splitext(f)[0].split("/")[-1] != ""}
    orphans = sorted(f for f in all_txt if f not in used_labels and _LINE.match(_first_line(root / f) or "x"))
    ann.dropped = [LedgerEntry(str(root / f), None, f, "label file without an image", "file ignored")
                   for f in orphans]  # fmt: skip
    if orphans:
        notes.append(f"{len(orphans)} label file(s) without an image left out (in the ledger)")
    ann.notes = notes
    ann.images_root = str(root)
    ann.raw_path_is_final = True
    return ann


def _first_line(path: Path) -> str | None:
    try:
        if not is_regular(path):
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    return line
    except OSError:
        return None
    return None
