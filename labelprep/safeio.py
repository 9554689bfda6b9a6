"""Opening what the user names, safely: regular files only, and names shown even when they are not UTF-8.

A FIFO (or a device) named as a source or found as a tag file would block a read forever, so it is refused
from its ``stat`` before anything opens it. File names that are not valid UTF-8 reach Python as strings
with lone surrogates, which no UTF-8 output can hold: :func:`display_name` shows their bytes escaped.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import sys
from typing import Any

from labelprep.errors import InputError, LabelprepError

__all__ = ["display_name", "file_kind", "is_utf8_name", "json_error", "loads_json", "read_regular_file",
           "reject_lone_surrogates", "require_regular_file"]

# Python's csv module refuses fields over 128 KiB (csv.Error) where pyarrow reads any: labelprep's uses of it
# (sniffing headers, finding ragged rows, counting lines, label maps) must read what pyarrow read. Only raised.
if csv.field_size_limit() < min(sys.maxsize, 2**31 - 1):
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def is_utf8_name(name: str) -> bool:
    """False for a name read from a disk whose bytes are not UTF-8 (it holds lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_name(name: str | os.PathLike[str]) -> str:
    """``name`` as printable text: bytes that are not UTF-8 appear as ``\\xff`` escapes."""
    text = os.fspath(name)
    if is_utf8_name(text):
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def file_kind(mode: int) -> str:
    """What a ``stat`` mode is, in words: 'a named pipe (FIFO)', 'a folder' ..."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def require_regular_file(path: str | os.PathLike[str], *, what: str = "the file", hint: str | None = None) -> None:
    """Raise :class:`InputError` unless ``path`` (followed through symlinks) is a regular file; never opens it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError("no such file or folder", file=display_name(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", file=display_name(path)) from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{what} is {file_kind(mode)}, not a regular file; it was not opened",
                         file=display_name(path),
                         hint=hint or "pass a regular file (a pipe or device would be read forever)")  # fmt: skip


def read_regular_file(path: str | os.PathLike[str], *, what: str = "the file", hint: str | None = None) -> bytes:
    """The bytes of a regular file, or a clear :class:`InputError` (missing, not a regular file, unreadable)."""
    require_regular_file(path, what=what, hint=hint)
    try:
        # O_NONBLOCK and a second look: a pipe put in its place after the stat still cannot block the read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb", closefd=True) as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise InputError(f"{what} is {file_kind(mode)}, not a regular file; it was not read",
                                 file=display_name(path))  # fmt: skip
            return fh.read()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", file=display_name(path)) from None


_LONG_NUMBER = re.compile(r"-?\d{4300,}")


def json_error(exc: Exception, text: str, *, file: str | None, line: int | None = None, hint: str | None = None,
               error: type[LabelprepError] = InputError) -> LabelprepError:
    """A clear error for what ``json.loads(text)`` raised: malformed, nested too deeply, a number too long.

    ``line`` is the file line ``text`` starts on (a JSON Lines record's), when it is not the first.
    """
    offset = (line or 1) - 1
    if isinstance(exc, json.JSONDecodeError):
        return error(f"malformed JSON at column {exc.colno}: {exc.msg}", file=file, line=exc.lineno + offset,
                     hint=hint)  # fmt: skip
    if isinstance(exc, RecursionError):
        return error(f"JSON nested too deeply to read (more than the {sys.getrecursionlimit():,} levels Python "
                     "allows)", file=file, line=line,
                     hint="no annotation file nests lists or objects this deep; check how the file was made")  # fmt: skip
    m = _LONG_NUMBER.search(text)
    if m is not None:
        return error(f"a JSON number has {len(m.group().lstrip('-')):,} digits, more than the 4,300 Python reads "
                     f"(starting {m.group()[:12]}...)", file=file, line=text.count("\n", 0, m.start()) + 1 + offset,
                     hint="write ids as strings (\"123...\"); no label or count needs that many digits")  # fmt: skip
    return error(f"cannot read the JSON: {exc}", file=file, line=line, hint=hint)


def loads_json(text: str, *, file: str | None, line: int | None = None, hint: str | None = None,
               error: type[LabelprepError] = InputError) -> Any:
    """``json.loads(text)``, raising ``error`` (see :func:`json_error`) for anything it cannot read.

    JSON may spell a lone surrogate (``"\\ud800"``), which is no character: no frame, vocabulary or report
    could hold it, so it is an error naming its line.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise json_error(exc, text, file=file, line=line, hint=hint, error=error) from None
    reject_lone_surrogates(data, text, file=file, line=line, error=error)
    return data


def reject_lone_surrogates(data: Any, text: str, *, file: str | None, line: int | None = None,
                           error: type[LabelprepError] = InputError) -> None:
    """Raise ``error`` when parsed JSON ``data`` holds a string with a lone surrogate (``"\\ud800"``)."""
    m = _LONE_SURROGATE.search(text)
    if m is not None and _holds_surrogate(data):  # the text test is cheap; the walk only confirms it
        raise error(f"a JSON string holds {m.group()}, half of a surrogate pair, which is no character", file=file,
                    line=text.count("\n", 0, m.start()) + (line or 1),
                    hint="write the character itself, or both halves of its pair")  # fmt: skip


_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<![0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _holds_surrogate(node: Any) -> bool:
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if not is_utf8_name(x):
                return True
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return False
