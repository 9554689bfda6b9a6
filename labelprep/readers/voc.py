"""Pascal VOC: ``Annotations/<id>.xml`` (``<object><name>``), ``ImageSets/Main`` set lists and per-class lists.

Rows come from the set lists (``train.txt``, ``val.txt``, ``test.txt``, ``trainval.txt``) when there are any:
every id listed is a row, with the classes its XML names, or none. Without set lists every XML is a row. A VOC
folder without XML files is read from the per-class lists ``<class>_<set>.txt`` of ``<id> <flag>``.
"""

from __future__ import annotations

import os
import posixpath
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import ABSENT, POSITIVE, UNCERTAIN, Annotations, LedgerEntry, ReadOptions
from labelprep.readers.folders import SPLIT_NAMES
from labelprep.safeio import display_name, is_utf8_name, read_regular_file, require_regular_file

__all__ = ["find_voc_root", "read_voc", "read_xml_folder", "voc_xml_labels"]

_CLASS_FILE = re.compile(r"^(?P<cls>.+)_(?P<set>train|val|trainval|test)\.txt$")
_SET_FILE = re.compile(r"^(?P<set>[A-Za-z0-9_.-]+)\.txt$")
_SET_ORDER = ("train", "val", "test")
_NOT_CLASSES = frozenset({"background", "_background_", "__background__", "__ignore__", "_ignore_"})


def _has_class_lists(folder: Path) -> bool:
    return folder.is_dir() and any(_CLASS_FILE.match(p.name) for p in folder.iterdir() if p.is_file())


def _has_xml(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() == ".xml" for p in folder.iterdir() if p.is_file())


def _is_voc_root(folder: Path) -> bool:
    return _has_xml(folder / "Annotations") or _has_class_lists(folder / "ImageSets" / "Main")


def find_voc_root(root: Path) -> Path | None:
    """The VOC root (the folder holding ``Annotations/`` or ``ImageSets/Main``): ``root`` itself, ``root`` when
    it is ``ImageSets/Main`` or ``ImageSets``, or, for the devkit folder (``VOCdevkit``), the one year below it;
    two years there are an error naming them."""
    if not root.is_dir():
        return None
    if _is_voc_root(root):
        return root
    if root.name == "Main" and root.parent.name == "ImageSets" and _has_class_lists(root):
        return root.parent.parent
    if root.name == "ImageSets" and _has_class_lists(root / "Main"):
        return root.parent
    years = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".") and _is_voc_root(d))
    if len(years) > 1:
        raise InputError(f"{len(years)} VOC datasets here: {', '.join(d.name for d in years)}", file=str(root),
                         hint=f"pass one of them, e.g. {years[-1]}")  # fmt: skip
    return years[0] if years else None


def voc_xml_labels(path: Path) -> tuple[list[str], str | None]:
    """The class names of a VOC (or LabelMe XML) annotation's objects, in order, and its ``<filename>``.

    Objects marked ``<deleted>1</deleted>`` (LabelMe) are not objects. A file that is not XML, or whose root is
    not ``<annotation>``, is an error naming the file.
    """
    try:
        root = ET.fromstring(read_regular_file(path, what="the XML annotation"))
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise InputError(f"malformed XML: {exc}", file=str(path), line=line, hint="fix or remove the file") from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    if root.tag != "annotation":
        raise InputError(f"expected a VOC <annotation>, found <{root.tag}>", file=str(path))
    names = []
    for obj in root.findall("object"):
        if (obj.findtext("deleted") or "0").strip() == "1":
            continue
        name = (obj.findtext("name") or "").strip()
        if name:
            names.append(name)
    filename = (root.findtext("filename") or "").strip() or None
    return names, filename


def _read_lines(path: Path, encoding: str = "utf-8", dataset: Path | None = None) -> list[tuple[int, str]]:
    """The non-blank lines of a VOC text file, numbered. A FIFO is refused unopened; a symlink leaving the
    dataset folder is refused unread (a file of the dataset, like an image); bytes that are not ``encoding``
    are an error naming the line."""
    if dataset is not None and path.is_symlink():
        target, root_real = os.path.realpath(path), os.path.realpath(dataset)
        if not (target == root_real or target.startswith(root_real.rstrip(os.sep) + os.sep)):
            raise InputError(f"the list is a symlink to {display_name(target)!r}, outside the dataset folder; it "
                             "was not read", file=display_name(path),
                             hint="copy the list into the dataset instead of linking to it")  # fmt: skip
    raw = read_regular_file(path, what="the list")
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding} (byte 0x{raw[exc.start]:02x})", file=display_name(path),
                         line=raw.count(b"\n", 0, exc.start) + 1,
                         hint="pass the lists' encoding, e.g. --encoding latin-1") from None  # fmt: skip
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", hint="use a Python codec name such as latin-1") from None
    return [(n, line) for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1) if line.strip()]


