"""``convert``: annotations (one source, or several as the splits of one frame) to the multi-hot frame."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labelprep import storage
from labelprep.atomic import atomic_write
from labelprep.errors import InputError, VocabularyError
from labelprep.frameio import output_problem, write_frame
from labelprep.multihot import align_labels
from labelprep.options import ConvertOptions, RunOptions, SourceOptions, route
from labelprep.readers import ReadOptions
from labelprep.readers.base import LedgerEntry
from labelprep.readers.layout import named_sources
from labelprep.readers.refine import read_refined, source_name
from labelprep.safeio import read_regular_file
from labelprep.schemas import check_frame
from labelprep.toframe import Summary, encode
from labelprep.vocabulary import Vocabulary, parse_label_map, vocabulary_label_map

__all__ = ["Conversion", "checked_root", "convert", "convert_splits", "load_label_map", "read_options",
           "write_ledger"]  # fmt: skip


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
    """Read an id -> name map: a JSON object (or list, by index), a two-column CSV with or without header, or
    one name a line (class 0 first).

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


def local_root(images_root: Any) -> str | None:
    """A local images root as readers take it (they look for the listed images under it); None for a URL."""
    if images_root is None or storage.is_url(str(images_root)):
        return None
    return os.path.abspath(images_root)


def checked_root(images_root: str | os.PathLike[str]) -> Path | str:
    """An images root given by the user: a folder here, or a folder (prefix) at a remote URL."""
    root = storage.to_root(images_root)
    if not (storage.isdir(root) if isinstance(root, str) else root.is_dir()):
        raise InputError("images root is not a folder", file=str(root), hint="check --images-root")
    return root


def _refuse_overwriting_inputs(*, outputs: Sequence[str | os.PathLike[str]],
                               inputs: Sequence[str | os.PathLike[str]]) -> None:  # fmt: skip
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


def frame_output(output: str | os.PathLike[str] | None, ledger: str | os.PathLike[str] | None,
                 inputs: Sequence[Any]) -> Path | None:  # fmt: skip
    """The checked output frame path (.parquet or .csv): it, its vocabulary and the ledger overwrite no input.

    ``inputs`` may hold None and non-path values (a Vocabulary passed as ``vocab``), which are left out.
    """
    out = Path(output) if output is not None else None
    if out is not None and output_problem(out):
        raise InputError(str(output_problem(out)), file=str(out))
    _refuse_overwriting_inputs(
        outputs=[p for p in (out, out.with_suffix(".vocab.json") if out else None, ledger) if p is not None],
        inputs=[p for p in inputs if isinstance(p, (str, os.PathLike))],
    )
    return out


@dataclass
class Vocabularies:
    """The vocabulary, label map and the map a label-map ``--vocab`` holds, read once from their files."""

    vocab: Vocabulary | None
    vocab_source: str | None
    label_map: dict[str, str] | None
    vocab_map: dict[str, str] | None

    @classmethod
    def read(cls, so: SourceOptions) -> Vocabularies:
        vocab_map = None
        if isinstance(so.vocab, (str, os.PathLike)):
            vocab: Vocabulary | None = Vocabulary.read(Path(so.vocab))
            vocab_map = vocabulary_label_map(Path(so.vocab)) if so.label_map is None else None
            where = str(so.vocab)
        else:
            vocab, where = so.vocab, None
        lmap = load_label_map(so.label_map) if so.label_map is not None else None
        return cls(vocab, where, lmap, vocab_map)

    def known(self) -> frozenset[str] | None:
        """The labels a wide table's columns may be: the label map's ids, else the vocabulary's labels."""
        if self.label_map is not None:
            return frozenset(self.label_map)
        return frozenset(self.vocab) if self.vocab is not None else None


def read_options(so: SourceOptions, *, on_conflict: str, known: frozenset[str] | None = None) -> ReadOptions:
    """What the readers take of the source options (one place: every verb reads through it)."""
    return ReadOptions(
        path_col=so.path_col, labels_col=so.labels_col, sep=so.sep,
        label_cols=list(so.label_cols) if so.label_cols else None, confidence_col=so.confidence_col,
        uncertain=so.uncertain, split_col=so.split_col, group_col=so.group_col, keep_cols=list(so.keep_cols),
        encoding=so.encoding, folder_conflicts=so.on_conflict or on_conflict, path_prefix=so.path_prefix,
        images_root=local_root(so.images_root), known_labels=known, path_template=so.path_template,
        find_images=so.find_images, exclude=list(so.exclude), group_from_path=so.group_from_path,
        split_from_path=so.split_from_path, join=str(so.join) if so.join else None, on=so.on,
        nested_folders=so.nested_folders,
    )  # fmt: skip


