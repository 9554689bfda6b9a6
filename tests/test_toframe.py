"""Encoding: the round trip is the identity; scikit-learn and Keras agree with the frame."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelprep
from labelprep.readers.labelcells import WHITESPACE, split_labels
from labelprep.toframe import multi_hot, to_label_lists

label_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12
).filter(lambda s: s == s.strip() and s not in ("path", "split", "group"))
label_lists = st.lists(st.lists(label_text, max_size=5), min_size=1, max_size=30)


def _convert_records(lists: list[list[str]], suffix: str = ".json") -> labelprep.Conversion:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / f"labels{suffix}"
        records = [{"image": f"img_{i}.png", "labels": labs} for i, labs in enumerate(lists)]
        if suffix == ".jsonl":
            src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
        else:
            src.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        return labelprep.convert(src)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(label_lists, st.sampled_from([".json", ".jsonl"]))
def test_label_lists_round_trip_through_the_frame(lists: list[list[str]], suffix: str) -> None:
    conv = _convert_records(lists, suffix)
    back = to_label_lists(conv.frame, conv.vocabulary)
    want = [sorted(set(labs), key=list(conv.vocabulary).index) for labs in lists]
    assert back == want
    assert list(conv.vocabulary) == sorted({x for labs in lists for x in labs})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b c", "dé", "x_y", "Ω"]), max_size=4), min_size=1, max_size=40),
       st.sampled_from(["|", ";", ","]))  # fmt: skip
def test_split_labels_then_multi_hot_matches_python(lists: list[list[str]], sep: str) -> None:
    import pyarrow as pa

    cells = pa.array([sep.join(labs) for labs in lists])
    rows, codes, names, _ = split_labels(cells, sep)
    mat = multi_hot(rows, codes, len(lists), len(names))
    for i, labs in enumerate(lists):
        assert {names[j] for j in np.flatnonzero(mat[:, i])} == set(labs)


def test_whitespace_separator_splits_runs_of_spaces() -> None:
    import pyarrow as pa

    rows, codes, names, _ = split_labels(pa.array(["haze  primary", " clear\tprimary ", ""]), WHITESPACE)
    got = [sorted(names[c] for r, c in zip(rows, codes) if r == i) for i in range(3)]
    assert got == [["haze", "primary"], ["clear", "primary"], []]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.sampled_from(list("abcdefgh")), max_size=6), min_size=1, max_size=40))
def test_frame_equals_scikit_learn_multilabelbinarizer(lists: list[list[str]]) -> None:
    from sklearn.preprocessing import MultiLabelBinarizer

    conv = _convert_records(lists)
    vocab = list(conv.vocabulary)
    if not vocab:
        return
    mlb = MultiLabelBinarizer(classes=vocab)
    want = mlb.fit_transform(lists)
    got = conv.frame[vocab].to_numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.tf
def test_frame_equals_keras_flow_from_dataframe(tmp_path: Path) -> None:
    from PIL import Image
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    lists = [["cat", "dog"], ["dog"], [], ["bird", "cat"], ["bird"], ["dog", "bird", "cat"]]
    for i in range(len(lists)):
        Image.new("RGB", (4, 4), (i * 30, 0, 0)).save(tmp_path / f"{i}.png")
    (tmp_path / "labels.csv").write_text(
        "image,labels\n" + "".join(f"{i}.png,{'|'.join(labs)}\n" for i, labs in enumerate(lists))
    )
    conv = labelprep.convert(tmp_path / "labels.csv")
    vocab = list(conv.vocabulary)
    df = pd.DataFrame({"filename": [f"{i}.png" for i in range(len(lists))], "labels": lists})
    gen = ImageDataGenerator().flow_from_dataframe(
        df, directory=str(tmp_path), x_col="filename", y_col="labels", class_mode="categorical",
        classes=vocab, shuffle=False, batch_size=len(lists), target_size=(4, 4),
    )  # fmt: skip
    _, y = next(gen)
    # Keras silently drops images with no label; labelprep keeps them as all-zero rows
    labelled = conv.frame[vocab].to_numpy().any(axis=1)
    assert gen.n == int(labelled.sum()) == len(lists) - 1
    np.testing.assert_array_equal(conv.frame[vocab].to_numpy()[labelled], y.astype(np.int8))


def test_positive_beats_uncertain_beats_absent() -> None:
    rows = np.array([0, 0, 0, 1, 1, 2])
    codes = np.array([0, 0, 0, 0, 0, 0])
    values = np.array([0, -1, 1, 0, -1, 0], dtype=np.int8)
    mat = multi_hot(rows, codes, 3, 1, values)
    assert mat[0].tolist() == [1, -1, 0]


def test_check_frame_reports_every_failure_lazily() -> None:
    vocab = labelprep.Vocabulary(["cat", "dog"])
    good = pd.DataFrame({"path": ["a.jpg", "b.jpg", "c.jpg"], "cat": [1, 0, 1], "dog": [0, 0, 1]}).astype(
        {"cat": "int8", "dog": "int8"}
    )
    labelprep.check_frame(good, vocab)
    bad = good.assign(cat=pd.Series([2, 0, -1], dtype="int8"), path=["a.jpg", "a.jpg", ""])
    with pytest.raises(labelprep.SchemaError) as err:
        labelprep.check_frame(bad, vocab, unknown=False)
    # one line per column and check, with the count and the first row (counted from 1): two bad values, a duplicated
    # and an empty path
    assert err.value.failures == [
        "column 'path' fails field_uniqueness in 2 rows (first: row 1, value 'a.jpg')",
        "column 'path' fails str_length(1, None) (row 3, value '')",
        "column 'cat' fails isin([0, 1]) in 2 rows (first: row 1, value 2)",
    ]
    labelprep.check_frame(good.assign(cat=pd.Series([-1, 0, 1], dtype="int8")), vocab, unknown=True)
    with pytest.raises(labelprep.SchemaError, match="column 'dog' is out of order"):
        labelprep.check_frame(good[["path", "dog", "cat"]], vocab)  # column order is enforced
    with pytest.raises(labelprep.SchemaError) as err:
        labelprep.check_frame(good.drop(columns=["dog"]).assign(split="train"), vocab)
    assert err.value.failures == ["missing column 'dog'"]  # and not "unexpected column 'split'"


def _frame_of(paths: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"path": pd.Series(paths, dtype="str"), "cat": np.array([1, 0, 1][: len(paths)], np.int8),
                         "dog": np.array([0, 0, 1][: len(paths)], np.int8)})  # fmt: skip


def test_check_frame_checks_a_valid_frame_without_pandera_and_every_failure_with_it() -> None:
    # the vectorised checks pass a valid frame in a process that never imports pandera; any failure they see
    # is named by pandera, as before
    import subprocess
    import sys

    code = ("import sys, numpy as np, pandas as pd, labelprep\n"
            "f = pd.DataFrame({'path': pd.Series(['a.jpg', 'b.jpg'], dtype='str'), 'cat': np.array([1, 0], np.int8)})\n"
            "labelprep.check_frame(f, labelprep.Vocabulary(['cat']))\n"
            "print('pandera' in sys.modules)\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    vocab = labelprep.Vocabulary(["cat", "dog"])
    for paths, failure in ((["a.jpg", "a.jpg", "c.jpg"], "field_uniqueness"), (["a.jpg", "", "c.jpg"], "str_length")):
        with pytest.raises(labelprep.SchemaError, match=failure):
            labelprep.check_frame(_frame_of(paths), vocab)
    with pytest.raises(labelprep.SchemaError, match="not_nullable"):
        labelprep.check_frame(_frame_of(["a.jpg", None, "c.jpg"]), vocab)  # type: ignore[list-item]
    # a text column that is not Arrow-backed is pandera's to judge, value by value
    objects = _frame_of(["a.jpg", "b.jpg", "c.jpg"]).assign(path=pd.Series(["a.jpg", 2, "c.jpg"], dtype=object))
    with pytest.raises(labelprep.SchemaError, match="path"):
        labelprep.check_frame(objects, vocab)
    labelprep.check_frame(_frame_of(["a.jpg", "b.jpg", "c.jpg"]).assign(split=pd.Series(["x", None, "y"],
                                                                                         dtype="str")), vocab)  # fmt: skip


def test_unique_paths_are_proved_from_the_factorisation_only_for_the_frame_it_made(tmp_path: Path) -> None:
    import pyarrow as pa

    from labelprep.schemas import check_frame

    src = tmp_path / "labels.csv"
    src.write_text("image,labels\na.jpg,cat\nb.jpg,dog\na.jpg,dog\nc.jpg,cat|dog\n")
    conv = labelprep.convert(src)
    vocab = conv.vocabulary
    proof = pa.array(conv.frame["path"].tolist(), pa.string())  # what encode's factorisation hands over
    check_frame(conv.frame, vocab, distinct_paths=proof)
    dup = conv.frame.copy()
    dup.loc[1, "path"] = dup.loc[0, "path"]
    # the proof is of another column: uniqueness is counted, and the duplicate found
    with pytest.raises(labelprep.SchemaError, match="field_uniqueness"):
        check_frame(dup, vocab, distinct_paths=proof)
    with pytest.raises(labelprep.SchemaError, match="field_uniqueness"):
        check_frame(dup, vocab, distinct_paths=proof.slice(1))


def test_a_large_multi_hot_matrix_is_a_zeroed_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    import labelprep.multihot as multihot

    rows = np.array([0, 2, 2, 5])
    codes = np.array([1, 0, 1, 2])
    values = np.array([1, -1, 1, 1], dtype=np.int8)
    small = multi_hot(rows, codes, 6, 3, values)
    monkeypatch.setattr(multihot, "ZEROED_MMAP_BYTES", 1)
    mapped = multihot.multi_hot(rows, codes, 6, 3, values)
    assert mapped.flags.writeable and mapped.shape == (3, 6) and mapped.dtype == np.int8
    assert (mapped == small).all() and int(np.abs(mapped).sum()) == 4


def test_multi_hot_scatters_in_chunks_to_the_same_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flat indices are built a chunk at a time (bounded memory); any chunk size gives the same cells."""
    import labelprep.multihot as multihot

    rng = np.random.default_rng(7)
    rows, codes = rng.integers(0, 50, 400), rng.integers(0, 9, 400)
    values = rng.choice(np.array([1, -1, 0], dtype=np.int8), 400)
    whole = multi_hot(rows, codes, 50, 9, values)
    expected = np.zeros((9, 50), dtype=np.int8)
    for r, c, v in zip(rows, codes, values, strict=True):  # positive beats uncertain beats absent
        expected[c, r] = max(expected[c, r], v, key=lambda x: {1: 2, -1: 1, 0: 0}[int(x)])
    assert (whole == expected).all()
    for chunk in (1, 7, 64):
        monkeypatch.setattr(multihot, "SCATTER_CHUNK", chunk)
        assert (multihot.multi_hot(rows, codes, 50, 9, values) == whole).all()


def test_align_labels_of_an_aligned_frame_is_a_new_frame() -> None:
    from labelprep.multihot import align_labels

    frame = _frame_of(["a.jpg", "b.jpg", "c.jpg"])
    out = align_labels(frame, ["cat", "dog"])
    out["split"] = "train"
    out["path"] = "x/" + out["path"]
    assert list(frame.columns) == ["path", "cat", "dog"] and frame["path"].tolist() == ["a.jpg", "b.jpg", "c.jpg"]
    assert align_labels(frame, ["dog", "cat"]).columns.tolist() == ["path", "dog", "cat"]
