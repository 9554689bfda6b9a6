"""What changed between two versions of a dataset: images, labels, vocabulary, prevalence, file content.

Images are matched by ``path``. Every difference is a :class:`Change` of one
kind (see :data:`KINDS`); ``Diff.fails(["relabel", "new-label"])`` gates a CI
job on the kinds that matter. The renderings follow :mod:`labelprep.report`:
text grouped by kind and capped, complete JSON, GitHub annotations, JUnit XML.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.errors import ConflictError, InputError, VocabularyError
from labelprep.multihot import dense_matrix

__all__ = ["KINDS", "Change", "Diff", "PrevalenceRow", "diff_frames", "parse_kinds"]

# kind -> (level in GitHub annotations, what it means). Stable: the --fail-on vocabulary.
KINDS: dict[str, tuple[str, str]] = {
    "new-label": ("notice", "a label only the new vocabulary has"),
    "removed-label": ("warning", "a label only the old vocabulary has"),
    "label-order": ("warning", "a label of both vocabularies at another position (model outputs go by position)"),
    "added-image": ("notice", "an image only the new frame lists"),
    "removed-image": ("warning", "an image only the old frame lists"),
    "relabel": ("warning", "an image in both whose labels changed (on labels both vocabularies have)"),
    "split-changed": ("warning", "an image in both that moved to another split"),
    "content-changed": ("warning", "an image in both whose file bytes differ or exist on one side only"),
    "prevalence-shift": ("warning", "a label whose prevalence moved by more than the threshold"),
}
_ORDER = {kind: i for i, kind in enumerate(KINDS)}
_HASH_WORKERS = min(8, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class Change:
    """One difference: its kind, a sentence, and the image or label it is about.

    ``before`` and ``after`` hold the old and new value: label lists for
    ``relabel``, splits, vocabulary positions, prevalences, or sha256 digests
    (None for a file that is missing).
    """

    kind: str
    message: str
    path: str | None = None
    label: str | None = None
    before: Any = None
    after: Any = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.path is not None:
            out["path"] = self.path
        if self.label is not None:
            out["label"] = self.label
        if self.before is not None or self.after is not None:
            out["before"], out["after"] = self.before, self.after
        return out | self.detail


@dataclass(frozen=True)
class PrevalenceRow:
    """One label's prevalence in each frame (None where the vocabulary lacks it)."""

    label: str
    old: float | None
    new: float | None

    @property
    def shift(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "old": self.old, "new": self.new, "shift": self.shift}


def parse_kinds(kinds: Iterable[str] | str) -> set[str]:
    """Check ``--fail-on`` values (a list or a comma-separated string); ``any`` means every kind."""
    items = kinds.split(",") if isinstance(kinds, str) else [x for k in kinds for x in str(k).split(",")]
    out: set[str] = set()
    for raw in items:
        kind = raw.strip()
        if not kind:
            continue
        if kind == "any":
            out.update(KINDS)
            continue
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, list(KINDS), n=1)
            raise InputError(
                f"unknown change kind {kind!r}",
                hint=f"did you mean {close[0]!r}?" if close else "kinds: " + ", ".join([*KINDS, "any"]),
            )
        out.add(kind)
    return out


