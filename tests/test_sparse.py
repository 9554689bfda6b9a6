"""Sparse label columns: the same frame, findings, splits and shards as dense ones, in a fraction of the memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import labelprep
import labelprep.multihot as mh
from labelprep.cli import main
from labelprep.errors import InputError, SchemaError
from labelprep.frameio import read_frame
from labelprep.schemas import check_frame

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"


def _wide(tmp_path: Path) -> Path:
    src = tmp_path / "wide.csv"
    src.write_text("path,a,b,c\nx.jpg,1,-1,0\ny.jpg,0,0,0\nz.jpg,-1,1,1\nw.jpg,,1,\n", encoding="utf-8")
    return src


def test_sparse_and_dense_conversions_hold_the_same_values(tmp_path: Path) -> None:
    dense = labelprep.convert(EXAMPLE, split_col="split", group_col="patient")
    sparse = labelprep.convert(EXAMPLE, split_col="split", group_col="patient", sparse_threshold=0)
    labels = list(dense.vocabulary)
    assert list(sparse.vocabulary) == labels and list(sparse.frame.columns) == list(dense.frame.columns)
    assert all(isinstance(sparse.frame[c].dtype, pd.SparseDtype) for c in labels)
    assert all(dense.frame[c].dtype == "int8" for c in labels)
    pd.testing.assert_frame_equal(mh.to_dense(sparse.frame, labels), dense.frame)
    assert sparse.summary.lines() == dense.summary.lines()
    # the default threshold keeps a small vocabulary dense
    assert not mh.use_sparse(len(labels)) and mh.use_sparse(mh.SPARSE_THRESHOLD + 1)


def test_uncertain_cells_survive_sparse_encoding(tmp_path: Path) -> None:
    src = _wide(tmp_path)
    dense = labelprep.convert(src)
    sparse = labelprep.convert(src, sparse_threshold=0)
    pd.testing.assert_frame_equal(mh.to_dense(sparse.frame, ["a", "b", "c"]), dense.frame)
    assert sparse.summary.uncertain == dense.summary.uncertain == 2
    assert sparse.frame["b"].tolist() == [-1, 0, 1, 1]


def test_sparse_parquet_stores_label_indices_and_reads_back(tmp_path: Path) -> None:
    conv = labelprep.convert(_wide(tmp_path), tmp_path / "f.parquet", sparse_threshold=0)
    table = pq.read_table(tmp_path / "f.parquet")
    assert table.column_names == ["path", "__positive__", "__uncertain__"]  # no column per label
    assert table.column("__positive__").to_pylist() == [[0], [], [1, 2], [1]]
    assert table.column("__uncertain__").to_pylist() == [[1], [], [0], []]
    assert json.loads(table.schema.metadata[b"labelprep"])["layout"] == "sparse"
    frame, vocab = read_frame(tmp_path / "f.parquet")
    assert list(vocab) == ["a", "b", "c"]
    pd.testing.assert_frame_equal(frame, conv.frame)
    check_frame(frame, vocab)


def test_a_sparse_frame_is_refused_as_csv_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"Parquet only") as exc:
        labelprep.convert(_wide(tmp_path), tmp_path / "f.csv", sparse_threshold=0)
    assert "f.parquet" in (exc.value.hint or "")
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "f.vocab.json").exists()


def test_cli_sparse_threshold(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    r = CliRunner().invoke(main, ["convert", str(EXAMPLE), "-o", str(out), "--sparse-threshold", "0", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads(pq.read_schema(out).metadata[b"labelprep"])["layout"] == "sparse"
    r = CliRunner().invoke(main, ["convert", str(EXAMPLE), "-o", str(out), "--sparse-threshold", "-1"])
    assert r.exit_code == 2


def test_check_frame_catches_bad_sparse_values_and_dtypes(tmp_path: Path) -> None:
    conv = labelprep.convert(_wide(tmp_path), sparse_threshold=0)
    bad = conv.frame.copy()
    bad["a"] = pd.arrays.SparseArray([2, 0, 0, 0], dtype=mh.SPARSE_DTYPE)
    with pytest.raises(SchemaError, match="'a'"):
        check_frame(bad, conv.vocabulary)
    mixed = conv.frame.copy()
    mixed["c"] = mixed["c"].sparse.to_dense()
    with pytest.raises(SchemaError):
        check_frame(mixed, conv.vocabulary)


def test_large_vocabulary_check_skips_per_label_pandera_but_keeps_the_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labelprep.schemas as schemas

    monkeypatch.setattr(schemas, "PANDERA_LABEL_LIMIT", 1)
    conv = labelprep.convert(EXAMPLE, split_col="split", sparse_threshold=0)
    vocab = conv.vocabulary
    check_frame(conv.frame, vocab)  # valid
    swapped = conv.frame[["path", *reversed(list(vocab)), "split"]]
    with pytest.raises(SchemaError, match="expected"):
        check_frame(swapped, vocab)
    blank = conv.frame.copy()
    blank.loc[0, "path"] = ""
    with pytest.raises(SchemaError, match="path"):
        check_frame(blank, vocab)
    dup = conv.frame.copy()
    dup.loc[1, "path"] = dup.loc[0, "path"]
    with pytest.raises(SchemaError):
        check_frame(dup, vocab)
    bad = conv.frame.copy()
    bad[vocab[0]] = pd.arrays.SparseArray([3] + [0] * (len(bad) - 1), dtype=mh.SPARSE_DTYPE)
    with pytest.raises(SchemaError, match=repr(vocab[0])):
        check_frame(bad, vocab)


cells = st.lists(st.lists(st.sampled_from([0, 0, 0, 1, -1]), min_size=4, max_size=4), min_size=0, max_size=30)


@settings(max_examples=60, deadline=None)
@given(cells)
def test_helpers_agree_on_dense_and_sparse(rows: list[list[int]]) -> None:
    labels = ["a", "b", "c", "d"]
    mat = np.array(rows, dtype=np.int8).reshape(len(rows), 4)
    dense = pd.DataFrame({"path": [f"{i}.jpg" for i in range(len(rows))],
                          **{n: mat[:, j] for j, n in enumerate(labels)}})  # fmt: skip
    sparse = mh.to_sparse(dense, labels)
    assert mh.is_sparse(sparse, labels) and not mh.is_sparse(dense, labels)
    for a, b in zip(mh.label_pairs(dense, labels), mh.label_pairs(sparse, labels), strict=True):
        assert a.tolist() == b.tolist()
    for v in (1, -1):
        assert mh.value_counts(dense, labels, v).tolist() == mh.value_counts(sparse, labels, v).tolist()
    assert mh.rows_with_label(dense, labels).tolist() == mh.rows_with_label(sparse, labels).tolist()
    assert (mh.dense_matrix(sparse, labels) == mat).all()
    pd.testing.assert_frame_equal(mh.to_dense(sparse, labels), dense)


def test_dense_matrix_refuses_what_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mh, "MAX_DENSE_CELLS", 5)
    f = mh.to_sparse(pd.DataFrame({"path": ["a", "b", "c"], "x": np.int8([1, 0, 0]), "y": np.int8([0, 1, 0])}),
                     ["x", "y"])  # fmt: skip
    with pytest.raises(InputError, match="3 images x 2 labels"):
        mh.dense_matrix(f, ["x", "y"], purpose="stats")


def _frames(tmp_path: Path) -> tuple[Path, Path]:
    dense, sparse = tmp_path / "dense.parquet", tmp_path / "sparse.parquet"
    for out, threshold in ((dense, None), (sparse, 0)):
        labelprep.convert(EXAMPLE, out, split_col="split", group_col="patient", images_root=EXAMPLE.parent,
                          sparse_threshold=threshold)  # fmt: skip
    return dense, sparse


def test_validate_reports_the_same_on_sparse_frames(tmp_path: Path) -> None:
    dense, sparse = _frames(tmp_path)
    a = labelprep.validate(dense, images_root=EXAMPLE.parent, check_images="header").to_dict()
    b = labelprep.validate(sparse, images_root=EXAMPLE.parent, check_images="header").to_dict()
    strip = lambda d: json.dumps(d["findings"], sort_keys=True).replace("sparse", "X").replace("dense", "X")  # noqa: E731
    assert strip(a) == strip(b)
    assert a["summary"] == b["summary"]


def test_split_is_the_same_on_sparse_frames(tmp_path: Path) -> None:
    dense, sparse = _frames(tmp_path)
    kw = {"ratios": (0.7, 0.3), "names": ("train", "val"), "group_col": "group", "seed": 3, "overwrite": True}
    a = labelprep.split(dense, **kw)  # type: ignore[arg-type]
    b = labelprep.split(sparse, **kw)  # type: ignore[arg-type]
    assert a.frame["split"].tolist() == b.frame["split"].tolist()
    assert a.result.to_text() == b.result.to_text()


@pytest.mark.tf
def test_export_writes_identical_shards_from_sparse_frames(tmp_path: Path) -> None:
    dense, sparse = _frames(tmp_path)
    a = labelprep.export(dense, tmp_path / "a", images_root=EXAMPLE.parent, num_shards=2, seed=1, workers=1)
    b = labelprep.export(sparse, tmp_path / "b", images_root=EXAMPLE.parent, num_shards=2, seed=1, workers=1)
    for split in a.splits:
        assert [s.sha256 for s in a.splits[split].shards] == [s.sha256 for s in b.splits[split].shards]
        assert a.splits[split].positives == b.splits[split].positives
        assert a.splits[split].pos_weight == b.splits[split].pos_weight
