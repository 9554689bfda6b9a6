"""Folder forms: one folder per label (optionally under split folders) and sidecar tag files."""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from labelprep.errors import ConflictError, InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.exclude import EXCLUDED, exclude_files
from labelprep.safeio import display_name, is_utf8_name, read_regular_file, require_regular_file

__all__ = ["IMAGE_EXTENSIONS", "SPLIT_NAMES", "STRUCTURAL", "folder_label", "read_folder",
           "read_sidecar", "walk_files"]

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff",
     ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".j2k", ".ico"}
)  # fmt: skip
SPLIT_NAMES = frozenset(
    {"train", "training", "val", "valid", "validation", "test", "testing", "dev", "trainval", "eval"}
)
SIDECAR_EXTENSION = ".txt"
NOT_LABELLED_YET = "not labelled yet"
# Folder names that say what a folder holds (images, masks, annotations), not a label.
STRUCTURAL = frozenset({
    "images", "image", "imgs", "img", "jpegimages", "jpeg", "jpg", "png", "pngimages", "pictures", "data", "dataset",
    "default", "masks", "mask", "segmentationclass", "segmentationobject", "segmentationclassaug", "segmentation",
    "annotations", "annotation", "anno", "labels", "gt", "groundtruth", "gtfine", "gtcoarse", "leftimg8bit", "depth",
    "thumbnails", "thumbs", "raw", "media", "frames", "videos", "video", "all", "samples", "instances", "semantic",
    "panoptic", "obj_train_data", "obj_valid_data",
})  # fmt: skip


def folder_label(folders: list[str]) -> str:
    """The full label folder of an image, less folders that say what they hold (``cat/images/x.jpg`` is ``cat``;
    nested ``dog/puppy/x.jpg`` is ``dog/puppy``, whose top folder ``--nested-folders top`` takes)."""
    kept = [f for f in folders if f.lower() not in STRUCTURAL] or folders
    return "/".join(kept)


# Folder names that usually hold images nobody has labelled yet (compared lower case, letters and digits only).
NOT_YET_LABELLED = frozenset({"unlabeled", "unlabelled", "unsorted", "todo", "tolabel", "unclassified", "uncategorized",
                              "uncategorised", "unannotated", "unreviewed", "toreview", "needsreview", "pending",
                              "inbox"})  # fmt: skip


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def walk_files(root: Path, hidden: list[str] | None = None, not_utf8: list[str] | None = None) -> list[str]:
    """Every file under ``root`` as a sorted POSIX path relative to it.

    Hidden entries (``.DS_Store``, ``._img.jpg``, ``.git/``) are skipped; ``hidden`` collects them.
    Files whose path is not valid UTF-8 (no frame, label or report can hold it) are skipped too;
    ``not_utf8`` collects them, shown with their bytes escaped (``b\\xff.png``).
    """
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        if hidden is not None:
            hidden.extend(display_name(prefix + n) for n in (*dirnames, *filenames) if n.startswith("."))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files = [prefix + f for f in sorted(filenames) if not f.startswith(".")]
        if not is_utf8_name("\0".join(files)):  # one check per folder; the names one by one only when it fails
            bad = [f for f in files if not is_utf8_name(f)]
            if not_utf8 is not None:
                not_utf8.extend(display_name(f) for f in bad)
            files = [f for f in files if is_utf8_name(f)]
        out.extend(files)
    out.sort()
    return out


NAME_NOT_UTF8 = "file name is not UTF-8"


def _not_utf8_entries(source: str, names: list[str]) -> list[LedgerEntry]:
    return [LedgerEntry(source, None, n, NAME_NOT_UTF8, "file ignored; the bytes of its name that are not UTF-8 "
                        "are shown escaped") for n in names]  # fmt: skip


def _hidden_note(hidden: list[str]) -> list[str]:
    if not hidden:
        return []
    shown = ", ".join(sorted(hidden)[:3]) + (" ..." if len(hidden) > 3 else "")
    return [f"{len(hidden)} hidden file(s) or folder(s) skipped ({shown})"]


def _digest(path: Path, root_real: str) -> str:
    """SHA-256 of a copy's bytes; a symlink leaving the root is not followed (its own key: never merged)."""
    if path.is_symlink() and not _is_under(os.path.realpath(path), root_real):
        return f"escapes:{path}"
    require_regular_file(path, what="the image file", hint="a label folder holds image files: remove it")
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise InputError(f"cannot read the image file: {exc.strerror or exc}", file=display_name(path)) from None
    return h.hexdigest()


def _is_under(path: str, root_real: str) -> bool:
    return path == root_real or path.startswith(root_real.rstrip(os.sep) + os.sep)