@dataclass
class Diff:
    """Every change from an old to a new frame, and how to render it.

    Example:
        >>> import pandas as pd
        >>> old = pd.DataFrame({"path": ["a.jpg", "b.jpg"], "cat": [1, 0], "dog": [0, 1]})
        >>> new = pd.DataFrame({"path": ["a.jpg", "c.jpg"], "cat": [1, 1], "dog": [1, 0]})
        >>> d = diff_frames(old, ["cat", "dog"], new, ["cat", "dog"])
        >>> sorted(d.kinds())
        ['added-image', 'prevalence-shift', 'relabel', 'removed-image']
        >>> d.fails(["relabel"]), d.fails(["new-label"])
        (True, False)
    """

    changes: list[Change] = field(default_factory=list)
    prevalence: list[PrevalenceRow] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    new_file: str | None = None  # the new version's annotation file: where GitHub annotations attach

    # -- reading --------------------------------------------------------------
    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def kinds(self) -> set[str]:
        """The kinds of change present."""
        return {c.kind for c in self.changes}

    def counts(self) -> Counter[str]:
        return Counter(c.kind for c in self.changes)

    def fails(self, fail_on: Iterable[str]) -> bool:
        """True when a change of one of the ``fail_on`` kinds is present (unknown kinds raise)."""
        return bool(self.kinds() & parse_kinds(fail_on))

    def summary(self) -> dict[str, Any]:
        counts = self.counts()
        return {"by_kind": {k: counts[k] for k in KINDS if counts[k]}, **self.stats}

    def summary_line(self, fail_on: Iterable[str] = ()) -> str:
        counts = self.counts()
        parts = [f"{counts[k]} {k}" for k in KINDS if counts[k]]
        size = (f"old {self.stats.get('old_images', 0)} image(s) x {self.stats.get('old_labels', 0)} label(s), "
                f"new {self.stats.get('new_images', 0)} x {self.stats.get('new_labels', 0)}")  # fmt: skip
        failing = sorted(self.kinds() & parse_kinds(fail_on), key=_ORDER.__getitem__)
        verdict = f"FAILED (--fail-on {','.join(failing)})" if failing else ("CHANGED" if self.changes else "UNCHANGED")
        return f"{verdict}: " + (", ".join(parts) + "; " if parts else "no changes; ") + size

    # -- rendering ------------------------------------------------------------
    def to_dict(self, fail_on: Iterable[str] = ()) -> dict[str, Any]:
        """Complete JSON-ready data: ``{"changed", "failed", "summary", "changes", "prevalence", "notes"}``."""
        return {
            "changed": self.changed,
            "failed": bool(self.kinds() & parse_kinds(fail_on)),
            "summary": self.summary(),
            "changes": [c.to_dict() for c in self.changes],
            "prevalence": [p.to_dict() for p in self.prevalence],
            "notes": list(self.notes),
        }

    def to_json(self, fail_on: Iterable[str] = ()) -> str:
        return json.dumps(self.to_dict(fail_on), ensure_ascii=False, indent=2, allow_nan=False) + "\n"

    def to_text(self, fail_on: Iterable[str] = (), *, max_per_kind: int = 10) -> str:
        """Grouped by kind, each group capped with '... and N more', then a one-line summary."""
        failing = parse_kinds(fail_on)
        lines: list[str] = []
        by_kind: dict[str, list[Change]] = {}
        for c in self.changes:
            by_kind.setdefault(c.kind, []).append(c)
        for kind in sorted(by_kind, key=_ORDER.__getitem__):
            group = by_kind[kind]
            level = "error" if kind in failing else KINDS[kind][0]
            lines.append(f"{level.upper()} {kind} ({len(group)}): {KINDS[kind][1]}")
            lines.extend(f"  {c.message}" for c in group[:max_per_kind])
            if len(group) > max_per_kind:
                lines.append(f"  ... and {len(group) - max_per_kind} more")
        lines.extend(f"note: {n}" for n in self.notes)
        lines.append(self.summary_line(fail_on))
        return "\n".join(lines) + "\n"

    def to_github(self, fail_on: Iterable[str] = ()) -> str:
        """GitHub Actions workflow commands: ``::warning title=relabel::message``; failing kinds are errors."""
        failing = parse_kinds(fail_on)
        out = []
        where = f"file={_gh_prop(self.new_file)}," if self.new_file else ""
        for c in self.changes:
            level = "error" if c.kind in failing else KINDS[c.kind][0]
            out.append(f"::{level} {where}title={_gh_prop(c.kind)}::{_gh_data(c.message)}")
        out.extend(f"::notice title=diff::{_gh_data(n)}" for n in self.notes)
        out.append(self.summary_line(fail_on))
        return "\n".join(out) + "\n"

    def to_junit(self, fail_on: Iterable[str] = ()) -> str:
        """JUnit XML: one test case per kind, failing when the kind is in ``fail_on`` and present."""
        failing = parse_kinds(fail_on)
        suite = ET.Element("testsuite", name="labelprep diff", tests=str(len(KINDS)))
        failures = skipped = 0
        for kind in KINDS:
            case = ET.SubElement(suite, "testcase", classname="labelprep.diff", name=kind)
            found = [c for c in self.changes if c.kind == kind]
            if kind == "content-changed" and not self.stats.get("content", {}).get("checked", True):
                ET.SubElement(case, "skipped", message="file content not compared (give the images roots)")
                skipped += 1
            if not found:
                continue
            text = "\n".join(c.message for c in found)
            if kind in failing:
                failures += 1
                el = ET.SubElement(case, "failure", message=f"{len(found)} change(s)", type=kind)
                el.text = text
            else:
                ET.SubElement(case, "system-out").text = text
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suites = ET.Element("testsuites", name="labelprep", tests=str(len(KINDS)), failures=str(failures))
        suites.append(suite)
        ET.indent(suites)
        return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"

    def render(self, fmt: str, fail_on: Iterable[str] = ()) -> str:
        renderers = {"text": self.to_text, "json": self.to_json, "github": self.to_github, "junit": self.to_junit}
        if fmt not in renderers:
            raise ValueError(f"unknown diff format {fmt!r}")
        return renderers[fmt](fail_on)


