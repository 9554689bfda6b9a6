"""Large tables read block by block: the same frame, notes, ledger lines and errors as one whole read."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import labelprep
import labelprep.readers.csvtext as table_module
from labelprep.errors import ConflictError, InputError
from labelprep.readers.csvtext import iter_tables, read_table

BLOCK = 4096  # bytes: many blocks from a file of a few hundred KB


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "BLOCK_BYTES", BLOCK)


def _long_text(n_images: int, seed: int = 0, *, quotes: bool = False, crlf: bool = False) -> str:
    rng = random.Random(seed)
    lines = ["ImageID,Source,LabelName,Confidence,split"]
    for i in range(n_images):
        split = "train" if i % 5 else "val"
        for _ in range(rng.randint(1, 6)):
            label = f"/m/{rng.randint(0, 40):03d}"
            source = '"human, ""verified""\nsecond line"' if quotes and rng.random() < 0.05 else "machine"
            lines.append(f"img{i:06d},{source},{label},{1 if rng.random() < 0.9 else 0},{split}")
        if rng.random() < 0.02:
            lines.append("")  # a blank line
    text = "\n".join(lines) + "\n"
    return text.replace("\n", "\r\n") if crlf else text


@pytest.mark.parametrize("quotes", [False, True])
@pytest.mark.parametrize("block", [100, 5000, 70000])
def test_blocks_hold_the_rows_and_lines_of_the_whole_file(tmp_path: Path, quotes: bool, block: int) -> None:
    src = tmp_path / "l.csv"
    src.write_text(_long_text(6000, quotes=quotes), encoding="utf-8")
    assert src.stat().st_size > 3 * table_module._SNIFF_BYTES
    whole = read_table(src)
    blocks = list(iter_tables(src, block_bytes=block))
    assert len(blocks) > 1
    assert pa.concat_tables([b.data for b in blocks]).equals(whole.data)
    assert np.concatenate([b.lines() for b in blocks]).tolist() == whole.lines().tolist()
    assert all(b.columns == whole.columns for b in blocks)


def _same_conversion(src: Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> labelprep.Conversion:
    whole = labelprep.convert(src, **options)  # type: ignore[arg-type]
    monkeypatch.setattr(table_module, "BLOCK_BYTES", BLOCK)
    blocks = labelprep.convert(src, **options)  # type: ignore[arg-type]
    monkeypatch.undo()
    pd.testing.assert_frame_equal(blocks.frame, whole.frame)
    assert list(blocks.vocabulary) == list(whole.vocabulary)
    assert blocks.summary.lines() == whole.summary.lines()
    assert blocks.ledger == whole.ledger
    assert any("blocks" in n for n in blocks.notes)
    return blocks


@pytest.mark.parametrize("crlf", [False, True])
def test_long_table_in_blocks_converts_like_the_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      crlf: bool) -> None:  # fmt: skip
    src = tmp_path / "l.csv"
    text = _long_text(5000, quotes=True, crlf=crlf)
    rows = text.splitlines(keepends=True)
    text += "".join(rows[1:40])  # the first images listed again at the end: their pairs are duplicates
    src.write_bytes(text.encode("utf-8"))
    conv = _same_conversion(src, monkeypatch, split_col="split")
    assert conv.summary.rows_read == sum(1 for r in text.splitlines()[1:] if r.strip() and not r.startswith("second"))
    assert conv.summary.merged_duplicates >= 39
    assert {e.reason for e in conv.ledger} == {"merged duplicate"}
    # a pair repeated at the end is reported at its own line
    last = max(e.line for e in conv.ledger if e.line)
    assert last == len(text.splitlines())


def test_unknown_labels_dropped_in_blocks_keep_their_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "l.csv"
    src.write_text(_long_text(4000, seed=3), encoding="utf-8")
    vocab = tmp_path / "v.txt"
    vocab.write_text("\n".join(f"/m/{i:03d}" for i in range(0, 40, 2)) + "\n", encoding="utf-8")
    conv = _same_conversion(src, monkeypatch, vocab=vocab, unknown="drop", split_col="split")
    lines = src.read_text().splitlines()
    for e in conv.ledger[:200]:
        assert e.reason == "unknown label dropped"
        assert lines[e.line - 1].split(",")[2] == e.detail  # the ledger's line holds that label


def test_delimited_table_in_blocks_sniffs_the_separator_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1)
    rows = ["path,labels,split"]
    for i in range(8000):
        labs = rng.sample(["cat", "dog", "bird", "fish"], rng.randint(1, 3))
        cell = str(labs) if i % 97 == 0 else "|".join(labs)  # some list literals
        rows.append(f'img{i}.jpg,"{cell}",{"val" if i % 7 == 0 else "train"}')
    rows += ["img5.jpg,dog,train"]  # a duplicate row, far from its first listing
    src = tmp_path / "d.csv"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    conv = _same_conversion(src, monkeypatch, split_col="split")
    assert conv.ledger[0].line == len(rows) and conv.ledger[0].path == "img5.jpg"


def test_an_image_in_two_splits_across_blocks_is_still_a_conflict(tmp_path: Path, small_blocks: None) -> None:
    text = _long_text(3000)
    text += "img000001,machine,/m/001,1,val\n"  # img000001 is train
    src = tmp_path / "l.csv"
    src.write_text(text, encoding="utf-8")
    with pytest.raises(ConflictError, match="img000001") as exc:
        labelprep.convert(src, split_col="split")
    assert exc.value.line == len(text.splitlines())


def test_errors_in_later_blocks_name_their_file_line(tmp_path: Path, small_blocks: None) -> None:
    text = _long_text(3000)
    n = len(text.splitlines())
    src = tmp_path / "ragged.csv"
    src.write_text(text + "img9,machine,/m/001\n", encoding="utf-8")
    with pytest.raises(InputError, match="3 fields") as exc:
        labelprep.convert(src)
    assert exc.value.line == n + 1
    bad = tmp_path / "bytes.csv"
    bad.write_bytes(text.encode() + b"img9,machine,/m/\xff01,1,train\n")
    with pytest.raises(InputError, match="UTF-8") as exc:
        labelprep.convert(bad)
    assert exc.value.line == n + 1


@pytest.mark.parametrize("body", ["a.jpg,cat\nb.jpg,dog\n", 'a.jpg,"cat,\ndog"\nb.jpg,dog\n', "a.jpg,cat\n\nb.jpg,dog\n"])
def test_a_quoted_header_keeps_exact_line_numbers(tmp_path: Path, body: str) -> None:
    # pyarrow quotes header names; rows without quotes parse in the fast mode, and a quoted line end or a blank
    # line still moves the next row's line
    src = tmp_path / "labels.csv"
    src.write_text('"image","labels"\n' + body)
    t = read_table(src)
    assert t.n_rows == 2
    assert t.lines().tolist() == ([2, 3] if body.count("\n") == 2 else [2, 4])
