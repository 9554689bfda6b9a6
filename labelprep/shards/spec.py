"""The contract between ``export`` and the loaders: feature keys, shard names, manifest keys.

Pure data and functions; no TensorFlow here.
"""

from __future__ import annotations

import re

__all__ = [
    "FEATURES",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "SHARD_FILE_PATTERN",
    "STATE_NAME",
    "check_part_name",
    "features_document",
    "is_shard_file_name",
    "parse_shard_name",
    "shard_name",
]

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
# Export's record of an unfinished export (what --resume reads); removed when the export completes.
STATE_NAME = ".labelprep-export-state.json"

# Every tf.train.Example that export writes holds exactly these features.
# kind: bytes / int64; shape: "scalar" (one value) or "list" (zero or more values).
FEATURES: dict[str, tuple[str, str, str]] = {
    "image/encoded": ("bytes", "scalar", "the encoded image (JPEG or PNG), as stored in the shard"),
    "image/format": ("bytes", "scalar", "'jpeg' or 'png'"),
    "image/height": ("int64", "scalar", "height in pixels of the encoded image"),
    "image/width": ("int64", "scalar", "width in pixels of the encoded image"),
    "image/path": ("bytes", "scalar", "the source path, as in the frame (relative to the images root)"),
    "labels/positive": ("int64", "list", "indices into the vocabulary of the labels present"),
    "labels/unknown": ("int64", "list", "indices of the labels marked unknown (-1 in the frame); often empty"),
}

_SHARD_RE = re.compile(r"^(?P<name>.+)-(?P<split>[^-]+)\.tfrecord-(?P<index>\d{5})-of-(?P<count>\d{5})$")
# A shard file as a manifest may name it: a plain file name in OUT_DIR, spelt as shard_name spells it (dataset
# and split names as check_part_name allows them). No separator, no '..', nothing absolute. The manifest schema's
# shard "file" pattern is the same expression.
SHARD_FILE_PATTERN = r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*-[A-Za-z0-9_.]+\.tfrecord-[0-9]{5}-of-[0-9]{5}$"
_SHARD_FILE_RE = re.compile(SHARD_FILE_PATTERN)


def shard_name(name: str, split: str, index: int, count: int) -> str:
    """TensorFlow Datasets style: ``<name>-<split>.tfrecord-00000-of-00008``."""
    if not 0 <= index < count:
        raise ValueError(f"shard index {index} out of range for {count} shards")
    return f"{name}-{split}.tfrecord-{index:05d}-of-{count:05d}"


def is_shard_file_name(file_name: str) -> bool:
    """True when ``file_name`` is a shard name export could have written: a plain name inside OUT_DIR."""
    return isinstance(file_name, str) and _SHARD_FILE_RE.fullmatch(file_name) is not None


def parse_shard_name(file_name: str) -> tuple[str, str, int, int] | None:
    """(name, split, index, count) from a shard file name, or None."""
    m = _SHARD_RE.match(file_name)
    if not m:
        return None
    return m["name"], m["split"], int(m["index"]), int(m["count"])


_PART_RE = re.compile(r"^[A-Za-z0-9_.]+$")


def check_part_name(kind: str, value: str) -> str | None:
    """Why ``value`` cannot be a dataset name or split name in a shard file name, or None when it can.

    A split is the part between the last ``-`` and ``.tfrecord``, so it holds no ``-``;
    neither part may hold a path separator or spaces.
    """
    allowed = _PART_RE if kind == "split" else re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]*$")
    if not value:
        return f"the {kind} name is empty"
    if not allowed.match(value):
        extra = "" if kind != "split" else " (no '-')"
        return f"{kind} name {value!r} is not usable in a shard file name: use letters, digits, '_' and '.'{extra}"
    return None


def features_document() -> dict[str, object]:
    """The feature spec as JSON-ready data: what ``schemas/tfrecord-features.json`` holds."""
    return {
        "title": "labelprep TFRecord example features",
        "description": (
            "Every tf.train.Example that `labelprep export` writes holds exactly these features "
            "(generated from labelprep.shards.spec.FEATURES)."
        ),
        "format_version": FORMAT_VERSION,
        "features": {
            key: {"type": kind, "shape": shape, "description": what} for key, (kind, shape, what) in FEATURES.items()
        },
    }