@storage.staged(sources=["source"], outputs={"output": "file", "ledger": "file"}, roots=["images_root"])
def convert(source: Any, output: str | os.PathLike[str] | None = None, *,
            source_options: SourceOptions | None = None, run_options: RunOptions | None = None,
            **options: Any) -> Conversion:  # fmt: skip
    """Convert an annotation source into the canonical multi-hot frame.

    ``source`` is a file (CSV/TSV, JSON, JSON Lines, XML), a folder (label folders, tag files, or an export of
    a known form), a pandas DataFrame laid out as a table source (messages name it ``<DataFrame>`` with 1-based
    row numbers; paths are relative to ``images_root``, default the current folder), or several of these (a
    list, or a mapping ``{split: source}``) as the splits of one frame. The form is detected unless ``format``
    is given. ``options`` are the options of :class:`~labelprep.options.SourceOptions` (how to read),
    :class:`~labelprep.options.ConvertOptions` (``ledger``, ``sparse_threshold``) and ``engine``/``scheduler``
    of :class:`~labelprep.options.RunOptions`, by name; ``source_options``/``run_options`` pass them as
    objects. With ``output`` (``.parquet`` or ``.csv``) the frame is written atomically with its vocabulary
    beside it (``<out>.vocab.json``). Nothing is dropped silently: the returned ``ledger`` lists every input row
    left out or merged, with its file, line and reason.

    Example:
        >>> import labelprep
        >>> conv = labelprep.convert("examples/shapes/labels.csv", "labels.parquet")  # doctest: +SKIP
        >>> conv.frame.columns[:3].tolist()  # doctest: +SKIP
        ['path', 'circle', 'square']
    """
    o = route("convert", options, {"source": source_options, "run": run_options})
    several = isinstance(source, dict) or (isinstance(source, (list, tuple)) and len(source) != 1)
    if several:
        return _convert_many(source, output, o["source"], o["run"], o["convert"])
    one = source[0] if isinstance(source, (list, tuple)) else source
    return convert_one(one, output, o["source"], o["run"], o["convert"])


def convert_splits(sources: Any, output: str | os.PathLike[str] | None = None, **options: Any) -> Conversion:
    """Several sources as the splits of one frame: :func:`convert` of a list (kept for existing callers)."""
    srcs, _ = named_sources(sources)
    if len(srcs) < 2:
        raise InputError("convert_splits takes two or more sources", hint="convert one source with convert()")
    return convert(sources, output, **options)


def convert_one(source: Any, output: str | os.PathLike[str] | None, so: SourceOptions, ro: RunOptions,
                co: ConvertOptions) -> Conversion:  # fmt: skip
    """:func:`convert` of one source with resolved options."""
    from labelprep.executor import check_engine, open_engine

    # a split name given to one source (train=a.csv) names nothing here
    src = source if isinstance(source, pd.DataFrame) else named_sources(source)[0][0]
    src_name = source_name(src)
    check_engine(ro.engine, ro.scheduler)
    out = frame_output(output, co.ledger, inputs=[src, so.label_map, so.vocab])
    voc = Vocabularies.read(so)
    opts = read_options(so, on_conflict="error", known=voc.known())
    with open_engine(ro.engine, ro.scheduler) as eng:
        ann = read_refined(src, format=so.format, options=opts, none_labels=so.none_label, engine=eng)
        root = _images_root(ann, src, so)
        try:
            enc = encode(
                ann, images_root=root, vocab=voc.vocab, unknown=so.unknown, none_labels=so.none_label,
                label_map=voc.label_map, label_map_source=str(so.label_map) if so.label_map else None,
                min_count=so.min_count, path_template=so.path_template or ann.default_template,
                find_images=so.find_images, sparse_threshold=co.sparse_threshold, vocab_map=voc.vocab_map,
            )  # fmt: skip
        except VocabularyError as exc:
            if voc.vocab_source and exc.hint and "did you mean" not in exc.hint:
                exc.hint = f"{exc.hint}; the vocabulary is {voc.vocab_source}"
            raise
        if len(enc.frame) == 0:
            why = "; ".join(f"{n} {reason}" for reason, n in sorted(enc.summary.dropped.items())) or "none listed"
            raise InputError(f"no image is left to write: {enc.summary.rows_read} row(s) read, left out: {why}",
                             file=src_name, hint="an empty frame is not a dataset; see --ledger for each row")  # fmt: skip
        check_frame(enc.frame, enc.vocabulary, unknown=so.uncertain in (None, "keep") and enc.summary.uncertain > 0,
                    source=src_name, engine=eng, distinct_paths=enc.distinct_paths)  # fmt: skip
    conv = Conversion(enc.frame, enc.vocabulary, ann.format, enc.summary, enc.ledger, enc.notes, root)
    if out is not None:
        # the images root relative to the frame's folder, so the pair can move together
        meta = {"source": storage.where(src_name), "format": ann.format,
                "images_root": storage.relative_root(root, out)}  # fmt: skip
        conv.written = [*write_frame(enc.frame, enc.vocabulary, out, meta=meta)]
    if co.ledger is not None:
        write_ledger(conv.ledger, co.ledger)
        conv.written.append(Path(co.ledger))
    return conv


