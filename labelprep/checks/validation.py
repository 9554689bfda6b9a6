"""The validate pipeline: read every source as splits, run every check, collect one report."""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelprep import storage
from labelprep.checks.labels import SplitFrame, cross_split_findings, frame_label_findings
from labelprep.checks.rules import rule_findings, rule_label_findings
from labelprep.checks.settings import (  # re-exported: callers import the settings from here too
    CONFIG_KEYS,
    ValidateSettings,
    check_severity,
    load_config,
    source_split_names,
    train_split,
)
from labelprep.errors import DATAFRAME_SOURCE, LabelprepError, SchemaError
from labelprep.frameio import frame_images_root, is_frame, read_frame
from labelprep.readers.base import POSITIVE, Annotations
from labelprep.readers.folders import NAME_NOT_UTF8, TAG_FILE_ESCAPES, is_image_name
from labelprep.readers.refine import is_dataframe, read_refined, source_name
from labelprep.report import CHECKS, Finding, Report
from labelprep.schemas import check_frame
from labelprep.toframe import check_split_cells, encode, implied_label_map

__all__ = ["CONFIG_KEYS", "ParsedSplit", "ValidateSettings", "Validation", "check_severity", "load_config",
           "run_validation", "source_split_names", "train_split", "validation"]


# --------------------------------------------------------------------------------------------
@dataclass
class _Split:
    sf: SplitFrame
    root: Path | str
    converted: bool


def _read_frame_splits(src: Path, st: ValidateSettings, report: Report, name: str) -> list[_Split]:
    frame, vocab = read_frame(src, vocab=st.vocab)
    root = frame_images_root(src, st.images_root)
    labels = list(vocab)
    try:
        check_frame(frame, vocab, source=str(src))
    except SchemaError as exc:
        for msg in exc.failures:
            report.add("schema-error", msg, hint="regenerate the frame with labelprep convert", source=str(src))
    lines = (np.arange(len(frame), dtype=np.int64) + 2) if src.suffix.lower() == ".csv" else None
    if "split" in frame.columns:
        out = []
        for value, part in frame.groupby("split", sort=False, dropna=False):
            idx = part.index.to_numpy()
            sub = part.reset_index(drop=True)
            out.append(_Split(SplitFrame(str(value), str(src), sub, labels, None if lines is None else lines[idx],
                                         declared=labels), root, True))  # fmt: skip
        return out
    return [_Split(SplitFrame(name, str(src), frame, labels, lines, declared=labels), root, True)]


def _subset(ann: Annotations, rows: np.ndarray) -> Annotations:
    """The annotations of some rows only (pairs re-indexed)."""
    new_index = np.full(ann.n_rows, -1, dtype=np.int64)
    new_index[rows] = np.arange(len(rows))
    keep = new_index[ann.row] >= 0
    return Annotations(
        source=ann.source, format=ann.format, paths=ann.paths[rows], lines=ann.lines[rows],
        row=new_index[ann.row[keep]], code=ann.code[keep], names=ann.names, value=ann.value[keep],
        declared=ann.declared, columns={k: np.asarray(v, dtype=object)[rows] for k, v in ann.columns.items()},
        files=None if ann.files is None else ann.files[rows], notes=[], images_root=ann.images_root,
        raw_path_is_final=ann.raw_path_is_final, default_template=ann.default_template,
        one_row_per_label=ann.one_row_per_label, pair_lines=None if ann.pair_lines is None else ann.pair_lines[keep],
    )  # fmt: skip


# Why a folder form leaves an image file out, and what to do about it (the other ledger reasons are not images).
_LEFT_OUT = {
    "unlabelled": "add its tag file (an empty one means no labels), or delete the image",
    "not in a label folder": "move it into a label folder, or delete it",
    "not labelled yet": "label it (move it into a label folder), or delete it",
    NAME_NOT_UTF8: "rename it with a UTF-8 name (e.g. convmv -f latin1 -t utf8 -r --notest FOLDER)",
}


