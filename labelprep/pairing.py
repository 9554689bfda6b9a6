"""Pairing the images of two versions of a dataset by identity: by content, by name in the label folder, or by path.

:func:`pair_images` does it for :func:`labelprep.compare.diff_frames` and says which rule it used. Content is the
sha256 of each file under the two images roots (hashed in threads: hashlib releases the GIL while hashing).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.errors import ConflictError, InputError, VocabularyError
from labelprep.frameio import FORMAT_ATTR
from labelprep.multihot import dense_matrix

__all__ = ["Pairing", "check_frame_columns", "check_roots", "digest_state", "file_digests", "pair_images",
           "shared_between"]

_HASH_WORKERS = min(8, 2 * (os.cpu_count() or 1))
Digests = tuple[list[str | None], list[str | None]]


@dataclass
class Pairing:
    """Both frames' paths and label matrices, and which old row pairs with which new row (in new-frame order)."""

    old_paths: npt.NDArray[np.object_]
    new_paths: npt.NDArray[np.object_]
    old_mat: npt.NDArray[np.int8]
    new_mat: npt.NDArray[np.int8]
    in_old: npt.NDArray[np.intp]
    in_new: npt.NDArray[np.intp]
    by_content: npt.NDArray[np.bool_]  # per pair: paired by content (then its bytes are equal)
    key_rule: str  # "name" or "path": the rule of the pairs not made by content
    rule: str  # the whole rule, in words, for Diff.stats["matched_by"]
    digests: Digests | None = None  # per row: sha256, or "\0" + why there is none (see digest_state)
    content: dict[str, Any] = field(default_factory=lambda: {"checked": False})


def pair_images(old: pd.DataFrame, old_labels: list[str], new: pd.DataFrame, new_labels: list[str], *,
                old_root: str | os.PathLike[str] | None, new_root: str | os.PathLike[str] | None, match: str,
                notes: list[str]) -> Pairing:  # fmt: skip
    """Pair the images of ``old`` and ``new`` by ``match`` (see :func:`labelprep.compare.diff_frames`); notes go to
    ``notes``. With both roots and ``match`` auto or content, every file is hashed and pairs by content first."""
    old_paths, new_paths = image_paths(old, "old"), image_paths(new, "new")
    old_mat, new_mat = label_matrix(old, old_labels), label_matrix(new, new_labels)
    content: dict[str, Any] = {"checked": False}
    digests: Digests | None = None
    if old_root is not None and new_root is not None and match in ("auto", "content"):
        o, n = Path(old_root), Path(new_root)
        check_roots(o, n)
        if o.resolve() == n.resolve():
            notes.append("both frames use the same images root: file content cannot differ; not compared")
            content = {"checked": False, "same_root": True}
        else:
            digests = file_digests(o, old_paths), file_digests(n, new_paths)
    folder = old.attrs.get(FORMAT_ATTR) == "folder" and new.attrs.get(FORMAT_ATTR) == "folder"
    key_rule = "name" if match == "name" or (match in ("auto", "content") and folder) else "path"
    keys, key_rule, why = identity_keys(key_rule, old, old_paths, old_mat, old_labels, new, new_paths, new_mat,
                                        new_labels, folder)  # fmt: skip
    if why:
        notes.append(why)
    in_old, in_new, by_content = pair_rows(keys, digests)
    rule = _RULE_TEXT[key_rule] if key_rule != "name" or folder else _RULE_TEXT["basename"]
    if digests is not None:
        rule = f"content (sha256 of the files under the images roots), then {rule}"
    elif match == "auto" and key_rule == "path" and old_root is None:
        rule += " (--images-root pairs images by content; --match name by file name)"
    return Pairing(old_paths, new_paths, old_mat, new_mat, in_old, in_new, by_content, key_rule, rule, digests, content)


_RULE_TEXT = {
    "path": "path",
    "name": "file name within the label folder (folder form: a move between label folders is a relabel)",
    "basename": "file name",
}


