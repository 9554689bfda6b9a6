"""The fuzz corpus of issue 16, kept in the suite: seeded mutants of every annotation form through convert and
validate.

A seeded mutator (``random.Random``, so a failing case is replayed by its number) starts from a small valid
source of each form (delimited, wide and long CSV, TSV, JSON mapping and records, COCO, Label Studio, JSON
Lines, label folders, sidecar tags, Pascal VOC) and damages it: bytes flipped, inserted, cut or repeated,
hostile snippets (bare CRs, NULs, invalid UTF-8, 5,000-digit numbers, 3,000-deep brackets, 150 KB fields,
paths leaving the root), JSON values swapped for hostile ones, and for folders hostile trees (names that are
not UTF-8, symlinks out of the root, FIFOs, text posing as images, annotation files, empty files).

Each case must hold: no traceback, exit code 0, 1 or 2 only, inputs byte-for-byte unchanged, and after exit
0 an output frame that reads back with every row accounted for (rows read = images + duplicates merged +
rows folded + rows left out, as the printed summary says, and the frame holds the images it counts).
``LABELPREP_FUZZ_CASES`` runs more cases (the default keeps the test within a few seconds of 20).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main

CASES = int(os.environ.get("LABELPREP_FUZZ_CASES", "400"))


def _png(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (shade, 255 - shade, 60)).save(buf, "PNG")
    return buf.getvalue()


# -- seed forms: (name, files relative to the case folder, the source to pass) -------------------------------

_COCO = {
    "images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}, {"id": 3, "file_name": "c.png"}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 7}, {"id": 2, "image_id": 2, "category_id": 9},
                    {"id": 3, "image_id": 2, "category_id": 7}],
    "categories": [{"id": 7, "name": "cat"}, {"id": 9, "name": "dog"}],
}  # fmt: skip
_STUDIO = [
    {"id": 1, "data": {"image": "/data/upload/1/a.png"},
     "annotations": [{"result": [{"type": "choices", "from_name": "c", "value": {"choices": ["cat", "dog"]}}]}]},
    {"id": 2, "data": {"image": "/data/upload/1/b.png"},
     "annotations": [{"result": [{"type": "choices", "from_name": "c", "value": {"choices": ["dog"]}}]}]},
    {"id": 3, "data": {"image": "/data/upload/1/c.png"}, "annotations": [{"was_cancelled": True, "result": []}]},
]  # fmt: skip

SEEDS: dict[str, tuple[dict[str, bytes], str]] = {
    "delimited": ({"labels.csv": b"image,labels\na.png,cat|dog\nb.png,dog\nc.png,\nb.png,dog\n"}, "labels.csv"),
    "wide": ({"wide.csv": b"image,cat,dog,bird\na.png,1,0,0\nb.png,0,1,-1\nc.png,0,0,0\n"}, "wide.csv"),
    "long": ({"long.csv": b"ImageID,LabelName,Confidence\na,cat,1\na,dog,0\nb,dog,1\nb,dog,1\nc,bird,1\n"},
             "long.csv"),
    "tsv": ({"labels.tsv": b"filename\ttags\na.png\tcat;dog\nb.png\tdog\n"}, "labels.tsv"),
    "mapping": ({"map.json": json.dumps({"a.png": ["cat", "dog"], "b.png": ["dog"], "c.png": []}).encode()},
                "map.json"),
    "records": ({"records.json": json.dumps([{"image": "a.png", "labels": ["cat"], "split": "train"},
                                             {"image": "b.png", "labels": "dog", "split": "val"},
                                             {"image": "c.png", "labels": None}]).encode()}, "records.json"),
    "coco": ({"coco.json": json.dumps(_COCO).encode()}, "coco.json"),
    "labelstudio": ({"studio.json": json.dumps(_STUDIO).encode()}, "studio.json"),
    "jsonl": ({"metadata.jsonl": b'{"file_name": "a.png", "labels": ["cat"]}\n'
                                 b'{"file_name": "b.png", "labels": ["dog", "cat"]}\n\n'
                                 b'{"file_name": "c.png", "labels": []}\n'}, "metadata.jsonl"),
    "folder": ({"tree/cat/a.png": _png(10), "tree/dog/b.png": _png(90), "tree/dog/a.png": _png(10),
                "tree/notes/readme.txt": b"not a label"}, "tree"),
    "sidecar": ({"tags/a.png": _png(10), "tags/a.txt": b"cat, dog", "tags/b.png": _png(90),
                 "tags/b.txt": b"smile\\, happy\ncat", "tags/c.png": _png(170), "tags/d.txt": b"orphan"}, "tags"),
    "voc": ({"voc/ImageSets/Main/cat_train.txt": b"a 1\nb -1\nc 0\n",
             "voc/ImageSets/Main/dog_train.txt": b"a -1\nb 1\nc -1\n"}, "voc"),
}  # fmt: skip

_SNIPPETS = [
    b"\r", b"\r\n", b"\n", b'"', b'""', b",,", b"\t", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3\x28",
    b"\xe2\x80\xa8", b"[" * 3000 + b"]" * 3000, b"[" * 3000, b"1" * 5000, b"-" + b"9" * 4400, b"../../etc/passwd",
    b"/etc/passwd", b"NaN", b"-1", b"1e999", b"\\u0000", b'{"a":', b"]]]]", b"null", b"true", b"No Finding",
    b" ", b"\x1f", b"|", b";", b"{}", b"[]", b"'", b"\\", b"C:\\\\x.png", b"s3://bucket/x.png", b"%s%n", b"path",
    b"split", b"__positive__", b"\\ud800", b"(", b"('a', 'b')",
]  # fmt: skip
_JSON_VALUES = [
    "null", "true", "false", "0", "-1", "1.5", "1e999", '""', '" "', '"' + "a" * 300 + '"', "[]", "{}", '["x", 1]',
    "[" * 3000 + "]" * 3000, "1" * 5000, '"\\ud800"', '"../../etc/passwd"', '{"label": 3}', "[null]", '"a\\u0000b"',
    '["path"]', '"split"', '["\\udc80x"]', '{"choices": ["cat"]}', "-0", '"/data/local-files/?d=../x.png"',
]  # fmt: skip
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|\[\]|\{\}')


# -- mutations -------------------------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    op = rng.randrange(11)
    n = len(data)
    at = rng.randrange(n + 1)
    if op == 0 and n:  # flip a byte
        return data[:at] + bytes([rng.choice([0, 0xFF, 0x0D, 0x22, 0x2C, 0x7C, 0x5B, 0x7B, 0x5C, rng.randrange(256)])]) + data[at + 1 :]
    if op in (1, 2, 3):  # insert a hostile snippet
        return data[:at] + rng.choice(_SNIPPETS) + data[at:]
    if op == 4:  # delete a range
        return data[:at] + data[at + rng.randrange(1, 40) :]
    if op == 5:  # repeat a range
        end = min(n, at + rng.randrange(1, 80))
        return data[:end] + data[at:end] * rng.randrange(1, 4) + data[end:]
    if op == 6:  # cut the file short
        return data[:at]
    if op == 7:  # line surgery: swap, repeat or drop lines
        lines = data.split(b"\n")
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        choice = rng.randrange(3)
        if choice == 0:
            lines[i], lines[j] = lines[j], lines[i]
        elif choice == 1:
            lines.insert(i, lines[j])
        else:
            del lines[i]
        return b"\n".join(lines)
    if op == 8:  # line ends
        return rng.choice([data.replace(b"\n", b"\r"), data.replace(b"\n", b"\r\n"), data.rstrip(b"\n")])
    if op == 9:  # a huge field
        return data[:at] + b"x" * rng.choice([70_000, 140_000]) + data[at:]
    return rng.choice([b"", b"\n", b"\xef\xbb\xbf", data + data])  # empty, or twice over


def mutate_json(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8", "replace")
    tokens = list(_JSON_TOKEN.finditer(text))
    if not tokens:
        return mutate_bytes(rng, data)
    m = rng.choice(tokens)
    return (text[: m.start()] + rng.choice(_JSON_VALUES) + text[m.end() :]).encode("utf-8", "surrogatepass")


def _bytes_path(folder: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


def mutate_tree(rng: random.Random, root: Path, outside: Path) -> None:
    """One hostile change to a folder source (label folders, sidecar tags or VOC)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    op = rng.randrange(14)
    pick = rng.choice(files) if files else None
    if op == 0 and pick is not None:  # a name that is not UTF-8
        pick.rename(_bytes_path(pick.parent, os.fsencode(pick.stem) + b"\xff" + os.fsencode(pick.suffix)))
    elif op == 1 and pick is not None:  # a tag file (or image) linking out of the root
        link = pick.with_suffix(rng.choice([".txt", ".png"]))
        if link.exists():
            link.unlink()
        link.symlink_to(outside)
    elif op == 2 and pick is not None and hasattr(os, "mkfifo"):  # a FIFO where a file belongs
        fifo = pick.with_suffix(rng.choice([".txt", ".png"]))
        if fifo.exists():
            fifo.unlink()
        os.mkfifo(fifo)
    elif op == 3:  # an image outside any label folder, or one level too deep
        stray = root / rng.choice(["loose.png", "cat/deeper/x.png"])
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(_png(200))
    elif op == 4 and pick is not None:  # text posing as an image, or an empty file
        pick.write_bytes(rng.choice([b"", b"<html>403</html>", b"\x89PNG\r\n\x1a\n"]))
    elif op == 5:  # an annotation file inside the folder
        (root / rng.choice(["metadata.jsonl", "_classes.csv"])).write_bytes(b"image,labels\na.png,cat\n")
    elif op == 6:  # hidden files
        (root / ".DS_Store").write_bytes(b"\x00\x01")
        (root / "._a.png").write_bytes(b"\x00")
    elif op == 7:  # split folders beside labels
        for split in ("train", "val"):
            (root / split / "cat").mkdir(parents=True, exist_ok=True)
            (root / split / "cat" / f"{split}.png").write_bytes(_png(30))
    elif op == 8:  # a folder named like an image or a tag file
        (root / rng.choice(["dir.png", "a.txt.d", "cat/x.png"])).mkdir(parents=True, exist_ok=True)
    elif op == 9 and files:  # damage a text file of the tree (a tag file, a VOC list)
        texts = [p for p in files if p.suffix == ".txt"] or files
        target = rng.choice(texts)
        target.write_bytes(mutate_bytes(rng, target.read_bytes()))
    elif op == 10 and pick is not None:  # the same name with other bytes under another label
        other = root / "bird" / pick.name
        other.parent.mkdir(exist_ok=True)
        other.write_bytes(_png(rng.randrange(256)))
    elif op == 11:  # a symlinked folder leaving the root
        link = root / "linked"
        if not link.exists():
            link.symlink_to(outside.parent, target_is_directory=True)
    elif op == 12 and files:  # damage an image's bytes (cut, flipped, or a header that lies)
        images = [p for p in files if p.suffix == ".png"] or files
        target = rng.choice(images)
        data = target.read_bytes()
        at = rng.randrange(len(data) + 1)
        target.write_bytes(rng.choice([data[:at], data[:at] + b"\xff" + data[at + 1 :],
                                       data[:16] + (9000).to_bytes(4, "big") * 2 + data[24:]]))
    elif files:  # delete a file
        rng.choice(files).unlink()