def _set_lists(main: Path) -> dict[str, Path]:
    """``train.txt``-style lists of ids in ``ImageSets/Main`` (per-class lists excluded)."""
    if not main.is_dir():
        return {}
    out = {}
    for p in sorted(main.iterdir()):
        m = _SET_FILE.match(p.name)
        if m and p.is_file() and not _CLASS_FILE.match(p.name):
            out[m["set"]] = p
    return out


def _chosen_sets(available: list[str]) -> list[str]:
    """train/val/test when train or val is there (trainval is their union), else every set there is."""
    if {"train", "val"} & set(available):
        return [s for s in _SET_ORDER if s in available] + sorted(s for s in available
                                                                 if s not in (*_SET_ORDER, "trainval"))  # fmt: skip
    return sorted(available)


def _declared_classes(voc: Path, seen: list[str]) -> tuple[list[str], str | None]:
    """Classes the dataset declares: ``labelmap.txt`` (Datumaro's VOC export; ``background`` left out), else
    the per-class lists' names, else the classes the XML files name (sorted)."""
    labelmap = voc / "labelmap.txt"
    if labelmap.is_file():
        names = []
        for _, line in _read_lines(labelmap):
            if line.lstrip().startswith("#"):
                continue
            name = line.split(":", 1)[0].strip()
            if name and name not in _NOT_CLASSES and name not in names:
                names.append(name)
        if names:
            return names, f"classes from {labelmap.name}"
    for name in ("class_names.txt", "classes.txt", "labels.txt"):  # labelme2voc and friends: one a line
        listed = voc / name
        if listed.is_file():
            names = [ln.strip() for _, ln in _read_lines(listed)]
            names = [n for n in dict.fromkeys(names) if n and n not in _NOT_CLASSES]
            if names:
                return names, f"classes from {name}"
    main = voc / "ImageSets" / "Main"
    if _has_class_lists(main):
        names = sorted({m["cls"] for p in main.iterdir() if (m := _CLASS_FILE.match(p.name))})
        return sorted(set(names) | set(seen)), "classes from the per-class lists"
    return sorted(set(seen)), None


def read_voc(root: Path, opts: ReadOptions) -> Annotations:
    """A Pascal VOC dataset: XML annotations with set lists, or per-class flag lists.

    Image paths: each XML's ``<filename>`` under ``JPEGImages/`` (``JPEGImages/<id>.jpg`` when it has none or
    there is no XML). "Difficult" objects still name their class.
    """
    voc = find_voc_root(root)
    if voc is None and _has_class_lists(root):  # a folder of class lists, passed on its own
        ann = _read_class_lists(root, root, opts)
        ann.images_root = str(root)
        return ann
    if voc is None:
        raise InputError("no Annotations/*.xml or ImageSets/Main/<class>_<set>.txt files here", file=str(root),
                         hint="pass the VOC root (the folder holding Annotations, ImageSets and JPEGImages)")  # fmt: skip
    if _has_xml(voc / "Annotations"):
        return _read_xml(voc, opts)
    main = voc / "ImageSets" / "Main"
    return _read_class_lists(voc, main, opts)


