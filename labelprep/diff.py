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
from labelprep.frameio import FORMAT_ATTR
from labelprep.multihot import dense_matrix

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
    _check_frame(old, old_labels, "old")
    _check_frame(new, new_labels, "new")
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
    changes: list[Change] = []
    notes: list[str] = []

    # vocabulary
    old_set, new_set = set(old_labels), set(new_labels)
    old_pos = {x: i for i, x in enumerate(old_labels)}
    for i, x in enumerate(new_labels):
        if x not in old_set:
            changes.append(Change("new-label", f"label {x!r} is new (position {i + 1})", label=x, after=i + 1))
    for i, x in enumerate(old_labels):
        if x not in new_set:
            changes.append(Change("removed-label", f"label {x!r} was removed (was at position {i + 1})", label=x,
                                  before=i + 1))  # fmt: skip
    shared = [x for x in new_labels if x in old_set]
    for i, x in enumerate(new_labels):
        if x in old_set and old_pos[x] != i:
            changes.append(Change("label-order", f"label {x!r} moved from position {old_pos[x] + 1} to {i + 1}",
                                  label=x, before=old_pos[x] + 1, after=i + 1))  # fmt: skip

    # images, paired by identity
    old_paths = _paths(old, "old")
    new_paths = _paths(new, "new")
    old_mat = _matrix(old, old_labels)
    new_mat = _matrix(new, new_labels)
    content: dict[str, Any] = {"checked": False}
    digests: tuple[list[str | None], list[str | None]] | None = None
    if old_root is not None and new_root is not None and match in ("auto", "content"):
        o, n = Path(old_root), Path(new_root)
        _check_roots(o, n)
        if o.resolve() == n.resolve():
            notes.append("both frames use the same images root: file content cannot differ; not compared")
            content = {"checked": False, "same_root": True}
        else:
            digests = _digests(o, old_paths), _digests(n, new_paths)
    folder = old.attrs.get(FORMAT_ATTR) == "folder" and new.attrs.get(FORMAT_ATTR) == "folder"
    key_rule = "name" if match == "name" or (match in ("auto", "content") and folder) else "path"
    keys, key_rule, why = _identity_keys(key_rule, old, old_paths, old_mat, old_labels, new, new_paths, new_mat,
                                         new_labels, folder)  # fmt: skip
    if why:
        notes.append(why)
    in_old, in_new, by_content = _pair(keys, digests)
    rule = _RULE_TEXT[key_rule] if key_rule != "name" or folder else _RULE_TEXT["basename"]
    if digests is not None:
        rule = f"content (sha256 of the files under the images roots), then {rule}"
    elif match == "auto" and key_rule == "path" and old_root is None:
        rule += " (--images-root pairs images by content; --match name by file name)"
    gone = np.ones(len(old_paths), dtype=bool)
    gone[in_old] = False
    added = np.ones(len(new_paths), dtype=bool)
    added[in_new] = False
    for p in new_paths[added]:
        changes.append(Change("added-image", f"{p}: added", path=str(p)))
    for p in old_paths[gone]:
        changes.append(Change("removed-image", f"{p}: removed", path=str(p)))
    notes.extend(_shared_between(old_paths[gone], new_paths[added], digests, gone, added, key_rule))
    elsewhere = np.flatnonzero(old_paths[in_old] != new_paths[in_new])
    moved = [(str(old_paths[in_old[r]]), str(new_paths[in_new[r]])) for r in elsewhere.tolist()]
    if moved:
        shown = ", ".join(f"{a} -> {b}" for a, b in moved[:3]) + (" ..." if len(moved) > 3 else "")
        notes.append(f"{len(moved)} image(s) paired under another path (moved or renamed): {shown}")

    changes.extend(_relabels(old_mat, old_labels, new_mat, new_labels, shared, in_old, in_new, old_paths, new_paths))
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

    # content of the images paired by name or path
    if old_root is not None and new_root is not None and not content.get("same_root"):
        if digests is None:  # --match name or path: hash the paired files only
            _check_roots(Path(old_root), Path(new_root))
            if Path(old_root).resolve() == Path(new_root).resolve():
                notes.append("both frames use the same images root: file content cannot differ; not compared")
                content = {"checked": False, "same_root": True}
            else:
                digests = (_digests(Path(old_root), old_paths, in_old), _digests(Path(new_root), new_paths, in_new))
        if digests is not None:
            found, content = _content_changes(digests, in_old[~by_content], in_new[~by_content], old_paths, new_paths)
            content["files"] = len(in_new)  # every pair was compared: those paired by content have equal bytes
            changes.extend(found)
            if content.get("missing_both"):
                notes.append(f"{content['missing_both']} image(s) in both frames have no file under either root")

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
        "images_in_both": len(in_new), "matched_by": rule, "moved": len(moved),
        "prevalence_threshold": prevalence_threshold, "content": content,
    }  # fmt: skip
    return Diff(changes, rows, stats, notes)


