"""The verbs. Each CLI command is a thin wrapper over one function here, with the same option names.

The options of every verb are declared once, in :mod:`labelprep.options`; the verbs live in
:mod:`labelprep.verbs` and are gathered here.
"""

from __future__ import annotations

from labelprep.verbs.convert import Conversion, convert, convert_splits, load_label_map, write_ledger
from labelprep.verbs.export import export, verify
from labelprep.verbs.frames import NOTES_ATTR, SplitOutcome, diff, load_frame, split, stats
from labelprep.verbs.validate import validate

__all__ = ["NOTES_ATTR", "Conversion", "SplitOutcome", "convert", "convert_splits", "diff", "export", "load_frame",
           "load_label_map", "split", "stats", "validate", "verify", "write_ledger"]
