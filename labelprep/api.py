"""The verbs. Each CLI command is a thin wrapper over one function here, with the same option names."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from labelprep import storage
from labelprep.atomic import atomic_write
from labelprep.encoding import Summary, encode
from labelprep.errors import InputError, LabelprepError, VocabularyError
from labelprep.frameio import (
    FORMAT_ATTR,
    FRAME_SUFFIXES,
    IMAGES_ROOT_ATTR,
    frame_images_root,
    is_frame,
    read_frame,
    write_frame,
)
from labelprep.multihot import align_labels
from labelprep.readers import ReadOptions
from labelprep.readers.base import LedgerEntry
from labelprep.readers.layout import named_sources
from labelprep.readers.refine import read_refined, source_name
from labelprep.report import Finding, Report
from labelprep.safeio import read_regular_file
from labelprep.schemas import check_frame
from labelprep.shards.manifest import Manifest
from labelprep.shards.upload import EXPORT_FOLDER
from labelprep.vocabulary import Vocabulary, parse_label_map, vocabulary_label_map

if TYPE_CHECKING:
    from labelprep.diff import Diff
    from labelprep.split import SplitResult
    from labelprep.stats import Stats

__all__ = ["Conversion", "SplitOutcome", "convert", "convert_splits", "diff", "export", "load_frame", "load_label_map", "split", "stats", "validate", "verify"]


@dataclass
class Conversion:
    """What :func:`convert` produced: the frame, its vocabulary, and an account of the conversion."""

    frame: pd.DataFrame
    vocabulary: Vocabulary
    format: str
    summary: Summary
    ledger: list[LedgerEntry]
    notes: list[str]
    images_root: Path | str  # a remote URL root stays a string
    written: list[Path | str] = field(default_factory=list)  # URLs for outputs on remote storage


def load_label_map(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read an id -> name map: a JSON object (or list, by index), or a two-column CSV with or without header.

    A header line, when there is one, simply maps its two column names to each
    other, which is harmless, so no guessing is needed.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("label map file not found", file=str(p))
    try:
        text = read_regular_file(p, what="the label map").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("label map is not UTF-8", file=str(p)) from None
    return parse_label_map(text, source=str(p), json_text=True if p.suffix.lower() == ".json" else None)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _local_root(images_root: str | os.PathLike[str] | None) -> str | None:
    """A local images root as readers take it (they look for the listed images under it); None for a URL."""
    if images_root is None or storage.is_url(str(images_root)):
        return None
    return os.path.abspath(images_root)


def _checked_root(images_root: str | os.PathLike[str]) -> Path | str:
    """An images root given by the user: a folder here, or a folder (prefix) at a remote URL."""
    root = storage.to_root(images_root)
    if not (storage.isdir(root) if isinstance(root, str) else root.is_dir()):
        raise InputError("images root is not a folder", file=str(root), hint="check --images-root")
    return root


def _refuse_overwriting_inputs(
    *, outputs: Sequence[str | os.PathLike[str]], inputs: Sequence[str | os.PathLike[str]]
) -> None:
    """Outputs never replace an input file, nor each other."""
    outs = [Path(o) for o in outputs]
    for o in outs:
        for i in inputs:
            ip = Path(i)
            if _same_file(o, ip) or o.resolve() == ip.resolve():
                raise InputError("this output would overwrite an input file", file=str(o),
                                 hint=f"{ip} is read by this conversion; choose another output path")  # fmt: skip
    resolved = [o.resolve() for o in outs]
    if len(set(resolved)) != len(resolved):
        raise InputError("two outputs name the same file", file=str(outs[0]), hint="give --ledger its own path")


def _frame_output(output: str | os.PathLike[str] | None, ledger: str | os.PathLike[str] | None,
                  inputs: Sequence[Any]) -> Path | None:  # fmt: skip
    """The checked output frame path (.parquet or .csv): it, its vocabulary and the ledger overwrite no input.

    ``inputs`` may hold None and non-path values (a Vocabulary passed as ``vocab``), which are left out.
    """
    out = Path(output) if output is not None else None
    if out is not None and out.suffix.lower() not in FRAME_SUFFIXES:
        raise InputError(f"output must end in .parquet or .csv, not {out.suffix or 'nothing'!r}", file=str(out))
    _refuse_overwriting_inputs(
        outputs=[p for p in (out, out.with_suffix(".vocab.json") if out else None, ledger) if p is not None],
        inputs=[p for p in inputs if isinstance(p, (str, os.PathLike))],
    )
    return out


@storage.staged(sources=["source"], outputs={"output": "file", "ledger": "file"}, roots=["images_root"])
def convert(
    source: str | os.PathLike[str] | pd.DataFrame,
    output: str | os.PathLike[str] | None = None,
    *,
    format: str | None = None,
    path_col: str | None = None,
    labels_col: str | None = None,
    sep: str | None = None,
    label_cols: Sequence[str] | None = None,
    confidence_col: str | None = None,
    uncertain: str | None = None,
    images_root: str | os.PathLike[str] | None = None,
    path_template: str | None = None,
    path_prefix: str | None = None,
    find_images: bool = False,
    none_label: Sequence[str] = (),
    label_map: str | os.PathLike[str] | None = None,
    vocab: str | os.PathLike[str] | Vocabulary | None = None,
    unknown: str = "error",
    min_count: int | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    keep_cols: Sequence[str] = (),
    exclude: Sequence[str] = (),
    group_from_path: str | None = None,
    split_from_path: str | None = None,
    join: str | os.PathLike[str] | None = None,
    on: str | None = None,
    encoding: str = "utf-8",
    on_conflict: str = "error",
    ledger: str | os.PathLike[str] | None = None,
    sparse_threshold: int | None = None,
    engine: str | Any = "local",
    scheduler: str | None = None,
) -> Conversion:
    """Convert an annotation source into the canonical multi-hot frame.

    ``source`` is a file (CSV/TSV, JSON, JSON Lines), a folder (one folder per
    label, or images with sidecar tag files), or a pandas DataFrame laid out as
    a table source (delimited, wide or long; messages name it ``<DataFrame>``
    with 1-based row numbers; image paths are relative to ``images_root``,
    default the current folder). The form is detected unless ``format`` is
    given. ``exclude`` (glob patterns) leaves rows and folders out, by path;
    ``group_from_path`` / ``split_from_path`` take the group / split from each
    path (a regular expression's first capture group); ``join`` brings in the
    columns of a second CSV keyed by image id (its column ``on``) for
    ``split_col``, ``group_col`` and ``keep_cols``. With ``output`` (``.parquet`` or ``.csv``) the frame is
    written atomically with its vocabulary beside it (``<out>.vocab.json``).
    Nothing is dropped silently: the returned ``ledger`` lists every input row
    left out or merged, with its file, line and reason. Above ``sparse_threshold``
    labels (default 2,000) the label columns are ``Sparse[int8, 0]``; 0 makes
    every frame sparse. ``engine="dask"`` (or a ``distributed.Client``) reads the
    blocks of a large table as Dask tasks and has pandera validate the frame as a
    Dask DataFrame on the cluster, as :func:`validate` describes; same frame.

    Example:
        >>> import labelprep
        >>> conv = labelprep.convert("examples/multilabel/labels.csv")  # doctest: +SKIP
        >>> conv.frame.columns[:3].tolist()  # doctest: +SKIP
        ['path', 'cat', 'dog']
    """
    # a split name given to one source (train=a.csv) names nothing here
    src = source if isinstance(source, pd.DataFrame) else named_sources(source)[0][0]
    src_name = source_name(src)
    if uncertain not in (None, "keep", "zero", "one"):
        raise InputError(f"uncertain must be keep, zero or one, not {uncertain!r}")
    if unknown not in ("error", "drop"):
        raise InputError(f"unknown must be error or drop, not {unknown!r}")
    if on_conflict not in ("error", "separate"):
        raise InputError(f"on_conflict must be error or separate, not {on_conflict!r}")
    if min_count is not None and min_count < 1:
        raise InputError(f"min_count must be at least 1, not {min_count}")
    if sparse_threshold is not None and sparse_threshold < 0:
        raise InputError(f"sparse_threshold must be 0 or more, not {sparse_threshold}")
    from labelprep.executor import check_engine, open_engine

    check_engine(engine, scheduler)
    out = _frame_output(output, ledger, inputs=[src, label_map, vocab])
    vocab_map = None
    if isinstance(vocab, (str, os.PathLike)):
        vocab_obj: Vocabulary | None = Vocabulary.read(Path(vocab))
        vocab_src = str(vocab)
        vocab_map = vocabulary_label_map(Path(vocab)) if label_map is None else None
    else:
        vocab_obj, vocab_src = vocab, None
    lmap = load_label_map(label_map) if label_map is not None else None
    known = set(lmap) if lmap is not None else set(vocab_obj) if vocab_obj is not None else None
    opts = ReadOptions(
        path_col=path_col, labels_col=labels_col, sep=sep, label_cols=list(label_cols) if label_cols else None,
        confidence_col=confidence_col, uncertain=uncertain, split_col=split_col, group_col=group_col,
        keep_cols=list(keep_cols), encoding=encoding, folder_conflicts=on_conflict, path_prefix=path_prefix,
        images_root=_local_root(images_root), known_labels=frozenset(known) if known is not None else None,
        path_template=path_template, find_images=find_images, exclude=list(exclude),
        group_from_path=group_from_path, split_from_path=split_from_path, join=str(join) if join else None, on=on,
    )  # fmt: skip
    with open_engine(engine, scheduler) as eng:
        ann = read_refined(src, format=format, options=opts, none_labels=none_label, engine=eng)
        root: Path | str
        if images_root is not None:
            root = _checked_root(images_root)
        elif ann.images_root is not None:
            root = Path(ann.images_root)
        elif isinstance(src, pd.DataFrame):
            root = Path.cwd()  # an in-memory table: paths are relative to where the user works
        else:
            root = storage.default_root(src)  # a source fetched from a URL: that URL's folder
        if find_images and storage.is_remote(root):
            raise InputError("--find-images needs a local images root", file=str(root),
                             hint="list each image's path relative to the images root instead")  # fmt: skip
        own = Path(ann.images_root) if ann.images_root else src if isinstance(src, Path) else None
        if ann.raw_path_is_final and images_root is not None and own is not None:
            # folder forms list paths relative to their own folder; re-express them under the given root
            rel = storage.source_rel(own, root)
            if rel != ".":
                ann.paths = pd.Series(ann.paths, dtype=object).map(lambda p: f"{rel}/{p}").to_numpy(dtype=object)
        try:
            enc = encode(
                ann, images_root=root, vocab=vocab_obj, unknown=unknown, none_labels=none_label, label_map=lmap,
                label_map_source=str(label_map) if label_map else None, min_count=min_count,
                path_template=path_template or ann.default_template, find_images=find_images,
                sparse_threshold=sparse_threshold, vocab_map=vocab_map,
            )  # fmt: skip
        except VocabularyError as exc:
            if vocab_src and exc.hint and "did you mean" not in exc.hint:
                exc.hint = f"{exc.hint}; the vocabulary is {vocab_src}"
            raise
        if len(enc.frame) == 0:
            why = "; ".join(f"{n} {reason}" for reason, n in sorted(enc.summary.dropped.items())) or "none listed"
            raise InputError(f"no image is left to write: {enc.summary.rows_read} row(s) read, left out: {why}",
                             file=src_name, hint="an empty frame is not a dataset; see --ledger for each row")  # fmt: skip
        check_frame(enc.frame, enc.vocabulary, unknown=uncertain in (None, "keep") and enc.summary.uncertain > 0,
                    source=src_name,
                    engine=eng)
    conv = Conversion(enc.frame, enc.vocabulary, ann.format, enc.summary, enc.ledger, enc.notes, root)
    if out is not None:
        # the images root relative to the frame's folder, so the pair can move together
        meta = {"source": storage.where(src_name), "format": ann.format,
                "images_root": storage.relative_root(root, out)}  # fmt: skip
        conv.written = [*write_frame(enc.frame, enc.vocabulary, out, meta=meta)]
    if ledger is not None:
        write_ledger(conv.ledger, ledger)
        conv.written.append(Path(ledger))
    return conv


def convert_splits(
    sources: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str] | None = None,
    *,
    ledger: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Conversion:
    """Several sources as the splits of one frame: each is converted with the same options, its split named
    as :func:`validate` and :func:`export` name it (file stem, or folder when file names repeat:
    ``train/_classes.csv valid/_classes.csv`` are ``train`` and ``valid``).

    Paths become relative to the sources' common images root, the vocabulary is the union (in the
    order the sources give it) and the frame gets a ``split`` column. ``labelprep convert A B C -o out``.

    Example:
        >>> conv = labelprep.convert_splits(["train/_classes.csv", "valid/_classes.csv"], "all.parquet")  # doctest: +SKIP
        >>> conv.frame["split"].value_counts()  # doctest: +SKIP
    """
    from labelprep.checks.pipeline import source_split_names

    srcs, given = named_sources(sources)
    if len(srcs) < 2:
        raise InputError("convert_splits takes two or more sources", hint="convert one source with convert()")
    if options.get("split_col"):
        raise InputError("with several sources each source is a split: leave out --split-col",
                         hint="or convert each source on its own")  # fmt: skip
    names = source_split_names(srcs, given)
    for name, src in zip(names, srcs, strict=True):
        if names.count(name) > 1:
            raise InputError(f"two sources give the split {name!r}", file=source_name(src), hint="rename one source")
    out = _frame_output(output, ledger, inputs=[*srcs, options.get("label_map"), options.get("vocab")])
    convs = [convert(src, **options) for src in srcs]
    if any(storage.is_url(str(c.images_root)) for c in convs):
        raise InputError("several sources as splits need local images roots", file=source_name(srcs[0]),
                         hint="convert each source on its own")  # fmt: skip
    roots = [os.path.abspath(c.images_root) for c in convs]
    common = Path(os.path.commonpath(roots))
    labels = list(dict.fromkeys(label for c in convs for label in c.vocabulary))
    vocab = convs[0].vocabulary if all(c.vocabulary == convs[0].vocabulary for c in convs) else Vocabulary(labels)
    frames = []
    for c, name, root, src in zip(convs, names, roots, srcs, strict=True):
        if "split" in c.frame.columns:
            raise InputError("this source has splits of its own (a split level of folders)", file=source_name(src),
                             hint="convert it on its own; several sources are each one split")  # fmt: skip
        rel = Path(os.path.relpath(root, common)).as_posix()
        frame = align_labels(c.frame, labels)
        if rel != ".":
            frame["path"] = (rel + "/" + c.frame["path"].astype(str)).to_numpy(dtype=object)
        frame["split"] = name
        for col in c.frame.columns[1 + len(c.vocabulary) :]:
            frame[col] = c.frame[col].to_numpy(dtype=object)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    summary = Summary(labels=len(labels))
    for c in convs:
        for key in ("rows_read", "images", "empty_label_sets", "merged_duplicates", "uncertain", "folded"):
            setattr(summary, key, getattr(summary, key) + getattr(c.summary, key))
        summary.dropped.update(c.summary.dropped)
    summary.unused = [x for x in labels if all(x in c.summary.unused or x not in c.vocabulary for c in convs)]
    notes = [f"{len(srcs)} sources as the splits {', '.join(names)}; images root {common}"]
    notes += [f"{name}: {note}" for c, name in zip(convs, names, strict=True) for note in c.notes]
    check_frame(frame, vocab, unknown=summary.uncertain > 0, source=", ".join(map(source_name, srcs)))
    conv = Conversion(frame, vocab, convs[0].format, summary, [e for c in convs for e in c.ledger], notes, common)
    if out is not None:
        meta = {"source": [storage.where(source_name(s)) for s in srcs], "format": conv.format,
                "images_root": storage.relative_root(common, out)}  # fmt: skip
        conv.written = [*write_frame(frame, vocab, out, meta=meta)]
    if ledger is not None:
        write_ledger(conv.ledger, ledger)
        conv.written.append(Path(ledger))
    return conv


def write_ledger(entries: Sequence[LedgerEntry], path: str | os.PathLike[str]) -> None:
    """Write every dropped or merged input row as CSV: file, line, path, reason, detail."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["file", "line", "path", "reason", "detail"])
            for e in entries:
                w.writerow([storage.where(e.file), "" if e.line is None else e.line, e.path, e.reason, e.detail])

    atomic_write(Path(path), write)


