"""Writing one planned shard: read each image, prepare it, wrap it in a tf.train.Example, write TFRecords.

The only module of the export path that imports TensorFlow (lazily, in
:func:`require_tensorflow`). A shard is written under a temporary name beside
its final one and renamed when complete, so a shard file that exists is whole.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from labelprep.errors import InputError, MissingDependencyError, OutputError
from labelprep.frameio import atomic_write
from labelprep.shards.images import ImageSettings, PreparedImage, prepare_image
from labelprep.shards.spec import FEATURES
from labelprep.storage import is_url

__all__ = ["TEST_DELAY_ENV", "VERBOSE_ENV", "ShardResult", "ShardTask", "check_tensorflow_installed", "example_values",
           "file_sha256", "is_disk_full", "require_tensorflow", "tf_startup_filtered", "write_shard"]  # fmt: skip

# Test hook: seconds to sleep after each record, so a test can kill an export between shards.
TEST_DELAY_ENV = "LABELPREP_EXPORT_TEST_DELAY"
INSTALL_HINT = 'pip install "labelprep[tf]"'


# "1": let TensorFlow's C++ start-up lines through (the CLI's --verbose sets it; worker processes inherit it).
VERBOSE_ENV = "LABELPREP_TF_VERBOSE"
# TensorFlow's start-up lines: absl's notice, and glog-style lines ("I0000 00:00:1796285850.635743 6500 port.cc:153]
# oneDNN custom operations are on ...", "E0000 ... cuda_platform.cc:52] failed call to cuInit ..."). Info and
# warning lines go, and errors about the GPU stack a CPU machine does not have; any other error stays.
_TF_STARTUP = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] .*"
    r"|E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] .*(cuInit|CUDA|cuda|cuDNN|cuFFT|cuBLAS|TensorRT|GPU).*)$"
)


@contextmanager
def tf_startup_filtered() -> Iterator[None]:
    """Hold back what is written to file descriptor 2 meanwhile, then write it back less TensorFlow's start-up lines.

    TensorFlow's C++ code writes to the descriptor directly, before Python's logging could be set up, so the
    filter works there. Anything else written meanwhile (a Python warning) is written back in order.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 to redirect
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = "".join(ln for ln in text.splitlines(keepends=True) if not _TF_STARTUP.match(ln.rstrip("\r\n")))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def require_tensorflow(purpose: str = "write TFRecord shards") -> ModuleType:
    """Import TensorFlow, or raise :class:`MissingDependencyError` with the command that installs it.

    TensorFlow's start-up lines on stderr (absl's notice, oneDNN, CUDA drivers, cuInit) are left out,
    unless ``$LABELPREP_TF_VERBOSE`` is 1: the import and the device listing that calls cuInit run under
    :func:`tf_startup_filtered`.
    """
    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # less start-up chatter about CUDA and CPU features
    verbose = os.environ.get(VERBOSE_ENV, "").strip() == "1"
    with contextlib.nullcontext() if verbose else tf_startup_filtered():
        try:
            import tensorflow as tf
        except ImportError as exc:
            raise _missing(purpose, str(exc)) from None
        if not verbose:
            tf.config.list_physical_devices()  # cuInit, and its complaint on a machine without a GPU, happen here
    return tf


def check_tensorflow_installed(purpose: str = "write TFRecord shards") -> None:
    """Raise :class:`MissingDependencyError` now when TensorFlow is not installed, without importing it."""
    try:
        found = importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        found = False
    if not found:
        raise _missing(purpose, "No module named 'tensorflow'")


def _missing(purpose: str, why: str) -> MissingDependencyError:
    return MissingDependencyError(f"TensorFlow is needed to {purpose} but cannot be imported ({why})",
                                  hint=f"install it with: {INSTALL_HINT}")  # fmt: skip


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
    feature = {}
    for key, (kind, shape, _) in FEATURES.items():
        v = values[key]
        v = [v] if shape == "scalar" else v
        if kind == "bytes":
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
        else:
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=v))
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    # deterministic: map entries in key order, so equal examples give equal bytes
    return bytes(example.SerializeToString(deterministic=True))


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


def write_shard(task: ShardTask, progress: Callable[[int, int], None] | None = None) -> ShardResult:
    """Write one shard and return what it holds; ``progress(examples, bytes)`` is called after each record."""
    tf = require_tensorflow()
    delay = float(os.environ.get(TEST_DELAY_ENV) or 0)
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
                if progress is not None:
                    progress(1, len(record) + 16)
                if delay:
                    time.sleep(delay)

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
    from labelprep.checks.images import _open_unchecked, _sniff

    try:
        w, h = _open_unchecked(data, _sniff(data)).size
    except Exception:
        return None
    return int(w), int(h)