def _raw_splits(src: Path | Any, st: ValidateSettings, report: Report, name: str) -> list[_Split]:
    ann = read_refined(src, format=st.format, options=st.read, none_labels=st.none_label)
    where = source_name(src)
    if ann.join_unmatched is not None:
        for i in ann.join_unmatched.tolist():
            f, line = ann.where(i)
            report.add("join-unmatched", f"{str(ann.paths[i])!r} has no row in {st.read.join}: its "
                       f"{', '.join(c for c in (st.read.split_col, st.read.group_col, *st.read.keep_cols) if c)} "
                       "left blank", hint=f"add it to {st.read.join}, or check --on {st.read.on}",
                       path=str(ann.paths[i]), source=f, line=line)  # fmt: skip
    if st.label_map is None and implied_label_map(ann, st.vocab, st.vocab_map, st.none_label) is not None:
        st = dataclasses.replace(st, label_map=st.vocab_map)  # ids of the label map given as --vocab
    for d in ann.dropped:
        if d.reason in _LEFT_OUT and is_image_name(d.path):
            report.add("left-out", f"{d.path!r} is left out: {d.reason} ({d.detail})", hint=_LEFT_OUT[d.reason],
                       path=d.path, source=where)  # fmt: skip
        elif d.reason == TAG_FILE_ESCAPES:
            report.add("path-escapes-root", f"{d.path!r}: its tag file {d.detail}; the image is left out",
                       hint="copy the tag file into the images root instead of linking to it", path=d.path,
                       source=where)  # fmt: skip
    root: Path | str
    if st.images_root is not None:
        root = st.images_root
    elif ann.images_root is not None:
        root = Path(ann.images_root)
    elif is_dataframe(src):
        root = Path.cwd()  # an in-memory table: paths are relative to where the user works
    else:
        root = storage.default_root(src)  # a source fetched from a URL: that URL's folder
    if st.images_root is not None and ann.raw_path_is_final:
        rel = storage.source_rel(Path(ann.images_root) if ann.images_root else src, root)
        if rel != ".":
            ann.paths = np.array([f"{rel}/{p}" for p in ann.paths], dtype=object)
    if "split" in ann.columns:
        check_split_cells(ann)
        values = np.asarray(ann.columns["split"], dtype=object)
        parts = [(str(v), np.flatnonzero(values == v)) for v in dict.fromkeys(values.tolist())]
    else:
        parts = [(name, np.arange(ann.n_rows))]
    # One encode of the whole source, as convert encodes it (unknown labels left out: they are findings here),
    # so the frame is the one export writes; each split is a slice of it.
    enc = encode(ann, images_root=root, vocab=st.vocab, unknown="drop", none_labels=st.none_label,
                 label_map=st.label_map, path_template=st.path_template or ann.default_template,
                 find_images=st.find_images)  # fmt: skip
    if len(enc.frame):
        try:
            check_frame(enc.frame, enc.vocabulary, unknown=True, source=where, distinct_paths=enc.distinct_paths)
        except SchemaError as exc:
            for msg in exc.failures:
                report.add("schema-error", msg, hint="check the annotations", source=where)
    assert enc.first_row is not None and enc.row_image is not None
    none_set = {x.strip() for x in st.none_label}
    if st.vocab is not None:
        declared = list(st.vocab)
    else:  # a none-label column or folder ("No Finding", "healthy/") declares no label; map ids to names
        lmap = st.label_map or {}
        declared = [n for n in (lmap.get(d.strip(), d.strip()) for d in (ann.declared or [])) if n not in none_set]
    none_codes = [k for k, n in enumerate(ann.names) if n.strip() in none_set]
    none_marked = np.zeros(len(enc.frame), dtype=bool)
    if none_codes:
        images = enc.row_image[np.unique(ann.row[np.isin(ann.code, none_codes)])]
        none_marked[images[images >= 0]] = True
    image_split = enc.frame["split"].to_numpy(dtype=object) if len(parts) > 1 else None
    out = []
    for name, rows in parts:
        sub = _subset(ann, rows) if len(parts) > 1 else ann
        report.extend(_raw_row_findings(sub, name, st))
        listed = set(sub.paths.tolist()) if ann.name_conflicts else set()
        for copies in ann.name_conflicts:
            if copies[0] in listed:
                shown = ", ".join(map(repr, copies))
                report.add("name-conflict", f"{shown} share a file name but differ in bytes; read as separate images",
                           hint="rename one copy, or replace it with the same image; convert refuses this unless "
                           "--on-conflict separate", path=copies[0], split=name, source=where)  # fmt: skip
        take = np.arange(len(enc.frame)) if image_split is None else np.flatnonzero(image_split == name)
        frame = enc.frame.iloc[take].reset_index(drop=True) if image_split is not None else enc.frame
        first = enc.first_row[take]
        lines = ann.lines[first]
        files = None if ann.files is None else [str(x) for x in ann.files[first]]
        seen = [n for n in dict.fromkeys(x.strip() for x in sub.names) if n and n not in none_set]
        sf = SplitFrame(name, where, frame, list(enc.vocabulary), lines, files, declared, seen)
        if none_codes:
            sf.none_marked = none_marked[take]
        out.append(_Split(sf, root, False))
    return out


