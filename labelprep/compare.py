"""What changed between two versions of a dataset: images, labels, vocabulary, prevalence, file content.

Images are matched by identity (see :func:`diff_frames`): by content when both
images roots are given, by file name within the label folder for folder forms
(a move between label folders is a relabel), else by ``path``; the rule used is
reported. Every difference is a :class:`Change` of one kind (see :data:`KINDS`); ``Diff.fails(["relabel", "new-label"])`` gates a CI
job on the kinds that matter. The renderings follow :mod:`labelprep.report`:
text grouped by kind and capped, complete JSON, GitHub annotations, JUnit XML.
"""

from __future__ import annotations

import difflib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.errors import InputError
from labelprep.pairing import (
    Digests,
    Pairing,
    check_frame_columns,
    check_roots,
    digest_state,
    file_digests,
    pair_images,
    shared_between,
)

__all__ = ["KINDS", "MATCH_RULES", "Change", "Diff", "PrevalenceRow", "diff_frames", "parse_kinds"]

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
# How images of the two versions are paired (--match): auto picks content, then name (folder forms), else path.
MATCH_RULES = ("auto", "path", "name", "content")


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
            "position_base": 1,  # label positions (before/after of new-label, removed-label, label-order) count from 1
            "changed": self.changed,
            "failed": bool(self.kinds() & parse_kinds(fail_on)),
            "summary": self.summary(),
            "changes": [c.to_dict() for c in self.changes],
            "prevalence": [p.to_dict() for p in self.prevalence],
            "notes": list(self.notes),
        }

    def to_json(self, fail_on: Iterable[str] = ()) -> str:
        return json.dumps(self.to_dict(fail_on), ensure_ascii=False, indent=2, allow_nan=False) + "\n"

    def to_text(self, fail_on: Iterable[str] = (), *, max_per_kind: int = 10, quiet: bool = False) -> str:
        """The matching rule, then changes grouped by kind (the failing kinds first), each group capped with
        '... and N more', then notes and a one-line summary.

        ``quiet`` keeps only the failing kinds and the summary, and says nothing when nothing fails.
        """
        failing = parse_kinds(fail_on)
        if quiet and not self.fails(failing):
            return ""
        rule = self.stats.get("matched_by")
        lines: list[str] = [f"images matched by {rule}"] if rule and not quiet else []
        by_kind: dict[str, list[Change]] = {}
        for c in self.changes:
            if quiet and c.kind not in failing:
                continue
            by_kind.setdefault(c.kind, []).append(c)
        for kind in sorted(by_kind, key=lambda k: (k not in failing, _ORDER[k])):
            group = by_kind[kind]
            level = "error" if kind in failing else KINDS[kind][0]
            lines.append(f"{level.upper()} {kind} ({len(group)}): {KINDS[kind][1]}")
            lines.extend(f"  {c.message}" for c in group[:max_per_kind])
            if len(group) > max_per_kind:
                lines.append(f"  ... and {len(group) - max_per_kind} more")
        if not quiet:
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
    match: str = "auto",
) -> Diff:
    """Compare two multi-hot frames (each with its vocabulary) and list every change.

    Images are paired by identity (``match``): ``"content"`` pairs files with the same sha256 under
    the two images roots (a renamed or moved image stays one image), then the rest by name or path;
    ``"name"`` pairs folder-form images by their file name within the label folder, so an image moved
    from ``beach/`` to ``sunset/`` is a ``relabel`` (other forms: by file name); ``"path"`` by ``path``.
    ``"auto"`` (default) is ``content`` when both roots are given, ``name`` when both frames come from
    label folders (``frame.attrs["labelprep_format"] == "folder"``, as :func:`labelprep.read_frame` sets it),
    else ``path``; ``Diff.stats["matched_by"]`` says which rule was used. A ``relabel`` compares only
    labels both vocabularies have: a label added to or removed from the vocabulary is one
    ``new-label`` / ``removed-label`` change, not one per image. Prevalence is positives over known
    (non -1) cells of the whole frame; a ``prevalence-shift`` is an absolute change above
    ``prevalence_threshold``. With both roots given, the files of the images paired by name or path
    are compared by sha256 (``content-changed``; a file missing on one side counts, and says so).
    Label positions in messages and in ``before``/``after`` count from 1.
    """
    old_labels, new_labels = [str(x) for x in old_labels], [str(x) for x in new_labels]
    check_frame_columns(old, old_labels, "old")
    check_frame_columns(new, new_labels, "new")
    _check_options(old_root, new_root, prevalence_threshold, match)
    notes: list[str] = []
    changes = _vocabulary_changes(old_labels, new_labels)
    pairs = pair_images(old, old_labels, new, new_labels, old_root=old_root, new_root=new_root, match=match,
                        notes=notes)  # fmt: skip
    found, moved = _presence_changes(pairs, notes)
    changes += found
    shared = [x for x in new_labels if x in set(old_labels)]
    changes += _relabels(pairs.old_mat, old_labels, pairs.new_mat, new_labels, shared, pairs.in_old, pairs.in_new,
                         pairs.old_paths, pairs.new_paths)  # fmt: skip
    changes += _split_changes(old, new, pairs, notes)
    changes += _file_changes(pairs, old_root, new_root, notes)
    rows, shifts = _prevalence_changes(pairs.old_mat, old_labels, pairs.new_mat, new_labels, prevalence_threshold)
    changes += shifts
    changes.sort(key=lambda c: _ORDER[c.kind])  # stable: keeps frame and vocabulary order within a kind
    stats = {
        "old_images": len(pairs.old_paths), "new_images": len(pairs.new_paths),
        "old_labels": len(old_labels), "new_labels": len(new_labels),
        "images_in_both": len(pairs.in_new), "matched_by": pairs.rule, "moved": moved,
        "prevalence_threshold": prevalence_threshold, "content": pairs.content,
    }  # fmt: skip
    return Diff(changes, rows, stats, notes)


