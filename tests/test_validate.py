"""validate: one planted defect of every kind is found with the right code, severity and place."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd
import pytest
from _build import roboflow_splits
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main
from labelprep.report import CHECKS

ROOT = Path(__file__).resolve().parents[1]


def jpeg(path: Path, size: tuple[int, int] = (32, 32), colour: tuple[int, int, int] = (200, 30, 30), **kw: object) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG", **kw)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def csv_file(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("image,labels,patient\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return path


@pytest.fixture
def defective(tmp_path: Path) -> Path:
    """A dataset with one planted defect of every kind that raw CSV splits can hold."""
    ds = tmp_path / "ds"
    img = ds / "images"
    shade = iter(range(10, 250, 3))

    def ok(name: str, **kw: object) -> str:
        jpeg(img / name, colour=(next(shade), 90, 40), **kw)
        return f"images/{name}"

    train = [
        (ok("t1.jpg"), "cat|dog", "p1"),
        (ok("t2.jpg"), "dog", "p2"),
        ("images/t1.jpg", "cat|dog", "p1"),  # line 4: duplicate-path (same labels as line 2)
        (ok("t3.jpg"), "cat", "p3"),
        ("images/t3.jpg", "dog", "p3"),  # line 6: conflicting-labels
        (ok("t4.jpg"), "", "p4"),  # line 7: empty-labels
        (ok("t5.jpg"), "cat|No Finding", "p5"),  # line 8: none-label-conflict
        (ok("t6.jpg"), "dgo|cat", "p6"),  # line 9: unknown-label (did you mean 'dog'?)
        ("images/missing.jpg", "cat", "p7"),  # line 10: missing-file
        ("../outside.jpg", "cat", "p8"),  # line 11: path-escapes-root
        ("images/dir.jpg", "cat", "p9"),  # line 12: unreadable-file (a folder)
        ("images/empty.jpg", "dog", "p10"),  # line 13: empty-file
        ("images/page.jpg", "dog", "p11"),  # line 14: not-an-image
        ("images/png_named.jpg", "dog", "p12"),  # line 15: extension-mismatch
        ("images/truncated.jpg", "dog", "p13"),  # line 16: corrupt-image
        ("images/huge.jpg", "dog", "p14"),  # line 17: decompression-bomb (under --max-pixels 5000)
        ("images/cmyk.jpg", "dog", "p15"),  # line 18: cmyk-image
        ("images/palette.png", "dog", "p16"),  # line 19: unusual-mode
        ("images/rotated.jpg", "dog", "p17"),  # line 20: exif-orientation
        ("images/tiny.jpg", "dog", "p18"),  # line 21: image-too-small (under --min-size 16)
        ("images/copy_a.jpg", "cat", "p19"),  # line 22
        ("images/copy_b.jpg", "cat", "p20"),  # line 23: duplicate-image (same bytes as copy_a)
        ("images/Cat_variant.jpg", "Cat", "p21"),  # line 24: label-variant ('Cat' vs 'cat')
        ("images/leak_train.jpg", "cat", "p22"),  # line 25
    ]
    (img / "dir.jpg").mkdir(parents=True)
    (img / "empty.jpg").write_bytes(b"")
    (img / "page.jpg").write_text("<!DOCTYPE html><html><body>403 Forbidden</body></html>")
    Image.new("RGB", (32, 32), (1, 2, 3)).save(img / "png_named.jpg", "PNG")
    full = jpeg(img / "full.jpg", colour=(5, 6, 7))
    (img / "full.jpg").unlink()
    (img / "truncated.jpg").write_bytes(full[: len(full) // 2])
    jpeg(img / "huge.jpg", size=(100, 100), colour=(9, 9, 9))
    Image.new("CMYK", (32, 32), (0, 100, 200, 0)).save(img / "cmyk.jpg", "JPEG")
    Image.new("P", (32, 32), 3).save(img / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg(img / "rotated.jpg", colour=(70, 70, 70), exif=exif.tobytes())
    jpeg(img / "tiny.jpg", size=(8, 8), colour=(80, 80, 80))
    same = jpeg(img / "copy_a.jpg", colour=(99, 1, 1))
    (img / "copy_b.jpg").write_bytes(same)
    jpeg(img / "Cat_variant.jpg", colour=(98, 2, 2))
    leak = jpeg(img / "leak_train.jpg", colour=(97, 3, 3))
    (img / "leak_test.jpg").write_bytes(leak)
    csv_file(ds / "train.csv", train)
    csv_file(ds / "val.csv", [
        (ok("v1.jpg"), "bird|cat", "p1"),  # line 2: label-not-in-train ('bird'); leaked-group (p1 in train)
        (ok("v2.jpg"), "dog", "p30"),
    ])  # fmt: skip
    csv_file(ds / "test.csv", [
        (ok("s1.jpg"), "cat", "p40"),  # 'dog' has positives in train, none here: label-missing-from-split
        ("images/leak_test.jpg", "cat", "p41"),  # line 3: leaked-image (same bytes as train's leak_train.jpg)
    ])  # fmt: skip
    (ds / "vocab.txt").write_text("cat\ndog\nbird\nfish\n")  # fish: unused-label
    return ds


OPTIONS = dict(none_label=["No Finding"], vocab=None, group_col="patient", check_images="header", min_positives=2,
               min_size="16", max_pixels=5000, workers=1)  # fmt: skip


def run_api(ds: Path, **extra: object) -> labelprep.Report:
    opts = {**OPTIONS, "vocab": ds / "vocab.txt", **extra}
    return labelprep.validate([ds / "train.csv", ds / "val.csv", ds / "test.csv"], **opts)  # type: ignore[arg-type]


EXPECTED = [
    # code, severity, split, line, path or label
    ("duplicate-path", "warning", "train", 4, "images/t1.jpg"),
    ("conflicting-labels", "error", "train", 6, "images/t3.jpg"),
    ("empty-labels", "warning", "train", 7, "images/t4.jpg"),
    ("none-label-conflict", "error", "train", 8, "images/t5.jpg"),
    ("unknown-label", "error", "train", 9, "dgo"),
    ("unused-label", "warning", None, None, "fish"),
    ("label-variant", "warning", None, None, "Cat"),
    ("rare-label", "warning", "val", None, "bird"),
    ("label-not-in-train", "error", "val", None, "bird"),
    ("label-missing-from-split", "warning", "test", None, "dog"),
    ("missing-file", "error", "train", 10, "images/missing.jpg"),
    ("path-escapes-root", "error", "train", 11, "../outside.jpg"),
    ("unreadable-file", "error", "train", 12, "images/dir.jpg"),
    ("empty-file", "error", "train", 13, "images/empty.jpg"),
    ("not-an-image", "error", "train", 14, "images/page.jpg"),
    ("extension-mismatch", "warning", "train", 15, "images/png_named.jpg"),
    ("corrupt-image", "error", "train", 16, "images/truncated.jpg"),
    ("decompression-bomb", "error", "train", 17, "images/huge.jpg"),
    ("cmyk-image", "warning", "train", 18, "images/cmyk.jpg"),
    ("unusual-mode", "warning", "train", 19, "images/palette.png"),
    ("exif-orientation", "warning", "train", 20, "images/rotated.jpg"),
    ("image-too-small", "warning", "train", 21, "images/tiny.jpg"),
    ("duplicate-image", "warning", "train", 23, "images/copy_b.jpg"),
    ("leaked-image", "error", "test", 3, "images/leak_test.jpg"),
    ("leaked-group", "error", "val", 2, "images/v1.jpg"),
]


def _matches(f: labelprep.Finding, code: str, sev: str, split: str | None, line: int | None, what: str) -> bool:
    return (f.code == code and f.severity == sev and (split is None or f.split == split)
            and (line is None or f.line == line) and what in (f.path, f.label))  # fmt: skip


def test_every_planted_defect_is_reported_where_it_is(defective: Path) -> None:
    before = tree_digest(defective)
    report = run_api(defective)
    missing = [e for e in EXPECTED if not any(_matches(f, *e) for f in report.findings)]
    assert not missing, "\n".join(map(str, missing)) + "\n\n" + report.to_text(max_per_code=50)
    assert not report.ok
    assert tree_digest(defective) == before  # the user's files are untouched
    unknown = next(f for f in report.findings if f.code == "unknown-label")
    assert "did you mean 'dog'" in unknown.hint and unknown.source == str(defective / "train.csv")
    variant = next(f for f in report.findings if f.code == "label-variant")
    assert "'Cat'" in variant.message and "'cat'" in variant.message
    # every code in the table but the two that need converted frames (and verify's shard codes) was planted
    shard_codes = {code for code, (_, group, _) in CHECKS.items() if group == "shards"}
    # schema-error and split-mismatch need converted frames, name-conflict and left-out a folder layout: tested below;
    # join-unmatched a --join file (tests/test_sources.py)
    folder_or_frame = {"schema-error", "split-mismatch", "name-conflict", "left-out", "join-unmatched"}
    # planted in test_hostile.py: animations, huge metadata, and what only export meets (memory)
    hostile = {"animated-image", "oversized-metadata", "image-out-of-memory"}
    # the content checks (--near-duplicates, --quality) are opt-in and planted in test_content.py
    content = {code for code, (_, group, _) in CHECKS.items() if group == "quality"} | {"near-duplicate",
                                                                                          "near-duplicate-leak"}
    # so are label rules (test_rules.py)
    content |= {"exclusive-labels", "missing-exclusive-label", "implied-label-missing", "label-below-min-count"}
    content |= {"label-issue", "predictions-missing"}  # and --predictions (test_predictions.py)
    assert {e[0] for e in EXPECTED} == set(CHECKS) - folder_or_frame - shard_codes - hostile - content


def test_a_clean_dataset_reports_nothing(tmp_path: Path) -> None:
    for i in range(4):
        jpeg(tmp_path / f"{i}.jpg", colour=(i * 40, 10, 10))
    csv_file(tmp_path / "train.csv", [("0.jpg", "cat", "a"), ("1.jpg", "cat|dog", "b")])
    csv_file(tmp_path / "val.csv", [("2.jpg", "dog|cat", "c"), ("3.jpg", "dog", "d")])
    for level in ("none", "header", "full"):
        report = labelprep.validate([tmp_path / "train.csv", tmp_path / "val.csv"], group_col="patient",
                                    check_images=level)  # fmt: skip
        assert report.findings == [], report.to_text()
        assert report.ok and report.stats["splits"] == {"train": 2, "val": 2}
    r = CliRunner().invoke(main, ["validate", str(tmp_path / "train.csv"), str(tmp_path / "val.csv")])
    assert r.exit_code == 0, r.output
    assert r.output.strip().startswith("OK: 0 error(s), 0 warning(s)")


def test_cli_and_api_agree_and_json_matches_its_schema(defective: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    report = run_api(defective)
    args = ["validate", *(str(defective / f"{s}.csv") for s in ("train", "val", "test")),
            "--none-label", "No Finding", "--vocab", str(defective / "vocab.txt"), "--group-col", "patient",
            "--min-positives", "2", "--min-size", "16", "--max-pixels", "5000", "--workers", "1",
            "--output-format", "json"]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data == json.loads(report.to_json())
    schema = json.loads((ROOT / "schemas" / "validate-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["ok"] is False and data["summary"]["by_code"]["missing-file"] == 1


def test_report_formats(defective: Path, tmp_path: Path) -> None:
    report = run_api(defective)
    text = report.to_text(max_per_code=1)
    assert "ERROR missing-file (1)" in text and text.strip().splitlines()[-1].startswith("FAILED:")
    assert "... and" in text  # groups are capped
    gh = report.to_github().splitlines()
    line = next(x for x in gh if "missing.jpg" in x)
    assert line.startswith("::error file=") and ",line=10," in line
    xml = ET.fromstring(report.to_junit())
    cases = {c.get("name"): c for c in xml.iter("testcase")}
    assert set(cases) == {"schema", "labels", "splits", "files", "images", "leakage"}
    assert cases["files"].find("failure") is not None and cases["schema"].find("failure") is None
    labels_failure = cases["labels"].find("failure")
    assert labels_failure is not None
    listed = (labels_failure.text or "").count("\n") + 1
    errors = sum(1 for f in report.findings if f.severity == "error" and CHECKS[f.code][1] == "labels")
    # the message counts what the body lists: the failing findings and the warnings beside them
    assert labels_failure.get("message") == f"{errors} failing finding(s), {listed - errors} more not failing"
    out = tmp_path / "report.xml"
    r = CliRunner().invoke(main, ["validate", str(defective / "train.csv"), "--output-format", "junit",
                                  "--output", str(out), "--check-images", "none"])  # fmt: skip
    assert r.exit_code == 1 and out.exists() and "FAILED" in r.output


def test_exit_codes_strict_and_severity_overrides(tmp_path: Path) -> None:
    jpeg(tmp_path / "a.jpg")
    jpeg(tmp_path / "b.jpg", colour=(1, 200, 1))
    src = tmp_path / "train.csv"
    csv_file(src, [("a.jpg", "cat", "x"), ("b.jpg", "", "y")])  # one warning: empty-labels
    assert CliRunner().invoke(main, ["validate", str(src)]).exit_code == 0
    assert CliRunner().invoke(main, ["validate", str(src), "--strict"]).exit_code == 1
    assert CliRunner().invoke(main, ["validate", str(src), "--no-empty"]).exit_code == 1
    r = CliRunner().invoke(main, ["validate", str(src), "--strict", "--severity", "empty-labels=off"])
    assert r.exit_code == 0, r.output
    assert CliRunner().invoke(main, ["validate", str(src), "--severity", "empty-label=error"]).exit_code == 2
    assert CliRunner().invoke(main, ["validate", str(src), "--check-images", "sometimes"]).exit_code == 2
    report = labelprep.validate(src, severity={"empty-labels": "error"})
    with pytest.raises(labelprep.ValidationFailed):
        report.raise_for_errors()


def test_configuration_from_the_datasets_pyproject(tmp_path: Path) -> None:
    jpeg(tmp_path / "data" / "a.jpg")
    src = csv_file(tmp_path / "data" / "train.csv", [("a.jpg", "", "x")])
    (tmp_path / "pyproject.toml").write_text('[tool.labelprep]\nno-empty = true\n')
    report = labelprep.validate(src)
    assert [f.severity for f in report.findings if f.code == "empty-labels"] == ["error"]
    assert labelprep.validate(src, no_empty=False).ok  # an option wins over the file
    (tmp_path / "data" / "labelprep.toml").write_text('[severity]\nempty-labels = "info"\n')
    assert [f.severity for f in labelprep.validate(src).findings] == ["info"]
    (tmp_path / "data" / "labelprep.toml").write_text('min-postives = 3\n')
    r = CliRunner().invoke(main, ["validate", str(src)])
    assert r.exit_code == 1 and "unknown configuration key(s): min-postives" in r.output


@pytest.mark.parametrize(("setting", "message"), [
    ('min-positives = "five"', "min-positives must be a whole number, 1 or more, not 'five'"),
    ('workers = "two"', "workers must be a whole number, 1 or more, not 'two'"),
    ("max-pixels = true", "max-pixels must be a whole number of pixels, not True"),
    ("strict = 1", "strict must be true or false, not 1"),
    ("severity = 3", "severity must be a table of code = level"),
])  # fmt: skip
def test_configuration_values_of_the_wrong_type_are_clear_errors(tmp_path: Path, setting: str, message: str) -> None:
    jpeg(tmp_path / "data" / "a.jpg")
    src = csv_file(tmp_path / "data" / "train.csv", [("a.jpg", "cat", "x")])
    (tmp_path / "data" / "pyproject.toml").write_text(f"[tool.labelprep]\n{setting}\n")
    r = CliRunner().invoke(main, ["validate", str(src)])
    assert r.exit_code == 1 and message in r.output and "pyproject.toml" in r.output, r.output
    assert "Traceback" not in r.output


def test_configuration_paths_are_relative_to_the_file_and_min_size_takes_a_number(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    jpeg(tmp_path / "data" / "images" / "a.jpg")
    src = csv_file(tmp_path / "data" / "train.csv", [("a.jpg", "cat", "x")])
    (tmp_path / "data" / "pyproject.toml").write_text('[tool.labelprep]\nimages-root = "images"\nmin-size = 64\n')
    monkeypatch.chdir(tmp_path)  # not the data folder: the root is found from the file's folder all the same
    report = labelprep.validate(src)
    assert "missing-file" not in report.codes() and report.codes()["image-too-small"] == 1, report.to_text()


def test_converted_frames_schema_error_and_split_mismatch(tmp_path: Path) -> None:
    for i in range(3):
        jpeg(tmp_path / f"{i}.jpg", colour=(i * 60, 0, 0))
    a = csv_file(tmp_path / "a.csv", [("0.jpg", "cat|dog", "p"), ("1.jpg", "dog", "q")])
    labelprep.convert(a, tmp_path / "train.parquet")
    b = csv_file(tmp_path / "b.csv", [("2.jpg", "dog|cat|bird", "r")])
    labelprep.convert(b, tmp_path / "val.parquet")
    report = labelprep.validate([tmp_path / "train.parquet", tmp_path / "val.parquet"])
    mismatch = [f for f in report.findings if f.code == "split-mismatch"]
    assert len(mismatch) == 1 and "'bird'" in mismatch[0].message and mismatch[0].split == "val"
    frame, _ = labelprep.read_frame(tmp_path / "train.parquet")
    frame.loc[0, "cat"] = 2
    frame.to_csv(tmp_path / "bad.csv", index=False)
    shutil.copy(tmp_path / "train.vocab.json", tmp_path / "bad.vocab.json")
    report = labelprep.validate(tmp_path / "bad.csv", check_images="none")
    errors = [f for f in report.findings if f.code == "schema-error"]
    assert errors and "'cat'" in errors[0].message and not report.ok


def test_a_split_column_names_the_splits_and_quarantine_lists_unusable_images(tmp_path: Path) -> None:
    jpeg(tmp_path / "a.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"")
    src = tmp_path / "all.csv"
    src.write_text("image,labels,split\na.jpg,cat,train\nbroken.jpg,cat,val\n")
    q = tmp_path / "quarantine.csv"
    report = labelprep.validate(src, split_col="split", quarantine=q)
    assert report.stats["splits"] == {"train": 1, "val": 1}
    rows = pd.read_csv(q).to_dict("records")
    assert [(r["path"], r["split"], r["code"]) for r in rows] == [("broken.jpg", "val", "empty-file")]


def test_unreadable_annotations_are_a_finding_not_an_exception(tmp_path: Path) -> None:
    bad = tmp_path / "train.json"
    bad.write_text('{"a.jpg": ["cat"],,}')
    report = labelprep.validate(bad)
    assert [f.code for f in report.findings] == ["schema-error"]
    assert report.findings[0].line == 1 and not report.ok


def test_validate_never_imports_tensorflow(tmp_path: Path) -> None:
    import subprocess
    import sys

    example = ROOT / "examples" / "shapes" / "labels.csv"
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom labelprep.cli import main\n"
        f"r = CliRunner().invoke(main, ['validate', {str(example)!r}, '--split-col', 'split', '--check-images', 'full'])\n"
        "assert r.exit_code in (0, 1), r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not bad, bad\nprint('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_the_bundled_example_validates_without_errors() -> None:
    report = labelprep.validate(ROOT / "examples" / "shapes" / "labels.csv", split_col="split", group_col="patient",
                                check_images="full")  # fmt: skip
    assert report.ok, report.to_text()
    assert set(report.codes()) <= {"empty-labels"}  # seven images on purpose show no shape


def test_a_raw_csv_stays_raw_after_convert_writes_its_vocabulary_beside_it(tmp_path: Path) -> None:
    # convert labels.csv -o labels.parquet writes labels.vocab.json next to the raw labels.csv (README's quick start)
    shutil.copytree(ROOT / "examples" / "shapes", tmp_path / "shapes")
    raw = tmp_path / "shapes" / "labels.csv"
    labelprep.convert(raw, raw.with_suffix(".parquet"), split_col="split", group_col="patient")
    assert (tmp_path / "shapes" / "labels.vocab.json").exists()
    assert not labelprep.frameio.is_frame(raw)
    report = labelprep.validate(raw, split_col="split", group_col="patient")
    assert report.ok and set(report.codes()) <= {"empty-labels"}, report.to_text()
    # a CSV frame (path, then the labels in order) beside its vocabulary is still a frame
    labelprep.convert(raw, raw.parent / "frame.csv", split_col="split", group_col="patient")
    assert labelprep.frameio.is_frame(raw.parent / "frame.csv")
    assert set(labelprep.validate(raw.parent / "frame.csv").codes()) <= {"empty-labels"}


def test_sources_with_one_file_name_are_splits_named_by_their_folders(tmp_path: Path) -> None:
    from labelprep.checks.validation import source_split_names

    sources = roboflow_splits(tmp_path / "rf")
    assert source_split_names(sources) == ["train", "valid", "test"]
    assert source_split_names([Path("a/train.csv"), Path("b/val.csv")]) == ["train", "val"]
    with pytest.raises(labelprep.InputError, match="two sources name the split 'train'"):
        source_split_names([Path("x/train.csv"), Path("x2/x/train.csv")])
    report = labelprep.validate(sources)
    assert report.ok and report.stats["splits"] == {"train": 3, "valid": 3, "test": 3}, report.to_text()
    # the folder itself is read as its annotation files, each a split (its split folders never become labels)
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "rf"), "-o", str(tmp_path / "x.parquet")])
    assert result.exit_code == 0, result.output
    assert "Roboflow multi-label CSV" in result.output
    whole, _ = labelprep.load_frame(tmp_path / "x.parquet")
    assert sorted(whole["split"]) == sorted(["train"] * 3 + ["valid"] * 3 + ["test"] * 3)
    assert set(whole.columns) == {"path", "dog", "cat", "split"}


@pytest.mark.tf
def test_export_names_the_splits_of_same_named_sources_by_folder(tmp_path: Path) -> None:
    manifest = labelprep.export(roboflow_splits(tmp_path / "rf"), tmp_path / "out")
    assert list(manifest.splits) == ["train", "valid", "test"]
    assert [s.examples for s in manifest.splits.values()] == [3, 3, 3]


def test_an_image_listed_with_a_none_label_is_not_reported_as_unlabelled(tmp_path: Path) -> None:
    for i in range(4):
        Image.new("RGB", (8, 8), (60 * i, 0, 0)).save(tmp_path / f"{i}.jpg")
    src = tmp_path / "train.csv"
    src.write_text("image,labels\n0.jpg,healthy\n1.jpg,scab\n2.jpg,scab frog_eye_leaf_spot\n3.jpg,\n")
    report = labelprep.validate(src, none_label=["healthy"])
    assert [(f.code, f.path, f.line) for f in report.findings] == [("empty-labels", "3.jpg", 5)]
    assert [f.path for f in labelprep.validate(src).findings if f.code == "empty-labels"] == ["3.jpg"]
    assert "unknown-label" not in labelprep.validate(src, none_label=["healthy"], no_empty=True).codes()


def test_repeated_json_records_name_the_first_record_not_a_missing_line(tmp_path: Path) -> None:
    for i in range(2):
        Image.new("RGB", (8, 8), (90 * i, 0, 0)).save(tmp_path / f"{i}.jpg")
    src = tmp_path / "r.json"
    src.write_text(json.dumps([{"image": "0.jpg", "labels": ["dog"]}, {"image": "1.jpg", "labels": ["cat"]},
                               {"image": "0.jpg", "labels": ["cat"]}, {"image": "1.jpg", "labels": ["cat"]}]))  # fmt: skip
    by_code = {f.code: f.message for f in labelprep.validate(src).findings}
    assert by_code["conflicting-labels"] == "'0.jpg' is listed with labels ['dog'] on record 1 and ['cat'] here"
    assert by_code["duplicate-path"] == "'1.jpg' is listed again (first on record 2)"


def test_a_split_folder_named_training_is_the_training_split(tmp_path: Path) -> None:
    from labelprep.checks.validation import train_split

    assert train_split(["testing", "training", "validation"]) == "training"
    assert train_split(["val", "Train"]) == "Train" and train_split(["b", "a"]) == "" and train_split([]) == ""
    root = tmp_path / "data"
    for k, (split, label) in enumerate([("training", "cat"), ("training", "fox"), ("testing", "cat"),
                                        ("validation", "fox")]):  # fmt: skip
        (root / split / label).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (50 * k, 9, 9)).save(root / split / label / f"{k}.jpg")
    report = labelprep.validate(root)
    assert report.stats["train_split"] == "training"
    assert "label-not-in-train" not in report.codes(), report.to_text()


@pytest.mark.tf
def test_export_takes_on_conflict_for_folder_copies_that_differ(tmp_path: Path) -> None:
    root = tmp_path / "two"
    for label, shade in (("cat", 10), ("dog", 200)):  # img0.png under both labels, different pictures
        (root / label).mkdir(parents=True)
        Image.new("RGB", (8, 8), (shade, 0, 0)).save(root / label / "img0.png")
    Image.new("RGB", (8, 8), (0, 99, 0)).save(root / "dog" / "img1.png")
    result = CliRunner().invoke(main, ["export", str(root), "-o", str(tmp_path / "refused")])
    assert result.exit_code == 1 and "--on-conflict separate" in result.output
    result = CliRunner().invoke(main, ["export", str(root), "-o", str(tmp_path / "out"), "--on-conflict", "separate"])
    assert result.exit_code == 0, result.output
    assert labelprep.Manifest.read(tmp_path / "out").splits["train"].examples == 3


def test_images_a_folder_source_gives_no_labels_are_reported_left_out(tmp_path: Path) -> None:
    side = tmp_path / "side"
    side.mkdir()
    for name in "abc":
        Image.new("RGB", (8, 8), (ord(name), 0, 0)).save(side / f"{name}.png")
    (side / "a.txt").write_text("dog, cat\n")
    (side / "c.txt").write_text("")  # no labels, on purpose
    (side / ".DS_Store").write_bytes(b"junk")
    report = labelprep.validate(side)
    left = [f for f in report.findings if f.code == "left-out"]
    assert [(f.path, f.severity) for f in left] == [("b.png", "warning")]
    assert "no sidecar b.txt" in left[0].message and "tag file" in left[0].hint
    assert any("1 hidden file(s) or folder(s) skipped (.DS_Store)" in n for n in labelprep.convert(side).notes)
    folder = tmp_path / "folder"
    for label in ("cat", "dog"):
        (folder / label).mkdir(parents=True)
        Image.new("RGB", (8, 8), (len(label), 0, 0)).save(folder / label / f"{label}.jpg")
    Image.new("RGB", (8, 8), (1, 2, 3)).save(folder / "loose.jpg")
    (folder / "README.md").write_text("not an image: not reported")
    assert [f.path for f in labelprep.validate(folder).findings if f.code == "left-out"] == ["loose.jpg"]


def test_one_source_is_the_split_train_as_export_names_it(tmp_path: Path) -> None:
    jpeg(tmp_path / "a.jpg")
    jpeg(tmp_path / "b.jpg", colour=(1, 2, 3))
    one = csv_file(tmp_path / "labels.csv", [("a.jpg", "", "p1")])
    assert [f.split for f in labelprep.validate(one).findings] == ["train"]
    other = csv_file(tmp_path / "holdout.csv", [("b.jpg", "", "p2")])
    with pytest.raises(labelprep.InputError, match="holds no split word"):
        labelprep.validate([one, other])  # neither name says which split it is: never guessed
    named = labelprep.validate([f"train={one}", f"holdout={other}"])
    assert sorted(f.split for f in named.findings) == ["holdout", "train"]


def test_every_finding_code_is_in_the_report_schema_and_the_readme() -> None:
    schema = json.loads((ROOT / "schemas" / "validate-report.schema.json").read_text())
    assert schema["properties"]["findings"]["items"]["properties"]["code"]["enum"] == list(CHECKS)
    assert set(schema["properties"]["summary"]["properties"]["by_code"]["propertyNames"]["enum"]) == set(CHECKS)
    readme = (ROOT / "README.md").read_text()
    for code, (severity, _group, _what) in CHECKS.items():
        assert f"| `{code}` | {severity} |" in readme, code


def test_folder_copies_with_different_bytes_are_a_name_conflict(tmp_path: Path) -> None:
    jpeg(tmp_path / "root" / "cat" / "1.jpg", colour=(1, 1, 1))
    jpeg(tmp_path / "root" / "dog" / "1.jpg", colour=(200, 1, 1))
    jpeg(tmp_path / "root" / "dog" / "2.jpg", colour=(1, 200, 1))
    report = labelprep.validate(tmp_path / "root")
    found = [f for f in report.findings if f.code == "name-conflict"]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].path == "cat/1.jpg"
    assert "'dog/1.jpg'" in found[0].message and report.ok
    with pytest.raises(labelprep.ConflictError):  # convert refuses the same layout by default
        labelprep.convert(tmp_path / "root")


def test_a_long_table_lists_an_image_once_per_label_without_duplicate_findings(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    long = tmp_path / "long.csv"
    long.write_text("image,label,confidence\na.jpg,cat,1\na.jpg,dog,1\n")
    codes = {f.code for f in labelprep.validate(long, check_images="none").findings}
    assert not codes & {"duplicate-path", "conflicting-labels"}
    rows = tmp_path / "rows.csv"  # one row per image: the second listing disagrees with the first
    rows.write_text("image,labels\na.jpg,cat|bird\na.jpg,dog\n")
    assert "conflicting-labels" in {f.code for f in labelprep.validate(rows, check_images="none").findings}


@pytest.mark.parametrize("form", ["wide", "folder"])
def test_a_none_label_the_source_declares_is_not_an_unused_label(tmp_path: Path, form: str) -> None:
    """CheXpert's 'No Finding' column and a 'healthy/' folder are not labels once --none-label names them."""
    if form == "wide":
        src = tmp_path / "train.csv"
        src.write_text("Path,No Finding,Edema,Fracture\na.jpg,1.0,,\nb.jpg,,1.0,\nc.jpg,,,1.0\n")
        none = "No Finding"
    else:
        src = tmp_path / "leaves"
        for label, name in (("healthy", "a.jpg"), ("rust", "b.jpg"), ("scab", "c.jpg")):
            jpeg(src / label / name, colour=(len(name) * 40, ord(label[0]), 10))
        none = "healthy"
    report = labelprep.validate(src, none_label=[none], check_images="none", severity={"missing-file": "off"})
    assert [f.message for f in report.findings if f.code == "unused-label"] == []
    r = CliRunner().invoke(main, ["validate", str(src), "--none-label", none, "--check-images", "none",
                                  "--severity", "missing-file=off"])  # fmt: skip
    assert "unused-label" not in r.output, r.output