# -- the invariants -----------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    """What every entry under ``root`` is: file bytes (hashed), symlink targets, FIFOs and folders."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            key = os.fsdecode(os.path.relpath(full, os.fsencode(root)))
            if stat.S_ISLNK(st.st_mode):
                out[key] = "link:" + os.fsdecode(os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    out[key] = hashlib.sha256(fh.read()).hexdigest()
            else:
                out[key] = f"mode:{stat.S_IFMT(st.st_mode)}"
    return out


_NUMBER = re.compile(r"^\s+(rows read|images|duplicate rows merged|rows folded into their image \(a row per label\)"
                     r"): (\d+)$", re.M)  # fmt: skip
_ROW_REASONS_EXCLUDED = ("unknown label", "label under --min-count")  # labels dropped, not rows


def accounted(output: str) -> tuple[int, int]:
    """(rows read, images + merged + folded + rows left out) from convert's printed summary."""
    numbers = {k: int(v) for k, v in _NUMBER.findall(output)}
    left = 0
    m = re.search(r"^\s+left out: (.*)$", output, re.M)
    assert m is not None, output
    if m.group(1) != "nothing":
        for part in m.group(1).split("; "):
            count, _, reason = part.partition(" ")
            if not reason.startswith(_ROW_REASONS_EXCLUDED):
                left += int(count)
    total = numbers["images"] + numbers["duplicate rows merged"] + left
    return numbers["rows read"], total + numbers.get("rows folded into their image (a row per label)", 0)


def check_run(result: Any, what: str) -> None:
    assert result.exit_code in (0, 1, 2), (what, result.exit_code, result.output)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), (what, repr(exc), result.output)
    assert "Traceback" not in result.output, (what, result.output)


