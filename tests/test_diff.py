"""diff: every kind of change is found on a crafted pair of frames; gating and renderings work."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import labelprep
from labelprep.cli import main
from labelprep.compare import KINDS, Diff, diff_frames, parse_kinds
from labelprep.errors import ConflictError, InputError, VocabularyError

OLD_LABELS = ["cat", "dog", "bird", "fish"]
NEW_LABELS = ["dog", "cat", "bird", "horse"]  # fish removed, horse new, cat and dog swapped


def frame(rows: list[tuple[str, str, list[str]]], labels: list[str], unknown: dict[str, list[str]] | None = None) -> pd.DataFrame:
    out = pd.DataFrame({"path": [r[0] for r in rows]})
    for label in labels:
        col = [1 if label in r[2] else 0 for r in rows]
        for i, r in enumerate(rows):
            if label in (unknown or {}).get(r[0], []):
                col[i] = -1
        out[label] = np.array(col, dtype=np.int8)
    out["split"] = [r[1] for r in rows]
    return out


OLD = [
    ("a.jpg", "train", ["cat", "dog"]),
    ("b.jpg", "train", ["dog"]),
    ("c.jpg", "val", ["bird"]),
    ("d.jpg", "train", ["fish"]),
    ("e.jpg", "train", ["cat"]),
]
NEW = [
    ("a.jpg", "train", ["cat", "dog"]),  # unchanged
    ("b.jpg", "train", ["dog", "bird"]),  # relabel: +bird
    ("c.jpg", "test", ["bird"]),  # split-changed
    ("d.jpg", "train", []),  # lost fish only: that is the removed label, not a relabel
    ("f.jpg", "train", ["horse"]),  # added; e.jpg removed
]


@pytest.fixture
def diff() -> Diff:
    return diff_frames(frame(OLD, OLD_LABELS), OLD_LABELS, frame(NEW, NEW_LABELS), NEW_LABELS)


def by_kind(d: Diff, kind: str) -> list:
    return [c for c in d.changes if c.kind == kind]


def test_every_kind_is_found(diff: Diff) -> None:
    assert diff.kinds() == set(KINDS) - {"content-changed"}
    assert [c.path for c in by_kind(diff, "added-image")] == ["f.jpg"]
    assert [c.path for c in by_kind(diff, "removed-image")] == ["e.jpg"]
    assert [c.label for c in by_kind(diff, "new-label")] == ["horse"]
    assert [c.label for c in by_kind(diff, "removed-label")] == ["fish"]
    # positions count from 1 (the JSON says so: "position_base": 1)
    assert [(c.label, c.before, c.after) for c in by_kind(diff, "label-order")] == [("dog", 2, 1), ("cat", 1, 2)]
    (relabel,) = by_kind(diff, "relabel")
    assert relabel.path == "b.jpg"
    assert (relabel.before, relabel.after) == (["dog"], ["dog", "bird"])
    assert relabel.detail == {"gained": ["bird"], "lost": []}
    assert "b.jpg: dog -> dog, bird (+bird)" == relabel.message
    (moved,) = by_kind(diff, "split-changed")
    assert (moved.path, moved.before, moved.after) == ("c.jpg", "val", "test")
    # cat 2/5 -> 1/5, bird 1/5 -> 2/5; dog stays at 2/5
    shifts = {c.label: (c.before, c.after) for c in by_kind(diff, "prevalence-shift")}
    assert shifts == {"cat": (pytest.approx(0.4), pytest.approx(0.2)), "bird": (pytest.approx(0.2), pytest.approx(0.4))}
    prev = {r.label: r for r in diff.prevalence}
    assert prev["dog"].shift == pytest.approx(0.0)
    assert (prev["horse"].old, prev["horse"].new) == (None, pytest.approx(0.2))
    assert (prev["fish"].old, prev["fish"].new, prev["fish"].shift) == (pytest.approx(0.2), None, None)
    assert diff.stats["images_in_both"] == 4


def test_prevalence_threshold_is_configurable() -> None:
    old, new = frame(OLD, OLD_LABELS), frame(NEW, NEW_LABELS)
    assert "prevalence-shift" not in diff_frames(old, OLD_LABELS, new, NEW_LABELS, prevalence_threshold=0.25).kinds()
    # exactly at the threshold is not above it
    assert "prevalence-shift" not in diff_frames(old, OLD_LABELS, new, NEW_LABELS, prevalence_threshold=0.2).kinds()
    low = diff_frames(old, OLD_LABELS, new, NEW_LABELS, prevalence_threshold=0.19)
    assert {c.label for c in by_kind(low, "prevalence-shift")} == {"cat", "bird"}


def test_uncertain_cells_count_as_relabel() -> None:
    rows = [("a.jpg", "train", ["cat"])]
    old = frame(rows, ["cat", "dog"])
    new = frame(rows, ["cat", "dog"], unknown={"a.jpg": ["dog"]})
    (change,) = by_kind(diff_frames(old, ["cat", "dog"], new, ["cat", "dog"]), "relabel")
    assert change.detail["uncertain_after"] == ["dog"] and change.detail["uncertain_before"] == []
    assert "uncertain (none) -> dog" in change.message


def test_identical_frames_do_not_change() -> None:
    old = frame(OLD, OLD_LABELS)
    d = diff_frames(old, OLD_LABELS, old.copy(), OLD_LABELS)
    assert not d.changed and d.kinds() == set()
    assert not d.fails(["any"])
    assert d.to_text().splitlines() == ["images matched by path (--images-root pairs images by content; --match name "
                                        "by file name)", d.summary_line()]  # the matching rule, then the verdict
    assert d.summary_line().startswith("UNCHANGED: no changes")
    assert json.loads(d.to_json())["changed"] is False


def test_fail_on(diff: Diff) -> None:
    assert diff.fails(["relabel"])
    assert diff.fails(["content-changed", "new-label"])
    assert diff.fails("removed-image,content-changed")  # a comma-separated string too
    assert not diff.fails(["content-changed"])
    assert not diff.fails([])
    assert diff.fails(["any"])
    with pytest.raises(InputError, match="unknown change kind 'relabels'") as err:
        diff.fails(["relabels"])
    assert err.value.hint == "did you mean 'relabel'?"
    assert parse_kinds(["relabel, new-label", ""]) == {"relabel", "new-label"}


def test_content_changed_with_roots(tmp_path: Path) -> None:
    old_root, new_root = tmp_path / "v1", tmp_path / "v2"
    old_root.mkdir()
    new_root.mkdir()
    (old_root / "a.jpg").write_bytes(b"old bytes")
    (new_root / "a.jpg").write_bytes(b"new bytes")  # changed
    (old_root / "b.jpg").write_bytes(b"same")
    (new_root / "b.jpg").write_bytes(b"same")  # unchanged
    (old_root / "c.jpg").write_bytes(b"only old")  # missing under the new root
    (new_root / "e.jpg").write_bytes(b"irrelevant")  # d.jpg is missing on both sides
    d = diff_frames(frame(OLD, OLD_LABELS), OLD_LABELS, frame(NEW, NEW_LABELS), NEW_LABELS,
                    old_root=old_root, new_root=new_root)  # fmt: skip
    changed = {c.path: c for c in by_kind(d, "content-changed")}
    assert set(changed) == {"a.jpg", "c.jpg"}
    assert changed["a.jpg"].before != changed["a.jpg"].after and len(changed["a.jpg"].before) == 64
    assert changed["c.jpg"].after is None
    assert changed["c.jpg"].message == "c.jpg: file present under the old root, missing under the new root"
    assert d.stats["content"] == {"checked": True, "files": 4, "missing_both": 1}
    assert any("no file under either root" in n for n in d.notes)
    assert d.fails(["content-changed"])
    # the same root on both sides cannot differ: not compared, and said so
    same = diff_frames(frame(OLD, OLD_LABELS), OLD_LABELS, frame(NEW, NEW_LABELS), NEW_LABELS,
                       old_root=old_root, new_root=old_root)  # fmt: skip
    assert "content-changed" not in same.kinds() and any("same images root" in n for n in same.notes)
    with pytest.raises(InputError, match="needs the images root of both"):
        diff_frames(frame(OLD, OLD_LABELS), OLD_LABELS, frame(NEW, NEW_LABELS), NEW_LABELS, old_root=old_root)
    with pytest.raises(InputError, match="new images root is not a folder"):
        diff_frames(frame(OLD, OLD_LABELS), OLD_LABELS, frame(NEW, NEW_LABELS), NEW_LABELS,
                    old_root=old_root, new_root=tmp_path / "nope")  # fmt: skip


def test_bad_input_raises_clean_errors() -> None:
    old = frame(OLD, OLD_LABELS)
    with pytest.raises(VocabularyError, match="new frame lacks the label column"):
        diff_frames(old, OLD_LABELS, old, [*OLD_LABELS, "zebra"])
    dup = pd.concat([old, old.iloc[:1]], ignore_index=True)
    with pytest.raises(ConflictError, match=r"'a\.jpg' more than once"):
        diff_frames(dup, OLD_LABELS, old, OLD_LABELS)
    with pytest.raises(InputError, match="no 'path' column"):
        diff_frames(old.drop(columns="path"), OLD_LABELS, old, OLD_LABELS)


def test_text_rendering_groups_and_caps() -> None:
    old = frame([(f"{i}.jpg", "train", ["cat"]) for i in range(15)], ["cat"])
    new = frame([(f"{i}.jpg", "train", []) for i in range(15)], ["cat"])
    text = diff_frames(old, ["cat"], new, ["cat"]).to_text(["relabel"])
    lines = text.splitlines()
    assert lines[0].startswith("images matched by path")
    assert lines[1] == f"ERROR relabel (15): {KINDS['relabel'][1]}"
    assert "  ... and 5 more" in lines
    assert lines[-1].startswith("FAILED (--fail-on relabel): 15 relabel, 1 prevalence-shift; old 15 image(s)")
    assert "WARNING prevalence-shift (1)" in text


def test_json_github_and_junit_parse(diff: Diff) -> None:
    data = json.loads(diff.render("json", ["relabel"]))
    assert data["changed"] is True and data["failed"] is True
    assert data["summary"]["by_kind"]["relabel"] == 1 and data["summary"]["old_images"] == 5
    assert {c["kind"] for c in data["changes"]} == diff.kinds()
    relabel = next(c for c in data["changes"] if c["kind"] == "relabel")
    assert relabel["before"] == ["dog"] and relabel["after"] == ["dog", "bird"] and relabel["gained"] == ["bird"]
    assert json.loads(diff.to_json())["failed"] is False

    gh = diff.to_github(["relabel"]).splitlines()
    assert all(line.startswith("::") for line in gh[:-1]) and gh[-1].startswith("FAILED")
    assert "::error title=relabel::b.jpg: dog -> dog, bird (+bird)" in gh
    assert "::notice title=added-image::f.jpg: added" in gh
    assert "::warning title=removed-image::e.jpg: removed" in gh

    root = ET.fromstring(diff.to_junit(["relabel", "new-label"]))
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == list(KINDS)
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {"relabel", "new-label"}
    assert root.get("failures") == "2"
    quiet = ET.fromstring(diff.to_junit())
    assert quiet.get("failures") == "0" and quiet.find(".//system-out") is not None
    # without roots the content check did not run: its test case says so
    assert [c.get("name") for c in cases if c.find("skipped") is not None] == ["content-changed"]
    with pytest.raises(ValueError, match="unknown diff format"):
        diff.render("yaml")


# ---------------------------------------------------------------------------
# Pairing images by identity: a move between label folders is a relabel
# ---------------------------------------------------------------------------


def _img(path: Path, shade: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (shade, shade, shade)).save(path)


def _versions(tmp_path: Path) -> tuple[Path, Path]:
    """v1 and v2 of a label-folder export: b.jpg moved from beach/ to sunset/, d.jpg renamed d2.jpg."""
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    for v in (v1, v2):
        _img(v / "beach" / "a.jpg", 10)
        _img(v / "forest" / "c.jpg", 30)
        _img(v / "sunset" / "e.jpg", 50)
    _img(v1 / "beach" / "b.jpg", 20)
    _img(v2 / "sunset" / "b.jpg", 20)
    _img(v1 / "forest" / "d.jpg", 40)
    _img(v2 / "forest" / "d2.jpg", 40)
    return v1, v2


def test_a_move_between_label_folders_is_a_relabel(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from labelprep.cli import main

    v1, v2 = _versions(tmp_path)
    r = CliRunner().invoke(main, ["diff", str(v1), str(v2), "--fail-on", "relabel"])
    assert r.exit_code == 1, r.output
    assert r.output.splitlines()[0].startswith("images matched by file name within the label folder")
    assert "beach/b.jpg -> sunset/b.jpg: beach -> sunset (+sunset, -beach)" in r.output
    d = labelprep.diff(v1, v2)
    (relabel,) = by_kind(d, "relabel")
    assert (relabel.path, relabel.detail["old_path"]) == ("sunset/b.jpg", "beach/b.jpg")
    assert [c.path for c in by_kind(d, "added-image")] == ["forest/d2.jpg"]  # renamed: another name, no roots
    assert d.stats["matched_by"].startswith("file name within the label folder")
    # by path, as before: the move is one removed and one added image, and the shared name is pointed out
    p = labelprep.diff(v1, v2, match="path")
    assert "relabel" not in p.kinds() and not p.fails(["relabel"])
    assert any("share a file name with a removed one: beach/b.jpg (removed) / sunset/b.jpg (added)" in n
               for n in p.notes)  # fmt: skip


def test_content_pairs_renamed_images_when_roots_are_given(tmp_path: Path) -> None:
    v1, v2 = _versions(tmp_path)
    d = labelprep.diff(v1, v2, images_root=[v1, v2])
    assert d.stats["matched_by"].startswith("content (sha256")
    assert {(c.detail.get("old_path"), c.path) for c in by_kind(d, "relabel")} == {("beach/b.jpg", "sunset/b.jpg")}
    assert "added-image" not in d.kinds() and "removed-image" not in d.kinds()  # d.jpg -> d2.jpg is one image
    assert d.stats["moved"] == 2 and "content-changed" not in d.kinds()
    assert labelprep.diff(v1, v2, images_root=[v1, v2], match="content").kinds() == d.kinds()
    with pytest.raises(InputError, match="needs the images root"):
        labelprep.diff(v1, v2, match="content")


def test_frames_converted_from_label_folders_pair_by_name_too(tmp_path: Path) -> None:
    v1, v2 = _versions(tmp_path)
    labelprep.convert(v1, tmp_path / "v1.parquet")
    labelprep.split(tmp_path / "v1.parquet", tmp_path / "v1s.parquet", ratios=(0.5, 0.5), names=("train", "val"))
    labelprep.convert(v2, tmp_path / "v2.parquet")
    for old in ("v1.parquet", "v1s.parquet"):  # split's output is still a folder-form frame
        d = labelprep.diff(tmp_path / old, tmp_path / "v2.parquet")
        assert [c.path for c in by_kind(d, "relabel")] == ["sunset/b.jpg"], old
    labelprep.convert(v1, tmp_path / "v1.csv")  # a CSV frame does not say where it came from: by path
    labelprep.convert(v2, tmp_path / "v2.csv")
    d = labelprep.diff(tmp_path / "v1.csv", tmp_path / "v2.csv")
    assert d.stats["matched_by"].startswith("path") and "relabel" not in d.kinds()
    assert [c.path for c in by_kind(labelprep.diff(tmp_path / "v1.csv", tmp_path / "v2.csv", match="name"),
                                    "relabel")] == ["sunset/b.jpg"]  # fmt: skip


def test_same_bytes_under_a_removed_and_an_added_path_are_pointed_out(tmp_path: Path) -> None:
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    for v in (v1, v2):
        _img(v / "cat" / "a.jpg", 10)
    _img(v1 / "dog" / "x.jpg", 10)  # the same bytes twice in each version: content cannot say which is which
    _img(v2 / "dog" / "y.jpg", 10)
    d = labelprep.diff(v1, v2, images_root=[v1, v2])
    assert [c.path for c in by_kind(d, "added-image")] == ["dog/y.jpg"]
    assert [c.path for c in by_kind(d, "removed-image")] == ["dog/x.jpg"]
    assert any("1 added image(s) have the same bytes as a removed one" in n and "dog/x.jpg (removed) / dog/y.jpg "
               "(added)" in n for n in d.notes), d.notes  # fmt: skip


def test_a_repeated_name_falls_back_to_its_path_and_the_others_still_pair_by_name(tmp_path: Path) -> None:
    """'Forest/x.jpg' and 'forest/x.jpg' with different bytes (kept apart): only they are paired by path."""
    v1, v2 = _versions(tmp_path)
    for v, shade in ((v1, 70), (v2, 70)):
        _img(v / "Forest" / "c.jpg", shade)  # another c.jpg, in a folder spelt differently
    d = labelprep.diff(v1, v2, on_conflict="separate")
    assert [c.path for c in by_kind(d, "relabel")] == ["sunset/b.jpg"]  # still paired by name
    assert any("1 file name(s) repeat within a version" in n and "matched by path" in n for n in d.notes)
    assert [c.path for c in by_kind(d, "removed-image")] == ["forest/d.jpg"]  # renamed d2.jpg: no roots, no pair


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