def _images_root(ann: Any, src: Any, so: SourceOptions) -> Path | str:
    """The images root: the one given, else the one the reader found, else the source's folder; folder forms'
    paths re-expressed under a given root."""
    root: Path | str
    if so.images_root is not None:
        root = checked_root(so.images_root)
    elif ann.images_root is not None:
        root = Path(ann.images_root)
    elif isinstance(src, pd.DataFrame):
        root = Path.cwd()  # an in-memory table: paths are relative to where the user works
    else:
        root = storage.default_root(src)  # a source fetched from a URL: that URL's folder
    if so.find_images and storage.is_remote(root):
        raise InputError("--find-images needs a local images root", file=str(root),
                         hint="list each image's path relative to the images root instead")  # fmt: skip
    own = Path(ann.images_root) if ann.images_root else src if isinstance(src, Path) else None
    if ann.raw_path_is_final and so.images_root is not None and own is not None:
        # folder forms list paths relative to their own folder; re-express them under the given root
        rel = storage.source_rel(own, root)
        if rel != ".":
            ann.paths = pd.Series(ann.paths, dtype=object).map(lambda p: f"{rel}/{p}").to_numpy(dtype=object)
    return root


def _convert_many(sources: Any, output: str | os.PathLike[str] | None, so: SourceOptions, ro: RunOptions,
                  co: ConvertOptions) -> Conversion:  # fmt: skip
    """Several sources as the splits of one frame, each named as :func:`validate` and :func:`export` name it.

    Paths become relative to the sources' common images root, the vocabulary is the union (in the order the
    sources give it) and the frame gets a ``split`` column.
    """
    from labelprep.checks.validation import source_split_names

    srcs, given = named_sources(sources)
    if not srcs:
        raise InputError("no source to convert", hint="pass one or more annotation files, folders or frames")
    if so.split_col:
        raise InputError("with several sources each source is a split: leave out --split-col",
                         hint="or convert each source on its own")  # fmt: skip
    names = source_split_names(srcs, given)
    for name, src in zip(names, srcs, strict=True):
        if names.count(name) > 1:
            raise InputError(f"two sources give the split {name!r}", file=source_name(src), hint="rename one source")
    out = frame_output(output, co.ledger, inputs=[*srcs, so.label_map, so.vocab])
    each = ConvertOptions(sparse_threshold=co.sparse_threshold)
    convs = [convert_one(src, None, so, ro, each) for src in srcs]
    placed = storage.common_root([c.images_root for c in convs])
    if placed is None:
        raise InputError("several sources as splits need their images on one store (local, or one bucket)",
                         file=source_name(srcs[0]), hint="convert each source on its own")  # fmt: skip
    common, rels = placed
    labels = list(dict.fromkeys(label for c in convs for label in c.vocabulary))
    vocab = convs[0].vocabulary if all(c.vocabulary == convs[0].vocabulary for c in convs) else Vocabulary(labels)
    frames = []
    for c, name, rel, src in zip(convs, names, rels, srcs, strict=True):
        if "split" in c.frame.columns:
            raise InputError("this source has splits of its own (a split level of folders)", file=source_name(src),
                             hint="convert it on its own; several sources are each one split")  # fmt: skip
        frame = align_labels(c.frame, labels)
        if rel != ".":
            frame["path"] = (rel + "/" + c.frame["path"].astype(str)).to_numpy(dtype=object)
        frame["split"] = name
        for col in c.frame.columns[1 + len(c.vocabulary) :]:
            frame[col] = c.frame[col].to_numpy(dtype=object)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    summary = _summed(convs, labels)
    notes = [f"{len(srcs)} sources as the splits {', '.join(names)}; images root {common}"]
    notes += [f"{name}: {note}" for c, name in zip(convs, names, strict=True) for note in c.notes]
    check_frame(frame, vocab, unknown=summary.uncertain > 0, source=", ".join(map(source_name, srcs)))
    conv = Conversion(frame, vocab, convs[0].format, summary, [e for c in convs for e in c.ledger], notes, common)
    if out is not None:
        meta = {"source": [storage.where(source_name(s)) for s in srcs], "format": conv.format,
                "images_root": storage.relative_root(common, out)}  # fmt: skip
        conv.written = [*write_frame(frame, vocab, out, meta=meta)]
    if co.ledger is not None:
        write_ledger(conv.ledger, co.ledger)
        conv.written.append(Path(co.ledger))
    return conv


def _summed(convs: Sequence[Conversion], labels: list[str]) -> Summary:
    summary = Summary(labels=len(labels))
    for c in convs:
        for key in ("rows_read", "images", "empty_label_sets", "merged_duplicates", "uncertain", "folded"):
            setattr(summary, key, getattr(summary, key) + getattr(c.summary, key))
        summary.dropped.update(c.summary.dropped)
    summary.unused = [x for x in labels if all(x in c.summary.unused or x not in c.vocabulary for c in convs)]
    return summary


def write_ledger(entries: Sequence[LedgerEntry], path: str | os.PathLike[str]) -> None:
    """Write every dropped or merged input row as CSV: file, line, path, reason, detail."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["file", "line", "path", "reason", "detail"])
            for e in entries:
                w.writerow([storage.where(e.file), "" if e.line is None else e.line, e.path, e.reason, e.detail])

    atomic_write(Path(path), write)
