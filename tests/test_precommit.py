"""The CI story as documented: the pre-commit hooks work as pasted, and `diff --rev` gates a commit that relabels
or removes images."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
LOCAL_CONFIG = yaml.safe_load((ROOT / "examples" / "ci" / "pre-commit-config.yaml").read_text(encoding="utf-8"))

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def readme_yaml_blocks() -> list[Any]:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", README, flags=re.S)]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def img(path: Path, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (shade, 30, 60)).save(path)


def repo_with_dataset(tmp_path: Path, *, commit: bool = True) -> Path:
    repo = tmp_path / "repo"
    for i in range(4):
        img(repo / "data" / f"{i}.jpg", 40 * i)
    (repo / "data" / "labels.csv").write_text("image,labels\n0.jpg,cat\n1.jpg,dog\n2.jpg,cat|dog\n3.jpg,dog\n")
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    if commit:
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "dataset v1")
    return repo


def run_entry(entry: str, args: list[str] | None = None) -> Any:
    argv = shlex.split(entry) + list(args or [])
    assert argv[0] == "labelprep"
    return CliRunner().invoke(main, argv[1:])


def test_the_hooks_file_is_valid_and_its_example_matches_the_readme() -> None:
    assert [h["id"] for h in HOOKS] == ["labelprep-validate", "labelprep-diff"]
    for h in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(h) and h["entry"].startswith("labelprep ")
        assert h["pass_filenames"] is False
    remote = [b for b in readme_yaml_blocks() if b["repos"][0]["repo"] != "local"]
    assert len(remote) == 1
    (repo,) = remote[0]["repos"]
    # labelprep has no release tag: the README pins a commit SHA (a placeholder to fill in), never a made-up version
    assert repo["rev"] == "COMMIT_SHA" or re.fullmatch(r"[0-9a-f]{40}", repo["rev"])
    assert "v0.1.0" not in (ROOT / ".pre-commit-hooks.yaml").read_text() and "rev: v" not in README
    assert {h["id"] for h in repo["hooks"]} <= {h["id"] for h in HOOKS}
    comment = "\n".join(ln[2:] for ln in (ROOT / ".pre-commit-hooks.yaml").read_text().splitlines()
                        if ln.startswith("#   ") or (ln.startswith("# ") and "repos:" in ln))  # fmt: skip
    assert yaml.safe_load(comment)["repos"][0]["rev"] == repo["rev"]
    assert [h["id"] for h in yaml.safe_load(comment)["repos"][0]["hooks"]] == [h["id"] for h in repo["hooks"]]


def test_the_readme_local_hooks_are_the_example_file() -> None:
    local = [b for b in readme_yaml_blocks() if b["repos"][0]["repo"] == "local"]
    assert local == [LOCAL_CONFIG]


def test_local_hooks_pass_a_clean_commit_and_fail_a_relabel_or_a_removed_image(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    repo = repo_with_dataset(tmp_path)
    monkeypatch.chdir(repo)
    hooks = {h["id"]: h for h in LOCAL_CONFIG["repos"][0]["hooks"]}
    for h in hooks.values():
        r = run_entry(h["entry"])
        assert r.exit_code == 0, (h["id"], r.output)
    labels = repo / "data" / "labels.csv"
    labels.write_text("image,labels\n0.jpg,cat\n1.jpg,cat\n2.jpg,cat|dog\n3.jpg,dog\n")  # 1.jpg relabelled
    r = run_entry(hooks["labelprep-diff"]["entry"])
    assert r.exit_code == 1 and "1.jpg: dog -> cat" in r.output and "FAILED (--fail-on relabel)" in r.output
    labels.write_text("image,labels\n0.jpg,cat\n1.jpg,dog\n2.jpg,cat|dog\n")  # 3.jpg removed
    r = run_entry(hooks["labelprep-diff"]["entry"])
    assert r.exit_code == 1 and "3.jpg: removed" in r.output
    img(repo / "data" / "4.jpg", 200)
    labels.write_text("image,labels\n0.jpg,cat\n1.jpg,dog\n2.jpg,cat|dog\n3.jpg,dog\n4.jpg,cat\n")  # added only
    r = run_entry(hooks["labelprep-diff"]["entry"])
    assert r.exit_code == 0, r.output


def test_remote_hooks_with_the_readme_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = repo_with_dataset(tmp_path)
    monkeypatch.chdir(repo)
    entries = {h["id"]: h["entry"] for h in HOOKS}
    (block,) = [b for b in readme_yaml_blocks() if b["repos"][0]["repo"] != "local"]
    for hook in block["repos"][0]["hooks"]:
        r = run_entry(entries[hook["id"]], hook["args"])
        assert r.exit_code == 0, (hook["id"], r.output)
    (repo / "data" / "labels.csv").write_text("image,labels\n0.jpg,dog\n1.jpg,dog\n2.jpg,cat|dog\n3.jpg,dog\n")
    r = run_entry(entries["labelprep-diff"], ["data/labels.csv"])
    assert r.exit_code == 1 and "relabel" in r.output
    r = run_entry(entries["labelprep-diff"], ["data/labels.csv", "--fail-on", "removed-image"])  # the last wins
    assert r.exit_code == 0, r.output


def test_a_first_commit_has_nothing_to_compare_and_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = repo_with_dataset(tmp_path, commit=False)
    monkeypatch.chdir(repo)
    d = labelprep.diff("data/labels.csv", rev="HEAD")
    assert d.kinds() == {"added-image", "new-label"} and "no earlier version" in d.notes[0]
    (repo / "README").write_text("x")
    git(repo, "add", "README")
    git(repo, "commit", "-q", "-m", "no data yet")
    d = labelprep.diff("data/labels.csv", rev="HEAD")
    assert not d.fails(["relabel", "removed-image"]) and "data/labels.csv is not in HEAD" in d.notes[0]


def test_rev_works_for_label_folders_and_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    img(repo / "photos" / "beach" / "a.jpg", 10)
    img(repo / "photos" / "sunset" / "b.jpg", 20)
    img(repo / "photos" / "beach" / "c.jpg", 30)  # two label folders after the move too
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    labelprep.convert(repo / "photos", repo / "frame.parquet")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    monkeypatch.chdir(repo / "photos")  # paths relative to a subfolder of the working tree
    shutil.move(str(repo / "photos" / "beach" / "a.jpg"), str(repo / "photos" / "sunset" / "a.jpg"))
    r = CliRunner().invoke(main, ["diff", ".", "--rev", "HEAD", "--fail-on", "relabel"])
    assert r.exit_code == 1 and "beach/a.jpg -> sunset/a.jpg: beach -> sunset" in r.output, r.output
    r = CliRunner().invoke(main, ["diff", ".", "--rev", "HEAD", "--images-root", ".", "--fail-on", "relabel"])
    assert r.exit_code == 1 and r.output.startswith("images matched by content")
    labelprep.convert(repo / "photos", repo / "frame.parquet")
    d = labelprep.diff(repo / "frame.parquet", rev="HEAD")  # the frame's .vocab.json comes along
    assert [c.path for c in d.changes if c.kind == "relabel"] == ["sunset/a.jpg"]


def test_rev_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = repo_with_dataset(tmp_path)
    monkeypatch.chdir(repo)
    r = CliRunner().invoke(main, ["diff", "data/labels.csv", "--rev", "nope"])
    assert r.exit_code == 1 and "no commit 'nope' in this repository" in r.output and "Traceback" not in r.output
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("image,labels\na.jpg,cat\n")
    r = CliRunner().invoke(main, ["diff", str(outside), "--rev", "HEAD"])
    assert r.exit_code == 1 and "git working tree" in r.output
    r = CliRunner().invoke(main, ["diff", "data/labels.csv"])
    assert r.exit_code == 2 and "give NEW, or --rev REV" in r.output
    (repo / "data" / "labels.csv").write_text("image,labels\n")
    git(repo, "commit", "-q", "-am", "no rows")
    (repo / "data" / "labels.csv").write_text("image,labels\n0.jpg,cat\n")
    r = CliRunner().invoke(main, ["diff", "data/labels.csv", "--rev", "HEAD"])
    # the error names the file as it was in HEAD, not a temporary copy
    assert r.exit_code == 1 and "Error: HEAD:data/labels.csv:1: file has a header line but no rows" in r.output, r.output
