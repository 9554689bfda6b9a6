"""Hostile input and faults (issue 16): no escape from the images root or OUT_DIR, no overwrite, no traceback.

Each test builds its own hostile case in ``tmp_path``: symlinks leaving the root, manifests naming files
outside the export, files named like shards, kills between renames, malformed text that used to raise
Python errors, pipes where files belong, images whose headers lie, tampered manifests.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep import frameio
from labelprep.cli import main
from labelprep.errors import InputError
from labelprep.shards.manifest import Manifest, ShardInfo, SplitInfo
from labelprep.shards.spec import SHARD_FILE_PATTERN, is_shard_file_name
from labelprep.vocabulary import Vocabulary

ROOT = Path(__file__).resolve().parents[1]


def png(path: Path, colour: tuple[int, int, int] = (0, 0, 0), size: tuple[int, int] = (4, 4)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


def clean_error(result: Any, *needles: str) -> None:
    """Exit 1 with an ``Error:`` line holding every needle, and no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Error: " in result.output and "Traceback" not in result.output, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    for needle in needles:
        assert needle in result.output, (needle, result.output)


def digest_tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# -- escapes and data loss ----------------------------------------------------------------------------


def test_a_sidecar_tag_file_linking_out_of_the_root_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0, secret-label\n")
    ds = tmp_path / "ds"
    png(ds / "a.png")
    (ds / "a.txt").write_text("cat, dog")
    png(ds / "b.png", (255, 0, 0))
    (ds / "b.txt").symlink_to(secret)
    png(ds / "c.png", (0, 255, 0))
    (ds / "inside.txt").write_text("bird")
    (ds / "c.txt").symlink_to(ds / "inside.txt")  # a symlink within the root is an ordinary tag file

    conv = labelprep.convert(ds, tmp_path / "out.parquet", ledger=tmp_path / "ledger.csv")
    assert sorted(conv.vocabulary) == ["bird", "cat", "dog"]
    assert conv.frame["path"].tolist() == ["a.png", "c.png"]
    [entry] = [e for e in conv.ledger if e.path == "b.png"]
    assert entry.reason == "tag file leaves the images root" and str(secret) in entry.detail
    assert conv.summary.dropped["tag file leaves the images root"] == 1
    assert any("symlinks leaving the images root" in n for n in conv.notes)
    assert "tag file leaves the images root" in (tmp_path / "ledger.csv").read_text()
    assert "secret" not in (tmp_path / "out.vocab.json").read_text()

    report = labelprep.validate(ds, check_images="full")
    [f] = [f for f in report.findings if f.code == "path-escapes-root"]
    assert f.path == "b.png" and f.severity == "error" and "not read" in f.message
    assert not any("secret" in json.dumps(x.to_dict()) for x in report.findings if x.code != "path-escapes-root")


def _manifest_dir(tmp_path: Path, file: str) -> Path:
    out = tmp_path / "export"
    out.mkdir()
    vocab = Vocabulary(["cat"])
    shard = ShardInfo(file, 1, 10, "0" * 64)
    split = SplitInfo("train", 1, {"cat": 1}, {"cat": 0.0}, {"cat": 0}, [shard])
    m = Manifest(name="ds", vocabulary=vocab, splits={"train": split}, image={}, source={"files": ["x.csv"],
                 "rows": 1, "sha256": "0" * 64})  # fmt: skip
    (out / "manifest.json").write_text(m.to_json())
    return out


@pytest.mark.parametrize("file", ["../../../../etc/passwd", "/etc/passwd", "sub/ds-train.tfrecord-00000-of-00001",
                                  "..", "ds-train.tfrecord-00000-of-00001/..", "..\\ds-train.tfrecord-00000-of-00001",
                                  "ds-train.tfrecord-00000-of-00001\x00"])  # fmt: skip
