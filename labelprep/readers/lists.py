"""Text lists without a header line: ``path label [label ...]``, ``path class_index`` (ImageNet style),
``[ML_USE,]gs://bucket/img.jpg,label,...`` (Vertex AI / AutoML CSV), and attribute lists (CelebA's
``list_attr_celeba.txt``: a count line, a names line, then ``file v1 v2 ...`` of 1/-1).
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import ABSENT, POSITIVE, UNCERTAIN, Annotations, ReadOptions
from labelprep.readers.cloud import ML_USE, map_prefix
from labelprep.readers.folders import IMAGE_EXTENSIONS
from labelprep.readers.layout import image_folder_candidates, lines_of, locate_images, read_text_file

__all__ = ["first_line_is_data", "looks_like_attribute_list", "read_attribute_list", "read_list"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_INT = re.compile(r"^[-+]?\d+$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


def _is_pathlike(cell: str) -> bool:
    """A cell that can only be an image path: a URL, or a name with an image extension."""
    c = cell.strip().strip('"')
    return bool(_URL.match(c)) or os.path.splitext(c)[1].lower() in IMAGE_EXTENSIONS


def _fields(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [f.strip() for f in next(csv.reader(io.StringIO(line), delimiter=delimiter, skipinitialspace=True), [])]


def list_delimiter(lines: list[str]) -> str | None:
    """Tab or comma when the first lines use it, else runs of white space (None)."""
    head = [ln for ln in lines[:20] if ln.strip()]
    for d in ("\t", ",", ";"):
        if head and all(d in ln for ln in head):
            return d
    return None


def first_line_is_data(line: str, delimiter: str | None = None) -> bool:
    """A first line that is a row, not a header: its first cell is a path (image extension or URL), or an
    ML_USE word followed by one, or an id followed by numbers (``000001 5``, ``n01440764_10026 0``).

    A header names columns; these shapes do not (``image_id`` has no extension, ``label`` is not a number).
    """
    cells = [c for c in _fields(line, delimiter) if c != ""]
    if not cells:
        return False
    if _is_pathlike(cells[0]):
        return True
    if len(cells) >= 2 and cells[0].lower() in ML_USE and _is_pathlike(cells[1]):
        return True
    return len(cells) >= 2 and any(ch.isdigit() for ch in cells[0]) and all(_NUMBER.match(c) for c in cells[1:])


def looks_like_attribute_list(lines: list[str]) -> bool:
    """CelebA-style: a count line, a names line, then rows of a file and one value a name."""
    body = [ln for ln in lines if ln.strip()]
    if len(body) < 3 or not _INT.match(body[0].strip()):
        return False
    names = body[1].split()
    first = body[2].split()
    return len(first) == len(names) + 1 and all(v in ("1", "-1", "0") for v in first[1:])


def _base(path: Path, opts: ReadOptions) -> Path:
    return Path(opts.images_root) if opts.images_root else path.parent


def _locate(path: Path, opts: ReadOptions, paths: list[str],
            extra: Sequence[Path] = ()) -> tuple[list[str], Path, str | None]:  # fmt: skip
    base = _base(path, opts)
    found, note = locate_images(base, paths, image_folder_candidates(base, first=extra))
    prefix = os.path.relpath(found, base).replace(os.sep, "/")
    if prefix != ".":
        paths = [p if _URL.match(p) else posixpath.join(prefix, p) for p in paths]
    return paths, base, note


def _refuse_numbers(rows: list[tuple[int, list[str]]], source: str) -> None:
    """Rows of four or more numbers after the first cell are boxes, timestamps or pixel values, not labels
    (AVA's video actions, MNIST as CSV): no frame is made of them."""
    widths = {len(f) for _, f in rows[:200]}
    if len(widths) == 1 and widths.pop() >= 5 and all(all(_NUMBER.match(c) for c in f[1:]) for _, f in rows[:200]):
        lineno, f = rows[0]
        first = "an image path" if _is_pathlike(f[0]) else f"{f[0]!r}, not an image path"
        raise InputError(f"every line is {first} then {len(f) - 1} numbers: coordinates, timestamps or pixel "
                         "values, not labels", file=source, line=lineno,
                         hint="labelprep reads image-level labels; this file holds none it can name")  # fmt: skip


def read_list(path: Path, opts: ReadOptions, lines: list[str] | None = None) -> Annotations:
    """A header-less list: ``path label [label ...]`` (white space, tab or comma separated).

    Labels that are all integers are class numbers (``--label-map`` names them, as ImageNet's ``synsets.txt``
    does); an ML_USE first column (``training``, ``validation``, ``test``) becomes the split; numbers after a
    label name (AutoML detection CSV boxes) are coordinates, not labels. The same path on several lines is one
    image with the labels of all of them.
    """
    source = str(path)
    if lines is None:
        lines = lines_of(read_text_file(path, what="list"))
    delimiter = list_delimiter(lines)
    rows: list[tuple[int, list[str]]] = [(n, _fields(ln, delimiter)) for n, ln in enumerate(lines, start=1)
                                         if ln.strip()]  # fmt: skip
    if not rows:
        raise InputError("file is empty", file=source, hint="expected one line a image: path label ...")
    # ML_USE first (training, validation, test) on some rows or all: Vertex AI lets each row say it or not
    has_use = any(len(f) >= 2 and f[0].lower() in ML_USE and _is_pathlike(f[1]) for _, f in rows[:200])
    _refuse_numbers(rows, source)
    paths, labels, out_lines, splits = [], [], [], []
    n_coords = 0
    for lineno, f in rows:
        f = [c for c in f]
        split = ""
        if has_use and len(f) >= 2 and f[0].lower() in ML_USE and _is_pathlike(f[1]):
            split, f = f[0], f[1:]
        p, rest = f[0], [c for c in f[1:] if c != ""]
        words = [c for c in rest if not _NUMBER.match(c)]
        if words and len(words) < len(rest):
            n_coords += 1
            rest = words
        paths.append(p)
        labels.append(list(dict.fromkeys(rest)))
        out_lines.append(lineno)
        splits.append(split)
    counts = {len(labs) for labs in labels}
    flat = [lab for labs in labels for lab in labs]
    numeric = bool(flat) and all(_INT.match(x) for x in flat)
    if numeric and len(counts) == 1 and counts.pop() >= 2 and set(flat) <= {"0", "1", "-1"}:
        raise InputError(
            f"every line holds {len(labels[0])} values of 0 and 1 after the path: a multi-hot vector without "
            "class names, or class numbers?",
            file=source, line=out_lines[0],
            hint="add a header line naming the classes (path,cat,dog,...) and convert it as a wide table",
        )  # fmt: skip
    if not flat:
        raise InputError(f"no labels: the file lists {len(paths)} image(s) and nothing else", file=source,
                         line=out_lines[0], hint="this is a list of unlabelled images; the labels live in "
                         "another file (pass that file)")  # fmt: skip
    mapped, _unmapped, prefix_note = map_prefix(paths, opts.path_prefix)
    located, base, note = _locate(path, opts, mapped)
    ann = Annotations.from_lists(source, "list", located, labels, out_lines)
    merged: dict[str, int] = {}
    for p in located:
        merged[p] = merged.get(p, 0) + 1
    if n_coords or any(n > 1 for n in merged.values()):
        ann.one_row_per_label = True  # one line a box: repeated paths are the same image
    if any(splits):
        ann.columns = {"split": np.array([s or "unassigned" for s in splits], dtype=object)}
        if not all(splits):
            ann.notes.append(f"{sum(1 for s in splits if not s)} row(s) name no ML_USE: split 'unassigned'")
    sep = {None: "white space", "\t": "tabs", ",": "commas", ";": "semicolons"}[delimiter]
    ann.notes = [f"header-less list ({sep}): the first line is a row, not a header; path first, then labels"]
    if has_use:
        ann.notes.append("first column is ML_USE: the split")
    if numeric:
        ann.notes.append("labels are class numbers; --label-map names them (e.g. a synsets.txt, one name a line)")
    if n_coords:
        ann.notes.append(f"{n_coords} line(s) hold numbers after the label name (box coordinates): not labels")
    ann.notes += [n for n in (prefix_note, note) if n]
    ann.images_root = str(base)
    return ann


_PARTITION = {"0": "train", "1": "val", "2": "test"}


def _partition_file(path: Path) -> Path | None:
    for cand in (path.parent / "list_eval_partition.txt", path.parent.parent / "Eval" / "list_eval_partition.txt",
                 path.parent.parent / "list_eval_partition.txt", path.parent / "Eval" / "list_eval_partition.txt"):  # fmt: skip
        if cand.is_file():
            return cand
    return None


def read_attribute_list(path: Path, opts: ReadOptions, lines: list[str] | None = None) -> Annotations:
    """CelebA's ``list_attr_celeba.txt``: a count line, the attribute names, then ``file v1 v2 ...``.

    Values of 1 and -1 only: -1 means absent (printed; ``--uncertain keep`` reads -1 as uncertain instead).
    ``list_eval_partition.txt`` beside it (or in ``Eval/``) gives the splits: 0 train, 1 val, 2 test.
    """
    source = str(path)
    if lines is None:
        lines = lines_of(read_text_file(path, what="attribute list"))
    numbered = [(n, ln) for n, ln in enumerate(lines, start=1) if ln.strip()]
    count = int(numbered[0][1].strip())
    names = numbered[1][1].split()
    paths: list[str] = []
    lines_out: list[int] = []
    rows: list[int] = []
    codes: list[int] = []
    values: list[int] = []
    seen_values: set[str] = set()
    for lineno, line in numbered[2:]:
        f = line.split()
        if len(f) != len(names) + 1:
            raise InputError(f"row has {len(f) - 1} values for {len(names)} attributes", file=source, line=lineno)
        r = len(paths)
        paths.append(f[0])
        lines_out.append(lineno)
        for k, v in enumerate(f[1:]):
            if v not in ("1", "-1", "0"):
                raise InputError(f"attribute {names[k]!r} is {v!r}; expected 1, -1 or 0", file=source, line=lineno)
            seen_values.add(v)
            rows.append(r)
            codes.append(k)
            values.append(int(v))
    if not paths:
        raise InputError("the attribute list names no image", file=source)
    notes = [f"attribute list: {len(names)} attributes, {len(paths)} image(s)"]
    if count != len(paths):
        notes.append(f"the count line says {count} images; the list holds {len(paths)}")
    vals = np.array(values, dtype=np.int8)
    minus = UNCERTAIN if opts.uncertain == "keep" else (POSITIVE if opts.uncertain == "one" else ABSENT)
    if "0" not in seen_values and "-1" in seen_values and opts.uncertain is None:
        notes.append("values are only 1 and -1: -1 read as absent (--uncertain keep reads it as uncertain)")
        minus = ABSENT
    elif opts.uncertain is None:
        minus = UNCERTAIN
    vals = np.where(vals == -1, minus, vals).astype(np.int8)
    split_col = None
    part = _partition_file(path)
    if part is not None:
        by_file: dict[str, str] = {}
        for lineno, line in enumerate(lines_of(read_text_file(part, what="partition list")), start=1):
            f = line.split()
            if not f:
                continue
            if len(f) != 2 or f[1] not in _PARTITION:
                raise InputError(f"expected '<file> <0|1|2>', got {line.strip()!r}", file=str(part), line=lineno)
            by_file[f[0]] = _PARTITION[f[1]]
        split_col = [by_file.get(p, "") for p in paths]
        missing = sum(1 for s in split_col if not s)
        notes.append(f"splits from {part.name} (0 train, 1 val, 2 test)"
                     + (f"; {missing} image(s) it does not list are in no split" if missing else ""))  # fmt: skip
    dataset = path.parent.parent if path.parent.name.lower() == "anno" else path.parent
    extra = [dataset / "Img" / n for n in ("img_align_celeba", "img_celeba", "img_align_celeba_png")]
    extra += [dataset / n for n in ("img_align_celeba", "img_celeba", "Img")]
    located, base, note = _locate(dataset / path.name, opts, paths, extra)
    ann = Annotations(
        source=source, format="attributes", paths=np.array(located, dtype=object), lines=np.array(lines_out),
        row=np.array(rows, dtype=np.int64), code=np.array(codes, dtype=np.int64), names=names, value=vals,
        declared=names,
    )  # fmt: skip
    if split_col is not None:
        ann.columns = {"split": np.array([s or "unassigned" for s in split_col], dtype=object)}
    ann.notes = notes + ([note] if note else [])
    ann.images_root = str(base)
    return ann
