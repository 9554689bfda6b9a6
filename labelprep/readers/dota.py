"""DOTA (aerial object detection): ``labelTxt/<id>.txt`` beside ``images/<id>.png``, split folders above.

Each line of a label file is an oriented box, ``x1 y1 x2 y2 x3 y3 x4 y4 <class> <difficult>``, after up to two
metadata lines (``imagesource:GoogleEarth``, ``gsd:0.146``). An image's labels are the classes of its boxes;
a class seen only on "difficult" boxes is still present (as the VOC XML reader reads difficult objects), the
count said in a note. Top folders named like splits (``train``, ``val``) are the splits.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.folders import is_image_name
from labelprep.readers.layout import lines_of, read_text_file, split_word

__all__ = ["dota_root", "read_dota"]

_NUMBER = r"-?\d+(?:\.\d+)?"
_LINE = re.compile(rf"^\s*(?:{_NUMBER}\s+){{8}}(\S+)(?:\s+([01]))?\s*$")
_META = re.compile(r"^\s*(imagesource|gsd)\s*:", re.IGNORECASE)


def _label_dirs(root: Path) -> list[Path]:
    """The ``labelTxt`` folders of ``root``: its own, or one under each top folder."""
    if (root / "labelTxt").is_dir():
        return [root / "labelTxt"]
    return sorted(d / "labelTxt" for d in root.iterdir() if d.is_dir() and (d / "labelTxt").is_dir())


def dota_root(path: Path) -> Path | None:
    """``path`` when it is a DOTA folder: ``labelTxt/`` (or ``<split>/labelTxt/``) whose first file's first box
    line has eight numbers, a class and a difficult flag; else None."""
    if not path.is_dir():
        return None
    dirs = _label_dirs(path)
    first = next((f for d in dirs for f in sorted(d.glob("*.txt"))), None)
    if first is None:
        return None
    try:
        text = read_text_file(first, what="DOTA label file", root=path)
    except InputError:
        return None
    boxes = [ln for ln in lines_of(text) if ln.strip() and not _META.match(ln)]
    return path if boxes and _LINE.match(boxes[0]) else None


def _images_by_stem(folder: Path) -> dict[str, str]:
    """The image files of ``folder/images`` by stem, from one listing (DOTA's are PNG; others are taken too)."""
    images = folder / "images"
    if not images.is_dir():
        return {}
    names = sorted((p.name for p in images.iterdir() if p.is_file() and is_image_name(p.name)),
                   key=lambda n: (not n.lower().endswith(".png"), n))  # fmt: skip
    return {posixpath.splitext(n)[0]: n for n in reversed(names)}  # a stem's PNG first, as DOTA writes them


def read_dota(root: Path, opts: ReadOptions) -> Annotations:
    """The DOTA folder ``root`` (see the module docstring)."""
    paths: list[str] = []
    labels: list[list[str]] = []
    files: list[str] = []
    splits: list[str] = []
    difficult = 0
    dropped: list[LedgerEntry] = []
    for label_dir in _label_dirs(root):
        folder = label_dir.parent
        rel_folder = "" if folder == root else folder.name
        label_files = sorted(label_dir.glob("*.txt"))
        images = _images_by_stem(folder)
        in_images = posixpath.join(rel_folder, "images") if rel_folder else "images"
        stems = {f.stem for f in label_files}
        for stem, name in sorted(images.items()):
            if stem not in stems:
                dropped.append(LedgerEntry(str(root), None, f"{in_images}/{name}", "no label file",
                                           f"labelTxt/{stem}.txt"))  # fmt: skip
        for f in label_files:
            text = read_text_file(f, what="DOTA label file", root=root)
            labs: list[str] = []
            for lineno, line in enumerate(lines_of(text), start=1):
                if not line.strip() or _META.match(line):
                    continue
                m = _LINE.match(line)
                if m is None:
                    raise InputError(f"not a DOTA box line (eight numbers, a class, a difficult flag): "
                                     f"{line.strip()[:80]!r}", file=str(f), line=lineno)  # fmt: skip
                difficult += m.group(2) == "1"
                if m.group(1) not in labs:
                    labs.append(m.group(1))
            paths.append(f"{in_images}/{images.get(f.stem, f.stem + '.png')}")  # a missing image: validate says so
            labels.append(labs)
            files.append(str(f))
            splits.append(split_word(rel_folder) or "" if rel_folder else "")
    if not paths:
        raise InputError("no DOTA labelTxt/*.txt here", file=str(root))
    ann = Annotations.from_lists(str(root), "dota", paths, labels)
    ann.files = np.array(files, dtype=object)
    if any(splits):
        if not all(splits):
            raise InputError("DOTA folders beside the split folders are not splits", file=str(root),
                             hint="pass one split folder, or name the folders train / val / test")  # fmt: skip
        ann.columns = {"split": np.array(splits, dtype=object)}
    ann.notes = [f"DOTA: {len(paths)} label file(s); an image's labels are its boxes' classes"
                 + (f" ({difficult} 'difficult' box(es) count as present)" if difficult else "")]  # fmt: skip
    ann.dropped = dropped
    if dropped:
        ann.notes.append(f"{len(dropped)} image(s) without a label file left out (in the ledger)")
    ann.images_root = str(root)
    ann.raw_path_is_final = True
    return ann
