"""Labelling-tool exports: CVAT for images XML, Datumaro JSON, LabelMe JSON, VoTT JSON.

For detection-style annotations an image's labels are the classes of its objects (boxes, polygons, masks,
points, image-level tags alike); an image with no object stays, with no label.
"""

from __future__ import annotations

import os
import posixpath
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.folders import walk_files
from labelprep.readers.layout import image_folder_candidates, locate_images, read_text_file, split_word
from labelprep.safeio import read_regular_file

__all__ = ["cvat_kind", "is_kitti_text", "read_cvat", "read_datumaro", "read_kitti", "read_labelme", "read_vott"]

_CVAT_SHAPES = ("tag", "box", "polygon", "polyline", "points", "cuboid", "mask", "skeleton", "ellipse")


def _parse_xml(path: Path) -> ET.Element:
    try:
        return ET.fromstring(read_regular_file(path, what="the XML file"))
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise InputError(f"malformed XML: {exc}", file=str(path), line=line) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None


def cvat_kind(root: ET.Element) -> str | None:
    """``images`` or ``video`` for a CVAT XML document, None for another XML."""
    if root.tag != "annotations":
        return None
    if root.find("image") is not None:
        return "images"
    if root.find("track") is not None:
        return "video"
    return "images" if root.find("meta") is not None else None


def _cvat_declared(root: ET.Element) -> list[str]:
    out: list[str] = []
    meta = root.find("meta")
    if meta is None:
        return out
    for label in meta.iter("label"):
        name = (label.findtext("name") or "").strip()
        if name and name not in out and not (label.findtext("parent") or "").strip():  # skeleton points have one
            out.append(name)
    return out


def _locate_per_split(base: Path, paths: list[str], splits: list[str]) -> tuple[list[str], list[str]]:
    """Paths made relative to ``base``, each split's images looked for where exports put them."""
    out = list(paths)
    notes = []
    for split in dict.fromkeys(splits):
        idx = [i for i, s in enumerate(splits) if s == split]
        rel = [paths[i] for i in idx]
        found, note = locate_images(base, rel, image_folder_candidates(base, split or None))
        if found != base:
            prefix = os.path.relpath(found, base).replace(os.sep, "/")
            for i in idx:
                out[i] = posixpath.join(prefix, paths[i])
            if note:
                notes.append((f"{split}: " if split else "") + note)
    return out, notes


def read_cvat(path: Path, opts: ReadOptions) -> Annotations:
    """CVAT for images 1.1 XML: ``<image name=...>`` with ``<tag label=...>`` and shapes of any kind.

    The vocabulary is the labels ``<meta>`` declares; images of a project export keep their ``subset``.
    """
    root = _parse_xml(path)
    kind = cvat_kind(root)
    if kind == "video":
        raise InputError("this is a CVAT for video export (tracks across frames), not CVAT for images",
                         file=str(path), hint="export the task as 'CVAT for images 1.1' and convert that")  # fmt: skip
    if kind is None:
        raise InputError(f"not a CVAT XML file (root <{root.tag}>)", file=str(path))
    declared = _cvat_declared(root)
    paths, labels, splits = [], [], []
    for image in root.findall("image"):
        name = image.get("name")
        if not name:
            raise InputError(f"<image id={image.get('id')!r}> has no name", file=str(path))
        labs: list[str] = []
        for child in image:
            if child.tag in _CVAT_SHAPES:
                lab = (child.get("label") or "").strip()
                if lab and lab not in labs:
                    labs.append(lab)
        paths.append(name.replace("\\", "/"))
        labels.append(labs)
        splits.append((image.get("subset") or "").strip())
    if not paths:
        raise InputError("the CVAT file lists no image", file=str(path))
    base = Path(opts.images_root) if opts.images_root else path.parent
    located, notes = _locate_per_split(base, paths, splits)
    ann = Annotations.from_lists(str(path), "cvat", located, labels)
    ann.declared = declared + sorted({lab for labs in labels for lab in labs} - set(declared))
    real = {s for s in splits if s and s.lower() != "default"}
    if real:
        ann.columns = {"split": np.array([s or "default" for s in splits], dtype=object)}
    ann.notes = [f"CVAT for images: {len(paths)} image(s), {len(declared)} declared label(s)", *notes]
    ann.images_root = str(base)
    return ann


