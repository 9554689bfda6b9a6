"""Atomic writes: a file is written under a temporary name beside its target, then renamed into place.

A reader sees the whole old file or the whole new one, never a part. The temporary names are
``.<name>.<random>.tmp`` in the target's folder (the same file system, so the rename is atomic); a run that
is killed leaves one behind, which the next write of the same target removes.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["PROCESS_START", "atomic_write", "remove_stale_temporaries", "write_temporary"]


def atomic_write(target: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``target``, then rename it into place."""
    target = Path(target)
    tmp = write_temporary(target, write)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    remove_stale_temporaries(target)


# When this process started (about: when labelprep was imported): temporary files older than this are not ours.
PROCESS_START = time.time()
# The names tempfile.mkstemp gives, as write_temporary asks for them.
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove the temporary files a killed run left beside ``target`` (``.<name>.<random>.tmp``); return them.

    Only files named as :func:`atomic_write` names its temporaries for this very target, and last changed
    before this process started, so a run still writing its own is never disturbed.
    """
    target = Path(target)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m is None or m["name"] != target.name:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < PROCESS_START:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_temporary(target: Path, write: Callable[[Path], object]) -> Path:
    """Write to a temporary file beside ``target`` and return its name (removed on failure)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
