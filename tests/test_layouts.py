"""Layouts written by other people's tools: each read to the exact frame, or refused with the form and the fix.

Fixtures follow each format's public documentation and what its exports look like (file names, folder
layouts, headers, quirks). Every frame is checked cell by cell: each image's labels, the vocabulary, the splits,
and that each path resolves to the image under the images root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _build import image, labels_of, labels_under, resolved, splits_of, write, write_json
from click.testing import CliRunner

import labelprep
from labelprep.cli import main

VOC_XML = """<annotation>
  <folder>VOC2012</folder>
  <filename>{name}.jpg</filename>
  <source><database>The VOC2007 Database</database></source>
  <size><width>4</width><height>4</height><depth>3</depth></size>
  <segmented>0</segmented>
{objects}</annotation>
"""
VOC_OBJECT = """  <object>
    <name>{cls}</name>
    <pose>Unspecified</pose>
    <truncated>0</truncated>
    <difficult>{difficult}</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox>
    <part><name>head</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></part>
  </object>
"""


def voc_xml(root: Path, name: str, objects: list[tuple[str, int]]) -> None:
    body = "".join(VOC_OBJECT.format(cls=c, difficult=d) for c, d in objects)
    write(root / "Annotations" / f"{name}.xml", VOC_XML.format(name=name, objects=body))
    image(root / "JPEGImages" / f"{name}.jpg", shade=len(name) * 9 + len(objects))


def test_voc_xml_with_set_lists_is_read_from_the_objects(tmp_path: Path) -> None:
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    voc_xml(voc, "2008_000001", [("dog", 0), ("person", 0), ("dog", 0)])
    voc_xml(voc, "2008_000002", [("cat", 1)])  # a difficult object still names its class
    voc_xml(voc, "2008_000003", [])
    voc_xml(voc, "2008_000099", [("bird", 0)])  # in no set list: left out, in the ledger
    image(voc / "JPEGImages" / "2008_000004.jpg", shade=77)  # listed, no XML: an image with no object
    write(voc / "ImageSets" / "Main" / "train.txt", "2008_000001\n2008_000002\n")
    write(voc / "ImageSets" / "Main" / "val.txt", "2008_000003\n2008_000004\n")
    write(voc / "ImageSets" / "Main" / "trainval.txt", "2008_000001\n2008_000002\n2008_000003\n2008_000004\n")
    write(voc / "ImageSets" / "Segmentation" / "train.txt", "2008_000001\n")
    conv = labelprep.convert(tmp_path / "VOCdevkit")
    assert conv.format == "voc"
    assert labels_of(conv) == {
        "JPEGImages/2008_000001.jpg": ["dog", "person"], "JPEGImages/2008_000002.jpg": ["cat"],
        "JPEGImages/2008_000003.jpg": [], "JPEGImages/2008_000004.jpg": [],
    }  # fmt: skip
    assert splits_of(conv) == {"JPEGImages/2008_000001.jpg": "train", "JPEGImages/2008_000002.jpg": "train",
                               "JPEGImages/2008_000003.jpg": "val", "JPEGImages/2008_000004.jpg": "val"}  # fmt: skip
    assert list(conv.vocabulary) == ["bird", "cat", "dog", "person"]  # bird: named by an XML, on no listed image
    assert all(p.is_file() for p in resolved(conv))
    assert [(e.path, e.reason) for e in conv.ledger] == [("2008_000099", "not in any set list")]
    assert conv.summary.rows_read == conv.summary.images + len(conv.ledger)


def test_voc_xml_without_set_lists_and_datumaro_labelmap(tmp_path: Path) -> None:
    voc = tmp_path / "voc"
    voc_xml(voc, "a", [("car", 0)])
    voc_xml(voc, "b", [("bus", 0), ("car", 0)])
    write(voc / "labelmap.txt", "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:128,0,0::\n"
          "bus:0,128,0::\nbicycle:0,0,128::\n")  # fmt: skip
    conv = labelprep.convert(voc)
    assert labels_of(conv) == {"JPEGImages/a.jpg": ["car"], "JPEGImages/b.jpg": ["bus", "car"]}
    assert list(conv.vocabulary) == ["car", "bus", "bicycle"]  # declared order; background is no class
    assert "split" not in conv.frame.columns


def test_voc_with_empty_lists_is_an_error_not_an_empty_frame(tmp_path: Path) -> None:
    main_dir = tmp_path / "VOC2007" / "ImageSets" / "Main"
    for cls in ("cat", "dog"):
        write(main_dir / f"{cls}_trainval.txt", "")
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "VOC2007"), "-o", str(tmp_path / "o.parquet")])
    assert result.exit_code == 1 and "name no image" in result.output
    assert not (tmp_path / "o.parquet").exists()


def yolo_label(path: Path, lines: list[str]) -> None:
    write(path, "".join(line + "\n" for line in lines))


def test_ultralytics_yolo_with_data_yaml(tmp_path: Path) -> None:
    root = tmp_path / "coco8"
    write(root / "data.yaml", "path: .\ntrain: images/train\nval: images/val\n\nnames:\n  0: person\n  1: bicycle\n"
          "  2: car\n  3: dog\n")  # fmt: skip
    for i, (split, lines) in enumerate([
        ("train", ["0 0.5 0.5 0.2 0.2", "0 0.1 0.1 0.05 0.05", "3 0.3 0.3 0.1 0.1"]),
        ("train", ["2 0.1 0.2 0.3 0.2 0.3 0.4 0.1 0.4"]),  # a segmentation polygon: class first
        ("val", []),  # an empty label file: background
        ("val", None),  # no label file: background
    ]):  # fmt: skip
        image(root / "images" / split / f"{i}.jpg", shade=i * 20)
        if lines is not None:
            yolo_label(root / "labels" / split / f"{i}.txt", lines)
    conv = labelprep.convert(root)
    assert conv.format == "yolo"
    assert labels_of(conv) == {"images/train/0.jpg": ["dog", "person"], "images/train/1.jpg": ["car"],
                               "images/val/2.jpg": [], "images/val/3.jpg": []}  # fmt: skip
    assert splits_of(conv) == {"images/train/0.jpg": "train", "images/train/1.jpg": "train",
                               "images/val/2.jpg": "val", "images/val/3.jpg": "val"}  # fmt: skip
    assert list(conv.vocabulary) == ["person", "bicycle", "car", "dog"]  # every declared class, in id order
    assert all(p.is_file() for p in resolved(conv))
    yolo_label(root / "labels" / "val" / "2.txt", ["7 0.5 0.5 0.1 0.1"])
    with pytest.raises(labelprep.InputError, match=r"class 7 is not in data.yaml \(4 names\)"):
        labelprep.convert(root)


def test_roboflow_yolo_export_with_parent_relative_yaml(tmp_path: Path) -> None:
    root = tmp_path / "export"
    write(root / "data.yaml", "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\nnc: 2\n"
          "names: ['helmet', 'head']\n")  # fmt: skip
    for split, cls in (("train", "0"), ("valid", "1"), ("test", "0")):
        image(root / split / "images" / f"{split}_1.jpg", shade=len(split))
        yolo_label(root / split / "labels" / f"{split}_1.txt", [f"{cls} 0.5 0.5 0.5 0.5"])
    conv = labelprep.convert(root)
    assert labels_of(conv) == {"train/images/train_1.jpg": ["helmet"], "valid/images/valid_1.jpg": ["head"],
                               "test/images/test_1.jpg": ["helmet"]}  # fmt: skip
    assert sorted(set(splits_of(conv).values())) == ["test", "train", "val"]
    assert all(p.is_file() for p in resolved(conv))


def test_darknet_yolo_with_obj_data_and_labels_beside_the_images(tmp_path: Path) -> None:
    root = tmp_path / "yolo11"
    write(root / "obj.data", "classes = 3\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n")
    write(root / "obj.names", "cat\ndog\nbird\n")
    write(root / "train.txt", "data/obj_train_data/1.jpg\ndata/obj_train_data/2.jpg\n")
    image(root / "obj_train_data" / "1.jpg", shade=1)
    image(root / "obj_train_data" / "2.jpg", shade=2)
    yolo_label(root / "obj_train_data" / "1.txt", ["1 0.5 0.5 0.2 0.2", "2 0.2 0.2 0.1 0.1"])
    yolo_label(root / "obj_train_data" / "2.txt", [])
    conv = labelprep.convert(root)
    assert labels_of(conv) == {"obj_train_data/1.jpg": ["bird", "dog"], "obj_train_data/2.jpg": []}
    assert list(conv.vocabulary) == ["cat", "dog", "bird"] and "split" not in conv.frame.columns


def test_yolo_label_files_beside_images_are_not_tags(tmp_path: Path) -> None:
    root = tmp_path / "labelimg"
    image(root / "a.jpg", shade=1)
    image(root / "b.jpg", shade=2)
    yolo_label(root / "a.txt", ["2 0.13 0.30 0.26 0.20"])
    yolo_label(root / "b.txt", ["0 0.5 0.5 0.5 0.5", "1 0.5 0.5 0.5 0.5"])
    write(root / "classes.txt", "apple\nbanana\ncherry\n")
    conv = labelprep.convert(root)
    assert conv.format == "yolo"
    assert labels_of(conv) == {"a.jpg": ["cherry"], "b.jpg": ["apple", "banana"]}
    (root / "classes.txt").unlink()  # no names: the class numbers are the labels, and convert says so
    conv = labelprep.convert(root)
    assert labels_of(conv) == {"a.jpg": ["2"], "b.jpg": ["0", "1"]}
    assert any("labels are the class numbers" in n for n in conv.notes)


CVAT_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id><name>pets</name><size>3</size><mode>annotation</mode>
      <labels>
        <label><name>cat</name><color>#fa3253</color><type>any</type><attributes></attributes></label>
        <label><name>dog</name><color>#33ddff</color><type>rectangle</type><attributes>
          <attribute><name>breed</name><mutable>False</mutable><input_type>text</input_type></attribute></attributes>
        </label>
        <label><name>person</name><color>#ff007c</color><type>skeleton</type><attributes></attributes></label>
        <label><name>nose</name><color>#aaaaaa</color><type>points</type><attributes></attributes><parent>person</parent></label>
        <label><name>ferret</name><color>#bbbbbb</color><type>any</type><attributes></attributes></label>
      </labels>
    </task>
    <dumped>2024-03-01 10:00:00.000000+00:00</dumped>
  </meta>
  <image id="0" name="frame_000000.jpg" subset="Train" width="4" height="4">
    <tag label="cat" source="manual"></tag>
    <box label="dog" source="manual" occluded="0" xtl="1" ytl="1" xbr="3" ybr="3" z_order="0">
      <attribute name="breed">husky</attribute>
    </box>
  </image>
  <image id="1" name="frame_000001.jpg" subset="Train" width="4" height="4">
    <skeleton label="person" source="manual" z_order="0">
      <points label="nose" source="manual" outside="0" occluded="0" points="1.0,1.0"></points>
    </skeleton>
    <polygon label="cat" source="manual" occluded="0" points="1,1;3,1;3,3" z_order="0"></polygon>
  </image>
  <image id="2" name="frame_000002.jpg" subset="Validation" width="4" height="4">
  </image>
</annotations>
"""


