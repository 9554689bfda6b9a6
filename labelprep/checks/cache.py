"""A cache of per-image check results, so a re-run re-reads only the files that changed.

One SQLite file in the cache folder (never beside the images). A row is keyed by
the check settings and the file's absolute path, and is used only while the
file's size and modification time (ns) are unchanged. SQLite transactions make
each batch of writes atomic, and its locking lets two runs share the file; a
cache that cannot be opened is rebuilt or skipped with a warning, never fatal.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["CACHE_FILE", "ResultCache"]

CACHE_FILE = "labelprep-image-checks.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS image_checks (
    settings TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (settings, path)
) WITHOUT ROWID
"""
_BATCH = 500  # SQLite allows 999 host parameters in older builds


class ResultCache:
    """Results (opaque text) of one kind of check, keyed by path, size and mtime_ns.

    ``settings`` names the kind of check (level, limits, versions): rows of other
    settings are kept but never returned.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, settings: str) -> None:
        self._conn = conn
        self.path = path
        self.settings = settings

    @classmethod
    def open(cls, folder: Path, settings: str) -> ResultCache | None:
        """Open (or create) the cache in ``folder``; None, with a warning, when that cannot be done."""
        path = Path(folder) / CACHE_FILE
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            warnings.warn(f"image check cache disabled: cannot create {folder}: {exc}", RuntimeWarning, stacklevel=3)
            return None
        for attempt in range(2):
            try:
                conn = sqlite3.connect(path, timeout=30, isolation_level=None)
                try:
                    conn.execute(_SCHEMA)
                    conn.execute("SELECT 1 FROM image_checks LIMIT 1").fetchall()
                except BaseException:
                    conn.close()
                    raise
                return cls(conn, path, settings)
            except sqlite3.DatabaseError as exc:
                if attempt == 0 and "locked" not in str(exc) and path.is_file():
                    # Our own file, but not a usable database (a crash of an old version, a stray file): start over.
                    warnings.warn(f"image check cache {path} is unusable ({exc}); starting a new one",
                                  RuntimeWarning, stacklevel=3)  # fmt: skip
                    try:
                        path.unlink()
                    except OSError:
                        break
                    continue
                warnings.warn(f"image check cache disabled: {path}: {exc}", RuntimeWarning, stacklevel=3)
                return None
        return None

    def get_many(self, keys: Sequence[tuple[str, int, int]]) -> dict[str, str]:
        """Cached results for ``(absolute path, size, mtime_ns)`` keys that still match."""
        wanted = {p: (size, mtime) for p, size, mtime in keys}
        out: dict[str, str] = {}
        paths = list(wanted)
        try:
            for i in range(0, len(paths), _BATCH):
                batch = paths[i : i + _BATCH]
                rows = self._conn.execute(
                    f"SELECT path, size, mtime_ns, result FROM image_checks WHERE settings = ? "
                    f"AND path IN ({','.join('?' * len(batch))})",
                    [self.settings, *batch],
                )  # fmt: skip
                for p, size, mtime, result in rows:
                    if wanted.get(p) == (size, mtime):
                        out[p] = result
        except sqlite3.Error as exc:
            warnings.warn(f"image check cache {self.path} could not be read: {exc}", RuntimeWarning, stacklevel=2)
            return {}
        return out

    def put_many(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        """Store ``(absolute path, size, mtime_ns, result)`` rows in one transaction."""
        data = [(self.settings, p, size, mtime, result) for p, size, mtime, result in rows]
        if not data:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO image_checks VALUES (?, ?, ?, ?, ?)", data)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            warnings.warn(f"image check cache {self.path} could not be written: {exc}", RuntimeWarning, stacklevel=2)

    def close(self) -> None:
        self._conn.close()


def file_key(path: str) -> tuple[str, int, int] | None:
    """``(path, size, mtime_ns)`` of a file, or None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return path, st.st_size, st.st_mtime_ns