def run_case(case: int, base: Path) -> Path:
    rng = random.Random(case)
    form = list(SEEDS)[case % len(SEEDS)]
    files, source = SEEDS[form]
    folder = base / f"case{case}"
    src_root = folder / "src"
    outside = folder / "outside" / "secret.txt"
    outside.parent.mkdir(parents=True)
    outside.write_text("root:x:0:0, secret\n")
    for rel, data in files.items():
        (src_root / rel).parent.mkdir(parents=True, exist_ok=True)
        (src_root / rel).write_bytes(data)
    src = src_root / source
    for _ in range(rng.choice([1, 1, 2, 3])):
        if src.is_dir():
            mutate_tree(rng, src, outside)
        elif src.suffix in (".json",) and rng.random() < 0.6:
            src.write_bytes(mutate_json(rng, src.read_bytes()))
        elif src.suffix == ".jsonl" and rng.random() < 0.5:
            src.write_bytes(mutate_json(rng, src.read_bytes()))
        else:
            src.write_bytes(mutate_bytes(rng, src.read_bytes()))
    before = snapshot(src_root)
    out = folder / "out"
    out.mkdir()
    what = f"case {case} ({form}; replay with random.Random({case}))"
    runner = CliRunner()
    conv = runner.invoke(main, ["convert", str(src), "-o", str(out / "frame.parquet"), "--ledger",
                                str(out / "ledger.csv")])  # fmt: skip
    check_run(conv, f"convert {what}")
    if conv.exit_code == 1:
        assert "Error: " in conv.output, (what, conv.output)
    if conv.exit_code == 0:
        frame, vocab = labelprep.read_frame(out / "frame.parquet")
        read, total = accounted(conv.output)
        assert read == total, (what, conv.output)
        images = int(re.search(r"^\s+images: (\d+)$", conv.output, re.M).group(1))  # type: ignore[union-attr]
        assert len(frame) == images and list(frame.columns[1 : 1 + len(vocab)]) == list(vocab), what
        with open(out / "ledger.csv", encoding="utf-8") as fh:
            assert fh.readline().startswith("file,line,path,reason")
    val = runner.invoke(main, ["validate", str(src), "--check-images", "header", "--workers", "1"])
    check_run(val, f"validate {what}")
    assert snapshot(src_root) == before, f"inputs changed by {what}"
    return src