NOTES_ATTR = "labelprep_notes"  # frame.attrs key: the notes of the conversion load_frame made (raw sources)


@storage.staged(sources=["source"])
def load_frame(
    source: str | os.PathLike[str] | pd.DataFrame, *, vocab: str | os.PathLike[str] | Vocabulary | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, Vocabulary]:
    """A frame and its vocabulary from a converted frame, or from any source :func:`convert` reads.

    ``options`` are :func:`convert`'s source options (``format``, ``path_col`` ...).
    """
    src = source if isinstance(source, pd.DataFrame) else Path(source)
    if isinstance(src, Path) and is_frame(src):
        v = Vocabulary.read(Path(vocab)) if isinstance(vocab, (str, os.PathLike)) else vocab
        return read_frame(src, vocab=v)
    conv = convert(src, vocab=vocab, **options)
    conv.frame.attrs[IMAGES_ROOT_ATTR] = str(conv.images_root)  # write_frame keeps it (relative to its output)
    conv.frame.attrs[FORMAT_ATTR] = conv.format
    conv.frame.attrs[NOTES_ATTR] = list(conv.notes)  # what the conversion decided, for the caller to show
    return conv.frame, conv.vocabulary


@storage.staged(sources=["source"], outputs={"output": "file"})
def split(
    source: str | os.PathLike[str] | pd.DataFrame,
    output: str | os.PathLike[str] | None = None,
    *,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    names: Sequence[str] = ("train", "val", "test"),
    seed: int = 0,
    group_col: str | None = None,
    per_split: bool = False,
    overwrite: bool = False,
    **options: Any,
) -> SplitOutcome:
    """Split a dataset: multi-label iterative stratification that keeps each group in one split.

    ``source`` is a converted frame or any source :func:`convert` reads (same
    options). ``group_col`` names the column whose value (patient, study, user)
    must not span splits. Each label with at least as many groups as splits
    lands in every split, or is listed in ``result.unplaced`` with the reason.
    With ``output`` the frame is written with a ``split`` column (or, with
    ``per_split``, one file per split: ``<stem>-<name><suffix>``). An existing
    ``split`` column is refused unless ``overwrite``.

    Example:
        >>> out = labelprep.split("labels.csv", "split.parquet", group_col="patient", seed=0)  # doctest: +SKIP
        >>> print(out.result.to_text())  # doctest: +SKIP
    """
    from labelprep.split import stratified_split

    src = source if isinstance(source, pd.DataFrame) else Path(source)
    is_raw = not (isinstance(src, Path) and is_frame(src))
    frame, vocab = load_frame(src, **({"group_col": group_col} if is_raw and group_col else {}), **options)
    notes = list(frame.attrs.get(NOTES_ATTR, []))
    if "split" in frame.columns and not overwrite:
        raise InputError("the frame already has a 'split' column", file=source_name(src),
                         hint="pass --overwrite to replace it")  # fmt: skip
    from labelprep.shards.spec import check_part_name

    for name in names:  # the names export will put in shard file names
        bad = check_part_name("split", name)
        if bad:
            raise InputError(bad, hint="split names are letters, digits, '_' and '.'")
    group = None
    if group_col is None and "group" in frame.columns:
        # a converted frame's own group column (convert --group-col), or one --group-from-path or --join made:
        # keep groups whole
        group_col = "group"
        is_raw = False
    if group_col:
        col = "group" if is_raw else group_col
        if col not in frame.columns:
            raise InputError(f"group column {group_col!r} not found", file=source_name(src),
                             hint=f"columns are: {', '.join(map(repr, frame.columns[:12]))}")  # fmt: skip
        group = frame[col].to_numpy(dtype=object)
    result = stratified_split(frame, list(vocab), ratios=ratios, names=names, seed=seed, group=group)
    frame = frame.drop(columns=["split"], errors="ignore")
    frame.insert(1 + len(vocab), "split", result.column().to_numpy(dtype=object))
    frame["split"] = frame["split"].astype("str")
    written: list[Path | str] = []
    if output is not None:
        out = Path(output)
        if out.suffix.lower() not in FRAME_SUFFIXES:
            raise InputError(f"output must end in .parquet or .csv, not {out.suffix or 'nothing'!r}", file=str(out))
        inputs = [src] if isinstance(src, Path) else []
        _refuse_overwriting_inputs(outputs=[out], inputs=inputs)
        meta = {"source": storage.where(source_name(src)), "split": {"ratios": list(ratios), "names": list(names), "seed": seed,
                                              "group_col": group_col}}  # fmt: skip
        if per_split:
            for name in result.names:
                part = frame[frame["split"] == name].reset_index(drop=True)
                target = out.with_name(f"{out.stem}-{name}{out.suffix}")
                _refuse_overwriting_inputs(outputs=[target], inputs=inputs)
                written += write_frame(part, vocab, target, meta=meta)
        else:
            written += write_frame(frame, vocab, out, meta=meta)
    return SplitOutcome(frame, vocab, result, written, notes=notes)