def read_datumaro(path: Path, opts: ReadOptions, data: Any = None) -> Annotations:
    """A Datumaro ``annotations/<subset>.json``: ``categories.label.labels`` and ``items[].annotations``.

    Every annotation with a ``label_id`` (label, bbox, polygon, mask, points ...) names its class. Image paths
    come from ``image.path`` (or ``media.path``), else the item id, under ``images/<subset>/``.
    """
    if data is None:
        data = _load(path)
    cats = ((data.get("categories") or {}).get("label") or {}).get("labels") or []
    names = [str(c.get("name")) if isinstance(c, dict) else str(c) for c in cats]
    items = data.get("items")
    if not isinstance(items, list):
        raise InputError("Datumaro file has no 'items' list", file=str(path))
    paths, labels = [], []
    subset = path.stem
    for k, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(f"item {k} is not an object", file=str(path))
        media = item.get("image") or item.get("media") or {}
        p = media.get("path") if isinstance(media, dict) else None
        if not p:
            p = f"{item.get('id')}.jpg"
            if item.get("id") is None:
                raise InputError(f"item {k} has neither an id nor an image path", file=str(path))
        labs: list[str] = []
        for a in item.get("annotations") or []:
            lid = a.get("label_id") if isinstance(a, dict) else None
            if lid is None:
                continue
            if not isinstance(lid, int) or not 0 <= lid < len(names):
                raise InputError(f"item {k} ({item.get('id')!r}): label_id {lid!r} is not one of the "
                                 f"{len(names)} categories", file=str(path))  # fmt: skip
            if names[lid] not in labs:
                labs.append(names[lid])
        paths.append(str(p).replace("\\", "/"))
        labels.append(labs)
    if not paths:
        raise InputError("the Datumaro file lists no item", file=str(path))
    dataset = path.parent.parent if path.parent.name == "annotations" else path.parent
    if opts.images_root:
        dataset = Path(opts.images_root)
    located, notes = _locate_per_split(dataset, paths, [subset] * len(paths))
    ann = Annotations.from_lists(str(path), "datumaro", located, labels)
    ann.declared = names
    ann.notes = [f"Datumaro subset {subset!r}: {len(paths)} item(s), {len(names)} categories", *notes]
    ann.images_root = str(dataset)
    return ann


def _load(path: Path, root: Path | None = None) -> Any:
    from labelprep.safeio import loads_json

    return loads_json(read_text_file(path, what="JSON file", root=root), file=str(path))


def is_labelme(data: Any) -> bool:
    return isinstance(data, dict) and "shapes" in data and ("imagePath" in data or "imageData" in data)


def read_labelme(root: Path, opts: ReadOptions) -> Annotations:
    """LabelMe JSON: one file per image (``imagePath``, ``shapes[].label``, ``flags``); ``root`` is one such file
    or a folder of them. Checked flags are labels too; an image with no shape and no checked flag has none."""
    files = [root] if root.is_file() else [root / f for f in walk_files(root) if f.lower().endswith(".json")]
    base = root.parent if root.is_file() else root
    paths, labels, sources, splits = [], [], [], []
    skipped: list[LedgerEntry] = []
    flags_seen: list[str] = []
    for f in files:
        data = _load(f, base)
        if not is_labelme(data):
            skipped.append(LedgerEntry(str(f), None, os.path.relpath(f, base), "not a LabelMe file", "file ignored"))
            continue
        labs: list[str] = []
        for shape in data.get("shapes") or []:
            lab = str(shape.get("label") or "").strip() if isinstance(shape, dict) else ""
            if lab and lab not in labs:
                labs.append(lab)
        flags = data.get("flags") or {}
        if isinstance(flags, dict):
            for k, v in flags.items():
                flags_seen += [k] if k not in flags_seen else []
                if v is True and k not in labs:
                    labs.append(k)
        image = str(data.get("imagePath") or (f.stem + ".jpg")).replace("\\", "/")
        full = posixpath.normpath(posixpath.join(os.path.relpath(f.parent, base).replace(os.sep, "/"), image))
        if not (base / full).is_file() and (f.parent / posixpath.basename(image)).is_file():
            full = posixpath.join(os.path.relpath(f.parent, base).replace(os.sep, "/"), posixpath.basename(image))
            full = posixpath.normpath(full)
        paths.append(full)
        labels.append(labs)
        sources.append(str(f))
        rel_parent = os.path.relpath(f.parent, base).replace(os.sep, "/")
        splits.append(next((p for p in rel_parent.split("/") if split_word(p) is not None), ""))
    if not paths:
        raise InputError("no LabelMe JSON file here (one a image, with 'shapes' and 'imagePath')", file=str(root))
    ann = Annotations.from_lists(str(root), "labelme", paths, labels)
    ann.files = np.array(sources, dtype=object)
    if any(splits):
        ann.columns = {"split": np.array([s or "default" for s in splits], dtype=object)}
    ann.dropped = skipped
    ann.notes = [f"LabelMe: {len(paths)} annotation file(s)"
                 + (f"; flags {', '.join(flags_seen[:10])} (checked = label)" if flags_seen else "")]  # fmt: skip
    if skipped:
        ann.notes.append(f"{len(skipped)} other JSON file(s) left out (in the ledger)")
    ann.images_root = str(base)
    ann.raw_path_is_final = True
    return ann


