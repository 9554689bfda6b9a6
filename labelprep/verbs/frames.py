"""The verbs over a frame: ``load_frame``, ``split``, ``stats`` and ``diff``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from labelprep import storage
from labelprep.atomic import atomic_write
from labelprep.errors import InputError, LabelprepError
from labelprep.frameio import (
    FORMAT_ATTR,
    IMAGES_ROOT_ATTR,
    is_frame,
    read_frame,
    write_frame,
)
from labelprep.options import ConvertOptions, DiffOptions, RunOptions, SourceOptions, SplitOptions, StatsOptions, route
from labelprep.readers.refine import source_name
from labelprep.verbs.convert import convert_one, frame_output
from labelprep.vocabulary import Vocabulary

if TYPE_CHECKING:
    from labelprep.compare import Diff
    from labelprep.labelstats import Stats
    from labelprep.splitting import SplitResult

__all__ = ["NOTES_ATTR", "SplitOutcome", "diff", "load_frame", "split", "stats"]

NOTES_ATTR = "labelprep_notes"  # frame.attrs key: the notes of the conversion load_frame made (raw sources)


def _frame_of(source: Any, so: SourceOptions) -> tuple[pd.DataFrame, Vocabulary]:
    src = source if isinstance(source, pd.DataFrame) else Path(source)
    if isinstance(src, Path) and is_frame(src):
        v = Vocabulary.read(Path(so.vocab)) if isinstance(so.vocab, (str, os.PathLike)) else so.vocab
        return read_frame(src, vocab=v)
    conv = convert_one(src, None, so, RunOptions(), ConvertOptions())
    conv.frame.attrs[IMAGES_ROOT_ATTR] = str(conv.images_root)  # write_frame keeps it (relative to its output)
    conv.frame.attrs[FORMAT_ATTR] = conv.format
    conv.frame.attrs[NOTES_ATTR] = list(conv.notes)  # what the conversion decided, for the caller to show
    return conv.frame, conv.vocabulary


@storage.staged(sources=["source"])
def load_frame(source: Any, *, source_options: SourceOptions | None = None,
               **options: Any) -> tuple[pd.DataFrame, Vocabulary]:  # fmt: skip
    """A frame and its vocabulary from a converted frame, or from any source :func:`convert` reads (the
    options of :class:`~labelprep.options.SourceOptions`, by name or as ``source_options``)."""
    return _frame_of(source, route("load_frame", options, {"source": source_options})["source"])


@dataclass
class SplitOutcome:
    """The frame with its new ``split`` column, the split's balance, and the files written."""

    frame: pd.DataFrame
    vocabulary: Vocabulary
    result: SplitResult
    written: list[Path | str] = field(default_factory=list)  # URLs for outputs on remote storage
    notes: list[str] = field(default_factory=list)  # what converting a raw source decided (format, columns ...)


