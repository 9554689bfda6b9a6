"""Every trap of the real-world annotation forms (FORMATS.md), written as the real files look.

Each test builds a tiny copy of a dataset's annotation file in ``tmp_path`` (headers
and cell styles copied from the real thing) and asserts the exact frame: columns,
vocabulary order, values and dtypes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main
from labelprep.errors import ConflictError

# ---------------------------------------------------------------------------
# helpers: write files exactly as given, tiny images, the expected frame
# ---------------------------------------------------------------------------

Row = tuple  # (path, labels, *carried): labels is an iterable of positive names or a {label: value} dict


def write(path: Path, text: str, *, crlf: bool = False, bom: bool = False, encoding: str = "utf-8") -> Path:
    """Write ``text`` byte for byte (no newline translation); optionally CRLF line ends and a UTF-8 BOM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def write_json(path: Path, data: object) -> Path:
    return write(path, json.dumps(data, indent=2))


def image(path: Path, shade: int = 0) -> Path:
    """A 2x2 image (PNG or JPEG after the suffix); different shades give different bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (2, 2), (shade, shade, shade)).save(path)
    return path


def expected(vocab: Sequence[str], rows: Iterable[Row], carried: Sequence[str] = ()) -> pd.DataFrame:
    """The canonical frame: path (str), one int8 column per label in ``vocab`` order, carried str columns."""
    records = []
    for path, labels, *rest in rows:
        values = dict(labels) if isinstance(labels, Mapping) else {lab: 1 for lab in labels}
        assert set(values) <= set(vocab), f"test bug: {set(values) - set(vocab)} not in the vocabulary"
        records.append([path, *(values.get(lab, 0) for lab in vocab), *rest])
    cols = ["path", *vocab, *carried]
    frame = pd.DataFrame(records, columns=cols) if records else pd.DataFrame({c: [] for c in cols})
    for c in vocab:
        frame[c] = frame[c].astype("int8")
    for c in ("path", *carried):
        frame[c] = frame[c].astype("str")
    return frame


def assert_frame(
    conv: labelprep.Conversion, vocab: Sequence[str], rows: Iterable[Row], carried: Sequence[str] = ()
) -> None:
    assert list(conv.vocabulary) == list(vocab)
    assert list(conv.frame.columns) == ["path", *vocab, *carried]
    pd.testing.assert_frame_equal(conv.frame, expected(vocab, rows, carried), check_column_type=False)


def ledger_rows(conv: labelprep.Conversion) -> list[tuple[int | None, str, str]]:
    return [(e.line, e.path, e.reason) for e in conv.ledger]


def cli_convert(*args: str) -> str:
    result = CliRunner().invoke(main, ["convert", *args])
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------------------
# Delimited string column: NIH ChestX-ray14
# ---------------------------------------------------------------------------

CXR_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]"
)
CXR_ROWS = [
    "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143",
    "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143",
    "00000001_002.png,Cardiomegaly|Effusion,2,1,58,M,PA,2500,2048,0.168,0.168",
    "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171",
    "00000003_000.png,Hernia,0,3,81,F,PA,2582,2991,0.143,0.143",
]
CXR_VOCAB = ["Cardiomegaly", "Effusion", "Emphysema", "Hernia"]
CXR_EXPECTED = [
    ("images_001/images/00000001_000.png", ["Cardiomegaly"], "1", "PA"),
    ("images_001/images/00000001_001.png", ["Cardiomegaly", "Emphysema"], "1", "PA"),
    ("images_001/images/00000001_002.png", ["Cardiomegaly", "Effusion"], "1", "PA"),
    ("images_002/images/00000002_000.png", [], "2", "PA"),
    ("images_002/images/00000003_000.png", ["Hernia"], "3", "PA"),
]


def make_cxr(root: Path, *, header_comma: bool, row_comma: bool) -> Path:
    """Data_Entry_2017.csv beside images_001/images/ and images_002/images/."""
    header = CXR_HEADER + ("," if header_comma else "")
    rows = [r + ("," if row_comma else "") for r in CXR_ROWS]
    src = write(root / "Data_Entry_2017.csv", "\n".join([header, *rows]) + "\n")
    for path, *_ in CXR_EXPECTED:
        image(root / path)
    return src


@pytest.mark.parametrize(
    ("header_comma", "row_comma"),
    [(False, True), (True, True), (False, False)],
    ids=["rows-trailing-comma", "header-and-rows-trailing-comma", "no-trailing-comma"],
)
def test_chestxray14(tmp_path: Path, header_comma: bool, row_comma: bool) -> None:
    src = make_cxr(tmp_path, header_comma=header_comma, row_comma=row_comma)
    conv = labelprep.convert(
        src, none_label=["No Finding"], find_images=True, group_col="Patient ID", keep_cols=["View Position"]
    )
    assert conv.format == "delimited"
    assert_frame(conv, CXR_VOCAB, CXR_EXPECTED, carried=["group", "View Position"])
    assert "No Finding" not in conv.frame.columns
    assert conv.ledger == []


def test_chestxray14_through_the_cli(tmp_path: Path) -> None:
    src = make_cxr(tmp_path / "cxr", header_comma=False, row_comma=True)
    out = tmp_path / "cxr.parquet"
    cli_convert(str(src), "-o", str(out), "--none-label", "No Finding", "--find-images", "--group-col", "Patient ID")
    frame, vocab = labelprep.read_frame(out)
    assert list(vocab) == CXR_VOCAB
    expect = expected(CXR_VOCAB, [r[:3] for r in CXR_EXPECTED], carried=["group"])
    pd.testing.assert_frame_equal(frame, expect, check_dtype=False, check_column_type=False)
    assert frame[CXR_VOCAB].dtypes.eq("int8").all()


# ---------------------------------------------------------------------------
# Planet, Plant Pathology 2021, Human Protein Atlas, pandas list round trips
# ---------------------------------------------------------------------------

PLANET = """image_name,tags
train_0,haze primary
train_1,agriculture clear primary water
train_2,clear primary
train_3,clear primary blow_down
"""
PLANET_VOCAB = ["agriculture", "blow_down", "clear", "haze", "primary", "water"]
PLANET_LABELS = [
    ["haze", "primary"],
    ["agriculture", "clear", "primary", "water"],
    ["clear", "primary"],
    ["clear", "primary", "blow_down"],
]


@pytest.mark.parametrize(
    ("template", "root_sub", "prefix"),
    [("{}.jpg", "train-jpg", ""), ("train-jpg/{}.jpg", None, "train-jpg/")],
    ids=["images-root", "template-folder"],
)
def test_planet_ids_without_extension(tmp_path: Path, template: str, root_sub: str | None, prefix: str) -> None:
    src = write(tmp_path / "train_v2.csv", PLANET)
    for i in range(4):
        image(tmp_path / "train-jpg" / f"train_{i}.jpg")
    conv = labelprep.convert(src, path_template=template, images_root=tmp_path / root_sub if root_sub else None)
    rows = [(f"{prefix}train_{i}.jpg", labs) for i, labs in enumerate(PLANET_LABELS)]
    assert_frame(conv, PLANET_VOCAB, rows)


def test_path_template_puts_the_id_at_every_placeholder(tmp_path: Path) -> None:
    src = write(tmp_path / "train_v2.csv", "image_name,tags\ntrain_0,haze primary\ntrain_1,clear\n")
    conv = labelprep.convert(src, path_template="{}/{}.jpg")
    assert_frame(conv, ["clear", "haze", "primary"],
                 [("train_0/train_0.jpg", ["haze", "primary"]), ("train_1/train_1.jpg", ["clear"])])  # fmt: skip


PLANT = """image,labels
800113bb65efe69e.jpg,healthy
8002cb321f8bfcdf.jpg,scab frog_eye_leaf_spot complex
80070f7fb5e2ccaa.jpg,scab
800cbf0ff87721f8.jpg,complex
800f85dc5f407aef.jpg,rust
8021b94d437eb7d3.jpg,frog_eye_leaf_spot
80aa0a9d1a0a6bdf.jpg,powdery_mildew
8038d4f4e9bc3e9b.jpg,rust complex
80bc7d353e163e85.jpg,scab frog_eye_leaf_spot
80e8e0e2ad1c7a0c.jpg,powdery_mildew complex
"""
PLANT_LABELS = [
    ["healthy"],
    ["scab", "frog_eye_leaf_spot", "complex"],
    ["scab"],
    ["complex"],
    ["rust"],
    ["frog_eye_leaf_spot"],
    ["powdery_mildew"],
    ["rust", "complex"],
    ["scab", "frog_eye_leaf_spot"],
    ["powdery_mildew", "complex"],
]


@pytest.mark.parametrize("none_label", [[], ["healthy"]], ids=["healthy-is-a-label", "healthy-is-none"])
def test_plant_pathology_six_labels_not_combinations(tmp_path: Path, none_label: list[str]) -> None:
    src = write(tmp_path / "train.csv", PLANT)
    conv = labelprep.convert(src, none_label=none_label)
    vocab = ["complex", "frog_eye_leaf_spot", "healthy", "powdery_mildew", "rust", "scab"]
    if none_label:
        vocab.remove("healthy")
    paths = [line.split(",")[0] for line in PLANT.splitlines()[1:]]
    rows = [(p, [lab for lab in labs if lab in vocab]) for p, labs in zip(paths, PLANT_LABELS, strict=True)]
    assert_frame(conv, vocab, rows)


HPA = """Id,Target
00070df0-bbc3-11e8-b2bc-ac1f6b6435d0,16 0
000a6c98-bb9b-11e8-b2b9-ac1f6b6435d0,7 1 2 0
000a9596-bbc4-11e8-b2bc-ac1f6b6435d0,5
000c99ba-bba4-11e8-b2b9-ac1f6b6435d0,1
"""
HPA_NAMES = [
    "Nucleoplasm", "Nuclear membrane", "Nucleoli", "Nucleoli fibrillar center", "Nuclear speckles",
    "Nuclear bodies", "Endoplasmic reticulum", "Golgi apparatus", "Peroxisomes", "Endosomes", "Lysosomes",
    "Intermediate filaments", "Actin filaments", "Focal adhesion sites", "Microtubules", "Microtubule ends",
    "Cytokinetic bridge",
]  # fmt: skip
HPA_MAPS = {
    "csv-no-header": ("map.csv", "".join(f"{i},{n}\n" for i, n in enumerate(HPA_NAMES))),
    "csv-header": ("map.csv", "Id,Name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(HPA_NAMES))),
    "json-object": ("map.json", json.dumps({str(i): n for i, n in enumerate(HPA_NAMES)})),
    "json-list": ("map.json", json.dumps(HPA_NAMES)),
}


@pytest.mark.parametrize("form", list(HPA_MAPS))
def test_hpa_integer_ids_with_label_map(tmp_path: Path, form: str) -> None:
    src = write(tmp_path / "train.csv", HPA)
    name, text = HPA_MAPS[form]
    lmap = write(tmp_path / name, text)
    conv = labelprep.convert(src, label_map=lmap, path_template="train/{}_green.png")
    # a numbered map declares the vocabulary: every class, in the map's order, class 0 first (as HPA's submissions
    # number them), not by name; classes no image has stay, so index k is class k
    vocab = HPA_NAMES
    ids = [line.split(",")[0] for line in HPA.splitlines()[1:]]
    labels = [
        ["Cytokinetic bridge", "Nucleoplasm"],
        ["Golgi apparatus", "Nuclear membrane", "Nucleoli", "Nucleoplasm"],
        ["Nuclear bodies"],
        ["Nuclear membrane"],
    ]
    assert_frame(conv, vocab, [(f"train/{i}_green.png", labs) for i, labs in zip(ids, labels, strict=True)])


LIST_LABELS = [["dog", "cat"], ["dog"], [], ["dog's toy", "cat"], ["tabby, tabby cat"]]


@pytest.mark.parametrize("style", ["python", "json"])
def test_pandas_list_column_round_trip(tmp_path: Path, style: str) -> None:
    cells = LIST_LABELS if style == "python" else [json.dumps(v) for v in LIST_LABELS]
    src = tmp_path / "labels.csv"
    pd.DataFrame({"image": [f"{i}.jpg" for i in range(5)], "labels": cells}).to_csv(src, index=False)
    text = src.read_text()
    assert ("['dog', 'cat']" if style == "python" else '""dog"", ""cat""') in text  # as pandas writes it
    conv = labelprep.convert(src)
    vocab = ["cat", "dog", "dog's toy", "tabby, tabby cat"]
    assert_frame(conv, vocab, [(f"{i}.jpg", labs) for i, labs in enumerate(LIST_LABELS)])


def test_pandas_tuple_and_set_columns_and_a_parenthesised_label(tmp_path: Path) -> None:
    src = tmp_path / "labels.csv"
    cells = [("dog", "cat"), {"dog"}, "(benign)", ("dog's toy",), "(not 'a' literal"]
    pd.DataFrame({"image": [f"{i}.jpg" for i in range(5)], "labels": cells}).to_csv(src, index=False)
    assert "\"('dog', 'cat')\"" in src.read_text()  # as pandas writes a tuple
    conv = labelprep.convert(src, sep="none")
    rows = [("0.jpg", ["cat", "dog"]), ("1.jpg", ["dog"]), ("2.jpg", ["(benign)"]), ("3.jpg", ["dog's toy"]),
            ("4.jpg", ["(not 'a' literal"])]  # fmt: skip
    assert_frame(conv, sorted({lab for _, labs in rows for lab in labs}), rows)


def test_pandas_numpy_array_column_round_trip(tmp_path: Path) -> None:
    """A list column read back from Parquet holds numpy arrays; to_csv writes ``['dog' 'cat']`` (no commas)."""
    long = [f"attribute number {i:02d}" for i in range(6)]  # long enough for numpy to wrap the line
    lists = [["dog", "cat"], [], ["dog's toy"], long]
    src = tmp_path / "labels.csv"
    cells = [np.array(v, dtype=str) for v in lists]
    pd.DataFrame({"image": [f"{i}.jpg" for i in range(4)], "labels": cells}).to_csv(src, index=False)
    text = src.read_text()
    assert "['dog' 'cat']" in text and text.count("\n") > 5  # as pandas writes it; the long cell is wrapped
    conv = labelprep.convert(src)
    vocab = sorted({lab for labs in lists for lab in labs})
    assert_frame(conv, vocab, [(f"{i}.jpg", labs) for i, labs in enumerate(lists)])


def test_pandas_numpy_int_array_column_with_label_map(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    targets = [np.array([16, 0]), np.array([5])]
    pd.DataFrame({"Id": ["a", "b"], "Target": targets}).to_csv(src, index=False)
    assert "[16  0]" in src.read_text()
    lmap = write(tmp_path / "map.json", json.dumps(HPA_NAMES))
    conv = labelprep.convert(src, label_map=lmap)
    assert_frame(conv, HPA_NAMES,
                 [("a", ["Cytokinetic bridge", "Nucleoplasm"]), ("b", ["Nuclear bodies"])])  # fmt: skip


# ---------------------------------------------------------------------------
# One column per label: CheXpert, Roboflow
# ---------------------------------------------------------------------------

CHEXPERT_LABELS = [
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
    "Fracture", "Support Devices",
]  # fmt: skip
CHEXPERT = (
    "Path,Sex,Age,Frontal/Lateral,AP/PA,"
    + ",".join(CHEXPERT_LABELS)
    + """
CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,,,,,,,,0.0,,,,1.0
CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg,Female,87,Frontal,AP,,,-1.0,1.0,,-1.0,-1.0,,-1.0,,-1.0,,1.0,
CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg,Female,83,Frontal,AP,,,,1.0,,,-1.0,,,,,,1.0,
CheXpert-v1.0-small/train/patient00002/study1/view2_lateral.jpg,Female,83,Lateral,,,,,1.0,,,-1.0,,,,,,1.0,
CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg,Male,41,Frontal,AP,,,,,,1.0,,,,0.0,,,,
CheXpert-v1.0-small/train/patient00004/study1/view1_frontal.jpg,Female,20,Frontal,PA,,0.0,,,1.0,,,-1.0,,,,1.0,,
"""
)


@pytest.mark.parametrize(("uncertain", "u"), [("keep", -1), ("zero", 0), ("one", 1)])
def test_chexpert_wide_uncertain_policies(tmp_path: Path, uncertain: str, u: int) -> None:
    src = write(tmp_path / "train.csv", CHEXPERT)
    conv = labelprep.convert(src, uncertain=uncertain)
    assert conv.format == "wide"
    p = "CheXpert-v1.0-small/train/"
    rows = [
        (p + "patient00001/study1/view1_frontal.jpg", {"No Finding": 1, "Support Devices": 1}),
        (
            p + "patient00002/study2/view1_frontal.jpg",
            {
                "Cardiomegaly": u,
                "Lung Opacity": 1,
                "Edema": u,
                "Consolidation": u,
                "Atelectasis": u,
                "Pleural Effusion": u,
                "Fracture": 1,
            },
        ),
        (p + "patient00002/study1/view1_frontal.jpg", {"Lung Opacity": 1, "Consolidation": u, "Fracture": 1}),
        (p + "patient00002/study1/view2_lateral.jpg", {"Lung Opacity": 1, "Consolidation": u, "Fracture": 1}),
        (p + "patient00003/study1/view1_frontal.jpg", {"Edema": 1}),
        (p + "patient00004/study1/view1_frontal.jpg", {"Lung Lesion": 1, "Pneumonia": u, "Pleural Other": 1}),
    ]
    assert_frame(conv, CHEXPERT_LABELS, rows)
    assert conv.summary.uncertain == (8 if uncertain == "keep" else 0)


def test_labels_differing_only_by_case_are_kept_apart_with_a_note(tmp_path: Path) -> None:
    src = write(tmp_path / "v.csv", "image,labels\na.jpg,Dog\nb.jpg,dog \nc.jpg, dog|DOG|cat\n")
    conv = labelprep.convert(src)
    assert sorted(conv.vocabulary) == ["DOG", "Dog", "cat", "dog"]
    assert any(n.startswith("labels that differ only by case or spacing, kept apart: 'DOG', 'Dog', 'dog'")
               for n in conv.notes)  # fmt: skip


def test_multi_word_labels_are_one_label_with_sep_none_and_the_sniffed_space_says_so(tmp_path: Path) -> None:
    src = write(tmp_path / "g.csv", "image,labels\na.jpg,golden retriever\nb.jpg,hot dog\nc.jpg,dog\n")
    sniffed = labelprep.convert(src)
    assert "hot" in sniffed.vocabulary  # whitespace was sniffed, as for Planet's "haze primary"
    assert any("--sep none" in n and "golden retriever" in n for n in sniffed.notes)
    whole = labelprep.convert(src, sep="none")
    assert sorted(whole.vocabulary) == ["dog", "golden retriever", "hot dog"]
    assert not any("--sep none" in n for n in whole.notes)


def test_chexpert_subset_keeps_a_finding_blank_in_every_row(tmp_path: Path) -> None:
    # The first four rows: Enlarged Cardiomediastinum, Lung Lesion, Pneumonia and Pleural Other are blank throughout.
    lines = CHEXPERT.splitlines()
    src = write(tmp_path / "train.csv", "\n".join(lines[:5]) + "\n")
    conv = labelprep.convert(src)
    assert list(conv.vocabulary) == CHEXPERT_LABELS  # every finding, in the file's order
    assert int((conv.frame["Lung Lesion"] != 0).sum()) == 0
    assert any("blank in every row" in n and "Lung Lesion" in n for n in conv.notes)


def test_a_stray_value_in_a_label_column_is_an_error_not_a_lost_label(tmp_path: Path) -> None:
    src = write(tmp_path / "w.csv", "filename,dog,cat,bird\na.jpg,1,0,0\nb.jpg,1,1,0\nc.jpg,0,0,2\n")
    with pytest.raises(labelprep.InputError, match="column 'bird', among the label columns, holds '2'") as err:
        labelprep.convert(src)
    assert err.value.line == 4 and "--label-cols" in (err.value.hint or "")
    # A metadata column of other numbers, and a blank column after the labels, are not labels.
    src = write(tmp_path / "m.csv", "filename,fold,dog,cat,notes\na.jpg,0,1,0,\nb.jpg,3,1,1,\nc.jpg,4,0,0,\n")
    assert list(labelprep.convert(src).vocabulary) == ["dog", "cat"]


def test_chexpert_label_cols_given_and_columns_carried(tmp_path: Path) -> None:
    src = write(tmp_path / "train.csv", CHEXPERT)
    conv = labelprep.convert(src, label_cols=["Edema", "Fracture"], keep_cols=["Sex", "AP/PA"], uncertain="zero")
    p = "CheXpert-v1.0-small/train/"
    rows = [
        (p + "patient00001/study1/view1_frontal.jpg", [], "Female", "AP"),
        (p + "patient00002/study2/view1_frontal.jpg", ["Fracture"], "Female", "AP"),
        (p + "patient00002/study1/view1_frontal.jpg", ["Fracture"], "Female", "AP"),
        (p + "patient00002/study1/view2_lateral.jpg", ["Fracture"], "Female", ""),
        (p + "patient00003/study1/view1_frontal.jpg", ["Edema"], "Male", "AP"),
        (p + "patient00004/study1/view1_frontal.jpg", [], "Female", "PA"),
    ]
    assert_frame(conv, ["Edema", "Fracture"], rows, carried=["Sex", "AP/PA"])


@pytest.mark.parametrize("value_spaces", [False, True], ids=["plain-values", "spaced-values"])
def test_roboflow_classes_csv_leading_spaces(tmp_path: Path, value_spaces: bool) -> None:
    s = " " if value_spaces else ""
    text = (
        "filename, cat, dog, person\n"
        f"img1_jpg.rf.4c2a8e1f0b.jpg,{s}1,{s}0,{s}1\n"
        f"img2_jpg.rf.9d0e7c3b21.jpg,{s}0,{s}1,{s}0\n"
        f"img3_jpg.rf.07aa51c6de.jpg,{s}0,{s}0,{s}0\n"
    )
    src = write(tmp_path / "train" / "_classes.csv", text)
    conv = labelprep.convert(src)
    rows = [
        ("img1_jpg.rf.4c2a8e1f0b.jpg", ["cat", "person"]),
        ("img2_jpg.rf.9d0e7c3b21.jpg", ["dog"]),
        ("img3_jpg.rf.07aa51c6de.jpg", []),
    ]
    assert_frame(conv, ["cat", "dog", "person"], rows)
    assert conv.images_root == tmp_path / "train"


# ---------------------------------------------------------------------------
# Long format: Open Images (Pascal VOC is not implemented yet)
# ---------------------------------------------------------------------------

OPEN_IMAGES = """ImageID,Source,LabelName,Confidence
000002b66c9c498e,verification,/m/014sv8,1
000002b66c9c498e,verification,/m/0138tl,0
000002b66c9c498e,crowdsource-verified,/m/01g317,1
000002b97e5471a0,verification,/m/0138tl,0
000002b97e5471a0,verification,/m/05s2s,1
0000048549557964,verification,/m/0138tl,0
000002b97e5471a0,crowdsource-verified,/m/05s2s,1
"""
OI_CLASSES = "/m/011k07,Tortoise\n/m/014sv8,Human eye\n/m/0138tl,Toy\n/m/01g317,Person\n/m/05s2s,Plant\n"


@pytest.mark.parametrize("header", [True, False], ids=["descriptions-header", "descriptions-no-header"])
def test_open_images_long_with_mids_and_verified_absent(tmp_path: Path, header: bool) -> None:
    src = write(tmp_path / "oidv6-train-annotations-human-imagelabels.csv", OPEN_IMAGES)
    lmap = write(tmp_path / "class-descriptions.csv", ("LabelName,DisplayName\n" if header else "") + OI_CLASSES)
    conv = labelprep.convert(src, label_map=lmap, path_template="{}.jpg")
    assert conv.format == "long"
    rows = [
        ("000002b66c9c498e.jpg", ["Human eye", "Person"]),
        ("000002b97e5471a0.jpg", ["Plant"]),
        ("0000048549557964.jpg", []),
    ]
    # Toy is only ever verified absent: it is in the vocabulary and never positive
    assert_frame(conv, ["Human eye", "Person", "Plant", "Toy"], rows)
    assert conv.summary.empty_label_sets == 1
    # one row per (image, label) is the form: only the repeated pair on line 8 is a duplicate
    assert ledger_rows(conv) == [(8, "000002b97e5471a0.jpg", "merged duplicate")]
    assert conv.ledger[0].detail == "labels merged into the first listing (line 6)"
    assert conv.summary.merged_duplicates == 1


def test_open_images_confidence_col_given(tmp_path: Path) -> None:
    text = OPEN_IMAGES.replace("Confidence", "Verified")
    src = write(tmp_path / "labels.csv", text)
    lmap = write(tmp_path / "class-descriptions.csv", OI_CLASSES)
    conv = labelprep.convert(src, confidence_col="Verified", label_map=lmap)
    rows = [
        ("000002b66c9c498e", ["Human eye", "Person"]),
        ("000002b97e5471a0", ["Plant"]),
        ("0000048549557964", []),
    ]
    assert_frame(conv, ["Human eye", "Person", "Plant", "Toy"], rows)


def _voc(root: Path, sets: dict[str, dict[str, str]]) -> Path:
    for set_name, per_class in sets.items():
        for cls, text in per_class.items():
            write(root / "ImageSets" / "Main" / f"{cls}_{set_name}.txt", text)
    image(root / "JPEGImages" / "2008_000002.jpg")
    return root


def test_pascal_voc_imagesets_trainval(tmp_path: Path) -> None:
    # VOC pads positive flags with two spaces; 0 means only "difficult" instances
    root = _voc(tmp_path / "VOC2012", {"trainval": {
        "aeroplane": "2008_000002 -1\n2008_000003  1\n2008_000007 -1\n",
        "person": "2008_000002  1\n2008_000003  0\n2008_000007 -1\n",
    }})  # fmt: skip
    conv = labelprep.convert(root)
    assert conv.format == "voc"
    assert list(conv.vocabulary) == ["aeroplane", "person"]
    f = conv.frame.set_index("path")
    assert list(f.index) == ["JPEGImages/2008_000002.jpg", "JPEGImages/2008_000003.jpg", "JPEGImages/2008_000007.jpg"]
    assert f.loc["JPEGImages/2008_000002.jpg"].tolist() == [0, 1]
    assert f.loc["JPEGImages/2008_000003.jpg"].tolist() == [1, -1]  # difficult kept unknown by default
    assert f.loc["JPEGImages/2008_000007.jpg"].tolist() == [0, 0]
    ones = labelprep.convert(root, uncertain="one").frame.set_index("path")
    assert ones.loc["JPEGImages/2008_000003.jpg"].tolist() == [1, 1]


def test_pascal_voc_train_and_val_become_splits(tmp_path: Path) -> None:
    root = _voc(tmp_path / "VOC", {
        "train": {"cat": "a  1\nb -1\n", "dog": "a -1\nb  1\n"},
        "val": {"cat": "c  1\n", "dog": "c  1\n"},
        "trainval": {"cat": "a  1\nb -1\nc  1\n", "dog": "a -1\nb  1\nc  1\n"},
    })  # fmt: skip
    conv = labelprep.convert(root, path_template="{}.jpg")
    rows = [("a.jpg", ["cat"]), ("b.jpg", ["dog"]), ("c.jpg", ["cat", "dog"])]
    assert_frame(conv, ["cat", "dog"], [(p, labs, s) for (p, labs), s in zip(rows, ["train", "train", "val"])],
                 carried=["split"])  # fmt: skip


def test_pascal_voc_devkit_folder_and_an_id_one_list_lacks(tmp_path: Path) -> None:
    _voc(tmp_path / "VOCdevkit" / "VOC2012", {"trainval": {
        "cat": "2008_000002  1\n2008_000005 -1\n",
        "dog": "2008_000002 -1\n",  # lacks 2008_000005
    }})  # fmt: skip
    conv = labelprep.convert(tmp_path / "VOCdevkit")  # the devkit, one folder above the VOC root
    assert conv.format == "voc" and list(conv.vocabulary) == ["cat", "dog"]
    assert conv.images_root == tmp_path / "VOCdevkit" / "VOC2012"
    assert any("1 image(s) missing from some class lists" in n and "dog_trainval.txt" in n for n in conv.notes)
    _voc(tmp_path / "VOCdevkit" / "VOC2007", {"trainval": {"cat": "000001  1\n"}})
    with pytest.raises(labelprep.InputError, match="2 VOC datasets here: VOC2007, VOC2012"):
        labelprep.convert(tmp_path / "VOCdevkit")


def test_pascal_voc_bad_flag_names_file_and_line(tmp_path: Path) -> None:
    root = _voc(tmp_path / "VOC", {"trainval": {"cat": "a 1\nb yes\n"}})
    with pytest.raises(labelprep.InputError) as err:
        labelprep.convert(root)
    assert err.value.line == 2 and str(err.value.file).endswith("cat_trainval.txt")


# ---------------------------------------------------------------------------
# JSON: COCO, Label Studio, FiftyOne, Hugging Face metadata.jsonl
# ---------------------------------------------------------------------------


def test_coco_noncontiguous_ids_boxes_and_unannotated_images(tmp_path: Path) -> None:
    def box(ann_id: int, image_id: int, cat: int) -> dict[str, object]:
        return {"id": ann_id, "image_id": image_id, "category_id": cat, "bbox": [1.0, 2.0, 3.0, 4.0],
                "area": 12.0, "iscrowd": 0, "segmentation": []}  # fmt: skip

    coco = {
        "info": {"description": "COCO 2017 Dataset"},
        "licenses": [],
        "images": [
            {"id": 397133, "file_name": "000000397133.jpg", "height": 427, "width": 640},
            {"id": 37777, "file_name": "000000037777.jpg", "height": 230, "width": 352},
            {"id": 252219, "file_name": "000000252219.jpg", "height": 428, "width": 640},
            {"id": 87038, "file_name": "000000087038.jpg", "height": 480, "width": 640},
        ],
        "annotations": [
            box(1, 397133, 1),
            box(2, 397133, 1),
            box(3, 397133, 18),
            box(4, 397133, 1),
            box(5, 37777, 3),
            box(6, 37777, 3),
            box(7, 252219, 90),
            box(8, 252219, 1),
        ],
        "categories": [  # listed out of id order; ids are not contiguous
            {"supercategory": "animal", "id": 18, "name": "dog"},
            {"supercategory": "person", "id": 1, "name": "person"},
            {"supercategory": "indoor", "id": 90, "name": "toothbrush"},
            {"supercategory": "vehicle", "id": 3, "name": "car"},
            {"supercategory": "indoor", "id": 88, "name": "teddy bear"},
        ],
    }
    src = write_json(tmp_path / "annotations" / "instances_val2017.json", coco)
    conv = labelprep.convert(src, images_root=tmp_path)
    assert conv.format == "coco"
    rows = [
        ("000000397133.jpg", ["person", "dog"]),
        ("000000037777.jpg", ["car"]),
        ("000000252219.jpg", ["person", "toothbrush"]),
        ("000000087038.jpg", []),  # no annotations: an all-zero row
    ]
    assert_frame(conv, ["person", "car", "dog", "teddy bear", "toothbrush"], rows)
    assert conv.ledger == []


def _choices(*names: str) -> list[dict[str, object]]:
    return [{"id": "r1", "type": "choices", "from_name": "choice", "to_name": "image",
             "value": {"choices": list(names)}}]  # fmt: skip


def test_json_label_strings_split_on_sep_and_sep_none_never_splits(tmp_path: Path) -> None:
    src = write(tmp_path / "m.json", json.dumps({"a.jpg": "dog|cat", "b.jpg": ["cat"], "c.jpg": "none here"}))
    assert_frame(labelprep.convert(src, sep="|"), ["cat", "dog", "none here"],
                 [("a.jpg", ["dog", "cat"]), ("b.jpg", ["cat"]), ("c.jpg", ["none here"])])  # fmt: skip
    assert "dog|cat" in labelprep.convert(src).vocabulary  # without --sep a string is one label
    table = write(tmp_path / "t.csv", "image,labels\na.jpg,nonexistent thing\n")
    assert list(labelprep.convert(table, sep="none").vocabulary) == ["nonexistent thing"]


def test_label_studio_json_min_export(tmp_path: Path) -> None:
    records = [
        {"image": "/data/upload/3/a1b2-dog_cat.jpg", "id": 1, "choice": {"choices": ["Dog", "Cat"]}, "annotator": 1},
        {"image": "/data/upload/3/c3d4-cat.jpg", "id": 2, "choice": "Cat", "annotator": 1},
        {"image": "/data/local-files/?d=pets/e5.jpg", "id": 3, "choice": {"choices": []}},
    ]
    src = write(tmp_path / "project-1-min.json", json.dumps(records))
    conv = labelprep.convert(src)
    rows = [("a1b2-dog_cat.jpg", ["Dog", "Cat"]), ("c3d4-cat.jpg", ["Cat"]), ("pets/e5.jpg", [])]
    assert_frame(conv, ["Cat", "Dog"], rows)
    assert any("labels key 'choice'" in n for n in conv.notes)


def test_label_studio_upload_and_local_files_and_cancelled(tmp_path: Path) -> None:
    tasks = [
        {"id": 1, "data": {"image": "/data/upload/3/8f1c2a1b-dog_cat.jpg"},
         "annotations": [{"id": 11, "result": _choices("Dog", "Cat"), "was_cancelled": False}]},
        {"id": 2, "data": {"image": "/data/local-files/?d=photos/park/IMG_0001.jpg"},
         "annotations": [{"id": 21, "result": _choices("Bird"), "was_cancelled": True},
                         {"id": 22, "result": _choices("Dog"), "was_cancelled": False}]},
        {"id": 3, "data": {"image": "/data/upload/3/c3d4e5f6-skipped.jpg"},
         "annotations": [{"id": 31, "result": _choices("Fish"), "was_cancelled": True}]},
        {"id": 4, "data": {"image": "/data/local-files/?d=photos/my%20park/IMG_0002.jpg"},
         "annotations": [{"id": 41, "result": [], "was_cancelled": False}]},
        {"id": 5, "data": {"image": "/data/local-files/?d=photos/50%2520off.jpg"},  # the file is 50%20off.jpg
         "annotations": [{"id": 51, "result": _choices("Cat"), "was_cancelled": False}]},
    ]  # fmt: skip
    src = write_json(tmp_path / "project-1-at-2024-05-01.json", tasks)
    conv = labelprep.convert(src)
    assert conv.format == "labelstudio"
    rows = [
        ("8f1c2a1b-dog_cat.jpg", ["Dog", "Cat"]),
        ("photos/park/IMG_0001.jpg", ["Dog"]),
        ("photos/my park/IMG_0002.jpg", []),
        ("photos/50%20off.jpg", ["Cat"]),
    ]
    assert_frame(conv, ["Cat", "Dog"], rows)  # Bird and Fish were only in cancelled annotations
    assert ledger_rows(conv) == [(None, "/data/upload/3/c3d4e5f6-skipped.jpg", "unlabelled")]


@pytest.mark.parametrize("targets", ["indices", "names"])
def test_fiftyone_targets(tmp_path: Path, targets: str) -> None:
    classes = ["airplane", "automobile", "bird", "cat"]
    by_index = {"000001": [0, 3], "000002": [2], "000003": []}
    labels = by_index if targets == "indices" else {k: [classes[i] for i in v] for k, v in by_index.items()}
    src = write_json(tmp_path / "labels.json", {"classes": classes, "labels": labels})
    for k in by_index:
        image(tmp_path / "data" / f"{k}.jpg")
    conv = labelprep.convert(src)
    assert conv.format == "fiftyone"
    rows = [("data/000001.jpg", ["airplane", "cat"]), ("data/000002.jpg", ["bird"]), ("data/000003.jpg", [])]
    assert_frame(conv, classes, rows)


def test_huggingface_metadata_jsonl(tmp_path: Path) -> None:
    lines = [
        {"file_name": "0001.png", "labels": ["dog", "cat"]},
        {"file_name": "0002.png", "labels": []},
        {"file_name": "0003.png", "labels": ["cat"]},
    ]
    src = write(tmp_path / "metadata.jsonl", "".join(json.dumps(r) + "\n" for r in lines))
    conv = labelprep.convert(src)
    assert_frame(conv, ["cat", "dog"], [("0001.png", ["dog", "cat"]), ("0002.png", []), ("0003.png", ["cat"])])


# ---------------------------------------------------------------------------
# Folders: one folder per label, sidecar tags
# ---------------------------------------------------------------------------


def test_folder_same_file_in_two_label_folders(tmp_path: Path) -> None:
    root = tmp_path / "data"
    image(root / "dog" / "0001.jpg", shade=10)
    image(root / "cat" / "0001.jpg", shade=10)  # same bytes: one image with two labels
    image(root / "dog" / "0002.jpg", shade=20)
    image(root / "person" / "0003.jpg", shade=30)
    conv = labelprep.convert(root)
    assert conv.format == "folder"
    rows = [("cat/0001.jpg", ["cat", "dog"]), ("dog/0002.jpg", ["dog"]), ("person/0003.jpg", ["person"])]
    assert_frame(conv, ["cat", "dog", "person"], rows)
    assert ledger_rows(conv) == [(None, "dog/0001.jpg", "merged copy")]
    assert conv.images_root == root


def test_folder_split_level(tmp_path: Path) -> None:
    root = tmp_path / "data"
    image(root / "train" / "cat" / "0001.jpg", shade=10)
    image(root / "train" / "dog" / "0001.jpg", shade=10)
    image(root / "train" / "dog" / "0002.jpg", shade=20)
    image(root / "val" / "cat" / "0003.jpg", shade=30)
    image(root / "val" / "dog" / "0001.jpg", shade=40)  # same name in another split: another image
    conv = labelprep.convert(root)
    rows = [
        ("train/cat/0001.jpg", ["cat", "dog"], "train"),
        ("train/dog/0002.jpg", ["dog"], "train"),
        ("val/dog/0001.jpg", ["dog"], "val"),
        ("val/cat/0003.jpg", ["cat"], "val"),
    ]
    assert_frame(conv, ["cat", "dog"], rows, carried=["split"])


def test_folder_split_level_survives_a_docs_folder_and_refuses_a_stray_image_folder(tmp_path: Path) -> None:
    root = tmp_path / "data"
    image(root / "train" / "cat" / "0001.jpg", shade=10)
    image(root / "val" / "dog" / "0002.jpg", shade=20)
    write(root / "notes" / "readme.txt", "how we labelled\n")  # not a label, not a split
    conv = labelprep.convert(root)
    assert_frame(conv, ["cat", "dog"], [("train/cat/0001.jpg", ["cat"], "train"), ("val/dog/0002.jpg", ["dog"], "val")],
                 carried=["split"])  # fmt: skip
    image(root / "all" / "0003.jpg", shade=30)  # would make "train" and "val" labels
    with pytest.raises(labelprep.InputError, match="'train', 'val' are named like splits, but 'all' beside them"):
        labelprep.convert(root)


def test_folder_of_split_folders_without_label_folders_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    image(root / "train" / "0001.jpg", shade=10)
    image(root / "valid" / "0002.jpg", shade=20)
    with pytest.raises(labelprep.InputError, match="named like splits and hold the images directly"):
        labelprep.convert(root)


def test_a_label_folder_named_train_among_others_is_a_label(tmp_path: Path) -> None:
    root = tmp_path / "data"
    image(root / "train" / "0001.jpg", shade=10)  # COCO's class "train"
    image(root / "bus" / "0002.jpg", shade=20)
    write(root / "docs" / "readme.txt", "x\n")  # a folder with no image is no label
    conv = labelprep.convert(root)
    assert_frame(conv, ["bus", "train"], [("train/0001.jpg", ["train"]), ("bus/0002.jpg", ["bus"])])


def test_folder_copies_that_differ_in_bytes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    image(root / "cat" / "0001.jpg", shade=10)
    image(root / "dog" / "0001.jpg", shade=200)
    image(root / "dog" / "0002.jpg", shade=20)
    with pytest.raises(ConflictError) as err:
        labelprep.convert(root)
    assert "cat/0001.jpg vs dog/0001.jpg" in str(err.value)
    assert "--on-conflict separate" in str(err.value)
    conv = labelprep.convert(root, on_conflict="separate")
    rows = [("cat/0001.jpg", ["cat"]), ("dog/0001.jpg", ["dog"]), ("dog/0002.jpg", ["dog"])]
    assert_frame(conv, ["cat", "dog"], rows)


def test_sidecar_tags_verbatim_missing_vs_empty(tmp_path: Path) -> None:
    root = tmp_path / "set"
    image(root / "img1.png")
    write(root / "img1.txt", "1girl, tag one, tag_two, artist \\(style\\), blue sky, smile\\, happy\n")
    image(root / "img2.png")
    write(root / "img2.txt", "")  # empty sidecar: an image with no labels
    image(root / "img3.png")  # no sidecar: unlabelled, left out
    image(root / "sub" / "img4.jpg")
    write(root / "sub" / "img4.txt", "tag one,\ntag_two\n")
    conv = labelprep.convert(root)
    assert conv.format == "sidecar"
    vocab = ["1girl", "artist \\(style\\)", "blue sky", "smile, happy", "tag one", "tag_two"]
    rows = [
        ("img1.png", ["1girl", "tag one", "tag_two", "artist \\(style\\)", "blue sky", "smile, happy"]),
        ("img2.png", []),
        ("sub/img4.jpg", ["tag one", "tag_two"]),
    ]
    assert_frame(conv, vocab, rows)
    assert ledger_rows(conv) == [(None, "img3.png", "unlabelled")]
    assert conv.summary.dropped == {"unlabelled": 1}


def test_sidecar_tag_files_in_another_encoding(tmp_path: Path) -> None:
    root = tmp_path / "set"
    image(root / "img1.png")
    (root / "img1.txt").write_bytes("caf\u00e9, tea".encode("latin-1"))
    with pytest.raises(labelprep.InputError, match="tag file is not utf-8 \\(byte 0xe9\\)") as err:
        labelprep.convert(root)
    assert "--encoding latin-1" in (err.value.hint or "")
    assert list(labelprep.convert(root, encoding="latin-1").vocabulary) == ["caf\u00e9", "tea"]


# ---------------------------------------------------------------------------
# Text-file quirks, duplicates, conflicts, paths
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("bom", "crlf"), [(True, False), (False, True), (True, True)], ids=["bom", "crlf", "both"])
def test_bom_crlf_quoted_fields(tmp_path: Path, bom: bool, crlf: bool) -> None:
    text = 'image,labels,split\n"a b.jpg","cat|dog",train\n"x, y.jpg",dog,"val"\nc.jpg,"cat",train\n'
    src = write(tmp_path / "labels.csv", text, bom=bom, crlf=crlf)
    conv = labelprep.convert(src, split_col="split")
    rows = [("a b.jpg", ["cat", "dog"], "train"), ("x, y.jpg", ["dog"], "val"), ("c.jpg", ["cat"], "train")]
    assert_frame(conv, ["cat", "dog"], rows, carried=["split"])


def test_quoted_newline_keeps_ledger_lines_right(tmp_path: Path) -> None:
    text = 'image,labels,note\na.jpg,cat,"first\nsecond"\nb.jpg,dog,x\n\na.jpg,dog,y\na.jpg,cat,z\n'
    src = write(tmp_path / "labels.csv", text, crlf=True)
    conv = labelprep.convert(src)  # a long table: only the repeated (a.jpg, cat) is a duplicate
    assert_frame(conv, ["cat", "dog"], [("a.jpg", ["cat", "dog"]), ("b.jpg", ["dog"])])
    assert ledger_rows(conv) == [(7, "a.jpg", "merged duplicate")]
    delimited = labelprep.convert(src, format="delimited")  # rows are images: both a.jpg rows after the first
    assert ledger_rows(delimited) == [(6, "a.jpg", "merged duplicate"), (7, "a.jpg", "merged duplicate")]


def test_excel_unicode_text_utf16_tsv(tmp_path: Path) -> None:
    """Excel's "Unicode Text" export: UTF-16 LE with a BOM, tab separated; line numbers still right."""
    text = 'image\tlabels\tnote\na.jpg\tcat\t"first\nsecond, \u00e9"\nb.jpg\tdog\tx\na.jpg\tcat\t"y\nz"\n'
    src = tmp_path / "labels.txt"
    src.write_bytes(text.replace("\n", "\r\n").encode("utf-16"))
    conv = labelprep.convert(src, encoding="utf-16")
    assert_frame(conv, ["cat", "dog"], [("a.jpg", ["cat"]), ("b.jpg", ["dog"])])
    assert ledger_rows(conv) == [(5, "a.jpg", "merged duplicate")]