def identity_keys(rule: str, old: pd.DataFrame, old_paths: npt.NDArray[np.object_], old_mat: npt.NDArray[np.int8],
                   old_labels: list[str], new: pd.DataFrame, new_paths: npt.NDArray[np.object_],
                   new_mat: npt.NDArray[np.int8], new_labels: list[str],
                   folder: bool) -> tuple[tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]], str, str]:  # fmt: skip
    """Each image's identity in both frames, the rule that made it, and a note when some images could not use it.

    A file name that repeats within either version (one name in two splits, or copies with different bytes kept
    apart with --on-conflict separate) cannot say which image is which: those images are paired by split and name
    when that is unique, else by path.
    """
    if rule == "path":
        return (old_paths, new_paths), "path", ""
    a = _names(old_paths, old_mat, old_labels, folder)
    b = _names(new_paths, new_mat, new_labels, folder)
    repeated = set(a[pd.Index(a).duplicated()].tolist()) | set(b[pd.Index(b).duplicated()].tolist())
    if not repeated:
        return (a, b), "name", ""
    splits = "split" in old.columns and "split" in new.columns
    sa = old["split"].astype("string").fillna("").to_numpy(dtype=object) + "/" + a if splits else None
    sb = new["split"].astype("string").fillna("").to_numpy(dtype=object) + "/" + b if splits else None
    split_ok = (sa is not None and sb is not None and _unique(sa[np.isin(a, list(repeated))])
                and _unique(sb[np.isin(b, list(repeated))]))  # fmt: skip

    def keys(names: npt.NDArray[np.object_], qualified: npt.NDArray[np.object_] | None,
             paths: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:  # fmt: skip
        out = np.array(["\0name\0" + str(n) for n in names.tolist()], dtype=object)
        amb = np.isin(names, list(repeated))
        if split_ok and qualified is not None:
            out[amb] = ["\0split\0" + str(q) for q in qualified[amb].tolist()]
        else:
            out[amb] = ["\0path\0" + str(p) for p in paths[amb].tolist()]
        return out

    n_amb = int(np.isin(a, list(repeated)).sum() + np.isin(b, list(repeated)).sum())
    how = "split and file name" if split_ok else "path"
    note = (f"{len(repeated)} file name(s) repeat within a version (one name in several splits, or copies kept "
            f"apart with --on-conflict separate): their {n_amb} image(s) matched by {how}")  # fmt: skip
    return (keys(a, sa, old_paths), keys(b, sb, new_paths)), "name", note


def _unique(keys: npt.NDArray[np.object_]) -> bool:
    return not pd.Index(keys).duplicated().any()


def _names(paths: npt.NDArray[np.object_], mat: npt.NDArray[np.int8], labels: list[str],
           folder: bool) -> npt.NDArray[np.object_]:  # fmt: skip
    """The file name within the label folder: the path after its first folder that is one of the image's labels
    (a folder form lists each image under one of its label folders); the file name alone for other forms."""
    out = np.empty(len(paths), dtype=object)
    index = {x: i for i, x in enumerate(labels)}
    for r, p in enumerate(paths.tolist()):
        parts = str(p).split("/")
        name = parts[-1]
        if folder:
            for k in range(len(parts) - 1):
                j = index.get(parts[k])
                if j is not None and mat[r, j] == 1:
                    name = "/".join(parts[k + 1 :])
                    break
        out[r] = name
    return out


def pair_rows(keys: tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]],
          digests: Digests | None
          ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:  # fmt: skip
    """Old and new row of each pair (in new-frame order), and whether content paired it: first files whose
    sha256 is unique in both versions, then the rest by key."""
    old_taken = np.zeros(len(keys[0]), dtype=bool)
    new_taken = np.zeros(len(keys[1]), dtype=bool)
    c_old = c_new = np.zeros(0, dtype=np.intp)
    if digests is not None:
        da, db = (pd.Series([d if digest_state(d) == "present" else None for d in ds], dtype=object) for ds in digests)
        ua = da[da.notna() & ~da.duplicated(keep=False)]
        ub = db[db.notna() & ~db.duplicated(keep=False)]
        where = pd.Index(ua.to_numpy()).get_indexer(pd.Index(ub.to_numpy()))
        c_new = ub.index.to_numpy()[where >= 0].astype(np.intp)
        c_old = ua.index.to_numpy()[where[where >= 0]].astype(np.intp)
        old_taken[c_old] = True
        new_taken[c_new] = True
    rest_old = np.flatnonzero(~old_taken)
    rest_new = np.flatnonzero(~new_taken)
    where = pd.Index(keys[0][rest_old]).get_indexer(pd.Index(keys[1][rest_new]))
    k_new = rest_new[where >= 0].astype(np.intp)
    k_old = rest_old[where[where >= 0]].astype(np.intp)
    in_new = np.concatenate([c_new, k_new])
    order = np.argsort(in_new, kind="stable")
    by_content = np.concatenate([np.ones(len(c_new), dtype=bool), np.zeros(len(k_new), dtype=bool)])
    return np.concatenate([c_old, k_old])[order], in_new[order], by_content[order]