def test_cvat_for_images_xml_with_subsets(tmp_path: Path) -> None:
    root = tmp_path / "cvat"
    write(root / "annotations.xml", CVAT_XML)
    for i, split in enumerate(["Train", "Train", "Validation"]):
        image(root / "images" / split / f"frame_00000{i}.jpg", shade=i)
    for source in (root / "annotations.xml", root):  # the file, or the export folder holding it
        conv = labelprep.convert(source)
        assert conv.format == "cvat"
        assert labels_of(conv) == {"images/Train/frame_000000.jpg": ["cat", "dog"],
                                   "images/Train/frame_000001.jpg": ["cat", "person"],
                                   "images/Validation/frame_000002.jpg": []}  # fmt: skip
        assert sorted(set(splits_of(conv).values())) == ["Train", "Validation"]
        assert list(conv.vocabulary) == ["cat", "dog", "person", "ferret"]  # declared; 'nose' is a skeleton point
        assert all(p.is_file() for p in resolved(conv))


def test_cvat_for_video_is_refused_with_the_export_to_use(tmp_path: Path) -> None:
    xml = write(tmp_path / "annotations.xml", '<?xml version="1.0"?>\n<annotations><version>1.1</version>'
                '<meta><task><labels><label><name>car</name></label></labels></task></meta>'
                '<track id="0" label="car" source="manual"><box frame="0" xtl="1" ytl="1" xbr="2" ybr="2" '
                'outside="0" occluded="0" keyframe="1" z_order="0"></box></track></annotations>\n')  # fmt: skip
    with pytest.raises(labelprep.InputError, match=r"CVAT for video.*CVAT for images 1\.1"):
        labelprep.convert(xml)


def datumaro_subset(root: Path, subset: str, items: list[tuple[str, list[tuple[str, int]]]]) -> None:
    labels = [{"name": n, "parent": "", "attributes": []} for n in ("car", "bus", "truck")]
    data = {
        "info": {},
        "categories": {"label": {"labels": labels, "attributes": ["occluded"]}, "points": {"items": []}},
        "items": [
            {"id": ident, "annotations": [
                {"id": k, "type": kind, "attributes": {}, "group": 0, "label_id": lid,
                 **({"bbox": [1.0, 1.0, 2.0, 2.0]} if kind == "bbox" else {})}
                for k, (kind, lid) in enumerate(anns)],
             "attr": {"frame": 0}, "image": {"path": f"{ident}.jpg", "size": [4, 4]}}
            for ident, anns in items
        ],
    }  # fmt: skip
    write_json(root / "annotations" / f"{subset}.json", data)
    for ident, _ in items:
        image(root / "images" / subset / f"{ident}.jpg", shade=len(ident))


def test_datumaro_json_subsets_are_splits(tmp_path: Path) -> None:
    root = tmp_path / "dm"
    datumaro_subset(root, "train", [("img1", [("bbox", 0), ("label", 1), ("bbox", 0)]), ("img2", [])])
    datumaro_subset(root, "test", [("img3", [("polygon", 1)])])
    write_json(root / "annotations" / "caption.json", [])  # not Datumaro: never read as a split
    conv = labelprep.convert(root)
    assert conv.format == "datumaro"
    assert labels_of(conv) == {"images/train/img1.jpg": ["bus", "car"], "images/train/img2.jpg": [],
                               "images/test/img3.jpg": ["bus"]}  # fmt: skip
    assert splits_of(conv) == {"images/train/img1.jpg": "train", "images/train/img2.jpg": "train",
                               "images/test/img3.jpg": "test"}  # fmt: skip
    assert list(conv.vocabulary) == ["car", "bus", "truck"]
    assert all(p.is_file() for p in resolved(conv))


def labelme(path: Path, image_path: str, shapes: list[str], flags: dict[str, bool] | None = None) -> None:
    write_json(path, {"version": "5.2.1", "flags": flags or {}, "imagePath": image_path, "imageData": None,
                      "imageHeight": 4, "imageWidth": 4,
                      "shapes": [{"label": s, "points": [[1, 1], [3, 3]], "group_id": None, "description": "",
                                  "shape_type": "rectangle", "flags": {}} for s in shapes]})  # fmt: skip


def test_labelme_json_shapes_and_checked_flags(tmp_path: Path) -> None:
    root = tmp_path / "labelme"
    image(root / "img_1.jpg", shade=1)
    image(root / "img_2.jpg", shade=2)
    image(root / "img_3.jpg", shade=3)
    labelme(root / "img_1.json", "img_1.jpg", ["person", "person", "car"], {"night": True, "blurry": False})
    labelme(root / "img_2.json", "img_2.jpg", [], {"night": False, "blurry": True})
    labelme(root / "img_3.json", "img_3.jpg", [], {"night": False, "blurry": False})
    conv = labelprep.convert(root)
    assert conv.format == "labelme"
    assert labels_of(conv) == {"img_1.jpg": ["car", "night", "person"], "img_2.jpg": ["blurry"], "img_3.jpg": []}
    assert all(p.is_file() for p in resolved(conv))


def test_labelme_json_in_a_folder_beside_the_images(tmp_path: Path) -> None:
    root = tmp_path / "lm"
    image(root / "images" / "a.png", shade=4)
    labelme(root / "annotations" / "a.json", "..\\images\\a.png", ["tree"])  # Windows separators, a folder up
    conv = labelprep.convert(root)
    assert labels_of(conv) == {"images/a.png": ["tree"]}


def test_vott_json_export(tmp_path: Path) -> None:
    root = tmp_path / "vott-json-export"
    data = {
        "name": "pets", "securityToken": "pets Token", "version": "2.2.0",
        "tags": [{"name": "Dog", "color": "#5db300"}, {"name": "Cat", "color": "#e81123"},
                 {"name": "Fish", "color": "#6917aa"}],
        "assets": {
            "a1b2": {"asset": {"format": "jpg", "id": "a1b2", "name": "dog%201.jpg",
                               "path": "file:C:/Users/me/pets/dog%201.jpg", "size": {"width": 4, "height": 4},
                               "state": 2, "type": 1},
                     "regions": [{"id": "r1", "type": "RECTANGLE", "tags": ["Dog"], "boundingBox": {}},
                                 {"id": "r2", "type": "RECTANGLE", "tags": ["Dog", "Cat"], "boundingBox": {}}],
                     "version": "2.2.0"},
            "c3d4": {"asset": {"format": "jpg", "id": "c3d4", "name": "empty.jpg",
                               "path": "file:C:/Users/me/pets/empty.jpg", "size": {"width": 4, "height": 4},
                               "state": 1, "type": 1}, "regions": [], "version": "2.2.0"},
        },
    }  # fmt: skip
    write_json(root / "pets-export.json", data)
    image(root / "dog 1.jpg", shade=1)
    image(root / "empty.jpg", shade=2)
    conv = labelprep.convert(root / "pets-export.json")
    assert conv.format == "vott"
    assert labels_of(conv) == {"dog 1.jpg": ["Cat", "Dog"], "empty.jpg": []}
    assert list(conv.vocabulary) == ["Dog", "Cat", "Fish"]


def test_vott_csv_export_one_row_per_box(tmp_path: Path) -> None:
    root = tmp_path / "vott-csv-export"
    write(root / "pets-export.csv", '"image","xmin","ymin","xmax","ymax","label"\n'
          '"dog 1.jpg",1,1,3,3,"Dog"\n"dog 1.jpg",0,0,2,2,"Cat"\n"cat.jpg",1,1,2,2,"Cat"\n'
          '"fish.jpg",1,1,2,2,"Gold Fish"\n')  # fmt: skip
    for i, n in enumerate(["dog 1.jpg", "cat.jpg", "fish.jpg"]):
        image(root / n, shade=i)
    conv = labelprep.convert(root / "pets-export.csv")
    assert labels_of(conv) == {"dog 1.jpg": ["Cat", "Dog"], "cat.jpg": ["Cat"], "fish.jpg": ["Gold Fish"]}


def test_a_detection_csv_with_one_box_an_image_keeps_multi_word_labels(tmp_path: Path) -> None:
    root = tmp_path / "vott-csv-export"
    write(root / "pets-export.csv", '"image","xmin","ymin","xmax","ymax","label"\n'
          '"a.jpg",1,1,3,3,"Gold Fish"\n"b.jpg",0,0,2,2,"Cat"\n')  # fmt: skip
    conv = labelprep.convert(root / "pets-export.csv")
    assert labels_of(conv) == {"a.jpg": ["Gold Fish"], "b.jpg": ["Cat"]}


def test_headerless_list_keeps_its_first_row(tmp_path: Path) -> None:
    src = write(tmp_path / "list.txt", "1.jpg dog\n2.jpg cat dog\n3.jpg\n")
    for n in (1, 2, 3):
        image(tmp_path / f"{n}.jpg", shade=n)
    conv = labelprep.convert(src)
    assert conv.format == "list"
    assert labels_of(conv) == {"1.jpg": ["dog"], "2.jpg": ["cat", "dog"], "3.jpg": []}
    # naming a data cell as a column would drop that row: refused, with the form that reads it
    result = CliRunner().invoke(main, ["convert", str(src), "-o", str(tmp_path / "o.parquet"), "--path-col", "1.jpg",
                                       "--labels-col", "dog"])  # fmt: skip
    assert result.exit_code == 1 and "--format list" in result.output and "--path-col 1.jpg" not in result.output


def test_imagenet_style_class_numbers_with_a_synsets_file(tmp_path: Path) -> None:
    write(tmp_path / "train.txt", "1.jpg 0\n2.jpg 2\n3.jpg 1\n")
    write(tmp_path / "synsets.txt", "tench\ngoldfish\nshark\n")
    for n in (1, 2, 3):
        image(tmp_path / "images" / f"{n}.jpg", shade=n)
    conv = labelprep.convert(tmp_path / "train.txt", label_map=tmp_path / "synsets.txt")
    assert labels_of(conv) == {"images/1.jpg": ["tench"], "images/2.jpg": ["shark"], "images/3.jpg": ["goldfish"]}
    assert list(conv.vocabulary) == ["tench", "goldfish", "shark"]  # the label map's class order
    assert all(p.is_file() for p in resolved(conv))


