"""Labelbox's NDJSON export (v2): one data row a line, its labels per project.

Each line is ``{"data_row": {"external_id", "row_data"}, "projects": {<id>: {"labels": [...]}}}``. A label's
``annotations`` hold ``classifications`` (questions: ``checklist_answers``, a ``radio_answer``, free text) and
``objects`` (boxes, polygons, named by their feature). Which of them are the image's labels is taken only on
evidence:

- ``--labels-col NAME`` names a question (by its name or value), or ``objects``;
- else the one checklist question (a multi-label answer); else, with no checklist, the one radio question;
  else, with no question at all, the objects' classes;
- several candidates: refused, naming them.

Answers and classes are their schema ``value`` (``cat``), not the display name (``Cat``). With several labels
on a row (consensus, benchmarks) the project's ``selected_label_id`` is read, else the first. A data row with
no label is not labelled yet: left out and reported. The image is ``external_id`` (a file name under the
images root), else ``row_data`` (a URL; ``--path-prefix`` or the shared URL folder comes off).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions

__all__ = ["is_labelbox", "read_labelbox"]

OBJECTS = "objects"
NOT_LABELLED_YET = "not labelled yet"


def is_labelbox(record: Any) -> bool:
    """The first record of a Labelbox NDJSON export."""
    return isinstance(record, dict) and isinstance(record.get("data_row"), dict) and \
        isinstance(record.get("projects"), dict)  # fmt: skip


def _key(feature: dict[str, Any]) -> str:
    value = feature.get("value") if isinstance(feature.get("value"), str) else feature.get("name")
    return str(value)


def _label(project: dict[str, Any]) -> dict[str, Any] | None:
    labels = [lab for lab in project.get("labels") or [] if isinstance(lab, dict)]
    if not labels:
        return None
    chosen = (project.get("project_details") or {}).get("selected_label_id")
    return next((lab for lab in labels if lab.get("id") == chosen), labels[0])


def _questions(annotations: dict[str, Any]) -> dict[str, str]:
    """{question name: kind} of one label's classifications: checklist, radio or text."""
    out = {}
    for q in annotations.get("classifications") or []:
        if isinstance(q, dict) and isinstance(q.get("name"), str):
            kind = "checklist" if "checklist_answers" in q else "radio" if "radio_answer" in q else "text"
            out[q["name"]] = kind
    return out


def _choose(kinds: dict[str, str], has_objects: bool, requested: str | None, source: str) -> str:
    """The question whose answers are the labels, or :data:`OBJECTS`."""
    if requested is not None:
        if requested == OBJECTS or requested in kinds:
            return requested
        raise InputError(f"no question named {requested!r} in this export", file=source,
                         hint=f"questions: {', '.join(map(repr, kinds)) or 'none'}; or --labels-col objects")  # fmt: skip
    for kind in ("checklist", "radio"):
        found = [q for q, k in kinds.items() if k == kind]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InputError(f"a Labelbox export with several {kind} questions ({', '.join(map(repr, found))})",
                             file=source, hint="name the one that holds the labels with --labels-col")  # fmt: skip
    if has_objects and not kinds:
        return OBJECTS
    raise InputError("a Labelbox export with no checklist or radio question and no object: nothing names a class",
                     file=source, hint=f"questions: {', '.join(map(repr, kinds)) or 'none'}")  # fmt: skip


def _answers(annotations: dict[str, Any], chosen: str) -> list[str]:
    if chosen == OBJECTS:
        return [_key(o) for o in annotations.get("objects") or [] if isinstance(o, dict)]
    for q in annotations.get("classifications") or []:
        if not isinstance(q, dict) or q.get("name") != chosen:
            continue
        if "checklist_answers" in q:
            return [_key(a) for a in q["checklist_answers"] or [] if isinstance(a, dict)]
        if isinstance(q.get("radio_answer"), dict):
            return [_key(q["radio_answer"])]
        if isinstance(q.get("text_answer"), dict) and isinstance(q["text_answer"].get("content"), str):
            return [q["text_answer"]["content"]]
    return []


def read_labelbox(path: Path, opts: ReadOptions, records: list[tuple[int, Any]]) -> Annotations:
    """A Labelbox NDJSON export (see the module docstring)."""
    source = str(path)
    rows: list[tuple[int, str, dict[str, Any]]] = []
    dropped: list[LedgerEntry] = []
    projects: set[str] = set()
    for line, rec in records:
        if not is_labelbox(rec):
            raise InputError("not a Labelbox data row (no data_row and projects)", file=source, line=line)
        row = rec["data_row"]
        image = row.get("external_id") or row.get("row_data")
        if not isinstance(image, str) or not image:
            raise InputError("a data row with neither external_id nor row_data", file=source, line=line)
        labelled = [(pid, lab) for pid, p in rec["projects"].items() if isinstance(p, dict)
                    and (lab := _label(p)) is not None]  # fmt: skip
        if not labelled:
            dropped.append(LedgerEntry(source, line, image, NOT_LABELLED_YET, "no label in any project"))
            continue
        if len(labelled) > 1:
            raise InputError(f"data row {image!r} is labelled in {len(labelled)} projects", file=source, line=line,
                             hint="export one project at a time")  # fmt: skip
        projects.add(labelled[0][0])
        rows.append((line, image, labelled[0][1].get("annotations") or {}))
    if not rows:
        raise InputError("no data row of this export is labelled", file=source,
                         hint="label the rows in Labelbox, or export the labelled ones")  # fmt: skip
    kinds: dict[str, str] = {}
    for _, _, ann in rows:
        kinds.update(_questions(ann))
    has_objects = any(ann.get("objects") for _, _, ann in rows)
    chosen = _choose(kinds, has_objects, opts.labels_col, source)
    paths = [image for _, image, _ in rows]
    labels = [list(dict.fromkeys(_answers(ann, chosen))) for _, _, ann in rows]
    out = Annotations.from_lists(source, "labelbox", paths, labels, lines=[line for line, _, _ in rows])
    out.dropped = dropped
    what = "the classes of its objects" if chosen == OBJECTS else f"the answers to {kinds[chosen]} question {chosen!r}"
    others = [q for q in kinds if q != chosen]
    out.notes.append(f"Labelbox export: an image's labels are {what} (their values)"
                     + (f"; not read: {', '.join(map(repr, others))} (--labels-col names another)" if others else ""))  # fmt: skip
    if dropped:
        out.notes.append(f"{len(dropped)} data row(s) not labelled yet: left out (in the ledger)")
    return out