def _raw_row_findings(ann: Annotations, split: str, st: ValidateSettings) -> list[Finding]:
    """Row by row, before duplicates merge: duplicate-path, conflicting-labels, none-label-conflict, unknown-label."""
    out: list[Finding] = []
    names = [n.strip() for n in ann.names]
    if st.label_map is not None:
        names = [st.label_map.get(n, n) for n in names]
    none_set = {s.strip() for s in st.none_label}
    pos = ann.value == POSITIVE
    is_none = np.array([n in none_set for n in names] + [False], dtype=bool)[ann.code] if len(ann.code) else pos
    is_real = np.array([n not in none_set and n != "" for n in names] + [False], dtype=bool)[ann.code] if len(
        ann.code) else pos  # fmt: skip
    # none-label together with real labels, on one row
    with_none = pos & is_none
    both = np.intersect1d(np.unique(ann.row[with_none]), np.unique(ann.row[pos & is_real])) if with_none.any() \
        else np.zeros(0, dtype=np.int64)  # fmt: skip
    for r in both.tolist():
        f, ln = ann.where(r)
        labs = sorted({names[c] for c in ann.code[(ann.row == r) & pos].tolist()})
        out.append(Finding("none-label-conflict", CHECKS["none-label-conflict"][0],
                           f"{ann.paths[r]!r} lists a none-label with real labels: {', '.join(map(repr, labs))}",
                           "drop the none-label or the real labels", path=str(ann.paths[r]), split=split, source=f,
                           line=ln))  # fmt: skip
    # unknown labels against a declared vocabulary: one finding per label, at its first row
    if st.vocab is not None:
        for c, n in enumerate(names):
            if n == "" or n in none_set or n in st.vocab:
                continue
            pairs = np.flatnonzero(ann.code == c)
            if len(pairs) == 0:
                continue
            rows = ann.row[pairs]
            # long forms keep each pair's line (in file order); otherwise the first row listing the label
            f, ln = ann.pair_where(int(pairs[0])) if ann.pair_lines is not None else ann.where(int(rows.min()))
            out.append(Finding("unknown-label", CHECKS["unknown-label"][0],
                               f"unknown label {n!r} on {len(np.unique(rows))} row(s)", st.vocab.hint_for(n),
                               label=n, split=split, source=f, line=ln))  # fmt: skip
    # the same path listed twice
    # (a long form lists an image once per label: its repeated paths are no finding)
    dup_mask = np.zeros(0, dtype=bool) if ann.one_row_per_label else \
        pd.Series(ann.paths, dtype=object).duplicated(keep=False).to_numpy()  # fmt: skip
    if dup_mask.any():
        label_sets: dict[int, frozenset[str]] = defaultdict(frozenset)
        sel = dup_mask[ann.row] & pos & is_real if len(ann.row) else np.zeros(0, bool)
        acc: dict[int, set[str]] = defaultdict(set)
        for r, c in zip(ann.row[sel].tolist(), ann.code[sel].tolist(), strict=True):
            acc[r].add(names[c])
        label_sets.update({r: frozenset(v) for r, v in acc.items()})
        first_of: dict[str, int] = {}
        for r in np.flatnonzero(dup_mask).tolist():
            p = str(ann.paths[r])
            if p not in first_of:
                first_of[p] = r
                continue
            r0 = first_of[p]
            f, ln = ann.where(r)
            f0, ln0 = ann.where(r0)
            # where the first listing is: a line, else (JSON) the record, and its file when another one
            first = f"{'row' if f0 == DATAFRAME_SOURCE else 'line'} {ln0}" if ln0 else f"record {int(r0) + 1}"
            first += f" of {f0}" if f0 != f else ""
            if label_sets[r] == label_sets[r0]:
                out.append(Finding("duplicate-path", CHECKS["duplicate-path"][0],
                                   f"{p!r} is listed again (first on {first})", "remove the repeated row",
                                   path=p, split=split, source=f, line=ln))  # fmt: skip
            else:
                a, b = sorted(label_sets[r0]), sorted(label_sets[r])
                out.append(Finding("conflicting-labels", CHECKS["conflicting-labels"][0],
                                   f"{p!r} is listed with labels {a} on {first} and {b} here",
                                   "decide which labels are right; convert would merge them into their union",
                                   path=p, split=split, source=f, line=ln))  # fmt: skip
    return out


