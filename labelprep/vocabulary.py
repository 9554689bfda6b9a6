"""The ordered, frozen list of label names that every frame, shard and report agrees on."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from labelprep.errors import VocabularyError
from labelprep.safeio import json_error, read_regular_file, reject_lone_surrogates

__all__ = ["VOCAB_FORMAT_VERSION", "Vocabulary"]

VOCAB_FORMAT_VERSION = 1


class Vocabulary(Sequence[str]):
    """An ordered, immutable list of unique label names.

    Example:
        >>> vocab = Vocabulary(["cat", "dog"])
        >>> vocab.index("dog")
        1
        >>> vocab.suggest("dgo")
        'dog'
        >>> Vocabulary.from_json(vocab.to_json()) == vocab
        True
    """

    __slots__ = ("_index", "_labels")

    def __init__(self, labels: Iterable[str]) -> None:
        items = tuple(labels)
        index: dict[str, int] = {}
        for i, label in enumerate(items):
            if not isinstance(label, str):
                raise VocabularyError(
                    f"label {label!r} at position {i} is not a string",
                    hint="labels are names; map numeric ids with --label-map",
                )
            if label == "" or label != label.strip():
                raise VocabularyError(
                    f"label {label!r} at position {i} is empty or has surrounding whitespace",
                    hint="strip the label names",
                )
            if label in index:
                raise VocabularyError(
                    f"label {label!r} is listed twice (positions {index[label]} and {i})",
                    hint="each label may appear once in a vocabulary",
                )
            index[label] = i
        self._labels = items
        self._index = index

    # Sequence protocol
    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return self._labels[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Vocabulary):
            return self._labels == other._labels
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._labels)

    def __repr__(self) -> str:
        shown = ", ".join(repr(x) for x in self._labels[:5])
        more = f", ... ({len(self)} labels)" if len(self) > 5 else ""
        return f"Vocabulary([{shown}{more}])"

    @property
    def labels(self) -> tuple[str, ...]:
        """The label names in order."""
        return self._labels

    def index(self, label: str, start: int = 0, stop: int | None = None) -> int:
        """Position of ``label``; raises :class:`VocabularyError` with a suggestion if absent."""
        try:
            return self._index[label]
        except KeyError:
            raise VocabularyError(
                f"unknown label {label!r}", hint=self.hint_for(label)
            ) from None

    @property
    def sha256(self) -> str:
        """Content hash of the ordered names: equal hashes mean equal vocabularies."""
        payload = json.dumps(list(self._labels), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def suggest(self, label: str) -> str | None:
        """The closest known label to ``label`` (case, spacing and typos), or None."""
        if not self._labels:
            return None
        folded = {_fold(x): x for x in self._labels}
        if _fold(label) in folded:
            return folded[_fold(label)]
        close = difflib.get_close_matches(label, self._labels, n=1, cutoff=0.6)
        return close[0] if close else None

    def hint_for(self, label: str) -> str:
        """A hint sentence for an unknown ``label``."""
        best = self.suggest(label)
        if best is not None:
            return f"did you mean {best!r}?"
        return "add it to the vocabulary file, or pass --unknown drop to leave it out"

    # Serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": VOCAB_FORMAT_VERSION,
            "labels": list(self._labels),
            "sha256": self.sha256,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, *, source: str | None = None) -> Vocabulary:
        if isinstance(data, list):
            return cls(data)
        if not isinstance(data, dict) or not isinstance(data.get("labels"), list):
            raise VocabularyError(
                "a vocabulary must be a JSON list of names or an object with a 'labels' list",
                file=source,
                hint="see vocabulary.schema.json in labelprep/_schemas (schemas/ in the repository)",
            )
        vocab = cls(data["labels"])
        expected = data.get("sha256")
        if expected is not None and expected != vocab.sha256:
            raise VocabularyError(
                "vocabulary 'sha256' does not match its labels (was the file edited by hand?)",
                file=source,
                hint="delete the 'sha256' key to accept the labels as they are",
            )
        return vocab

    @classmethod
    def from_json(cls, text: str, *, source: str | None = None) -> Vocabulary:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VocabularyError(
                f"invalid JSON at column {exc.colno}: {exc.msg}", file=source, line=exc.lineno
            ) from None
        except (ValueError, RecursionError) as exc:  # nested too deeply, a number too long
            raise json_error(exc, text, file=source, error=VocabularyError) from None
        reject_lone_surrogates(data, text, file=source, error=VocabularyError)
        return cls.from_dict(data, source=source)

    @classmethod
    def read(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary file: JSON (``{"labels": [...]}`` or a list) or text, one label a line.

        Blank lines and lines starting with ``#`` in text files are ignored.
        """
        p = Path(path)
        if not p.exists():
            raise VocabularyError("vocabulary file not found", file=str(path))
        try:
            text = read_regular_file(p, what="the vocabulary file").decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise VocabularyError(
                f"vocabulary file is not UTF-8 (byte {exc.start})", file=str(path)
            ) from None
        if p.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
            return cls.from_json(text, source=str(path))
        labels: list[str] = []
        seen: dict[str, int] = {}
        for lineno, raw in enumerate(text.splitlines(), start=1):
            label = raw.strip()
            if not label or label.startswith("#"):
                continue
            if label in seen:
                raise VocabularyError(
                    f"label {label!r} is listed twice (also on line {seen[label]})",
                    file=str(path),
                    line=lineno,
                )
            seen[label] = lineno
            labels.append(label)
        return cls(labels)

    def line_of(self, label: str) -> int | None:
        """1-based position of ``label``: its line in a one-label-a-line vocabulary file."""
        i = self._index.get(label)
        return None if i is None else i + 1


def _fold(label: str) -> str:
    return "".join(ch for ch in label.casefold() if ch.isalnum())
