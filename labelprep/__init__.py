"""labelprep: make multi-label image datasets ready to train on, safely and fast.

Example:
    >>> import labelprep
    >>> conv = labelprep.convert("examples/multilabel/labels.csv", "labels.parquet")  # doctest: +SKIP
    >>> conv.frame.head()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelprep import multihot as multihot
from labelprep.diff import Diff, diff_frames
from labelprep.encoding import Summary, to_label_lists
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
from labelprep.readers import FORMATS, detect_format
from labelprep.report import CHECKS, Finding, Report, ValidationFailed
from labelprep.schemas import check_frame, schema
from labelprep.shards.manifest import Manifest
from labelprep.split import SplitResult, stratified_split
from labelprep.stats import Stats, compute_stats, pos_weight_json
from labelprep.version import __version__
from labelprep.vocabulary import Vocabulary

# The verbs last: they share names with modules (labelprep/stats.py, diff.py), and must win.
# isort: split
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

if TYPE_CHECKING:
    from labelprep.tf import load_dataset

# Names served by modules that import TensorFlow: imported on first use, so `import labelprep` stays light.
_LAZY = {"load_dataset": "labelprep.tf"}
_LAZY_MODULES = ("tf", "keras", "losses")  # `labelprep.losses.from_manifest(...)` without an import line


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        import importlib

        module = importlib.import_module(f"labelprep.{name}")
        globals()[name] = module
        return module
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'labelprep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_MODULES))


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