def shared_between(removed: npt.NDArray[np.object_], added: npt.NDArray[np.object_],
                    digests: Digests | None, gone: npt.NDArray[np.bool_],
                    new_mask: npt.NDArray[np.bool_], rule: str) -> list[str]:  # fmt: skip
    """Notes when removed and added images share a file name or bytes: perhaps one image under another path."""
    out = []
    by_name: dict[str, str] = {}
    for p in removed.tolist():
        by_name.setdefault(str(p).rsplit("/", 1)[-1], str(p))
    same = [(by_name[str(p).rsplit("/", 1)[-1]], str(p)) for p in added.tolist() if str(p).rsplit("/", 1)[-1] in by_name]
    if same:
        shown = ", ".join(f"{a} (removed) / {b} (added)" for a, b in same[:3]) + (" ..." if len(same) > 3 else "")
        how = ("their bytes differ" if digests is not None else
               "--images-root compares their bytes" + ("" if rule == "name" else ", --match name pairs them by name"))
        out.append(f"{len(same)} added image(s) share a file name with a removed one: {shown} ({how})")
    if digests is not None:
        old_d = {d: str(p) for d, p in zip(np.asarray(digests[0], dtype=object)[gone].tolist(), removed.tolist())
                 if digest_state(d) == "present"}  # fmt: skip
        both = [(old_d[d], str(p)) for d, p in zip(np.asarray(digests[1], dtype=object)[new_mask].tolist(),
                                                   added.tolist()) if d in old_d]  # fmt: skip
        if both:
            shown = ", ".join(f"{a} (removed) / {b} (added)" for a, b in both[:3]) + (" ..." if len(both) > 3 else "")
            out.append(f"{len(both)} added image(s) have the same bytes as a removed one (copies of one image in a "
                       f"version are not paired by content): {shown}")  # fmt: skip
    return out


def check_frame_columns(frame: pd.DataFrame, labels: list[str], which: str) -> None:
    if "path" not in frame.columns:
        raise InputError(f"the {which} frame has no 'path' column", hint="diff compares frames written by convert")
    missing = [x for x in labels if x not in frame.columns]
    if missing:
        raise VocabularyError(
            f"the {which} frame lacks the label column(s) {', '.join(map(repr, missing[:5]))}",
            hint="the frame and its vocabulary do not belong together",
        )


def image_paths(frame: pd.DataFrame, which: str) -> npt.NDArray[np.object_]:
    paths = frame["path"].astype("string").fillna("").to_numpy(dtype=object)
    dup = pd.Index(paths).duplicated()
    if dup.any():
        first = str(paths[np.flatnonzero(dup)[0]])
        raise ConflictError(
            f"the {which} frame lists {first!r} more than once ({int(dup.sum())} repeated path(s))",
            hint="diff matches images by path; run labelprep validate and merge the duplicates",
        )
    return paths


def label_matrix(frame: pd.DataFrame, labels: list[str]) -> npt.NDArray[np.int8]:
    if not labels:
        return np.zeros((len(frame), 0), dtype=np.int8)
    return dense_matrix(frame, labels, purpose="diff")


def _digest(path: Path) -> tuple[str | None, str]:
    """(sha256, state): state is "present", "missing" or "unreadable (...)"."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest(), "present"
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc.__class__.__name__})"


def check_roots(old_root: Path, new_root: Path) -> None:
    for root, which in ((old_root, "old"), (new_root, "new")):
        if not root.is_dir():
            raise InputError(f"the {which} images root is not a folder", file=str(root), hint="check --images-root")


def file_digests(root: Path, paths: npt.NDArray[np.object_], rows: npt.NDArray[np.intp] | None = None) -> list[str | None]:
    """sha256 of each file (None when missing or unreadable); only ``rows`` when given, the others None."""
    take = range(len(paths)) if rows is None else rows.tolist()
    with ThreadPoolExecutor(max_workers=_HASH_WORKERS) as pool:
        # hashlib releases the GIL while hashing, so threads overlap reading and hashing
        got = list(pool.map(_digest, (root / str(paths[i]) for i in take), chunksize=64))
    out: list[str | None] = [None] * len(paths)
    for i, (d, state) in zip(take, got):
        out[i] = d if d is not None else f"\0{state}"  # the state of a file with no digest, for the message
    return out


def digest_state(d: str | None) -> str:
    if d is None:
        return "missing"
    return d[1:] if d.startswith("\0") else "present"