def is_vott(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("assets"), dict) and ("tags" in data or "version" in data)


def _asset_name(asset: dict[str, Any]) -> str:
    name = asset.get("name")
    if isinstance(name, str) and name:
        return unquote(name)
    p = str(asset.get("path") or "")
    return unquote(posixpath.basename(urlparse(p).path or p))


def read_vott(path: Path, opts: ReadOptions, data: Any = None) -> Annotations:
    """A VoTT JSON export: ``tags`` (the vocabulary) and ``assets{id: {asset: {name, path}, regions[].tags}}``.

    Asset paths point at the labelling machine (``file:C:/...``); images are looked for by name beside the
    export (where VoTT writes them) and in its images folders.
    """
    if data is None:
        data = _load(path)
    declared = [str(t.get("name")) for t in data.get("tags") or [] if isinstance(t, dict) and t.get("name")]
    paths, labels = [], []
    for key, entry in data["assets"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("asset"), dict):
            raise InputError(f"asset {key!r} has no 'asset' object", file=str(path))
        labs: list[str] = []
        for region in entry.get("regions") or []:
            for t in region.get("tags") or [] if isinstance(region, dict) else []:
                if str(t) not in labs:
                    labs.append(str(t))
        paths.append(_asset_name(entry["asset"]))
        labels.append(labs)
    if not paths:
        raise InputError("the VoTT export lists no asset", file=str(path))
    base = Path(opts.images_root) if opts.images_root else path.parent
    found, note = locate_images(base, paths, image_folder_candidates(base))
    prefix = os.path.relpath(found, base).replace(os.sep, "/")
    located = paths if prefix == "." else [posixpath.join(prefix, p) for p in paths]
    ann = Annotations.from_lists(str(path), "vott", located, labels)
    ann.declared = declared + sorted({lab for labs in labels for lab in labs} - set(declared))
    ann.notes = [f"VoTT JSON: {len(paths)} asset(s), {len(declared)} tag(s); images matched by asset name"]
    if note:
        ann.notes.append(note)
    ann.images_root = str(base)
    return ann


_KITTI_LINE = re.compile(r"^\s*([A-Za-z_][\w-]*)((\s+[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?){14,15})\s*$")


def is_kitti_text(text: str) -> bool:
    """KITTI object labels: a class name then 14 numbers (15 with a score) on every line."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return bool(lines) and all(_KITTI_LINE.match(ln) for ln in lines)


def read_kitti(root: Path, opts: ReadOptions) -> Annotations:
    """KITTI object detection: ``<subset>/label_2/<id>.txt`` beside ``<subset>/image_2/<id>.png``.

    An image's labels are its objects' classes; ``DontCare`` marks ignored regions and is no class.
    """
    from labelprep.readers.folders import walk_files

    files = [f for f in walk_files(root) if f.endswith(".txt") and f.split("/")[-2:-1] == ["label_2"]]
    paths, labels, sources, subsets = [], [], [], []
    for f in files:
        text = read_text_file(root / f, what="KITTI label file", root=root)
        labs: list[str] = []
        for lineno, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            m = _KITTI_LINE.match(line)
            if m is None:
                raise InputError(f"not a KITTI object line (type and 14 numbers): {line.strip()[:80]!r}",
                                 file=str(root / f), line=lineno)  # fmt: skip
            if m.group(1) != "DontCare" and m.group(1) not in labs:
                labs.append(m.group(1))
        folder = f.rsplit("/", 2)[0] if f.count("/") >= 2 else ""
        stem = posixpath.splitext(f.rsplit("/", 1)[-1])[0]
        image_dir = posixpath.join(folder, "image_2") if folder else "image_2"
        image = next((posixpath.join(image_dir, stem + ext) for ext in (".png", ".jpg", ".jpeg")
                      if (root / image_dir / (stem + ext)).is_file()), posixpath.join(image_dir, stem + ".png"))  # fmt: skip
        paths.append(image)
        labels.append(labs)
        sources.append(str(root / f))
        subsets.append(folder.rsplit("/", 1)[-1] if folder else "")
    if not paths:
        raise InputError("no KITTI label_2/*.txt here", file=str(root))
    ann = Annotations.from_lists(str(root), "kitti", paths, labels)
    ann.files = np.array(sources, dtype=object)
    ann.declared = sorted({lab for labs in labels for lab in labs})
    if len(set(subsets)) > 1:
        ann.columns = {"split": np.array([s or "default" for s in subsets], dtype=object)}
    ann.notes = [f"KITTI object labels: {len(paths)} label file(s); DontCare regions are no class"]
    ann.images_root = str(root)
    ann.raw_path_is_final = True
    return ann
