"""``export`` (validate, leave out what ``skip_invalid`` drops, write shards) and ``verify``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from labelprep.errors import InputError
from labelprep.multihot import align_labels
from labelprep.options import CheckOptions, ExportOptions, RunOptions, SourceOptions, route
from labelprep.readers.refine import source_name
from labelprep.report import CHECKS, Finding, Report
from labelprep.shards.manifest import Manifest
from labelprep.shards.upload import EXPORT_FOLDER
from labelprep.storage import staged
from labelprep.verbs.validate import sources_of, validate_settings
from labelprep.vocabulary import Vocabulary

__all__ = ["export", "verify"]


def _skippable(f: Finding) -> bool:
    """A finding ``skip_invalid`` may leave a row out for: a file or image error, or a leaked image."""
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


def _export_options(eo: ExportOptions, srcs: Sequence[Any]) -> tuple[str, int | None, Any]:
    """The dataset name, shard size and image settings, checked before anything is read."""
    from labelprep.shards.images import ImageSettings, parse_resize
    from labelprep.shards.plan import DEFAULT_SHARD_SIZE, parse_size
    from labelprep.shards.spec import check_part_name

    if eo.shard_size is not None and eo.num_shards is not None:
        raise InputError("give a shard size or a number of shards, not both", hint="drop --shard-size or --num-shards")
    size = parse_size(eo.shard_size) if eo.shard_size is not None else (DEFAULT_SHARD_SIZE if eo.num_shards is None
                                                                         else None)  # fmt: skip
    image = ImageSettings(parse_resize(eo.resize), int(eo.quality))
    name = eo.name if eo.name is not None else (srcs[0].stem if isinstance(srcs[0], Path) else "dataframe")
    bad = check_part_name("dataset", name)
    if bad:
        raise InputError(bad, hint="choose another --name")
    return name, size, image


@staged(sources=["sources"], outputs={"out_dir": EXPORT_FOLDER}, roots=["images_root"])
def export(sources: Any, out_dir: str | os.PathLike[str], *, source_options: SourceOptions | None = None,
           check_options: CheckOptions | None = None, run_options: RunOptions | None = None,
           export_options: ExportOptions | None = None, config: str | os.PathLike[str] | None = None,
           **options: Any) -> Manifest:  # fmt: skip
    """Validate, then write TFRecord shards and ``manifest.json`` into ``out_dir``; return the :class:`Manifest`.

    ``sources`` are what :func:`validate` takes, read once: the frames validation read are the ones written.
    ``options`` are those of :class:`~labelprep.options.SourceOptions`, ``check_images`` and ``severity`` of
    :class:`~labelprep.options.CheckOptions`, :class:`~labelprep.options.RunOptions` and
    :class:`~labelprep.options.ExportOptions`, by name (or as objects). Any error finding refuses the export
    (:class:`ExportRefused`, carrying the report; nothing is written) unless ``skip_invalid`` leaves out the
    rows whose image is unusable (file and image errors, leaked images, and images that cannot be read or
    prepared while writing, such as one too large for the memory there is: ``image-out-of-memory``),
    recording each in ``manifest.skipped``. Shards hold ``shard_size`` bytes (default ``"128MiB"``) or number
    ``num_shards`` per split; examples are shuffled by ``seed``. Images pass through untouched when a loader
    can use them as they are, else they are normalised once (see :mod:`labelprep.shards.images`); ``resize``
    is ``224`` (shorter side) or ``"224x160"``. Same input and seed, same bytes. ``resume`` finishes an
    interrupted export; a folder holding an earlier export needs ``resume`` or ``overwrite``. Needs TensorFlow
    (``pip install "labelprep[tf]"``). ``engine="dask"`` runs the image checks and one task per shard on a Dask
    cluster; the plan, the state file and the manifest stay here; same bytes.

    Example:
        >>> import labelprep
        >>> m = labelprep.export("labels.parquet", "shards/", shard_size="64MiB")  # doctest: +SKIP
        >>> m.shard_paths("train"), m.splits["train"].pos_weight  # doctest: +SKIP
    """
    from labelprep.checks.validation import load_config, validation
    from labelprep.errors import ExportRefused
    from labelprep.executor import check_engine, open_engine
    from labelprep.extras import check_tensorflow_installed
    from labelprep.shards.export import ExportSettings, ExportSplit, write_export
    from labelprep.shards.manifest import SkippedRow
    from labelprep.shards.spec import check_part_name
    from labelprep.version import __version__

    check_tensorflow_installed()  # before the sources are read and validated
    srcs, given = sources_of(sources)
    if not srcs:
        raise InputError("no source to export", hint="pass a converted frame or an annotation source")
    cfg, cfg_file = load_config(srcs[0], Path(config) if config is not None else None)
    where = str(cfg_file) if cfg_file else None
    o = route("export", options, {"source": source_options, "check": check_options, "run": run_options,
                                  "export": export_options}, cfg, where)  # fmt: skip
    so, ck, ro, eo = o["source"], o["check"], o["run"], o["export"]
    name, size, image = _export_options(eo, srcs)
    check_engine(ro.engine, ro.scheduler)
    n_workers = int(ro.workers or os.cpu_count() or 1)
    # export reads every image: at least its header is checked
    ck = ck.with_values(check_images="header" if ck.check_images in (None, "none") else ck.check_images)
    st = validate_settings(so, ck, ro.with_values(workers=n_workers), cfg, where, on_conflict="error")
    with open_engine(ro.engine, ro.scheduler, workers=ro.workers) as eng:  # image checks and shards share it
        st.engine = eng
        checked = validation(srcs, st, given)
        report = checked.report
        errors = report.errors
        if errors and (not eo.skip_invalid or not all(_skippable(f) for f in errors)):
            raise ExportRefused(report)
        if not checked.splits or not sum(len(p.frame) for p in checked.splits):
            raise InputError("no image to export", file=source_name(srcs[0]), hint="check the sources")
        seen: set[str] = set()
        for p in checked.splits:
            bad = check_part_name("split", p.name)
            if bad:
                raise InputError(bad, hint="rename the split in the source (or the source file)")
            if p.name in seen:
                raise InputError(f"two sources give the split {p.name!r}", hint="rename one source, or merge them")
            seen.add(p.name)
        labels = list(dict.fromkeys(label for p in checked.splits for label in p.labels))
        vocab = Vocabulary(labels)
        frames = [align_labels(p.frame, labels) for p in checked.splits]
        source = {"files": [s.name if isinstance(s, Path) else source_name(s) for s in srcs],
                  "rows": sum(len(f) for f in frames),
                  "sha256": _content_sha256(frames, [p.name for p in checked.splits], labels)}  # fmt: skip
        skipped: dict[tuple[str, str], SkippedRow] = {}
        for f in errors:
            key = (f.split or "", str(f.path))
            if key not in skipped:
                skipped[key] = SkippedRow(str(f.path), key[0], f.code, f.message)
        splits = []
        for p, frame in zip(checked.splits, frames, strict=True):
            drop = {path for s, path in skipped if s == p.name}
            keep = frame[~frame["path"].isin(drop)].reset_index(drop=True) if drop else frame
            splits.append(ExportSplit(p.name, keep, p.root))
        es = ExportSettings(name=name, shard_size=size, num_shards=eo.num_shards, seed=int(eo.seed), image=image,
                            workers=n_workers, resume=eo.resume, overwrite=eo.overwrite, progress=ro.progress,
                            skip_invalid=eo.skip_invalid, engine=eng)  # fmt: skip
        return write_export(splits, vocab, Path(out_dir), es, source=source, skipped=list(skipped.values()),
                            report=report, version=__version__)  # fmt: skip


@staged(sources=["out_dir"])
def verify(out_dir: str | os.PathLike[str], *, progress: bool = False) -> Report:
    """Check every shard of an export against its manifest; return a :class:`Report` (shard findings).

    Each shard must exist with the manifest's size and SHA-256, hold whole TFRecords with valid CRCs and the
    manifest's record count, and each record must hold exactly the spec's features, label indices within the
    vocabulary and an image TensorFlow decodes to its stored size. Each split's examples total and per-label
    positives, unknown counts and pos_weight must be what its records hold; a shard file of a listed split that
    the manifest leaves out is an error. A manifest naming a shard outside ``out_dir`` is an
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
