"""The manifest of an export (``OUT_DIR/manifest.json``): what loaders read to find and weigh the shards.

Plain data, no TensorFlow. ``schemas/manifest.schema.json`` describes the file.

Example:
    >>> m = Manifest.read("shards/")  # doctest: +SKIP
    >>> m.vocabulary, m.shard_paths("train")[:1], m.splits["train"].pos_weight  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelprep.errors import InputError
from labelprep.report import Report
from labelprep.safeio import loads_json
from labelprep.shards.spec import FORMAT_VERSION, MANIFEST_NAME, STATE_NAME, features_document, is_shard_file_name
from labelprep.vocabulary import Vocabulary

__all__ = ["Manifest", "ShardInfo", "SkippedRow", "SplitInfo", "features_json"]


def features_json() -> dict[str, dict[str, str]]:
    """spec.FEATURES as the manifest stores it: ``{key: {"type", "shape", "description"}}``."""
    return dict(features_document()["features"])  # type: ignore[call-overload]


def _check_shard_files(data: dict[str, Any], source: str | None) -> None:
    """Every shard ``file`` must be a plain shard name inside OUT_DIR, checked before anything opens it.

    A manifest naming ``../../etc/passwd`` (or an absolute path, or a name with a separator) would make
    verify and the loaders read a file outside the export folder.
    """
    splits = data.get("splits")
    if not isinstance(splits, dict):
        return  # from_dict names what is missing
    for split, info in splits.items():
        for k, shard in enumerate(info.get("shards", []) if isinstance(info, dict) else []):
            file = shard.get("file") if isinstance(shard, dict) else None
            if not is_shard_file_name(file):  # type: ignore[arg-type]
                raise InputError(f"split {split!r} shard {k} names {file!r}, which is not a shard file name inside "
                                 "the export folder; nothing was opened", file=source,
                                 hint="a shard file is a plain name like <name>-<split>.tfrecord-00000-of-00001 (no "
                                      "folders, '..' or absolute paths); export again to rewrite the manifest")  # fmt: skip


@dataclass(frozen=True)
class ShardInfo:
    """One shard file: its name (relative to the export folder), record count, size and SHA-256."""

    file: str
    examples: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "examples": self.examples, "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class SkippedRow:
    """A row ``--skip-invalid`` left out, with the first error that made it unusable."""

    path: str
    split: str
    code: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "split": self.split, "code": self.code, "reason": self.reason}


@dataclass
class SplitInfo:
    """One split: example count, label statistics and its shards in order.

    ``pos_weight[label]`` is negatives / positives (None when the label has no
    positive), ready for ``tf.nn.weighted_cross_entropy_with_logits``; cells
    marked unknown count as neither.
    """

    name: str
    examples: int
    positives: dict[str, int]
    pos_weight: dict[str, float | None]
    unknown: dict[str, int]
    shards: list[ShardInfo]

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "positives": dict(self.positives),
            "pos_weight": dict(self.pos_weight),
            "unknown": dict(self.unknown),
            "shards": [s.to_dict() for s in self.shards],
        }


@dataclass
class Manifest:
    """What an export wrote: vocabulary, splits and their shards, image settings, source and skipped rows.

    ``out_dir`` is the folder the manifest was read from or written to (not
    stored in the file); ``report`` is the validation report of the export that
    produced it and ``notes`` what it did (both empty when read from a file);
    ``unchanged`` is True when ``export(resume=True)`` found the export already
    complete and wrote nothing.
    """

    name: str
    vocabulary: Vocabulary
    splits: dict[str, SplitInfo]
    image: dict[str, Any]
    source: dict[str, Any]
    sharding: dict[str, Any] = field(default_factory=dict)
    skipped: list[SkippedRow] = field(default_factory=list)
    features: dict[str, dict[str, str]] = field(default_factory=features_json)
    format_version: int = FORMAT_VERSION
    labelprep_version: str = ""
    out_dir: Path | None = field(default=None, compare=False)
    report: Report | None = field(default=None, compare=False, repr=False)
    notes: list[str] = field(default_factory=list, compare=False, repr=False)
    unchanged: bool = field(default=False, compare=False, repr=False)  # resume found it complete: nothing written

    # -- reading -------------------------------------------------------------------------------
    @classmethod
    def read(cls, out_dir: str | os.PathLike[str]) -> Manifest:
        """Read ``out_dir/manifest.json``."""
        return cls.from_file(Path(out_dir) / MANIFEST_NAME)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Manifest:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            if (p.parent / STATE_NAME).exists():  # export writes the manifest last
                raise InputError("an unfinished export: no manifest.json yet", file=str(p.parent),
                                 hint="run the same labelprep export command again with --resume") from None  # fmt: skip
            raise InputError("no manifest here", file=str(p),
                             hint="point at the folder labelprep export wrote (it holds manifest.json)") from None  # fmt: skip
        data = loads_json(text, file=str(p), hint="export again to rewrite it")
        return cls.from_dict(data, out_dir=p.parent, source=str(p))

    @classmethod
    def from_dict(cls, data: Any, *, out_dir: Path | None = None, source: str | None = None) -> Manifest:
        if not isinstance(data, dict):
            raise InputError("a manifest is a JSON object", file=source)
        version = data.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise InputError(f"manifest format_version {version!r} is not one this labelprep reads "
                             f"(up to {FORMAT_VERSION})", file=source,
                             hint="upgrade labelprep, or export again with this version")  # fmt: skip
        _check_shard_files(data, source)
        try:
            splits = {
                name: SplitInfo(name, int(s["examples"]), dict(s["positives"]), dict(s["pos_weight"]),
                                dict(s["unknown"]), [ShardInfo(str(x["file"]), int(x["examples"]), int(x["bytes"]),
                                                               str(x["sha256"])) for x in s["shards"]])
                for name, s in data["splits"].items()
            }  # fmt: skip
            return cls(
                name=str(data["name"]),
                vocabulary=Vocabulary.from_dict(data["vocabulary"], source=source),
                splits=splits,
                image=dict(data["image"]),
                source=dict(data["source"]),
                sharding=dict(data.get("sharding", {})),
                skipped=[SkippedRow(**x) for x in data.get("skipped", [])],
                features=dict(data["features"]),
                format_version=version,
                labelprep_version=str(data.get("labelprep_version", "")),
                out_dir=out_dir,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"manifest lacks or mangles {exc}", file=source,
                             hint="see schemas/manifest.schema.json; export again to rewrite it") from None  # fmt: skip

    # -- writing -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data, keys in a fixed order (no timestamps: equal exports, equal bytes)."""
        return {
            "format_version": self.format_version,
            "name": self.name,
            "labelprep_version": self.labelprep_version,
            "vocabulary": {"labels": list(self.vocabulary), "sha256": self.vocabulary.sha256},
            "splits": {name: s.to_dict() for name, s in self.splits.items()},
            "image": dict(self.image),
            "sharding": dict(self.sharding),
            "source": dict(self.source),
            "skipped": [s.to_dict() for s in self.skipped],
            "features": dict(self.features),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    # -- for loaders ---------------------------------------------------------------------------
    def split(self, name: str) -> SplitInfo:
        """The split called ``name``; an unknown name is an :class:`InputError` with a suggestion."""
        try:
            return self.splits[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self.splits), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"splits: {', '.join(self.splits) or 'none'}"
            raise InputError(f"no split {name!r} in this export", file=self._where(), hint=hint) from None

    def shard_paths(self, split: str) -> list[Path]:
        """The shard files of ``split``, in order, as paths under the export folder."""
        base = self.out_dir if self.out_dir is not None else Path(".")
        return [base / s.file for s in self.split(split).shards]

    def has_unknown(self, split: str) -> bool:
        """True when some example of ``split`` marks a label unknown (loaders then need a mask)."""
        return any(n > 0 for n in self.split(split).unknown.values())

    @property
    def num_examples(self) -> int:
        return sum(s.examples for s in self.splits.values())

    def _where(self) -> str | None:
        return str(self.out_dir / MANIFEST_NAME) if self.out_dir is not None else None