def _file_and_image_findings(splits: list[_Split], st: ValidateSettings, report: Report) -> set[str]:
    """Files, images, duplicates and leaks; returns the unusable paths (for --quarantine).

    Python loops run over the paths with an issue and the paths listed more than once only; every other path
    is handled a column at a time (a million paths in well under a second).
    """
    from labelprep.checks.files import check_files

    unusable: set[tuple[str, str]] = set()
    digests: dict[tuple[str, str], str] = {}  # (root, path) -> digest
    decoded: dict[tuple[str, str], Any] = {}  # (root, path) -> ImageInfo, with the content checks
    content = st.near_duplicates or st.quality
    by_root: dict[Path | str, list[_Split]] = defaultdict(list)
    for sp in splits:
        by_root[sp.root].append(sp)
    for root, group in by_root.items():
        columns = [sp.sf.frame["path"] for sp in group]
        all_paths = pd.unique(pd.concat(columns, ignore_index=True)).tolist() if len(group) > 1 else \
            columns[0].tolist()  # a split's paths are distinct (merged by encode, checked by check_frame)  # fmt: skip
        if len(group) == 1 and len(set(all_paths)) != len(all_paths):
            all_paths = list(dict.fromkeys(all_paths))  # a frame read from disk that failed its schema
        # reading the images stats every file anyway: skip the per-file stat here then
        file_issues = check_files(all_paths, root, stat_files=st.check_images == "none")
        infos: dict[str, Any] = {}
        if st.check_images != "none":
            usable = [p for p in all_paths if p not in file_issues] if file_issues else all_paths
            if usable:
                from labelprep.checks.images import check_images

                infos = check_images(usable, root, level=st.check_images, workers=st.workers, cache_dir=st.cache,
                                     max_pixels=st.max_pixels, min_size=st.min_size, progress=st.progress,
                                     engine=st.engine, content=content, quality=st.quality)  # fmt: skip
            if content:
                decoded.update(((str(root), p), info) for p, info in infos.items())
        digests.update(((str(root), p), info.digest) for p, info in infos.items() if info.digest)
        flagged = set(file_issues) | {p for p, info in infos.items() if info.issues}
        for sp in group:
            if not flagged:
                break
            paths = sp.sf.frame["path"]
            for i in np.flatnonzero(paths.isin(flagged).to_numpy()).tolist():
                p = str(paths.iat[i])
                issues = list(file_issues.get(p, []))
                info = infos.get(p)
                if info is not None:
                    issues += info.issues
                for iss in issues:
                    if iss.code in report.muted:
                        continue
                    sev = CHECKS[iss.code][0]
                    report.findings.append(Finding(iss.code, sev, f"{p!r}: {iss.message}", iss.hint, path=p,
                                                   **sp.sf.where(i)))  # type: ignore[arg-type]  # fmt: skip
                    if sev == "error":
                        unusable.add((str(root), p))
    _duplicate_findings(splits, digests, report)
    if content:
        _content_findings(splits, decoded, st, report)
    return {p for _, p in sorted(unusable)}