def _check_dir(root: Path) -> None:
    if not root.exists():
        raise InputError("folder not found", file=str(root))
    if not root.is_dir():
        raise InputError("is a file, not a folder", file=str(root), hint="pass the folder that holds the label folders")


def read_folder(root: Path, opts: ReadOptions) -> Annotations:
    """``root/<label>/<file>`` or ``root/<split>/<label>/<file>``.

    The same file name under several label folders is one image whose path is the
    first copy in sorted label-folder order. Copies whose bytes differ are a
    conflict: an error, or with ``folder_conflicts="separate"`` one image each.
    """
    _check_dir(root)
    source = str(root)
    hidden: list[str] = []
    not_utf8: list[str] = []
    files, excluded = exclude_files(walk_files(root, hidden, not_utf8), opts.exclude)  # before split folders are judged
    split_level, top_dirs = _split_folders(files, source)
    notes = [f"folder per label{' under split folders (' + ', '.join(top_dirs) + ')' if split_level else ''}",
             *_hidden_note(hidden)]  # fmt: skip
    dropped = [LedgerEntry(source, None, f, EXCLUDED, pat) for f, pat in excluded]
    dropped += _not_utf8_entries(source, not_utf8)
    copies, labels_seen, nested, not_yet = _label_copies(files, split_level, source, dropped, opts.nested_folders)
    if nested and opts.nested_folders is None:
        shown = ", ".join(sorted(nested)[:5]) + (f" ... ({len(nested)} in all)" if len(nested) > 5 else "")
        raise InputError(
            f"images in folders below a label folder ({shown}): the label is either the top folder or the "
            "whole folder path, and nothing here says which",
            file=source,
            hint=f"pass --nested-folders top (label {sorted(nested)[0].split('/')[0]!r}, as torchvision and Keras "
            f"read it) or --nested-folders path (label {sorted(nested)[0]!r})",
        )
    paths, labels, splits, files_of, conflicts, conflict_paths, merged = _merge_copies(root, source, copies)
    if conflicts and opts.folder_conflicts != "separate":
        shown = "; ".join(conflicts[:3]) + (f"; ... and {len(conflicts) - 3} more" if len(conflicts) > 3 else "")
        raise ConflictError(
            f"{len(conflicts)} file name(s) appear under several label folders with different bytes: {shown}",
            file=source,
            hint="if they are different images, pass --on-conflict separate to keep each copy as its own image",
        )
    found = sorted(labels_seen)
    notes.append(f"{len(found)} label folder(s): {', '.join(found[:8])}{' ...' if len(found) > 8 else ''} "
                 "(leave a folder out with --exclude, e.g. --exclude unlabeled)")  # fmt: skip
    if not_yet:
        n = sum(1 for d in dropped if d.reason == NOT_LABELLED_YET)
        notes.append(f"{n} image(s) in {', '.join(map(repr, sorted(not_yet)))} left out: a folder of images not "
                     "labelled yet, not a label (in the ledger; validate reports them as left-out)")  # fmt: skip
    if conflicts:
        notes.append(f"{len(conflicts)} name(s) with different bytes under several labels kept as separate images")
    if nested:
        how = "each a label by its full path" if opts.nested_folders == "path" else "labelled by their top folder"
        notes.append(f"{len(nested)} nested folder(s) below label folders, {how} (--nested-folders "
                     f"{opts.nested_folders}): " + ", ".join(sorted(nested)[:5]) + (" ..." if len(nested) > 5 else ""))  # fmt: skip
    n_merged = len(merged)
    if n_merged:
        notes.append(f"{n_merged} copies of one image under several label folders merged")
    ann = Annotations.from_lists(source, "folder", paths, labels)
    ann.declared = sorted(labels_seen)
    ann.files = np.array([str(root / p) for p in files_of], dtype=object)
    if split_level:
        ann.columns = {"split": np.array(splits, dtype=object)}
    ann.dropped = dropped + merged
    ann.notes = notes
    ann.name_conflicts = conflict_paths
    ann.raw_path_is_final = True
    ann.images_root = str(root)
    return ann


