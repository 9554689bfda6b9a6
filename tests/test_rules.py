"""Label rules: exclusive groups, implications and hierarchies, minimum counts; from settings or --rules FILE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import labelprep
from labelprep.checks.rules import load_rules
from labelprep.cli import main
from labelprep.errors import InputError

WEATHER = ["clear", "partly_cloudy", "haze", "cloudy"]


def planet(tmp_path: Path) -> Path:
    """A Planet-like table: ids, space-separated tags; rows 2-7 of train.csv (line = row + 1)."""
    rows = [
        ("a", "clear primary"),
        ("b", "clear haze primary"),  # line 3: two weather tags
        ("c", "primary water"),  # line 4: no weather tag
        ("d", "cloudy"),
        ("e", "husky dog animal"),
        ("f", "husky"),  # line 7: husky without dog (nor animal, which dog implies)
    ]
    (tmp_path / "train.csv").write_text("image_name,tags\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return tmp_path / "train.csv"


RULES = {"exactly-one": [WEATHER], "at-most-one": [["husky", "cloudy"]], "implies": {"husky": "dog", "dog": ["animal"]},
         "min-count": {"water": 2, "*": 1}}  # fmt: skip


def run(src: Path, **kw: object) -> labelprep.Report:
    return labelprep.validate(src, check_images="none", severity={"missing-file": "off"}, **kw)  # type: ignore[arg-type]


def test_each_rule_is_a_finding_on_its_row(tmp_path: Path) -> None:
    src = planet(tmp_path)
    report = run(src, rules=RULES)
    got = sorted((f.code, f.severity, f.path, f.line, f.split, f.label) for f in report.findings
                 if f.code != "unused-label")
    assert [f.label for f in report.findings if f.code == "unused-label"] == ["partly_cloudy"]  # no image has it
    assert "which no image has" in next(f.message for f in report.findings if f.code == "unused-label")
    assert got == [
        ("exclusive-labels", "error", "b", 3, "train", None),
        ("implied-label-missing", "error", "f", 7, "train", "animal"),  # followed through dog
        ("implied-label-missing", "error", "f", 7, "train", "dog"),
        ("label-below-min-count", "error", None, None, "train", "water"),
        ("missing-exclusive-label", "error", "c", 4, "train", None),
        ("missing-exclusive-label", "error", "e", 6, "train", None),
        ("missing-exclusive-label", "error", "f", 7, "train", None),
    ], report.to_text()
    assert all(f.source == str(src) for f in report.findings if f.line)
    msg = next(f.message for f in report.findings if f.code == "exclusive-labels")
    assert "'clear', 'haze'" in msg and "exactly one of" in msg
    assert not report.ok


def test_unknown_cells_never_break_a_rule(tmp_path: Path) -> None:
    (tmp_path / "wide.csv").write_text("path,clear,cloudy,husky,dog\na.jpg,1,-1,1,-1\nb.jpg,-1,0,0,0\nc.jpg,0,1,0,1\n")
    report = run(tmp_path / "wide.csv", rules={"exactly-one": [["clear", "cloudy"]], "implies": {"husky": "dog"}})
    assert report.findings == [], report.to_text()


def test_rules_from_settings_or_a_file_and_options_win(tmp_path: Path) -> None:
    src = planet(tmp_path)
    (tmp_path / "labelprep.toml").write_text('[rules]\nexactly-one = ["clear", "partly_cloudy", "haze", "cloudy"]\n')
    assert run(src).codes() == {"exclusive-labels": 1, "missing-exclusive-label": 3, "unused-label": 1}
    (tmp_path / "rules.toml").write_text('[tool.labelprep.rules]\nimplies = { husky = "dog" }\n')
    assert run(src, rules=tmp_path / "rules.toml").codes() == {"implied-label-missing": 1}
    r = CliRunner().invoke(main, ["validate", str(src), "--check-images", "none", "--severity", "missing-file=off",
                                  "--rules", str(tmp_path / "rules.toml"), "--output-format", "json"])  # fmt: skip
    assert r.exit_code == 1 and json.loads(r.stdout)["summary"]["by_code"] == {"implied-label-missing": 1}
    (tmp_path / "labelprep.toml").write_text('rules = "rules.toml"\n')  # a path, relative to the settings file
    assert run(src).codes() == {"implied-label-missing": 1}


def test_open_images_hierarchy_with_mids_and_a_label_map(tmp_path: Path) -> None:
    tree = {"LabelName": "/m/0bl9f", "Subcategory": [
        {"LabelName": "/m/animal", "Subcategory": [{"LabelName": "/m/dog", "Subcategory": [{"LabelName": "/m/husky"}]}]},
        {"LabelName": "/m/car", "Part": [{"LabelName": "/m/wheel"}]},
    ]}  # fmt: skip
    (tmp_path / "hierarchy.json").write_text(json.dumps(tree))
    (tmp_path / "names.csv").write_text("/m/animal,animal\n/m/dog,dog\n/m/husky,husky\n/m/car,car\n/m/wheel,wheel\n")
    (tmp_path / "train.csv").write_text("path,labels\na.jpg,/m/husky|/m/dog\nb.jpg,/m/wheel\nc.jpg,/m/animal\n")
    (tmp_path / "rules.toml").write_text('hierarchy = "hierarchy.json"\n')
    report = run(tmp_path / "train.csv", rules=tmp_path / "rules.toml", label_map=tmp_path / "names.csv")
    got = [(f.code, f.path, f.label, f.line) for f in report.findings if f.code == "implied-label-missing"]
    assert got == [("implied-label-missing", "a.jpg", "animal", 2)]  # a wheel implies no car; nothing implies Entity
    rules = load_rules({"hierarchy": str(tmp_path / "hierarchy.json")})
    assert rules.implies["/m/husky"] == ("/m/animal", "/m/dog")


def test_a_rule_label_no_image_has_is_named_with_a_suggestion(tmp_path: Path) -> None:
    report = run(planet(tmp_path), rules={"exactly-one": [["clear", "hazy"]]})
    f = next(f for f in report.findings if f.label == "hazy")
    assert (f.code, f.severity, f.hint) == ("unused-label", "warning", "did you mean 'haze'?")


@pytest.mark.parametrize(("table", "words"), [
    ({"exactly_one": "clear"}, "list of label groups"),
    ({"at-most-one": [["clear"]]}, "two or more labels"),
    ({"min-count": {"water": 0}}, "whole number"),
    ({"implies": {"husky": 3}}, "a label or a list"),
    ({"mutually-exclusive": []}, "unknown rule(s): mutually-exclusive"),
])  # fmt: skip
def test_bad_rules_are_errors_that_say_what_to_write(tmp_path: Path, table: dict[str, object], words: str) -> None:
    src = planet(tmp_path)
    with pytest.raises(InputError) as exc:
        run(src, rules=table)
    assert words in str(exc.value)
