"""The same small dataset written in every annotation form converts to the identical frame."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import labelprep

LABELS = {
    "a.jpg": ["cat", "dog"],
    "b.jpg": ["dog"],
    "c.jpg": [],
    "d.jpg": ["bird", "cat"],
    "e.jpg": ["bird"],
}
VOCAB = ["bird", "cat", "dog"]


def expected(drop_empty: bool = False) -> pd.DataFrame:
    rows = [(p, *[int(v in labs) for v in VOCAB]) for p, labs in LABELS.items() if labs or not drop_empty]
    df = pd.DataFrame(rows, columns=["path", *VOCAB])
    return df.astype({v: "int8" for v in VOCAB})


def _image(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(path)


def _colour(name: str) -> tuple[int, int, int]:
    return (ord(name[0]) * 2 % 256, 40, 90)


def write_images(root: Path) -> None:
    for name in LABELS:
        _image(root / "data" / name, _colour(name))


def delimited_pipe(d: Path) -> Path:
    lines = ["image,labels"] + [f"data/{p},{'|'.join(labs)}" for p, labs in LABELS.items()]
    (d / "labels.csv").write_text("\n".join(lines) + "\n")
    return d / "labels.csv"


def delimited_space_tsv(d: Path) -> Path:
    lines = ["filename\ttags"] + [f"data/{p}\t{' '.join(labs)}" for p, labs in LABELS.items()]
    (d / "labels.tsv").write_text("\r\n".join(lines) + "\r\n")
    return d / "labels.tsv"


def delimited_semicolon_bom(d: Path) -> Path:
    lines = ['"path","labels"'] + [f'"data/{p}","{";".join(labs)}"' for p, labs in LABELS.items()]
    (d / "labels.csv").write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    return d / "labels.csv"


def python_literal(d: Path) -> Path:
    df = pd.DataFrame({"image": [f"data/{p}" for p in LABELS], "labels": [labs for labs in LABELS.values()]})
    df.to_csv(d / "labels.csv", index=False)  # writes "['cat', 'dog']"
    return d / "labels.csv"


def json_literal(d: Path) -> Path:
    df = pd.DataFrame({"image": [f"data/{p}" for p in LABELS], "labels": [json.dumps(v) for v in LABELS.values()]})
    df.to_csv(d / "labels.csv", index=False)
    return d / "labels.csv"


def wide(d: Path) -> Path:
    lines = ["Path,Sex,bird,cat,dog"]
    for p, labs in LABELS.items():
        lines.append(f"data/{p},F," + ",".join("1.0" if v in labs else ("0.0" if p != "c.jpg" else "") for v in VOCAB))
    (d / "train.csv").write_text("\n".join(lines) + "\n")
    return d / "train.csv"


def long(d: Path) -> Path:
    lines = ["ImageID,Source,LabelName,Confidence"]
    for p, labs in LABELS.items():
        lines += [f"data/{p},human,{lab},1" for lab in labs]
    lines.append("data/c.jpg,human,cat,0")  # verified absent: c.jpg is listed, with no label
    (d / "labels.csv").write_text("\n".join(lines) + "\n")
    return d / "labels.csv"


def json_mapping(d: Path) -> Path:
    (d / "labels.json").write_text(json.dumps({f"data/{p}": labs for p, labs in LABELS.items()}))
    return d / "labels.json"


def json_records(d: Path) -> Path:
    (d / "labels.json").write_text(json.dumps([{"image": f"data/{p}", "labels": labs} for p, labs in LABELS.items()]))
    return d / "labels.json"


def jsonl(d: Path) -> Path:
    text = "\n".join(json.dumps({"file_name": f"data/{p}", "labels": labs}) for p, labs in LABELS.items())
    (d / "metadata.jsonl").write_text(text + "\n")
    return d / "metadata.jsonl"


def coco(d: Path) -> Path:
    ids = {"bird": 1, "cat": 5, "dog": 9}
    images = [{"id": 100 + i, "file_name": f"data/{p}", "width": 8, "height": 8} for i, p in enumerate(LABELS)]
    anns = []
    for i, labs in enumerate(LABELS.values()):
        for lab in labs:
            for _box in range(2):  # two boxes of one class are one label
                anns.append({"id": len(anns) + 1, "image_id": 100 + i, "category_id": ids[lab], "bbox": [0, 0, 1, 1]})
    cats = [{"id": v, "name": k, "supercategory": "animal"} for k, v in ids.items()]
    (d / "instances.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return d / "instances.json"


def labelstudio(d: Path) -> Path:
    tasks = []
    for i, (p, labs) in enumerate(LABELS.items()):
        url = f"/data/local-files/?d=data/{p}"
        result = [{"type": "choices", "from_name": "tags", "to_name": "image", "value": {"choices": labs}}] if labs else []
        anns = [{"result": result, "was_cancelled": False}]
        if i == 0:
            anns.append({"result": [{"type": "choices", "value": {"choices": ["bird"]}}], "was_cancelled": True})
        tasks.append({"id": i + 1, "data": {"image": url}, "annotations": anns})
    (d / "export.json").write_text(json.dumps(tasks))
    return d / "export.json"


def fiftyone(d: Path) -> Path:
    write_images(d)
    labels = {p[:-4]: [VOCAB.index(x) if i % 2 else x for i, x in enumerate(labs)] for p, labs in LABELS.items()}
    (d / "labels.json").write_text(json.dumps({"classes": VOCAB, "labels": labels}))
    return d / "labels.json"


def sidecar(d: Path) -> Path:
    write_images(d)
    for p, labs in LABELS.items():
        (d / "data" / p).with_suffix(".txt").write_text(", ".join(labs))
    return d


def folder(d: Path) -> Path:
    for p, labs in LABELS.items():
        for lab in labs:
            _image(d / "root" / lab / "data" / p, _colour(p))
    return d / "root"


FORMS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "delimited-pipe": (delimited_pipe, "delimited"),
    "delimited-space-tsv-crlf": (delimited_space_tsv, "delimited"),
    "delimited-semicolon-bom-quoted": (delimited_semicolon_bom, "delimited"),
    "python-list-literal": (python_literal, "delimited"),
    "json-list-literal": (json_literal, "delimited"),
    "wide": (wide, "wide"),
    "long": (long, "long"),
    "json-mapping": (json_mapping, "json"),
    "json-records": (json_records, "json"),
    "jsonl": (jsonl, "jsonl"),
    "coco": (coco, "coco"),
    "labelstudio": (labelstudio, "labelstudio"),
    "fiftyone": (fiftyone, "fiftyone"),
    "sidecar": (sidecar, "sidecar"),
    "folder": (folder, "folder"),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_gives_the_identical_frame(form: str, tmp_path: Path) -> None:
    make, fmt = FORMS[form]
    source = make(tmp_path)
    conv = labelprep.convert(source)
    assert conv.format == fmt  # detected, not forced
    frame = conv.frame
    want = expected(drop_empty=form == "folder")  # a folder layout cannot hold an image with no label
    if form == "folder":
        # the folder form's path is the first copy in sorted label order: <label>/data/<file>
        assert frame["path"].str.split("/").str[0].isin(VOCAB).all()
        frame = frame.assign(path=frame["path"].str.split("/", n=1).str[1])
    frame = frame.assign(path=frame["path"].str.removeprefix("data/"))
    frame = frame.sort_values("path", ignore_index=True)
    assert list(conv.vocabulary) == VOCAB
    pd.testing.assert_frame_equal(frame, want, check_dtype=False)
    assert all(frame[v].dtype == np.int8 for v in VOCAB)
    labelprep.check_frame(conv.frame, conv.vocabulary)
    # forcing the detected format gives the same answer
    forced = labelprep.convert(source, format=fmt)
    pd.testing.assert_frame_equal(forced.frame, conv.frame)


def test_folder_form_with_a_split_level(tmp_path: Path) -> None:
    for split, names in {"train": ["a.jpg", "b.jpg", "d.jpg"], "val": ["e.jpg"]}.items():
        for name in names:
            for lab in LABELS[name]:
                _image(tmp_path / split / lab / name, _colour(name))
    conv = labelprep.convert(tmp_path)
    f = conv.frame
    assert list(f.columns) == ["path", *VOCAB, "split"]
    assert dict(zip(f["path"], f["split"])) == {
        "train/cat/a.jpg": "train", "train/dog/b.jpg": "train", "train/bird/d.jpg": "train", "val/bird/e.jpg": "val",
    }  # fmt: skip
    row = f.set_index("path").loc["train/cat/a.jpg"]
    assert (row["cat"], row["dog"], row["bird"]) == (1, 1, 0)