def _split_folders(files: list[str], source: str) -> tuple[bool, list[str]]:
    """Whether the top folders are splits holding label folders, and the top folders that hold images."""
    # Top folders holding images; a docs/ or notes/ folder of text files beside them is neither a label nor a split.
    top_dirs = sorted({f.split("/", 1)[0] for f in files if "/" in f and is_image_name(f)})
    split_dirs = [d for d in top_dirs if d.lower() in SPLIT_NAMES]
    # Two split names, or only split names: "train" alone among car/ and bus/ is a label (COCO has one).
    if not (len(split_dirs) >= 2 or (split_dirs and split_dirs == top_dirs)):
        split_dirs = []
    deep = {f.split("/", 1)[0] for f in files if f.count("/") >= 2 and is_image_name(f)}
    split_level = bool(split_dirs) and any(d in deep for d in split_dirs)
    if split_level and len(split_dirs) < len(top_dirs):
        others = [d for d in top_dirs if d not in split_dirs]
        raise InputError(
            f"the folders {', '.join(map(repr, split_dirs))} are named like splits, but "
            f"{', '.join(map(repr, others[:5]))} beside them is not one",
            file=source,
            hint="move or remove the stray folder (or pass the split folders one by one as sources); "
            "otherwise the split names would become labels",
        )
    if split_dirs and not split_level:
        raise InputError(
            f"the folders {', '.join(map(repr, split_dirs))} are named like splits and hold the images directly, "
            "with no label folders inside",
            file=source,
            hint="expected <split>/<label>/<image>; if the labels are in an annotation file, pass that file",
        )
    return split_level, top_dirs


def _label_copies(files: list[str], split_level: bool, source: str, dropped: list[LedgerEntry],
                  nested_folders: str | None = None,
                  ) -> tuple[dict[tuple[str, str], list[tuple[str, str]]], set[str], set[str], set[str]]:  # fmt: skip
    """(split, file name) -> [(label, path)] of every image file; the labels seen, the nested label folders and
    the not-yet-labelled folders. Files left out go to ``dropped``."""
    copies: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)  # (split, name) -> [(label, path)]
    labels_seen: set[str] = set()
    nested: set[str] = set()
    not_yet: set[str] = set()
    for f in files:
        parts = f.split("/")
        need = 3 if split_level else 2
        if len(parts) < need:
            dropped.append(LedgerEntry(source, None, f, "not in a label folder", "file ignored"))
            continue
        split = parts[0] if split_level else ""
        # nested label folders (dog/puppy/x.jpg): the top folder or the full relative one, as the user says
        full = folder_label(parts[need - 2 : -1])
        label = full.split("/", 1)[0] if nested_folders == "top" else full
        name = parts[-1]
        if not is_image_name(name):
            dropped.append(LedgerEntry(source, None, f, "not an image file name", "file ignored"))
            continue
        if re.sub(r"[^0-9a-z]", "", parts[need - 2].casefold()) in NOT_YET_LABELLED:
            # unlabeled/, todo/: images nobody has labelled yet, not the label 'unlabeled' (nor an all-zero row)
            dropped.append(LedgerEntry(source, None, f, NOT_LABELLED_YET, f"in the folder {parts[need - 2]!r}"))
            not_yet.add(parts[need - 2])
            continue
        if "/" in full:
            nested.add(full)
        labels_seen.add(label)  # a folder holding no image (docs/readme.txt) is not a label
        copies[(split, name)].append((label, f))
    return copies, labels_seen, nested, not_yet


def _merge_copies(root: Path, source: str, copies: dict[tuple[str, str], list[tuple[str, str]]],
                  ) -> tuple[list[str], list[list[str]], list[str], list[str], list[str], list[list[str]],
                             list[LedgerEntry]]:  # fmt: skip
    """One image per (split, name) and distinct content: paths, labels, splits, files; the conflicts (names with
    different bytes under several labels), as text and as paths; the ledger entries of merged copies."""
    paths, labels, splits, files_of = [], [], [], []
    conflicts: list[str] = []
    conflict_paths: list[list[str]] = []
    merged: list[LedgerEntry] = []
    for (split, _name), group in sorted(copies.items()):
        group.sort()
        variants: list[tuple[list[str], list[str]]] = []  # (labels, paths) per distinct content
        if len(group) > 1:
            root_real = os.path.realpath(root)
            sizes = {p: (root / p).stat().st_size if (root / p).exists() else -1 for _, p in group}
            if len(set(sizes.values())) == 1:
                digests = {p: _digest(root / p, root_real) for _, p in group}
            else:
                digests = {p: f"size:{sizes[p]}:{_digest(root / p, root_real)}" for _, p in group}
            by_digest: dict[str, tuple[list[str], list[str]]] = {}
            for label, p in group:
                by_digest.setdefault(digests[p], ([], []))
                by_digest[digests[p]][0].append(label)
                by_digest[digests[p]][1].append(p)
            variants = list(by_digest.values())
            if len(variants) > 1:
                conflicts.append(" vs ".join(v[1][0] for v in variants))
                conflict_paths.append([v[1][0] for v in variants])
        else:
            variants = [([group[0][0]], [group[0][1]])]
        for labs, ps in variants:
            paths.append(ps[0])
            labels.append(labs)
            splits.append(split)
            files_of.append(ps[0])
            for p in ps[1:]:
                merged.append(LedgerEntry(source, None, p, "merged copy", f"same image as {ps[0]}"))
    return paths, labels, splits, files_of, conflicts, conflict_paths, merged


