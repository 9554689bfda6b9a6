"""JSON forms: mapping, records, JSON Lines, COCO, Label Studio, FiftyOne."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import Annotations, LedgerEntry, ReadOptions
from labelprep.readers.csvtext import LABELS_COLUMNS, PATH_COLUMNS, norm_name
from labelprep.readers.labelcells import NO_SEP, WHITESPACE, normalise_sep
from labelprep.safeio import loads_json, read_regular_file

__all__ = [
    "labelstudio_path",
    "load_json",
    "read_coco",
    "read_fiftyone",
    "read_json",
    "read_jsonl",
    "read_labelstudio",
]


def _read_text(path: Path) -> str:
    raw = read_regular_file(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
            file=str(path),
            line=raw.count(b"\n", 0, exc.start) + 1,
            hint="JSON files must be UTF-8",
        ) from None
    if not text.strip():
        raise InputError("file is empty", file=str(path), hint="expected JSON annotations")
    return text


def load_json(path: Path) -> Any:
    """Parse a JSON file; malformed JSON is an error naming line and column."""
    text = _read_text(path)
    return loads_json(text, file=str(path),
                      hint="fix the JSON; if the file holds one JSON object a line, pass --format jsonl")  # fmt: skip


def _pick_key(keys: list[str], requested: str | None, candidates: tuple[str, ...], role: str, option: str,
              source: str, exclude: tuple[str, ...] = ()) -> str:  # fmt: skip
    if requested is not None:
        if requested in keys:
            return requested
        folded = [k for k in keys if norm_name(k) == norm_name(requested)]
        if folded:
            return folded[0]
        raise InputError(f"{role} key {requested!r} not found in records", file=source,
                         hint=f"record keys are: {', '.join(map(repr, keys[:12]))}")  # fmt: skip
    by_norm = {norm_name(k): k for k in reversed(keys) if k not in exclude}
    for c in ("filename", *candidates):
        if c in by_norm:
            return by_norm[c]
    raise InputError(f"no {role} key found among record keys {', '.join(map(repr, keys[:12]))}",
                     file=source, hint=f"name it with {option}")  # fmt: skip


def _split_string(value: str, sep: str | None) -> list[str]:
    """One JSON string of labels, split on ``--sep`` when given ("dog|cat"); else one label."""
    sep = normalise_sep(sep)
    if sep is None or sep == NO_SEP:
        return [value]
    parts = value.split() if sep == WHITESPACE else value.split(sep)
    return [t.strip() for t in parts if t.strip()]


# Keys that name what an object in a label list is: BDD100K's labels[].category, Supervisely's classTitle ...
_NAME_KEYS = ("label", "category", "class", "classTitle", "className", "category_name")


def _object_name(obj: dict[str, Any]) -> str | None:
    """The name an object of a label list gives itself (its first name key holding text), or None."""
    return next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)


def _as_labels(value: Any, *, source: str, line: int | None, where: str, sep: str | None = None) -> list[str] | None:
    """A JSON label value as a list of names: list of strings/numbers, one string (split on ``sep``), or null."""
    if value is None:
        return None
    if isinstance(value, str):
        return _split_string(value, sep)
    if isinstance(value, bool):
        raise InputError(f"{where}: labels must be a list of names, not {value!r}", file=source, line=line)
    if isinstance(value, (int, float)):
        return [str(value)]
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(str(v))
            elif isinstance(v, dict) and _object_name(v) is not None:
                out.append(_object_name(v))  # type: ignore[arg-type]
            else:
                raise InputError(f"{where}: label {v!r} is not a name", file=source, line=line,
                                 hint="labels must be strings (or numeric ids with --label-map), or objects naming "
                                 f"themselves by one of: {', '.join(_NAME_KEYS)}")  # fmt: skip
        return out
    if isinstance(value, dict) and isinstance(value.get("label"), str):
        return [value["label"]]
    if isinstance(value, dict) and isinstance(value.get("choices"), list):  # Label Studio JSON-MIN, several choices
        return _as_labels(value["choices"], source=source, line=line, where=where)
    raise InputError(f"{where}: labels must be a list of names, not {type(value).__name__}",
                     file=source, line=line)  # fmt: skip


def _records(records: list[Any], lines: list[int], opts: ReadOptions, source: str, fmt: str) -> Annotations:
    keys: list[str] = []
    seen: set[str] = set()
    for i, r in enumerate(records[:1000]):
        if not isinstance(r, dict):
            raise InputError(f"record {i + 1} is {type(r).__name__}, not an object", file=source, line=lines[i] or None,
                             hint="expected one object per image, such as {\"image\": ..., \"labels\": [...]}")  # fmt: skip
        for k in r:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    path_key = _pick_key(keys, opts.path_col, PATH_COLUMNS, "path", "--path-col", source)
    # "choice": Label Studio's JSON-MIN export names the key after its Choices control
    labels_key = _pick_key(keys, opts.labels_col, (*LABELS_COLUMNS, "choice", "choices"), "labels", "--labels-col",
                           source, (path_key,))  # fmt: skip
    notes = [f"path key {path_key!r}, labels key {labels_key!r}"]
    studio = any(isinstance(r.get(path_key), str) and r[path_key].startswith(("/data/upload/", "/data/local-files"))
                 for r in records[:1000] if isinstance(r, dict))  # fmt: skip
    if studio:
        notes.append("Label Studio paths (/data/upload/, /data/local-files/) mapped to file names")
    json_min = "annotation_id" in keys and "annotator" in keys  # Label Studio's JSON-MIN export
    if json_min:
        notes.append("Label Studio JSON-MIN: a record without the labels key is an image with no label")
    carry = {"split": opts.split_col, "group": opts.group_col, **{k: k for k in opts.keep_cols}}
    paths: list[str] = []
    labels: list[list[str]] = []
    out_lines: list[int] = []
    columns: dict[str, list[Any]] = {k: [] for k, v in carry.items() if v}
    dropped: list[LedgerEntry] = []
    for rec, line in zip(records, lines, strict=True):
        where = f"record {len(paths) + len(dropped) + 1}"
        if not isinstance(rec, dict):
            raise InputError(f"{where} is {type(rec).__name__}, not an object", file=source, line=line or None)
        if path_key not in rec or not isinstance(rec[path_key], str) or not rec[path_key].strip():
            raise InputError(f"{where} has no usable {path_key!r}", file=source, line=line or None,
                             hint=f"every record needs a path; got {rec.get(path_key)!r}")  # fmt: skip
        labs = _as_labels(rec.get(labels_key), source=source, line=line or None, where=where, sep=opts.sep)
        if labs is None and json_min and labels_key not in rec:
            labs = []  # Label Studio JSON-MIN writes no key for a task submitted with nothing chosen
        if labs is None:
            dropped.append(LedgerEntry(source, line or None, rec[path_key], "unlabelled",
                                       f"{labels_key!r} is missing or null"))  # fmt: skip
            continue
        paths.append(labelstudio_path(rec[path_key]) if studio else rec[path_key])
        labels.append(labs)
        out_lines.append(line)
        for name, key in carry.items():
            if key:
                if key not in rec:
                    raise InputError(f"{where} has no {key!r}", file=source, line=line or None)
                columns[name].append("" if rec[key] is None else str(rec[key]))
    ann = Annotations.from_lists(source, fmt, paths, labels, out_lines)
    ann.columns = {k: np.array(v, dtype=object) for k, v in columns.items()}
    ann.notes = notes
    ann.dropped = dropped
    return ann


def read_json(path: Path, opts: ReadOptions, data: Any = None) -> Annotations:
    """A mapping ``{path: [labels]}`` or a list of records ``[{"image": ..., "labels": [...]}]``."""
    source = str(path)
    if data is None:
        data = load_json(path)
    if isinstance(data, dict):
        if not data:
            raise InputError("JSON object is empty", file=source, hint='expected {"image path": [labels], ...}')
        paths, labels, dropped = [], [], []
        for k, v in data.items():
            labs = _as_labels(v, source=source, line=None, where=f"entry {k!r}", sep=opts.sep)
            if labs is None:
                dropped.append(LedgerEntry(source, None, k, "unlabelled", "value is null"))
                continue
            paths.append(k)
            labels.append(labs)
        ann = Annotations.from_lists(source, "json", paths, labels)
        ann.notes = ["JSON mapping {path: [labels]}"]
        ann.dropped = dropped
        if opts.split_col or opts.group_col or opts.keep_cols:
            raise InputError("a JSON mapping has no columns to carry", file=source,
                             hint="use a list of records to carry split, group or other columns")  # fmt: skip
        return ann
    if isinstance(data, list):
        if not data:
            raise InputError("JSON list is empty", file=source, hint="expected one record per image")
        return _records(data, [0] * len(data), opts, source, "json")
    raise InputError(f"top-level JSON is {type(data).__name__}; expected an object or a list", file=source)


def read_jsonl(path: Path, opts: ReadOptions) -> Annotations:
    """JSON Lines: one record per line (Hugging Face ``metadata.jsonl``)."""
    source = str(path)
    text = _read_text(path)
    records, lines = [], []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        records.append(loads_json(raw, file=source, line=lineno, hint="each line must be one JSON object"))
        lines.append(lineno)
    if not records:
        raise InputError("file has no records", file=source)
    return _records(records, lines, opts, source, "jsonl")


def read_coco(path: Path, opts: ReadOptions, data: Any = None) -> Annotations:
    """COCO instances: one row per image (annotated or not); vocabulary = categories in id order."""
    source = str(path)
    if data is None:
        data = load_json(path)
    anns = data.get("annotations")
    cat_ids = {c.get("id") for c in data.get("categories") or [] if isinstance(c, dict)}
    if isinstance(anns, list) and anns and all(isinstance(a, dict) and "caption" in a for a in anns[:100]) \
            and not any(a.get("category_id") in cat_ids for a in anns[:100]):  # fmt: skip
        raise InputError("this is a COCO captions file: sentences, not labels", file=source,
                         hint="convert the instances file (instances_*.json) of the same images")  # fmt: skip
    if isinstance(data.get("images"), list) and not data.get("annotations") and not data.get("categories"):
        raise InputError(f"a COCO image list without labels (image_info: {len(data['images'])} image(s), no "
                         "category, no annotation)", file=source,
                         hint="these are unlabelled images (COCO's test-dev lists); convert an instances file")  # fmt: skip
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise InputError(f"COCO file has no {key!r} list", file=source,
                             hint="expected images, annotations and categories")  # fmt: skip
    cats: dict[Any, str] = {}
    for i, c in enumerate(data["categories"]):
        if not isinstance(c, dict) or "id" not in c or not isinstance(c.get("name"), str):
            raise InputError(f"categories[{i}] needs an 'id' and a 'name'", file=source)
        if c["id"] in cats:
            raise InputError(f"category id {c['id']!r} is listed twice", file=source)
        cats[c["id"]] = c["name"]
    order = sorted(cats, key=lambda x: (str(type(x)), x))
    names = [cats[k] for k in order]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"category names repeat: {', '.join(map(repr, dup))}", file=source,
                         hint="COCO category names must be unique")  # fmt: skip
    code_of = {k: i for i, k in enumerate(order)}
    img_index: dict[Any, int] = {}
    paths = []
    for i, im in enumerate(data["images"]):
        if isinstance(im, dict) and "file_name" not in im and isinstance(im.get("coco_url"), str):
            im = {**im, "file_name": im["coco_url"]}  # LVIS names its images by URL only
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
            raise InputError(f"images[{i}] needs an 'id' and a 'file_name'", file=source)
        if im["id"] in img_index:
            raise InputError(f"image id {im['id']!r} is listed twice (images[{i}])", file=source)
        img_index[im["id"]] = i
        paths.append(im["file_name"])
    rows, codes = [], []
    pairs: set[tuple[int, int]] = set()
    boxes = 0
    no_category = 0
    for j, a in enumerate(data["annotations"]):
        if not isinstance(a, dict):
            raise InputError(f"annotations[{j}] is not an object", file=source)
        if a.get("image_id") not in img_index:
            raise InputError(f"annotations[{j}] refers to image_id {a.get('image_id')!r}, which is not in 'images'",
                             file=source)  # fmt: skip
        # a panoptic annotation is one image's segments, each of a category
        segments: list[Any] = a["segments_info"] if isinstance(a.get("segments_info"), list) else [a]
        for seg in segments:
            cid = seg.get("category_id") if isinstance(seg, dict) else None
            if cid not in code_of:
                if cid in (0, None) and 0 not in code_of:
                    no_category += 1  # Datumaro writes 0 for keypoints or shapes without a label: no class
                    continue
                raise InputError(f"annotations[{j}] has category_id {cid!r}, which is not in 'categories'",
                                 file=source)  # fmt: skip
            pair = (img_index[a["image_id"]], code_of[cid])
            boxes += 1
            if pair not in pairs:
                pairs.add(pair)
                rows.append(pair[0])
                codes.append(pair[1])
    notes = [f"COCO: {len(paths)} images, {len(names)} categories (in id order), "
             f"{boxes} annotations -> {len(pairs)} image labels"]  # fmt: skip
    if no_category:
        notes.append(f"{no_category} annotation(s) with category_id 0 or none: no category, no label")
    return Annotations(
        source=source, format="coco", paths=np.array(paths, dtype=object),
        lines=np.zeros(len(paths), dtype=np.int64), row=np.array(rows, dtype=np.int64),
        code=np.array(codes, dtype=np.int64), names=names, value=np.ones(len(rows), dtype=np.int8),
        declared=names, notes=notes,
    )  # fmt: skip


def labelstudio_path(url: str) -> str:
    """Map a Label Studio image URL to a path under the images root.

    ``/data/upload/<n>/<file>`` becomes ``<file>``; ``/data/local-files/?d=<path>``
    becomes ``<path>``; anything else is returned unchanged.
    """
    parsed = urlparse(url)
    if parsed.path.startswith("/data/local-files") and parsed.query:
        d = parse_qs(parsed.query).get("d")  # already percent-decoded, once, as Label Studio decodes it
        if d:
            return d[0]
    if parsed.path.startswith("/data/upload/"):
        return posixpath.basename(unquote(parsed.path))
    return url


def read_labelstudio(path: Path, opts: ReadOptions, data: Any = None) -> Annotations:
    """Label Studio JSON export of choices; cancelled annotations are skipped."""
    source = str(path)
    if data is None:
        data = load_json(path)
    if not isinstance(data, list):
        raise InputError("a Label Studio export is a JSON list of tasks", file=source)
    paths, labels, dropped = [], [], []
    cancelled = 0
    for i, task in enumerate(data):
        where = f"task {i + 1}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise InputError(f"{where} has no 'data' object", file=source)
        d = task["data"]
        key = opts.path_col or ("image" if "image" in d else next(iter(d), None))
        if key is None or not isinstance(d.get(key), str):
            raise InputError(f"{where} has no image URL in data[{key!r}]", file=source,
                             hint="name the data key with --path-col")  # fmt: skip
        url = d[key]
        anns = task.get("annotations") or task.get("completions") or []
        live = [a for a in anns if isinstance(a, dict) and not a.get("was_cancelled")]
        cancelled += len(anns) - len(live)
        if not live:
            dropped.append(LedgerEntry(source, None, url, "unlabelled",
                                       f"{where}: no annotation that was not cancelled"))  # fmt: skip
            continue
        labs: list[str] = []
        for a in live:
            for r in a.get("result") or []:
                if not isinstance(r, dict):
                    continue
                value = r.get("value") or {}
                if not isinstance(value, dict):
                    raise InputError(f"{where}: a result's 'value' must be an object, not {value!r}", file=source,
                                     hint="check the Label Studio export")  # fmt: skip
                if opts.labels_col and r.get("from_name") not in (None, opts.labels_col):
                    continue
                # choices, and the labels of every region type (rectanglelabels, polygonlabels, brushlabels ...)
                for key, names in value.items():
                    if key == "taxonomy" and isinstance(names, list):
                        names = [n[-1] for n in names if isinstance(n, list) and n]  # a path: its leaf
                    elif key != "choices" and not key.endswith("labels"):
                        continue
                    if not isinstance(names, list) or not all(isinstance(c, str) for c in names):
                        raise InputError(f"{where}: {key!r} must be a list of label names, not {names!r}",
                                         file=source, hint="check the Label Studio export")  # fmt: skip
                    for c in names:
                        if c not in labs:
                            labs.append(c)
        paths.append(labelstudio_path(url))
        labels.append(labs)
    ann = Annotations.from_lists(source, "labelstudio", paths, labels)
    ann.dropped = dropped
    ann.notes = [f"Label Studio: {len(data)} tasks" + (f", {cancelled} cancelled annotation(s) skipped" if cancelled else "")]
    return ann


def read_fiftyone(path: Path, opts: ReadOptions, data: Any = None) -> Annotations:
    """FiftyOne image classification ``labels.json``: targets are class indices or names.

    Keys are sample ids; when a ``data/`` folder sits beside the file, each id is
    resolved to the file ``data/<id>.<ext>``.
    """
    source = str(path)
    if data is None:
        data = load_json(path)
    classes = data.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise InputError("'classes' must be a list of names", file=source)
    labels_map = data.get("labels")
    if not isinstance(labels_map, dict):
        raise InputError("FiftyOne labels.json needs a 'labels' object", file=source)
    data_dir = path.parent / "data"
    by_stem: dict[str, str] = {}
    if data_dir.is_dir():
        for f in sorted(data_dir.iterdir()):
            if f.is_file():
                by_stem.setdefault(f.stem, f"data/{f.name}")
    paths, labels, dropped = [], [], []
    for sample, target in labels_map.items():
        items = target if isinstance(target, list) else [target]
        if target is None:
            dropped.append(LedgerEntry(source, None, sample, "unlabelled", "target is null"))
            continue
        labs = []
        for t in items:
            if isinstance(t, dict):
                t = t.get("label")
            if isinstance(t, bool) or t is None:
                raise InputError(f"sample {sample!r}: target {t!r} is not a class", file=source)
            if isinstance(t, float) and t.is_integer():
                t = int(t)
            if not isinstance(t, (int, str)):
                raise InputError(f"sample {sample!r}: target {t!r} is not a class index or name", file=source,
                                 hint="targets are integers into 'classes', names, or lists of those")  # fmt: skip
            if isinstance(t, int):
                if classes is None or not 0 <= t < len(classes):
                    raise InputError(f"sample {sample!r}: class index {t} is out of range",
                                     file=source, hint=f"'classes' has {len(classes or [])} entries")  # fmt: skip
                labs.append(classes[t])
            else:
                labs.append(str(t))
        paths.append(by_stem.get(sample) or sample)
        labels.append(labs)
    ann = Annotations.from_lists(source, "fiftyone", paths, labels)
    ann.declared = list(classes) if classes else None
    ann.dropped = dropped
    ann.notes = [f"FiftyOne: {len(labels_map)} samples" + (", ids resolved under data/" if by_stem else "")]
    return ann