def test_verify_never_opens_a_shard_named_outside_the_export(tmp_path: Path, file: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    out = _manifest_dir(tmp_path, file)
    opened: list[str] = []
    real_read_bytes = Path.read_bytes

    def spy(self: Path) -> bytes:
        opened.append(str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    result = run("verify", out)
    clean_error(result, "not a shard file name inside the export folder", "nothing was opened")
    assert not any("passwd" in p or p.endswith("tfrecord-00000-of-00001") for p in opened), opened
    with pytest.raises(InputError, match="not a shard file name"):
        Manifest.read(out)


def test_shard_file_names_in_the_schema_and_the_code_agree() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text(encoding="utf-8"))
    assert schema["$defs"]["shard"]["properties"]["file"]["pattern"] == SHARD_FILE_PATTERN
    ok = ["ds-train.tfrecord-00000-of-00001", "my.set-v2-val.tfrecord-00003-of-00008"]
    bad = ["../../../../etc/passwd", "/abs/ds-train.tfrecord-00000-of-00001", "a/ds-train.tfrecord-00000-of-00001",
           "ds-train.tfrecord-0-of-1", "-train.tfrecord-00000-of-00001", ".."]  # fmt: skip
    for name in ok:
        assert is_shard_file_name(name)
        jsonschema.validate(name, schema["$defs"]["shard"]["properties"]["file"])
    for name in bad:
        assert not is_shard_file_name(name)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(name, schema["$defs"]["shard"]["properties"]["file"])


def _small_dataset(root: Path, n: int = 4) -> Path:
    lines = ["image,labels"]
    for i in range(n):
        png(root / "images" / f"{i}.png", (40 * i, 0, 0), (8, 6))
        lines.append(f"images/{i}.png,{'cat' if i % 2 else 'dog'}")
    src = root / "labels.csv"
    src.write_text("\n".join(lines) + "\n")
    return src


@pytest.mark.tf
def test_export_refuses_to_replace_a_users_file_named_like_a_shard(tmp_path: Path) -> None:
    src = _small_dataset(tmp_path / "ds")
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "labels-train.tfrecord-00000-of-00001"
    mine.write_text("my notes")
    clean_error(run("export", src, "-o", out, "--num-shards", "1"), "labels-train.tfrecord-00000-of-00001",
                "no labelprep export wrote", "--overwrite")  # fmt: skip
    assert mine.read_text() == "my notes" and sorted(p.name for p in out.iterdir()) == [mine.name]
    m = labelprep.export(src, out, num_shards=1, overwrite=True)  # said so: replaced
    assert m.shard_paths("train") == [mine] and mine.read_bytes() != b"my notes"
    # a shard an earlier export wrote is replaced with --overwrite as before, without a word about foreign files
    m2 = labelprep.export(src, out, num_shards=1, overwrite=True, seed=1)
    assert m2.shard_paths("train") == [mine]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_kill_between_the_vocabulary_and_frame_renames_leaves_the_previous_frame_readable(
        tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    src = tmp_path / "labels.csv"
    src.write_text("image,labels\na.png,cat\nb.png,dog\n")
    out = tmp_path / f"frame{suffix}"
    old = labelprep.convert(src, out)
    before = out.read_bytes()
    src.write_text("image,labels\na.png,zebra|ant\nb.png,cat\nc.png,yak\n")  # new labels, another order

    real_replace = os.replace

    def killed_at_the_frame(a: Any, b: Any) -> None:
        if Path(b) == out:
            raise KeyboardInterrupt  # as a kill -9 right before the frame's rename
        real_replace(a, b)

    monkeypatch.setattr(frameio.os, "replace", killed_at_the_frame)
    with pytest.raises(KeyboardInterrupt):
        labelprep.convert(src, out)
    monkeypatch.setattr(frameio.os, "replace", real_replace)
    assert out.read_bytes() == before  # the previous frame ...
    assert json.loads(frameio.vocab_path(out).read_text())["labels"] != list(old.vocabulary)  # ... new vocabulary
    assert frameio.is_frame(out)
    frame, vocab = labelprep.load_frame(out)
    assert list(vocab) == list(old.vocabulary) and frame["path"].tolist() == ["a.png", "b.png"]
    assert labelprep.validate(out, check_images="none").stats["images"] == 2
    # the next run completes the pair and drops the kept copy
    new = labelprep.convert(src, out)
    frame, vocab = labelprep.load_frame(out)
    assert list(vocab) == list(new.vocabulary) and len(frame) == 3
    assert not frameio.previous_vocab_path(out).exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_stale_temporaries_of_a_killed_run_are_removed_by_the_next_one(tmp_path: Path) -> None:
    src = tmp_path / "labels.csv"
    src.write_text("image,labels\na.png,cat\n")
    out = tmp_path / "out.parquet"
    stale = tmp_path / ".out.parquet.k1ll3d_x.tmp"
    stale.write_bytes(b"half a parquet file")
    old = frameio._PROCESS_START - 3600
    os.utime(stale, (old, old))
    young = tmp_path / ".out.parquet.r4nn1ng_.tmp"  # written since this process started: another run's
    young.write_bytes(b"being written")
    other = tmp_path / ".other.parquet.k1ll3d_x.tmp"  # another target's
    other.write_bytes(b"x")
    os.utime(other, (old, old))
    mine = tmp_path / ".out.parquet.notes.tmp"  # not a name labelprep makes
    mine.write_bytes(b"x")
    os.utime(mine, (old, old))
    labelprep.convert(src, out)
    assert not stale.exists()
    assert young.exists() and other.exists() and mine.exists()
    vstale = tmp_path / ".out.vocab.json.abcdefgh.tmp"
    vstale.write_text("{")
    os.utime(vstale, (old, old))
    labelprep.convert(src, out, ledger=tmp_path / "ledger.csv")
    assert not vstale.exists()
