"""What every folder form needs: split words, where the images are, and several files as the splits of one.

Nothing here guesses: a split is named only by a split word the name holds, and an images folder is taken only
when the listed files are found in it.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry

__all__ = [
    "SPLIT_WORDS",
    "combine_splits",
    "image_folder_candidates",
    "is_doc_file",
    "is_regular",
    "lines_of",
    "locate_ids",
    "locate_images",
    "named_sources",
    "read_text_file",
    "split_word",
]

# Words that name a split in file and folder names ("instances_train2017", "labels_val", "oidv6-train-...").
SPLIT_WORDS = ("trainval", "training", "train", "validation", "valid", "val", "testing", "test", "dev", "eval")
_SPLIT_SET = frozenset(SPLIT_WORDS)
_DOC_STEMS = frozenset({"readme", "license", "licence", "changelog", "citation", "notice", "authors", "copying"})
_DOC_SUFFIXES = frozenset({".md", ".rst", ".pdf", ".html", ".htm", ".py", ".ipynb", ".sh", ".cfg", ".ini", ".toml"})


_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff",
                             ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".j2k", ".ico"})  # fmt: skip


def _is_frame(x: Any) -> bool:
    return type(x).__name__ == "DataFrame" and hasattr(x, "columns")


def named_sources(sources: Any) -> tuple[list[Any], list[str | None]]:
    """Sources as paths, and the split each was named on the command line (``train=a.json``) or None.

    ``sources`` is one path, a list of paths and ``NAME=PATH`` strings, or a mapping ``{name: path}``; pandas
    DataFrames pass through. A string that exists as a path is a path even when it holds ``=``.
    """
    if isinstance(sources, Mapping):
        return [p if _is_frame(p) else Path(p) for p in sources.values()], [str(k) for k in sources]
    items = [sources] if isinstance(sources, (str, os.PathLike)) or _is_frame(sources) else list(sources)
    paths: list[Any] = []
    names: list[str | None] = []
    for item in items:
        if _is_frame(item):  # an in-memory table: named by its attrs["name"], as validate names it
            paths.append(item)
            names.append(None)
            continue
        text = os.fspath(item)
        name, sep, rest = text.partition("=")
        if sep and rest and _NAME.match(name) and not os.path.exists(text):
            paths.append(Path(rest))
            names.append(name)
        else:
            paths.append(Path(text))
            names.append(None)
    return paths, names


def split_word(name: str) -> str | None:
    """The split word a file or folder name holds (``instances_train2017`` -> ``train``), or None.

    Names are cut into words at anything that is not a letter (so ``train2017`` holds ``train``); a name with
    two different split words (``train_test``) holds none, since it does not say which.
    """
    words = {w for w in re.split(r"[^a-z]+", name.lower()) if w in _SPLIT_SET}
    return words.pop() if len(words) == 1 else None


def is_doc_file(rel: str) -> bool:
    """README, LICENSE, notebooks and the like: files beside a dataset that are not annotations."""
    base = rel.rsplit("/", 1)[-1].lower()
    stem, suffix = os.path.splitext(base)
    return stem.split(".")[0] in _DOC_STEMS or suffix in _DOC_SUFFIXES


def lines_of(text: str) -> list[str]:
    """The lines of a text file: split at LF, CRLF or a bare CR only (``str.splitlines`` also splits at
    Unicode separators such as U+0085, which may be part of a label)."""
    return re.split(r"\r\n|\n|\r", text)


def read_text_file(path: Path, *, what: str = "file", root: Path | None = None) -> str:
    """A small text file as UTF-8 (BOM accepted); a clear error naming the byte otherwise.

    With ``root`` (the dataset folder), a symlink leading out of it is refused unread: an annotation file of
    the dataset is a file under it, like an image.
    """
    from labelprep.safeio import display_name, read_regular_file

    if root is not None and path.is_symlink():
        target, base = os.path.realpath(path), os.path.realpath(root)
        if not (target == base or target.startswith(base.rstrip(os.sep) + os.sep)):
            raise InputError(f"the {what} is a symlink to {display_name(target)!r}, outside the dataset folder; "
                             "it was not read", file=display_name(path),
                             hint="copy the file into the dataset instead of linking to it")  # fmt: skip

    raw = read_regular_file(path, what=f"the {what}")  # a FIFO is refused, never opened
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 (byte 0x{raw[exc.start]:02x})", file=display_name(path),
                         line=raw.count(b"\n", 0, exc.start) + 1, hint="save it as UTF-8") from None  # fmt: skip


def _exists(root: Path, rel: str) -> bool:
    try:
        return (root / rel).is_file()
    except OSError:  # a name too long for the file system, a path through a file: not there
        return False


class Candidates(list):  # type: ignore[type-arg]
    """Folders to look for images in: named ones first (the usual names, the split's), in order of preference,
    then the ones a scan of subfolders found (from ``scanned_from`` on), which have no order among them."""

    scanned_from: int = 0


def locate_images(
    base: Path, rel_paths: Sequence[str], candidates: Iterable[Path] | Callable[[], Iterable[Path]] = (), *,
    sample: int = 64,
) -> tuple[Path, str | None]:
    """The folder the listed paths are found under: ``base`` when any is found there, else the first named
    candidate where every path of a sample is found, else the one scanned folder where they all are.

    A folder is taken only when the listed files are found in it (evidence, not a guess), and never when two
    scanned folders hold them alike (then ``base``: validate reports the files missing and says where copies
    are). Returns the folder and a note saying where the images were found (None when they are under ``base``,
    or found nowhere). ``candidates`` may be a function that lists them: called only when they are needed.
    """
    picks = [p for p in rel_paths[:sample] if p and not p.startswith(("/", "..")) and "://" not in p]
    if not picks or any(_exists(base, p) for p in picks):
        return base, None  # found under base (or nothing to look for): the ones not found there are missing
    if callable(candidates):
        candidates = candidates()
    cands = list(candidates)
    scanned_from = getattr(candidates, "scanned_from", len(cands))
    complete: list[Path] = []
    for k, cand in enumerate(cands):
        if cand == base or not cand.is_dir() or not all(_exists(cand, p) for p in picks):
            continue
        if k < scanned_from:
            complete = [cand]  # a named folder, in order of preference: the first that holds them all
            break
        if not any(cand.resolve() == c.resolve() for c in complete):
            complete.append(cand)
    if len(complete) != 1:  # nowhere, or two scanned folders alike: no folder is taken
        return base, None
    shown = os.path.relpath(complete[0], base).replace(os.sep, "/")
    return complete[0], f"images found under {shown}/ ({len(picks)} of the first {len(picks)} listed)"


def _subfolders(root: Path, limit: int = 64) -> list[Path]:
    try:  # the listing's entry types, not a stat a file: an images folder may hold a million files
        with os.scandir(root) as it:
            found = [Path(e.path) for e in it if not e.name.startswith(".") and _is_dir(e)]
    except OSError:
        return []
    return sorted(found)[:limit]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def image_folder_candidates(base: Path, split: str | None = None, stem: str | None = None,
                            first: Sequence[Path] = ()) -> Candidates:  # fmt: skip
    """Where exports put images relative to their annotation file's folder (and its parent): the usual names,
    the split's and the file stem's folders (``instances_val2017.json`` -> ``val2017/``), then any subfolder
    (``train_images/``) of ``base``. :func:`locate_images` takes one only when the listed files are found in it."""
    names = ["images", "Images", "JPEGImages", "imgs", "img", "data", "media"]
    subsets = [x for x in dict.fromkeys([split, *(stem.rsplit("_", 1)[-1:] if stem and "_" in stem else [])]) if x]
    out: list[Path] = list(first)  # a form's own places, before the usual ones
    for root in (base, base.parent):
        for sub in subsets:
            out += [root / n / sub for n in names] + [root / sub / n for n in names] + [root / sub]
        out += [root / n for n in names]
        out.append(root)
    seen: set[Path] = set()
    named = Candidates(p for p in out if not (p in seen or seen.add(p)))  # type: ignore[func-returns-value]
    named.scanned_from = len(named)
    for folder in _subfolders(base):  # never the parent's: a sibling folder may hold another copy of the dataset
        for cand in (folder, *(folder / s for s in subsets), *_subfolders(folder, 16)):
            if cand not in seen:
                seen.add(cand)
                named.append(cand)
    return named


_ID_EXTENSIONS = (".jpg", ".png", ".jpeg", ".JPG", ".JPEG", ".PNG", ".tif", ".tiff", ".bmp", ".webp")


def locate_ids(base: Path, ids: Sequence[str], candidates: Iterable[Path]) -> tuple[str, str] | None:
    """For ids without an extension (``train_0``): the folder under ``base`` and the extension with which every
    sampled id is a file (``train-jpg/train_0.jpg``), as a path template and a note; None unless exactly one
    folder and extension fit them all."""
    picks = [i for i in ids[:32] if i and "/" not in i and os.path.splitext(i)[1].lower() not in _IMAGE_SUFFIXES]
    if len(picks) < min(len(ids), 1) or not picks:
        return None
    fits = []
    for folder in [base, *candidates]:
        if not folder.is_dir():
            continue
        for ext in _ID_EXTENSIONS:
            if _exists(folder, f"{picks[0]}{ext}") and all(_exists(folder, f"{i}{ext}") for i in picks):
                fits.append((folder, ext))
    folders = {f for f, _ in fits}
    if len(fits) != 1 and not (len(folders) == 1 and fits):
        return None
    folder, ext = fits[0]
    rel = os.path.relpath(folder, base).replace(os.sep, "/")
    template = ("{}" if rel == "." else f"{rel}/{{}}") + ext
    return template, (f"ids name no file: each is {template} (all {len(picks)} sampled found; --path-template "
                      "gives another)")


def combine_splits(parts: Sequence[tuple[str, Annotations]], source: str, format: str) -> Annotations:
    """Several annotation files of one form as the splits of one :class:`Annotations`.

    Each part's paths (relative to its own images root) become relative to the roots' common folder; each row
    gets its part's split name (``default`` and '' give no split). Labels are united in the parts' order.
    """
    roots = [os.path.abspath(p.images_root or os.path.dirname(p.source) or ".") for _, p in parts]
    common = os.path.commonpath(roots)
    names: list[str] = []
    index: dict[str, int] = {}
    paths, lines, files, splits, rows, codes, values = [], [], [], [], [], [], []
    declared: list[str] | None = [] if all(p.declared is not None for _, p in parts) else None
    dropped: list[LedgerEntry] = []
    notes: list[str] = []
    offset = 0
    for (split, part), root in zip(parts, roots, strict=True):
        rel = os.path.relpath(root, common).replace(os.sep, "/")
        raw = [str(p) for p in part.paths]
        if part.default_template:
            raw = [part.default_template.replace("{}", p) for p in raw]
        paths += [p if rel == "." else posixpath.join(rel, p) for p in raw]
        lines.append(part.lines)
        files += [part.file_of(i) for i in range(part.n_rows)]
        splits += [split] * part.n_rows
        remap = np.empty(len(part.names), dtype=np.int64)
        for i, name in enumerate(part.names):
            if name not in index:
                index[name] = len(names)
                names.append(name)
            remap[i] = index[name]
        rows.append(part.row.astype(np.int64) + offset)
        codes.append(remap[part.code] if len(part.code) else np.zeros(0, np.int64))
        values.append(part.value)
        if declared is not None:
            declared += [d for d in part.declared or () if d not in declared]
        dropped += part.dropped
        notes += [f"{split or part.source}: {n}" for n in part.notes]
        offset += part.n_rows
    ann = Annotations(
        source=source, format=format, paths=np.array(paths, dtype=object), lines=np.concatenate(lines),
        row=np.concatenate(rows), code=np.concatenate(codes), names=names, value=np.concatenate(values),
        declared=declared, files=np.array(files, dtype=object), dropped=dropped, notes=notes,
    )  # fmt: skip
    if any(s not in ("", "default") for s in splits):
        ann.columns = {"split": np.array(splits, dtype=object)}
    ann.images_root = common
    return ann


def is_regular(path: Path) -> bool:
    """A regular file (followed through symlinks): what may be opened without blocking."""
    import stat

    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
