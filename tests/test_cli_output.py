"""What the commands print: -q everywhere, errors before warnings, splits in reading order, sizes and times that
read well, 1-based positions, and no TensorFlow start-up lines unless --verbose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main
from labelprep.extras import tf_startup_filtered
from labelprep.shards.plan import format_bytes, format_rate, format_seconds

ROOT = Path(__file__).resolve().parents[1]


def img(path: Path, shade: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (shade, 40, 90)).save(path)


def dataset(tmp_path: Path) -> Path:
    """Labels with a warning (an image with no label) and an error (a missing file)."""
    for i in range(4):
        img(tmp_path / f"{i}.jpg", 20 * i)
    src = tmp_path / "labels.csv"
    src.write_text("image,labels\n0.jpg,cat\n1.jpg,dog\n2.jpg,\n3.jpg,cat|dog\nmissing.jpg,dog\n")
    return src


def test_text_report_lists_errors_before_warnings(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["validate", str(dataset(tmp_path)), "--check-images", "none"])
    assert r.exit_code == 1
    heads = [ln.split(" ")[0] for ln in r.output.splitlines() if ln and not ln.startswith(" ")]
    assert heads[:2] == ["ERROR", "WARNING"]  # missing-file (an error) before empty-labels (a warning)
    assert r.output.index("missing-file") < r.output.index("empty-labels")


def test_validate_quiet_prints_only_what_fails(tmp_path: Path) -> None:
    src = dataset(tmp_path)
    r = CliRunner().invoke(main, ["validate", str(src), "--check-images", "none", "-q"])
    assert r.exit_code == 1
    assert "missing-file" in r.output and "empty-labels" not in r.output and "FAILED" in r.output
    clean = CliRunner().invoke(main, ["validate", str(src), "--check-images", "none", "-q", "--severity",
                                      "missing-file=off"])  # fmt: skip
    assert clean.exit_code == 0 and clean.output == ""
    strict = CliRunner().invoke(main, ["validate", str(src), "--check-images", "none", "--quiet", "--strict",
                                       "--severity", "missing-file=off"])  # fmt: skip
    assert strict.exit_code == 1 and "empty-labels" in strict.output  # under --strict warnings fail, so they show


def test_every_command_takes_quiet(tmp_path: Path) -> None:
    for name in main.commands:  # type: ignore[attr-defined]
        r = CliRunner().invoke(main, [name, "--help"])
        assert "-q, --quiet" in r.output, name
    src = dataset(tmp_path)
    out = tmp_path / "f.parquet"
    runs = {
        "convert": ["convert", str(src), "-o", str(out), "-q"],
        "split": ["split", str(out), "-o", str(tmp_path / "s.parquet"), "--ratios", "0.5,0.5", "--names", "a,b", "-q"],
        "stats": ["stats", str(out), "-o", str(tmp_path / "r.html"), "-q"],
        "diff": ["diff", str(out), str(out), "-q", "--fail-on", "relabel,removed-image"],
    }
    for name, args in runs.items():
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0 and r.output == "", (name, r.output)
    v2 = tmp_path / "v2.csv"
    v2.write_text(src.read_text().replace("1.jpg,dog", "1.jpg,cat"))
    r = CliRunner().invoke(main, ["diff", str(src), str(v2), "-q", "--fail-on", "relabel"])
    assert r.exit_code == 1
    assert r.output.splitlines()[0].startswith("ERROR relabel (1)") and "WARNING prevalence-shift" not in r.output
    assert r.output.splitlines()[-1].startswith("FAILED (--fail-on relabel)")


def test_sizes_and_times_read_well() -> None:
    assert [format_seconds(s) for s in (0.0002, 0.0004, 0.038, 2.44, 47.2, 185)] == [
        "under 1 ms", "under 1 ms", "38 ms", "2.4 s", "47 s", "3 min 05 s"]  # fmt: skip
    assert [format_bytes(n) for n in (1, 812, 9_400, 112_000, 45_200_000, 1.3e9)] == [
        "1 byte", "812 bytes", "9.4 kB", "112 kB", "45.2 MB", "1.3 GB"]  # fmt: skip
    assert format_rate(45_200_000, 0.5) == "90.4 MB/s"
    assert format_rate(100_000, 0.004) is None  # a rate from 4 ms means nothing


def test_tensorflow_start_up_lines_are_held_back(capfd: pytest.CaptureFixture[str]) -> None:
    chatter = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "I0000 00:00:1796285850.635743    6500 port.cc:153] oneDNN custom operations are on. You may see ...\n",
        "I0000 00:00:1796285850.637106    6500 cudart_stub.cc:31] Could not find cuda drivers on your machine\n",
        "E0000 00:00:1796285860.218672    6531 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
        "W0000 00:00:1796285860.218672    6531 gpu_device.cc:2344] Cannot dlopen some GPU libraries.\n",
    ]
    kept = ["E0000 00:00:1796285860.2 6531 op_kernel.cc:1] a real failure stays\n", "a Python warning stays\n"]
    with tf_startup_filtered():
        for line in [chatter[0], kept[0], *chatter[1:], kept[1]]:
            os.write(2, line.encode())
    err = capfd.readouterr().err
    assert err == "".join(kept)


@pytest.mark.tf
def test_verify_and_export_keep_tensorflow_quiet_unless_verbose(tmp_path: Path) -> None:
    """In a fresh process, as a user runs them: no absl, oneDNN or cuInit lines; --verbose lets them through."""
    frame = tmp_path / "labels.parquet"
    labelprep.convert(ROOT / "examples" / "shapes" / "labels.csv", frame, split_col="split")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LABELPREP_TF_VERBOSE", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "labelprep", *args], capture_output=True, text=True, env=env,
                              timeout=300)  # fmt: skip

    exp = run("export", str(frame), "-o", str(tmp_path / "shards"))
    assert exp.returncode == 0, exp.stderr
    for noise in ("absl::InitializeLog", "oneDNN", "cuInit", "cudart_stub", "I0000", "E0000"):
        assert noise not in exp.stderr, exp.stderr
    # splits in reading order, sizes in kB, no "0.0 s"
    lines = [ln.strip() for ln in exp.stderr.splitlines()]
    order = [ln.split(":")[0] for ln in lines if ln.split(":")[0] in ("train", "val", "test")]
    assert order == ["train", "val", "test"]
    assert "0.0 MB" not in exp.stderr and "0.0s" not in exp.stderr and " kB" in exp.stderr
    ver = run("verify", str(tmp_path / "shards"))
    assert ver.returncode == 0 and ver.stderr == "", ver.stderr
    loud = run("verify", str(tmp_path / "shards"), "--verbose")
    assert loud.returncode == 0
    if not any(s in loud.stderr for s in ("absl", "oneDNN", "cuda", "I0000", "E0000")):
        pytest.skip("TensorFlow printed nothing at start-up on this machine: nothing to hold back")


@pytest.mark.tf
def test_export_summary_lists_train_val_test_in_that_order(tmp_path: Path) -> None:
    for i in range(6):
        img(tmp_path / f"{i}.jpg", 30 * i)
    src = tmp_path / "labels.csv"
    # the test split comes first in the file, train last
    src.write_text("image,labels,split\n0.jpg,cat,test\n1.jpg,dog,test\n2.jpg,cat,val\n3.jpg,dog,val\n"
                   "4.jpg,cat|dog,train\n5.jpg,dog|cat,train\n")  # fmt: skip
    r = CliRunner().invoke(main, ["export", str(src), "--split-col", "split", "-o", str(tmp_path / "shards")])
    assert r.exit_code == 0, r.output
    order = [ln.strip().split(":")[0] for ln in r.output.splitlines() if ln.strip().split(":")[0] in
             ("train", "val", "test")]  # fmt: skip
    assert order == ["train", "val", "test"]


def test_record_numbers_count_from_one() -> None:
    from labelprep.shards.verify import _framing

    record = (4).to_bytes(8, "little") + b"\0" * 4 + b"abcd" + b"\0" * 4  # one whole record of 4 bytes
    assert "header of record 2 (byte 20)" in (_framing(record + b"\1\2\3")[1] or "")
    assert "record 1 (byte 0) declares 4 bytes" in (_framing(record[:-2])[1] or "")


def test_json_reports_say_positions_count_from_one(tmp_path: Path) -> None:
    src = dataset(tmp_path)
    r = CliRunner().invoke(main, ["validate", str(src), "--check-images", "none", "--output-format", "json"])
    data = json.loads(r.stdout)
    assert data["position_base"] == 1
    assert {f["line"] for f in data["findings"] if f["code"] == "missing-file"} == {6}
    old = pd.DataFrame({"path": ["a.jpg"], "cat": [1], "dog": [0]})
    new = pd.DataFrame({"path": ["a.jpg"], "dog": [0], "cat": [1]})
    d = labelprep.diff_frames(old, ["cat", "dog"], new, ["dog", "cat"])
    data = json.loads(d.to_json())
    assert data["position_base"] == 1
    assert [(c["label"], c["before"], c["after"]) for c in data["changes"] if c["kind"] == "label-order"] == [
        ("dog", 2, 1), ("cat", 1, 2)]  # fmt: skip
