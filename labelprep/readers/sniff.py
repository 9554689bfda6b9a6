"""Which annotation form a file or folder is, from positive evidence only.

A form is taken when the input shows it (a COCO file's three lists, ``Annotations/*.xml`` of VOC, YOLO label
lines, label folders that hold images and nothing else ...). When nothing shows a form, or two forms show,
detection refuses with what it found and the command that reads it. :func:`detect` returns the form, what it
read it from and why (the evidence, printed by convert).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelprep.errors import FormatDetectionError, InputError
from labelprep.readers.base import ReadOptions
from labelprep.readers.cloud import cloud_kind, read_json_lines
from labelprep.readers.folders import SPLIT_NAMES, STRUCTURAL, folder_label, is_image_name, walk_files
from labelprep.readers.labelbox import is_labelbox
from labelprep.readers.layout import is_doc_file, is_regular, lines_of, read_text_file, split_word
from labelprep.readers.lists import first_line_is_data, list_delimiter, looks_like_attribute_list
from labelprep.readers.openimages import find_openimages, is_image_list, is_label_file
from labelprep.readers.tools import cvat_kind, is_kitti_text, is_labelme, is_vott
from labelprep.readers.via import is_via
from labelprep.readers.voc import find_voc_root
from labelprep.readers.yolo import NAME_FILES, find_yolo_config, is_yolo_text
from labelprep.safeio import loads_json, read_regular_file, require_regular_file

__all__ = ["Detected", "detect", "json_shape"]

ANNOTATION_SUFFIXES = frozenset({".xml", ".json", ".jsonl", ".ndjson", ".manifest", ".txt", ".csv", ".tsv",
                                 ".yaml", ".yml", ".mat", ".names", ".data", ".pbtxt", ".record", ".tfrecord"})  # fmt: skip
_MASK_NAME = re.compile(r"(^|[_\-.])(mask|masks|gt|gtfine|labelids|instanceids|labeltrainids|segmentation|seg|"
                        r"instance|semantic|color)([_\-.]|$)", re.IGNORECASE)  # fmt: skip
_UNREAD_SUFFIXES = {".nii": "NIfTI medical volumes (BraTS)", ".gz": "compressed volumes", ".pcd": "point clouds",
                    ".bin": "binary arrays (point clouds, KITTI)", ".npy": "NumPy arrays", ".mp4": "video",
                    ".avi": "video", ".mov": "video", ".p": "pickled arrays", ".pkl": "pickled arrays"}  # fmt: skip


@dataclass
class Detected:
    """A detected form: ``format``, the file or folder its reader takes, and the evidence (``why``)."""

    format: str
    path: Path
    why: str
    data: Any = None
    parts: list[tuple[str, Path]] = field(default_factory=list)  # several files of the form: (split, file)


def _refuse(path: Path, what: str, hint: str) -> FormatDetectionError:
    return FormatDetectionError(what, file=str(path), hint=hint)


# ---------------------------------------------------------------------------------------------- files


def json_shape(data: Any) -> str:
    """The JSON form a parsed document has: coco, fiftyone, labelstudio, datumaro, labelme, vott, json, or
    ``unknown:<what>`` for a document no reader takes."""
    if isinstance(data, dict):
        keys = set(data)
        if len({"images", "annotations", "categories"} & keys) >= 2:
            return "coco"
        if {"classes", "labels"} <= keys:
            return "fiftyone"
        if isinstance(data.get("items"), list) and isinstance(data.get("categories"), dict):
            return "datumaro"
        if is_labelme(data):
            return "labelme"
        if is_vott(data):
            return "vott"
        if "objects" in data and "size" in data and "tags" in data:
            return "unknown:Supervisely annotation (one JSON per image)"
        if is_via(data):
            return "via"
        values = list(data.values())[:200]
        if values and all(_label_value(v) for v in values):
            return "json"
        shown = ", ".join(repr(k) for k in list(data)[:8])
        return f"unknown:a JSON object with keys {shown}, whose values are not label lists"
    if isinstance(data, list):
        if not data:
            return "json"
        first = data[0]
        if isinstance(first, dict):
            if isinstance(first.get("data"), dict) and ({"annotations", "completions", "predictions"} & set(first)):
                return "labelstudio"
            if cloud_kind(first):
                return "cloud:" + str(cloud_kind(first))
            if is_labelme(first):
                return "unknown:a list of LabelMe documents (LabelMe writes one file per image)"
            return "json"
        return "json"  # the records reader names the record that is not an object
    return f"unknown:a top-level JSON {type(data).__name__}"


def _label_value(v: Any) -> bool:
    if v is None or isinstance(v, str):
        return True
    if isinstance(v, list):
        return all((isinstance(x, (str, int)) and not isinstance(x, bool)) or (isinstance(x, dict) and "label" in x)
                   for x in v)  # fmt: skip
    if isinstance(v, dict):
        return isinstance(v.get("label"), str) or isinstance(v.get("choices"), list)
    return isinstance(v, int) and not isinstance(v, bool)


def _load_json(path: Path) -> Any:
    from labelprep.readers.jsonforms import load_json

    return load_json(path)


def _xml_root(path: Path) -> ET.Element:
    try:
        return ET.fromstring(read_regular_file(path, what="the XML file"))
    except ET.ParseError as exc:
        raise InputError(f"malformed XML: {exc}", file=str(path), line=exc.position[0] if exc.position else None) from None


def _sniff_xml(path: Path) -> Detected:
    root = _xml_root(path)
    kind = cvat_kind(root)
    if kind == "images":
        return Detected("cvat", path, "CVAT for images XML (<annotations> of <image> elements)")
    if kind == "video":
        raise _refuse(path, "this is a CVAT for video XML (tracks across frames), which labelprep does not read",
                      "export the task as 'CVAT for images 1.1' and convert that file")
    if root.tag == "annotation":
        return Detected("annotation-xml", path, "one Pascal VOC / LabelMe XML annotation (<annotation> with <object>s)")
    raise _refuse(path, f"an XML file with root <{root.tag}>: not an annotation form labelprep reads",
                  "labelprep reads CVAT for images XML, and Pascal VOC / LabelMe XML folders")


def _sniff_json(path: Path) -> Detected:
    data = _load_json(path)
    shape = json_shape(data)
    if shape.startswith("unknown:"):
        raise _refuse(path, f"{shape[8:]}: not an annotation form labelprep reads",
                      "labelprep reads JSON mappings {image: [labels]}, records, COCO, Label Studio, FiftyOne, "
                      "Datumaro, LabelMe, VoTT and VIA files; see the README's forms table")
    if shape.startswith("cloud:"):
        return Detected(shape[6:], path, f"a JSON list of {shape[6:]} records", data=data)
    why = {"coco": "COCO lists images, annotations, categories", "fiftyone": "FiftyOne classes and labels",
           "datumaro": "Datumaro items and categories", "labelme": "LabelMe shapes and imagePath",
           "vott": "VoTT assets and tags", "labelstudio": "Label Studio tasks with data and annotations",
           "via": "VGG Image Annotator images with regions and attributes",
           "json": "a JSON mapping or list of records"}[shape]  # fmt: skip
    return Detected(shape, path, why, data=data)


def _sniff_jsonl(path: Path) -> Detected:
    records = read_json_lines(path)
    if is_labelbox(records[0][1]):
        return Detected("labelbox", path, "a Labelbox NDJSON export (data_row, projects)", data=records)
    kind = cloud_kind(records[0][1])
    if kind is not None:
        what = {"vertex": "Vertex AI JSON Lines (imageGcsUri)", "sagemaker": "SageMaker Ground Truth manifest "
                "(source-ref)", "azure": "Azure ML image JSON Lines (image_url, label)"}[kind]  # fmt: skip
        return Detected(kind, path, what, data=records)
    return Detected("jsonl", path, "JSON Lines records")


def _sniff_text(path: Path, opts: ReadOptions) -> Detected | None:
    """Text forms decided from their first lines; None: a table with a header (the table rules decide)."""
    name = path.name.lower()
    if is_image_list(name):
        return Detected("openimages", path, "an Open Images image list: read with the label files beside it")
    if is_label_file(name) and not (opts.path_col or opts.labels_col or opts.label_cols or opts.confidence_col
                                    or opts.known_labels is not None or opts.path_template):  # fmt: skip
        # (with --label-map or --path-template the user reads it as the long table it is)
        return Detected("openimages", path, "Open Images image-level labels, with the class descriptions and "
                        "image lists beside them")  # fmt: skip
    try:
        require_regular_file(path, what="the source")
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    text = head.decode("utf-8-sig", errors="replace")
    if text.lstrip().startswith("<"):
        return _sniff_xml(path)
    lines = lines_of(text)[:50]
    if len(head) == 1 << 16 and len(lines) > 1:
        lines = lines[:-1]  # the last may be cut off
    if looks_like_attribute_list(lines):
        return Detected("attributes", path, "an attribute list (a count line, a names line, rows of 1/-1)")
    body = [ln for ln in lines if ln.strip()]
    if body and is_yolo_text("\n".join(body)):
        raise _refuse(path, "this is a YOLO label file (class x y w h lines) of one image",
                      "pass the YOLO dataset folder (with data.yaml, obj.names or classes.txt)")
    if body and first_line_is_data(body[0], list_delimiter(body)):
        first = {c.strip().strip('"') for c in re.split(r"[\s,;\t]+", body[0]) if c.strip()}
        named = [c for c in (opts.path_col, opts.labels_col) if c]
        if any(c in first for c in named):
            raise _refuse(path, f"{', '.join(map(repr, [c for c in named if c in first]))} is a cell of the first "
                          "line, which is a row, not a header: naming it as a column would drop that row",
                          "convert the file as a list without a header: --format list")
        if not named:
            return Detected("list", path, "a list without a header line (its first line is a row: "
                            f"{body[0].strip()[:60]!r})")  # fmt: skip
    return None


def _sniff_file(path: Path, opts: ReadOptions) -> Detected | None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _sniff_json(path)
    if suffix in (".jsonl", ".ndjson", ".manifest"):
        return _sniff_jsonl(path)
    if suffix == ".xml":
        return _sniff_xml(path)
    if suffix in (".yaml", ".yml", ".data"):
        cfg = find_yolo_config(path.parent, [path.name])
        if cfg is not None:
            return Detected("yolo", path, f"a YOLO dataset file ({path.name}: class names and splits)")
        raise _refuse(path, "a YAML file without YOLO 'names'", "pass the annotation file or the dataset folder")
    return _sniff_text(path, opts)


# ---------------------------------------------------------------------------------------------- folders


@dataclass
class _Tree:
    root: Path
    files: list[str]
    images: list[str]
    annotations: list[str]  # annotation-like files (not images, not docs)
    hidden: list[str]
    odd_images: list[str]  # images whose names are not UTF-8 (shown escaped): left out by the readers, but there

    def top(self, rel: str) -> str:
        return rel.split("/", 1)[0]


def _survey(root: Path, exclude: list[str]) -> _Tree:
    from labelprep.readers.exclude import exclude_files

    hidden: list[str] = []
    not_utf8: list[str] = []
    files, _ = exclude_files(walk_files(root, hidden, not_utf8), exclude)  # --exclude: as if those were not there
    images = [f for f in files if is_image_name(f)]
    annotations = [f for f in files if not is_image_name(f) and not is_doc_file(f)
                   and os.path.splitext(f)[1].lower() in ANNOTATION_SUFFIXES]  # fmt: skip
    return _Tree(root, files, images, annotations, hidden, [f for f in not_utf8 if is_image_name(f)])


def _shown(items: list[str], n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" ... ({len(items)} in all)" if len(items) > n else "")


def _cmd(root: Path, fmt: str | None = None, source: str | None = None) -> str:
    src = source or str(root)
    return f"labelprep convert {src} -o labels.parquet" + (f" --format {fmt}" if fmt else "")


def _peek_json(path: Path) -> str:
    """The JSON shape of a file, read whole only when small; '' when it cannot be read."""
    try:
        if not is_regular(path):
            return ""
        if path.stat().st_size > 200 << 20:
            with open(path, "rb") as fh:
                head = fh.read(1 << 16).decode("utf-8", errors="replace")
            return "coco" if '"images"' in head and ('"annotations"' in head or '"categories"' in head) else ""
        return json_shape(loads_json(read_text_file(path), file=str(path)))
    except (InputError, ValueError, RecursionError):
        return ""


def _json_files(tree: _Tree) -> dict[str, list[str]]:
    """JSON annotation files by shape (coco, datumaro, labelme, ...), not deeper than two folders."""
    out: dict[str, list[str]] = {}
    for f in tree.annotations:
        if f.lower().endswith(".json") and f.count("/") <= 2:
            shape = _peek_json(tree.root / f)
            if shape and not shape.startswith("unknown"):
                out.setdefault(shape, []).append(f)
    return out


def _xml_kinds(tree: _Tree) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in tree.annotations:
        if f.lower().endswith(".xml") and f.count("/") <= 2:
            try:
                root = _xml_root(tree.root / f)
            except InputError:
                continue
            kind = cvat_kind(root)
            key = f"cvat-{kind}" if kind else ("annotation" if root.tag == "annotation" else "other")
            out.setdefault(key, []).append(f)
    return out


def _split_parts(tree: _Tree, files: list[str], form: str) -> list[tuple[str, Path]]:
    """Files of one form as splits, each named by the split word of its name or of its folder."""
    parts = []
    for f in files:
        stem = os.path.splitext(f.rsplit("/", 1)[-1])[0]
        folder = f.rsplit("/", 2)[-2] if "/" in f else ""
        word = split_word(stem) or (split_word(folder) if folder else None)
        if word is None and len(files) > 1:
            if stem.lower() == "default":
                word = "default"
            else:
                raise _refuse(tree.root, f"{len(files)} {form} files here and {f!r} names no split",
                              "convert them as splits named on the command line: labelprep convert "
                              + " ".join(f"SPLIT={tree.root / g}" for g in files[:3]) + " -o labels.parquet")
        parts.append((_split_name(word or "", stem, folder), tree.root / f))
    rank = {w: i for i, w in enumerate(("train", "training", "trainval", "val", "valid", "validation", "dev", "eval",
                                         "test", "testing"))}  # fmt: skip
    parts.sort(key=lambda p: (rank.get(p[0].lower(), len(rank)), p[0]))
    names = [p[0] for p in parts]
    dup = [n for n, c in Counter(names).items() if c > 1]
    if dup:
        raise _refuse(tree.root, f"two {form} files name the split {dup[0]!r}: "
                      + ", ".join(str(p[1]) for p in parts if p[0] == dup[0]),
                      "pass the one to read as SOURCE")
    return parts


def _split_name(word: str, stem: str, folder: str) -> str:
    """The split as the name writes it (``valid``, ``validation``), found by its split word."""
    for name in (stem, folder):
        for w in re.split(r"[^A-Za-z]+", name):
            if w.lower() == word:
                return w
    return word


def _one_form(tree: _Tree, found: list[tuple[str, str, list[str]]]) -> Detected | None:
    """The one annotation form found in a folder (several: refuse naming them)."""
    if not found:
        return None
    if len(found) > 1:
        listed = "; ".join(f"{what} ({_shown(files, 2)})" for _form, what, files in found)
        cmds = "; ".join(_cmd(tree.root, form) for form, _what, _files in found[:3])
        raise _refuse(tree.root, f"this folder holds annotations of {len(found)} forms: {listed}",
                      f"choose one: {cmds}")
    form, what, files = found[0]
    if form in ("labelme", "annotation-xml"):  # one file a image: the folder is the dataset
        return Detected(form, tree.root, f"{what}: {_shown(files, 3)}")
    parts = _split_parts(tree, files, what) if len(files) > 1 else []
    path = tree.root / files[0] if len(files) == 1 else tree.root
    return Detected(form, path, f"{what}: {_shown(files, 3)}", parts=parts)


def _detect_folder(root: Path, opts: ReadOptions) -> Detected:
    tree = _survey(root, opts.exclude)
    if not tree.files:
        raise InputError("folder is empty", file=str(root), hint="expected label folders, images with tag files, "
                         "or an annotation export")  # fmt: skip
    voc = find_voc_root(root)
    if voc is not None:
        has_xml = (voc / "Annotations").is_dir()
        return Detected("voc", root, "Pascal VOC: " + ("Annotations/*.xml" if has_xml else "ImageSets/Main class "
                        "lists") + (f" in {voc.name}/" if voc != root else ""))  # fmt: skip
    cfg = find_yolo_config(root, tree.files)
    if cfg is not None:
        return Detected("yolo", root, f"YOLO: {cfg.name}")
    label_txt = [f for f in tree.annotations if f.lower().endswith(".txt") and "labels" in f.split("/")[:-1]]
    if label_txt and tree.images and all(is_yolo_text(_head(root / f)) or not _head(root / f).strip()
                                         for f in label_txt[:20]):  # fmt: skip
        names = [f for f in tree.annotations if f.rsplit("/", 1)[-1] in NAME_FILES]
        return Detected("yolo", root, "YOLO: labels/*.txt of class x y w h lines beside images/"
                        + (f", names in {names[0]}" if names else ""))  # fmt: skip
    kitti = [f for f in tree.annotations if f.endswith(".txt") and f.split("/")[-2:-1] == ["label_2"]]
    if kitti and all(is_kitti_text(_head(root / f)) or not _head(root / f).strip() for f in kitti[:20]) \
            and any(_head(root / f).strip() for f in kitti[:20]):
        return Detected("kitti", root, f"KITTI object labels ({_shown(kitti, 2)})")
    oi = find_openimages(root)
    if oi is not None:
        return Detected("openimages", root, f"Open Images CSVs in {os.path.relpath(oi, root)}/")
    attrs = [f for f in tree.annotations if f.rsplit("/", 1)[-1].lower() == "list_attr_celeba.txt"]
    if len(attrs) == 1:
        return Detected("attributes", root / attrs[0], f"CelebA attribute list {attrs[0]}")
    found: list[tuple[str, str, list[str]]] = []
    jsons = _json_files(tree)
    for shape, what in (("coco", "COCO instances"), ("datumaro", "Datumaro JSON"), ("labelstudio", "Label Studio"),
                        ("fiftyone", "FiftyOne labels.json"), ("vott", "VoTT JSON export"),
                        ("via", "VGG Image Annotator JSON")):  # fmt: skip
        if jsons.get(shape):
            found.append((shape, what, jsons[shape]))
    if jsons.get("labelme"):
        found.append(("labelme", "LabelMe JSON (one a image)", jsons["labelme"]))
    xmls = _xml_kinds(tree)
    if xmls.get("cvat-images"):
        found.append(("cvat", "CVAT for images XML", xmls["cvat-images"]))
    if xmls.get("cvat-video"):
        raise _refuse(root, f"CVAT for video XML here ({_shown(xmls['cvat-video'])}), which labelprep does not read",
                      "export the task as 'CVAT for images 1.1' and convert that")
    if xmls.get("annotation"):
        found.append(("annotation-xml", "Pascal VOC / LabelMe XML (one a image)", xmls["annotation"]))
    hf = [f for f in tree.annotations if f.rsplit("/", 1)[-1].lower() in ("metadata.jsonl", "metadata.csv")
          and f.count("/") <= 1]  # fmt: skip
    if hf:
        found.append(("table" if hf[0].endswith(".csv") else "jsonl", "Hugging Face imagefolder metadata", hf))
    rf = [f for f in tree.annotations if f.rsplit("/", 1)[-1].lower() == "_classes.csv" and f.count("/") <= 1]
    if rf:
        found.append(("table", "Roboflow multi-label CSV", rf))
    rfc = [f for f in tree.annotations if f.rsplit("/", 1)[-1].lower() == "_annotations.csv" and f.count("/") <= 1]
    if rfc:
        found.append(("table", "Roboflow CSV export", rfc))
    cloud = [f for f in tree.annotations if f.lower().endswith((".manifest", ".jsonl")) and f.count("/") <= 1
             and f not in hf]  # fmt: skip
    if cloud and not found:
        found.append(("jsonl", "JSON Lines export", cloud))
    # the same file may have been named twice (a Roboflow COCO is COCO): keep the first naming
    seen: set[str] = set()
    unique = []
    for form, what, files in found:
        files = [f for f in files if f not in seen]
        seen.update(files)
        if files:
            unique.append((form, what, files))
    det = _one_form(tree, unique)
    if det is not None:
        return det
    return _detect_image_tree(tree, opts)


def _unread_forms(tree: _Tree) -> str | None:
    """A known form labelprep does not read, named from the files (masks, volumes, point clouds, video)."""
    suffixes = Counter(os.path.splitext(f)[1].lower() for f in tree.files)
    for suffix, what in _UNREAD_SUFFIXES.items():
        if suffixes.get(suffix):
            return f"{what} ({suffixes[suffix]} *{suffix} file(s))"
    dirs = {p.lower() for f in tree.images for p in f.split("/")[:-1]}
    for d in ("segmentationclass", "segmentationobject", "masks", "mask", "gtfine", "gtcoarse", "annotations"):
        if d in dirs:
            return f"segmentation masks (a {d}/ folder of images)"
    annot = sorted(d for d in dirs if d.endswith("annot") or d.endswith("_masks") or d.endswith("_labels"))
    colours = [f for f in tree.files if f.rsplit("/", 1)[-1].lower() in ("label_colors.txt", "labelmap.txt",
                                                                          "class_dict.csv", "label_colours.txt")]
    if annot or colours:
        what = ", ".join([f"{d}/" for d in annot[:3]] + colours[:1])
        return f"segmentation masks with a colour map (CamVid style: {what})"
    masks = [f for f in tree.images if _MASK_NAME.search(os.path.splitext(f.rsplit("/", 1)[-1])[0])]
    if masks and len(masks) * 4 >= len(tree.images):
        return f"segmentation masks ({_shown(masks, 2)})"
    return None


def _detect_image_tree(tree: _Tree, opts: ReadOptions) -> Detected:
    """Images with tag files, or label folders: taken only when the tree looks like one and nothing else."""
    root = tree.root
    if not tree.images:
        others = _shown(tree.annotations or tree.files, 5)
        raise _refuse(root, f"no image and no annotation form labelprep reads here (found: {others})",
                      "pass the annotation file itself, or a folder of label folders")
    unread = _unread_forms(tree)
    txt = {os.path.splitext(f)[0]: f for f in tree.annotations if f.lower().endswith(".txt")}
    beside = [f for f in tree.images if os.path.splitext(f)[0] in txt]
    if beside:
        sample = [txt[os.path.splitext(f)[0]] for f in beside[:20]]
        yolo = [f for f in sample if is_yolo_text(_head(root / f))]
        if yolo and len(yolo) * 2 >= len([s for s in sample if _head(root / s).strip()]):
            name_files = [f for f in tree.annotations if f.rsplit("/", 1)[-1] in NAME_FILES]
            return Detected("yolo", root, f"YOLO label files beside the images ({_shown(yolo, 2)})"
                            + (f", names in {name_files[0]}" if name_files else ""))  # fmt: skip
        extra = [f for f in tree.annotations if f not in set(txt.values()) and f.count("/") <= 1]
        if extra:
            raise _refuse(root, f"images with .txt files beside them, and other annotation files ({_shown(extra)})",
                          "pass the annotation file, or --format sidecar to read the .txt files as tags")
        return Detected("sidecar", root, f"{len(beside)} image(s) with a .txt tag file beside them")
    if unread:
        raise _refuse(root, f"this looks like {unread}, which labelprep does not read as image labels",
                      "labelprep reads image-level labels: label folders, tag files, or annotation files")
    return _label_folders(tree, opts)


def _head(path: Path) -> str:
    try:
        if not is_regular(path):
            return ""  # a FIFO among the files: its reader refuses it by name
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(4096)
    except OSError:
        return ""


def _label_folders(tree: _Tree, opts: ReadOptions) -> Detected:
    """``root/<label>/<image>`` (or ``root/<split>/<label>/<image>``), with positive evidence only."""
    root = tree.root
    loose = [f for f in tree.annotations if not is_doc_file(f)]
    if loose:
        raise _refuse(root, f"annotation files among the images ({_shown(loose)}): not a tree of label folders",
                      "if one of them labels the images, pass that file as SOURCE instead of the folder; if the "
                      "folders are the labels (identities, classes) and the files hold "
                      f"boxes or lists, read the folders: {_cmd(root, 'folder')}")
    tops = Counter(tree.top(f) for f in [*tree.images, *tree.odd_images] if "/" in f)
    direct = [f for f in tree.images if "/" not in f]
    if not tops:
        raise _refuse(root, f"{len(direct)} image(s) directly in this folder and no label folder or annotation file",
                      "a folder of unlabelled images: put each image in a folder named after its label, or pass "
                      "the annotation file that labels them")
    split_tops = [t for t in tops if t.lower() in SPLIT_NAMES]
    level = root
    prefix = ""
    # two split names, or only split names: "train" alone among car/ and bus/ is a label (COCO has one)
    if len(split_tops) >= 2 or (split_tops and len(split_tops) == len(tops)):
        others = [t for t in tops if t not in split_tops]
        if others:
            raise _refuse(root, f"the folders {', '.join(map(repr, split_tops))} are named like splits, but "
                          f"{', '.join(map(repr, others[:5]))} beside them is not one",
                          "move or remove the stray folder (or pass the split folders one by one as sources); "
                          "otherwise the split names would become labels")  # fmt: skip
        if not any(f.count("/") >= 2 for f in tree.images):
            raise _refuse(root, f"the folders {', '.join(map(repr, split_tops))} are named like splits and hold "
                          "the images directly, with no label folders inside",
                          "expected <split>/<label>/<image>; if the labels are in an annotation file, pass that file")
        prefix = "split folders " + ", ".join(sorted(split_tops)) + "; "
        labels = Counter(f.split("/")[1] for f in tree.images if f.count("/") >= 2)
        depth = 1
    else:
        labels, depth = tops, 0
    structural = [lab for lab in labels if lab.lower() in STRUCTURAL]
    # subset folders (Market-1501's bbox_train, bbox_test): names holding different split words
    words = {split_word(lab): lab for lab in labels if split_word(lab) and lab.lower() not in SPLIT_NAMES}
    splitlike = list(words.values()) if len(words) >= 2 else []
    if structural or splitlike:
        bad = structural + splitlike
        raise _refuse(level, f"the folder(s) {', '.join(map(repr, bad[:4]))} name what they hold or a subset, "
                      "not a label: this is not a tree of label folders",
                      "pass the annotation file that labels these images; --format folder reads folder names as "
                      "labels anyway")  # fmt: skip
    if len(labels) < 2 and not depth:  # under split folders the layout itself is the evidence
        only = next(iter(labels))
        raise _refuse(level, f"one folder ({only!r}) holds the images: one label for every image is not evidence "
                      "of label folders", "pass the folder above it, or the annotation file; --format folder reads "
                      "it anyway")  # fmt: skip
    nested = sorted({lab for f in tree.images if f.count("/") > depth + 1
                     and "/" in (lab := folder_label(f.split("/")[depth:-1]))})  # fmt: skip
    why = prefix + f"{len(labels)} label folder(s) holding images ({_shown(sorted(labels), 5)})"
    if nested:
        why += f"; nested folders below them ({_shown(nested, 3)})"
    return Detected("folder", root, why)


# ---------------------------------------------------------------------------------------------- entry


def detect(path: Path, opts: ReadOptions) -> Detected | None:
    """The form of ``path`` from its evidence; None for a table with a header line (decided by the table rules).

    Refuses (:class:`FormatDetectionError`) when no form shows, or two do, naming what was found and the
    command that reads it.
    """
    if path.is_dir():
        return _detect_folder(path, opts)
    return _sniff_file(path, opts)


def headerless_note(lines: list[str]) -> bool:
    return bool(lines) and first_line_is_data(lines[0], list_delimiter(lines))