def _duplicate_findings(splits: list[_Split], digests: dict[tuple[str, str], str], report: Report) -> None:
    """duplicate-image within a split and leaked-image across splits: the same content digest, or the same
    file (root and path). Only the keys listed more than once are looked at one by one."""
    keys, where, paths = [], [], []
    for n, sp in enumerate(splits):
        listed = sp.sf.frame["path"].tolist()
        root = str(sp.root)
        if digests:
            keys += [f"d:{d}" if (d := digests.get((root, p))) else f"p:{root}/{p}" for p in listed]
        else:
            keys += [f"p:{root}/{p}" for p in listed]
        where.append(np.stack([np.full(len(listed), n), np.arange(len(listed))], axis=1))
        paths.append(listed)
    if not keys:
        return
    key = pd.Series(keys, dtype=object)
    dup = key.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    at = np.concatenate(where)
    repeated = np.flatnonzero(dup)
    codes, _ = pd.factorize(key.iloc[repeated])
    # each key's occurrences in listing order, the keys in the order of their first listing (as a dict groups them)
    order = np.argsort(codes, kind="stable")
    current, first = -1, (0, "")
    for r, c in zip(repeated[order].tolist(), codes[order].tolist(), strict=True):
        n, i = at[r].tolist()
        sp, p = splits[n], paths[n][i]
        if c != current:
            current, first = c, (n, p)
            continue
        first_split, first_path = splits[first[0]].sf.name, first[1]
        split = sp.sf.name
        if ("duplicate-image" if split == first_split else "leaked-image") in report.muted:
            continue
        same = "the same file" if keys[r].startswith("p:") else f"the same image as {first_path!r}"
        if split == first_split:
            report.add("duplicate-image", f"{p!r} is {same} in split {split!r}",
                       hint="keep one copy", path=p, **sp.sf.where(i))  # fmt: skip
        else:
            report.add("leaked-image", f"{p!r} in split {split!r} is {same} in split {first_split!r}",
                       hint="remove it from one split; evaluation on leaked images is optimistic", path=p,
                       **sp.sf.where(i))  # fmt: skip


_VERIFY_DISTANCE = 6  # pairs at most this far apart may be the same pixels (a JPEG decoded reduced, its PNG copy)


def _content_findings(splits: list[_Split], infos: dict[tuple[str, str], Any], st: ValidateSettings,
                      report: Report) -> None:  # fmt: skip
    """near-duplicate and near-duplicate-leak by group; the quality codes per listed row."""
    from labelprep.checks.content import groups, near_duplicate_pairs, quality_issues, same_pixels

    # one node per image file (root, path), with every row that lists it
    nodes: list[tuple[str, str]] = list(infos)
    index = {key: k for k, key in enumerate(nodes)}
    rows: list[list[tuple[_Split, int]]] = [[] for _ in nodes]
    for sp in splits:
        for i, p in enumerate(sp.sf.frame["path"].tolist()):
            k = index.get((str(sp.root), p))
            if k is not None:
                rows[k].append((sp, i))
    contents = [infos[key].content for key in nodes]
    if st.quality:
        sizes = [(c, infos[key].width, infos[key].height) for key, c in zip(nodes, contents, strict=True)]
        for k, issues in quality_issues(sizes, st.thresholds).items():
            for iss in issues:
                for sp, i in rows[k]:
                    p = nodes[k][1]
                    report.add(iss.code, f"{p!r}: {iss.message}", hint=iss.hint, path=p, **sp.sf.where(i))
    if not st.near_duplicates:
        return
    def same(a: int, b: int) -> bool:
        ka, kb = nodes[a], nodes[b]
        if infos[ka].digest == infos[kb].digest or storage.is_remote(ka[0]) or storage.is_remote(kb[0]):
            return True  # the same bytes; or remote images, not fetched again: equal fingerprints stand
        return same_pixels(os.path.join(ka[0], ka[1]), os.path.join(kb[0], kb[1]))

    pairs = near_duplicate_pairs(contents, st.thresholds.near_duplicate, same)
    if st.check_images != "full":
        # a JPEG decoded reduced and its PNG copy decoded whole leave different fingerprints: compare the pixels
        # of the closest pairs of equal size in different formats, so such a copy is still called identical
        for n, p in enumerate(pairs):
            ia, ib = infos[nodes[p.a]], infos[nodes[p.b]]
            if (not p.same_pixels and p.distance <= _VERIFY_DISTANCE and not p.orientation and not p.cropped
                    and ia.format != ib.format and (ia.width, ia.height) == (ib.width, ib.height)
                    and not storage.is_remote(nodes[p.a][0]) and not storage.is_remote(nodes[p.b][0])
                    and same(p.a, p.b)):  # fmt: skip
                pairs[n] = replace(p, distance=0, same_pixels=True)
    by_pair = {(p.a, p.b): p for p in pairs}
    order = {name: n for n, name in enumerate(dict.fromkeys(sp.sf.name for sp in splits))}
    train = train_split(list(order))

    def how(a: int, b: int) -> str:
        pair = by_pair.get((min(a, b), max(a, b)))
        return pair.how() if pair is not None else "joined through other images of the group"

    for group in groups(len(nodes), pairs):
        digest = {k: infos[nodes[k]].digest for k in group}
        if len(set(digest.values())) < 2:
            continue  # byte-identical copies only: duplicate-image and leaked-image say it
        occ = sorted(((sp.sf.name, nodes[k][1], k, sp, i) for k in group for sp, i in rows[k]),
                     key=lambda o: (order[o[0]], o[1]))  # fmt: skip
        members = tuple((p, name) for name, p, _, _, _ in occ)
        listed = ", ".join(f"{p!r} ({name})" for p, name in members[:10])
        listed += f" and {len(members) - 10} more" if len(members) > 10 else ""
        by_split: dict[str, list[tuple[str, int, _Split, int]]] = {}
        for name, p, k, sp, i in occ:
            by_split.setdefault(name, []).append((p, k, sp, i))
        if len(by_split) > 1:
            anchor = train if train in by_split else next(iter(by_split))
            for name, items in by_split.items():
                if name == anchor:
                    continue
                # the closest pair between this split and the anchor split, of different files
                options = [(by_pair[(min(k, q), max(k, q))].distance if (min(k, q), max(k, q)) in by_pair else 999,
                            n, m) for n, (_, k, _, _) in enumerate(items) for m, (_, q, _, _) in
                           enumerate(by_split[anchor]) if digest[k] != digest[q]]  # fmt: skip
                if not options:
                    continue
                _, n, m = min(options)
                p, k, sp, i = items[n]
                q, kq = by_split[anchor][m][0], by_split[anchor][m][1]
                report.extend([Finding(
                    "near-duplicate-leak", CHECKS["near-duplicate-leak"][0],
                    f"{p!r} in split {name!r} is a near-duplicate of {q!r} in split {anchor!r} ({how(k, kq)}); "
                    f"group of {len(members)}: {listed}",
                    "keep the group in one split (move or drop the copies); evaluation on near-copies of training "
                    "images is optimistic", path=p, members=members, **sp.sf.where(i))])  # type: ignore[arg-type]  # fmt: skip
        else:
            (name, items), = by_split.items()
            first = items[0]
            second = next(x for x in items[1:] if digest[x[1]] != digest[first[1]])
            p, k, sp, i = second
            report.extend([Finding(
                "near-duplicate", CHECKS["near-duplicate"][0],
                f"{p!r} is a near-duplicate of {first[0]!r} in split {name!r} ({how(k, first[1])})"
                + (f"; group of {len(members)}: {listed}" if len(members) > 2 else ""),
                "keep one, unless the copies are meant to weigh more", path=p, members=members,
                **sp.sf.where(i))])  # type: ignore[arg-type]  # fmt: skip


