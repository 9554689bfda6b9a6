"""split, stats and diff through both doors: the CLI and the API agree and write what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import labelprep
from labelprep.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"


def test_split_writes_a_split_column_and_keeps_groups_together(tmp_path: Path) -> None:
    out = tmp_path / "split.parquet"
    r = CliRunner().invoke(main, ["split", str(EXAMPLE), "-o", str(out), "--group-col", "patient", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "largest deviation" in r.output
    frame, vocab = labelprep.read_frame(out)
    assert list(frame.columns) == ["path", *vocab, "split", "group"]
    assert set(frame["split"]) == {"train", "val", "test"}
    assert (frame.groupby("group")["split"].nunique() == 1).all()
    api = labelprep.split(EXAMPLE, group_col="patient", seed=3)
    pd.testing.assert_frame_equal(api.frame, frame)
    labelprep.check_frame(frame, vocab)


def test_split_refuses_an_existing_split_column_unless_overwrite(tmp_path: Path) -> None:
    labelprep.convert(EXAMPLE, tmp_path / "f.parquet", split_col="split")
    r = CliRunner().invoke(main, ["split", str(tmp_path / "f.parquet"), "-o", str(tmp_path / "o.parquet")])
    assert r.exit_code == 1 and "already has a 'split' column" in r.output and "--overwrite" in r.output
    assert not (tmp_path / "o.parquet").exists()
    r = CliRunner().invoke(main, ["split", str(tmp_path / "f.parquet"), "-o", str(tmp_path / "o.parquet"),
                                  "--overwrite", "--per-split", "--ratios", "0.5,0.5", "--names", "a,b"])  # fmt: skip
    assert r.exit_code == 0, r.output
    parts = {n: labelprep.read_frame(tmp_path / f"o-{n}.parquet")[0] for n in ("a", "b")}
    assert sum(len(p) for p in parts.values()) == 48
    assert set(parts["a"]["split"]) == {"a"}


def test_split_usage_errors() -> None:
    r = CliRunner().invoke(main, ["split", str(EXAMPLE), "-o", "x.parquet", "--ratios", "0.8,zero"])
    assert r.exit_code == 2
    r = CliRunner().invoke(main, ["split", str(EXAMPLE), "-o", "x.parquet", "--ratios", "0.8,0.1"])
    assert r.exit_code == 1 and r.output.startswith("Error: ")


def test_stats_json_stdout_holds_only_json_and_pos_weight_file(tmp_path: Path) -> None:
    pw = tmp_path / "pw.json"
    r = CliRunner().invoke(main, ["stats", str(EXAMPLE), "--split-col", "split", "--output-format", "json",
                                  "--pos-weight", str(pw)])  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data and json.loads(pw.read_text()).keys() == {"circle", "square", "triangle"}
    assert labelprep.stats(EXAMPLE, split_col="split").to_dict() == data
    html = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["stats", str(EXAMPLE), "-o", str(html)])
    assert r.exit_code == 0 and html.read_text().lstrip().lower().startswith("<!doctype html")


def test_diff_gates_on_kinds(tmp_path: Path) -> None:
    (tmp_path / "v1.csv").write_text("image,labels\na.jpg,cat|dog\nb.jpg,dog\n")
    (tmp_path / "v2.csv").write_text("image,labels\na.jpg,cat\nb.jpg,dog\nc.jpg,dog\n")
    args = ["diff", str(tmp_path / "v1.csv"), str(tmp_path / "v2.csv")]
    assert CliRunner().invoke(main, args).exit_code == 0
    r = CliRunner().invoke(main, [*args, "--fail-on", "relabel", "--output-format", "json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["failed"] is True
    assert CliRunner().invoke(main, [*args, "--fail-on", "new-label"]).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--fail-on", "relabell"]).exit_code == 2
    r = CliRunner().invoke(main, [*args, "--fail-on", "content-changed"])  # a gate that could compare nothing
    assert r.exit_code == 2 and "content-changed compares image bytes: give --images-root" in r.output
    d = labelprep.diff(tmp_path / "v1.csv", tmp_path / "v2.csv")
    assert d.kinds() >= {"relabel", "added-image"}
    gh = CliRunner().invoke(main, [*args, "--output-format", "github"]).output.splitlines()
    assert f"::warning file={tmp_path / 'v2.csv'},title=relabel::a.jpg: cat, dog -> cat (-dog)" in gh  # on the file


@pytest.mark.parametrize("name", ["split", "stats", "diff"])
def test_api_signatures_match_cli_options(name: str) -> None:
    from test_options import api_options

    cmd = main.commands[name]  # type: ignore[attr-defined]
    params = api_options(name)
    # presentation options are the CLI's own (house style): --output-format, -q/--quiet
    cli = {p.name for p in cmd.params} - {"output_format", "source", "old", "new", "fail_on", "quiet"}
    convert_opts = api_options("convert")
    assert cli - params - convert_opts - {"output"} == set()
