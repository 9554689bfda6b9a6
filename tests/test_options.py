"""One options model: every verb's CLI options are its API's options, and an option declared once is seen by the
CLI, the API and the settings file."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import labelprep
import labelprep.options as options_module
from labelprep.cli import main, verb_options
from labelprep.options import SourceOptions, opt
from labelprep.options import verb_options as names_of

# Options that only decide how the CLI presents a result or picks its exit code (house style: CLI-only).
PRESENTATION = {"quiet", "verbose", "output_format", "fail_on"}
# The report file of the verbs that render a report (the API returns the report object instead).
REPORT_FILE = {"validate", "diff", "verify", "stats"}
# The inputs each command takes as arguments.
ARGUMENTS = {"source", "sources", "old", "new", "out_dir"}


def api_options(verb: str) -> set[str]:
    """What the API verb takes by name: its own parameters (less the source arguments, the option objects and
    **options) and every option of its groups."""
    func = getattr(labelprep, verb)
    own = {name for name, p in inspect.signature(func).parameters.items()
           if p.kind is not p.VAR_KEYWORD and not name.endswith("_options")}  # fmt: skip
    extra = set(names_of(verb)) if verb in options_module.VERBS else set()
    return (own | extra) - ARGUMENTS - {"progress"}


@pytest.mark.parametrize("verb", ["convert", "validate", "export", "verify", "split", "stats", "diff"])
def test_every_cli_option_is_an_api_option_and_back(verb: str) -> None:
    cli = {p.name for p in main.commands[verb].params} - PRESENTATION - ARGUMENTS  # type: ignore[attr-defined]
    if verb in REPORT_FILE:
        cli -= {"output"}
    assert cli == api_options(verb)


def test_an_option_declared_once_is_in_the_cli_the_api_and_the_settings(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # one new field: that is all a new read option needs besides the reader that uses it
    extended = dataclasses.make_dataclass(
        "SourceOptions", [("dummy_opt", int, opt(3, "A test option.", kind="int", min=1, config=True))],
        bases=(SourceOptions,), frozen=True,
    )
    monkeypatch.setattr(options_module, "SourceOptions", extended)
    # the CLI: a command built from the declarations shows it, with its help, and parses it
    import click

    @click.command()
    @verb_options("validate")
    def probe(**opts: Any) -> None:
        click.echo(repr(opts["dummy_opt"]))

    assert "--dummy-opt" in CliRunner().invoke(probe, ["--help"]).output
    assert CliRunner().invoke(probe, ["--dummy-opt", "7"]).output.strip() == "7"
    assert CliRunner().invoke(probe, ["--dummy-opt", "0"]).exit_code == 2  # its bounds come along
    # the API: each verb that reads sources takes it by name, checked; the resolved object carries it
    assert "dummy_opt" in names_of("convert") and "dummy_opt" in names_of("export")
    assert options_module.route("convert", {"dummy_opt": 5})["source"].dummy_opt == 5
    with pytest.raises(labelprep.InputError, match="dummy_opt must be a whole number, 1 or more, not 0"):
        options_module.route("convert", {"dummy_opt": 0})
    # the settings file: its key is known, and the setting is taken when the option is not given
    assert "dummy-opt" in options_module.config_keys()
    assert options_module.route("validate", {}, config={"dummy-opt": 9})["source"].dummy_opt == 9
    assert options_module.route("validate", {"dummy_opt": 4}, config={"dummy-opt": 9})["source"].dummy_opt == 4
    from labelprep.checks.validation import load_config

    (tmp_path / "labelprep.toml").write_text("dummy-opt = 9\n")
    assert load_config(tmp_path / "labels.csv")[0]["dummy-opt"] == 9  # a key the settings file may hold
    (tmp_path / "labelprep.toml").write_text('dummy-opt = "nine"\n')
    with pytest.raises(labelprep.InputError, match="dummy-opt must be a whole number, 1 or more, not 'nine'"):
        load_config(tmp_path / "labels.csv")


def test_an_unknown_option_names_the_closest() -> None:
    with pytest.raises(TypeError, match=r"convert\(\) got an unexpected option 'pathcol' \(did you mean 'path_col'\?\)"):
        labelprep.convert("x.csv", pathcol="image")


def test_options_objects_and_keywords_give_the_same_frame() -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "shapes" / "labels.csv"
    by_name = labelprep.convert(example, split_col="split", group_col="patient")
    by_object = labelprep.convert(example, source_options=SourceOptions(split_col="split", group_col="patient"))
    assert by_name.frame.equals(by_object.frame) and by_name.vocabulary == by_object.vocabulary


def test_one_default_rule_settings_fill_only_what_is_not_given() -> None:
    resolved = options_module.route("validate", {"strict": False}, config={"strict": True, "workers": 3})
    assert resolved["check"].strict is False and resolved["run"].workers == 3
    merged = options_module.route("validate", {"severity": {"empty-labels": "error"}},
                                  config={"severity": {"left-out": "off", "empty-labels": "info"}})  # fmt: skip
    assert merged["check"].severity == {"left-out": "off", "empty-labels": "error"}  # a table merges, given wins


@pytest.mark.parametrize("name", ["split", "stats", "diff"])
def test_api_signatures_match_cli_options(name: str) -> None:
    cmd = main.commands[name]  # type: ignore[attr-defined]
    params = api_options(name)
    # presentation options are the CLI's own (house style): --output-format, -q/--quiet
    cli = {p.name for p in cmd.params} - {"output_format", "source", "old", "new", "fail_on", "quiet"}
    convert_opts = api_options("convert")
    assert cli - params - convert_opts - {"output"} == set()