@dataclass
class ParsedSplit:
    """One split as validation read it: the frame export writes, its labels, the images root and its source."""

    name: str
    frame: pd.DataFrame
    labels: list[str]
    root: Path | str
    source: str


@dataclass
class Validation:
    """A validation's report and what it read: export writes these splits (one parse per source)."""

    report: Report
    splits: list[ParsedSplit]


def run_validation(sources: Sequence[Path | Any], st: ValidateSettings,
                   names: Sequence[str | None] | None = None) -> Report:
    """The report of validating ``sources`` with settings ``st`` (see :func:`validation`)."""
    return validation(sources, st, names).report


def validation(sources: Sequence[Path | Any], st: ValidateSettings,
               names: Sequence[str | None] | None = None) -> Validation:  # fmt: skip
    """Read each source once, check it, and return the report with the splits read (which export writes)."""
    report = Report(strict=st.strict, muted=frozenset(c for c, level in st.severity.items() if level == "off"))
    splits: list[_Split] = []
    # a source without a split column is one split, named as export names it
    for src, name in zip(sources, source_split_names(sources, names), strict=True):
        try:
            splits += (_read_frame_splits(src, st, report, name) if not is_dataframe(src) and is_frame(src)
                       else _raw_splits(src, st, report, name))  # fmt: skip
        except LabelprepError as exc:
            report.add("schema-error", f"cannot read the annotations: {exc.message}", hint=exc.hint or "",
                       source=exc.file or source_name(src), line=exc.line)  # fmt: skip
    train = train_split([sp.sf.name for sp in splits])
    empty_sev = "error" if st.no_empty else None
    for sp in splits:
        report.extend(frame_label_findings(sp.sf, min_positives=st.min_positives, empty_severity=empty_sev))
    if st.rules:
        known = {lab for sp in splits for lab in (*sp.sf.labels, *sp.sf.declared, *sp.sf.seen)}
        report.extend(rule_label_findings(st.rules, sorted(known)))
        for sp in splits:
            report.extend(rule_findings(sp.sf, st.rules, train=sp.sf.name == train))
    predicted: dict[str, int] | None = None
    if st.predictions is not None and splits:
        from labelprep.checks.predictions import prediction_findings, read_predictions

        found, predicted = prediction_findings([sp.sf for sp in splits], read_predictions(st.predictions),
                                               source=str(st.predictions), top=st.top_issues)  # fmt: skip
        report.extend(found)
    declared = list(dict.fromkeys(d for sp in splits for d in sp.sf.declared))
    converted = {sp.sf.name: sp.sf.labels for sp in splits if sp.converted}
    if len({sp.sf.source for sp in splits if sp.converted}) < 2:
        converted = {}  # one converted frame shares one vocabulary across its splits
    report.extend(cross_split_findings([sp.sf for sp in splits], train=train, declared=declared,
                                       converted=converted))  # fmt: skip
    unusable = _file_and_image_findings(splits, st, report) if splits else set()
    report.checks = ["schema", "labels", *(["splits"] if len(splits) > 1 else []), "files",
                     *(["images"] if st.check_images != "none" else []), "leakage",
                     *(["quality"] if st.quality else []), *(["predictions"] if predicted is not None else [])]  # fmt: skip
    report.stats = {
        "sources": len(sources),
        "splits": {sp.sf.name: len(sp.sf.frame) for sp in splits},
        "images": int(sum(len(sp.sf.frame) for sp in splits)),
        "train_split": train or None,
        "check_images": st.check_images,
        **({"predictions": predicted} if predicted is not None else {}),
    }
    findings = report.findings
    report.gallery = lambda: _gallery(splits, findings, unusable)  # made only for the HTML page
    if st.severity:
        report = report.with_severities(st.severity)
    report.sort()
    if st.quarantine is not None:
        _write_quarantine(st.quarantine, report, unusable)
    parsed = [ParsedSplit(sp.sf.name, sp.sf.frame, sp.sf.labels, sp.root, sp.sf.source) for sp in splits]
    return Validation(report, parsed)