def _check_options(old_root: str | os.PathLike[str] | None, new_root: str | os.PathLike[str] | None,
                   prevalence_threshold: float, match: str) -> None:  # fmt: skip
    if prevalence_threshold < 0:
        raise InputError(f"the prevalence threshold must be 0 or more, not {prevalence_threshold}")
    if (old_root is None) != (new_root is None):
        raise InputError("comparing file content needs the images root of both frames",
                         hint="give both roots (old first, then new), or neither")  # fmt: skip
    if match not in MATCH_RULES:
        raise InputError(f"match must be one of {', '.join(MATCH_RULES)}, not {match!r}")
    if match == "content" and old_root is None:
        raise InputError("matching images by content needs the images root of both frames",
                         hint="give --images-root (old first, then new), or --match name or path")  # fmt: skip


def _vocabulary_changes(old_labels: list[str], new_labels: list[str]) -> list[Change]:
    """new-label, removed-label and label-order (positions count from 1)."""
    changes: list[Change] = []
    old_set, new_set = set(old_labels), set(new_labels)
    old_pos = {x: i for i, x in enumerate(old_labels)}
    for i, x in enumerate(new_labels):
        if x not in old_set:
            changes.append(Change("new-label", f"label {x!r} is new (position {i + 1})", label=x, after=i + 1))
    for i, x in enumerate(old_labels):
        if x not in new_set:
            changes.append(Change("removed-label", f"label {x!r} was removed (was at position {i + 1})", label=x,
                                  before=i + 1))  # fmt: skip
    for i, x in enumerate(new_labels):
        if x in old_set and old_pos[x] != i:
            changes.append(Change("label-order", f"label {x!r} moved from position {old_pos[x] + 1} to {i + 1}",
                                  label=x, before=old_pos[x] + 1, after=i + 1))  # fmt: skip
    return changes


