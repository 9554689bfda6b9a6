"""Label rules a dataset declares: mutually exclusive groups, implications and hierarchies, minimum counts.

Rules come from ``[tool.labelprep.rules]`` in the settings, or from ``--rules FILE`` (a TOML file with the same
keys at top level, or in its own ``[tool.labelprep.rules]`` table)::

    exactly-one = [["clear", "partly_cloudy", "haze", "cloudy"]]   # Planet's weather: one per tile
    at-most-one = [["cat", "dog"]]
    implies = { husky = "dog", dog = ["animal"] }                   # followed through: husky implies animal
    hierarchy = "bbox_labels_600_hierarchy.json"                    # Open Images: a subcategory implies its parents
    min-count = { husky = 50, "*" = 10 }                            # positives in the training split; "*": any label

Each violation is a finding on the row (path, source, line, split); an unknown (-1) cell never violates a rule.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelprep.checks.labels import SplitFrame
from labelprep.errors import InputError
from labelprep.multihot import dense_matrix
from labelprep.report import CHECKS, Finding

__all__ = ["RULE_KEYS", "Rules", "load_rules", "rule_findings", "rule_label_findings"]

RULE_KEYS = ("exactly-one", "at-most-one", "implies", "hierarchy", "min-count")


@dataclass(frozen=True)
class Rules:
    """Label rules, as written (``implies`` already followed through, hierarchies included)."""

    exactly_one: tuple[tuple[str, ...], ...] = ()
    at_most_one: tuple[tuple[str, ...], ...] = ()
    implies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # label -> every label it implies
    min_count: Mapping[str, int] = field(default_factory=dict)  # "*" applies to every label without its own
    explicit: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # ``implies`` as written (not a hierarchy)

    def __bool__(self) -> bool:
        return bool(self.exactly_one or self.at_most_one or self.implies or self.min_count)

    def labels(self) -> set[str]:
        """Every label the groups and explicit implications name (not those of a hierarchy file)."""
        return {x for g in (*self.exactly_one, *self.at_most_one) for x in g} | {
            x for c, ps in self.explicit.items() for x in (c, *ps)}


def load_rules(source: Mapping[str, Any] | str | Path, *, base: Path | None = None,
               where: str | None = None, label_map: Mapping[str, str] | None = None) -> Rules:  # fmt: skip
    """Rules from a table (``[tool.labelprep.rules]``) or a TOML file; paths inside are relative to ``base``.

    ``label_map`` (id -> name, as ``--label-map``) renames the labels of a hierarchy file written in ids
    (Open Images' MIDs).
    """
    if not isinstance(source, Mapping):
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("rules file not found", file=str(path)) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"invalid TOML: {exc}", file=str(path)) from None
        table = data.get("tool", {}).get("labelprep", {}).get("rules", data)
        return load_rules(table, base=path.parent, where=str(path), label_map=label_map)
    table = {str(k).replace("_", "-"): v for k, v in source.items()}
    unknown = sorted(set(table) - set(RULE_KEYS))
    if unknown:
        raise InputError(f"unknown rule(s): {', '.join(unknown)}", file=where, hint=f"known: {', '.join(RULE_KEYS)}")
    groups = {key: _groups(table.get(key, []), key, where) for key in ("exactly-one", "at-most-one")}
    edges: dict[str, set[str]] = {}
    explicit = {c: tuple(_names(ps, f"implies.{c}", where)) for c, ps in _mapping(table.get("implies", {}), "implies",
                                                                                 where).items()}  # fmt: skip
    for child, parents in explicit.items():
        edges.setdefault(child, set()).update(parents)
    hierarchy = table.get("hierarchy")
    if hierarchy is not None:
        if not isinstance(hierarchy, str):
            raise InputError("hierarchy must be the path of an Open Images hierarchy JSON file", file=where)
        path = Path(hierarchy) if base is None or Path(hierarchy).is_absolute() else base / hierarchy
        for child, parent in _hierarchy_edges(path):
            names = label_map or {}
            edges.setdefault(names.get(child, child), set()).add(names.get(parent, parent))
    counts: dict[str, int] = {}
    for label, n in _mapping(table.get("min-count", {}), "min-count", where).items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"min-count of {label!r} must be a whole number, 1 or more, not {n!r}", file=where)
        counts[label] = n
    return Rules(tuple(groups["exactly-one"]), tuple(groups["at-most-one"]), _closure(edges), counts, explicit)


def _names(value: Any, key: str, where: str | None) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return list(value)
    raise InputError(f"{key} must be a label or a list of labels, not {value!r}", file=where)


def _groups(value: Any, key: str, where: str | None) -> list[tuple[str, ...]]:
    if isinstance(value, list) and value and all(isinstance(x, str) for x in value):
        value = [value]  # one group written as a plain list
    if not isinstance(value, list) or not all(isinstance(g, list) and all(isinstance(x, str) for x in g) for g in value):
        raise InputError(f"{key} must be a list of label groups, e.g. [[\"clear\", \"cloudy\"]], not {value!r}",
                         file=where)  # fmt: skip
    out = []
    for g in value:
        if len(set(g)) < 2:
            raise InputError(f"{key}: a group needs two or more labels, not {g!r}", file=where)
        out.append(tuple(dict.fromkeys(g)))
    return out


def _mapping(value: Any, key: str, where: str | None) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{key} must be a table of label = value, not {value!r}", file=where)
    return {str(k): v for k, v in value.items()}


def _hierarchy_edges(path: Path) -> list[tuple[str, str]]:
    """(child, parent) pairs of an Open Images hierarchy: ``{"LabelName": ..., "Subcategory": [...]}``, nested.

    Only ``Subcategory`` means "is a"; ``Part`` (a wheel of a car) implies nothing. The root (``/m/0bl9f``,
    "Entity") is no label.
    """
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("hierarchy file not found", file=str(path)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"hierarchy is not JSON: {exc}", file=str(path)) from None
    out: list[tuple[str, str]] = []

    def walk(node: Any, parent: str | None, depth: int) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("LabelName"), str):
            raise InputError("hierarchy nodes must be objects with a LabelName (and Subcategory lists)",
                             file=str(path))  # fmt: skip
        name = node["LabelName"]
        if parent is not None and depth > 1:  # children of the root have no parent label
            out.append((name, parent))
        for child in node.get("Subcategory", []) or []:
            walk(child, name, depth + 1)

    walk(tree, None, 0)
    return out


def _closure(edges: Mapping[str, set[str]]) -> dict[str, tuple[str, ...]]:
    """Each label's implied labels, followed through (a cycle just stops)."""
    out: dict[str, tuple[str, ...]] = {}
    for start in edges:
        seen: list[str] = []
        stack = sorted(edges[start])
        while stack:
            x = stack.pop()
            if x == start or x in seen:
                continue
            seen.append(x)
            stack.extend(sorted(edges.get(x, ())))
        out[start] = tuple(sorted(seen))
    return out


def rule_label_findings(rules: Rules, labels: Sequence[str]) -> list[Finding]:
    """unused-label for each label a group or an explicit implication names that no split has (a typo checks nothing)."""
    known = set(labels)
    out = []
    for x in sorted(rules.labels() - known):
        close = difflib.get_close_matches(x, sorted(known), n=1)
        out.append(_f("unused-label", f"the rules name label {x!r}, which no image has",
                      f"did you mean {close[0]!r}?" if close else "check its spelling", label=x))  # fmt: skip
    return out


def _f(code: str, message: str, hint: str, **where: Any) -> Finding:
    return Finding(code, CHECKS[code][0], message, hint, **where)


def rule_findings(sf: SplitFrame, rules: Rules, *, train: bool) -> list[Finding]:
    """The rows of one split that break ``rules``; with ``train``, also the labels under their minimum count."""
    out: list[Finding] = []
    if not len(sf.frame) or not sf.labels:
        return out
    col = {lab: k for k, lab in enumerate(sf.labels)}
    used = sorted({x for g in (*rules.exactly_one, *rules.at_most_one) for x in g if x in col}
                  | {x for c, ps in rules.implies.items() if c in col for x in (c, *ps) if x in col})  # fmt: skip
    mat = dense_matrix(sf.frame, used, purpose="checking label rules") if used else None
    at = {lab: k for k, lab in enumerate(used)}
    paths = sf.frame["path"].to_numpy(dtype=object)

    def cells(group: Sequence[str]) -> np.ndarray:
        present = [at[x] for x in group if x in at]
        assert mat is not None
        return mat[:, present] if present else np.zeros((len(paths), 0), dtype=np.int8)

    for kind, groups in (("exactly one", rules.exactly_one), ("at most one", rules.at_most_one)):
        for group in groups:
            if mat is None:
                break
            block = cells(group)
            present = [x for x in group if x in at]
            positive = block == 1
            for i in np.flatnonzero(positive.sum(axis=1) > 1).tolist():
                on = [present[k] for k in np.flatnonzero(positive[i]).tolist()]
                out.append(_f("exclusive-labels", f"{paths[i]!r} has {', '.join(map(repr, on))}: {kind} of "
                              f"{', '.join(map(repr, group))} may be set", "keep the one that is right",
                              path=str(paths[i]), **sf.where(i)))  # fmt: skip
            if kind == "exactly one":
                none = ~positive.any(axis=1) & ~(block == -1).any(axis=1)
                for i in np.flatnonzero(none).tolist():
                    out.append(_f("missing-exclusive-label", f"{paths[i]!r} has none of "
                                  f"{', '.join(map(repr, group))}: exactly one must be set",
                                  "add the one that applies", path=str(paths[i]), **sf.where(i)))  # fmt: skip
    if mat is not None:
        lacking: dict[tuple[int, str], str] = {}  # (row, missing label) -> the first label implying it
        for child, parents in rules.implies.items():
            if child not in at:
                continue
            has = mat[:, at[child]] == 1
            for parent in parents:
                rows = has & ((mat[:, at[parent]] == 0) if parent in at else True)
                for i in np.flatnonzero(rows).tolist():
                    lacking.setdefault((i, parent), child)
        for (i, parent), child in sorted(lacking.items()):
            out.append(_f("implied-label-missing", f"{paths[i]!r} has {child!r} but not {parent!r}, which it "
                          "implies", f"add {parent!r} (or fix {child!r})", path=str(paths[i]), label=parent,
                          **sf.where(i)))  # fmt: skip
    if train and rules.min_count:
        positives = sf.positives()
        default = rules.min_count.get("*")
        for label in dict.fromkeys([*sf.labels, *(x for x in rules.min_count if x != "*")]):
            need = rules.min_count.get(label, default)
            if need is None:
                continue
            n = positives.get(label, 0)
            if n < need:
                out.append(_f("label-below-min-count", f"label {label!r} has {n} positive(s) in split {sf.name!r}, "
                              f"under the rules' min-count of {need}", "collect more examples, merge the label, or "
                              "lower its min-count", label=label, split=sf.name, source=sf.source))  # fmt: skip
    return out