_EXAMPLES, _EXAMPLE_LABELS = 4, 40  # the HTML page shows this many images of the first this many labels


def _gallery(splits: list[_Split], findings: list[Finding], unusable: set[str]) -> dict[str, Any]:
    """Where the images the HTML page shows are, and their labels: those of content findings, and examples."""
    wanted = {(f.split, f.path) for f in findings if f.path and (f.members or f.score is not None
              or CHECKS[f.code][1] == "quality")}  # fmt: skip
    wanted |= {(split, path) for f in findings if f.members for path, split in f.members}
    examples: dict[str, list[tuple[str, str]]] = {}
    images: dict[str, dict[str, Any]] = {}
    for sp in splits:
        frame, labels = sp.sf.frame, sp.sf.labels
        paths = frame["path"].astype(str).tolist()
        names = {p for split, p in wanted if split == sp.sf.name}
        rows = [i for i, p in enumerate(paths) if p in names] if names else []
        for label in labels[:_EXAMPLE_LABELS]:
            have = examples.setdefault(label, [])
            if len(have) >= _EXAMPLES:
                continue
            column = frame[label]
            hits = np.flatnonzero(column.to_numpy(dtype=np.int8) == 1)
            for i in hits[: 3 * _EXAMPLES].tolist():
                if paths[i] not in unusable and len(have) < _EXAMPLES:
                    have.append((paths[i], sp.sf.name))
                    rows.append(i)
        for i in dict.fromkeys(rows):
            row = frame.iloc[i]
            location = None if storage.is_remote(sp.root) else os.path.join(str(sp.root), paths[i])
            images[f"{sp.sf.name}\x00{paths[i]}"] = {"location": location,
                                                      "labels": [lab for lab in labels if row[lab] == 1]}
    return {"images": images, "examples": {k: v for k, v in examples.items() if v}}


def _write_quarantine(path: Path, report: Report, unusable: set[str]) -> None:
    import csv

    from labelprep.atomic import atomic_write

    rows = [(f.path, f.split or "", f.code, f.message) for f in report.findings
            if f.path in unusable and f.severity == "error" and CHECKS[f.code][1] in ("files", "images")]  # fmt: skip

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["path", "split", "code", "message"])
            w.writerows(rows)

    atomic_write(path, write)
