"""The fixed schemas in schemas/ agree with the code that reads and writes those files.

Each JSON Schema must be a valid draft 2020-12 schema; documents it accepts must
convert, and the invalid documents below must be rejected by both the schema and
labelprep. The pandera YAML of the example frame must be what labelprep.schema
generates and must validate the converted example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandera.pandas as pa
import pytest
from jsonschema import Draft202012Validator

import labelprep
from labelprep import LabelprepError, Vocabulary, VocabularyError, to_label_lists

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
SHAPES_CSV = ROOT / "examples" / "shapes" / "labels.csv"
SHAPES_VOCAB = ("circle", "square", "triangle")

JSON_SCHEMAS = (
    "vocabulary.schema.json",
    "annotations-mapping.schema.json",
    "annotations-records.schema.json",
    "annotations-jsonl-record.schema.json",
    "coco-instances.schema.json",
    "labelstudio-export.schema.json",
    "fiftyone-classification.schema.json",
    "validate-report.schema.json",
    "manifest.schema.json",
)


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


def is_valid(name: str, doc: Any) -> bool:
    return validator(name).is_valid(doc)


def write_json(tmp_path: Path, name: str, doc: Any) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def labels_by_path(conv: labelprep.Conversion) -> dict[str, list[str]]:
    lists = to_label_lists(conv.frame, conv.vocabulary)
    return dict(zip(conv.frame["path"].tolist(), lists, strict=True))


# -- the schema files themselves ------------------------------------------------------------------


def test_every_schema_file_is_listed() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(JSON_SCHEMAS)
    assert (SCHEMAS / "frame.shapes.yaml").is_file()
    assert (SCHEMAS / "README.md").is_file()


@pytest.mark.parametrize("name", JSON_SCHEMAS)
def test_json_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in schema
    assert schema["title"].strip()
    assert schema["description"].strip()


# -- vocabulary -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [[], ["cat"], ["cat", "dog", "traffic light"], ["é", "猫", "a\nb", "1"]],
    ids=["empty", "one", "several", "unicode"],
)
def test_written_vocabulary_validates(tmp_path: Path, labels: list[str]) -> None:
    vocab = Vocabulary(labels)
    doc = json.loads(vocab.to_json())
    validator("vocabulary.schema.json").validate(doc)
    p = tmp_path / "labels.vocab.json"
    p.write_text(vocab.to_json(), encoding="utf-8")
    assert Vocabulary.read(p) == vocab


GOOD_SHA = Vocabulary(["cat", "dog"]).sha256

VOCAB_CASES = [
    # (document, accepted by both schema and Vocabulary.from_dict)
    (["cat", "dog"], True),
    ([], True),
    ({"labels": ["cat", "dog"]}, True),
    ({"format_version": 1, "labels": ["cat", "dog"], "sha256": GOOD_SHA}, True),
    ({"labels": ["cat"], "comment": "extra keys are ignored"}, True),
    (["a b", "a\tb"], True),
    (["cat", "cat"], False),
    ({"format_version": 1, "labels": ["cat", "dog", "cat"]}, False),
    ([""], False),
    ({"labels": [""]}, False),
    ([" cat"], False),
    (["cat "], False),
    (["cat\n"], False),
    (["\u00a0cat"], False),
    ([1], False),
    ([None], False),
    ({"labels": "cat"}, False),
    ({"labels": {"cat": 0}}, False),
    ({}, False),
    ("cat", False),
    (None, False),
]


@pytest.mark.parametrize(("doc", "ok"), VOCAB_CASES, ids=[f"case{i}" for i in range(len(VOCAB_CASES))])
def test_vocabulary_schema_and_code_agree(doc: Any, ok: bool) -> None:
    assert is_valid("vocabulary.schema.json", doc) is ok
    if ok:
        Vocabulary.from_dict(doc)
    else:
        with pytest.raises(VocabularyError):
            Vocabulary.from_dict(doc)


def test_vocabulary_schema_sha256_shape() -> None:
    # the hash's value is only checked by the code; its shape by both
    assert not is_valid("vocabulary.schema.json", {"labels": ["cat"], "sha256": "abc"})
    assert not is_valid("vocabulary.schema.json", {"labels": ["cat"], "sha256": GOOD_SHA.upper()})
    with pytest.raises(VocabularyError):
        Vocabulary.from_dict({"labels": ["cat", "dog"], "sha256": GOOD_SHA.upper()})
    with pytest.raises(VocabularyError):
        Vocabulary.from_dict({"labels": ["cat", "dog"], "sha256": "abc"})


# -- annotation forms: valid documents ------------------------------------------------------------

MAPPING = {
    "a.jpg": ["cat", "dog"],
    "b.jpg": "cat",
    "c.jpg": None,
    "d.jpg": [],
    "e.jpg": {"label": "dog"},
    "f.jpg": [{"label": "cat"}, " dog "],
}

RECORDS = [
    {"image": "a.jpg", "labels": ["cat", "dog"], "split": "train"},
    {"image": "b.jpg", "labels": "cat", "split": "val"},
    {"image": "c.jpg", "labels": None, "split": "train"},
    {"image": "d.jpg", "split": "test"},
    {"image": "e.jpg", "labels": [], "split": "test"},
]

COCO = {
    "info": {"description": "tiny"},
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": 8, "height": 8},
        {"id": 2, "file_name": "b.jpg"},
        {"id": 3, "file_name": "c.jpg"},
    ],
    "annotations": [
        {"id": 10, "image_id": 1, "category_id": 7, "bbox": [0, 0, 1, 1]},
        {"id": 11, "image_id": 1, "category_id": 7, "bbox": [2, 2, 1, 1]},
        {"id": 12, "image_id": 1, "category_id": 3},
        {"id": 13, "image_id": 2, "category_id": 7},
    ],
    "categories": [{"id": 7, "name": "dog", "supercategory": "animal"}, {"id": 3, "name": "cat"}],
}

LABELSTUDIO = [
    {
        "id": 1,
        "data": {"image": "/data/upload/1/a.jpg"},
        "annotations": [
            {
                "id": 1,
                "result": [
                    {"type": "choices", "from_name": "label", "to_name": "image", "value": {"choices": ["cat", "dog"]}}
                ],
                "was_cancelled": False,
            }
        ],
    },
    {
        "id": 2,
        "data": {"image": "/data/local-files/?d=imgs/b.jpg"},
        "annotations": [
            {"result": [{"type": "choices", "value": {"choices": ["dog"]}}], "was_cancelled": True},
            {"result": [{"type": "choices", "value": {"choices": ["cat"]}}]},
        ],
    },
    {"id": 3, "data": {"image": "c.jpg"}, "annotations": [{"result": [], "was_cancelled": True}]},
    {"id": 4, "data": {"image": "d.jpg"}, "completions": [{"result": [{"type": "choices", "value": {"choices": []}}]}]},
]

FIFTYONE = {
    "classes": ["cat", "dog"],
    "labels": {
        "s1": 0,
        "s2": "dog",
        "s3": [0, 1],
        "s4": None,
        "s5": {"label": 1},
        "s6": [{"label": "cat"}],
        "s7": [],
    },
}


def test_mapping_validates_and_converts(tmp_path: Path) -> None:
    validator("annotations-mapping.schema.json").validate(MAPPING)
    conv = labelprep.convert(write_json(tmp_path, "labels.json", MAPPING))
    assert conv.format == "json"
    assert list(conv.vocabulary) == ["cat", "dog"]
    assert labels_by_path(conv) == {
        "a.jpg": ["cat", "dog"],
        "b.jpg": ["cat"],
        "d.jpg": [],
        "e.jpg": ["dog"],
        "f.jpg": ["cat", "dog"],
    }
    assert [e.path for e in conv.ledger] == ["c.jpg"]


def test_records_validate_and_convert(tmp_path: Path) -> None:
    validator("annotations-records.schema.json").validate(RECORDS)
    conv = labelprep.convert(write_json(tmp_path, "records.json", RECORDS), split_col="split")
    assert conv.format == "json"
    assert labels_by_path(conv) == {"a.jpg": ["cat", "dog"], "b.jpg": ["cat"], "e.jpg": []}
    assert conv.frame["split"].tolist() == ["train", "val", "test"]
    assert sorted(e.path for e in conv.ledger) == ["c.jpg", "d.jpg"]


def record_key_spellings() -> tuple[list[str], list[str]]:
    record = json.loads((SCHEMAS / "annotations-records.schema.json").read_text(encoding="utf-8"))["$defs"]["record"]
    path_keys = [branch["required"][0] for branch in record["anyOf"]]
    return path_keys, list(record["properties"])


@pytest.mark.parametrize("key", record_key_spellings()[0])
def test_every_path_key_spelling_is_read(tmp_path: Path, key: str) -> None:
    doc = [{key: "a.jpg", "labels": ["cat"]}]
    validator("annotations-records.schema.json").validate(doc)
    assert labels_by_path(labelprep.convert(write_json(tmp_path, "records.json", doc))) == {"a.jpg": ["cat"]}


@pytest.mark.parametrize("key", record_key_spellings()[1])
def test_every_labels_key_spelling_is_read(tmp_path: Path, key: str) -> None:
    doc = [{"image": "a.jpg", key: ["cat"]}]
    validator("annotations-records.schema.json").validate(doc)
    assert labels_by_path(labelprep.convert(write_json(tmp_path, "records.json", doc))) == {"a.jpg": ["cat"]}


def test_jsonl_records_validate_and_convert(tmp_path: Path) -> None:
    lines = [
        {"file_name": "a.jpg", "labels": ["cat"]},
        {"file_name": "b.jpg", "labels": "dog", "extra": {"nested": True}},
        {"file_name": "c.jpg", "tags": ["ignored: labels is the labels key"]},
    ]
    record = validator("annotations-jsonl-record.schema.json")
    for rec in lines:
        record.validate(rec)
    p = tmp_path / "metadata.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in lines[:2]) + "\n\n", encoding="utf-8")
    conv = labelprep.convert(p)
    assert conv.format == "jsonl"
    assert labels_by_path(conv) == {"a.jpg": ["cat"], "b.jpg": ["dog"]}


def test_coco_validates_and_converts(tmp_path: Path) -> None:
    validator("coco-instances.schema.json").validate(COCO)
    conv = labelprep.convert(write_json(tmp_path, "instances.json", COCO))
    assert conv.format == "coco"
    assert list(conv.vocabulary) == ["cat", "dog"]  # category id order
    assert labels_by_path(conv) == {"a.jpg": ["cat", "dog"], "b.jpg": ["dog"], "c.jpg": []}


def test_labelstudio_validates_and_converts(tmp_path: Path) -> None:
    validator("labelstudio-export.schema.json").validate(LABELSTUDIO)
    conv = labelprep.convert(write_json(tmp_path, "export.json", LABELSTUDIO))
    assert conv.format == "labelstudio"
    assert labels_by_path(conv) == {"a.jpg": ["cat", "dog"], "imgs/b.jpg": ["cat"], "d.jpg": []}
    assert [e.path for e in conv.ledger] == ["c.jpg"]


def test_fiftyone_validates_and_converts(tmp_path: Path) -> None:
    validator("fiftyone-classification.schema.json").validate(FIFTYONE)
    conv = labelprep.convert(write_json(tmp_path, "labels.json", FIFTYONE))
    assert conv.format == "fiftyone"
    assert list(conv.vocabulary) == ["cat", "dog"]
    assert labels_by_path(conv) == {
        "s1": ["cat"],
        "s2": ["dog"],
        "s3": ["cat", "dog"],
        "s5": ["dog"],
        "s6": ["cat"],
        "s7": [],
    }


def test_fiftyone_ids_resolve_under_data(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "s1.jpg").write_bytes(b"")
    doc = {"classes": None, "labels": {"s1": "cat"}}
    validator("fiftyone-classification.schema.json").validate(doc)
    conv = labelprep.convert(write_json(tmp_path, "labels.json", doc))
    assert labels_by_path(conv) == {"data/s1.jpg": ["cat"]}


# -- annotation forms: invalid documents, rejected by schema and code -----------------------------

INVALID = {
    "mapping-bool-labels": ("annotations-mapping.schema.json", {"a.jpg": True}),
    "mapping-number-in-label-object": ("annotations-mapping.schema.json", {"a.jpg": [{"label": 3}]}),
    "mapping-object-without-label": ("annotations-mapping.schema.json", {"a.jpg": {"name": "cat"}}),
    "mapping-nested-list": ("annotations-mapping.schema.json", {"a.jpg": [["cat"]]}),
    "mapping-blank-path": ("annotations-mapping.schema.json", {" ": ["cat"]}),
    "mapping-empty-path": ("annotations-mapping.schema.json", {"": ["cat"]}),
    "records-empty-list": ("annotations-records.schema.json", []),
    "records-not-objects": ("annotations-records.schema.json", [{"image": "a.jpg", "labels": ["cat"]}, "b.jpg"]),
    "records-no-path-key": ("annotations-records.schema.json", [{"labels": ["cat"]}]),
    "records-one-without-path": (
        "annotations-records.schema.json",
        [{"image": "a.jpg", "labels": ["cat"]}, {"labels": ["dog"]}],
    ),
    "records-blank-path": ("annotations-records.schema.json", [{"image": "  ", "labels": ["cat"]}]),
    "records-path-not-string": ("annotations-records.schema.json", [{"image": 3, "labels": ["cat"]}]),
    "records-no-labels-key": ("annotations-records.schema.json", [{"image": "a.jpg"}, {"image": "b.jpg"}]),
    "records-number-in-label-object": (
        "annotations-records.schema.json",
        [{"image": "a.jpg", "labels": [{"label": 3}]}],
    ),
    "records-bool-label": ("annotations-records.schema.json", [{"image": "a.jpg", "labels": [True]}]),
    "coco-images-not-list": ("coco-instances.schema.json", {"images": {}, "annotations": [], "categories": []}),
    "coco-annotations-not-list": (
        "coco-instances.schema.json",
        {"images": [], "annotations": None, "categories": []},
    ),
    "coco-category-without-name": (
        "coco-instances.schema.json",
        {"images": [], "annotations": [], "categories": [{"id": 1}]},
    ),
    "coco-category-name-not-string": (
        "coco-instances.schema.json",
        {"images": [], "annotations": [], "categories": [{"id": 1, "name": 1}]},
    ),
    "coco-image-without-file-name": (
        "coco-instances.schema.json",
        {"images": [{"id": 1}], "annotations": [], "categories": []},
    ),
    "coco-blank-file-name": (
        "coco-instances.schema.json",
        {"images": [{"id": 1, "file_name": " "}], "annotations": [], "categories": []},
    ),
    "coco-image-id-list": (
        "coco-instances.schema.json",
        {"images": [{"id": [1], "file_name": "a.jpg"}], "annotations": [], "categories": []},
    ),
    "coco-annotation-without-image-id": (
        "coco-instances.schema.json",
        {
            "images": [{"id": 1, "file_name": "a.jpg"}],
            "annotations": [{"category_id": 1}],
            "categories": [{"id": 1, "name": "cat"}],
        },
    ),
    "coco-annotation-not-object": (
        "coco-instances.schema.json",
        {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [1], "categories": [{"id": 1, "name": "cat"}]},
    ),
    "coco-no-images-key": (
        "coco-instances.schema.json",
        {"annotations": [{"image_id": 1, "category_id": 1}], "categories": [{"id": 1, "name": "cat"}]},
    ),
    "labelstudio-task-without-data": (
        "labelstudio-export.schema.json",
        [{"data": {"image": "a.jpg"}, "annotations": []}, {"annotations": []}],
    ),
    "labelstudio-image-not-string": ("labelstudio-export.schema.json", [{"data": {"image": 3}, "annotations": []}]),
    "labelstudio-empty-data": ("labelstudio-export.schema.json", [{"data": {}, "annotations": []}]),
    "labelstudio-blank-image": ("labelstudio-export.schema.json", [{"data": {"image": ""}, "annotations": [{}]}]),
    "labelstudio-value-not-object": (
        "labelstudio-export.schema.json",
        [{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "choices", "value": ["cat"]}]}]}],
    ),
    "fiftyone-classes-not-names": ("fiftyone-classification.schema.json", {"classes": [1], "labels": {"s1": 0}}),
    "fiftyone-negative-index": ("fiftyone-classification.schema.json", {"classes": ["cat"], "labels": {"s1": -1}}),
    "fiftyone-bool-target": ("fiftyone-classification.schema.json", {"classes": ["cat"], "labels": {"s1": True}}),
    "fiftyone-null-in-list": ("fiftyone-classification.schema.json", {"classes": ["cat"], "labels": {"s1": [None]}}),
    "fiftyone-null-label": (
        "fiftyone-classification.schema.json",
        {"classes": ["cat"], "labels": {"s1": {"label": None}}},
    ),
    "fiftyone-object-without-label": (
        "fiftyone-classification.schema.json",
        {"classes": ["cat"], "labels": {"s1": {"name": "cat"}}},
    ),
}


@pytest.mark.parametrize(("schema_name", "doc"), list(INVALID.values()), ids=list(INVALID))
def test_invalid_document_rejected_by_schema_and_code(tmp_path: Path, schema_name: str, doc: Any) -> None:
    assert not is_valid(schema_name, doc)
    with pytest.raises(LabelprepError):
        labelprep.convert(write_json(tmp_path, "bad.json", doc))


# Without a 'labels' object (or without all three COCO lists) the file is not detected as FiftyOne
# (or COCO) but as a JSON mapping, so these are rejected as the forced format.
INVALID_FORCED = {
    "fiftyone-labels-not-object": (
        "fiftyone",
        "fiftyone-classification.schema.json",
        {"classes": ["cat"], "labels": ["s1"]},
    ),
    "fiftyone-labels-missing": ("fiftyone", "fiftyone-classification.schema.json", {"classes": ["cat"]}),
    "coco-no-images-key": ("coco", "coco-instances.schema.json", {"annotations": [], "categories": []}),
}


@pytest.mark.parametrize(("fmt", "schema_name", "doc"), list(INVALID_FORCED.values()), ids=list(INVALID_FORCED))
def test_invalid_document_rejected_as_forced_format(tmp_path: Path, fmt: str, schema_name: str, doc: Any) -> None:
    assert not is_valid(schema_name, doc)
    with pytest.raises(LabelprepError):
        labelprep.convert(write_json(tmp_path, "bad.json", doc), format=fmt)


INVALID_JSONL = {
    "line-not-object": '{"file_name": "a.jpg", "labels": ["cat"]}\n["b.jpg", "dog"]\n',
    "line-without-path": '{"file_name": "a.jpg", "labels": ["cat"]}\n{"labels": ["dog"]}\n',
    "line-blank-path": '{"file_name": "", "labels": ["cat"]}\n',
    "line-number-in-label-object": '{"file_name": "a.jpg", "labels": [{"label": 1}]}\n',
}


@pytest.mark.parametrize("text", list(INVALID_JSONL.values()), ids=list(INVALID_JSONL))
def test_invalid_jsonl_rejected_by_schema_and_code(tmp_path: Path, text: str) -> None:
    record = validator("annotations-jsonl-record.schema.json")
    assert not all(record.is_valid(json.loads(line)) for line in text.splitlines() if line.strip())
    p = tmp_path / "bad.jsonl"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(LabelprepError):
        labelprep.convert(p)


# Documents the schema rejects that the readers once accepted or crashed on; now both reject them.
CODE_BUGS = {
    "labelstudio-number-choice": pytest.param(
        "labelstudio-export.schema.json",
        [{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "choices", "value": {"choices": [1]}}]}]}],
    ),
    "labelstudio-choices-string": pytest.param(
        "labelstudio-export.schema.json",
        [{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": "choices", "value": {"choices": "cat"}}]}]}],
    ),
    "fiftyone-nested-list": pytest.param(
        "fiftyone-classification.schema.json",
        {"classes": ["cat"], "labels": {"s1": [[0]]}},
    ),
    "fiftyone-labels-list-read-as-mapping": pytest.param(
        "fiftyone-classification.schema.json",
        {"classes": ["cat"], "labels": ["s1"]},
    ),
    "coco-without-images-read-as-mapping": pytest.param(
        "coco-instances.schema.json",
        {"annotations": [], "categories": []},
    ),
}


@pytest.mark.parametrize(("schema_name", "doc"), list(CODE_BUGS.values()), ids=list(CODE_BUGS))
def test_reader_rejects_what_schema_rejects(tmp_path: Path, schema_name: str, doc: Any) -> None:
    assert not is_valid(schema_name, doc)
    with pytest.raises(LabelprepError):
        labelprep.convert(write_json(tmp_path, "bad.json", doc))


# -- the frame schema -----------------------------------------------------------------------------


def shapes_schema() -> pa.DataFrameSchema:
    return labelprep.schema(Vocabulary(SHAPES_VOCAB), columns=("split", "group"))


def test_frame_yaml_is_generated_from_vocabulary() -> None:
    shipped = (SCHEMAS / "frame.shapes.yaml").read_text(encoding="utf-8")
    assert shipped == shapes_schema().to_yaml()


def test_frame_yaml_validates_example_frame() -> None:
    conv = labelprep.convert(SHAPES_CSV, split_col="split", group_col="patient")
    assert tuple(conv.vocabulary) == SHAPES_VOCAB
    loaded = pa.DataFrameSchema.from_yaml((SCHEMAS / "frame.shapes.yaml").read_text(encoding="utf-8"))
    assert list(loaded.columns) == ["path", *SHAPES_VOCAB, "split", "group"]
    loaded.validate(conv.frame, lazy=True)

    broken = conv.frame.copy()
    broken.loc[0, "circle"] = 2
    with pytest.raises(pa.errors.SchemaErrors):
        loaded.validate(broken, lazy=True)
    with pytest.raises(pa.errors.SchemaErrors):
        loaded.validate(conv.frame.drop(columns=["group"]), lazy=True)