def diff_frames(
    old: pd.DataFrame,
    old_labels: Sequence[str],
    new: pd.DataFrame,
    new_labels: Sequence[str],
    *,
    old_root: str | os.PathLike[str] | None = None,
    new_root: str | os.PathLike[str] | None = None,
    prevalence_threshold: float = 0.05,
) -> Diff:
    """Compare two multi-hot frames (each with its vocabulary) and list every change.

    Images are matched by ``path``. A ``relabel`` compares only labels both
    vocabularies have: a label added to or removed from the vocabulary is one
    ``new-label`` / ``removed-label`` change, not one per image. Prevalence is
    positives over known (non -1) cells of the whole frame; a ``prevalence-shift``
    is an absolute change above ``prevalence_threshold``. With both roots given,
    the files of the images in both frames are compared by sha256
    (``content-changed``; a file missing on one side counts, and says so).
    """
    old_labels, new_labels = [str(x) for x in old_labels], [str(x) for x in new_labels]
    _check_frame(old, old_labels, "old")
    _check_frame(new, new_labels, "new")
    if prevalence_threshold < 0:
        raise InputError(f"the prevalence threshold must be 0 or more, not {prevalence_threshold}")
    if (old_root is None) != (new_root is None):
        raise InputError("comparing file content needs the images root of both frames",
                         hint="give both roots (old first, then new), or neither")  # fmt: skip
    changes: list[Change] = []
    notes: list[str] = []

    # vocabulary
    old_set, new_set = set(old_labels), set(new_labels)
    old_pos = {x: i for i, x in enumerate(old_labels)}
    for i, x in enumerate(new_labels):
        if x not in old_set:
            changes.append(Change("new-label", f"label {x!r} is new (position {i + 1})", label=x, after=i))
    for i, x in enumerate(old_labels):
        if x not in new_set:
            changes.append(Change("removed-label", f"label {x!r} was removed (was at position {i + 1})", label=x,
                                  before=i))  # fmt: skip
    shared = [x for x in new_labels if x in old_set]
    for i, x in enumerate(new_labels):
        if x in old_set and old_pos[x] != i:
            changes.append(Change("label-order", f"label {x!r} moved from position {old_pos[x] + 1} to {i + 1}",
                                  label=x, before=old_pos[x], after=i))  # fmt: skip

    # images
    old_paths = _paths(old, "old")
    new_paths = _paths(new, "new")
    where = pd.Index(old_paths).get_indexer(pd.Index(new_paths))
    in_new = np.flatnonzero(where >= 0)
    in_old = where[in_new]
    gone = np.ones(len(old_paths), dtype=bool)
    gone[in_old] = False
    for p in new_paths[where < 0]:
        changes.append(Change("added-image", f"{p}: added", path=str(p)))
    for p in old_paths[gone]:
        changes.append(Change("removed-image", f"{p}: removed", path=str(p)))

    old_mat = _matrix(old, old_labels)
    new_mat = _matrix(new, new_labels)
    changes.extend(_relabels(old_mat, old_labels, new_mat, new_labels, shared, in_old, in_new, new_paths))
    if "split" in old.columns and "split" in new.columns:
        a = old["split"].astype("string").fillna("").to_numpy(dtype=object)[in_old]
        b = new["split"].astype("string").fillna("").to_numpy(dtype=object)[in_new]
        for r in np.flatnonzero(a != b).tolist():
            p = str(new_paths[in_new[r]])
            changes.append(Change("split-changed", f"{p}: split {a[r] or '(none)'} -> {b[r] or '(none)'}", path=p,
                                  before=str(a[r]), after=str(b[r])))  # fmt: skip
    elif ("split" in old.columns) != ("split" in new.columns):
        notes.append(f"only the {'old' if 'split' in old.columns else 'new'} frame has a split column; "
                     "splits not compared")  # fmt: skip

    # content
    content: dict[str, Any] = {"checked": False}
    if old_root is not None and new_root is not None:
        found, content = _content_changes(Path(old_root), Path(new_root), [str(new_paths[i]) for i in in_new])
        changes.extend(found)
        if content.get("missing_both"):
            notes.append(f"{content['missing_both']} image(s) in both frames have no file under either root")
        if content.get("same_root"):
            notes.append("both frames use the same images root: file content cannot differ; not compared")

    # prevalence
    old_prev = _prevalence(old_mat)
    new_prev = _prevalence(new_mat)
    new_idx = {x: i for i, x in enumerate(new_labels)}
    rows = [PrevalenceRow(x, old_prev[old_pos[x]] if x in old_pos else None, new_prev[new_idx[x]] if x in new_idx else None)
            for x in [*new_labels, *(x for x in old_labels if x not in new_set)]]  # fmt: skip
    shifts = [r for r in rows if r.shift is not None and round(abs(r.shift), 12) > prevalence_threshold]
    shifts.sort(key=lambda r: -abs(r.shift or 0.0))
    for row in shifts:
        changes.append(Change("prevalence-shift", f"label {row.label!r}: prevalence {_pct(row.old)} -> {_pct(row.new)} "
                              f"({100 * (row.shift or 0.0):+.1f} points)", label=row.label, before=row.old, after=row.new,
                              detail={"shift": row.shift}))  # fmt: skip

    changes.sort(key=lambda c: _ORDER[c.kind])  # stable: keeps frame and vocabulary order within a kind
    stats = {
        "old_images": len(old_paths), "new_images": len(new_paths),
        "old_labels": len(old_labels), "new_labels": len(new_labels),
        "images_in_both": len(in_new), "prevalence_threshold": prevalence_threshold,
        "content": content,
    }  # fmt: skip
    return Diff(changes, rows, stats, notes)


