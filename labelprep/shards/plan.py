"""Shard planning: which example goes to which shard, in which order. Pure: no I/O, no TensorFlow.

The order of examples depends only on the seed, the split and each example's
path, never on the order of the rows in the frame, so re-converting a dataset
with its rows shuffled plans the same shards. Examples are dealt out to the
shards round-robin by label combination, so every shard gets its share of
every combination (each shard mixes labels whenever there are enough examples
of a combination to go round), then each shard is ordered by the seeded key.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labelprep.errors import InputError
from labelprep.shards.spec import shard_name

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "RECORD_OVERHEAD",
    "ExportPlan",
    "PlanItem",
    "ShardPlan",
    "format_bytes",
    "format_rate",
    "format_seconds",
    "parse_size",
    "plan_export",
    "plan_split",
    "shuffle_key",
]

DEFAULT_SHARD_SIZE = 128 * 1024**2
# Bytes a record adds to its image in a shard besides path and labels: TFRecord framing (16) and the
# tf.train.Example wrapping of seven features (about 150). Only used to estimate shard counts.
RECORD_OVERHEAD = 170

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}  # fmt: skip
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: str | int, *, what: str = "shard size") -> int:
    """Bytes from ``134217728``, ``"64MiB"``, ``"1GB"``, ``"500 kB"`` (KB = 1000 bytes, KiB = 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        m = _SIZE_RE.match(str(value))
        unit = m.group(2).lower() if m else ""
        if m is None or unit not in _UNITS:
            raise InputError(f"{what} must look like 128MiB, 1GB or a number of bytes, not {value!r}",
                             hint="units: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024)")  # fmt: skip
        n = int(float(m.group(1)) * _UNITS[unit])
    if n < 1:
        raise InputError(f"{what} must be at least 1 byte, not {value!r}")
    return n


def format_bytes(n: float) -> str:
    """A size for people: ``812 bytes``, ``9.4 kB``, ``112 kB``, ``45.2 MB``, ``1.3 GB`` (powers of 1000)."""
    if n < 1000:
        return f"{n:,.0f} byte{'s' if round(n) != 1 else ''}"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        x = n / scale
        if x < 1000 or unit == "TB":
            return f"{x:,.1f} {unit}" if x < 100 else f"{x:,.0f} {unit}"
    raise AssertionError("unreachable")


def format_seconds(s: float) -> str:
    """A duration for people, never ``0.0 s``: ``under 1 ms``, ``38 ms``, ``2.4 s``, ``47 s``, ``3 min 05 s``."""
    if s < 0.001:
        return "under 1 ms"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    m, sec = divmod(round(s), 60)
    return f"{m} min {sec:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def format_rate(nbytes: float, seconds: float) -> str | None:
    """``45.2 MB/s``, or None when the time is too short (under 0.1 s) for a rate to mean anything."""
    if seconds < 0.1:
        return None
    return f"{format_bytes(nbytes / seconds)}/s"


@dataclass(frozen=True, slots=True)
class PlanItem:
    """What planning needs to know of one example: its path, estimated record size and label combination."""

    path: str
    size: int
    labels: tuple[int, ...] = ()


@dataclass(frozen=True)
class ShardPlan:
    """One shard: its file name and the examples it holds, as indices into its split's items, in write order."""

    split: str
    index: int
    count: int
    file: str
    items: tuple[int, ...]


@dataclass(frozen=True)
class ExportPlan:
    """Every shard of every split, in a fixed order (split order, then shard index)."""

    name: str
    seed: int
    shards: tuple[ShardPlan, ...]

    def for_split(self, split: str) -> list[ShardPlan]:
        return [s for s in self.shards if s.split == split]

    def fingerprint(self, items: Mapping[str, Sequence[PlanItem]], **extra: object) -> str:
        """SHA-256 of the plan with its examples and any ``extra`` settings: equal plans, equal fingerprints.

        Hashed as a stream of JSON lines (one a shard, one an example, one an element of a long ``extra``
        list), so a million examples never become one string.
        """
        h = hashlib.sha256()

        def put(obj: object) -> None:
            h.update(json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
                     .encode("utf-8") + b"\n")  # fmt: skip

        put({"name": self.name, "seed": self.seed, "shards": len(self.shards)})
        for s in self.shards:
            put(s.file)
            split = items[s.split]
            for i in s.items:
                put([split[i].path, list(split[i].labels)])
        for key in sorted(extra):
            value = extra[key]
            put(key)
            if isinstance(value, (list, tuple)) and len(value) > 64:
                put(len(value))
                for element in value:
                    put(element)
            else:
                put(value)
        return h.hexdigest()


def shuffle_key(seed: int, split: str, path: str) -> bytes:
    """The seeded sort key of one example: a hash of seed, split and path (stable across versions and machines)."""
    return hashlib.sha256(f"{seed}\0{split}\0{path}".encode()).digest()


def _shard_count(items: Sequence[PlanItem], shard_size: int | None, num_shards: int | None) -> int:
    n = len(items)
    if num_shards is not None:
        want = num_shards
    else:
        total = sum(it.size for it in items)
        want = math.ceil(total / (shard_size or DEFAULT_SHARD_SIZE))
    return max(1, min(want, n))


def plan_split(
    name: str,
    split: str,
    items: Sequence[PlanItem],
    *,
    shard_size: int | None = None,
    num_shards: int | None = None,
    seed: int = 0,
) -> list[ShardPlan]:
    """Plan the shards of one split.

    ``num_shards`` fixes the count (at most one shard per example); otherwise it
    is the estimated bytes of the split divided by ``shard_size`` (default
    128 MiB), rounded up. A split with no examples gets one empty shard, so a
    loader always finds a file.

    Example:
        >>> items = [PlanItem(f"{i}.jpg", 1000, (i % 2,)) for i in range(6)]
        >>> [len(s.items) for s in plan_split("ds", "train", items, num_shards=2)]
        [3, 3]
    """
    if num_shards is not None and num_shards < 1:
        raise InputError(f"num_shards must be at least 1, not {num_shards}")
    if shard_size is not None and shard_size < 1:
        raise InputError(f"shard_size must be at least 1 byte, not {shard_size}")
    count = _shard_count(items, shard_size, num_shards)
    keys = [shuffle_key(seed, split, it.path) for it in items]
    # Deal out by label combination (then by seeded key) so each shard gets a share of every combination.
    dealt = sorted(range(len(items)), key=lambda i: (items[i].labels, keys[i]))
    buckets: list[list[int]] = [[] for _ in range(count)]
    for pos, i in enumerate(dealt):
        buckets[pos % count].append(i)
    return [
        ShardPlan(split, k, count, shard_name(name, split, k, count), tuple(sorted(b, key=keys.__getitem__)))
        for k, b in enumerate(buckets)
    ]


def plan_export(
    name: str,
    splits: Mapping[str, Sequence[PlanItem]],
    *,
    shard_size: int | None = None,
    num_shards: int | None = None,
    seed: int = 0,
) -> ExportPlan:
    """Plan every split (see :func:`plan_split`); ``num_shards`` applies to each split."""
    shards: list[ShardPlan] = []
    for split, items in splits.items():
        shards += plan_split(name, split, items, shard_size=shard_size, num_shards=num_shards, seed=seed)
    return ExportPlan(name, seed, tuple(shards))
