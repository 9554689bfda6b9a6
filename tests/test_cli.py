"""The CLI: help conventions, a real subprocess run, no module shadowing a verb (convert's doors: test_convert.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
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


def test_python_dash_m_runs_a_real_conversion(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    r = subprocess.run([sys.executable, "-m", "labelprep", "convert", str(EXAMPLE), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Wrote" in r.stderr and out.exists()


def test_verbs_are_not_shadowed_by_modules() -> None:
    """No module of the package has a verb's name: importing it would replace the verb on the package."""
    import importlib.util

    for name in ("convert", "validate", "export", "verify", "split", "stats", "diff"):
        assert importlib.util.find_spec(f"labelprep.{name}") is None, name
        assert callable(getattr(labelprep, name)), name