def test_a_line_of_zeros_and_ones_is_refused_not_read_as_class_numbers(tmp_path: Path) -> None:
    src = write(tmp_path / "list.txt", "a.jpg 0 1 1\nb.jpg 1 0 0\n")
    with pytest.raises(labelprep.InputError, match="multi-hot vector without class names, or class numbers"):
        labelprep.convert(src)


def test_vertex_ai_multilabel_csv_with_ml_use(tmp_path: Path) -> None:
    src = write(tmp_path / "import.csv", "training,gs://my-bucket/flowers/img1.jpg,daisy,tulip\n"
                "validation,gs://my-bucket/flowers/sub/img2.jpg,rose\ntest,gs://my-bucket/flowers/img3.jpg\n")  # fmt: skip
    image(tmp_path / "img1.jpg", shade=1)
    image(tmp_path / "sub" / "img2.jpg", shade=2)
    image(tmp_path / "img3.jpg", shade=3)
    conv = labelprep.convert(src)
    assert labels_of(conv) == {"img1.jpg": ["daisy", "tulip"], "sub/img2.jpg": ["rose"], "img3.jpg": []}
    assert splits_of(conv) == {"img1.jpg": "training", "sub/img2.jpg": "validation", "img3.jpg": "test"}
    assert any("gs://my-bucket/flowers/" in n for n in conv.notes)
    # a prefix given: the rest of each path is relative to the images root
    conv = labelprep.convert(src, path_prefix="gs://my-bucket/", images_root=tmp_path)
    assert set(conv.frame["path"]) == {"flowers/img1.jpg", "flowers/sub/img2.jpg", "flowers/img3.jpg"}


def test_celeba_attribute_list_with_partitions(tmp_path: Path) -> None:
    root = tmp_path / "celeba"
    write(root / "Anno" / "list_attr_celeba.txt", "3\n5_o_Clock_Shadow Arched_Eyebrows Smiling\n"
          "000001.jpg -1  1  1\n000002.jpg -1 -1 -1\n000003.jpg  1 -1  1\n")  # fmt: skip
    write(root / "Eval" / "list_eval_partition.txt", "000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n")
    write(root / "Anno" / "identity_CelebA.txt", "000001.jpg 2880\n000002.jpg 2937\n000003.jpg 8692\n")
    for n in (1, 2, 3):
        image(root / "Img" / "img_align_celeba" / f"00000{n}.jpg", shade=n)
    for source in (root, root / "Anno" / "list_attr_celeba.txt"):
        conv = labelprep.convert(source)
        assert conv.format == "attributes"
        assert labels_of(conv) == {"Img/img_align_celeba/000001.jpg": ["Arched_Eyebrows", "Smiling"],
                                   "Img/img_align_celeba/000002.jpg": [],
                                   "Img/img_align_celeba/000003.jpg": ["5_o_Clock_Shadow", "Smiling"]}  # fmt: skip
        assert labels_of(conv, -1) == {p: [] for p in labels_of(conv)}  # -1 is absent here, not uncertain
        assert list(splits_of(conv).values()) == ["train", "val", "test"]
        assert list(conv.vocabulary) == ["5_o_Clock_Shadow", "Arched_Eyebrows", "Smiling"]
        assert any("-1 read as absent" in n for n in conv.notes)
    kept = labelprep.convert(root, uncertain="keep")
    assert labels_of(kept, -1)["Img/img_align_celeba/000002.jpg"] == ["5_o_Clock_Shadow", "Arched_Eyebrows", "Smiling"]


def test_a_wide_table_of_only_plus_and_minus_one(tmp_path: Path) -> None:
    src = write(tmp_path / "list_attr_celeba.csv", "image_id,Bald,Bangs,Young\na.jpg,-1,1,1\nb.jpg,1,-1,-1\n")
    conv = labelprep.convert(src)
    assert labels_of(conv) == {"a.jpg": ["Bangs", "Young"], "b.jpg": ["Bald"]} and not labels_of(conv, -1)["a.jpg"]
    assert any("only 1 and -1" in n for n in conv.notes)
    assert labels_of(labelprep.convert(src, uncertain="keep"), -1) == {"a.jpg": ["Bald"], "b.jpg": ["Bangs", "Young"]}
    # with a 0 or a blank among them, -1 is uncertain as in CheXpert
    src = write(tmp_path / "chex.csv", "Path,Edema,Atelectasis\na.jpg,-1,1\nb.jpg,0,\n")
    assert labels_of(labelprep.convert(src), -1) == {"a.jpg": ["Edema"], "b.jpg": []}


def test_an_image_list_with_a_rotation_column_is_not_a_label_table(tmp_path: Path) -> None:
    src = write(tmp_path / "images.csv", "ImageID,Subset,OriginalURL,Rotation\n000a1,train,http://x/a.jpg,0\n"
                "000b2,train,http://x/b.jpg,0\n")  # fmt: skip
    with pytest.raises(labelprep.InputError, match=r"no label column: this table lists 2 image\(s\)"):
        labelprep.convert(src)
    # a 0/1 column the label map does not name is no label either
    src = write(tmp_path / "wide.csv", "path,Rotation,cat,dog\na.jpg,0,1,0\nb.jpg,1,0,1\n")
    write(tmp_path / "map.csv", "cat,Cat\ndog,Dog\n")
    conv = labelprep.convert(src, label_map=tmp_path / "map.csv")
    assert labels_of(conv) == {"a.jpg": ["Cat"], "b.jpg": ["Dog"]}


def open_images(root: Path) -> None:
    ann = root / "annotations"
    write(ann / "oidv6-class-descriptions.csv", "/m/011k07,Tortoise\n/m/0120dh,Sea turtle\n/m/01bjv,Bus\n")
    write(ann / "oidv6-train-annotations-human-imagelabels.csv", "ImageID,Source,LabelName,Confidence\n"
          "000002b66c9c498e,verification,/m/011k07,1\n000002b66c9c498e,verification,/m/0120dh,0\n"
          "000002b97e5471a0,crowdsource-verification,/m/01bjv,1\n")  # fmt: skip
    write(ann / "validation-annotations-human-imagelabels.csv", "ImageID,Source,LabelName,Confidence\n"
          "0001eeaf4aed83f9,verification,/m/0120dh,1\n")  # fmt: skip
    write(ann / "oidv6-train-images-with-labels-with-rotation.csv",
          "ImageID,Subset,OriginalURL,OriginalLandingURL,License,AuthorProfileURL,Author,Title,OriginalSize,"
          "OriginalMD5,Thumbnail300KURL,Rotation\n"
          "000002b66c9c498e,train,u,l,c,a,au,t,1,m,th,0.0\n000002b97e5471a0,train,u,l,c,a,au,t,1,m,th,0.0\n"
          "00000b4dcff7f799,train,u,l,c,a,au,t,1,m,th,\n")  # fmt: skip
    for split, ident in (("train", "000002b66c9c498e"), ("train", "000002b97e5471a0"), ("train", "00000b4dcff7f799"),
                         ("validation", "0001eeaf4aed83f9")):  # fmt: skip
        image(root / "images" / split / f"{ident}.jpg", shade=len(ident) + ord(ident[-1]))


def test_open_images_folder_with_image_lists_and_descriptions_without_header(tmp_path: Path) -> None:
    root = tmp_path / "oi"
    open_images(root)
    for source in (root, root / "annotations" / "oidv6-train-images-with-labels-with-rotation.csv"):
        conv = labelprep.convert(source)
        assert conv.format == "openimages"
        assert labels_under(conv, root) == {"images/train/000002b66c9c498e.jpg": ["Tortoise"],
                                   "images/train/000002b97e5471a0.jpg": ["Bus"],
                                   "images/train/00000b4dcff7f799.jpg": [],  # listed, no label: an all-zero row
                                   "images/validation/0001eeaf4aed83f9.jpg": ["Sea turtle"]}  # fmt: skip
        assert sorted(splits_of(conv).values()) == ["train", "train", "train", "validation"]
        assert list(conv.vocabulary) == ["Tortoise", "Sea turtle", "Bus"]
        assert all(p.is_file() for p in resolved(conv))


