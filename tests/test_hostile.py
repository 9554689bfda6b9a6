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
from labelprep import atomic, frameio
from labelprep.cli import main
from labelprep.errors import InputError
from labelprep.shards.manifest import Manifest, ShardInfo, SplitInfo
from labelprep.shards.spec import SHARD_FILE_PATTERN, STATE_NAME, is_shard_file_name
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
    old = atomic.PROCESS_START - 3600
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


# -- tracebacks and hangs: each is an Error line naming the file (and line), exit 1 --------------------------


def both_verbs_fail_cleanly(src: Path, tmp_path: Path, *needles: str) -> None:
    """convert prints ``Error:`` and exits 1; validate reports a schema-error with the same message, exit 1."""
    before = src.read_bytes()
    clean_error(run("convert", src, "-o", tmp_path / "o.parquet"), *needles)
    result = run("validate", src, "--check-images", "none")
    assert result.exit_code == 1 and "Traceback" not in result.output and "schema-error" in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    assert src.read_bytes() == before and not (tmp_path / "o.parquet").exists()


@pytest.mark.parametrize("name", ["cr.csv", "cr.tsv"])
def test_bare_carriage_return_line_ends_are_an_error_saying_how_to_convert(tmp_path: Path, name: str) -> None:
    sep = "\t" if name.endswith(".tsv") else ","
    src = tmp_path / name
    src.write_bytes(f"image{sep}labels\ra.png{sep}cat\rb.png{sep}dog\r".encode())
    both_verbs_fail_cleanly(src, tmp_path, f"{name}:1:", "bare carriage returns", "tr '\\r' '\\n'")
    src.write_bytes(f'image{sep}labels\r\na.png{sep}"cat\rdog"\r\n'.encode())  # CRLF, a CR inside quotes: fine
    assert labelprep.convert(src).frame["path"].tolist() == ["a.png"]


def test_fields_over_128_kib_are_read_or_reported_by_line(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    src.write_text("image,labels\na.png,cat\n" + "x" * 200_000 + "\n")  # the last line: one huge field
    both_verbs_fail_cleanly(src, tmp_path, "big.csv:3:", "row has 1 fields where the header has 2")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('image,labels\na.png,cat\n"' + "y" * 200_000 + '.png",dog\n')  # whole, quoted: a row
    conv = labelprep.convert(quoted)
    assert [len(p) for p in conv.frame["path"]] == [5, 200_004]
    header = tmp_path / "header.csv"
    header.write_text("image," + "z" * 200_000 + "\na.png,1\nb.png,0\n")  # a header longer than the sniffed 64 KiB
    assert len(labelprep.convert(header, format="wide").frame) == 2


def test_json_nested_too_deeply_is_an_error(tmp_path: Path) -> None:
    src = tmp_path / "deep.json"
    src.write_text("[" * 100_000 + "]" * 100_000)
    both_verbs_fail_cleanly(src, tmp_path, "deep.json:", "nested too deeply")
    jl = tmp_path / "deep.jsonl"
    jl.write_text('{"image": "a.png", "labels": ["cat"]}\n{"image": "b.png", "labels": ' + "[" * 50_000
                  + "]" * 50_000 + "}\n")  # fmt: skip
    both_verbs_fail_cleanly(jl, tmp_path, "deep.jsonl:2:", "nested too deeply")
    cell = tmp_path / "cell.csv"
    cell.write_text('image,labels\na.png,cat\nb.png,"' + "[" * 20_000 + "]" * 20_000 + '"\n')
    both_verbs_fail_cleanly(cell, tmp_path, "cell.csv:3:", "looks like a list but cannot be parsed")
    vocab = tmp_path / "vocab.json"
    vocab.write_text("[" * 100_000 + "]" * 100_000)
    ok = tmp_path / "ok.csv"
    ok.write_text("image,labels\na.png,cat\n")
    clean_error(run("convert", ok, "--vocab", vocab, "-o", tmp_path / "v.parquet"), "vocab.json", "nested too deeply")


def test_json_numbers_over_4300_digits_are_an_error_naming_the_line(tmp_path: Path) -> None:
    digits = "1" * 5000
    src = tmp_path / "big.json"
    src.write_text('{\n"a.png": ["cat"],\n"b.png": ' + digits + "\n}\n")
    both_verbs_fail_cleanly(src, tmp_path, "big.json:3:", "5,000 digits", "as strings")
    jl = tmp_path / "big.jsonl"
    jl.write_text('{"image": "a.png", "labels": ["cat"]}\n{"image": "b.png", "labels": [' + digits + "]}\n")
    both_verbs_fail_cleanly(jl, tmp_path, "big.jsonl:2:", "5,000 digits")
    coco = tmp_path / "coco.json"
    coco.write_text('{"images": [{"id": ' + digits + ', "file_name": "a.png"}], "annotations": [], "categories": []}')
    both_verbs_fail_cleanly(coco, tmp_path, "coco.json:1:", "5,000 digits")
    cell = tmp_path / "cell.csv"
    cell.write_text(f'image,labels\na.png,"[{digits}]"\n')
    both_verbs_fail_cleanly(cell, tmp_path, "cell.csv:2:", "cannot be parsed")


def _bytes_name(path: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.fsencode(path) + b"/" + name))


