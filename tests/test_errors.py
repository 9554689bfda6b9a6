"""Clean errors through the CLI: exit 1, one ``Error: <file>:<line>: <what> (<hint>)`` line, no traceback, nothing written.

Usage mistakes (unknown option, bad output extension, bad --format) are click usage errors: exit 2.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

import labelprep
from labelprep.cli import main

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def write(path: Path, data: str | bytes) -> Path:
    """Write text (UTF-8, no newline translation) or bytes exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def image(path: Path, shade: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (2, 2), (shade, shade, shade)).save(path)
    return path


def run(src: Path, *options: str, out: Path | None = None) -> tuple[Result, Path]:
    """``labelprep convert SRC -o OUT OPTIONS`` through click's runner."""
    out = out or src.parent / "out" / "labels.parquet"
    result = CliRunner().invoke(main, ["convert", str(src), "-o", str(out), *options])
    return result, out


def error_line(result: Result) -> str:
    """The single ``Error: `` line; checks exit 1, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


def assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert not out.with_suffix(".vocab.json").exists()
    if out.parent.exists():
        assert not [p.name for p in out.parent.iterdir()], "stray files in the output folder"


def located(src: Path, line: int | None, what: str, hint: str | None = None) -> re.Pattern[str]:
    """``Error: <file>:<line>: <what>... (<hint>...)`` with ``what`` and ``hint`` as regex fragments."""
    where = re.escape(str(src)) + (f":{line}" if line is not None else "")
    tail = rf".* \(.*{hint}.*\)$" if hint is not None else ".*$"
    return re.compile(rf"^Error: {where}: {what}{tail}")


def assert_error(result: Result, out: Path, pattern: re.Pattern[str]) -> str:
    line = error_line(result)
    assert pattern.match(line), f"{line!r} does not match {pattern.pattern!r}"
    assert_nothing_written(out)
    return line


# ---------------------------------------------------------------------------
# Errors in the source: exit 1, located, nothing written
# ---------------------------------------------------------------------------


def test_missing_column(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat\n")
    result, out = run(src, "--labels-col", "nope")
    line = assert_error(result, out, located(src, 1, "labels column 'nope' not found", "columns are"))
    assert "'image', 'labels'" in line


def test_a_blank_split_cell_is_an_error_not_a_split_named_blank(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels,split\na.jpg,dog,train\nb.jpg,cat, \nc.jpg,cat,\n")
    result, out = run(src, "--split-col", "split")
    assert_error(result, out, located(src, 3, r"the split column is blank \(and 1 more row\(s\)\)", "--split-col"))
    report = labelprep.validate(src, split_col="split")
    assert [(f.code, f.line) for f in report.findings] == [("schema-error", 3)]


def test_missing_column_suggests_a_close_name(tmp_path: Path) -> None:
    src = write(tmp_path / "Data_Entry_2017.csv", "Image Index,Finding Labels,Patient ID\na.png,Hernia,1\n")
    result, _ = run(src, "--group-col", "Patient_Id", out=tmp_path / "ok.parquet")
    assert result.exit_code == 0, result.output  # case, spaces and underscores are folded
    result, out = run(src, "--group-col", "Patient")
    assert_error(result, out, located(src, 1, "group column 'Patient' not found", "did you mean 'Patient ID'"))


def test_unreadable_encoding_names_the_line(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", b"image,labels\na.jpg,cat\nb\xe9b\xe9.jpg,dog\n")
    result, out = run(src)
    assert_error(result, out, located(src, 3, r"not valid UTF-8 \(byte 0xe9\)", "--encoding"))
    result, out = run(src, "--encoding", "latin-1")
    assert result.exit_code == 0, result.output


def test_unknown_encoding_name(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat\n")
    result, out = run(src, "--encoding", "latin-42")
    assert_error(result, out, located(src, None, "unknown encoding 'latin-42'", "latin-1"))


@pytest.mark.parametrize(
    ("name", "text", "line", "column"),
    [
        ("labels.json", '{\n  "a.jpg": ["cat"],\n  "b.jpg": ["dog"\n}\n', 4, 1),
        ("instances.json", '{"images": [], "annotations": [], "categories": [,]}', 1, 50),
        ("metadata.jsonl", '{"file_name": "a.png", "labels": ["cat"]}\n{"file_name": "b.png", labels: []}\n', 2, 24),
    ],
    ids=["mapping", "coco", "jsonl"],
)
def test_malformed_json_names_line_and_column(tmp_path: Path, name: str, text: str, line: int, column: int) -> None:
    src = write(tmp_path / name, text)
    result, out = run(src)
    assert_error(result, out, located(src, line, f"malformed JSON at column {column}: "))


@pytest.mark.parametrize(
    ("name", "data"),
    [("labels.csv", b""), ("labels.csv", b"\xef\xbb\xbf\r\n\r\n"), ("labels.json", b""), ("metadata.jsonl", b"\n"),
     ("labels.json", b"{}"), ("labels.json", b"[]")],
    ids=["csv", "csv-bom-blank-lines", "json", "jsonl", "json-object", "json-list"],
)
def test_empty_file(tmp_path: Path, name: str, data: bytes) -> None:
    src = write(tmp_path / name, data)
    result, out = run(src)
    line = error_line(result)
    assert line.startswith(f"Error: {src}: ") and ("empty" in line or "no records" in line), line
    assert_nothing_written(out)


@pytest.mark.parametrize("text", ["image,labels\n", "image,labels", "\ufeffimage,labels\r\n\r\n"])
def test_header_only(tmp_path: Path, text: str) -> None:
    src = write(tmp_path / "labels.csv", text)
    result, out = run(src)
    assert_error(result, out, located(src, 1, "file has a header line but no rows"))


def test_unknown_label_with_fixed_vocab(tmp_path: Path) -> None:
    vocab = write(tmp_path / "vocab.txt", "cat\ndog\n")
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat\nb.jpg,dgo|cat\nc.jpg,dog\n")
    result, out = run(src, "--vocab", str(vocab))
    assert_error(result, out, located(src, 3, "unknown label 'dgo'", "did you mean 'dog'\\?"))
    result, out = run(src, "--vocab", str(vocab), "--unknown", "drop")
    assert result.exit_code == 0, result.output


def test_ambiguous_find_images_lists_the_candidates(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\nb.jpg,dog\na.jpg,cat\n")
    image(tmp_path / "images_001" / "images" / "a.jpg")
    image(tmp_path / "images_002" / "images" / "a.jpg")
    image(tmp_path / "images_002" / "images" / "b.jpg")
    result, out = run(src, "--find-images")
    line = assert_error(result, out, located(src, 3, "--find-images: 'a.jpg' matches several files", "--images-root"))
    assert "images_001/images/a.jpg, images_002/images/a.jpg" in line


@pytest.mark.parametrize(
    ("text", "line", "got", "width"),
    [
        ("image,labels\na.jpg,cat\nb.jpg,dog,extra,more\nc.jpg,cat\n", 3, 4, 2),
        ("image,labels\na.jpg,cat\nb.jpg,dog\nc.jpg\nd.jpg,cat\n", 4, 1, 2),
        ("image,labels,split\na.jpg,cat,train,\nb.jpg,dog,val,\nc.jpg,cat,val\nd.jpg,dog,val,\n", 4, 3, 4),
    ],
    ids=["too-many", "too-few", "trailing-comma-missing"],
)
def test_ragged_csv_row(tmp_path: Path, text: str, line: int, got: int, width: int) -> None:
    src = write(tmp_path / "labels.csv", text)
    result, out = run(src)
    assert_error(result, out, located(src, line, f"row has {got} fields where the header has {width}", "quote fields"))


@pytest.mark.parametrize("cell", ["\"['dog', cat]\"", "\"['dog', ['cat']]\"", '"[""dog"", None, ]x]"'])
def test_unparseable_list_literal(tmp_path: Path, cell: str) -> None:
    src = write(tmp_path / "labels.csv", f"image,labels\na.jpg,\"['dog', 'cat']\"\nb.jpg,{cell}\n")
    result, out = run(src)
    assert_error(result, out, located(src, 3, "cell looks like a list but cannot be parsed", "write lists as JSON"))


@pytest.mark.parametrize("template", ["train-jpg/.jpg", "{0}.jpg", "train-jpg/{id}.jpg", "%s.jpg"])
def test_bad_path_template(tmp_path: Path, template: str) -> None:
    src = write(tmp_path / "train_v2.csv", "image_name,tags\ntrain_0,haze primary\n")
    result, out = run(src, "--path-template", template)
    line = error_line(result)
    assert line.startswith(f"Error: --path-template {template!r} "), line
    assert line.endswith("(for example --path-template '{}.jpg')"), line
    assert_nothing_written(out)


def test_conflicting_split(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels,split\na.jpg,cat,train\na.jpg,dog,test\n")
    result, out = run(src, "--split-col", "split")
    assert_error(result, out, located(src, 3, "image 'a.jpg' is listed with split values 'train', 'test'", "one split"))


def test_folder_conflict(tmp_path: Path) -> None:
    root = tmp_path / "data"
    image(root / "cat" / "1.jpg", shade=0)
    image(root / "dog" / "1.jpg", shade=255)
    result, out = run(root, out=tmp_path / "out" / "labels.parquet")
    what = r"1 file name\(s\) appear under several label folders with different bytes: cat/1.jpg vs dog/1.jpg"
    assert_error(result, out, located(root, None, what, "--on-conflict separate"))


def test_bad_label_in_wide_column(tmp_path: Path) -> None:
    src = write(tmp_path / "train.csv", "Path,Sex,Edema,Fracture\nx/1.jpg,Male,1.0,\nx/2.jpg,Female,yes,0.0\n")
    result, out = run(src, "--label-cols", "Edema,Fracture")
    assert_error(result, out, located(src, 3, "label column 'Edema' holds 'yes'", "--label-cols"))


def test_label_missing_from_label_map(tmp_path: Path) -> None:
    lmap = write(tmp_path / "class-descriptions.csv", "/m/01g317,Person\n")
    src = write(tmp_path / "labels.csv", "ImageID,Source,LabelName,Confidence\nabc,verification,/m/01g317,1\n"
                                         "abd,verification,/m/0138tl,0\n")  # fmt: skip
    result, out = run(src, "--label-map", str(lmap))
    assert_error(result, out, located(src, 3, "label '/m/0138tl' is not in the label map", "add it to"))


def test_existing_output_is_left_alone_on_error(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", "image,labels\na.jpg,cat\n")
    out = tmp_path / "out" / "labels.parquet"
    result, _ = run(good, out=out)
    assert result.exit_code == 0, result.output
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    bad = write(tmp_path / "bad.csv", "image,labels\n")
    result, _ = run(bad, out=out)
    error_line(result)
    assert {p.name: p.read_bytes() for p in out.parent.iterdir()} == before


def test_real_subprocess_on_a_bad_file(tmp_path: Path) -> None:
    src = write(
        tmp_path / "labels.json", '[{"image": "a.jpg", "labels": ["cat"]},\n {"image": "b.jpg" "labels": []}]\n'
    )
    out = tmp_path / "out.parquet"
    proc = subprocess.run(
        [sys.executable, "-m", "labelprep", "convert", str(src), "-o", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error: ")]
    assert errors == [
        f"Error: {src}:2: malformed JSON at column 20: Expecting ',' delimiter "
        "(fix the JSON; if the file holds one JSON object a line, pass --format jsonl)"
    ]
    assert not out.exists() and not out.with_suffix(".vocab.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.json"]


# ---------------------------------------------------------------------------
# Usage errors: exit 2
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frobnicate"], "No such option"),
        (["--format", "xml"], "Invalid value for '--format'"),
        (["--uncertain", "maybe"], "Invalid value for '--uncertain'"),
        (["--min-count", "0"], "Invalid value for '--min-count'"),
    ],
    ids=["unknown-option", "bad-format", "bad-uncertain", "bad-min-count"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat\n")
    result, out = run(src, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert_nothing_written(out)


@pytest.mark.parametrize("name", ["out.txt", "out", "out.json"])
def test_bad_output_extension_exit_2(tmp_path: Path, name: str) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat\n")
    result, _ = run(src, out=tmp_path / "o" / name)
    assert result.exit_code == 2, result.output
    assert "must end in .parquet or .csv" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_missing_source_exit_2(tmp_path: Path) -> None:
    result, out = run(tmp_path / "nope.csv")
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output
    assert_nothing_written(out)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [("labels.json", '["a.jpg", "b.jpg"]', None), ("metadata.jsonl", '["a.jpg", ["cat"]]\n', 1)],
    ids=["json", "jsonl"],
)
def test_records_that_are_not_objects(tmp_path: Path, name: str, text: str, line: int | None) -> None:
    src = write(tmp_path / name, text)
    result, out = run(src)
    assert_error(result, out, located(src, line, "record 1 is (str|list), not an object", "one object per image"))


def test_json_records_without_path_key(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.json", json.dumps([{"picture": "a.jpg", "labels": ["cat"]}]))
    result, out = run(src)
    assert_error(result, out, located(src, None, "no path key found among record keys 'picture', 'labels'",
                                      "name it with --path-col"))  # fmt: skip