def _read_xml(voc: Path, opts: ReadOptions) -> Annotations:
    ann_dir = voc / "Annotations"
    xml_ids = {p.stem: p for p in sorted(ann_dir.glob("*.xml")) if p.is_file()}
    lists = _set_lists(voc / "ImageSets" / "Main")
    sets = _chosen_sets(list(lists))
    rows: list[tuple[str, str, str, int]] = []  # (id, set, file, line)
    if sets:
        seen_ids: set[tuple[str, str]] = set()
        for s in sets:
            for lineno, line in _read_lines(lists[s], opts.encoding, voc):
                ident = line.split()[0]
                if (s, ident) not in seen_ids:
                    seen_ids.add((s, ident))
                    rows.append((ident, s, str(lists[s]), lineno))
    else:
        rows = [(ident, "", str(p), 0) for ident, p in xml_ids.items()]
    dropped: list[LedgerEntry] = []
    listed = {r[0] for r in rows}
    cache: dict[str, tuple[list[str], str | None]] = {}
    seen_names: list[str] = []
    for ident, p in xml_ids.items():
        if ident not in listed:
            dropped.append(LedgerEntry(str(p), None, ident, "not in any set list",
                                       f"{p.name} is in no ImageSets/Main list ({', '.join(sets)})"))  # fmt: skip
            cache[ident] = voc_xml_labels(p)  # its classes are the dataset's classes all the same
            seen_names += [n for n in cache[ident][0] if n not in seen_names]
    paths: list[str] = []
    labels: list[list[str]] = []
    no_xml = renamed = 0
    for ident, _s, _f, _ln in rows:
        xml = xml_ids.get(ident)
        if xml is None:
            no_xml += 1
            names, filename = list[str](), None
        else:
            if ident not in cache:
                cache[ident] = voc_xml_labels(xml)
            names, filename = cache[ident]
        image = f"JPEGImages/{filename or ident + '.jpg'}"
        if filename and not (voc / image).is_file() and (voc / f"JPEGImages/{ident}.jpg").is_file():
            image = f"JPEGImages/{ident}.jpg"  # <filename> names no file here; the id does
            renamed += 1
        paths.append(image)
        labels.append(sorted(set(names)))
        seen_names += [n for n in names if n not in seen_names]
    if not rows:
        raise InputError("the VOC set lists name no image", file=str(voc / "ImageSets" / "Main"),
                         hint="check ImageSets/Main/*.txt")  # fmt: skip
    declared, declared_how = _declared_classes(voc, seen_names)
    ann = Annotations.from_lists(str(voc), "voc", paths, labels, [r[3] for r in rows])
    ann.files = np.array([str(xml_ids[r[0]]) if r[0] in xml_ids else r[2] for r in rows], dtype=object)
    ann.declared = declared + [n for n in seen_names if n not in declared]
    split_names = [r[1] for r in rows]
    if sets and not (len(sets) == 1 and sets[0] in ("default", "trainval", "train")):
        ann.columns = {"split": np.array(split_names, dtype=object)}
    notes = [f"Pascal VOC XML in {ann_dir}: {len(xml_ids)} annotation file(s); "
             + (f"rows from ImageSets/Main lists {', '.join(sets)}" if sets else "no set lists: every XML is a row")]
    if declared_how:
        notes.append(declared_how)
    if no_xml:
        notes.append(f"{no_xml} listed id(s) have no XML file: images without objects (all-zero rows)")
    if renamed:
        notes.append(f"{renamed} XML file(s) whose <filename> is not in JPEGImages/: the image named by the id "
                     "is taken")  # fmt: skip
    if dropped:
        notes.append(f"{len(dropped)} XML file(s) in no set list left out (in the ledger)")
    ann.notes = notes
    ann.dropped = dropped
    ann.images_root = str(voc)
    ann.raw_path_is_final = True
    return ann


def _read_class_lists(voc: Path, main: Path, opts: ReadOptions) -> Annotations:
    """Flags: 1 present, -1 absent, 0 "difficult" only (uncertain: ``--uncertain`` decides, default keep)."""
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
    sets: list[str] = [s for s in _SET_ORDER if s in by_set] if {"train", "val"} & by_set.keys() else sorted(by_set)
    if len(sets) > 1 and "trainval" in sets:
        sets.remove("trainval")
    classes = sorted({c for s in sets for c in by_set[s]})
    uncertain_to = {"keep": UNCERTAIN, "zero": ABSENT, "one": POSITIVE}[opts.uncertain or "keep"]
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
            for lineno, raw in _read_lines(f, opts.encoding, voc):
                parts = raw.split()
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
    if not paths:
        raise InputError("the VOC class lists name no image", file=str(main), hint="check ImageSets/Main/*.txt")
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
        notes.append(f"{n_difficult} 'difficult' (0) flag(s): --uncertain {opts.uncertain or 'keep'}")
    ann = Annotations(
        source=str(voc), format="voc", paths=np.array(paths, dtype=object), lines=np.array(lines),
        row=np.array(rows), code=np.array(codes), names=classes, value=np.array(values, dtype=np.int8),
        declared=classes, files=np.array(files, dtype=object),
    )  # fmt: skip
    if len(sets) > 1:
        ann.columns = {"split": np.array(splits, dtype=object)}
    ann.notes = notes
    ann.images_root = str(voc)
    ann.default_template = "JPEGImages/{}.jpg"
    return ann