def _presence_changes(pairs: Pairing, notes: list[str]) -> tuple[list[Change], int]:
    """added-image and removed-image; notes on images that look alike, and on pairs under another path."""
    changes: list[Change] = []
    old_paths, new_paths, in_old, in_new = pairs.old_paths, pairs.new_paths, pairs.in_old, pairs.in_new
    gone = np.ones(len(old_paths), dtype=bool)
    gone[in_old] = False
    added = np.ones(len(new_paths), dtype=bool)
    added[in_new] = False
    for p in new_paths[added]:
        changes.append(Change("added-image", f"{p}: added", path=str(p)))
    for p in old_paths[gone]:
        changes.append(Change("removed-image", f"{p}: removed", path=str(p)))
    notes.extend(shared_between(old_paths[gone], new_paths[added], pairs.digests, gone, added, pairs.key_rule))
    elsewhere = np.flatnonzero(old_paths[in_old] != new_paths[in_new])
    moved = [(str(old_paths[in_old[r]]), str(new_paths[in_new[r]])) for r in elsewhere.tolist()]
    if moved:
        shown = ", ".join(f"{a} -> {b}" for a, b in moved[:3]) + (" ..." if len(moved) > 3 else "")
        notes.append(f"{len(moved)} image(s) paired under another path (moved or renamed): {shown}")
    return changes, len(moved)


def _split_changes(old: pd.DataFrame, new: pd.DataFrame, pairs: Pairing, notes: list[str]) -> list[Change]:
    """split-changed for each pair whose split differs; a note when only one frame has splits."""
    changes: list[Change] = []
    if "split" in old.columns and "split" in new.columns:
        a = old["split"].astype("string").fillna("").to_numpy(dtype=object)[pairs.in_old]
        b = new["split"].astype("string").fillna("").to_numpy(dtype=object)[pairs.in_new]
        for r in np.flatnonzero(a != b).tolist():
            p = str(pairs.new_paths[pairs.in_new[r]])
            changes.append(Change("split-changed", f"{p}: split {a[r] or '(none)'} -> {b[r] or '(none)'}", path=p,
                                  before=str(a[r]), after=str(b[r])))  # fmt: skip
    elif ("split" in old.columns) != ("split" in new.columns):
        notes.append(f"only the {'old' if 'split' in old.columns else 'new'} frame has a split column; "
                     "splits not compared")  # fmt: skip
    return changes


def _file_changes(pairs: Pairing, old_root: str | os.PathLike[str] | None, new_root: str | os.PathLike[str] | None,
                  notes: list[str]) -> list[Change]:  # fmt: skip
    """content-changed for the images paired by name or path (hashed now when pairing did not); fills
    ``pairs.content``."""
    if old_root is None or new_root is None or pairs.content.get("same_root"):
        return []
    if pairs.digests is None:  # --match name or path: hash the paired files only
        check_roots(Path(old_root), Path(new_root))
        if Path(old_root).resolve() == Path(new_root).resolve():
            notes.append("both frames use the same images root: file content cannot differ; not compared")
            pairs.content = {"checked": False, "same_root": True}
            return []
        pairs.digests = (file_digests(Path(old_root), pairs.old_paths, pairs.in_old),
                         file_digests(Path(new_root), pairs.new_paths, pairs.in_new))  # fmt: skip
    changed = ~pairs.by_content
    found, content = _content_changes(pairs.digests, pairs.in_old[changed], pairs.in_new[changed], pairs.old_paths,
                                      pairs.new_paths)  # fmt: skip
    content["files"] = len(pairs.in_new)  # every pair was compared: those paired by content have equal bytes
    pairs.content = content
    if content.get("missing_both"):
        notes.append(f"{content['missing_both']} image(s) in both frames have no file under either root")
    return found