@storage.staged(sources=["source"], outputs={"output": "file"})
def split(source: Any, output: str | os.PathLike[str] | None = None, *, source_options: SourceOptions | None = None,
          split_options: SplitOptions | None = None, **options: Any) -> SplitOutcome:  # fmt: skip
    """Split a dataset: multi-label iterative stratification that keeps each group in one split.

    ``source`` is a converted frame or any source :func:`convert` reads (the options of
    :class:`~labelprep.options.SourceOptions`); ``ratios``, ``names``, ``seed``, ``per_split`` and
    ``overwrite`` are :class:`~labelprep.options.SplitOptions`. ``group_col`` names the column whose value
    (patient, study, user) must not span splits. Each label with at least as many groups as splits lands in
    every split, or is listed in ``result.unplaced`` with the reason. With ``output`` the frame is written with a
    ``split`` column (or, with ``per_split``, one file per split: ``<stem>-<name><suffix>``). An existing
    ``split`` column is refused unless ``overwrite``.

    Example:
        >>> out = labelprep.split("labels.csv", "split.parquet", group_col="patient", seed=0)  # doctest: +SKIP
        >>> print(out.result.to_text())  # doctest: +SKIP
    """
    from labelprep.shards.spec import check_part_name
    from labelprep.splitting import stratified_split

    o = route("split", options, {"source": source_options, "split": split_options})
    so, sp = o["source"], o["split"]
    src = source if isinstance(source, pd.DataFrame) else Path(source)
    is_raw = not (isinstance(src, Path) and is_frame(src))
    group_col = so.group_col
    frame, vocab = _frame_of(src, so if is_raw else replace(so, group_col=None))
    notes = list(frame.attrs.get(NOTES_ATTR, []))
    if "split" in frame.columns and not sp.overwrite:
        raise InputError("the frame already has a 'split' column", file=source_name(src),
                         hint="pass --overwrite to replace it")  # fmt: skip
    for name in sp.names:  # the names export will put in shard file names
        bad = check_part_name("split", name)
        if bad:
            raise InputError(bad, hint="split names are letters, digits, '_' and '.'")
    group = None
    if group_col is None and "group" in frame.columns:
        # a converted frame's own group column (convert --group-col), or one --group-from-path or --join made:
        # keep groups whole
        group_col, is_raw = "group", False
    if group_col:
        col = "group" if is_raw else group_col
        if col not in frame.columns:
            raise InputError(f"group column {group_col!r} not found", file=source_name(src),
                             hint=f"columns are: {', '.join(map(repr, frame.columns[:12]))}")  # fmt: skip
        group = frame[col].to_numpy(dtype=object)
    result = stratified_split(frame, list(vocab), ratios=sp.ratios, names=sp.names, seed=sp.seed, group=group)
    frame = frame.drop(columns=["split"], errors="ignore")
    frame.insert(1 + len(vocab), "split", result.column().to_numpy(dtype=object))
    frame["split"] = frame["split"].astype("str")
    written: list[Path | str] = []
    if output is not None:
        out = Path(output)
        inputs = [src] if isinstance(src, Path) else []
        frame_output(out, None, inputs)
        meta = {"source": storage.where(source_name(src)), "split": {"ratios": list(sp.ratios),
                "names": list(sp.names), "seed": sp.seed, "group_col": group_col}}  # fmt: skip
        if sp.per_split:
            for name in result.names:
                part = frame[frame["split"] == name].reset_index(drop=True)
                target = out.with_name(f"{out.stem}-{name}{out.suffix}")
                frame_output(target, None, inputs)
                written += write_frame(part, vocab, target, meta=meta)
        else:
            written += write_frame(frame, vocab, out, meta=meta)
    return SplitOutcome(frame, vocab, result, written, notes=notes)


