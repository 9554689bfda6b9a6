"""Open Images image-level labels: ``*-annotations-human-imagelabels.csv`` (``ImageID,Source,LabelName,
Confidence``), the image lists (``*-images-with-rotation.csv``, ``*-images-with-labels-with-rotation.csv``,
``image_ids_and_rotation.csv``) and the class descriptions (``LabelName,DisplayName``, often without a header).

Each subset's files (named by their split word: train, validation, test) become a split. Images an image list
names without a label are rows with no label; ``Confidence`` 0 is verified absent. Labels are the
descriptions' names, and the descriptions declare the vocabulary.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, ReadOptions
from labelprep.readers.csvtext import read_table
from labelprep.readers.layout import combine_splits, image_folder_candidates, locate_images, read_text_file, split_word

__all__ = ["find_openimages", "is_image_list", "is_label_file", "read_class_descriptions", "read_openimages"]

_LABELS = re.compile(r"annotations-(human-)?imagelabels(-boxable)?\.csv$", re.IGNORECASE)
_IMAGES = re.compile(r"(images-with(-labels)?-with-rotation|image_ids_and_rotation|images-boxable(-with-rotation)?)\.csv$",
                     re.IGNORECASE)  # fmt: skip
_DESCRIPTIONS = re.compile(r"class-descriptions(-boxable)?\.csv$", re.IGNORECASE)
_MID = re.compile(r"^/[mgt]/[0-9a-z_]+$")


def is_image_list(name: str) -> bool:
    return bool(_IMAGES.search(name))


def is_label_file(name: str) -> bool:
    return bool(_LABELS.search(name))


def find_openimages(folder: Path) -> Path | None:
    """The folder holding Open Images label or image-list CSVs: ``folder`` or its ``annotations/``."""
    for cand in (folder, folder / "annotations"):
        if cand.is_dir() and any(_LABELS.search(p.name) or _IMAGES.search(p.name) for p in cand.iterdir()):
            return cand
    return None


def read_class_descriptions(path: Path) -> dict[str, str]:
    """MID -> display name, with or without the ``LabelName,DisplayName`` header line."""
    out: dict[str, str] = {}
    text = read_text_file(path, what="class descriptions")
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip():
            continue
        if len(row) < 2:
            raise InputError("expected two columns: LabelName, DisplayName", file=str(path), line=lineno)
        mid, name = row[0].strip(), row[1].strip()
        if lineno == 1 and not _MID.match(mid):
            continue  # the header line
        out[mid] = name
    if not out:
        raise InputError("the class descriptions are empty", file=str(path))
    return out


def _subset(name: str) -> str:
    return split_word(name) or ""


def _descriptions(folder: Path) -> Path | None:
    found = sorted(p for p in folder.iterdir() if _DESCRIPTIONS.search(p.name))
    full = [p for p in found if "boxable" not in p.name.lower()]
    chosen = full or found
    return chosen[-1] if chosen else None


def _image_folder(dataset: Path, subset: str, ids: list[str], opts: ReadOptions) -> tuple[Path, str | None]:
    base = Path(opts.images_root) if opts.images_root else dataset
    files = [f"{i}.jpg" for i in ids]
    cands = image_folder_candidates(base, subset, first=[base / "images" / subset, base / subset, base / "images",
                                                          base / "images" / "default"])  # fmt: skip
    return locate_images(base, files, cands)


def read_openimages(source: Path, opts: ReadOptions) -> Annotations:
    """An Open Images annotations folder (or the dataset folder holding ``annotations/``)."""
    folder = source if source.is_dir() else source.parent
    found = find_openimages(folder)
    if found is None:
        raise InputError("no Open Images label or image-list CSV here", file=str(source))
    folder = found
    dataset = folder.parent if folder.name == "annotations" else folder
    desc_path = _descriptions(folder)
    names = read_class_descriptions(desc_path) if desc_path is not None else None
    label_files = sorted(p for p in folder.iterdir() if _LABELS.search(p.name))
    list_files = sorted(p for p in folder.iterdir() if _IMAGES.search(p.name))
    if source.is_file() and _LABELS.search(source.name):  # one label file given: its subset alone
        label_files = [source]
        list_files = [p for p in list_files if _subset(p.name) == _subset(source.name)]
    labels_by_subset: dict[str, list[Path]] = {}
    for p in label_files:
        labels_by_subset.setdefault(_subset(p.name), []).append(p)
    if not label_files:
        raise InputError("Open Images image lists but no *-annotations-human-imagelabels.csv", file=str(folder),
                         hint="the labels of these images are in the imagelabels files; put them here")  # fmt: skip
    listed: dict[str, list[str]] = {}  # subset -> image ids the image lists name
    for p in list_files:
        table = read_table(p)
        id_col = next((c for c in table.columns if c.lower() == "imageid"), None)
        if id_col is None:
            raise InputError("image list without an ImageID column", file=str(p))
        ids = table.strings(id_col).tolist()
        sub_col = next((c for c in table.columns if c.lower() == "subset"), None)
        subs = table.strings(sub_col).tolist() if sub_col and not _subset(p.name) else [_subset(p.name)] * len(ids)
        for s, i in zip(subs, ids, strict=True):
            listed.setdefault(s, []).append(i)
    long_opts = dataclasses.replace(opts, path_col="ImageID", labels_col="LabelName", confidence_col="Confidence",
                                    split_col=None, group_col=None, keep_cols=[])  # fmt: skip
    from labelprep.readers.tables import read_long

    parts: list[tuple[str, Annotations]] = []
    notes: list[str] = []
    for subset in sorted(set(labels_by_subset) | set(listed)):
        anns = [read_long(read_table(p), long_opts) for p in labels_by_subset.get(subset, [])]
        part = _merge(anns, listed.get(subset, []), names)
        if part is None:
            continue
        root, note = _image_folder(dataset, subset, [str(p) for p in part.paths[:64]], opts)
        part.images_root = str(root)
        part.default_template = "{}.jpg"
        if note:
            notes.append(f"{subset or 'images'}: {note}")
        parts.append((subset, part))
    if not parts:
        raise InputError("the Open Images files list no image", file=str(folder))
    ann = combine_splits(parts, str(folder), "openimages")
    if names is not None:
        ann.declared = list(dict.fromkeys(names.values()))
    ann.notes = [f"Open Images annotations in {folder}: subsets {', '.join(s or '(none)' for s, _ in parts)}; "
                 "Confidence 0 = verified absent", *ann.notes, *notes]  # fmt: skip
    if desc_path is not None:
        ann.notes.append(f"class names from {desc_path.name}")
    return ann


def _merge(anns: list[Annotations], listed: list[str], names: dict[str, str] | None) -> Annotations | None:
    """One subset: its label files' pairs, and a row with no label for each listed image they do not name."""
    paths: list[str] = []
    index: dict[str, int] = {}
    labels: list[str] = []
    lab_index: dict[str, int] = {}
    rows, codes, values, lines, files = [], [], [], [], []
    for ann in anns:
        remap = []
        for n in ann.names:
            n = names.get(n, n) if names is not None else n
            if n not in lab_index:
                lab_index[n] = len(labels)
                labels.append(n)
            remap.append(lab_index[n])
        row_map = np.empty(ann.n_rows, dtype=np.int64)
        for i, p in enumerate(ann.paths.tolist()):
            r = index.get(p)
            if r is None:
                r = index[p] = len(paths)
                paths.append(p)
                lines.append(int(ann.lines[i]))
                files.append(ann.source)
            row_map[i] = r
        rows.append(row_map[ann.row])
        codes.append(np.asarray(remap, dtype=np.int64)[ann.code] if len(ann.code) else np.zeros(0, np.int64))
        values.append(ann.value)
    for ident in listed:
        if ident not in index:
            index[ident] = len(paths)
            paths.append(ident)
            lines.append(0)
            files.append("image list")
    if not paths:
        return None
    return Annotations(
        source=anns[0].source if anns else "image list", format="openimages", paths=np.array(paths, dtype=object),
        lines=np.array(lines), row=np.concatenate(rows) if rows else np.zeros(0, np.int64),
        code=np.concatenate(codes) if codes else np.zeros(0, np.int64), names=labels,
        value=np.concatenate(values) if values else np.zeros(0, np.int8), files=np.array(files, dtype=object),
    )  # fmt: skip