def export_case(case: int, base: Path) -> None:
    """A mutant folder source through export --skip-invalid, then verify: exit 0 means a clean export."""
    src = run_case(case, base)
    before = snapshot(src.parent)
    out = base / f"case{case}" / "shards"
    result = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "--skip-invalid", "--workers", "1",
                                       "--check-images", "full"])  # fmt: skip
    what = f"export case {case} (replay with random.Random({case}))"
    check_run(result, what)
    assert snapshot(src.parent) == before, f"inputs changed by {what}"
    if result.exit_code == 0:
        report = labelprep.verify(out)
        assert report.ok, (what, report.to_text())
        m = labelprep.Manifest.read(out)
        assert m.num_examples == sum(s.examples for sp in m.splits.values() for s in sp.shards)


@pytest.mark.parametrize("block", range(4))
def test_mutants_of_every_form_never_crash_and_lose_no_row(tmp_path: Path, block: int) -> None:
    for case in range(block, CASES, 4):
        run_case(case, tmp_path)


@pytest.mark.tf
def test_folder_mutants_export_cleanly_or_refuse(tmp_path: Path) -> None:
    folders = [i for i, form in enumerate(SEEDS) if form in ("folder", "sidecar")]
    cases = [c for c in range(CASES) if c % len(SEEDS) in folders][:: max(1, CASES // 200)]
    for case in cases:
        export_case(case, tmp_path)


def test_the_mutator_is_seeded_and_hostile() -> None:
    """The same case number gives the same mutant; and the corpus does reach the hostile inputs."""
    seen: set[bytes] = set()
    for case in range(CASES):
        rng = random.Random(case)
        data = SEEDS["delimited"][0]["labels.csv"]
        mutant = mutate_bytes(rng, data)
        assert mutant == mutate_bytes(random.Random(case), data)
        seen.update(s for s in _SNIPPETS if s in mutant and s not in data)
    assert {b"\r", b"\x00", b"1" * 5000, b"[" * 3000} <= seen