@storage.staged(sources=["source"], outputs={"pos_weight": "file"})
def stats(source: Any, *, source_options: SourceOptions | None = None, stats_options: StatsOptions | None = None,
          **options: Any) -> Stats:  # fmt: skip
    """Label statistics per split: positives, prevalence, pos_weight, cardinality, co-occurrence.

    ``source`` is a converted frame or any source :func:`convert` reads (the options of
    :class:`~labelprep.options.SourceOptions`); ``top_pairs``, ``min_support``, ``min_expected`` and
    ``pos_weight`` are :class:`~labelprep.options.StatsOptions`. With ``pos_weight`` a ``{label: weight}`` JSON
    for the loss is written there (from the ``train`` split, or all images when there is none).

    Example:
        >>> st = labelprep.stats("labels.parquet")  # doctest: +SKIP
        >>> print(st.to_text())  # doctest: +SKIP
    """
    from labelprep.labelstats import compute_stats, pos_weight_json

    o = route("stats", options, {"source": source_options, "stats": stats_options})
    so, sto = o["source"], o["stats"]
    frame, vocab = _frame_of(source, so)
    st = compute_stats(frame, list(vocab), top_pairs=sto.top_pairs, min_support=sto.min_support,
                       min_expected=sto.min_expected)  # fmt: skip
    if sto.pos_weight is not None:
        text = json.dumps(pos_weight_json(st), ensure_ascii=False, indent=2) + "\n"
        atomic_write(Path(sto.pos_weight), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return st


@storage.staged(sources=["old", "new"], roots=["images_root"])
def diff(old: Any, new: Any = None, *, source_options: SourceOptions | None = None,
         diff_options: DiffOptions | None = None, **options: Any) -> Diff:  # fmt: skip
    """What changed between two versions of a dataset (frames or raw sources).

    Images added and removed, relabelled images (before and after), labels added and removed, per-label
    prevalence shifts, and, with ``images_root`` (one folder per version: ``(old_root, new_root)``), images whose
    bytes changed. Images are paired by ``match`` (``auto``: by content with ``images_root``, by file name
    within the label folder for folder forms, else by path; see :func:`labelprep.diff_frames`).
    ``Diff.fails(kinds)`` is the CI gate. With ``rev`` (a git revision such as ``"HEAD"``), ``old`` is taken as it
    was at that commit and ``new`` (default: ``old``) from the working tree; one ``images_root`` inside the
    repository then stands for both versions. The other options are :class:`~labelprep.options.SourceOptions`.

    Example:
        >>> d = labelprep.diff("v1.parquet", "v2.parquet")  # doctest: +SKIP
        >>> d.kinds(), d.fails({"relabel", "new-label"})  # doctest: +SKIP
        >>> labelprep.diff("data/labels.csv", rev="HEAD").fails(["relabel", "removed-image"])  # doctest: +SKIP
    """
    if isinstance(options.get("images_root"), (str, os.PathLike)):
        options["images_root"] = [options["images_root"]]
    o = route("diff", options, {"source": source_options, "diff": diff_options})
    so, do = o["source"], o["diff"]
    roots: list[Path] = []
    if do.images_root:
        items = list(do.images_root)
        if any(storage.is_remote(r) for r in items):
            raise InputError("comparing image bytes needs local images roots", file=str(items[0]),
                             hint="drop --images-root, or copy the images to a local folder")  # fmt: skip
        roots = [Path(r) for r in items]
        if len(roots) not in (1, 2):
            raise InputError("images_root takes one folder, or two: the old version's and the new one's")
    if new is None and do.rev is None:
        raise InputError("diff compares two versions: give NEW, or --rev REV to compare with a git commit")
    if do.rev is None:
        return _diff(old, new, roots * 2 if len(roots) == 1 else roots, do, so)
    return _diff_at_revision(old, new, roots, do, so)


def _diff_at_revision(old: Any, new: Any, roots: list[Path], do: DiffOptions, so: SourceOptions) -> Diff:
    from labelprep.gitrev import NotAtRevision, at_revision

    rev = str(do.rev)
    if isinstance(old, pd.DataFrame):
        raise InputError("--rev takes OLD from a git commit: give its path, not a DataFrame")
    new = old if new is None else new
    shared_root = len(roots) == 1
    try:
        with at_revision([Path(old), *roots[:1]] if shared_root else [Path(old)], rev) as (taken, folder):
            old_roots = [taken[1], roots[0]] if shared_root else roots
            try:
                return _diff(taken[0], new, old_roots, do, so)
            except LabelprepError as exc:  # name the revision, not the temporary copy
                for attr in ("file", "message", "hint"):
                    value = getattr(exc, attr)
                    if isinstance(value, str):
                        setattr(exc, attr, value.replace(str(folder) + os.sep, f"{rev}:"))
                exc.args = (exc.message,)
                raise
    except NotAtRevision as exc:
        # committed for the first time: the earlier version is nothing, so every image is added, nothing relabelled
        empty = (pd.DataFrame({"path": pd.Series([], dtype="str")}), Vocabulary([]))
        d = _diff(empty, new, [], replace(do, match="path"), so)
        d.notes.insert(0, f"{exc.message}: no earlier version, every image counts as added")
        return d


def _diff(old: Any, new: Any, roots: list[Path], do: DiffOptions, so: SourceOptions) -> Diff:
    from labelprep.compare import diff_frames

    of, ov = old if isinstance(old, tuple) else _frame_of(old, so)
    nf, nv = _frame_of(new, so)
    d = diff_frames(of, list(ov), nf, list(nv), old_root=roots[0] if roots else None,
                    new_root=roots[1] if roots else None, prevalence_threshold=do.prevalence_threshold,
                    match=do.match)  # fmt: skip
    d.new_file = storage.where(source_name(new))
    return d
