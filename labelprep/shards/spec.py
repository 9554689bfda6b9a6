"""The contract between ``export`` and the loaders: feature keys, shard names, manifest keys.

Pure data and functions; no TensorFlow here.
"""

from __future__ import annotations

import re

__all__ = [
    "FORMAT_VERSION",
    "FEATURES",
    "MANIFEST_NAME",
    "shard_name",
    "parse_shard_name",
]

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

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


def shard_name(name: str, split: str, index: int, count: int) -> str:
    """TensorFlow Datasets style: ``<name>-<split>.tfrecord-00000-of-00008``."""
    if not 0 <= index < count:
        raise ValueError(f"shard index {index} out of range for {count} shards")
    return f"{name}-{split}.tfrecord-{index:05d}-of-{count:05d}"


def parse_shard_name(file_name: str) -> tuple[str, str, int, int] | None:
    """(name, split, index, count) from a shard file name, or None."""
    m = _SHARD_RE.match(file_name)
    if not m:
        return None
    return m["name"], m["split"], int(m["index"]), int(m["count"])
