"""What every command does to a source's rows after reading it: --exclude, --group-from-path, --split-from-path,
--join; and in-memory DataFrames as table sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main
from labelprep.readers.exclude import excluded_by


def img(path: Path, shade: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (shade, shade, shade)).save(path)
    return path


def messy_folders(tmp_path: Path) -> Path:
    """A label-folder export with a folder of images nobody has labelled yet."""
    root = tmp_path / "photos"
    img(root / "beach" / "a.jpg", 10)
    img(root / "sunset" / "b.jpg", 20)
    img(root / "unlabeled" / "c.jpg", 30)
    img(root / "unlabeled" / "later" / "d.jpg", 40)
    return root


# -- --exclude -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "patterns", "hit"), [
    ("unlabeled/c.jpg", ["unlabeled"], "unlabeled"),
    ("train/unlabeled/c.jpg", ["unlabeled/"], "unlabeled/"),
    ("train/todo_1/c.jpg", ["todo*"], "todo*"),
    ("a.gif", ["*.gif"], "*.gif"),
    ("train/unsorted/x.jpg", ["train/unsorted"], "train/unsorted"),
    ("val/unsorted/x.jpg", ["train/unsorted"], None),
    ("./imgs\\skip\\x.jpg", ["imgs/skip/*"], "imgs/skip/*"),
    ("Unlabeled/x.jpg", ["unlabeled"], None),  # case matters
    ("beach/unlabeled-sunset.jpg", ["unlabeled"], None),  # a whole name, not a part of one
])
def test_exclude_patterns(path: str, patterns: list[str], hit: str | None) -> None:
    assert excluded_by(path, patterns) == hit


def test_folder_form_leaves_a_not_yet_labelled_folder_out_and_says_so(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["convert", str(messy_folders(tmp_path)), "-o", str(tmp_path / "a.parquet")])
    assert r.exit_code == 0, r.output
    assert "2 label folder(s): beach, sunset" in r.output
    assert "2 image(s) in 'unlabeled' left out: a folder of images not labelled yet" in r.output
    assert "left out: 2 not labelled yet" in r.output
    frame, vocab = labelprep.read_frame(tmp_path / "a.parquet")
    assert list(vocab) == ["beach", "sunset"] and len(frame) == 2  # no label 'unlabeled', no all-zero rows
    report = labelprep.validate(messy_folders(tmp_path / "v"), check_images="none")
    assert report.codes().get("left-out") == 2


def test_exclude_leaves_a_folder_out_and_accounts_for_it(tmp_path: Path) -> None:
    root = messy_folders(tmp_path)
    ledger = tmp_path / "ledger.csv"
    r = CliRunner().invoke(main, ["convert", str(root), "-o", str(tmp_path / "a.parquet"), "--exclude", "unlabeled",
                                  "--ledger", str(ledger)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "2 label folder(s): beach, sunset" in r.output
    assert "left out: 2 excluded by --exclude" in r.output and "rows read: 4" in r.output
    frame, vocab = labelprep.read_frame(tmp_path / "a.parquet")
    assert list(vocab) == ["beach", "sunset"] and frame["path"].tolist() == ["beach/a.jpg", "sunset/b.jpg"]
    rows = pd.read_csv(ledger)
    assert rows[["path", "reason", "detail"]].values.tolist() == [
        ["unlabeled/c.jpg", "excluded by --exclude", "unlabeled"],
        ["unlabeled/later/d.jpg", "excluded by --exclude", "unlabeled"],
    ]
    # not labelled yet is not "labelled as having no label": no all-zero rows, no empty-labels findings
    assert labelprep.convert(root, exclude=["unlabeled"]).summary.empty_label_sets == 0
    report = labelprep.validate(root, exclude=["unlabeled"], check_images="none")
    assert report.ok and not report.findings and report.stats["images"] == 2


def test_exclude_before_split_folders_are_judged(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    img(root / "train" / "cat" / "a.jpg", 1)
    img(root / "val" / "dog" / "b.jpg", 2)
    img(root / "unsorted" / "c.jpg", 3)  # would be a stray folder beside the split folders
    with pytest.raises(labelprep.InputError, match="not one"):
        labelprep.convert(root)
    conv = labelprep.convert(root, exclude=["unsorted"])
    assert conv.frame["split"].tolist() == ["train", "val"]


@pytest.mark.parametrize("form", ["delimited", "wide", "long", "sidecar", "json"])
def test_exclude_table_rows_by_path(tmp_path: Path, form: str) -> None:
    if form == "delimited":
        src = tmp_path / "labels.csv"
        src.write_text("image,labels\nkeep/a.jpg,cat\ntodo/b.jpg,\nkeep/c.jpg,dog\n")
    elif form == "wide":
        src = tmp_path / "labels.csv"
        src.write_text("image,cat,dog\nkeep/a.jpg,1,0\ntodo/b.jpg,0,0\nkeep/c.jpg,0,1\n")
    elif form == "long":
        src = tmp_path / "labels.csv"
        src.write_text("ImageID,LabelName,Confidence\nkeep/a.jpg,cat,1\ntodo/b.jpg,cat,0\ntodo/b.jpg,dog,0\n"
                       "keep/c.jpg,dog,1\n")  # fmt: skip
    elif form == "json":
        src = tmp_path / "labels.json"
        src.write_text('{"keep/a.jpg": ["cat"], "todo/b.jpg": [], "keep/c.jpg": ["dog"]}')
    else:
        src = tmp_path / "tags"
        for name, tags in (("keep/a", "cat"), ("todo/b", ""), ("keep/c", "dog")):
            img(src / f"{name}.jpg")
            (src / f"{name}.txt").write_text(tags)
    conv = labelprep.convert(src, exclude=["todo"])
    assert conv.frame["path"].tolist() == ["keep/a.jpg", "keep/c.jpg"]
    assert list(conv.vocabulary) == ["cat", "dog"]
    excluded = [e for e in conv.ledger if e.reason == "excluded by --exclude"]
    assert {e.path for e in excluded} == {"todo/b.jpg"} or form == "sidecar"
    assert conv.summary.dropped["excluded by --exclude"] == len(excluded) >= 1
    if form in ("delimited", "wide"):
        assert [e.line for e in excluded] == [3]
    if form == "long":
        assert [e.line for e in excluded] == [3, 4]  # one entry per input line of the image
    assert conv.summary.rows_read == (4 if form in ("sidecar", "long") else 3)  # sidecar: images and tag files


# -- --group-from-path, --split-from-path ---------------------------------------------------------------


def chexpert(tmp_path: Path) -> Path:
    src = tmp_path / "train.csv"
    src.write_text(
        "Path,Sex,No Finding,Edema,Cardiomegaly\n"
        "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,F,1.0,,\n"
        "CheXpert-v1.0-small/train/patient00001/study2/view1_frontal.jpg,F,,1.0,0.0\n"
        "CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg,M,,,1.0\n"
        "CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg,M,,1.0,1.0\n"
        "CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg,M,,-1.0,1.0\n"
    )
    return src


def test_group_and_split_from_the_path(tmp_path: Path) -> None:
    src = chexpert(tmp_path)
    out = tmp_path / "cx.parquet"
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(out), "--group-from-path", r"patient(\d+)/",
                                  "--split-from-path", r"/(train|valid)/", "--none-label", "No Finding"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r"group from the path (--group-from-path 'patient(\d+)/'): 4 value(s)" in r.output
    frame, _ = labelprep.read_frame(out)
    assert frame["group"].tolist() == ["00001", "00001", "00002", "00003", "64541"]
    assert frame["split"].tolist() == ["train"] * 4 + ["valid"]
    # validate checks the groups for leaks; split keeps them whole
    report = labelprep.validate(src, group_from_path=r"patient(\d+)/", check_images="none",
                                severity={"missing-file": "off"}, none_label=["No Finding"])  # fmt: skip
    assert report.ok
    leak = labelprep.validate(src, group_from_path=r"patient(\d+)", split_from_path=r"study(\d)",
                              check_images="none", severity={"missing-file": "off"})  # fmt: skip
    assert [f.code for f in leak.findings if f.code == "leaked-group"] == ["leaked-group"]
    outcome = labelprep.split(src, ratios=(0.5, 0.5), names=("a", "b"), group_from_path=r"patient(\d+)/")
    by_group = outcome.frame.groupby("group")["split"].nunique()
    assert (by_group == 1).all()
    r = CliRunner().invoke(main, ["split", str(src), "-o", str(tmp_path / "s.parquet"), "--ratios", "0.5,0.5",
                                  "--names", "a,b", "--group-from-path", r"patient(\d+)/"])  # fmt: skip
    assert r.exit_code == 0, r.output


def test_a_path_the_expression_misses_is_an_error_naming_its_line(tmp_path: Path) -> None:
    src = chexpert(tmp_path)
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(tmp_path / "x.parquet"), "--group-from-path",
                                  r"/(train)/patient"])  # fmt: skip
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"Error: {src}:6: path 'CheXpert-v1.0-small/valid/patient64541" in r.output
    assert "does not match --group-from-path" in r.output
    with pytest.raises(labelprep.InputError, match="not a regular expression"):
        labelprep.convert(src, group_from_path="(")
    with pytest.raises(labelprep.InputError, match="both give the group"):
        labelprep.convert(src, group_from_path="(p)", group_col="Sex")
    # the whole match when the expression has no group
    assert labelprep.convert(src, group_from_path=r"patient\d+").frame["group"].iloc[0] == "patient00001"


# -- --join FILE --on KEY ---------------------------------------------------------------------------------


def test_join_brings_columns_from_a_second_file(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text("Id,Target\nimg/a.png,0 1\nimg/b.png,1\nimg/c.png,2\n")
    meta = tmp_path / "plates.csv"
    meta.write_text("image_id,plate,site\na,P1,S1\nb,P1,S2\nz,P9,S9\n")
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(tmp_path / "j.parquet"), "--join", str(meta),
                                  "--on", "image_id", "--group-col", "plate", "--keep-cols", "site"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "by file name without extension: 2 of 3 row(s) matched" in r.output
    assert "1 row(s) have no row in it, kept with those columns blank: 'img/c.png'" in r.output
    assert "1 of its id(s) match no image" in r.output
    frame, _ = labelprep.read_frame(tmp_path / "j.parquet")
    assert frame["group"].tolist() == ["P1", "P1", ""] and frame["site"].tolist() == ["S1", "S2", ""]
    report = labelprep.validate(src, join=meta, on="image_id", group_col="plate", check_images="none",
                                severity={"missing-file": "off"})  # fmt: skip
    (unmatched,) = [f for f in report.findings if f.code == "join-unmatched"]
    assert (unmatched.path, unmatched.line, unmatched.source) == ("img/c.png", 4, str(src))
    # the split may come from the join file too: a row without one is the usual blank-split error
    meta.write_text("image_id,fold\nimg/a.png,train\nimg/b.png,val\nimg/c.png,val\n")
    conv = labelprep.convert(src, join=meta, on="image_id", split_col="fold")
    assert conv.frame["split"].tolist() == ["train", "val", "val"]
    assert any("by the path as listed: 3 of 3" in n for n in conv.notes)


def test_join_errors(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text("Id,Target\na,0\nb,1\n")
    meta = tmp_path / "meta.csv"
    meta.write_text("Id,plate\na,P1\nb,P2\na,P3\n")
    with pytest.raises(labelprep.InputError, match=r"image id 'a' is listed twice with plate 'P1' and 'P3'") as err:
        labelprep.convert(src, join=meta, on="Id", group_col="plate")
    assert (err.value.file, err.value.line) == (str(meta), 4)
    with pytest.raises(labelprep.InputError, match="--join needs --on"):
        labelprep.convert(src, join=meta, group_col="plate")
    with pytest.raises(labelprep.InputError, match="key column 'image' not found"):
        labelprep.convert(src, join=meta, on="image", group_col="plate")
    with pytest.raises(labelprep.InputError, match="none of them names a column"):
        labelprep.convert(src, join=meta, on="Id", group_col="patient")


# -- DataFrames ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["delimited", "list", "wide", "bool", "long"])
def test_a_dataframe_is_a_table_source(tmp_path: Path, form: str) -> None:
    paths = ["a.jpg", "b.jpg", "c.jpg"]
    if form == "delimited":
        df = pd.DataFrame({"image": paths, "labels": ["cat|dog", "dog", ""]})
    elif form == "list":
        df = pd.DataFrame({"image": paths, "labels": [["cat", "dog"], ["dog"], []]})
    elif form == "wide":
        df = pd.DataFrame({"image": paths, "cat": [1.0, 0.0, np.nan], "dog": [1, 1, 0]})
    elif form == "bool":
        df = pd.DataFrame({"image": paths, "cat": [True, False, False], "dog": [True, True, False]})
    else:
        df = pd.DataFrame({"ImageID": ["a.jpg", "a.jpg", "b.jpg", "c.jpg"], "LabelName": ["cat", "dog", "dog", "cat"],
                           "Confidence": [1, 1, 1, 0]})  # fmt: skip
    before = df.copy()
    conv = labelprep.convert(df, tmp_path / "out.parquet", images_root=tmp_path)
    assert list(conv.vocabulary) == ["cat", "dog"]
    assert conv.frame[["cat", "dog"]].values.tolist() == [[1, 1], [0, 1], [0, 0]]
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is untouched
    frame, _ = labelprep.read_frame(tmp_path / "out.parquet")
    assert frame["path"].tolist() == paths


def test_dataframe_messages_give_row_numbers(tmp_path: Path) -> None:
    df = pd.DataFrame({"image": ["a.jpg", "b.jpg", "c.jpg"], "cat": [1, 0, 2], "dog": [0, 1, 0]})
    with pytest.raises(labelprep.InputError) as err:
        labelprep.convert(df)
    assert str(err.value).startswith("<DataFrame> row 3: column 'cat'")
    df = pd.DataFrame({"image": ["a.jpg", "b.jpg", "a.jpg", "c.jpg"], "labels": ["cat|dog", "dog", "dog", ""]})
    conv = labelprep.convert(df, images_root=tmp_path)
    (merged,) = conv.ledger
    assert (merged.file, merged.line, merged.detail) == ("<DataFrame>", 3, "labels merged into the first listing (row 1)")
    img(tmp_path / "a.jpg")
    img(tmp_path / "b.jpg", 9)
    report = labelprep.validate(df, images_root=tmp_path, check_images="header")
    by_code = {f.code: f for f in report.findings}
    assert by_code["conflicting-labels"].where() == "<DataFrame> row 3"
    assert "on row 1 and" in by_code["conflicting-labels"].message
    assert by_code["missing-file"].where() == "<DataFrame> row 4"
    # several DataFrames are splits, named by df.attrs["name"]
    val = pd.DataFrame({"image": ["b.jpg"], "labels": ["cat"]})
    val.attrs["name"] = "val"
    train = pd.DataFrame({"image": ["a.jpg"], "labels": ["cat"]})
    train.attrs["name"] = "train"
    report = labelprep.validate([train, val], images_root=tmp_path)
    assert report.stats["splits"] == {"train": 1, "val": 1}
    stats = labelprep.stats(df, images_root=tmp_path)
    assert stats.split("all").label("dog").positives == 2


def test_split_with_a_join_reports_the_unmatched_and_keeps_blank_groups_apart(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_text("Id,Target\n" + "".join(f"i{k},{k % 3}\n" for k in range(24)))
    meta = tmp_path / "plates.csv"
    meta.write_text("Id,plate\n" + "".join(f"i{k},p{k // 4}\n" for k in range(20)))  # i20..i23 have no plate
    out = labelprep.split(src, ratios=(0.5, 0.5), names=("a", "b"), join=meta, on="Id", group_col="plate")
    assert any("4 row(s) have no row in it" in n for n in out.notes)
    by_plate = out.frame[out.frame["group"] != ""].groupby("group")["split"].nunique()
    assert (by_plate == 1).all()
    # the four without a plate are four groups of one, not one group of four: 5 plates + 4
    assert sum(out.result.groups) == 5 + 4
    r = CliRunner().invoke(main, ["split", str(src), "-o", str(tmp_path / "s.parquet"), "--ratios", "0.5,0.5",
                                  "--names", "a,b", "--join", str(meta), "--on", "Id", "--group-col", "plate"])  # fmt: skip
    assert r.exit_code == 0 and "4 row(s) have no row in it" in r.output


@pytest.mark.tf
def test_export_takes_the_source_options_too(tmp_path: Path) -> None:
    root = messy_folders(tmp_path)
    manifest = labelprep.export(root, tmp_path / "shards", exclude=["unlabeled"])
    assert manifest.splits["train"].examples == 2 and list(manifest.vocabulary) == ["beach", "sunset"]