def _check_frame(frame: pd.DataFrame, labels: list[str], which: str) -> None:
    if "path" not in frame.columns:
        raise InputError(f"the {which} frame has no 'path' column", hint="diff compares frames written by convert")
    missing = [x for x in labels if x not in frame.columns]
    if missing:
        raise VocabularyError(
            f"the {which} frame lacks the label column(s) {', '.join(map(repr, missing[:5]))}",
            hint="the frame and its vocabulary do not belong together",
        )


def _paths(frame: pd.DataFrame, which: str) -> npt.NDArray[np.object_]:
    paths = frame["path"].astype("string").fillna("").to_numpy(dtype=object)
    dup = pd.Index(paths).duplicated()
    if dup.any():
        first = str(paths[np.flatnonzero(dup)[0]])
        raise ConflictError(
            f"the {which} frame lists {first!r} more than once ({int(dup.sum())} repeated path(s))",
            hint="diff matches images by path; run labelprep validate and merge the duplicates",
        )
    return paths


def _matrix(frame: pd.DataFrame, labels: list[str]) -> npt.NDArray[np.int8]:
    if not labels:
        return np.zeros((len(frame), 0), dtype=np.int8)
    return dense_matrix(frame, labels, purpose="diff")


def _prevalence(mat: npt.NDArray[np.int8]) -> list[float | None]:
    pos = (mat == 1).sum(axis=0)
    known = len(mat) - (mat == -1).sum(axis=0)
    return [int(p) / int(k) if k else None for p, k in zip(pos, known)]


