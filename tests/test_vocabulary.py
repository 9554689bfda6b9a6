from __future__ import annotations

from pathlib import Path

import pytest

from labelprep import Vocabulary, VocabularyError


def test_order_hash_and_json_round_trip() -> None:
    v = Vocabulary(["dog", "cat"])
    assert list(v) == ["dog", "cat"] and v.index("cat") == 1 and len(v) == 2
    assert Vocabulary.from_json(v.to_json()) == v
    assert v.sha256 == Vocabulary(["dog", "cat"]).sha256 != Vocabulary(["cat", "dog"]).sha256


def test_did_you_mean() -> None:
    v = Vocabulary(["Pleural_Thickening", "Cardiomegaly", "dog"])
    assert v.suggest("dgo") == "dog"
    assert v.suggest("pleural thickening") == "Pleural_Thickening"
    assert v.suggest("zzzzzz") is None
    with pytest.raises(VocabularyError, match="did you mean 'dog'"):
        v.index("dgo")


@pytest.mark.parametrize("labels", [["a", "a"], ["a", ""], [" a"], [1]])
def test_invalid_vocabularies_are_rejected(labels: list[object]) -> None:
    with pytest.raises(VocabularyError):
        Vocabulary(labels)  # type: ignore[arg-type]


def test_read_text_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "v.txt").write_text("# classes\ncat\n\ndog\n")
    assert list(Vocabulary.read(tmp_path / "v.txt")) == ["cat", "dog"]
    (tmp_path / "v.json").write_text('["b", "a"]')
    assert list(Vocabulary.read(tmp_path / "v.json")) == ["b", "a"]
    (tmp_path / "dup.txt").write_text("cat\ndog\ncat\n")
    with pytest.raises(VocabularyError) as err:
        Vocabulary.read(tmp_path / "dup.txt")
    assert err.value.line == 3


def test_edited_hash_is_caught(tmp_path: Path) -> None:
    v = Vocabulary(["a", "b"]).to_dict()
    v["labels"] = ["a", "c"]
    with pytest.raises(VocabularyError, match="sha256"):
        Vocabulary.from_dict(v)