def test_vertex_sagemaker_and_azure_json_lines(tmp_path: Path) -> None:
    for n in (1, 2, 3):
        image(tmp_path / "images" / f"{n}.jpg", shade=n)
    vertex = write_json(tmp_path / "vertex.jsonl", [
        {"imageGcsUri": "gs://b/data/images/1.jpg", "classificationAnnotations": [{"displayName": "daisy"},
         {"displayName": "tulip"}], "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "training"}},
        {"imageGcsUri": "gs://b/data/images/2.jpg", "classificationAnnotation": {"displayName": "rose"},
         "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "test"}},
    ], lines=True)  # fmt: skip
    conv = labelprep.convert(vertex)
    assert conv.format == "vertex"
    assert labels_of(conv) == {"images/1.jpg": ["daisy", "tulip"], "images/2.jpg": ["rose"]}
    assert splits_of(conv) == {"images/1.jpg": "training", "images/2.jpg": "test"}
    meta = {"class-map": {"0": "cat", "1": "dog", "2": "fox"}, "human-annotated": "yes",
            "type": "groundtruth/image-classification-multilabel", "job-name": "labeling-job/pets"}
    sm = write_json(tmp_path / "output.manifest", [
        {"source-ref": "s3://b/images/1.jpg", "pets": [0, 2], "pets-metadata": meta},
        {"source-ref": "s3://b/images/2.jpg", "pets": [], "pets-metadata": meta},
        {"source-ref": "s3://b/images/3.jpg", "pets-metadata": {**meta, "failure-reason": "timeout"}},
    ], lines=True)  # fmt: skip
    conv = labelprep.convert(sm)
    assert conv.format == "sagemaker"
    assert labels_of(conv) == {"images/1.jpg": ["cat", "fox"], "images/2.jpg": []}
    assert [(e.path, e.reason) for e in conv.ledger] == [("s3://b/images/3.jpg", "unlabelled")]
    box = write_json(tmp_path / "boxes.manifest", [
        {"source-ref": "s3://b/images/1.jpg", "job": {"image_size": [{"width": 4, "height": 4, "depth": 3}],
         "annotations": [{"class_id": 1, "left": 1, "top": 1, "width": 1, "height": 1}]},
         "job-metadata": {"objects": [{"confidence": 0.9}], "class-map": {"1": "dog"},
                          "type": "groundtruth/object-detection"}},
    ], lines=True)  # fmt: skip
    assert labels_of(labelprep.convert(box)) == {"images/1.jpg": ["dog"]}
    azure = write_json(tmp_path / "azure.jsonl", [
        {"image_url": "azureml://subscriptions/s/resourcegroups/r/workspaces/w/datastores/d/paths/fridge/images/1.jpg",
         "image_details": {"format": "jpg", "width": "4px", "height": "4px"}, "label": ["can", "milk_bottle"]},
        {"image_url": "azureml://subscriptions/s/resourcegroups/r/workspaces/w/datastores/d/paths/fridge/images/3.jpg",
         "image_details": {"format": "jpg"}, "label": []},
    ], lines=True)  # fmt: skip
    conv = labelprep.convert(azure)
    assert labels_of(conv) == {"images/1.jpg": ["can", "milk_bottle"], "images/3.jpg": []}
    assert all(p.is_file() for p in resolved(conv))


def test_voc_xml_filename_that_names_no_file_and_class_names_txt(tmp_path: Path) -> None:
    voc = tmp_path / "voc"
    write(voc / "Annotations" / "000001.xml", VOC_XML.format(name="000002", objects=VOC_OBJECT.format(cls="dog",
          difficult=0)))  # fmt: skip
    image(voc / "JPEGImages" / "000001.jpg")  # <filename> says 000002.jpg, which is not there
    write(voc / "class_names.txt", "_background_\ndog\ncat\n")  # labelme2voc's vocabulary file
    conv = labelprep.convert(voc)
    assert labels_of(conv) == {"JPEGImages/000001.jpg": ["dog"]}
    assert list(conv.vocabulary) == ["dog", "cat"]


def test_per_image_xml_beside_images_with_an_id_list(tmp_path: Path) -> None:
    root = tmp_path / "custom"
    write(root / "images" / "000001.xml", VOC_XML.format(name="000001", objects=VOC_OBJECT.format(cls="car",
          difficult=0)))  # fmt: skip
    image(root / "images" / "000001.jpg")
    write(root / "images" / "000009.xml", VOC_XML.format(name="000009", objects=""))
    image(root / "images" / "000009.jpg", shade=5)
    write(root / "test.txt", "000001\n")
    conv = labelprep.convert(root)
    assert conv.format == "annotation-xml"
    assert labels_of(conv) == {"images/000001.jpg": ["car"]} and splits_of(conv) == {"images/000001.jpg": "test"}
    assert [e.reason for e in conv.ledger] == ["not in any set list"]  # 000009 is in no list: reported


def test_kitti_object_labels(tmp_path: Path) -> None:
    root = tmp_path / "kitti"
    write(root / "training" / "label_2" / "000001.txt", "Truck 1.0 0 -1 0 1 2 3 -1 -1 -1 -1 -1 -1 -1\n"
          "DontCare -1 -1 -10 1 1 2 2 -1 -1 -1 -1000 -1000 -1000 -10\nVan 0.0 0 -1 0 5 1 8 -1 -1 -1 -1 -1 -1 -1\n")
    write(root / "training" / "label_2" / "000002.txt", "")
    image(root / "training" / "image_2" / "000001.png", shade=1)
    image(root / "training" / "image_2" / "000002.png", shade=2)
    conv = labelprep.convert(root)
    assert conv.format == "kitti"
    assert labels_of(conv) == {"training/image_2/000001.png": ["Truck", "Van"], "training/image_2/000002.png": []}


def test_yolo_images_and_labels_folders_without_a_yaml(tmp_path: Path) -> None:
    root = tmp_path / "ls-yolo"
    write(root / "classes.txt", "Airplane\r\nCar\r\n")
    for i, lines in enumerate([["1 0.5 0.5 0.2 0.2"], ["0 0.5 0.5 0.2 0.2", "1 0.1 0.1 0.1 0.1"], None]):
        image(root / "images" / f"img_{i}.jpg", shade=i)
        if lines is not None:
            write(root / "labels" / f"img_{i}.txt", "\r\n".join(lines) + "\r\n")
    conv = labelprep.convert(root)
    assert conv.format == "yolo"
    assert labels_of(conv) == {"images/img_0.jpg": ["Car"], "images/img_1.jpg": ["Airplane", "Car"],
                               "images/img_2.jpg": []}  # fmt: skip


def test_coco_files_that_hold_no_labels_are_refused_by_name(tmp_path: Path) -> None:
    captions = write_json(tmp_path / "captions_train2017.json", {"images": [{"id": 1, "file_name": "a.jpg"}],
                          "annotations": [{"id": 1, "image_id": 1, "caption": "a dog on a sofa"}]})  # fmt: skip
    with pytest.raises(labelprep.InputError, match="COCO captions file"):
        labelprep.convert(captions)
    info = write_json(tmp_path / "image_info_test2017.json", {"info": {}, "images": [{"id": 1, "file_name": "a.jpg"}],
                      "licenses": [], "categories": []})  # fmt: skip
    with pytest.raises(labelprep.InputError, match="COCO image list without labels"):
        labelprep.convert(info)


def test_coco_instances_of_two_splits_in_an_annotations_folder(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    cats = [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}, {"id": 90, "name": "toothbrush"}]
    for split, anns in (("train2017", [{"id": 1, "image_id": 9, "category_id": 18, "bbox": [0, 0, 1, 1]}]),
                        ("val2017", [{"id": 2, "image_id": 139, "category_id": 1, "bbox": [0, 0, 1, 1]},
                                     {"id": 3, "image_id": 139, "category_id": 1, "bbox": [1, 1, 1, 1]}])):  # fmt: skip
        image_id = anns[0]["image_id"]
        write_json(root / "annotations" / f"instances_{split}.json", {
            "images": [{"id": image_id, "file_name": f"{image_id:012d}.jpg"},
                       {"id": 7, "file_name": f"{split}_empty.jpg"}],
            "annotations": anns, "categories": cats})  # fmt: skip
        image(root / split / f"{image_id:012d}.jpg", shade=image_id % 200)
        image(root / split / f"{split}_empty.jpg", shade=len(split))
    conv = labelprep.convert(root)
    assert conv.format == "coco"
    assert labels_under(conv, root) == {"train2017/000000000009.jpg": ["dog"], "train2017/train2017_empty.jpg": [],
                                        "val2017/000000000139.jpg": ["person"], "val2017/val2017_empty.jpg": []}  # fmt: skip
    assert sorted(set(splits_of(conv).values())) == ["train", "val"]
    assert list(conv.vocabulary) == ["person", "dog", "toothbrush"]
    # one file alone finds its images in the folder its name points at
    one = labelprep.convert(root / "annotations" / "instances_val2017.json")
    assert labels_under(one, root) == {"val2017/000000000139.jpg": ["person"], "val2017/val2017_empty.jpg": []}


def test_label_studio_region_labels_and_web_urls(tmp_path: Path) -> None:
    tasks = [
        {"id": 1, "data": {"image": "https://data.example.com/open-images/train_0/mini/a.jpg"},
         "annotations": [{"id": 1, "was_cancelled": False, "result": [
             {"type": "rectanglelabels", "from_name": "label", "to_name": "image",
              "value": {"x": 1, "y": 1, "width": 2, "height": 2, "rectanglelabels": ["Car"]}},
             {"type": "polygonlabels", "from_name": "poly", "to_name": "image",
              "value": {"points": [[1, 1], [2, 2], [1, 2]], "polygonlabels": ["Road"]}},
             {"type": "taxonomy", "from_name": "tax", "to_name": "image",
              "value": {"taxonomy": [["Vehicle", "Truck"]]}}]}]},
        {"id": 2, "data": {"image": "https://data.example.com/open-images/train_0/mini/b.jpg"},
         "annotations": [{"id": 2, "was_cancelled": False, "result": []}]},
    ]  # fmt: skip
    src = write_json(tmp_path / "export.json", tasks)
    image(tmp_path / "images" / "a.jpg", shade=1)
    image(tmp_path / "images" / "b.jpg", shade=2)
    conv = labelprep.convert(src)
    assert labels_under(conv, tmp_path) == {"images/a.jpg": ["Car", "Road", "Truck"], "images/b.jpg": []}
    assert any("https://data.example.com/open-images/train_0/mini/" in n for n in conv.notes)


def test_label_studio_json_min_record_without_the_choice_key_is_an_image_without_labels(tmp_path: Path) -> None:
    recs = [{"image": "/data/upload/3/1b3c-cat.jpg", "id": 1, "choice": {"choices": ["Cat", "Dog"]},
             "annotator": 1, "annotation_id": 1, "created_at": "x", "updated_at": "x", "lead_time": 2.5},
            {"image": "/data/upload/3/9a8b-empty.jpg", "id": 2, "annotator": 1, "annotation_id": 2,
             "created_at": "x", "updated_at": "x", "lead_time": 1.0}]  # fmt: skip
    conv = labelprep.convert(write_json(tmp_path / "min.json", recs))
    assert labels_of(conv) == {"1b3c-cat.jpg": ["Cat", "Dog"], "9a8b-empty.jpg": []}


def test_ids_without_extension_are_resolved_only_when_one_folder_fits(tmp_path: Path) -> None:
    src = write(tmp_path / "train_v2.csv", "image_name,tags\ntrain_0,haze primary\ntrain_1,clear\n")
    for n in (0, 1):
        image(tmp_path / "train-jpg" / f"train_{n}.jpg", shade=n)
    conv = labelprep.convert(src)
    assert set(conv.frame["path"]) == {"train-jpg/train_0.jpg", "train-jpg/train_1.jpg"}
    assert any("train-jpg/{}.jpg" in n for n in conv.notes)
    image(tmp_path / "copy" / "train_0.jpg", shade=0)
    image(tmp_path / "copy" / "train_1.jpg", shade=1)  # two folders fit: nothing is guessed
    assert set(labelprep.convert(src).frame["path"]) == {"train_0", "train_1"}


def test_rows_of_numbers_are_refused(tmp_path: Path) -> None:
    ava = write(tmp_path / "ava_train_v2.2.csv", "video0,0902,0.077,0.151,0.283,0.811,80,1\n"
                "video0,0902,0.077,0.151,0.283,0.811,9,1\n")  # fmt: skip
    with pytest.raises(labelprep.InputError, match="not labels"):
        labelprep.convert(ava)
    mnist = write(tmp_path / "mnist_train.csv", "5," + ",".join(["0"] * 784) + "\n0," + ",".join(["1"] * 784) + "\n")
    with pytest.raises(labelprep.InputError, match="not labels"):
        labelprep.convert(mnist)


def test_vertex_csv_with_ml_use_on_some_rows(tmp_path: Path) -> None:
    src = write(tmp_path / "import.csv", "training,gs://b/img/1.jpg,daisy\ngs://b/img/2.jpg,rose,tulip\n")
    conv = labelprep.convert(src)
    assert labels_of(conv) == {"1.jpg": ["daisy"], "2.jpg": ["rose", "tulip"]}
    assert splits_of(conv) == {"1.jpg": "training", "2.jpg": "unassigned"}


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"images/a.jpg": None, "images/b.jpg": None}, "'images' name what they hold"),
        ({"JPEGImages/a.jpg": None, "Masks/a.png": None}, "segmentation masks"),
        ({"default/a.jpg": None, "default/b.jpg": None, "other/c.jpg": None}, "'default'"),
        ({"bbox_train/0001_c1s1_000151_01.jpg": None, "bbox_test/0002_c1s1_000301_00.jpg": None},
         "name what they hold or a subset"),
        ({"cat/a.jpg": None, "cat/a.json": "{}", "dog/b.jpg": None}, "annotation files among the images"),
        ({"a.jpg": None, "b.jpg": None}, "no label folder or annotation file"),
        ({"cat/a.jpg": None, "dog/b.jpg": None, "labels.csv": "image,labels\na.jpg,cat\n", "notes.csv": "x,y\n1,2\n"},
         "annotation files among the images"),
    ],
    ids=["images-folder", "masks", "default-subset", "reid-subsets", "json-beside", "loose-images", "two-tables"],
)  # fmt: skip
def test_folders_that_are_not_label_trees_are_refused_naming_what_was_found(
    tmp_path: Path, layout: dict[str, str | None], message: str
) -> None:
    root = tmp_path / "data"
    for i, (rel, text) in enumerate(layout.items()):
        if text is None:
            image(root / rel, shade=i * 10, mode="L" if "Masks" in rel else "RGB")
        else:
            write(root / rel, text)
    result = CliRunner().invoke(main, ["convert", str(root), "-o", str(tmp_path / "o.parquet")])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.parquet").exists()