# Tags are comma-separated, and "smile\, happy" is the one tag "smile, happy". Escaped parentheses stay as
# written ("artist \(style\)"): that is how the tag is spelt in the prompts these sets train for.
_TAG_SPLIT = re.compile(r"(?<!\\),")


def _unescape(tag: str) -> str:
    return tag.replace("\\,", ",")


TAG_FILE_ESCAPES = "tag file leaves the images root"


def _read_tag_file(root: Path, root_real: str, image: str, tag_file: str) -> bytes | LedgerEntry:
    """The bytes of a tag file, or a ledger entry when it is a symlink leaving the root (never followed).

    Like an image, a tag file is a file under the images root: a symlink out of it (``img.txt -> /etc/passwd``)
    is not read. Anything but a regular file (a FIFO would block the read forever) is refused before opening.
    """
    full = root / tag_file
    shown = display_name(tag_file)
    try:
        if full.is_symlink():
            target = os.path.realpath(full)
            if not _is_under(target, root_real):
                return LedgerEntry(str(root), None, image, TAG_FILE_ESCAPES,
                                   f"{shown} is a symlink to {display_name(target)!r}, outside the images root; "
                                   "it was not read")  # fmt: skip
    except OSError as exc:
        raise InputError(f"cannot read the tag file: {exc.strerror or exc}", file=display_name(full)) from None
    return read_regular_file(full, what="the tag file",
                             hint="replace it with a text file of comma-separated tags, or remove it")  # fmt: skip


def read_sidecar(root: Path, opts: ReadOptions) -> Annotations:
    """``img.png`` beside ``img.txt`` holding comma-separated tags (tags may contain spaces).

    An image without a sidecar is unlabelled (left out and reported); an empty
    sidecar is an image with no labels.
    """
    _check_dir(root)
    source = str(root)
    hidden: list[str] = []
    not_utf8: list[str] = []
    files, excluded = exclude_files(walk_files(root, hidden, not_utf8), opts.exclude)
    names = set(files)
    paths, labels, files_of = [], [], []
    dropped = [LedgerEntry(source, None, f, EXCLUDED, pat) for f, pat in excluded]
    dropped += _not_utf8_entries(source, not_utf8)
    escaped: list[LedgerEntry] = []  # images whose tag file is a symlink leaving the root: never read
    root_real = os.path.realpath(root)
    used_txt: set[str] = set()
    for f in files:
        if not is_image_name(f):
            continue
        tag_file = os.path.splitext(f)[0] + SIDECAR_EXTENSION
        if tag_file not in names:
            dropped.append(LedgerEntry(source, None, f, "unlabelled", f"no sidecar {tag_file}"))
            continue
        used_txt.add(tag_file)
        raw = _read_tag_file(root, root_real, f, tag_file)
        if isinstance(raw, LedgerEntry):
            escaped.append(raw)
            continue
        codec = "utf-8-sig" if opts.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else opts.encoding
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise InputError(f"tag file is not {opts.encoding} (byte 0x{raw[exc.start]:02x})", file=str(root / tag_file),
                             line=raw.count(b"\n", 0, exc.start) + 1,
                             hint="pass its encoding, e.g. --encoding latin-1") from None  # fmt: skip
        except LookupError:
            raise InputError(f"unknown encoding {opts.encoding!r}", hint="use a Python codec name such as latin-1") from None
        tags = [_unescape(t).strip() for line in text.split("\n") for t in _TAG_SPLIT.split(line)]
        seen: list[str] = []
        for t in tags:
            if t and t not in seen:
                seen.append(t)
        paths.append(f)
        labels.append(seen)
        files_of.append(str(root / tag_file))
    for f in files:
        if f.endswith(SIDECAR_EXTENSION) and f not in used_txt and not is_image_name(f):
            dropped.append(LedgerEntry(source, None, f, "tag file without an image", "file ignored"))
    ann = Annotations.from_lists(source, "sidecar", paths, labels)
    ann.files = np.array(files_of, dtype=object)
    ann.dropped = dropped + escaped
    ann.notes = [f"sidecar tags: {len(paths)} image(s) with a {SIDECAR_EXTENSION} file", *_hidden_note(hidden)]
    if escaped:
        ann.notes.append(f"{len(escaped)} tag file(s) are symlinks leaving the images root: not read, their images "
                         f"left out (first: {escaped[0].detail})")  # fmt: skip
    ann.raw_path_is_final = True
    ann.images_root = str(root)
    return ann
