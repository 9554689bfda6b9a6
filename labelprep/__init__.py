"""labelprep: make multi-label image datasets ready to train on, safely and fast.

Example:
    >>> import labelprep
    >>> conv = labelprep.convert("examples/multilabel/labels.csv", "labels.parquet")  # doctest: +SKIP
    >>> conv.frame.head()  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from labelprep.api import Conversion, convert, load_label_map, validate
from labelprep.encoding import Summary, to_label_lists
from labelprep.errors import (
    ConflictError,
    FormatDetectionError,
    InputError,
    LabelprepError,
    MissingDependencyError,
    SchemaError,
    VocabularyError,
)
from labelprep.frameio import read_frame, write_frame
from labelprep.readers import FORMATS, detect_format
from labelprep.report import CHECKS, Finding, Report, ValidationFailed
from labelprep.schemas import check_frame, schema
from labelprep.vocabulary import Vocabulary

__all__ = [
    "CHECKS",
    "FORMATS",
    "ConflictError",
    "Conversion",
    "Finding",
    "FormatDetectionError",
    "InputError",
    "LabelprepError",
    "MissingDependencyError",
    "Report",
    "SchemaError",
    "Summary",
    "ValidationFailed",
    "Vocabulary",
    "VocabularyError",
    "__version__",
    "check_frame",
    "convert",
    "detect_format",
    "load_label_map",
    "read_frame",
    "schema",
    "to_label_lists",
    "validate",
    "write_frame",
]