_RULE_TEXT = {
    "path": "path",
    "name": "file name within the label folder (folder form: a move between label folders is a relabel)",
    "basename": "file name",
}


def _identity_keys(rule: str, old: pd.DataFrame, old_paths: npt.NDArray[np.object_], old_mat: npt.NDArray[np.int8],
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


def _pair(keys: tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]],
          digests: tuple[list[str | None], list[str | None]] | None
          ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:  # fmt: skip
    """Old and new row of each pair (in new-frame order), and whether content paired it: first files whose
    sha256 is unique in both versions, then the rest by key."""
    old_taken = np.zeros(len(keys[0]), dtype=bool)
    new_taken = np.zeros(len(keys[1]), dtype=bool)
    c_old = c_new = np.zeros(0, dtype=np.intp)
    if digests is not None:
        da, db = (pd.Series([d if _state(d) == "present" else None for d in ds], dtype=object) for ds in digests)
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


def _shared_between(removed: npt.NDArray[np.object_], added: npt.NDArray[np.object_],
                    digests: tuple[list[str | None], list[str | None]] | None, gone: npt.NDArray[np.bool_],
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
                 if _state(d) == "present"}  # fmt: skip
        both = [(old_d[d], str(p)) for d, p in zip(np.asarray(digests[1], dtype=object)[new_mask].tolist(),
                                                   added.tolist()) if d in old_d]  # fmt: skip
        if both:
            shown = ", ".join(f"{a} (removed) / {b} (added)" for a, b in both[:3]) + (" ..." if len(both) > 3 else "")
            out.append(f"{len(both)} added image(s) have the same bytes as a removed one (copies of one image in a "
                       f"version are not paired by content): {shown}")  # fmt: skip
    return out


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


def _digest(path: Path) -> tuple[str | None, str]:
    """(sha256, state): state is "present", "missing" or "unreadable (...)"."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest(), "present"
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc.__class__.__name__})"


def _check_roots(old_root: Path, new_root: Path) -> None:
    for root, which in ((old_root, "old"), (new_root, "new")):
        if not root.is_dir():
            raise InputError(f"the {which} images root is not a folder", file=str(root), hint="check --images-root")


def _digests(root: Path, paths: npt.NDArray[np.object_], rows: npt.NDArray[np.intp] | None = None) -> list[str | None]:
    """sha256 of each file (None when missing or unreadable); only ``rows`` when given, the others None."""
    take = range(len(paths)) if rows is None else rows.tolist()
    with ThreadPoolExecutor(max_workers=_HASH_WORKERS) as pool:
        # hashlib releases the GIL while hashing, so threads overlap reading and hashing
        got = list(pool.map(_digest, (root / str(paths[i]) for i in take), chunksize=64))
    out: list[str | None] = [None] * len(paths)
    for i, (d, state) in zip(take, got):
        out[i] = d if d is not None else f"\0{state}"  # the state of a file with no digest, for the message
    return out


def _content_changes(digests: tuple[list[str | None], list[str | None]], in_old: npt.NDArray[np.intp],
                     in_new: npt.NDArray[np.intp], old_paths: npt.NDArray[np.object_],
                     new_paths: npt.NDArray[np.object_]) -> tuple[list[Change], dict[str, Any]]:  # fmt: skip
    """content-changed for the images paired by name or path (a pair made by content has equal bytes)."""
    stats: dict[str, Any] = {"checked": True, "files": len(in_new), "missing_both": 0}
    out: list[Change] = []
    for i, j in zip(in_old.tolist(), in_new.tolist()):
        a, b = digests[0][i], digests[1][j]
        sa, sb = _state(a), _state(b)
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


def _state(d: str | None) -> str:
    if d is None:
        return "missing"
    return d[1:] if d.startswith("\0") else "present"


def _label_list(labels: list[str]) -> str:
    return ", ".join(labels) if labels else "(none)"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")
