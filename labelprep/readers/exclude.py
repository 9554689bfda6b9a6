"""``--exclude``: which paths a pattern leaves out, for every form (folder walks and listed paths alike)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase

__all__ = ["EXCLUDED", "exclude_files", "excluded_by"]

EXCLUDED = "excluded by --exclude"  # the ledger reason of a row or file left out by --exclude


def excluded_by(path: str, patterns: Sequence[str]) -> str | None:
    """The first pattern that leaves ``path`` out, or None.

    A pattern without ``/`` matches any folder or file name along the path (``unlabeled``, ``todo*``,
    ``*.gif``); one with ``/`` matches the path from its start, or a folder the path lies in
    (``train/unsorted``, ``*/unlabeled/*``). ``*`` also matches ``/``; case matters.
    """
    p = re.sub(r"^(\./)+", "", str(path).replace("\\", "/"))
    parts = [x for x in p.split("/") if x]
    for pattern in patterns:
        pat = pattern.strip().strip("/")
        if not pat:
            continue
        if "/" in pat:
            if any(fnmatchcase("/".join(parts[:k]), pat) for k in range(1, len(parts) + 1)):
                return pattern
        elif any(fnmatchcase(part, pat) for part in parts):
            return pattern
    return None


def exclude_files(files: list[str], patterns: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files of a folder walk kept, and those left out with the pattern that matched (folder forms)."""
    if not patterns:
        return files, []
    kept, out = [], []
    for f in files:
        pat = excluded_by(f, patterns)
        if pat is None:
            kept.append(f)
        else:
            out.append((f, pat))
    return kept, out
