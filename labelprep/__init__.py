"""labelprep: make multi-label image datasets ready to train on, safely and fast.

Example:
    >>> import labelprep
    >>> conv = labelprep.convert("examples/multilabel/labels.csv", "labels.parquet")  # doctest: +SKIP
    >>> conv.frame.head()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from labelprep.version import __version__

# Every public name and the module that serves it. Nothing is imported until a name is first used, so
# `labelprep --help` and a usage error start without pandas, pandera or TensorFlow (PEP 562).
_ERRORS = ("ConflictError", "EngineError", "ExportRefused", "FormatDetectionError", "InputError", "LabelprepError",
           "MissingDependencyError", "OutputError", "SchemaError", "VocabularyError")  # fmt: skip
_VERBS = ("Conversion", "SplitOutcome", "convert", "convert_splits", "diff", "export", "load_frame", "load_label_map",
          "split", "stats", "validate", "verify")  # fmt: skip
_SERVED_BY: dict[str, str] = {
    **{name: "labelprep.errors" for name in _ERRORS},
    **{name: "labelprep.api" for name in _VERBS},
    "Diff": "labelprep.compare", "diff_frames": "labelprep.compare",
    "Summary": "labelprep.toframe", "to_label_lists": "labelprep.toframe",
    "read_frame": "labelprep.frameio", "write_frame": "labelprep.frameio",
    "FORMATS": "labelprep.readers", "detect_format": "labelprep.readers",
    "CHECKS": "labelprep.report", "Finding": "labelprep.report", "Report": "labelprep.report",
    "ValidationFailed": "labelprep.report",
    "check_frame": "labelprep.schemas", "schema": "labelprep.schemas",
    "Manifest": "labelprep.shards.manifest",
    "SplitResult": "labelprep.splitting", "stratified_split": "labelprep.splitting",
    "Stats": "labelprep.labelstats", "compute_stats": "labelprep.labelstats",
    "pos_weight_json": "labelprep.labelstats",
    "Vocabulary": "labelprep.vocabulary",
    "load_dataset": "labelprep.tfdata",  # imports TensorFlow
}  # fmt: skip
# Submodules reachable as attributes without an import line (`labelprep.losses.from_manifest(...)`).
_SUBMODULES = ("multihot", "tfdata", "keras", "losses")

if TYPE_CHECKING:
    from labelprep import multihot as multihot
    from labelprep.api import (
        Conversion,
        SplitOutcome,
        convert,
        convert_splits,
        diff,
        export,
        load_frame,
        load_label_map,
        split,
        stats,
        validate,
        verify,
    )
    from labelprep.compare import Diff, diff_frames
    from labelprep.errors import (
        ConflictError,
        EngineError,
        ExportRefused,
        FormatDetectionError,
        InputError,
        LabelprepError,
        MissingDependencyError,
        OutputError,
        SchemaError,
        VocabularyError,
    )
    from labelprep.frameio import read_frame, write_frame
    from labelprep.labelstats import Stats, compute_stats, pos_weight_json
    from labelprep.readers import FORMATS, detect_format
    from labelprep.report import CHECKS, Finding, Report, ValidationFailed
    from labelprep.schemas import check_frame, schema
    from labelprep.shards.manifest import Manifest
    from labelprep.splitting import SplitResult, stratified_split
    from labelprep.tfdata import load_dataset
    from labelprep.toframe import Summary, to_label_lists
    from labelprep.vocabulary import Vocabulary


def __getattr__(name: str) -> Any:
    if name in _SERVED_BY:
        value = getattr(importlib.import_module(_SERVED_BY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"labelprep.{name}")
    else:
        raise AttributeError(f"module 'labelprep' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SERVED_BY) | set(_SUBMODULES))


__all__ = [
    "CHECKS",
    "FORMATS",
    "ConflictError",
    "Conversion",
    "Diff",
    "EngineError",
    "ExportRefused",
    "Finding",
    "FormatDetectionError",
    "InputError",
    "LabelprepError",
    "Manifest",
    "MissingDependencyError",
    "OutputError",
    "Report",
    "SchemaError",
    "SplitOutcome",
    "SplitResult",
    "Stats",
    "Summary",
    "ValidationFailed",
    "Vocabulary",
    "VocabularyError",
    "__version__",
    "check_frame",
    "compute_stats",
    "convert",
    "convert_splits",
    "detect_format",
    "diff",
    "diff_frames",
    "export",
    "load_dataset",
    "load_frame",
    "load_label_map",
    "pos_weight_json",
    "read_frame",
    "schema",
    "split",
    "stats",
    "stratified_split",
    "to_label_lists",
    "validate",
    "verify",
    "write_frame",
]
