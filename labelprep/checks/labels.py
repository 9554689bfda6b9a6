"""Label and split checks over merged frames: pure functions returning findings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.multihot import positive_counts, rows_with_label
from labelprep.report import CHECKS as _CHECKS
from labelprep.report import Finding

__all__ = ["SplitFrame", "cross_split_findings", "fold_label", "frame_label_findings", "label_variants"]


def _f(code: str, message: str, hint: str = "", **where: object) -> Finding:
    return Finding(code, _CHECKS[code][0], message, hint, **where)  # type: ignore[arg-type]


@dataclass
class SplitFrame:
    """One split's merged frame and where each image was first listed."""

    name: str
    source: str
    frame: pd.DataFrame
    labels: list[str]
    lines: npt.NDArray[np.int64] | None = None  # per frame row: first line listing the image (0 = none)
    files: list[str] | None = None  # per frame row: the file that listed it, when not ``source``
    declared: list[str] = field(default_factory=list)  # labels the source or --vocab declares
    seen: list[str] = field(default_factory=list)  # every label name the raw source spells, known or not
    none_marked: npt.NDArray[np.bool_] | None = None  # per frame row: listed with a none-label (no label on purpose)

    def where(self, i: int) -> dict[str, Any]:
        line = int(self.lines[i]) if self.lines is not None and self.lines[i] > 0 else None
        src = self.files[i] if self.files is not None else self.source
        return {"source": src, "line": line, "split": self.name}

    def positives(self) -> dict[str, int]:
        if not self.labels:
            return {}
        return dict(zip(self.labels, positive_counts(self.frame, self.labels).tolist(), strict=True))


def fold_label(label: str) -> str:
    """A label folded for spotting variants: case, spaces, underscores, hyphens and dots ignored."""
    return re.sub(r"[\s_\-.]+", "", label.casefold())


def label_variants(labels: Iterable[str]) -> list[list[str]]:
    """Groups of two or more distinct spellings that fold to the same label."""
    groups: dict[str, list[str]] = {}
    for lab in labels:
        g = groups.setdefault(fold_label(lab), [])
        if lab not in g:
            g.append(lab)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def frame_label_findings(
    sf: SplitFrame, *, min_positives: int | None = None, empty_severity: str | None = None
) -> list[Finding]:
    """empty-labels (per image) and rare-label (per label) for one split."""
    out: list[Finding] = []
    unlabelled = ~rows_with_label(sf.frame, sf.labels) if sf.labels else np.ones(len(sf.frame), dtype=bool)
    if sf.none_marked is not None:
        unlabelled &= ~sf.none_marked  # "No Finding", "healthy": no label on purpose
    empty = np.flatnonzero(unlabelled)
    hint = "label it, or list it with a none-label if that is intended" + (
        "" if empty_severity else "; --no-empty makes this an error")  # fmt: skip
    paths = sf.frame["path"].to_numpy(dtype=object)
    for i in empty.tolist():
        f = _f("empty-labels", f"{paths[i]!r} has no label", hint, path=str(paths[i]), **sf.where(i))
        if empty_severity:
            f = Finding(**{**f.__dict__, "severity": empty_severity})
        out.append(f)
    if min_positives:
        for label, n in sf.positives().items():
            if n < min_positives:
                out.append(_f("rare-label", f"label {label!r} has {n} positive(s) in split {sf.name!r}, under "
                              f"--min-positives {min_positives}", "collect more examples, merge the label, or drop "
                              "it with convert --min-count", label=label, split=sf.name, source=sf.source))  # fmt: skip
    return out


def cross_split_findings(
    splits: Sequence[SplitFrame], *, train: str, declared: Sequence[str] = (), converted: Mapping[str, list[str]] = {}
) -> list[Finding]:
    """unused-label, label-variant, label-not-in-train, label-missing-from-split, split-mismatch, leaked-group."""
    out: list[Finding] = []
    pos = {sf.name: sf.positives() for sf in splits}
    used = {lab for p in pos.values() for lab, n in p.items() if n > 0}
    all_labels: list[str] = list(dict.fromkeys([*declared, *(lab for sf in splits for lab in sf.labels)]))
    for lab in all_labels:
        if lab not in used:
            src = splits[0].source if splits else None
            out.append(_f("unused-label", f"label {lab!r} is declared but no image has it",
                          "a model cannot learn it: collect examples or check the annotations; dropping it from the "
                          "vocabulary moves every label after it (a numbered --label-map keeps it on purpose)",
                          label=lab, source=src))  # fmt: skip
    spelled = list(dict.fromkeys([*all_labels, *(lab for sf in splits for lab in sf.seen)]))
    for group in label_variants(spelled):
        shown = " and ".join(repr(x) for x in group)
        out.append(_f("label-variant", f"{shown} look like two spellings of one label",
                      "map them to one name with --label-map", label=group[0]))  # fmt: skip
    if len(splits) > 1 and train:  # no split named train: none is compared with it
        train_pos = pos.get(train, {})
        for sf in splits:
            if sf.name == train:
                continue
            for lab, n in pos[sf.name].items():
                if n > 0 and train_pos.get(lab, 0) == 0:
                    out.append(_f("label-not-in-train", f"label {lab!r} has {n} positive(s) in split {sf.name!r} "
                                  f"but none in {train!r}", "the model can never learn it: move examples into "
                                  "train or re-split (labelprep split)", label=lab, split=sf.name,
                                  source=sf.source))  # fmt: skip
            for lab, n in train_pos.items():
                if n > 0 and pos[sf.name].get(lab, 0) == 0:
                    out.append(_f("label-missing-from-split", f"label {lab!r} is in {train!r} ({n} positive(s)) "
                                  f"but absent from split {sf.name!r}", "its metrics on this split are undefined; "
                                  "re-split with stratification", label=lab, split=sf.name,
                                  source=sf.source))  # fmt: skip
    if len(splits) > 1:
        names = list(converted)
        for other in names[1:]:
            a, b = converted[names[0]], converted[other]
            if a != b:
                if set(a) == set(b):
                    msg = f"split {other!r} orders its label columns differently from {names[0]!r}"
                else:
                    extra = sorted(set(b) - set(a))
                    gone = sorted(set(a) - set(b))
                    msg = (f"split {other!r} has a different vocabulary from {names[0]!r}"
                           + (f"; only in {other!r}: {', '.join(map(repr, extra[:5]))}" if extra else "")
                           + (f"; missing: {', '.join(map(repr, gone[:5]))}" if gone else ""))  # fmt: skip
                out.append(_f("split-mismatch", msg, "convert every split with the same --vocab", split=other))
        out.extend(_leaked_groups(splits))
    return out


def _leaked_groups(splits: Sequence[SplitFrame]) -> list[Finding]:
    seen: dict[str, str] = {}
    out: list[Finding] = []
    reported: set[tuple[str, str]] = set()
    for sf in splits:
        if "group" not in sf.frame.columns:
            continue
        for i, g in enumerate(sf.frame["group"].to_numpy(dtype=object).tolist()):
            if g is None or g == "" or (isinstance(g, float) and np.isnan(g)):
                continue
            first = seen.setdefault(str(g), sf.name)
            if first != sf.name and (str(g), sf.name) not in reported:
                reported.add((str(g), sf.name))
                path = str(sf.frame["path"].iat[i])
                out.append(_f("leaked-group", f"group {g!r} is in split {first!r} and in split {sf.name!r} "
                              f"(e.g. {path!r})", "split by group so one patient/study/user lands in one split",
                              path=path, **sf.where(i)))  # fmt: skip
    return out