def nested_pets(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    image(root / "dog" / "a.jpg", shade=1)
    image(root / "dog" / "puppy" / "b.jpg", shade=2)
    image(root / "cat" / "images" / "c.jpg", shade=3)  # a folder saying what it holds is no label
    image(root / "cat" / "outdoor" / "2019" / "d.jpg", shade=4)
    return root


def test_nested_label_folders_are_labels_by_their_full_path_when_asked(tmp_path: Path) -> None:
    conv = labelprep.convert(nested_pets(tmp_path), nested_folders="path")
    assert labels_of(conv) == {"dog/a.jpg": ["dog"], "dog/puppy/b.jpg": ["dog/puppy"], "cat/images/c.jpg": ["cat"],
                               "cat/outdoor/2019/d.jpg": ["cat/outdoor/2019"]}  # fmt: skip
    assert any("nested folder(s) below label folders, each a label by its full path" in n for n in conv.notes)


def test_nested_label_folders_are_labelled_by_the_top_folder_when_asked(tmp_path: Path) -> None:
    """torchvision's ImageFolder and Keras' image_dataset_from_directory read a tree so."""
    conv = labelprep.convert(nested_pets(tmp_path), nested_folders="top")
    assert labels_of(conv) == {"dog/a.jpg": ["dog"], "dog/puppy/b.jpg": ["dog"], "cat/images/c.jpg": ["cat"],
                               "cat/outdoor/2019/d.jpg": ["cat"]}  # fmt: skip
    assert list(conv.vocabulary) == ["cat", "dog"]
    assert any("labelled by their top folder" in n for n in conv.notes)


def test_nested_label_folders_are_refused_until_the_user_says_how_to_read_them(tmp_path: Path) -> None:
    root = nested_pets(tmp_path)
    result = CliRunner().invoke(main, ["convert", str(root), "-o", str(tmp_path / "o.parquet")])
    assert result.exit_code == 1, result.output
    assert "cat/outdoor/2019, dog/puppy" in result.output
    assert "--nested-folders top (label 'cat'" in result.output and "--nested-folders path" in result.output
    assert not (tmp_path / "o.parquet").exists()
    followed = CliRunner().invoke(main, ["convert", str(root), "-o", str(tmp_path / "o.parquet"),
                                         "--nested-folders", "top"])  # fmt: skip
    assert followed.exit_code == 0, followed.output
    assert "images: 4" in followed.output


def test_split_names_come_from_the_split_word_of_each_name(tmp_path: Path) -> None:
    for stem in ("labels_train", "labels_val"):
        write_json(tmp_path / f"{stem}.json", {f"{stem}.jpg": ["cat"]})
    conv = labelprep.convert_splits([tmp_path / "labels_train.json", tmp_path / "labels_val.json"])
    assert splits_of(conv) == {"labels_train.jpg": "train", "labels_val.jpg": "val"}
    write_json(tmp_path / "a.json", {"a.jpg": ["cat"]})
    write_json(tmp_path / "b.json", {"b.jpg": ["dog"]})
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                       "-o", str(tmp_path / "o.parquet")])  # fmt: skip
    assert result.exit_code == 1 and "holds no split word" in result.output and "=" in result.output
    result = CliRunner().invoke(main, ["convert", f"train={tmp_path / 'a.json'}", f"test={tmp_path / 'b.json'}",
                                       "-o", str(tmp_path / "o.parquet")])  # fmt: skip
    assert result.exit_code == 0, result.output
    frame, _ = labelprep.load_frame(tmp_path / "o.parquet")
    assert dict(zip(frame["path"], frame["split"], strict=True)) == {"a.jpg": "train", "b.jpg": "test"}
    write_json(tmp_path / "train-export.json", {"c.jpg": ["cat"]})
    write_json(tmp_path / "train_extra.json", {"d.jpg": ["cat"]})
    with pytest.raises(labelprep.InputError, match="two sources name the split 'train'"):
        labelprep.validate([tmp_path / "train-export.json", tmp_path / "train_extra.json"])