@dataclass
class SplitOutcome:
    """The frame with its new ``split`` column, the split's balance, and the files written."""

    frame: pd.DataFrame
    vocabulary: Vocabulary
    result: SplitResult
    written: list[Path | str] = field(default_factory=list)  # URLs for outputs on remote storage
    notes: list[str] = field(default_factory=list)  # what converting a raw source decided (format, columns ...)


@storage.staged(sources=["source"], outputs={"pos_weight": "file"})
def stats(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    top_pairs: int = 20,
    min_support: float = 0.01,
    min_expected: float = 5.0,
    pos_weight: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Stats:
    """Label statistics per split: positives, prevalence, pos_weight, cardinality, co-occurrence.

    ``source`` is a converted frame or any source :func:`convert` reads (same
    options). With ``pos_weight`` a ``{label: weight}`` JSON for the loss is
    written there (from the ``train`` split, or all images when there is none).

    Example:
        >>> st = labelprep.stats("labels.parquet")  # doctest: +SKIP
        >>> print(st.to_text())  # doctest: +SKIP
    """
    from labelprep.stats import compute_stats, pos_weight_json

    frame, vocab = load_frame(source, **options)
    st = compute_stats(frame, list(vocab), top_pairs=top_pairs, min_support=min_support, min_expected=min_expected)
    if pos_weight is not None:
        text = json.dumps(pos_weight_json(st), ensure_ascii=False, indent=2) + "\n"
        atomic_write(Path(pos_weight), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return st


@storage.staged(sources=["old", "new"], roots=["images_root"])
def diff(
    old: str | os.PathLike[str] | pd.DataFrame,
    new: str | os.PathLike[str] | pd.DataFrame | None = None,
    *,
    rev: str | None = None,
    images_root: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    prevalence_threshold: float = 0.05,
    match: str = "auto",
    **options: Any,
) -> Diff:
    """What changed between two versions of a dataset (frames or raw sources).

    Images added and removed, relabelled images (before and after), labels added
    and removed, per-label prevalence shifts, and, with ``images_root`` (one
    folder per version: ``(old_root, new_root)``), images whose bytes changed.
    Images are paired by ``match`` (``auto``: by content with ``images_root``,
    by file name within the label folder for folder forms, else by path; see
    :func:`labelprep.diff_frames`). ``Diff.fails(kinds)`` is the CI gate.
    With ``rev`` (a git revision such as ``"HEAD"``), ``old`` is taken as it
    was at that commit and ``new`` (default: ``old``) from the working tree; one
    ``images_root`` inside the repository then stands for both versions.

    Example:
        >>> d = labelprep.diff("v1.parquet", "v2.parquet")  # doctest: +SKIP
        >>> d.kinds(), d.fails({"relabel", "new-label"})  # doctest: +SKIP
        >>> labelprep.diff("data/labels.csv", rev="HEAD").fails(["relabel", "removed-image"])  # doctest: +SKIP
    """

    roots: list[Path] = []
    if images_root is not None:
        items = [images_root] if isinstance(images_root, (str, os.PathLike)) else list(images_root)
        if any(storage.is_remote(r) for r in items):
            raise InputError("comparing image bytes needs local images roots", file=str(items[0]),
                             hint="drop --images-root, or copy the images to a local folder")  # fmt: skip
        roots = [Path(r) for r in items]
        if len(roots) not in (1, 2):
            raise InputError("images_root takes one folder, or two: the old version's and the new one's")
    if new is None and rev is None:
        raise InputError("diff compares two versions: give NEW, or --rev REV to compare with a git commit")
    if rev is None:
        return _diff(old, new, roots * 2 if len(roots) == 1 else roots, prevalence_threshold, match, options)
    from labelprep.gitrev import NotAtRevision, at_revision

    if isinstance(old, pd.DataFrame):
        raise InputError("--rev takes OLD from a git commit: give its path, not a DataFrame")
    new = old if new is None else new
    shared_root = len(roots) == 1
    try:
        with at_revision([Path(old), *roots[:1]] if shared_root else [Path(old)], rev) as (taken, folder):
            old_roots = [taken[1], roots[0]] if shared_root else roots
            try:
                return _diff(taken[0], new, old_roots, prevalence_threshold, match, options)
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
        d = _diff(empty, new, [], prevalence_threshold, "path", options)
        d.notes.insert(0, f"{exc.message}: no earlier version, every image counts as added")
        return d


def _diff(old: Any, new: Any, roots: list[Path], prevalence_threshold: float, match: str,
          options: dict[str, Any]) -> Diff:  # fmt: skip
    from labelprep.diff import diff_frames

    of, ov = old if isinstance(old, tuple) else load_frame(old, **options)
    nf, nv = load_frame(new, **options)
    d = diff_frames(of, list(ov), nf, list(nv), old_root=roots[0] if roots else None,
                    new_root=roots[1] if roots else None, prevalence_threshold=prevalence_threshold,
                    match=match)  # fmt: skip
    d.new_file = storage.where(source_name(new))
    return d


def _parse_size(value: str | Sequence[int] | None, where: str | None = None) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace("x", ",").split(",")
        try:
            nums = [int(p) for p in parts if p.strip()]
        except ValueError:
            raise InputError(f"min size must look like 64 or 64x48, not {value!r}", file=where) from None
    else:
        nums = [int(v) for v in value]
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or min(nums) < 1:
        raise InputError(f"min size must look like 64 or 64x48, not {value!r}", file=where)
    return nums[0], nums[1]


@storage.staged(sources=["sources"], outputs={"quarantine": "file"}, roots=["images_root"])
def validate(
    sources: str | os.PathLike[str] | pd.DataFrame | Sequence[str | os.PathLike[str] | pd.DataFrame],
    *,
    format: str | None = None,
    path_col: str | None = None,
    labels_col: str | None = None,
    sep: str | None = None,
    label_cols: Sequence[str] | None = None,
    confidence_col: str | None = None,
    uncertain: str | None = None,
    images_root: str | os.PathLike[str] | None = None,
    path_template: str | None = None,
    path_prefix: str | None = None,
    find_images: bool = False,
    none_label: Sequence[str] | None = None,
    label_map: str | os.PathLike[str] | None = None,
    vocab: str | os.PathLike[str] | Vocabulary | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    exclude: Sequence[str] = (),
    group_from_path: str | None = None,
    split_from_path: str | None = None,
    join: str | os.PathLike[str] | None = None,
    on: str | None = None,
    encoding: str = "utf-8",
    on_conflict: str = "separate",
    check_images: str | None = None,
    workers: int | None = None,
    engine: str | Any = "local",
    scheduler: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    strict: bool | None = None,
    no_empty: bool | None = None,
    min_positives: int | None = None,
    min_size: str | Sequence[int] | None = None,
    max_pixels: int | None = None,
    severity: Mapping[str, str] | None = None,
    quarantine: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
    near_duplicates: bool | None = None,
    quality: bool | None = None,
    thresholds: Mapping[str, float] | None = None,
    rules: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    predictions: str | os.PathLike[str] | None = None,
    top_issues: int = 100,
    progress: bool = False,
) -> Report:
    """Check one or more splits before training; return a :class:`Report` (never raises for data problems).

    Each SOURCE is a converted frame (``.parquet``, or ``.csv`` with its
    ``.vocab.json``) or any raw source :func:`convert` reads, with the same
    options. Several sources are splits named by file stem (or by a ``split``
    column); the split named ``train``, or else the first, is the training split.
    Settings left as None come from ``[tool.labelprep]`` in the dataset's
    ``pyproject.toml`` or a ``labelprep.toml`` (nearest the first source), then
    from the defaults. ``report.raise_for_errors()`` raises when it is not ok.
    ``engine="dask"`` runs the image checks as Dask tasks on ``scheduler``
    (``tcp://host:8786``; default: ``DASK_SCHEDULER_ADDRESS``, else a
    ``LocalCluster`` of ``workers`` processes, closed afterwards); ``engine``
    may also be a ``distributed.Client``. Same findings as the local engine.
    ``near_duplicates=True`` reports near-copies (re-encoded, resized, slightly
    cropped, flipped or rotated) within a split and across splits;
    ``quality=True`` reports dark, overexposed, blurred, flat, grayscale, oddly
    shaped and oddly sized images. Both decode every image: with
    ``check_images="full"`` in its one decode, else a JPEG straight to a reduced
    copy, which is faster; ``thresholds`` overrides their
    limits by name (``{"dark": 40, "near-duplicate": 20}``), over
    ``[tool.labelprep.thresholds]``. ``rules`` (a TOML file, or a table as
    ``[tool.labelprep.rules]`` holds) declares mutually exclusive groups,
    implications and hierarchies, and minimum counts; rows that break them
    are findings (see :mod:`labelprep.checks.rules`). ``predictions`` (a CSV
    or Parquet table: ``path``, then one column of out-of-fold probabilities
    per label) ranks the cells likely labelled wrong with cleanlab
    (``pip install "labelprep[quality]"``) and reports the ``top_issues``.

    Example:
        >>> import labelprep
        >>> report = labelprep.validate(["train.parquet", "val.parquet"])  # doctest: +SKIP
        >>> report.ok, report.summary()["by_code"]  # doctest: +SKIP
    """
    from labelprep.checks.content import Thresholds
    from labelprep.checks.pipeline import ValidateSettings, check_severity, load_config, run_validation
    from labelprep.checks.rules import load_rules
    from labelprep.executor import check_engine, open_engine

    srcs, given = _sources(sources)
    if not srcs:
        raise InputError("no source to validate", hint="pass one or more annotation files, folders or frames")
    check_engine(engine, scheduler)
    cfg, cfg_file = load_config(srcs[0], Path(config) if config is not None else None)
    where = str(cfg_file) if cfg_file else None

    def pick(value: Any, key: str, default: Any) -> Any:
        return value if value is not None else cfg.get(key, default)

    level = pick(check_images, "check-images", "header")
    if level not in ("none", "header", "full"):
        raise InputError(f"check_images must be none, header or full, not {level!r}", file=where)
    want_dups, want_quality = bool(pick(near_duplicates, "near-duplicates", False)), bool(pick(quality, "quality", False))
    if (want_dups or want_quality) and level == "none":
        raise InputError("near-duplicate and quality checks decode the images, which check_images='none' skips",
                         file=where, hint="use check_images='header' (the default) or 'full'")  # fmt: skip
    limits = Thresholds.from_mapping(cfg.get("thresholds") or {}, where)
    if thresholds:
        overrides = {str(k).replace("_", "-"): v for k, v in thresholds.items()}
        limits = Thresholds.from_mapping({**(cfg.get("thresholds") or {}), **overrides})
    sev: dict[str, str] = {str(k): str(v) for k, v in (cfg.get("severity") or {}).items()}
    for code, lvl in (severity or {}).items():
        check_severity(code, lvl)
        sev[code] = lvl
    vocab_arg = pick(vocab, "vocab", None)
    if isinstance(vocab_arg, (str, os.PathLike)):
        vocab_obj: Vocabulary | None = Vocabulary.read(Path(vocab_arg))
    else:
        vocab_obj = vocab_arg
    root_arg = pick(images_root, "images-root", None)
    root_obj = _checked_root(root_arg) if root_arg is not None else None
    cache_arg = pick(cache, "cache", None)
    n_workers = pick(workers, "workers", None)
    if n_workers is not None and int(n_workers) < 1:
        raise InputError(f"workers must be at least 1, not {n_workers}", file=where)
    st = ValidateSettings(
        read=ReadOptions(path_col=path_col, labels_col=labels_col, sep=sep,
                         label_cols=list(label_cols) if label_cols else None, confidence_col=confidence_col,
                         uncertain=uncertain, split_col=split_col, group_col=group_col, encoding=encoding,
                         folder_conflicts=on_conflict, path_prefix=path_prefix, path_template=path_template,
                         find_images=find_images, images_root=_local_root(root_arg), exclude=list(exclude),
                         group_from_path=group_from_path, split_from_path=split_from_path,
                         join=str(join) if join else None, on=on),
        format=format,
        images_root=root_obj,
        path_template=path_template,
        find_images=find_images,
        none_label=list(pick(none_label or None, "none-label", ())),
        label_map=load_label_map(label_map) if label_map is not None else None,
        vocab_map=vocabulary_label_map(Path(vocab_arg)) if isinstance(vocab_arg, (str, os.PathLike)) else None,
        vocab=vocab_obj,
        check_images=level,
        workers=int(n_workers) if n_workers is not None else None,
        cache=Path(cache_arg) if cache_arg is not None else None,
        strict=bool(pick(strict, "strict", False)),
        no_empty=bool(pick(no_empty, "no-empty", False)),
        min_positives=pick(min_positives, "min-positives", None),
        min_size=_parse_size(pick(min_size, "min-size", None), where),
        max_pixels=pick(max_pixels, "max-pixels", None),
        severity=sev,
        quarantine=Path(quarantine) if quarantine is not None else None,
        progress=progress,
        near_duplicates=want_dups,
        quality=want_quality,
        thresholds=limits,
    )  # fmt: skip
    label_names = st.label_map
    if top_issues < 0:
        raise InputError(f"top_issues must be 0 or more, not {top_issues}")
    if predictions is not None:
        st.predictions, st.top_issues = Path(predictions), int(top_issues)
        if not st.predictions.is_file():
            raise InputError("predictions file not found", file=str(st.predictions))
    if rules is not None:
        st.rules = load_rules(rules if isinstance(rules, Mapping) else Path(rules), label_map=label_names)
    elif cfg.get("rules") is not None:
        raw = cfg["rules"]
        st.rules = load_rules(raw if isinstance(raw, Mapping) else Path(raw), base=Path(cfg["rules-base"]),
                              where=cfg["rules-file"], label_map=label_names)  # fmt: skip
    with open_engine(engine, scheduler, workers=st.workers) as st.engine:
        return run_validation(srcs, st, given)


def _sources(sources: Any) -> tuple[list[Path | pd.DataFrame], list[str | None]]:
    """One source or several, as paths (that exist) or DataFrames, and the split each was named
    (``train=a.json``) or None."""
    srcs, given = named_sources(sources)
    for s in srcs:
        if isinstance(s, Path) and not s.exists():
            raise InputError("no such file or folder", file=str(s))
    return srcs, given


def _skippable(f: Finding) -> bool:
    from labelprep.report import CHECKS

    return f.path is not None and (CHECKS.get(f.code, ("", "", ""))[1] in ("files", "images") or f.code == "leaked-image")


def _content_sha256(frames: Sequence[pd.DataFrame], splits: Sequence[str], labels: list[str]) -> str:
    """What the export is made of, hashed: the labels, then per row its path, split, 1 and -1 label indices.

    The same whether the label columns are dense or sparse, and linear in the rows and positives
    (not in rows x labels).
    """
    from labelprep.shards.export import frame_label_indices

    h = hashlib.sha256(("\t".join(labels) + "\n").encode("utf-8"))
    for frame, split in zip(frames, splits, strict=True):
        pos, unk = frame_label_indices(frame, labels)
        paths = frame["path"].astype(str).tolist()
        for start in range(0, len(paths), 65536):
            stop = start + 65536
            h.update("".join(f"{p}\t{split}\t{a}\t{b}\n" for p, a, b in
                             zip(paths[start:stop], pos[start:stop], unk[start:stop])).encode("utf-8"))  # fmt: skip
    return h.hexdigest()


@storage.staged(sources=["sources"], outputs={"out_dir": EXPORT_FOLDER}, roots=["images_root"])
def export(
    sources: str | os.PathLike[str] | pd.DataFrame | Sequence[str | os.PathLike[str] | pd.DataFrame],
    out_dir: str | os.PathLike[str],
    *,
    format: str | None = None,
    path_col: str | None = None,
    labels_col: str | None = None,
    sep: str | None = None,
    label_cols: Sequence[str] | None = None,
    confidence_col: str | None = None,
    uncertain: str | None = None,
    images_root: str | os.PathLike[str] | None = None,
    path_template: str | None = None,
    path_prefix: str | None = None,
    find_images: bool = False,
    none_label: Sequence[str] | None = None,
    label_map: str | os.PathLike[str] | None = None,
    vocab: str | os.PathLike[str] | Vocabulary | None = None,
    split_col: str | None = None,
    group_col: str | None = None,
    exclude: Sequence[str] = (),
    group_from_path: str | None = None,
    split_from_path: str | None = None,
    join: str | os.PathLike[str] | None = None,
    on: str | None = None,
    encoding: str = "utf-8",
    on_conflict: str = "error",
    name: str | None = None,
    shard_size: str | int | None = None,
    num_shards: int | None = None,
    seed: int = 0,
    resize: str | int | tuple[int, int] | None = None,
    quality: int = 95,
    skip_invalid: bool = False,
    check_images: str | None = None,
    workers: int | None = None,
    engine: str | Any = "local",
    scheduler: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    severity: Mapping[str, str] | None = None,
    config: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
) -> Manifest:
    """Validate, then write TFRecord shards and ``manifest.json`` into ``out_dir``; return the :class:`Manifest`.

    ``sources`` are what :func:`validate` takes (converted frames or raw
    sources, with the same options); splits come from a ``split`` column or from
    several sources (named by file stem); one source without splits exports as
    ``train``. Any error finding refuses the export (:class:`ExportRefused`,
    carrying the report; nothing is written) unless ``skip_invalid`` leaves out
    the rows whose image is unusable (file and image errors, leaked images,
    and images that cannot be read or prepared while writing, such as one too
    large for the memory there is: ``image-out-of-memory``), recording each in
    ``manifest.skipped``. Shards hold ``shard_size`` bytes
    (default ``"128MiB"``) or number ``num_shards`` per split; examples are
    shuffled by ``seed``. Images pass through untouched when a loader can use
    them as they are, else they are normalised once (see
    :mod:`labelprep.shards.images`); ``resize`` is ``224`` (shorter side) or
    ``"224x160"``. Same input and seed, same bytes. ``resume`` finishes an
    interrupted export; a folder holding an earlier export needs ``resume`` or
    ``overwrite``. Needs TensorFlow (``pip install "labelprep[tf]"``).
    ``engine="dask"`` (or a ``distributed.Client``) runs the image checks and
    one task per shard on a Dask cluster, as :func:`validate` describes; the
    plan, the state file and the manifest stay here; same bytes.

    Example:
        >>> import labelprep
        >>> m = labelprep.export("labels.parquet", "shards/", shard_size="64MiB")  # doctest: +SKIP
        >>> m.shard_paths("train"), m.splits["train"].pos_weight  # doctest: +SKIP
    """
    from labelprep.checks.pipeline import load_config, source_split_names
    from labelprep.errors import ExportRefused
    from labelprep.executor import check_engine, open_engine
    from labelprep.extras import check_tensorflow_installed
    from labelprep.frameio import read_frame
    from labelprep.shards.export import ExportSettings, ExportSplit, write_export
    from labelprep.shards.images import ImageSettings, parse_resize
    from labelprep.shards.manifest import SkippedRow
    from labelprep.shards.plan import DEFAULT_SHARD_SIZE, parse_size
    from labelprep.shards.spec import check_part_name
    from labelprep.version import __version__

    check_tensorflow_installed()  # before the sources are read and validated
    srcs, given = _sources(sources)
    if not srcs:
        raise InputError("no source to export", hint="pass a converted frame or an annotation source")
    if shard_size is not None and num_shards is not None:
        raise InputError("give a shard size or a number of shards, not both", hint="drop --shard-size or --num-shards")
    if num_shards is not None and num_shards < 1:
        raise InputError(f"num_shards must be at least 1, not {num_shards}")
    size = parse_size(shard_size) if shard_size is not None else (DEFAULT_SHARD_SIZE if num_shards is None else None)
    if not 1 <= int(quality) <= 100:
        raise InputError(f"quality must be 1 to 100, not {quality}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, not {workers}")
    check_engine(engine, scheduler)
    image = ImageSettings(parse_resize(resize), int(quality))
    name = name if name is not None else (srcs[0].stem if isinstance(srcs[0], Path) else "dataframe")
    bad = check_part_name("dataset", name)
    if bad:
        raise InputError(bad, hint="choose another --name")
    # Settings for reading the sources come from the same configuration validate reads, so both agree.
    cfg, _ = load_config(srcs[0], Path(config) if config is not None else None)
    root_arg = images_root if images_root is not None else cfg.get("images-root")
    vocab_arg = vocab if vocab is not None else cfg.get("vocab")
    none_arg = list(none_label or cfg.get("none-label", ()))
    level = check_images or cfg.get("check-images") or "header"
    level = "header" if level == "none" else level  # export reads every image: at least check its header
    n_workers = int(workers or cfg.get("workers") or os.cpu_count() or 1)
    vocab_obj = Vocabulary.read(Path(vocab_arg)) if isinstance(vocab_arg, (str, os.PathLike)) else vocab_arg

    # -- read every source into (split, rows, images root); splits are named as validate names them
    parts: list[tuple[str, pd.DataFrame, Path | str]] = []
    vocabs: list[Vocabulary] = []
    split_names = source_split_names(srcs, given)
    refine: dict[str, Any] = {"exclude": exclude, "group_from_path": group_from_path,
                              "split_from_path": split_from_path, "join": join, "on": on}  # fmt: skip
    for src, src_split in zip(srcs, split_names):
        if isinstance(src, Path) and is_frame(src):
            frame, v = read_frame(src, vocab=vocab_obj)
            root = frame_images_root(src, root_arg)
        else:
            conv = convert(src, format=format, path_col=path_col, labels_col=labels_col, sep=sep, label_cols=label_cols,
                           confidence_col=confidence_col, uncertain=uncertain, images_root=root_arg,
                           path_template=path_template, path_prefix=path_prefix, find_images=find_images, none_label=none_arg,
                           label_map=label_map, vocab=vocab_obj, split_col=split_col, group_col=group_col,
                           encoding=encoding, on_conflict=on_conflict, **refine)  # fmt: skip
            frame, v, root = conv.frame, conv.vocabulary, conv.images_root
        vocabs.append(v)
        if "split" in frame.columns:
            for split, part in frame.groupby("split", sort=False, dropna=False):
                parts.append((str(split), part.reset_index(drop=True), root))
        else:
            parts.append((src_split, frame, root))
    seen: set[str] = set()
    for split, _, _ in parts:
        bad = check_part_name("split", split)
        if bad:
            raise InputError(bad, hint="rename the split in the source (or the source file)")
        if split in seen:
            raise InputError(f"two sources give the split {split!r}", hint="rename one source, or merge them")
        seen.add(split)
    labels = list(dict.fromkeys(label for v in vocabs for label in v))
    vocab_all = vocabs[0] if all(v == vocabs[0] for v in vocabs) else Vocabulary(labels)
    frames = [align_labels(p[1], labels) for p in parts]
    source = {
        "files": [s.name if isinstance(s, Path) else source_name(s) for s in srcs],
        "rows": sum(len(f) for f in frames),
        "sha256": _content_sha256(frames, [p[0] for p in parts], labels),
    }

    # Image checks and shards share one engine (one LocalCluster, started when first needed).
    with open_engine(engine, scheduler, workers=workers or cfg.get("workers")) as eng:
        # -- validate with validate's checks; refuse, or leave out the unusable rows
        report = validate(srcs, format=format, path_col=path_col, labels_col=labels_col, sep=sep, label_cols=label_cols,
                          confidence_col=confidence_col, uncertain=uncertain, images_root=root_arg,
                          path_template=path_template, path_prefix=path_prefix, find_images=find_images, none_label=none_arg or None,
                          label_map=label_map, vocab=vocab_obj, split_col=split_col, group_col=group_col,
                          encoding=encoding, on_conflict=on_conflict, **refine, check_images=level, workers=n_workers,
                          engine=eng or "local", cache=cache,
                          severity=severity, config=config, progress=progress)  # fmt: skip
        errors = report.errors
        if errors and (not skip_invalid or not all(_skippable(f) for f in errors)):
            raise ExportRefused(report)
        skipped: dict[tuple[str, str], SkippedRow] = {}
        for f in errors:
            split = f.split or ""
            key = (split, str(f.path))
            if key not in skipped:
                skipped[key] = SkippedRow(str(f.path), split, f.code, f.message)
        splits = []
        for (split, _, root), frame in zip(parts, frames):
            drop = {p for s, p in skipped if s == split}
            keep = frame[~frame["path"].isin(drop)].reset_index(drop=True) if drop else frame
            splits.append(ExportSplit(split, keep, root))
        st = ExportSettings(name=name, shard_size=size, num_shards=num_shards, seed=int(seed), image=image,
                            workers=n_workers, resume=resume, overwrite=overwrite, progress=progress,
                            skip_invalid=skip_invalid, engine=eng)  # fmt: skip
        return write_export(splits, vocab_all, Path(out_dir), st, source=source, skipped=list(skipped.values()),
                            report=report, version=__version__)  # fmt: skip


@storage.staged(sources=["out_dir"])
def verify(out_dir: str | os.PathLike[str], *, progress: bool = False) -> Report:
    """Check every shard of an export against its manifest; return a :class:`Report` (shard findings).

    Each shard must exist with the manifest's size and SHA-256, hold whole
    TFRecords with valid CRCs and the manifest's record count, and each record
    must hold exactly the spec's features, label indices within the vocabulary
    and an image TensorFlow decodes to its stored size. Each split's examples
    total and per-label positives, unknown counts and pos_weight must be what
    its records hold; a shard file of a listed split that the manifest leaves
    out is an error. A manifest naming a shard outside ``out_dir`` is an
    :class:`InputError` before anything is opened. Needs TensorFlow.

    Example:
        >>> import labelprep
        >>> labelprep.verify("shards/").ok  # doctest: +SKIP
        True
    """
    from labelprep.shards.verify import verify_export

    p = Path(out_dir)
    if not p.is_dir():
        raise InputError("no such folder", file=str(p), hint="pass the folder labelprep export wrote")
    return verify_export(p, progress=progress)