def _prevalence_changes(old_mat: npt.NDArray[np.int8], old_labels: list[str], new_mat: npt.NDArray[np.int8],
                        new_labels: list[str], threshold: float) -> tuple[list[PrevalenceRow], list[Change]]:  # fmt: skip
    """Each label's prevalence before and after, and prevalence-shift for the shifts above ``threshold``."""
    old_prev, new_prev = _prevalence(old_mat), _prevalence(new_mat)
    old_pos = {x: i for i, x in enumerate(old_labels)}
    new_idx = {x: i for i, x in enumerate(new_labels)}
    new_set = set(new_labels)
    rows = [PrevalenceRow(x, old_prev[old_pos[x]] if x in old_pos else None, new_prev[new_idx[x]] if x in new_idx else None)
            for x in [*new_labels, *(x for x in old_labels if x not in new_set)]]  # fmt: skip
    shifts = [r for r in rows if r.shift is not None and round(abs(r.shift), 12) > threshold]
    shifts.sort(key=lambda r: -abs(r.shift or 0.0))
    changes = [Change("prevalence-shift", f"label {row.label!r}: prevalence {_pct(row.old)} -> {_pct(row.new)} "
                      f"({100 * (row.shift or 0.0):+.1f} points)", label=row.label, before=row.old, after=row.new,
                      detail={"shift": row.shift}) for row in shifts]  # fmt: skip
    return rows, changes


def _prevalence(mat: npt.NDArray[np.int8]) -> list[float | None]:
    pos = (mat == 1).sum(axis=0)
    known = len(mat) - (mat == -1).sum(axis=0)
    return [int(p) / int(k) if k else None for p, k in zip(pos, known)]


def _relabels(
    old_mat: npt.NDArray[np.int8], old_labels: list[str],
    new_mat: npt.NDArray[np.int8], new_labels: list[str], shared: list[str],
    in_old: npt.NDArray[np.intp], in_new: npt.NDArray[np.intp], old_paths: npt.NDArray[np.object_],
    new_paths: npt.NDArray[np.object_],
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
                what.append(f"uncertain {_label_list(unc_before)} -> {_label_list(unc_after)}")
            p, q = str(new_paths[i_new]), str(old_paths[i_old])
            if q != p:
                detail["old_path"] = q
            where = p if q == p else f"{q} -> {p}"
            out.append(Change("relabel", f"{where}: {_label_list(before)} -> {_label_list(after)} ({', '.join(what)})",
                              path=p, before=before, after=after, detail=detail))  # fmt: skip
    return out


def _content_changes(digests: Digests, in_old: npt.NDArray[np.intp],
                     in_new: npt.NDArray[np.intp], old_paths: npt.NDArray[np.object_],
                     new_paths: npt.NDArray[np.object_]) -> tuple[list[Change], dict[str, Any]]:  # fmt: skip
    """content-changed for the images paired by name or path (a pair made by content has equal bytes)."""
    stats: dict[str, Any] = {"checked": True, "files": len(in_new), "missing_both": 0}
    out: list[Change] = []
    for i, j in zip(in_old.tolist(), in_new.tolist()):
        a, b = digests[0][i], digests[1][j]
        sa, sb = digest_state(a), digest_state(b)
        if sa == "present" and a == b:
            continue
        if sa == "missing" and sb == "missing":
            stats["missing_both"] += 1
            continue
        p = str(new_paths[j])
        a_d = a if sa == "present" else None
        b_d = b if sb == "present" else None
        if a_d is not None and b_d is not None:
            msg = f"{p}: file content changed (sha256 {a_d[:12]} -> {b_d[:12]})"
        else:
            msg = f"{p}: file {sa} under the old root, {sb} under the new root"
        detail = {"old_file": sa, "new_file": sb} | ({"old_path": str(old_paths[i])} if old_paths[i] != p else {})
        out.append(Change("content-changed", msg, path=p, before=a_d, after=b_d, detail=detail))
    return out, stats


def _label_list(labels: list[str]) -> str:
    return ", ".join(labels) if labels else "(none)"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")
