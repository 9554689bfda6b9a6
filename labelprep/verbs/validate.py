"""``validate``: check one or more splits before training, from resolved options."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from labelprep.errors import InputError
from labelprep.options import CheckOptions, RunOptions, SourceOptions, route
from labelprep.readers.layout import named_sources
from labelprep.report import Report
from labelprep.storage import staged
from labelprep.verbs.convert import Vocabularies, checked_root, read_options

__all__ = ["parse_size", "sources_of", "validate", "validate_settings"]


def parse_size(value: str | int | Sequence[int] | None, where: str | None = None) -> tuple[int, int] | None:
    """``64``, ``"64x48"``, ``"64,48"`` or ``(64, 48)`` as (width, height); None stays None."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        parts = value.lower().replace("x", ",").split(",")
        try:
            nums = [int(p) for p in parts if p.strip()]
        except ValueError:
            raise InputError(f"min size must look like 64 or 64x48, not {value!r}", file=where) from None
    elif isinstance(value, (list, tuple)):
        nums = [int(v) for v in value]
    else:
        raise InputError(f"min size must look like 64 or 64x48, not {value!r}", file=where)
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or min(nums) < 1:
        raise InputError(f"min size must look like 64 or 64x48, not {value!r}", file=where)
    return nums[0], nums[1]


def sources_of(sources: Any) -> tuple[list[Path | pd.DataFrame], list[str | None]]:
    """One source or several, as paths (that exist) or DataFrames, and the split each was named
    (``train=a.json``) or None."""
    srcs, given = named_sources(sources)
    for s in srcs:
        if isinstance(s, Path) and not s.exists():
            raise InputError("no such file or folder", file=str(s))
    return srcs, given


def validate_settings(so: SourceOptions, ck: CheckOptions, ro: RunOptions, cfg: Mapping[str, Any],
                      where: str | None, *, on_conflict: str = "separate") -> Any:  # fmt: skip
    """What :func:`labelprep.checks.validation.run_validation` takes, from resolved options (and the settings,
    for the folder a rules file named in them is relative to)."""
    from labelprep.checks.content import Thresholds
    from labelprep.checks.rules import load_rules
    from labelprep.checks.validation import ValidateSettings, check_severity

    level = ck.check_images or "header"
    if (ck.near_duplicates or ck.quality) and level == "none":
        raise InputError("near-duplicate and quality checks decode the images, which check_images='none' skips",
                         file=where, hint="use check_images='header' (the default) or 'full'")  # fmt: skip
    for code, lvl in (ck.severity or {}).items():
        check_severity(code, lvl, where)
    voc = Vocabularies.read(so)
    st = ValidateSettings(
        read=read_options(so, on_conflict=on_conflict), format=so.format,
        images_root=checked_root(so.images_root) if so.images_root is not None else None,
        path_template=so.path_template, find_images=so.find_images, none_label=list(so.none_label),
        label_map=voc.label_map, vocab_map=voc.vocab_map, vocab=voc.vocab, check_images=level,
        workers=ro.workers, cache=Path(ro.cache) if ro.cache is not None else None, strict=bool(ck.strict),
        no_empty=bool(ck.no_empty), min_positives=ck.min_positives, min_size=parse_size(ck.min_size, where),
        max_pixels=ck.max_pixels, severity=dict(ck.severity or {}),
        quarantine=Path(ck.quarantine) if ck.quarantine is not None else None, progress=ro.progress,
        near_duplicates=bool(ck.near_duplicates), quality=bool(ck.quality),
        thresholds=Thresholds.from_mapping(ck.thresholds or {}, where),
    )  # fmt: skip
    if ck.predictions is not None:
        st.predictions, st.top_issues = Path(ck.predictions), int(ck.top_issues)
        if not st.predictions.is_file():
            raise InputError("predictions file not found", file=str(st.predictions))
    if ck.rules is not None:
        from_settings = cfg.get("rules") is ck.rules
        if from_settings:  # a rules file (or a hierarchy file a table names) is relative to the settings file
            st.rules = load_rules(ck.rules if isinstance(ck.rules, Mapping) else Path(ck.rules),
                                  base=Path(cfg["rules-base"]), where=cfg["rules-file"], label_map=voc.label_map)  # fmt: skip
        else:
            st.rules = load_rules(ck.rules if isinstance(ck.rules, Mapping) else Path(ck.rules),
                                  label_map=voc.label_map)  # fmt: skip
    return st


@staged(sources=["sources"], outputs={"quarantine": "file"}, roots=["images_root"])
def validate(sources: Any, *, source_options: SourceOptions | None = None, check_options: CheckOptions | None = None,
             run_options: RunOptions | None = None, config: str | os.PathLike[str] | None = None,
             **options: Any) -> Report:  # fmt: skip
    """Check one or more splits before training; return a :class:`Report` (never raises for data problems).

    Each source is a converted frame (``.parquet``, or ``.csv`` with its ``.vocab.json``), any raw source
    :func:`convert` reads, or a DataFrame; several are splits, named by the split word of their names (or
    ``NAME=PATH``, or a ``split`` column). The split named ``train`` (else ``training``, else ``trainval``) is
    the training split. ``options`` are those of :class:`~labelprep.options.SourceOptions`,
    :class:`~labelprep.options.CheckOptions` and :class:`~labelprep.options.RunOptions`, by name (or as the
    objects ``source_options``, ``check_options``, ``run_options``). Options not given come from
    ``[tool.labelprep]`` in the dataset's ``pyproject.toml`` or a ``labelprep.toml`` (nearest the first
    source, or ``config``), then from the defaults. Folder copies of one name with different bytes are read as
    separate images and reported (``name-conflict``) unless ``on_conflict`` says otherwise.
    ``report.raise_for_errors()`` raises when the report is not ok.

    Example:
        >>> import labelprep
        >>> report = labelprep.validate(["train.parquet", "val.parquet"], check_images="full")  # doctest: +SKIP
        >>> report.ok, report.summary()["by_code"]  # doctest: +SKIP
    """
    from labelprep.checks.validation import load_config, run_validation
    from labelprep.executor import check_engine, open_engine

    srcs, given = sources_of(sources)
    if not srcs:
        raise InputError("no source to validate", hint="pass one or more annotation files, folders or frames")
    cfg, cfg_file = load_config(srcs[0], Path(config) if config is not None else None)
    where = str(cfg_file) if cfg_file else None
    o = route("validate", options, {"source": source_options, "check": check_options, "run": run_options}, cfg,
              where)  # fmt: skip
    so, ck, ro = o["source"], o["check"], o["run"]
    check_engine(ro.engine, ro.scheduler)
    st = validate_settings(so, ck, ro, cfg, where)
    with open_engine(ro.engine, ro.scheduler, workers=st.workers) as st.engine:
        return run_validation(srcs, st, given)
