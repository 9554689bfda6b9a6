"""The CLI: help conventions, the two doors agree, TensorFlow stays out, a real subprocess run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

import labelprep
from labelprep.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"


def commands() -> dict[str, click.Command]:
    return dict(main.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    first = (commands()[name].help or "").strip().splitlines()[0]
    assert first and not first.endswith(".")
    assert f"labelprep {name}" in (ROOT / "README.md").read_text()


def test_version_and_group_help() -> None:
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and labelprep.__version__ in r.output
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0


def test_cli_options_are_the_api_parameters() -> None:
    from test_options import api_options

    # SOURCE... is convert's source: one, or several as the splits of one frame
    api_params = api_options("convert")
    cli_params = {p.name for p in commands()["convert"].params} - {"quiet", "sources"}
    assert cli_params - api_params == set()
    assert api_params - cli_params == set()
    assert {p.name for p in commands()["convert"].params if p.name == "sources"} == {"sources"}


def test_the_two_doors_give_the_same_frame(tmp_path: Path) -> None:
    out = tmp_path / "cli.parquet"
    r = CliRunner().invoke(main, ["convert", str(EXAMPLE), "-o", str(out), "--split-col", "split",
                                  "--group-col", "patient"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "format: delimited" in r.output and "rows read: 48" in r.output
    cli_frame, cli_vocab = labelprep.read_frame(out)
    conv = labelprep.convert(EXAMPLE, split_col="split", group_col="patient")
    pd.testing.assert_frame_equal(cli_frame, conv.frame)
    assert cli_vocab == conv.vocabulary
    assert (tmp_path / "cli.vocab.json").exists()


def test_csv_output_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    conv = labelprep.convert(EXAMPLE, out, split_col="split")
    frame, vocab = labelprep.read_frame(out)
    pd.testing.assert_frame_equal(frame, conv.frame, check_dtype=False)
    assert all(frame[v].dtype == "int8" for v in vocab)


def test_ledger_lists_merged_rows(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    # one label a row (a long table): a.jpg adding dog is not a duplicate, repeating cat is
    src.write_text("image,labels\na.jpg,cat\nb.jpg,dog\na.jpg,dog\na.jpg,cat\n")
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(tmp_path / "o.parquet"),
                                  "--ledger", str(tmp_path / "ledger.csv")])  # fmt: skip
    assert r.exit_code == 0, r.output
    ledger = pd.read_csv(tmp_path / "ledger.csv")
    assert ledger.to_dict("records") == [
        {"file": str(src), "line": 5, "path": "a.jpg", "reason": "merged duplicate",
         "detail": "labels merged into the first listing (line 2)"}
    ]  # fmt: skip
    assert "duplicate rows merged: 1" in r.output


def test_convert_never_imports_tensorflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from labelprep.cli import main\n"
        "for args in (['--help'], ['convert', '--help'],"
        f" ['convert', {str(EXAMPLE)!r}, '-o', {str(tmp_path / 'o.parquet')!r}]):\n"
        "    r = CliRunner().invoke(main, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_python_dash_m_runs_a_real_conversion(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    r = subprocess.run([sys.executable, "-m", "labelprep", "convert", str(EXAMPLE), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Wrote" in r.stderr and out.exists()


def test_outputs_get_the_usual_file_permissions(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        labelprep.convert(EXAMPLE, tmp_path / "o.parquet")
    finally:
        os.umask(old)
    for name in ("o.parquet", "o.vocab.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_verbs_are_not_shadowed_by_modules() -> None:
    """No module of the package has a verb's name: importing it would replace the verb on the package."""
    import importlib.util

    for name in ("convert", "validate", "export", "verify", "split", "stats", "diff"):
        assert importlib.util.find_spec(f"labelprep.{name}") is None, name
        assert callable(getattr(labelprep, name)), name