def test_file_and_folder_names_that_are_not_utf8_are_left_out_and_reported(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    png(folder / "cat" / "a.png")
    png(_bytes_name(folder / "cat", b"b\xff.png"), (255, 0, 0))
    (_bytes_name(folder, b"d\xffg")).mkdir()
    png(_bytes_name(folder, b"d\xffg") / "c.png", (0, 0, 255))
    side = tmp_path / "side"
    png(side / "a.png")
    (side / "a.txt").write_text("cat")
    png(_bytes_name(side, b"b\xe9.png"), (255, 0, 0))
    _bytes_name(side, b"b\xe9.txt").write_text("dog")
    for src, escaped in ((folder, ["cat/b\\xff.png", "d\\xffg/c.png"]), (side, ["b\\xe9.png", "b\\xe9.txt"])):
        before = digest_tree(src)
        ledger = tmp_path / f"{src.name}.ledger.csv"
        result = run("convert", src, "-o", tmp_path / f"{src.name}.parquet", "--ledger", ledger)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
        assert f"left out: {len(escaped)} file name is not UTF-8" in result.output
        text = ledger.read_text(encoding="utf-8")
        assert all(e in text for e in escaped), text
        frame, _ = labelprep.load_frame(tmp_path / f"{src.name}.parquet")
        assert frame["path"].tolist() == (["cat/a.png"] if src == folder else ["a.png"])
        report = labelprep.validate(src, check_images="full")
        left = sorted(f.path for f in report.findings if f.code == "left-out")
        assert left == sorted(e for e in escaped if e.endswith(".png")) and report.ok
        assert digest_tree(src) == before
        for fmt in ("json", "junit", "github", "text"):
            assert run("validate", src, "--output-format", fmt).exit_code == 0


def test_voc_lists_with_bytes_or_names_that_are_not_utf8(tmp_path: Path) -> None:
    main_dir = tmp_path / "voc" / "ImageSets" / "Main"
    main_dir.mkdir(parents=True)
    (main_dir / "cat_train.txt").write_bytes(b"a 1\nb\xe9 -1\n")
    (main_dir / "dog_train.txt").write_bytes(b"a -1\nb\xe9 1\n")
    clean_error(run("convert", tmp_path / "voc", "-o", tmp_path / "o.parquet"), "cat_train.txt:2:",
                "not valid utf-8 (byte 0xe9)", "--encoding latin-1")  # fmt: skip
    conv = labelprep.convert(tmp_path / "voc", encoding="latin-1")
    assert sorted(conv.frame["path"]) == ["JPEGImages/a.jpg", "JPEGImages/bé.jpg"]
    _bytes_name(main_dir, b"b\xffrd_train.txt").write_bytes(b"a 1\n")
    clean_error(run("convert", tmp_path / "voc", "-o", tmp_path / "o.parquet", "--encoding", "latin-1"),
                "b\\xffrd_train.txt", "not UTF-8")  # fmt: skip


def _no_hang(fn: Any, fifo: Path, timeout: float = 60) -> Any:
    """Run ``fn()`` in a thread; if it is still blocked after ``timeout`` seconds, unblock the FIFO and fail."""
    import threading

    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", fn()), daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a writer that closes at once: the reader sees EOF
        os.close(fd)
        thread.join(10)
        pytest.fail(f"blocked reading the FIFO {fifo}")
    return box["result"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_as_source_or_as_a_tag_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    for args in (["convert", fifo, "-o", tmp_path / "o.parquet"], ["convert", fifo, "--format", "wide", "-o",
                 tmp_path / "o.parquet"], ["validate", fifo], ["stats", fifo]):  # fmt: skip
        result = _no_hang(lambda args=args: run(*args), fifo)
        assert result.exit_code == 1 and "named pipe (FIFO), not a regular file" in result.output, result.output
        assert "Traceback" not in result.output
    for name in ("f.parquet", "f.json", "f.jsonl"):
        os.mkfifo(tmp_path / name)
        clean_error(_no_hang(lambda name=name: run("convert", tmp_path / name, "-o", tmp_path / "o.parquet"),
                             tmp_path / name), "named pipe (FIFO)")  # fmt: skip
    src = tmp_path / "labels.csv"
    src.write_text("image,labels\na.png,cat\n")
    clean_error(_no_hang(lambda: run("convert", src, "--vocab", fifo, "-o", tmp_path / "o.parquet"), fifo),
                "vocabulary file is a named pipe")  # fmt: skip
    clean_error(_no_hang(lambda: run("convert", src, "--label-map", fifo, "-o", tmp_path / "o.parquet"), fifo),
                "label map is a named pipe")  # fmt: skip
    side = tmp_path / "side"
    png(side / "a.png")
    os.mkfifo(side / "a.txt")
    clean_error(_no_hang(lambda: run("convert", side, "-o", tmp_path / "o.parquet"), side / "a.txt"),
                "a.txt: the tag file is a named pipe (FIFO)", "comma-separated tags")  # fmt: skip
    voc = tmp_path / "voc" / "ImageSets" / "Main"
    voc.mkdir(parents=True)
    (voc / "cat_train.txt").write_text("a 1\n")
    os.mkfifo(voc / "dog_train.txt")
    clean_error(_no_hang(lambda: run("convert", tmp_path / "voc", "-o", tmp_path / "o.parquet"), voc / "dog_train.txt"),
                "dog_train.txt: the class list is a named pipe")  # fmt: skip


@pytest.mark.tf
def test_a_full_disk_while_writing_shards_is_an_error_and_resume_finishes(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import tensorflow as tf

    from labelprep.shards import writer

    src = _small_dataset(tmp_path / "ds", n=6)
    out = tmp_path / "out"
    real = writer._serialize
    calls = [0]

    def full_after_two_records(tf_: Any, values: dict[str, Any]) -> bytes:
        calls[0] += 1
        if calls[0] > 2:
            raise tf.errors.ResourceExhaustedError(None, None, f"{out}/x.tmp; No space left on device")
        return real(tf_, values)

    monkeypatch.setattr(writer, "_serialize", full_after_two_records)
    monkeypatch.setattr("shutil.disk_usage", lambda p: type("U", (), {"free": 1000, "total": 0, "used": 0})())
    result = run("export", src, "-o", out, "--num-shards", "3")
    clean_error(result, "the disk is full", "0.0 MB free in the export folder", "shard(s) not yet written need about",
                "--resume", "1 finished shard(s) are kept")  # fmt: skip
    assert str(out) in result.output
    assert (out / STATE_NAME).exists() and not (out / "manifest.json").exists()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    clean_error(run("export", src, "-o", out, "--num-shards", "3", "--resume"), "the disk is full")  # the same disk
    monkeypatch.setattr(writer, "_serialize", real)
    m = labelprep.export(src, out, num_shards=3, resume=True)
    assert "resume: kept 1 finished shard(s) of 3" in m.notes
    assert labelprep.verify(out).ok


# -- images that pass but should not ----------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def lying_jpeg(width: int = 9000, height: int = 9000) -> bytes:
    """A 16 x 16 JPEG whose frame header was edited to claim ``width`` x ``height``."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (200, 30, 30)), "JPEG", quality=90))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def _images_dataset(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = ["image,labels"]
    for i, (name, data) in enumerate(files.items()):
        (root / name).write_bytes(data)
        lines.append(f"{name},{'cat' if i % 2 else 'dog'}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root / "labels.csv"


def test_a_jpeg_whose_header_claims_far_more_pixels_than_its_data_holds_is_corrupt(tmp_path: Path) -> None:
    from labelprep.checks.images import check_images

    ok = encode(Image.new("RGB", (16, 16), (0, 90, 0)), "JPEG")
    src = _images_dataset(tmp_path / "ds", {"lie.jpg": lying_jpeg(), "ok.jpg": ok})
    for level in ("header", "full"):
        infos = check_images(["lie.jpg", "ok.jpg"], tmp_path / "ds", level=level, workers=1)
        [issue] = infos["lie.jpg"].issues
        assert issue.code == "corrupt-image" and "declares 9,000 x 9,000 pixels" in issue.message, issue
        assert infos["ok.jpg"].issues == []
    report = labelprep.validate(src, check_images="full")
    assert [f.path for f in report.errors] == ["lie.jpg"]


def test_real_jpegs_of_every_kind_never_look_short_of_data() -> None:
    import numpy as np

    from labelprep.imagechunks import jpeg_data_shortfall

    rng = np.random.default_rng(0)
    for mode, channels in (("RGB", 3), ("L", 1), ("CMYK", 4)):
        for size in ((1, 1), (17, 9), (300, 200), (1200, 900)):
            for flat in (True, False):
                shape = (size[1], size[0], channels) if channels > 1 else (size[1], size[0])
                im = Image.new(mode, size) if flat else Image.fromarray(rng.integers(0, 256, shape, np.uint8), mode)
                for progressive in (False, True):
                    for sub in ((0, 2) if mode != "L" else (0,)):
                        kw: dict[str, Any] = {"quality": 1, "progressive": progressive}
                        if mode != "L":
                            kw["subsampling"] = sub
                        assert jpeg_data_shortfall(encode(im, "JPEG", **kw)) is None, (mode, size, flat, kw)


@pytest.mark.tf
def test_export_never_stores_a_jpeg_short_of_data(tmp_path: Path) -> None:
    from labelprep.shards.images import ImageSettings, prepare_image

    with pytest.raises(InputError, match="declares 9,000 x 9,000 pixels"):
        prepare_image(lying_jpeg(), ImageSettings(), path="lie.jpg")
    ok = encode(Image.new("RGB", (16, 16), (0, 90, 0)), "JPEG")
    src = _images_dataset(tmp_path / "ds", {"lie.jpg": lying_jpeg(), "ok.jpg": ok})
    out = tmp_path / "out"
    result = run("export", src, "-o", out)
    assert result.exit_code == 1 and "corrupt-image" in result.output and not out.exists()
    m = labelprep.export(src, out, skip_invalid=True)
    assert [(s.path, s.code) for s in m.skipped] == [("lie.jpg", "corrupt-image")]
    assert m.splits["train"].examples == 1 and labelprep.verify(out).ok


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def test_animated_gif_png_and_webp_get_the_same_finding(tmp_path: Path) -> None:
    from labelprep.checks.images import check_images

    files = {"a.gif": _animated("GIF"), "a.png": _animated("PNG"), "a.webp": _animated("WEBP"),
             "s.gif": encode(Image.new("RGB", (16, 16)), "GIF"), "s.png": encode(Image.new("RGB", (16, 16)), "PNG"),
             "s.webp": encode(Image.new("RGB", (16, 16)), "WEBP")}  # fmt: skip
    _images_dataset(tmp_path, files)
    for level in ("header", "full"):
        infos = check_images(list(files), tmp_path, level=level, workers=1)
        animated = sorted(p for p, info in infos.items() if any(i.code == "animated-image" for i in info.issues))
        assert animated == ["a.gif", "a.png", "a.webp"], level
    assert "3 frames" in str(infos["a.png"].issues) and "3 frames" in str(infos["a.webp"].issues)


def test_export_stores_the_first_frame_of_every_animation() -> None:
    from labelprep.shards.images import ImageSettings, prepare_image

    for fmt, stored in (("GIF", "jpeg"), ("PNG", "png"), ("WEBP", "jpeg")):
        img = prepare_image(_animated(fmt), ImageSettings())
        assert not img.passthrough and img.format == stored, fmt
        with Image.open(__import__("io").BytesIO(img.data)) as im:
            assert not getattr(im, "is_animated", False)
            r, g, b = im.convert("RGB").getpixel((8, 8))
            assert r > 200 and g < 60 and b < 60, (fmt, (r, g, b))  # the first frame: red


def _png_with_text(nbytes: int) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("junk", "x" * nbytes)
    return encode(Image.new("RGB", (16, 16), (255, 0, 0)), "PNG", pnginfo=info)


def _jpeg_with_comments(total: int) -> bytes:
    data = encode(Image.new("RGB", (16, 16), (255, 0, 0)), "JPEG")
    seg = b"\xff\xfe" + (65533 + 2).to_bytes(2, "big") + b"c" * 65533
    return data[:2] + seg * (total // len(seg) + 1) + data[2:]


def test_oversized_metadata_is_a_finding_and_export_strips_it(tmp_path: Path) -> None:
    from labelprep.checks.images import check_images
    from labelprep.shards.images import ImageSettings, prepare_image

    files = {"text.png": _png_with_text(3_000_000), "com.jpg": _jpeg_with_comments(2_000_000),
             "small.png": _png_with_text(1000)}  # fmt: skip
    _images_dataset(tmp_path, files)
    infos = check_images(list(files), tmp_path, level="full", workers=1)
    codes = {p: [i.code for i in info.issues] for p, info in infos.items()}
    assert codes == {"text.png": ["oversized-metadata"], "com.jpg": ["oversized-metadata"], "small.png": []}
    assert "tEXt" in infos["text.png"].issues[0].message and "COM" in infos["com.jpg"].issues[0].message
    for name in ("text.png", "com.jpg"):
        img = prepare_image(files[name], ImageSettings())
        assert not img.passthrough and len(img.data) < 50_000, name
        with Image.open(__import__("io").BytesIO(img.data)) as im:
            assert im.size == (16, 16) and "junk" not in im.info
    assert prepare_image(files["small.png"], ImageSettings()).passthrough


def test_a_huge_text_chunk_is_checked_in_memory_bounded_by_the_file(tmp_path: Path) -> None:
    import tracemalloc

    from labelprep.checks.images import check_images

    size = 30_000_000
    (tmp_path / "big.png").write_bytes(_png_with_text(size))
    tracemalloc.start()
    try:
        infos = check_images(["big.png"], tmp_path, level="full", workers=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [i.code for i in infos["big.png"].issues] == ["oversized-metadata"]
    assert peak < 1.5 * size, f"{peak / 1e6:.0f} MB traced for a {size / 1e6:.0f} MB file"  # was about 3.5 times


_PEAK_SCRIPT = """
import resource, sys
from labelprep.shards.images import ImageSettings, prepare_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = prepare_image(data, ImageSettings())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(out.width, out.height, out.format, (after - before) * 1024)
"""


def test_a_large_rgba_png_is_flattened_in_bounded_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    import numpy as np

    side = 3000
    ramp = np.arange(side, dtype=np.uint16)
    rgba = np.empty((side, side, 4), np.uint8)
    rgba[..., 0] = (ramp[None, :] % 256).astype(np.uint8)
    rgba[..., 1] = (ramp[:, None] % 256).astype(np.uint8)
    rgba[..., 2] = 90
    rgba[..., 3] = ((ramp[None, :] + ramp[:, None]) % 256).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "big.png")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(tmp_path / "big.png")], capture_output=True,
                         text=True, env=env, check=True, timeout=300).stdout.split()  # fmt: skip
    assert out[:3] == [str(side), str(side), "png"]
    grew = int(out[3])
    decoded = side * side * 4  # Pillow holds RGBA and RGB alike in 4 bytes a pixel
    assert grew < 2.6 * decoded, f"{grew / 1e6:.0f} MB for a {decoded / 1e6:.0f} MB image"  # was about 5 times


@pytest.mark.tf
def test_an_image_that_runs_export_out_of_memory_is_skipped_or_named(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from labelprep.shards import writer

    src = _small_dataset(tmp_path / "ds", n=6)
    real = writer.prepare_image

    def oom_on_image_2(data: bytes, settings: Any, *, path: str = "") -> Any:
        if path == "images/2.png":
            raise MemoryError
        return real(data, settings, path=path)

    monkeypatch.setattr(writer, "prepare_image", oom_on_image_2)
    out = tmp_path / "out"
    result = run("export", src, "-o", out, "--num-shards", "2")
    clean_error(result, "images/2.png", "not enough memory to prepare the image (8 x 6 pixels", "--skip-invalid",
                "--resume")  # fmt: skip
    assert (out / STATE_NAME).exists()
    m = labelprep.export(src, tmp_path / "skip", num_shards=2, skip_invalid=True)
    assert [(s.path, s.split, s.code) for s in m.skipped] == [("images/2.png", "train", "image-out-of-memory")]
    train = m.splits["train"]
    assert train.examples == 5 == sum(s.examples for s in train.shards)
    assert train.positives == {"cat": 3, "dog": 2}  # images 1, 3, 5 are cats; 0 and 4 dogs (2 was left out)
    monkeypatch.setattr(writer, "prepare_image", real)
    assert labelprep.verify(tmp_path / "skip").ok


# -- smaller -------------------------------------------------------------------------------------------------


@pytest.mark.tf
def test_resume_of_a_finished_identical_export_writes_nothing(tmp_path: Path) -> None:
    src = _small_dataset(tmp_path / "ds", n=6)
    out = tmp_path / "out"
    first = labelprep.export(src, out, num_shards=2)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()}
    result = run("export", src, "-o", out, "--num-shards", "2", "--resume")
    assert result.exit_code == 0, result.output
    assert "the export is already complete" in result.output and "nothing was written" in result.output
    assert "Complete already" in result.output and "writing every shard" not in result.output
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()} == before
    again = labelprep.export(src, out, num_shards=2, resume=True)
    assert again.unchanged and again == first and again.report is not None
    # anything different is written again: other settings, a shard that changed, an image changed since
    m = labelprep.export(src, out, num_shards=2, resume=True, seed=7)
    assert not m.unchanged and any("writing every shard" in n for n in m.notes)
    assert labelprep.export(src, out, num_shards=2, resume=True, seed=7).unchanged
    shard = m.shard_paths("train")[0]
    shard.write_bytes(shard.read_bytes()[:-1])
    assert not labelprep.export(src, out, num_shards=2, resume=True, seed=7).unchanged
    assert labelprep.verify(out).ok
    image = tmp_path / "ds" / "images" / "0.png"
    future = (out / "manifest.json").stat().st_mtime + 10
    os.utime(image, (future, future))
    assert not labelprep.export(src, out, num_shards=2, resume=True, seed=7).unchanged


# -- found by the fuzz corpus (tests/test_fuzz.py) ------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_copy_in_a_label_folder_is_refused_and_a_copy_linking_out_is_never_read(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    png(tree / "cat" / "a.png")
    (tree / "dog").mkdir()
    os.mkfifo(tree / "dog" / "a.png")  # the same name under another label: its bytes would be compared
    clean_error(_no_hang(lambda: run("convert", tree, "-o", tmp_path / "o.parquet"), tree / "dog" / "a.png"),
                "dog/a.png: the image file is a named pipe (FIFO)")  # fmt: skip
    (tree / "dog" / "a.png").unlink()
    secret = tmp_path / "secret.png"
    png(secret)  # the same bytes as cat/a.png: only reading it would tell
    (tree / "dog" / "a.png").symlink_to(secret)
    report = labelprep.validate(tree)
    assert [(f.code, f.path) for f in report.errors] == [("path-escapes-root", "dog/a.png")]
    assert [f.code for f in report.findings if f.code == "name-conflict"] == ["name-conflict"]  # not merged


def test_a_voc_class_list_linking_out_of_the_dataset_is_never_read(tmp_path: Path) -> None:
    main_dir = tmp_path / "voc" / "ImageSets" / "Main"
    main_dir.mkdir(parents=True)
    (main_dir / "cat_train.txt").write_text("a 1\nb -1\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0 secret\n")
    (main_dir / "dog_train.txt").symlink_to(secret)
    result = run("convert", tmp_path / "voc", "-o", tmp_path / "o.parquet")
    clean_error(result, "dog_train.txt: the class list is a symlink to", "outside the dataset folder")
    assert "root:x" not in result.output
    (main_dir / "dog_train.txt").unlink()
    (tmp_path / "voc" / "lists").mkdir()
    (tmp_path / "voc" / "lists" / "dog.txt").write_text("a -1\nb 1\n")
    (main_dir / "dog_train.txt").symlink_to(tmp_path / "voc" / "lists" / "dog.txt")  # inside: an ordinary list
    assert sorted(labelprep.convert(tmp_path / "voc").vocabulary) == ["cat", "dog"]


def test_json_strings_holding_half_a_surrogate_pair_are_an_error(tmp_path: Path) -> None:
    cases = {
        "map.json": ('{"a.png": ["cat"],\n "b.png": ["\\ud800"]}', "map.json:2:"),
        "keys.json": ('{"\\udc80.png": ["cat"]}', "keys.json:1:"),
        "rec.jsonl": ('{"image": "a.png", "labels": ["cat"]}\n{"image": "b\\ud83d.png", "labels": []}\n',
                      "rec.jsonl:2:"),
    }  # fmt: skip
    for name, (text, where) in cases.items():
        src = tmp_path / name
        src.write_text(text)
        both_verbs_fail_cleanly(src, tmp_path, where, "half of a surrogate pair")
    ok = tmp_path / "ok.json"
    ok.write_text('{"a.png": ["\\ud83d\\ude00"], "b.png": ["\\\\ud800"]}')  # a whole pair; an escaped backslash
    assert sorted(labelprep.convert(ok).vocabulary) == ["\\ud800", "😀"]
    vocab = tmp_path / "vocab.json"
    vocab.write_text('["cat", "\\udfff"]')
    clean_error(run("convert", ok, "--vocab", vocab, "-o", tmp_path / "o.parquet"), "vocab.json:1:", "surrogate")


def test_a_png_whose_critical_chunk_fails_its_crc_is_corrupt(tmp_path: Path) -> None:
    """Pillow decodes it; libpng, and so TensorFlow, refuse it: export used to store it and verify to fail."""
    from labelprep.checks.images import check_images

    data = bytearray(encode(Image.new("RGB", (4, 4), (9, 90, 200)), "PNG"))
    data[-1] ^= 0xFF  # the IEND chunk's CRC
    (tmp_path / "crc.png").write_bytes(bytes(data))
    (tmp_path / "ok.png").write_bytes(encode(Image.new("RGB", (4, 4), (9, 90, 200)), "PNG"))
    for level in ("header", "full"):
        infos = check_images(["crc.png", "ok.png"], tmp_path, level=level, workers=1)
        assert [i.code for i in infos["crc.png"].issues] == ["corrupt-image"]
        assert "IEND chunk at byte" in infos["crc.png"].issues[0].message
        assert infos["ok.png"].issues == []
