"""CUB-200-2011 style index files: numbered lists joined by image id.

``images.txt`` (``<id> <path under images/>``), ``image_class_labels.txt`` (``<id> <class id>``),
``classes.txt`` (``<class id> <name>``; its order is the vocabulary, classes without an image included) and,
when present, ``train_test_split.txt`` (``<id> 1`` train, ``<id> 0`` test). One class an image. The files
beside them (``bounding_boxes.txt``, ``parts/``, ``attributes/``) are coordinates and attributes, not the
classes, and are not read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, ReadOptions
from labelprep.readers.layout import lines_of, read_text_file

__all__ = ["CUB_FILES", "cub_root", "read_cub"]

CUB_FILES = ("images.txt", "image_class_labels.txt", "classes.txt")
SPLIT_FILE = "train_test_split.txt"


def cub_root(path: Path) -> Path | None:
    """The folder of CUB index files ``path`` is (or one of whose files it is), or None."""
    root = path if path.is_dir() else path.parent
    if path.is_file() and path.name not in (*CUB_FILES, SPLIT_FILE):
        return None
    return root if all((root / name).is_file() for name in CUB_FILES) else None


def _pairs(root: Path, name: str) -> list[tuple[str, str, int]]:
    """(first field, the rest, line) of each non-blank line of ``root/name``; two fields at least."""
    out = []
    text = read_text_file(root / name, what=name, root=root)
    for line, raw in enumerate(lines_of(text), start=1):
        if not raw.strip():
            continue
        key, _, rest = raw.strip().partition(" ")
        if not rest.strip():
            raise InputError(f"expected '<id> <value>', found {raw.strip()[:80]!r}", file=str(root / name), line=line)
        out.append((key, rest.strip(), line))
    return out


def _mapping(root: Path, name: str) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for key, value, line in _pairs(root, name):
        if key in out:
            raise InputError(f"id {key!r} is listed twice", file=str(root / name), line=line)
        out[key] = (value, line)
    return out


def read_cub(root: Path, opts: ReadOptions) -> Annotations:
    """The index files under ``root`` (see the module docstring)."""
    images = _pairs(root, "images.txt")
    labels = _mapping(root, "image_class_labels.txt")
    classes = _mapping(root, "classes.txt")
    splits = _mapping(root, SPLIT_FILE) if (root / SPLIT_FILE).is_file() else None
    paths, names, lines, split_of = [], [], [], []
    for image_id, path, line in images:
        if image_id not in labels:
            raise InputError(f"image id {image_id} has no class in image_class_labels.txt", file=str(root / "images.txt"),
                             line=line)  # fmt: skip
        class_id, class_line = labels[image_id]
        if class_id not in classes:
            raise InputError(f"class id {class_id} is not in classes.txt", file=str(root / "image_class_labels.txt"),
                             line=class_line)  # fmt: skip
        paths.append(path)
        names.append([classes[class_id][0]])
        lines.append(line)
        if splits is not None:
            flag, split_line = splits.get(image_id, ("", 0))
            if flag not in ("0", "1"):
                raise InputError(f"image id {image_id}: is_training_image must be 1 or 0, not {flag or 'missing'!r}",
                                 file=str(root / SPLIT_FILE), line=split_line or None)  # fmt: skip
            split_of.append("train" if flag == "1" else "test")
    ann = Annotations.from_lists(str(root / "images.txt"), "cub", paths, names, lines=lines)
    ann.declared = [name for name, _ in classes.values()]
    ann.images_root = str(root / "images") if (root / "images").is_dir() else str(root)
    if splits is not None:
        ann.columns = {"split": np.array(split_of, dtype=object)}
    ann.notes.append("CUB index files: images.txt, image_class_labels.txt, classes.txt"
                     + (f", {SPLIT_FILE} (1 = train, 0 = test)" if splits is not None else "")
                     + "; one class an image; bounding boxes, parts and attributes are not read")  # fmt: skip
    return ann
