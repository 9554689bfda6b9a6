"""Writing one planned shard: read each image, prepare it, wrap it in a tf.train.Example, write TFRecords.

The only module of the export path that imports TensorFlow (lazily, through
:func:`labelprep.extras.require_tensorflow`). A shard is written under a temporary name beside
its final one and renamed when complete, so a shard file that exists is whole.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelprep.atomic import atomic_write
from labelprep.errors import InputError, OutputError
from labelprep.executor import tick
from labelprep.extras import require_tensorflow
from labelprep.imageformat import open_unchecked, sniff
from labelprep.shards.images import ImageSettings, PreparedImage, prepare_image
from labelprep.shards.records import encode_example
from labelprep.storage import is_url

__all__ = ["ShardResult", "ShardTask", "example_values", "file_sha256", "is_disk_full",
           "write_shard"]  # fmt: skip

@dataclass(frozen=True)
class ShardTask:
    """Everything needed to write one shard, in a form that pickles cheaply to a worker process.

    ``examples`` holds (path, positive label indices, unknown label indices) in write order.
    """

    out_dir: str
    file: str
    root: str
    examples: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]
    image: ImageSettings
    skip_unusable: bool = False  # --skip-invalid: an image that cannot be read or prepared is left out, not fatal


@dataclass(frozen=True)
class ShardResult:
    """What one shard holds once written."""

    file: str
    examples: int
    bytes: int
    sha256: str
    passed_through: int = 0
    normalised: int = 0
    skipped: tuple[tuple[str, str, str], ...] = ()  # (path, code, reason) of the examples left out while writing


def is_disk_full(exc: BaseException) -> bool:
    """True for the errors a full disk (or an exhausted quota) raises: OSError ENOSPC/EDQUOT, or TensorFlow's."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    text = str(getattr(exc, "message", "") or exc)
    return "No space left on device" in text or "Disk quota exceeded" in text


def example_values(img: PreparedImage, path: str, positive: Sequence[int], unknown: Sequence[int]) -> dict[str, Any]:
    """The value of every feature of spec.FEATURES for one example (pure; no TensorFlow)."""
    return {
        "image/encoded": img.data,
        "image/format": img.format.encode(),
        "image/height": img.height,
        "image/width": img.width,
        "image/path": path.encode("utf-8"),
        "labels/positive": list(positive),
        "labels/unknown": list(unknown),
    }


def _serialize(tf: Any, values: dict[str, Any]) -> bytes:
    """The record of one example: the bytes ``tf.train.Example(...).SerializeToString(deterministic=True)`` gives,
    encoded directly (:func:`labelprep.shards.records.encode_example`, several times quicker). ``tf`` is not
    needed; it stays in the signature, the one place each record passes through (tests hook it)."""
    return encode_example(values)


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _read_image(root: str, path: str) -> bytes:
    full = path if os.path.isabs(path) else os.path.join(root, path)
    try:
        with open(full, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read the image: {exc.strerror or exc}", file=full,
                         hint="it changed since validation; run the export again (add --skip-invalid to leave "
                              "unusable images out)") from None  # fmt: skip


def _remote_reader(task: ShardTask, batch: int = 64) -> Callable[[str, str], bytes]:
    """Read a shard's images from a remote root in batches of ``batch`` (one fsspec call each), in write order."""
    from labelprep.storage import join, read_many

    paths = [p for p, _, _ in task.examples]
    index = {p: i for i, p in enumerate(paths)}
    got: dict[str, bytes | OSError] = {}

    def read(root: str, path: str) -> bytes:
        if path not in got:
            i = index[path]
            got.clear()
            got.update(zip(paths[i : i + batch], read_many([join(root, p) for p in paths[i : i + batch]])))
        data = got[path]
        if isinstance(data, OSError):
            raise InputError(f"cannot read the image: {data}", file=join(root, path),
                             hint="it changed since validation; run the export again (add --skip-invalid to leave "
                                  "unusable images out)")  # fmt: skip
        return data

    return read


def write_shard(task: ShardTask, progress: Callable[[int, int], None] = tick) -> ShardResult:
    """Write one shard and return what it holds; ``progress(examples, bytes)`` is called after each record.

    By default that is :func:`labelprep.executor.tick`: the running totals of the executor's run.
    """
    tf = require_tensorflow()
    target = Path(task.out_dir) / task.file
    counts = [0, 0]
    read = _remote_reader(task) if is_url(task.root) else _read_image

    skipped: list[tuple[str, str, str]] = []

    def write(tmp: Path) -> None:
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for path, pos, unk in task.examples:
                img = _prepared(task, read, path, skipped)
                if img is None:
                    continue
                counts[0 if img.passthrough else 1] += 1
                record = _serialize(tf, example_values(img, path, pos, unk))
                writer.write(record)
                progress(1, len(record) + 16)

    try:
        atomic_write(target, write)
    except (OSError, tf.errors.OpError) as exc:
        if not is_disk_full(exc):
            raise
        # what TensorFlow raises does not travel well between processes: a plain error, completed by the export
        raise OutputError(f"no space left on the disk while writing {task.file}", file=task.out_dir) from None
    return ShardResult(task.file, len(task.examples) - len(skipped), target.stat().st_size, file_sha256(target),
                       passed_through=counts[0], normalised=counts[1], skipped=tuple(skipped))  # fmt: skip


def _prepared(task: ShardTask, read: Callable[[str, str], bytes], path: str,
              skipped: list[tuple[str, str, str]]) -> PreparedImage | None:  # fmt: skip
    """The image to store for ``path``; None (recorded in ``skipped``) when it is unusable and the task skips those.

    Running out of memory on one huge image is that image's problem, not the export's: with
    ``skip_unusable`` it is left out like any unusable image, else a clear error names it.
    """
    code = "unreadable-file"
    data = b""
    try:
        data = read(task.root, path)
        code = "corrupt-image"
        return prepare_image(data, task.image, path=path)
    except InputError as exc:
        if not task.skip_unusable:
            raise
        skipped.append((path, code, exc.message))
    except MemoryError:
        size = _pixels(data)
        data = b""
        what = f"{size[0]:,} x {size[1]:,} pixels, about {size[0] * size[1] * 8 / 1e6:,.0f} MB to decode and store" \
            if size else "the image"  # fmt: skip
        if not task.skip_unusable:
            raise InputError(f"not enough memory to prepare the image ({what})", file=os.path.join(task.root, path),
                             hint="free memory or pass fewer --workers, then run again with --resume (the finished "
                                  "shards are kept); or pass --skip-invalid to leave out images that do not fit "
                                  "in memory") from None  # fmt: skip
        skipped.append((path, "image-out-of-memory", f"not enough memory to prepare the image ({what})"))
    return None


def _pixels(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header, without decoding it; None when it cannot be read."""
    try:
        w, h = open_unchecked(data, sniff(data)).size
    except Exception:
        return None
    return int(w), int(h)
