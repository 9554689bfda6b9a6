"""Label Studio's CSV export: one row per annotation, a column per labelling control.

label-studio-converter writes the task's data fields (``image``), ``id``, one column named after each
control's ``from_name`` (``choice``, ``sentiment``, ``label``) and the metadata ``annotator``,
``annotation_id``, ``created_at``, ``updated_at``, ``lead_time``. A control's cell is plain text for one
choice (``Night``), JSON for several (``{"choices": ["Beach", "Dog"]}``), a JSON list of regions for boxes and
polygons (``[{"x": ..., "rectanglelabels": ["Car"]}]``: an image's labels are its regions' labels), and empty
when the annotator chose nothing. Uploaded files are named ``/data/upload/<project>/<file>``: the file name is
the path (as for the JSON export).
"""

from __future__ import annotations

import json
from typing import Any

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, ReadOptions
from labelprep.readers.csvtext import PATH_COLUMNS, Table, find_column, norm_name
from labelprep.readers.jsonforms import labelstudio_path

__all__ = ["is_studio_table", "read_studio_table"]

# Columns label-studio-converter adds to every row (folded by norm_name), never a control's answers.
_META = frozenset({"id", "annotator", "annotationid", "createdat", "updatedat", "leadtime", "agreement",
                   "annotators", "drafts", "predictions", "totalannotations", "cancelledannotations",
                   "totalpredictions", "completedat", "updatedby", "storagefilename"})  # fmt: skip
# Its own columns, any two of which (with annotation_id) mark an export of it.
_MARKS = frozenset({"annotator", "createdat", "updatedat", "leadtime"})


def is_studio_table(table: Table) -> bool:
    """A Label Studio CSV export: ``annotation_id`` and two more of its own metadata columns."""
    names = {norm_name(c) for c in table.columns}
    return "annotationid" in names and len(names & _MARKS) >= 2


def _answer_labels(cell: str, source: str, line: int) -> list[str]:
    """The labels of one control's cell (see the module docstring)."""
    text = cell.strip()
    if not text:
        return []
    if not text.startswith(("{", "[")):
        return [text]  # a single choice, written as plain text
    try:
        value: Any = json.loads(text)
    except ValueError:
        return [text]
    if isinstance(value, dict):
        value = [value]
    labels: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            labels.append(item)
            continue
        if not isinstance(item, dict):
            raise InputError(f"a Label Studio answer of a kind labelprep does not read: {text[:80]!r}", file=source,
                             line=line,
                             hint="labelprep reads choices and region labels (rectanglelabels, polygonlabels ...)")  # fmt: skip
        keys = [k for k in item if k == "choices" or k.endswith("labels")]
        if not keys and "taxonomy" in item:
            raise InputError(f"a Label Studio taxonomy answer: {text[:80]!r}", file=source, line=line,
                             hint="export as JSON and convert that, or flatten the taxonomy to choices")  # fmt: skip
        for k in keys:
            labels.extend(str(v) for v in item[k] if isinstance(item[k], list))
    return list(dict.fromkeys(labels))


def read_studio_table(table: Table, opts: ReadOptions) -> Annotations:
    """The image-level labels of a Label Studio CSV export (see the module docstring)."""
    path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col",
                           exclude=tuple(c for c in table.columns if norm_name(c) == "id"))  # fmt: skip
    assert path_col is not None
    answers = [c for c in table.columns if c != path_col and norm_name(c) not in _META]
    if opts.labels_col is not None:
        answers = [find_column(table, opts.labels_col, (), role="labels", option="--labels-col")]  # type: ignore[list-item]
    if len(answers) != 1:
        found = ", ".join(map(repr, answers)) or "none"
        raise InputError(f"a Label Studio CSV export whose control columns are {found}: name the one that holds "
                         "the labels", file=table.source, hint="pass --labels-col NAME")  # fmt: skip
    label_col = answers[0]
    raw = table.strings(path_col).tolist()
    paths = [labelstudio_path(p) for p in raw]
    lines = table.lines().tolist()
    labels = [_answer_labels(cell, table.source, line)
              for cell, line in zip(table.strings(label_col).tolist(), lines, strict=True)]  # fmt: skip
    ann = Annotations.from_lists(table.source, "labelstudio", paths, labels, lines=lines)
    mapped = sum(p != r for p, r in zip(paths, raw, strict=True))
    ann.notes.append(f"Label Studio CSV export: paths from {path_col!r}, labels from the control {label_col!r}"
                     + (f"; {mapped} Label Studio path(s) (/data/upload/, /data/local-files/) mapped to file names"
                        if mapped else ""))  # fmt: skip
    return ann
