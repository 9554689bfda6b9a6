"""Label maps declare the vocabulary: numbered classes keep every id in order; a label map is a --vocab too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import labelprep
from labelprep.cli import main
from labelprep.vocabulary import Vocabulary

NAMES = [f"class {i:02d}" for i in range(28)]  # a 28-class map, as Human Protein Atlas has


def dataset(tmp_path: Path, *, skip: int = 9) -> Path:
    """Images of every class but ``skip`` (space-separated class ids, HPA style)."""
    ids = [i for i in range(28) if i != skip]
    rows = [f"img{i}.png,{i} {(i + 1) % 28 if (i + 1) % 28 != skip else 0}" for i in ids]
    src = tmp_path / "train.csv"
    src.write_text("Id,Target\n" + "\n".join(rows) + "\n")
    return src


def label_map(tmp_path: Path, header: bool = False) -> Path:
    p = tmp_path / "label_names.csv"
    p.write_text(("id,name\n" if header else "") + "".join(f"{i},{n}\n" for i, n in enumerate(NAMES)))
    return p


@pytest.mark.parametrize("header", [False, True])
def test_a_class_with_no_image_keeps_its_place(tmp_path: Path, header: bool) -> None:
    conv = labelprep.convert(dataset(tmp_path), label_map=label_map(tmp_path, header))
    assert list(conv.vocabulary) == NAMES  # 28 labels: class 10 at index 10, class 9 kept
    assert conv.vocabulary.index("class 10") == 10
    assert int(conv.frame["class 09"].sum()) == 0
    assert conv.summary.unused == ["class 09"]
    assert any("have no image" in n and "'class 09'" in n for n in conv.notes)


def test_convert_says_which_class_has_no_image(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    r = CliRunner().invoke(main, ["convert", str(dataset(tmp_path)), "-o", str(out),
                                  "--label-map", str(label_map(tmp_path))])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "labels: 28" in r.output
    assert "labels no image has: 1 ('class 09'" in r.output


def test_validate_reports_the_unused_class(tmp_path: Path) -> None:
    rep = labelprep.validate(dataset(tmp_path), label_map=label_map(tmp_path), check_images="none",
                             severity={"missing-file": "off"})  # fmt: skip
    unused = [f for f in rep.findings if f.code == "unused-label"]
    assert [f.label for f in unused] == ["class 09"]


@pytest.mark.parametrize("form", ["csv", "csv-header", "txt", "tsv", "json-object"])
def test_a_label_map_is_accepted_as_vocab(tmp_path: Path, form: str) -> None:
    if form == "json-object":
        p = tmp_path / "names.json"
        p.write_text(json.dumps({str(i): n for i, n in reversed(list(enumerate(NAMES)))}))
    elif form == "tsv":
        p = tmp_path / "names.tsv"
        p.write_text("".join(f"{i}\t{n}\n" for i, n in enumerate(NAMES)))
    else:
        p = tmp_path / ("names.txt" if form == "txt" else "names.csv")
        p.write_text(("Id,Name\n" if form == "csv-header" else "") + "".join(f"{i},{n}\n" for i, n in enumerate(NAMES)))
    assert list(Vocabulary.read(p)) == NAMES  # class-id order, whatever order the file lists them in
    conv = labelprep.convert(dataset(tmp_path), label_map=label_map(tmp_path), vocab=p)
    assert list(conv.vocabulary) == NAMES


def test_a_label_map_as_vocab_alone_maps_the_ids(tmp_path: Path) -> None:
    """``--vocab label_names.csv`` without --label-map: the source's labels are its ids, so they are mapped."""
    conv = labelprep.convert(dataset(tmp_path), vocab=label_map(tmp_path))
    assert list(conv.vocabulary) == NAMES
    assert conv.frame.loc[conv.frame["path"] == "img10.png", "class 10"].item() == 1
    assert any("ids of the label map given as --vocab" in n for n in conv.notes)
    rep = labelprep.validate(dataset(tmp_path), vocab=label_map(tmp_path), check_images="none",
                             severity={"missing-file": "off"})  # fmt: skip
    assert not [f for f in rep.findings if f.code == "unknown-label"]
    assert [f.label for f in rep.findings if f.code == "unused-label"] == ["class 09"]


def test_a_label_list_file_is_still_one_label_a_line(tmp_path: Path) -> None:
    p = tmp_path / "vocab.txt"
    p.write_text("smile, happy\ncat\n")  # commas in labels, no numbers: not a map
    assert list(Vocabulary.read(p)) == ["smile, happy", "cat"]


def test_named_ids_keep_the_file_order_and_are_not_padded(tmp_path: Path) -> None:
    """Open Images MIDs are not class numbers: the vocabulary is the labels used, as before."""
    src = tmp_path / "oi.csv"
    src.write_text("ImageID,LabelName\na,/m/02\nb,/m/01\n")
    lmap = tmp_path / "desc.csv"
    lmap.write_text("LabelName,DisplayName\n/m/01,Tortoise\n/m/02,Eye\n/m/03,Toy\n")
    conv = labelprep.convert(src, label_map=lmap)
    assert list(conv.vocabulary) == ["Eye", "Tortoise"]
    assert list(Vocabulary.read(lmap)) == ["Tortoise", "Eye", "Toy"]  # as a vocabulary: the file's order


def test_vocabulary_positions_in_messages_are_one_based() -> None:
    with pytest.raises(labelprep.VocabularyError, match=r"positions 1 and 3"):
        Vocabulary(["cat", "dog", "cat"])


def test_a_name_to_id_json_map_is_read_the_other_way_round(tmp_path: Path) -> None:
    """ML-GCN's category.json and Keras' class_indices map name -> id: every value an integer, no key one."""
    (tmp_path / "category.json").write_text(json.dumps({"airplane": 0, "apple": 1, "baseball bat": 2}))
    src = tmp_path / "train_anno.json"
    src.write_text(json.dumps([{"file_name": "a.jpg", "labels": [1, 2]}, {"file_name": "b.jpg", "labels": [0]}]))
    conv = labelprep.convert(src, label_map=tmp_path / "category.json")
    assert list(conv.vocabulary) == ["airplane", "apple", "baseball bat"]  # class-id order
    rows = dict(zip(conv.frame["path"], conv.frame[list(conv.vocabulary)].values.tolist(), strict=True))
    assert rows == {"a.jpg": [0, 1, 1], "b.jpg": [1, 0, 0]}


def test_a_name_to_id_map_giving_one_id_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "category.json").write_text(json.dumps({"cat": 0, "dog": 0}))
    src = tmp_path / "labels.json"
    src.write_text(json.dumps({"a.jpg": [0]}))
    with pytest.raises(labelprep.InputError, match=r"id 0 is given to two names \('cat' and 'dog'\)"):
        labelprep.convert(src, label_map=tmp_path / "category.json")