def _relabels(
    old_mat: npt.NDArray[np.int8], old_labels: list[str],
    new_mat: npt.NDArray[np.int8], new_labels: list[str], shared: list[str],
    in_old: npt.NDArray[np.intp], in_new: npt.NDArray[np.intp], new_paths: npt.NDArray[np.object_],
) -> list[Change]:  # fmt: skip
    if not shared or not len(in_new):
        return []
    oc = np.array([old_labels.index(x) for x in shared], dtype=np.intp)
    nc = np.array([new_labels.index(x) for x in shared], dtype=np.intp)
    out: list[Change] = []
    step = max(1, 50_000_000 // max(len(shared), 1))  # bounded temporaries for large frames
    for s in range(0, len(in_new), step):
        a = old_mat[in_old[s : s + step]][:, oc]
        b = new_mat[in_new[s : s + step]][:, nc]
        for r in np.flatnonzero((a != b).any(axis=1)):
            i_old, i_new = int(in_old[s + r]), int(in_new[s + r])
            before = [old_labels[j] for j in np.flatnonzero(old_mat[i_old] == 1)]
            after = [new_labels[j] for j in np.flatnonzero(new_mat[i_new] == 1)]
            gained = [shared[j] for j in np.flatnonzero((b[r] == 1) & (a[r] != 1))]
            lost = [shared[j] for j in np.flatnonzero((a[r] == 1) & (b[r] != 1))]
            unc_before = [shared[j] for j in np.flatnonzero(a[r] == -1)]
            unc_after = [shared[j] for j in np.flatnonzero(b[r] == -1)]
            detail: dict[str, Any] = {"gained": gained, "lost": lost}
            what = [*(f"+{x}" for x in gained), *(f"-{x}" for x in lost)]
            if unc_before != unc_after:
                detail |= {"uncertain_before": unc_before, "uncertain_after": unc_after}
                what.append(f"uncertain {_names(unc_before)} -> {_names(unc_after)}")
            p = str(new_paths[i_new])
            out.append(Change("relabel", f"{p}: {_names(before)} -> {_names(after)} ({', '.join(what)})", path=p,
                              before=before, after=after, detail=detail))  # fmt: skip
    return out


def _digest(path: Path) -> tuple[str | None, str]:
    """(sha256, state): state is "present", "missing" or "unreadable (...)"."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest(), "present"
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc.__class__.__name__})"


def _content_changes(old_root: Path, new_root: Path, paths: list[str]) -> tuple[list[Change], dict[str, Any]]:
    for root, which in ((old_root, "old"), (new_root, "new")):
        if not root.is_dir():
            raise InputError(f"the {which} images root is not a folder", file=str(root), hint="check --images-root")
    stats: dict[str, Any] = {"checked": True, "files": len(paths), "missing_both": 0}
    if old_root.resolve() == new_root.resolve():
        return [], stats | {"checked": False, "same_root": True}
    with ThreadPoolExecutor(max_workers=_HASH_WORKERS) as pool:
        # hashlib releases the GIL while hashing, so threads overlap reading and hashing
        old_d = list(pool.map(_digest, (old_root / p for p in paths), chunksize=64))
        new_d = list(pool.map(_digest, (new_root / p for p in paths), chunksize=64))
    out: list[Change] = []
    for p, (a, sa), (b, sb) in zip(paths, old_d, new_d):
        if a is not None and a == b:
            continue
        if sa == "missing" and sb == "missing":
            stats["missing_both"] += 1
            continue
        if a is not None and b is not None:
            msg = f"{p}: file content changed (sha256 {a[:12]} -> {b[:12]})"
        else:
            msg = f"{p}: file {sa} under the old root, {sb} under the new root"
        out.append(Change("content-changed", msg, path=p, before=a, after=b, detail={"old_file": sa, "new_file": sb}))
    return out, stats


def _names(labels: list[str]) -> str:
    return ", ".join(labels) if labels else "(none)"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")