def test_a_test_split_is_never_taken_for_training(tmp_path: Path) -> None:
    for stem, label in (("test", "cat"), ("val", "dog")):
        write_json(tmp_path / f"{stem}.json", {f"{stem}.jpg": [label]})
    report = labelprep.validate([tmp_path / "test.json", tmp_path / "val.json"], check_images="none",
                                severity={"missing-file": "off"})  # fmt: skip
    assert report.stats["train_split"] is None
    assert "label-not-in-train" not in report.codes(), report.to_text()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("info.json", '{"info": {"year": 2024}, "licenses": [], "items_count": 3}', "keys 'info', 'licenses'"),
        ("annotations.txt", '<?xml version="1.0"?>\n<annotations><version>1.1</version><meta><task><labels><label>'
         "<name>car</name></label></labels></task></meta><track id=\"0\" label=\"car\"></track></annotations>\n",
         "CVAT for video"),
        ("tree.xml", "<?xml version='1.0'?><project><file>x</file></project>", "root <project>"),
        ("list.txt", "2 0.13 0.30 0.26 0.20\n", "YOLO label file"),
    ],
    ids=["unknown-json", "cvat-xml-named-txt", "other-xml", "yolo-label-file"],
)  # fmt: skip
def test_an_unknown_file_says_what_it_is(tmp_path: Path, name: str, text: str, message: str) -> None:
    result = CliRunner().invoke(main, ["convert", str(write(tmp_path / name, text)), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output


def test_a_frame_with_no_image_left_is_an_error(tmp_path: Path) -> None:
    src = write(tmp_path / "l.csv", "image,labels\na.jpg,cat\nb.jpg,dog\n")
    result = CliRunner().invoke(main, ["convert", str(src), "-o", str(tmp_path / "o.parquet"), "--exclude", "*.jpg"])
    assert result.exit_code == 1 and "no image is left to write" in result.output and "2 excluded" in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_roboflow_darknet_and_voc_exports_with_split_folders(tmp_path: Path) -> None:
    dark = tmp_path / "darknet"
    for i, (split, line) in enumerate((("train", "1 0.5 0.5 0.2 0.2"), ("valid", "2 0.5 0.5 0.2 0.2"))):
        write(dark / split / "_darknet.labels", "cat\ndog\nrabbit\n")  # one names file a split folder, alike
        image(dark / split / f"p{i}_jpg.rf.abc.jpg", shade=i)
        write(dark / split / f"p{i}_jpg.rf.abc.txt", line + "\n")
    conv = labelprep.convert(dark)
    assert labels_of(conv) == {"train/p0_jpg.rf.abc.jpg": ["dog"], "valid/p1_jpg.rf.abc.jpg": ["rabbit"]}
    assert list(conv.vocabulary) == ["cat", "dog", "rabbit"]
    write(dark / "valid" / "_darknet.labels", "cat\nrabbit\ndog\n")  # disagreeing names: refused
    with pytest.raises(labelprep.InputError, match="class names files disagree"):
        labelprep.convert(dark)
    voc = tmp_path / "voc"
    for split, name, cls in (("train", "a", "helmet"), ("valid", "b", "head")):
        write(voc / split / f"{name}.xml", VOC_XML.format(name=name, objects=VOC_OBJECT.format(cls=cls, difficult=0)))
        image(voc / split / f"{name}.jpg", shade=len(split))
    write(voc / "README.roboflow.txt", "exported from roboflow\n")
    conv = labelprep.convert(voc)
    assert labels_of(conv) == {"train/a.jpg": ["helmet"], "valid/b.jpg": ["head"]}
    assert splits_of(conv) == {"train/a.jpg": "train", "valid/b.jpg": "valid"}


def test_a_column_named_label_holds_one_label_a_cell(tmp_path: Path) -> None:
    src = write(tmp_path / "metadata.csv", "file_name,label,caption\na.jpg,golden retriever,a dog\nb.jpg,tabby cat,x\n")
    conv = labelprep.convert(src)
    assert labels_of(conv) == {"a.jpg": ["golden retriever"], "b.jpg": ["tabby cat"]}
    src = write(tmp_path / "tags.csv", "image,tags\na.jpg,haze primary\n")  # plural: space separated
    assert labels_of(labelprep.convert(src)) == {"a.jpg": ["haze", "primary"]}


def test_coco_variants_panoptic_keypoints_without_category_and_lvis_urls(tmp_path: Path) -> None:
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    image(tmp_path / "images" / "x.jpg", shade=1)
    pan = write_json(tmp_path / "panoptic_val.json", {
        "images": [{"id": 40, "file_name": "x.jpg"}], "categories": cats,
        "annotations": [{"image_id": 40, "file_name": "x.png", "segments_info": [
            {"id": 1, "category_id": 2, "iscrowd": 1}, {"id": 2, "category_id": 2}]}]})  # fmt: skip
    assert labels_under(labelprep.convert(pan), tmp_path) == {"images/x.jpg": ["b"]}
    kp = write_json(tmp_path / "person_keypoints_train.json", {
        "images": [{"id": 1, "file_name": "x.jpg"}], "categories": cats,
        "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "keypoints": [0, 0, 2]},
                        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]})  # fmt: skip
    conv = labelprep.convert(kp)
    assert labels_under(conv, tmp_path) == {"images/x.jpg": ["a"]} and any("category_id 0" in n for n in conv.notes)
    image(tmp_path / "val2017" / "y.jpg", shade=2)
    lvis = write_json(tmp_path / "lvis_v1_val.json", {
        "images": [{"id": 1, "coco_url": "http://images.cocodataset.org/val2017/y.jpg", "neg_category_ids": [1]}],
        "categories": cats, "annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}]})  # fmt: skip
    assert labels_under(labelprep.convert(lvis), tmp_path) == {"val2017/y.jpg": ["b"]}


def test_rekognition_manifest_one_attribute_a_label(tmp_path: Path) -> None:
    def meta(name: str) -> dict[str, object]:
        return {"class-name": name, "confidence": 1, "type": "groundtruth/image-classification",
                "job-name": "labeling-job/x", "human-annotated": "yes"}  # fmt: skip

    image(tmp_path / "images" / "a.jpg", shade=1)
    image(tmp_path / "images" / "b.jpg", shade=2)
    src = write_json(tmp_path / "output.manifest", [
        {"source-ref": "s3://b/images/a.jpg", "patio": 1, "patio-metadata": meta("Patio"),
         "garden": 1, "garden-metadata": meta("Garden")},
        {"source-ref": "s3://b/images/b.jpg", "kitchen": 1, "kitchen-metadata": meta("Kitchen")},
    ], lines=True)  # fmt: skip
    assert labels_under(labelprep.convert(src), tmp_path) == {"images/a.jpg": ["Garden", "Patio"],
                                                              "images/b.jpg": ["Kitchen"]}  # fmt: skip


def test_prediction_strings_and_attribute_ids(tmp_path: Path) -> None:
    src = write(tmp_path / "LOC_val_solution.csv", "ImageId,PredictionString\n"
                "ILSVRC2012_val_00000001,n01751748 7 22 335 383 n01751748 9 2 3 4 \n"
                "ILSVRC2012_val_00000002,n09193705 1 1 10 10 n04552348 2 2 9 9\n")  # fmt: skip
    conv = labelprep.convert(src, path_template="{}.JPEG")
    assert labels_of(conv) == {"ILSVRC2012_val_00000001.JPEG": ["n01751748"],
                               "ILSVRC2012_val_00000002.JPEG": ["n04552348", "n09193705"]}  # fmt: skip
    src = write(tmp_path / "train.csv", "id,attribute_ids\n1000483014d91860,147 616 813\n1000fe2e667721fe,51\n")
    write(tmp_path / "labels.csv", "attribute_id,attribute_name\n51,culture::italian\n147,culture::french\n"
          "616,tag::bird\n813,tag::river\n0,culture::abruzzi\n")  # fmt: skip
    conv = labelprep.convert(src, label_map=tmp_path / "labels.csv", path_template="train/{}.png")
    assert labels_of(conv) == {"train/1000483014d91860.png": ["culture::french", "tag::bird", "tag::river"],
                               "train/1000fe2e667721fe.png": ["culture::italian"]}  # fmt: skip
    assert "culture::abruzzi" in list(conv.vocabulary)  # the map declares it; no image has it


STUDIO_HEADER = "image,id,{controls},annotator,annotation_id,created_at,updated_at,lead_time\n"
STUDIO_META = "anna@example.com,201,2024-03-01T10:00:00.000000Z,2024-03-01T10:00:05.000000Z,5.2"


def studio_csv(tmp_path: Path, controls: str, rows: list[str]) -> Path:
    """A Label Studio CSV export as label-studio-converter writes it, with the images beside it."""
    for name in ("beach_dog.jpg", "city.jpg", "forest.jpg", "wall.jpg"):
        image(tmp_path / f"5b1e-{name}", shade=len(name))
    text = STUDIO_HEADER.format(controls=controls) + "".join(f"{r},{STUDIO_META}\n" for r in rows)
    return write(tmp_path / "project-3-at-2024-03-01-10-05.csv", text)


def test_label_studio_csv_export_reads_plain_and_json_choices_and_regions(tmp_path: Path) -> None:
    src = studio_csv(tmp_path, "choice", [
        '/data/upload/3/5b1e-beach_dog.jpg,101,"{""choices"": [""Beach"", ""Dog""]}"',
        "/data/upload/3/5b1e-city.jpg,102,Night",
        '/data/upload/3/5b1e-forest.jpg,103,"[{""x"": 1, ""y"": 2, ""width"": 3, ""height"": 4, '
        '""rectanglelabels"": [""Tree""]}, {""x"": 5, ""rectanglelabels"": [""Deer"", ""Tree""]}]"',
        "/data/upload/3/5b1e-wall.jpg,104,",
    ])  # fmt: skip
    conv = labelprep.convert(src)
    assert conv.format == "labelstudio"
    assert labels_of(conv) == {"5b1e-beach_dog.jpg": ["Beach", "Dog"], "5b1e-city.jpg": ["Night"],
                               "5b1e-forest.jpg": ["Deer", "Tree"], "5b1e-wall.jpg": []}  # fmt: skip
    assert any("labels from the control 'choice'" in n and "4 Label Studio path(s)" in n for n in conv.notes)
    assert "id" not in conv.vocabulary and "annotator" not in conv.vocabulary


def test_label_studio_csv_with_two_controls_asks_which_holds_the_labels(tmp_path: Path) -> None:
    src = studio_csv(tmp_path, "choice,comment", ["/data/upload/3/5b1e-city.jpg,102,Night,blurry?"])
    result = CliRunner().invoke(main, ["convert", str(src), "-o", str(tmp_path / "o.parquet")])
    assert result.exit_code == 1, result.output
    assert "control columns are 'choice', 'comment'" in result.output and "--labels-col" in result.output
    conv = labelprep.convert(src, labels_col="choice")
    assert labels_of(conv) == {"5b1e-city.jpg": ["Night"]}


def test_label_studio_csv_taxonomy_is_refused_naming_the_line(tmp_path: Path) -> None:
    src = studio_csv(tmp_path, "choice", ['/data/upload/3/5b1e-city.jpg,102,"{""taxonomy"": [[""A"", ""B""]]}"'])
    with pytest.raises(labelprep.InputError, match="taxonomy") as info:
        labelprep.convert(src)
    assert info.value.line == 2


def via_project(tmp_path: Path, attributes: dict[str, Any] | None) -> Path:
    """A VIA 2 project: regions with a dropdown 'species', a checkbox 'occluded', a text file attribute."""
    def region(species: str, occluded: dict[str, bool]) -> dict[str, Any]:
        return {"shape_attributes": {"name": "rect", "x": 1, "y": 2, "width": 3, "height": 4},
                "region_attributes": {"species": species, "occluded": occluded}}  # fmt: skip

    images = {
        "kitchen.jpg84213": {"filename": "kitchen.jpg", "size": 84213, "file_attributes": {"caption": "a kitchen"},
                             "regions": [region("cat", {}), region("dog", {"yes": True}), region("cat", {})]},
        "garden.jpg120877": {"filename": "garden.jpg", "size": 120877, "file_attributes": {"caption": "a garden"},
                             "regions": [region("bird", {})]},
        "sofa.jpg65002": {"filename": "sofa.jpg", "size": 65002, "file_attributes": {}, "regions": []},
    }  # fmt: skip
    for i, name in enumerate(("kitchen.jpg", "garden.jpg", "sofa.jpg")):
        image(tmp_path / name, shade=i)
    project: dict[str, Any] = {"_via_settings": {"core": {"default_filepath": ""}}, "_via_img_metadata": images,
                               "_via_image_id_list": list(images)}  # fmt: skip
    if attributes is not None:
        project["_via_attributes"] = attributes
    return write_json(tmp_path / "pets.json", project)


VIA_ATTRIBUTES = {
    "region": {"species": {"type": "dropdown", "options": {"cat": "", "dog": "", "bird": "", "hamster": ""}},
               "occluded": {"type": "checkbox", "options": {"yes": ""}}},
    "file": {"caption": {"type": "text"}},
}  # fmt: skip


def test_via_project_labels_are_the_one_dropdown_region_attribute(tmp_path: Path) -> None:
    conv = labelprep.convert(via_project(tmp_path, VIA_ATTRIBUTES))
    assert conv.format == "via"
    assert labels_of(conv) == {"kitchen.jpg": ["cat", "dog"], "garden.jpg": ["bird"], "sofa.jpg": []}
    assert list(conv.vocabulary) == ["cat", "dog", "bird", "hamster"]  # the dropdown's options, in order
    assert any("region attribute 'species'" in n for n in conv.notes)
    folder = labelprep.convert(tmp_path)  # the folder holding the project and its images
    assert folder.format == "via" and labels_of(folder) == labels_of(conv)


def test_via_annotations_without_definitions_take_the_one_text_attribute(tmp_path: Path) -> None:
    src = via_project(tmp_path, None)
    data = json.loads(src.read_text())["_via_img_metadata"]
    data["garden.jpg120877"]["regions"] = {"0": data["garden.jpg120877"]["regions"][0]}  # VIA 1.x: keyed by index
    write_json(tmp_path / "via_region_data.json", data)
    conv = labelprep.convert(tmp_path / "via_region_data.json")
    assert labels_of(conv) == {"kitchen.jpg": ["cat", "dog"], "garden.jpg": ["bird"], "sofa.jpg": []}
    # a checkbox answer gives the options ticked, when named
    ticked = labelprep.convert(tmp_path / "via_region_data.json", labels_col="occluded")
    assert labels_of(ticked) == {"kitchen.jpg": ["yes"], "garden.jpg": [], "sofa.jpg": []}


def test_via_csv_export_reads_region_attributes_and_lists_images_without_regions(tmp_path: Path) -> None:
    for i, name in enumerate(("IMG_1.jpg", "IMG_2.jpg", "IMG_3.jpg")):
        image(tmp_path / name, shade=i)
    rows = ['IMG_1.jpg,512,"{}",2,0,"{""name"":""rect""}","{""label"":""car""}"',
            'IMG_1.jpg,512,"{}",2,1,"{""name"":""rect""}","{""label"":""bicycle""}"',
            'IMG_2.jpg,498,"{""weather"":""rain""}",1,0,"{""name"":""rect""}","{""label"":""pedestrian""}"',
            'IMG_3.jpg,501,"{}",0,0,"{}","{}"']  # fmt: skip
    src = write(tmp_path / "via_export_csv.csv", ",".join(VIA_CSV) + "\n" + "\n".join(rows) + "\n")
    conv = labelprep.convert(src)
    assert conv.format == "via"
    assert labels_of(conv) == {"IMG_1.jpg": ["bicycle", "car"], "IMG_2.jpg": ["pedestrian"], "IMG_3.jpg": []}
    weather = labelprep.convert(src, labels_col="weather")  # a file attribute, when named
    assert labels_of(weather) == {"IMG_1.jpg": [], "IMG_2.jpg": ["rain"], "IMG_3.jpg": []}


VIA_CSV = ("filename", "file_size", "file_attributes", "region_count", "region_id", "region_shape_attributes",
           "region_attributes")  # fmt: skip


def test_via_regions_without_a_class_or_with_two_are_refused(tmp_path: Path) -> None:
    image(tmp_path / "a.jpg")
    bare = {"a.jpg123": {"filename": "a.jpg", "size": 123, "file_attributes": {},
                         "regions": {"0": {"shape_attributes": {"name": "polygon"}, "region_attributes": {}}}}}  # fmt: skip
    result = CliRunner().invoke(main, ["convert", str(write_json(tmp_path / "bare.json", bare)),
                                       "-o", str(tmp_path / "o.parquet")])  # fmt: skip
    assert result.exit_code == 1 and "VIA regions with no class attribute" in result.output, result.output
    assert "export again" in result.output and not (tmp_path / "o.parquet").exists()
    two = {"a.jpg123": {"filename": "a.jpg", "size": 123, "file_attributes": {},
                        "regions": [{"region_attributes": {"name": "cat", "colour": "black"}}]}}  # fmt: skip
    with pytest.raises(labelprep.InputError, match="'colour', 'name' all hold text"):
        labelprep.convert(write_json(tmp_path / "two.json", two))
    assert labels_of(labelprep.convert(tmp_path / "two.json", labels_col="name")) == {"a.jpg": ["cat"]}


def test_bdd100k_labels_are_the_categories_of_each_frames_objects(tmp_path: Path) -> None:
    """BDD100K's label JSON: frames whose labels[] are objects naming themselves by 'category'."""
    root = tmp_path / "bdd100k"
    for i, name in enumerate(("b1c66a42-6f7d68ca.jpg", "b1ceb32e-3f481b43.jpg")):
        image(root / "images" / "100k" / "val" / name, shade=i)
    frames = [
        {"name": "b1c66a42-6f7d68ca.jpg", "attributes": {"weather": "overcast", "scene": "city street"},
         "timestamp": 10000, "labels": [
             {"category": "traffic sign", "attributes": {"occluded": False}, "manualShape": True, "id": 0,
              "box2d": {"x1": 1.0, "y1": 2.0, "x2": 3.0, "y2": 4.0}},
             {"category": "car", "id": 1, "box2d": {"x1": 1.0, "y1": 2.0, "x2": 3.0, "y2": 4.0}},
             {"category": "lane", "id": 2, "poly2d": [{"vertices": [[1, 2], [3, 4]], "types": "LL", "closed": False}]},
         ]},
        {"name": "b1ceb32e-3f481b43.jpg", "attributes": {"weather": "clear"}, "timestamp": 10000, "labels": []},
    ]  # fmt: skip
    src = write_json(root / "labels" / "bdd100k_labels_images_val.json", frames)
    conv = labelprep.convert(src, images_root=root / "images" / "100k" / "val")
    assert labels_of(conv) == {"b1c66a42-6f7d68ca.jpg": ["car", "lane", "traffic sign"], "b1ceb32e-3f481b43.jpg": []}
    assert "city street" not in conv.vocabulary  # frame attributes describe the scene; they are not labels


def test_objects_in_a_label_list_that_name_nothing_are_refused(tmp_path: Path) -> None:
    src = write_json(tmp_path / "labels.json", [{"name": "a.jpg", "labels": [{"box2d": {"x1": 1}, "id": 3}]}])
    with pytest.raises(labelprep.InputError, match="is not a name") as info:
        labelprep.convert(src)
    assert "category" in (info.value.hint or "")


def supervisely(root: Path, classes: list[str], tags: list[str], images: dict[str, dict[str, Any] | None]) -> Path:
    """A Supervisely project: meta.json and datasets of img/ and ann/<image name>.json ({dataset/name: ann})."""
    write_json(root / "meta.json", {
        "classes": [{"title": c, "shape": "rectangle", "color": "#F8E71C", "id": 9800 + i} for i, c in enumerate(classes)],
        "tags": [{"name": t, "value_type": "none", "id": 3300 + i} for i, t in enumerate(tags)]
        + [{"name": "note", "value_type": "any_string", "id": 3399}],
        "projectType": "images"})  # fmt: skip
    for i, (rel, ann) in enumerate(images.items()):
        dataset, name = rel.split("/")
        image(root / dataset / "img" / name, shade=i)
        if ann is not None:
            write_json(root / dataset / "ann" / f"{name}.json", {"description": "", "size": {"height": 4, "width": 4}, **ann})
        else:
            (root / dataset / "ann").mkdir(parents=True, exist_ok=True)
    write_json(root / "key_id_map.json", {"tags": {}, "objects": {}, "figures": {}, "videos": {}})
    return root


def sv_objects(*names: str) -> list[dict[str, Any]]:
    return [{"id": i, "classTitle": n, "geometryType": "rectangle", "tags": [],
             "points": {"exterior": [[1, 2], [3, 4]], "interior": []}} for i, n in enumerate(names)]  # fmt: skip


def sv_tags(*names: str, value: str | None = None) -> list[dict[str, Any]]:
    return [{"id": i, "tagId": 3300 + i, "name": n, "value": value} for i, n in enumerate(names)]


def test_supervisely_object_classes_are_the_labels_when_the_project_declares_classes(tmp_path: Path) -> None:
    root = supervisely(tmp_path / "proj", ["person", "car", "traffic sign"], ["reviewed"], {
        "ds0/street_1.jpg": {"tags": sv_tags("reviewed"), "objects": sv_objects("person", "car", "person")},
        "ds0/street_2.jpeg": {"tags": [], "objects": []},
        "ds1/crossing.png": {"tags": sv_tags("note", value="check"), "objects": sv_objects("traffic sign")},
        "ds1/unlabelled.jpg": None,  # no annotation file: left out, in the ledger
    })  # fmt: skip
    conv = labelprep.convert(root)
    assert conv.format == "supervisely" and "split" not in conv.frame.columns  # ds0, ds1: one set
    assert labels_of(conv) == {"ds0/img/street_1.jpg": ["car", "person"], "ds0/img/street_2.jpeg": [],
                               "ds1/img/crossing.png": ["traffic sign"]}  # fmt: skip
    assert list(conv.vocabulary) == ["person", "car", "traffic sign"]
    assert any("'reviewed' are not labels" in n for n in conv.notes)
    assert [(e.path, e.reason) for e in conv.ledger] == [("ds1/img/unlabelled.jpg", "no annotation file")]
    assert labelprep.convert(root / "meta.json").frame.equals(conv.frame)  # meta.json names the project too


def test_supervisely_image_tags_are_the_labels_of_a_classification_project(tmp_path: Path) -> None:
    root = supervisely(tmp_path / "proj", [], ["sunny", "cloudy", "rain", "snow"], {
        "train/w1.jpg": {"tags": sv_tags("cloudy", "rain"), "objects": []},
        "train/w2.jpg": {"tags": sv_tags("sunny") + sv_tags("note", value="bright"), "objects": []},
        "val/w3.jpg": {"tags": [], "objects": []},
    })  # fmt: skip
    conv = labelprep.convert(root)
    assert labels_of(conv) == {"train/img/w1.jpg": ["cloudy", "rain"], "train/img/w2.jpg": ["sunny"],
                               "val/img/w3.jpg": []}  # fmt: skip
    assert list(conv.vocabulary) == ["sunny", "cloudy", "rain", "snow"]  # valued tags ('note') are attributes
    assert splits_of(conv) == {"train/img/w1.jpg": "train", "train/img/w2.jpg": "train", "val/img/w3.jpg": "val"}


def cub(root: Path) -> Path:
    """CUB-200-2011's index files (numbered, joined by image id) and images in per-class folders."""
    files = {1: "001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg",
             2: "001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg",
             3: "002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg"}  # fmt: skip
    for i, rel in files.items():
        image(root / "images" / rel, shade=i)
    write(root / "images.txt", "".join(f"{i} {rel}\n" for i, rel in files.items()))
    write(root / "image_class_labels.txt", "1 1\n2 1\n3 2\n")
    write(root / "classes.txt", "1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n3 003.Sooty_Albatross\n")
    write(root / "train_test_split.txt", "1 0\n2 1\n3 1\n")
    write(root / "bounding_boxes.txt", "1 60.0 27.0 325.0 304.0\n2 139.0 30.0 153.0 264.0\n3 14.0 112.0 388.0 186.0\n")
    write(root / "README", "CUB-200-2011\n")
    return root


def test_cub_index_files_are_joined_by_image_id(tmp_path: Path) -> None:
    root = cub(tmp_path / "CUB_200_2011")
    for source in (root, root / "images.txt"):
        conv = labelprep.convert(source)
        assert conv.format == "cub"
        assert labels_of(conv) == {"001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg": ["001.Black_footed_Albatross"],
                                   "001.Black_footed_Albatross/Black_Footed_Albatross_0009_34.jpg": ["001.Black_footed_Albatross"],
                                   "002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg": ["002.Laysan_Albatross"]}  # fmt: skip
        assert list(conv.vocabulary) == ["001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"]
        assert sorted(splits_of(conv).values()) == ["test", "train", "train"]
        assert all(p.is_file() and p.parent.parent.name == "images" for p in resolved(conv))


def test_cub_class_ids_missing_from_classes_txt_are_refused_by_line(tmp_path: Path) -> None:
    root = cub(tmp_path / "CUB_200_2011")
    write(root / "image_class_labels.txt", "1 1\n2 7\n3 2\n")
    with pytest.raises(labelprep.InputError, match=r"class id 7 is not in classes\.txt") as info:
        labelprep.convert(root)
    assert info.value.line == 2


def test_dota_label_files_give_the_classes_of_their_boxes_per_split(tmp_path: Path) -> None:
    root = tmp_path / "DOTA"
    header = "imagesource:GoogleEarth\ngsd:0.146343590398\n"
    files = {"train/P0000": header + "2753 2408 2861 2385 2888 2468 2805 2502 plane 0\n"
                                     "630 1674 628 1666 640 1654 644 1666 small-vehicle 1\n",
             "train/P0001": header + "1 2 3 4 5 6 7 8 ship 0\n1 2 3 4 5 6 7 8 ship 1\n",
             "val/P0003": header}  # fmt: skip
    for i, (rel, text) in enumerate(files.items()):
        split, stem = rel.split("/")
        write(root / split / "labelTxt" / f"{stem}.txt", text)
        image(root / split / "images" / f"{stem}.png", shade=i)
    conv = labelprep.convert(root)
    assert conv.format == "dota"
    assert labels_of(conv) == {"train/images/P0000.png": ["plane", "small-vehicle"],
                               "train/images/P0001.png": ["ship"], "val/images/P0003.png": []}  # fmt: skip
    assert splits_of(conv) == {"train/images/P0000.png": "train", "train/images/P0001.png": "train",
                               "val/images/P0003.png": "val"}  # fmt: skip
    assert any("2 'difficult' box(es) count as present" in n for n in conv.notes)
    image(root / "val" / "images" / "P0009.png", shade=9)  # no label file: left out, accounted for
    assert [(e.path, e.reason) for e in labelprep.convert(root).ledger] == [("val/images/P0009.png", "no label file")]
    write(root / "val" / "labelTxt" / "P0004.txt", "1 2 3 plane 0\n")
    with pytest.raises(labelprep.InputError, match="not a DOTA box line") as info:
        labelprep.convert(root)
    assert info.value.line == 1


def labelbox_row(name: str, annotations: dict[str, Any] | None, *, selected: bool = True) -> dict[str, Any]:
    """One data row of a Labelbox NDJSON export (v2); ``annotations`` None: not labelled yet."""
    labels = [] if annotations is None else [
        {"id": "other", "annotations": {"objects": [], "classifications": []}},  # a benchmark label, not selected
        {"id": f"lbl-{name}", "label_kind": "Default", "annotations": {"relationships": [], **annotations}},
    ]  # fmt: skip
    return {"data_row": {"id": f"row-{name}", "external_id": name, "row_data": f"https://storage.example/{name}"},
            "media_attributes": {"height": 4, "width": 4}, "attachments": [], "metadata_fields": [],
            "projects": {"proj1": {"name": "Animal tags", "labels": labels,
                                   "project_details": {"selected_label_id": f"lbl-{name}" if selected else None,
                                                       "workflow_status": "DONE"}}}}  # fmt: skip


def checklist(*values: str) -> dict[str, Any]:
    return {"feature_id": "f1", "name": "animals", "value": "animals",
            "checklist_answers": [{"name": v.title(), "value": v, "classifications": []} for v in values]}  # fmt: skip


RADIO = {"feature_id": "f2", "name": "image quality", "value": "image_quality",
         "radio_answer": {"name": "Good", "value": "good", "classifications": []}}  # fmt: skip


def test_labelbox_export_reads_the_one_checklist_question_by_value(tmp_path: Path) -> None:
    for i, name in enumerate(("img_1.jpg", "img_2.jpg", "img_3.jpg", "img_4.jpg")):
        image(tmp_path / "images" / name, shade=i)
    rows = [labelbox_row("img_1.jpg", {"objects": [], "classifications": [checklist("cat", "dog"), RADIO]}),
            labelbox_row("img_2.jpg", {"objects": [], "classifications": [checklist("bird")]}),
            labelbox_row("img_3.jpg", {"objects": [], "classifications": [checklist(), RADIO]}),
            labelbox_row("img_4.jpg", None)]  # fmt: skip
    src = write(tmp_path / "export.ndjson", "".join(json.dumps(r) + "\n" for r in rows))
    conv = labelprep.convert(src)
    assert conv.format == "labelbox"
    assert labels_of(conv) == {"img_1.jpg": ["cat", "dog"], "img_2.jpg": ["bird"], "img_3.jpg": []}
    assert [(e.path, e.line, e.reason) for e in conv.ledger] == [("img_4.jpg", 4, "not labelled yet")]
    assert any("checklist question 'animals'" in n and "not read: 'image quality'" in n for n in conv.notes)
    radio = labelprep.convert(src, labels_col="image quality")
    assert labels_of(radio) == {"img_1.jpg": ["good"], "img_2.jpg": [], "img_3.jpg": ["good"]}


def test_labelbox_objects_are_the_labels_when_there_is_no_question(tmp_path: Path) -> None:
    image(tmp_path / "a.jpg")
    box = {"name": "Car", "value": "car", "bounding_box": {"top": 1, "left": 2, "height": 3, "width": 4}}
    src = write(tmp_path / "export.ndjson", json.dumps(labelbox_row("a.jpg", {"objects": [box, box]})) + "\n")
    assert labels_of(labelprep.convert(src)) == {"a.jpg": ["car"]}
    two = [labelbox_row("a.jpg", {"objects": [], "classifications": [checklist("cat"), {**checklist("x"), "name": "colours"}]})]
    result = CliRunner().invoke(main, ["convert", str(write(tmp_path / "two.ndjson", json.dumps(two[0]) + "\n")),
                                       "-o", str(tmp_path / "o.parquet")])  # fmt: skip
    assert result.exit_code == 1 and "several checklist questions ('animals', 'colours')" in result.output
    assert "--labels-col" in result.output


def test_mask_tables_give_the_classes_whose_mask_is_not_empty(tmp_path: Path) -> None:
    """Kaggle's Understanding Clouds: Image_Label fused as <file>_<class>; a blank mask is an absent class."""
    for i, name in enumerate(("0011165.jpg", "002be4f.jpg", "0031ae9.jpg")):
        image(tmp_path / "train_images" / name, shade=i)
    rows = ["0011165.jpg_Fish,264918 937 266318 937", "0011165.jpg_Flower,1355565 1002", "0011165.jpg_Gravel,",
            "0011165.jpg_Sugar,", "002be4f.jpg_Fish,233813 878", "002be4f.jpg_Flower,", "002be4f.jpg_Gravel,",
            "002be4f.jpg_Sugar,1 2", "0031ae9.jpg_Fish,", "0031ae9.jpg_Flower,", "0031ae9.jpg_Gravel,",
            "0031ae9.jpg_Sugar,"]  # fmt: skip
    src = write(tmp_path / "train.csv", "Image_Label,EncodedPixels\n" + "\n".join(rows) + "\n")
    conv = labelprep.convert(src, images_root=tmp_path / "train_images")
    assert conv.format == "masks"
    assert labels_of(conv) == {"0011165.jpg": ["Fish", "Flower"], "002be4f.jpg": ["Fish", "Sugar"], "0031ae9.jpg": []}
    assert list(conv.vocabulary) == ["Fish", "Flower", "Gravel", "Sugar"]
    assert conv.summary.rows_read == 12 and conv.summary.images == 3


def test_mask_tables_with_an_image_and_a_class_column(tmp_path: Path) -> None:
    """Severstal steel defects: ImageId, ClassId, EncodedPixels; images without a defect are not listed."""
    src = write(tmp_path / "train.csv", "ImageId,ClassId,EncodedPixels\n0002cc93b.jpg,1,29102 12 29346 24\n"
                "0007a71bf.jpg,3,18661 28\n0007a71bf.jpg,4,1 5\n000a4bcdd.jpg,1,-1\n")  # fmt: skip
    conv = labelprep.convert(src)
    assert labels_of(conv) == {"0002cc93b.jpg": ["1"], "0007a71bf.jpg": ["3", "4"], "000a4bcdd.jpg": []}


def test_every_new_form_reads_the_same_when_forced_with_format(tmp_path: Path) -> None:
    """--format names each form the CLI lists; forcing the detected form gives the same frame."""
    image(tmp_path / "m" / "a.jpg")
    sources = {
        "via": via_project(tmp_path / "v", VIA_ATTRIBUTES),
        "supervisely": supervisely(tmp_path / "s", ["cat"], [], {"ds0/a.jpg": {"tags": [], "objects": sv_objects("cat")}}),
        "cub": cub(tmp_path / "c"),
        "labelstudio": studio_csv(tmp_path / "l", "choice", ["/data/upload/3/5b1e-city.jpg,102,Night"]),
        "masks": write(tmp_path / "m" / "train.csv", "Image_Label,EncodedPixels\na.jpg_Fish,1 2\na.jpg_Sugar,\n"),
        "labelbox": write(tmp_path / "export.ndjson", json.dumps(labelbox_row("a.jpg", {"objects": [],
                          "classifications": [checklist("cat")]})) + "\n"),
    }
    image(tmp_path / "a.jpg")
    for form, src in sources.items():
        detected = labelprep.convert(src)
        assert detected.format == form
        forced = labelprep.convert(src, format=form)
        assert forced.frame.equals(detected.frame) and list(forced.vocabulary) == list(detected.vocabulary), form


def test_ids_with_a_path_template_are_looked_for_as_the_files_they_name(tmp_path: Path) -> None:
    # '{}.png' names the files: they are found in the images folder beside the table, which is then the root
    for name in ("0001", "0002"):
        image(tmp_path / "images" / f"{name}.png", shade=40)
    write(tmp_path / "labels.csv", "ImageID,LabelName\n0001,cat\n0002,dog\n")
    conv = labelprep.convert(tmp_path / "labels.csv", path_template="{}.png")
    assert Path(conv.images_root) == tmp_path / "images"
    assert conv.frame["path"].tolist() == ["0001.png", "0002.png"]
    assert not labelprep.validate(tmp_path / "labels.csv", path_template="{}.png", check_images="none").errors


def test_supervisely_accounts_for_every_file_it_does_not_read(tmp_path: Path) -> None:
    root = supervisely(tmp_path / "proj", ["cat"], [], {"ds0/a.jpg": {"tags": [], "objects": sv_objects("cat")}})
    write(root / "ds0" / "img" / "notes.txt", "taken in 2019\n")
    write_json(root / "ds0" / "ann" / "gone.jpg.json", {"size": {"height": 4, "width": 4}, "tags": [],
                                                        "objects": sv_objects("cat")})  # fmt: skip
    conv = labelprep.convert(root)
    assert labels_of(conv) == {"ds0/img/a.jpg": ["cat"], "ds0/img/gone.jpg": ["cat"]}  # validate: missing-file
    assert [(e.path, e.reason) for e in conv.ledger] == [("ds0/img/notes.txt", "not an image file name")]
