"""verify: an export's shards checked against its manifest (checksums, truncation, missing and unlisted shards,
records, labels and images), rendered in every report format. Exports are made by test_export's dataset builder."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_export import make_dataset, records
from test_hostile import _small_dataset, run

import labelprep
from labelprep.cli import main
from labelprep.shards.spec import STATE_NAME

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.tf
def test_verify_finds_a_flipped_byte_a_truncated_and_a_deleted_shard(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds", n=24)
    out = tmp_path / "out"
    m = labelprep.export(src, out, split_col="split", num_shards=3)
    assert labelprep.verify(out).ok
    a, b, c = m.shard_paths("train")
    data = bytearray(a.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside some image's bytes
    a.write_bytes(bytes(data))
    b.write_bytes(b.read_bytes()[:-100])
    c.unlink()
    report = labelprep.verify(out)
    assert not report.ok
    codes = {(f.code, Path(f.source or "").name) for f in report.findings}
    assert {("shard-checksum", a.name), ("shard-corrupt-record", a.name), ("shard-checksum", b.name),
            ("shard-truncated", b.name), ("shard-missing", c.name)} <= codes  # fmt: skip
    assert all(f.split == "train" for f in report.findings)
    r = CliRunner().invoke(main, ["verify", str(out), "--output-format", "json"])
    assert r.exit_code == 1
    data_json = json.loads(r.stdout)
    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "schemas" / "validate-report.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(data_json)
    assert data_json["summary"]["by_code"]["shard-missing"] == 1
    r = CliRunner().invoke(main, ["verify", str(out), "--output-format", "github"])
    assert r.exit_code == 1 and "::error file=" in r.stdout and "title=shard-missing" in r.stdout
    r = CliRunner().invoke(main, ["verify", str(out), "--output-format", "junit"])
    assert r.exit_code == 1 and 'name="shards"' in r.stdout and "<failure" in r.stdout


@pytest.mark.tf
def test_verify_reads_records_and_labels(tmp_path: Path) -> None:
    import tensorflow as tf

    src = make_dataset(tmp_path / "ds", n=6, splits=False)
    out = tmp_path / "out"
    m = labelprep.export(src, out)
    shard = m.shard_paths("train")[0]
    exs = records(shard)
    exs[0].features.feature["labels/positive"].int64_list.value.append(7)  # outside 3 labels
    del exs[1].features.feature["image/width"]
    exs[2].features.feature["image/encoded"].bytes_list.value[0] = b"\xff\xd8\xff not a jpeg"
    with tf.io.TFRecordWriter(str(shard)) as w:
        for ex in exs[:-1]:  # one record fewer
            w.write(ex.SerializeToString())
    (out / "labels-train.tfrecord-00000-of-00009").write_bytes(b"")  # a shard of 'train', not listed: an error
    report = labelprep.verify(out)
    codes = report.codes()
    for code in ("shard-checksum", "shard-bad-label", "shard-bad-example", "shard-bad-image", "shard-record-count"):
        assert codes[code] >= 1, report.to_text()
    assert codes["shard-omitted"] == 1 and codes["shard-corrupt-record"] == 0
    bad_label = next(f for f in report.findings if f.code == "shard-bad-label")
    assert "7" in bad_label.message and bad_label.path is not None


@pytest.mark.tf
def test_verify_blames_a_damaged_source_image_that_header_checks_passed(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds", n=6, splits=False)
    png = tmp_path / "ds" / "images" / "00.png"
    data = bytearray(png.read_bytes())
    start = data.index(b"IDAT") + 4  # the compressed pixels: structure and end marker stay whole
    data[start : start + 8] = b"\x00" * 8
    end = start + int.from_bytes(data[start - 8 : start - 4], "big")  # and the chunk's CRC matches its new bytes
    data[end : end + 4] = zlib.crc32(bytes(data[start - 4 : end])).to_bytes(4, "big")
    png.write_bytes(bytes(data))
    out = tmp_path / "out"
    labelprep.export(src, out)  # header checks (the default) pass it through
    report = labelprep.verify(out)
    bad = [f for f in report.findings if f.code == "shard-bad-image"]
    assert len(bad) == 1 and bad[0].path == "images/00.png", report.to_text()
    assert "'images/00.png' does not decode" in bad[0].message and "function_node" not in bad[0].message
    assert "--check-images full --skip-invalid" in bad[0].hint
    (out / "manifest.json").unlink()  # as after a killed export: the state file without a manifest
    (out / STATE_NAME).write_text("{}")
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 1 and "an unfinished export" in result.output and "--resume" in result.output


# -- verify catches what a tampered manifest hides --------------------------------------------------------


def _edit_manifest(out: Path, edit: Any) -> None:
    path = out / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))


@pytest.mark.tf
def test_verify_recounts_split_totals_and_label_counts(tmp_path: Path) -> None:
    src = _small_dataset(tmp_path / "ds", n=6)
    out = tmp_path / "out"
    labelprep.export(src, out, num_shards=2)
    pristine = (out / "manifest.json").read_text()
    assert labelprep.verify(out).ok

    def totals(data: dict[str, Any]) -> None:
        data["splits"]["train"]["examples"] = 60

    def positives(data: dict[str, Any]) -> None:
        data["splits"]["train"]["positives"]["cat"] += 1

    def unknown(data: dict[str, Any]) -> None:
        data["splits"]["train"]["unknown"]["dog"] = 2

    def weight(data: dict[str, Any]) -> None:
        data["splits"]["train"]["pos_weight"]["dog"] = 9.5

    for edit, needle in ((totals, "examples 60 where the shards hold 6"), (positives, "positives 'cat' 4 (records: 3)"),
                         (unknown, "unknown 'dog' 2 (records: 0)"), (weight, "pos_weight 'dog' 9.5 (records: 1.0)")):  # fmt: skip
        (out / "manifest.json").write_text(pristine)
        _edit_manifest(out, edit)
        result = run("verify", out)
        assert result.exit_code == 1 and "shard-totals" in result.output and needle in result.output, result.output
        assert labelprep.verify(out).codes()["shard-totals"] == 1


@pytest.mark.tf
def test_a_shard_dropped_from_the_manifest_is_an_error(tmp_path: Path) -> None:
    src = _small_dataset(tmp_path / "ds", n=6)
    out = tmp_path / "out"
    m = labelprep.export(src, out, num_shards=2)
    dropped = m.splits["train"].shards[1].file

    def drop(data: dict[str, Any]) -> None:
        shards = data["splits"]["train"]["shards"]
        gone = shards.pop()
        data["splits"]["train"]["examples"] -= gone["examples"]

    _edit_manifest(out, drop)  # the examples total edited to match
    report = labelprep.verify(out)
    [f] = [f for f in report.findings if f.code == "shard-omitted"]
    assert f.severity == "error" and dropped in f.message and f.split == "train"
    assert not report.ok and run("verify", out).exit_code == 1
    # a file named like a shard of a split the manifest does not list stays a warning
    (out / dropped).rename(out / "labels-holdout.tfrecord-00000-of-00001")
    _edit_manifest(out, lambda d: None)
    codes = labelprep.verify(out).codes()
    assert codes["shard-unlisted"] == 1 and codes["shard-omitted"] == 0
