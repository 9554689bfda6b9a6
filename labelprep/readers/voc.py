"""Pascal VOC classification lists: ``ImageSets/Main/<class>_<set>.txt`` holding ``<id> <flag>``."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import ABSENT, POSITIVE, UNCERTAIN, Annotations, ReadOptions
from labelprep.safeio import display_name, is_utf8_name, read_regular_file, require_regular_file

__all__ = ["find_voc_main", "read_voc"]

_CLASS_FILE = re.compile(r"^(?P<cls>.+)_(?P<set>train|val|trainval|test)\.txt$")


def _has_class_lists(folder: Path) -> bool:
    return folder.is_dir() and any(_CLASS_FILE.match(p.name) for p in folder.iterdir() if p.is_file())


def find_voc_main(root: Path) -> Path | None:
    """The folder holding the per-class lists: ``root/ImageSets/Main``, ``root`` itself, or, for the devkit
    folder (``VOCdevkit/VOC2012``), the one year below it; two years there are an error naming them."""
    for cand in (root / "ImageSets" / "Main", root):
        if _has_class_lists(cand):
            return cand
    if not root.is_dir():
        return None
    years = sorted(d for d in root.iterdir() if d.is_dir() and _has_class_lists(d / "ImageSets" / "Main"))
    if len(years) > 1:
        raise InputError(f"{len(years)} VOC datasets here: {', '.join(d.name for d in years)}", file=str(root),
                         hint=f"pass one of them, e.g. {years[-1]}")  # fmt: skip
    return years[0] / "ImageSets" / "Main" if years else None


def _read_list(f: Path, encoding: str) -> str:
    """A class list's text; bytes that are not ``encoding`` are an error naming the line."""
    raw = read_regular_file(f, what="the class list")
    try:
        return raw.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding} (byte 0x{raw[exc.start]:02x})", file=str(f),
                         line=raw.count(b"\n", 0, exc.start) + 1,
                         hint="pass the lists' encoding, e.g. --encoding latin-1") from None  # fmt: skip
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", hint="use a Python codec name such as latin-1") from None


def read_voc(root: Path, opts: ReadOptions) -> Annotations:
    """Flags: 1 present, -1 absent, 0 "difficult" only (uncertain: ``--uncertain`` decides, default keep).

    With ``train`` and ``val`` lists both present, each becomes a split; otherwise
    the one set there is (usually ``trainval``) is read. Ids become
    ``JPEGImages/<id>.jpg`` under the VOC root unless ``--path-template`` says otherwise.
    """
    main = find_voc_main(root)
    if main is None:
        raise InputError("no ImageSets/Main/<class>_<set>.txt files here", file=str(root),
                         hint="pass the VOC root (the folder holding ImageSets and JPEGImages)")  # fmt: skip
    by_set: dict[str, dict[str, Path]] = {}
    voc_root = main.parent.parent if main.name == "Main" and main.parent.name == "ImageSets" else main
    root_real = os.path.realpath(voc_root)
    for p in sorted(main.iterdir()):
        m = _CLASS_FILE.match(p.name)
        if m and not p.is_dir():
            target = os.path.realpath(p)
            if p.is_symlink() and not (target == root_real or target.startswith(root_real.rstrip(os.sep) + os.sep)):
                # like a tag file or an image: a file of the dataset folder, never read through a link out of it
                raise InputError(f"the class list is a symlink to {display_name(target)!r}, outside the dataset "
                                 "folder; it was not read", file=display_name(p),
                                 hint="copy the list into ImageSets/Main instead of linking to it")  # fmt: skip
            require_regular_file(p, what="the class list")  # a FIFO named cat_train.txt: refused, not opened
            if not is_utf8_name(p.name):
                raise InputError("a class list whose file name is not UTF-8 (its bytes shown escaped): the class "
                                 "name cannot be a label", file=display_name(p),
                                 hint="rename it with a UTF-8 name")  # fmt: skip
            by_set.setdefault(m["set"], {})[m["cls"]] = p
    sets: list[str] = [s for s in ("train", "val", "test") if s in by_set] if {"train", "val"} & by_set.keys() else sorted(by_set)
    if len(sets) > 1 and "trainval" in sets:
        sets.remove("trainval")
    classes = sorted({c for s in sets for c in by_set[s]})
    uncertain_to = {"keep": UNCERTAIN, "zero": ABSENT, "one": POSITIVE}[opts.uncertain]
    index: dict[tuple[str, str], int] = {}
    paths: list[str] = []
    splits: list[str] = []
    files: list[str] = []
    lines: list[int] = []
    rows: list[int] = []
    codes: list[int] = []
    values: list[int] = []
    n_difficult = 0
    for s in sets:
        for k, cls in enumerate(classes):
            f = by_set[s].get(cls)
            if f is None:
                continue
            for lineno, raw in enumerate(_read_list(f, opts.encoding).split("\n"), start=1):
                parts = raw.split()
                if not parts:
                    continue
                if len(parts) != 2 or parts[1] not in ("1", "-1", "0"):
                    raise InputError(f"expected '<id> <flag>' with flag 1, -1 or 0, got {raw.strip()!r}",
                                     file=str(f), line=lineno)  # fmt: skip
                key = (s, parts[0])
                r = index.get(key)
                if r is None:
                    r = index[key] = len(paths)
                    paths.append(parts[0])
                    splits.append(s)
                    files.append(str(f))
                    lines.append(lineno)
                flag = int(parts[1])
                rows.append(r)
                codes.append(k)
                if flag == 0:
                    n_difficult += 1
                values.append(POSITIVE if flag == 1 else (ABSENT if flag == -1 else uncertain_to))
    notes = [f"Pascal VOC lists in {main}: sets {', '.join(sets)}, {len(classes)} classes"]
    # Every class list of a set names every image of it; an id one list lacks is read as not mentioned (0).
    pair_count = np.bincount(np.asarray(rows, dtype=np.int64), minlength=len(paths)) if rows else np.zeros(0, int)
    listed = {s: sum(1 for cls in classes if cls in by_set[s]) for s in sets}
    short = [r for r in range(len(paths)) if pair_count[r] < listed[splits[r]]]
    if short:
        r = short[0]
        seen = {classes[c] for rr, c in zip(rows, codes, strict=True) if rr == r}
        lacking = sorted(cls for cls in classes if cls in by_set[splits[r]] and cls not in seen)
        notes.append(f"{len(short)} image(s) missing from some class lists, read as not having those classes: "
                     f"{paths[r]!r} is not in {by_set[splits[r]][lacking[0]].name}")  # fmt: skip
    if n_difficult:
        notes.append(f"{n_difficult} 'difficult' (0) flag(s): --uncertain {opts.uncertain}")
    ann = Annotations(
        source=str(root), format="voc", paths=np.array(paths, dtype=object), lines=np.array(lines),
        row=np.array(rows), code=np.array(codes), names=classes, value=np.array(values, dtype=np.int8),
        declared=classes, files=np.array(files, dtype=object),
    )  # fmt: skip
    if len(sets) > 1:
        ann.columns = {"split": np.array(splits, dtype=object)}
    ann.notes = notes
    ann.images_root = str(voc_root)
    ann.default_template = "JPEGImages/{}.jpg"
    return ann
