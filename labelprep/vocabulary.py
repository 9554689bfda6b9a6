"""The ordered, frozen list of label names that every frame, shard and report agrees on."""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from labelprep.errors import InputError, VocabularyError
from labelprep.safeio import json_error, read_regular_file, reject_lone_surrogates

__all__ = ["VOCAB_FORMAT_VERSION", "Vocabulary", "numbered_classes", "parse_label_map", "vocabulary_label_map"]

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
                    f"label {label!r} at position {i + 1} is not a string",
                    hint="labels are names; map numeric ids with --label-map",
                )
            if label == "" or label != label.strip():
                raise VocabularyError(
                    f"label {label!r} at position {i + 1} is empty or has surrounding whitespace",
                    hint="strip the label names",
                )
            if label in index:
                raise VocabularyError(
                    f"label {label!r} is listed twice (positions {index[label] + 1} and {i + 1})",
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

        Blank lines and lines starting with ``#`` in text files are ignored. A label map is a vocabulary
        too: a two-column ``id,name`` CSV/TSV (any ``.csv``/``.tsv`` file, or text whose lines all start
        with a number and a comma or tab; a header line is allowed) or a JSON object ``{id: name}``. Its
        names are the labels, in class-id order when the ids are numbers (class 0 first), else in the
        file's order.
        """
        p = Path(path)
        text = _read_text(p)
        label_map = _label_map_in(p, text)
        if label_map is not None:
            return cls._from_label_map(label_map, str(path))
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

    @classmethod
    def _from_label_map(cls, label_map: Mapping[str, str], source: str) -> Vocabulary:
        names = numbered_classes(label_map)
        if names is None:  # named ids (Open Images MIDs): the file's order, less a header line
            items = list(label_map.items())
            if items and _is_header(*items[0]):
                items = items[1:]
            names = [v for _, v in items]
        try:
            return cls(dict.fromkeys(n for n in names if n))
        except VocabularyError as exc:
            exc.file = exc.file or source
            raise

def _fold(label: str) -> str:
    return "".join(ch for ch in label.casefold() if ch.isalnum())


def _read_text(p: Path) -> str:
    if not p.exists():
        raise VocabularyError("vocabulary file not found", file=str(p))
    try:
        return read_regular_file(p, what="the vocabulary file").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VocabularyError(f"vocabulary file is not UTF-8 (byte {exc.start})", file=str(p)) from None


def _label_map_in(p: Path, text: str) -> dict[str, str] | None:
    """The id -> name map a vocabulary file holds, when it is a label map; else None."""
    if p.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None  # from_json reports what and where
        if isinstance(data, dict) and "labels" not in data and data and all(isinstance(v, str) for v in data.values()):
            return parse_label_map(text, source=str(p), json_text=True)
        return None
    if p.suffix.lower() in (".csv", ".tsv") or _looks_like_label_map(text):
        return parse_label_map(text, source=str(p), json_text=False)
    return None


def vocabulary_label_map(path: str | Path) -> dict[str, str] | None:
    """The id -> name map of a vocabulary file that is a label map (``id,name`` CSV, JSON object), else None."""
    p = Path(path)
    return _label_map_in(p, _read_text(p))


# Words of a label map's header line ("LabelName,DisplayName", "id,name"), letters only, lower case.
_HEADER_WORDS = frozenset({"id", "ids", "key", "index", "classid", "labelid", "class", "label", "labelname", "mid",
                           "name", "names", "displayname", "classname", "description", "target"})  # fmt: skip


def _is_header(key: str, name: str) -> bool:
    return all(re.sub(r"[^a-z]", "", x.casefold()) in _HEADER_WORDS for x in (key, name))


# A line of a numbered label map: "25,Cytosol", "3\tcat".
_MAP_LINE = re.compile(r"^\s*-?\d+\s*[,\t]")


def _looks_like_label_map(text: str) -> bool:
    """Every content line is ``<number>,<name>`` (the first may be a header line such as ``Id,Name``)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    body = lines[1:] if lines and not _MAP_LINE.match(lines[0]) and ("," in lines[0] or "\t" in lines[0]) else lines
    return bool(body) and all(_MAP_LINE.match(ln) for ln in body)


def parse_label_map(text: str, *, source: str, json_text: bool | None = None) -> dict[str, str]:
    """An id -> name map from its text: a JSON object (or list, by index), a two-column CSV/TSV, or one name a
    line (class 0 first).

    A CSV header line, when there is one, simply maps its two column names to each other, which is
    harmless, so no guessing is needed. Raises :class:`InputError` naming the file and line.
    """
    if json_text if json_text is not None else text.lstrip().startswith(("{", "[")):
        from labelprep.safeio import loads_json

        data = loads_json(text, file=source)  # too deep, numbers too long: errors naming the line
        if isinstance(data, list):
            data = {str(i): v for i, v in enumerate(data)}
        if isinstance(data, dict) and data and _name_to_id(data):
            data = _inverted(data, source)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError("a JSON label map is an object {id: name} (or {name: id}) or a list of names", file=source)
        return {str(k).strip(): v.strip() for k, v in data.items()}
    out: dict[str, str] = {}
    dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"cannot read the label map: {exc}", file=source, line=reader.line_num,
                             hint="a two-column CSV: id, name") from None  # fmt: skip
        if row and any(c.strip() for c in row):
            rows.append((reader.line_num, row))
    if rows and all(len(r) == 1 for _, r in rows):
        # one name a line (ImageNet's synsets.txt, darknet's obj.names, classes.txt): class n is on line n + 1
        return {str(i): r[0].strip() for i, (_, r) in enumerate(rows)}
    for lineno, row in rows:
        if len(row) < 2:
            raise InputError("expected two columns: id, name (or one name a line, class 0 first)", file=source,
                             line=lineno)  # fmt: skip
        key, name = row[0].strip(), row[1].strip()
        if key in out and out[key] != name:
            raise InputError(f"id {key!r} is mapped twice ({out[key]!r} and {name!r})", file=source, line=lineno)
        out[key] = name
    if not out:
        raise InputError("label map is empty", file=source)
    return out


def _name_to_id(data: dict[str, Any]) -> bool:
    """A map written the other way round, {name: id} (ML-GCN's category.json, a Keras ``class_indices``): every
    value an integer and no key one."""
    return all(type(v) is int for v in data.values()) and not any(str(k).strip().lstrip("-").isdigit() for k in data)


def _inverted(data: dict[str, int], source: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, ident in data.items():
        if str(ident) in out:
            raise InputError(f"id {ident} is given to two names ({out[str(ident)]!r} and {name!r})", file=source,
                             hint="a label map gives each id one name")  # fmt: skip
        out[str(ident)] = name
    return out


def numbered_classes(label_map: Mapping[str, str]) -> list[str] | None:
    """The names of a numbered label map in class-id order (class 0 first), or None when ids are not numbers.

    One key that is not a number is allowed: a CSV map's header line (``Id,Name``), left out. A name
    given to several ids keeps its first (lowest) id.
    """
    keys = [k.strip() for k in label_map]
    if not (sum(not k.lstrip("-").isdigit() for k in keys) <= 1 < len(label_map)):
        return None
    numbered = sorted((int(k.strip()), v) for k, v in label_map.items() if k.strip().lstrip("-").isdigit())
    return list(dict.fromkeys(v for _, v in numbered if v))