def _xml_image(base: Path, xml: Path, filename: str) -> str:
    """Where the image of a per-image XML is: beside it, or where VOC and LabelMe keep images
    (``Annotations/<dir>/x.xml`` -> ``Images/<dir>/x.jpg`` or ``JPEGImages/x.jpg``)."""
    rel_dir = os.path.relpath(xml.parent, base).replace(os.sep, "/")
    parts = [] if rel_dir == "." else rel_dir.split("/")
    cands = [posixpath.join(rel_dir, filename)]
    for i, part in enumerate(parts):
        if part.lower() in ("annotations", "annotation", "anno", "xml"):
            for images in ("Images", "JPEGImages", "images", "img"):
                cands.append("/".join([*parts[:i], images, *parts[i + 1 :], filename]))
    cands += [filename, f"JPEGImages/{filename}", f"Images/{filename}", f"images/{filename}"]
    for c in cands:
        c = posixpath.normpath(c)
        if (base / c).is_file():
            return c
    return posixpath.normpath(cands[0])


def read_xml_folder(root: Path, opts: ReadOptions) -> Annotations:
    """A folder of per-image XML annotations (Pascal VOC ``<annotation>`` files outside a VOC tree, or MIT
    LabelMe XML, whose ``<deleted>`` objects are skipped), or one such file."""
    from labelprep.readers.folders import walk_files

    base = root.parent if root.is_file() else root
    files = [root] if root.is_file() else [root / f for f in walk_files(root) if f.lower().endswith(".xml")]
    # set lists beside them (train.txt, test.txt of ids, as mmdetection's custom datasets keep them)
    split_of: dict[str, str] = {}
    if root.is_dir():
        from labelprep.readers.layout import split_word

        stems = {x.stem for x in files}
        for lst in sorted(base.glob("*.txt")):
            word = split_word(lst.stem)
            ids = [ln.split()[0] for _, ln in _read_lines(lst)] if word else []
            if ids and all(i in stems for i in ids):
                for i in ids:
                    split_of.setdefault(i, lst.stem)
    paths, labels, sources, splits = [], [], [], []
    dropped: list[LedgerEntry] = []
    for xml in files:
        if split_of and xml.stem not in split_of:
            dropped.append(LedgerEntry(str(xml), None, os.path.relpath(xml, base), "not in any set list",
                                       "file ignored"))  # fmt: skip
            continue
        try:
            names, filename = voc_xml_labels(xml)
        except InputError as exc:
            if "expected a VOC <annotation>" not in exc.message:
                raise
            dropped.append(LedgerEntry(str(xml), None, os.path.relpath(xml, base), "not an <annotation> XML",
                                       "file ignored"))  # fmt: skip
            continue
        paths.append(_xml_image(base, xml, filename or xml.stem + ".jpg"))
        labels.append(list(dict.fromkeys(names)))
        sources.append(str(xml))
        top = os.path.relpath(xml, base).replace(os.sep, "/").split("/")[0]
        splits.append(split_of.get(xml.stem, top if top.lower() in SPLIT_NAMES and top != xml.name else ""))
    if not paths:
        raise InputError("no <annotation> XML file here", file=str(root))
    ann = Annotations.from_lists(str(root), "annotation-xml", paths, labels)
    ann.files = np.array(sources, dtype=object)
    ann.declared = sorted({n for labs in labels for n in labs})
    ann.dropped = dropped
    ann.notes = [f"per-image XML annotations: {len(paths)} file(s)"]
    if split_of:
        ann.columns = {"split": np.array(splits, dtype=object)}
        ann.notes.append(f"splits from the id lists {', '.join(sorted(set(split_of.values())))}")
    elif any(splits):
        if not all(splits):
            raise InputError("some XML files are in split folders and some are not", file=str(root),
                             hint="put every XML under a split folder, or pass one split folder")  # fmt: skip
        ann.columns = {"split": np.array(splits, dtype=object)}
        ann.notes.append(f"split folders {', '.join(sorted(set(splits)))}")
    ann.images_root = str(base)
    ann.raw_path_is_final = True
    return ann
