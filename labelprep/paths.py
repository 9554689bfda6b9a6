"""Image paths: templates, separators, the images root, and finding bare file names."""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from labelprep.errors import InputError
from labelprep.readers.folders import walk_files

__all__ = ["PathResolution", "apply_template", "resolve_paths"]

_NEEDS_WORK = r"(\\|^/|^\./|(^|/)\.\.?(/|$)|//|^[A-Za-z]:|^[a-z][a-z0-9+.-]*://)"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://")


@dataclass
class PathResolution:
    """Resolved paths and what was done to them."""

    paths: npt.NDArray[np.object_]
    outside: npt.NDArray[np.bool_]  # absolute or '..' paths that leave the images root (kept as given)
    notes: list[str] = field(default_factory=list)
    not_found: int = 0
    arrow: pa.Array | None = None  # the paths as an Arrow string array, when none was rewritten


def apply_template(paths: npt.NDArray[np.object_], template: str) -> npt.NDArray[np.object_]:
    """Put each id into ``template`` at every ``{}`` (``"{}.jpg"``, ``"train-jpg/{}.jpg"``, ``"{}/{}.png"``)."""
    if "{}" not in template:
        raise InputError(
            f"--path-template {template!r} has no '{{}}' to put the id in",
            hint="for example --path-template '{}.jpg'",
        )
    parts = template.split("{}")
    arr = pa.array(paths, pa.string())
    pieces = [x for part in parts[:-1] for x in (part, arr)] + [parts[-1]]
    return np.asarray(pc.binary_join_element_wise(*pieces, "").to_numpy(zero_copy_only=False), dtype=object)


def resolve_paths(
    raw: npt.NDArray[np.object_],
    *,
    images_root: Path,
    template: str | None = None,
    find_images: bool = False,
    lines: npt.NDArray[np.int64] | None = None,
    source: str | None = None,
) -> PathResolution:
    """Normalise paths to POSIX paths relative to ``images_root``.

    Backslashes become slashes, ``./`` and duplicate slashes go, absolute paths
    under the root become relative. Absolute paths elsewhere and ``..`` that
    leave the root are kept as given and flagged, never rewritten. URLs are kept.
    """
    notes: list[str] = []
    paths = apply_template(raw, template) if template else raw
    arr = pa.array(paths, pa.string())
    blank = np.asarray(pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(zero_copy_only=False), dtype=bool)
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise InputError(
            f"{int(blank.sum())} row(s) have an empty path",
            file=source,
            line=int(lines[i]) if lines is not None and lines[i] > 0 else None,
            hint="every row needs an image path",
        )
    needs = np.asarray(pc.match_substring_regex(arr, _NEEDS_WORK).to_numpy(zero_copy_only=False), dtype=bool)
    outside = np.zeros(len(paths), dtype=bool)
    out = np.array(paths, dtype=object, copy=True)
    if needs.any():
        root_abs = os.path.abspath(images_root).replace(os.sep, "/")
        n_backslash = n_abs = 0
        for i in np.flatnonzero(needs).tolist():
            p = str(out[i])
            if _URL.match(p):
                continue
            if "\\" in p:
                p = p.replace("\\", "/")
                n_backslash += 1
            if p.startswith("/") or re.match(r"^[A-Za-z]:/", p):
                norm = posixpath.normpath(p)
                if norm == root_abs or norm.startswith(root_abs.rstrip("/") + "/"):
                    p = posixpath.relpath(norm, root_abs)
                    n_abs += 1
                else:
                    outside[i] = True
                    out[i] = p
                    continue
            norm = posixpath.normpath(p)
            if norm == ".." or norm.startswith("../"):
                outside[i] = True
                out[i] = p
                continue
            out[i] = norm
        if n_backslash:
            notes.append(f"{n_backslash} path(s) had backslashes, now '/'")
        if n_abs:
            notes.append(f"{n_abs} absolute path(s) under the images root made relative")
        if outside.any():
            notes.append(
                f"{int(outside.sum())} path(s) leave the images root (absolute or '..'); kept as given, "
                "flagged for validate"
            )
    res = PathResolution(out, outside, notes, arrow=None if needs.any() or find_images else arr)
    if find_images:
        _find_images(res, images_root, lines, source)
    return res


def _find_images(
    res: PathResolution, root: Path, lines: npt.NDArray[np.int64] | None, source: str | None
) -> None:
    files = walk_files(root)
    existing = set(files)
    by_name: dict[str, list[str]] = {}
    for f in files:
        by_name.setdefault(posixpath.basename(f), []).append(f)
    moved = missing = 0
    for i, p in enumerate(res.paths):
        if res.outside[i] or p in existing:
            continue
        cands = by_name.get(posixpath.basename(p), [])
        if len(cands) == 1:
            res.paths[i] = cands[0]
            moved += 1
        elif len(cands) > 1:
            shown = ", ".join(cands[:5]) + (f", ... ({len(cands)} in all)" if len(cands) > 5 else "")
            raise InputError(
                f"--find-images: {p!r} matches several files under {root}: {shown}",
                file=source,
                line=int(lines[i]) if lines is not None and lines[i] > 0 else None,
                hint="list the image with its folder, or narrow --images-root",
            )
        else:
            missing += 1
    res.notes.append(f"--find-images: {moved} path(s) found under {root}" + (
        f", {missing} not found anywhere (kept as listed)" if missing else ""))  # fmt: skip
    res.not_found = missing