def test_duplicate_rows_merged_and_in_ledger(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat\nb.jpg,dog\na.jpg,dog\na.jpg,cat\n")
    ledger = tmp_path / "ledger.csv"
    conv = labelprep.convert(src, ledger=ledger, format="delimited")  # detected, it would be a long table
    assert_frame(conv, ["cat", "dog"], [("a.jpg", ["cat", "dog"]), ("b.jpg", ["dog"])])
    assert ledger_rows(conv) == [(4, "a.jpg", "merged duplicate"), (5, "a.jpg", "merged duplicate")]
    assert all("line 2" in e.detail for e in conv.ledger)
    assert conv.summary.merged_duplicates == 2
    written = pd.read_csv(ledger, keep_default_na=False)
    assert written[["line", "path", "reason"]].values.tolist() == [[4, "a.jpg", "merged duplicate"],
                                                                   [5, "a.jpg", "merged duplicate"]]  # fmt: skip


def test_conflicting_split_values_for_one_image(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels,split\na.jpg,cat,train\nb.jpg,dog,val\na.jpg,dog,val\n")
    with pytest.raises(ConflictError) as err:
        labelprep.convert(src, split_col="split")
    assert err.value.file == str(src) and err.value.line == 4
    assert "'a.jpg'" in str(err.value) and "'train'" in str(err.value) and "'val'" in str(err.value)
    # the same split listed twice is fine
    ok = write(tmp_path / "ok.csv", "image,labels,split\na.jpg,cat,train\na.jpg,dog,train\n")
    assert_frame(labelprep.convert(ok, split_col="split"), ["cat", "dog"], [("a.jpg", ["cat", "dog"], "train")],
                 carried=["split"])  # fmt: skip


def test_backslash_paths_normalised(tmp_path: Path) -> None:
    text = "image,labels\nimages\\a.jpg,cat\n.\\images\\b.jpg,dog\nimages/a.jpg,dog\nimages\\\\sub\\c.jpg,cat\n"
    src = write(tmp_path / "labels.csv", text)
    conv = labelprep.convert(src)
    rows = [("images/a.jpg", ["cat", "dog"]), ("images/b.jpg", ["dog"]), ("images/sub/c.jpg", ["cat"])]
    assert_frame(conv, ["cat", "dog"], rows)
    assert ledger_rows(conv) == [(4, "images/a.jpg", "merged duplicate")]


def test_absolute_and_dotdot_paths_kept_and_flagged(tmp_path: Path) -> None:
    inside = (tmp_path / "images" / "c.jpg").as_posix()
    text = (
        "image,labels\n"
        "/data/elsewhere/a.jpg,cat\n"
        "../shared/b.jpg,dog\n"
        f"{inside},cat\n"
        "images/../d.jpg,dog\n"
        "C:\\data\\e.jpg,cat\n"
    )
    src = write(tmp_path / "labels.csv", text)
    conv = labelprep.convert(src)
    rows = [
        ("/data/elsewhere/a.jpg", ["cat"]),
        ("../shared/b.jpg", ["dog"]),
        ("images/c.jpg", ["cat"]),
        ("d.jpg", ["dog"]),
        ("C:/data/e.jpg", ["cat"]),
    ]
    assert_frame(conv, ["cat", "dog"], rows)
    notes = "\n".join(conv.notes)
    assert "3 path(s) leave the images root" in notes
    assert "1 absolute path(s) under the images root made relative" in notes
