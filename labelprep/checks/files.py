"""File checks: does each listed path exist inside the images root, as a readable, non-empty file?

Existence comes from listing every parent folder once and testing membership,
instead of one ``os.path.exists`` per path; the listing also catches names that
differ only by case on case-insensitive disks (macOS, Windows), where a stat
would succeed. Each file that exists still costs one ``lstat``, because its
size (``empty-file``), type and permissions (``unreadable-file``) and symlinks
(``path-escapes-root``) are not in a folder listing. Diagnoses of missing files
(a case difference, a missing extension, the same name in another folder) are
only worked out when something is missing.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from labelprep.checks.base import Issue
from labelprep.checks.missing import MissingFiles
from labelprep.storage import is_remote

__all__ = ["check_files"]

_CHUNK = 4096  # names checked by one task
_PARALLEL_ABOVE = 20_000  # fewer paths than this are checked in the calling thread
_MAX_THREADS = 4  # stat calls overlap in threads (a big win on network disks); the Python around them holds the GIL
_DIR_FD = os.stat in os.supports_dir_fd
_S_IFMT, _S_IFREG = 0o170000, 0o100000


DIAGNOSE_AT_MOST = 500  # missing files explained in detail; the others get one shared hint


def check_files(paths: Sequence[str], root: Path | str, *, stat_files: bool = True) -> dict[str, list[Issue]]:
    """Check each distinct path (POSIX, relative to ``root``, as listed in the annotations).

    Returns ``{path: [Issue, ...]}`` only for the paths with problems, in the
    order of ``paths``. Codes: ``missing-file`` (with a diagnosis in the hint
    where one exists: a name that differs only by case, a missing or different
    extension, the same file name in another folder), ``path-escapes-root``
    (``..`` leaving the root, an absolute path outside it, or a symlink whose
    target lies outside it; never followed), ``unreadable-file`` (a folder, a
    pipe or device, no read permission, an I/O error) and ``empty-file``. Only
    the first :data:`DIAGNOSE_AT_MOST` missing files get a diagnosis; the others
    share one hint that says how many are missing.

    With ``stat_files=False`` regular files found in their folder's listing are
    not stat'ed: existence, escapes and non-files (symlinks, folders, from the
    listing's entry types) are still checked, but ``empty-file`` and
    permissions are left to whoever reads the files next (``check_images``).

    A remote URL root (``s3://bucket/images``) is listed once with fsspec
    (``fs.find``): missing files, escapes and empty files are found, without a
    request per file.

    Example:
        >>> from pathlib import Path
        >>> check_files(["cat/1.jpg", "../etc/passwd"], Path("images"))  # doctest: +SKIP
        {'cat/1.jpg': [Issue(code='missing-file', ...)], '../etc/passwd': [Issue(code='path-escapes-root', ...)]}
    """
    if is_remote(root):
        return _check_remote(paths, str(root))
    root_abs = os.path.abspath(root)
    root_real = os.path.realpath(root_abs)
    unique = list(dict.fromkeys(paths))
    early: dict[str, Issue] = {}  # listed path -> an issue found from the path alone
    alias: dict[str, str] = {}  # listed path -> its normalised form, where they differ
    folders = _group_by_folder(unique)  # folder relative to the root -> file names, for the plain paths
    for p in folders.pop(_NOT_PLAIN, []):
        checked = _relative(p, root_abs, root_real)
        if isinstance(checked, Issue):
            early[p] = checked
            continue
        rel = alias[p] = checked
        folder, _, name = rel.rpartition("/")
        folders.setdefault(folder, []).append(name)
    if alias:  # two spellings of one path are checked once
        folders = {f: list(dict.fromkeys(names)) for f, names in folders.items()}

    ctx = _Context(root_abs, root_real, stat_files=stat_files)
    tasks = [(f, names[i : i + _CHUNK]) for f, names in folders.items() for i in range(0, len(names), _CHUNK)]
    n_threads = min(_MAX_THREADS, os.cpu_count() or 1, len(tasks))
    # threads pay off for the per-file stat calls; listing folders alone is quicker in one thread
    if stat_files and len(unique) >= _PARALLEL_ABOVE and n_threads > 1:
        with ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="labelprep-files") as pool:
            listings = dict(zip(folders, pool.map(ctx.list_folder, folders)))
            done = list(pool.map(lambda t: ctx.check_names(t[0], listings[t[0]], t[1]), tasks))
    else:
        listings = {f: ctx.list_folder(f) for f in folders}
        done = [ctx.check_names(f, listings[f], names) for f, names in tasks]

    found: dict[str, list[Issue]] = {}
    missing: list[tuple[str, str]] = []
    for result in done:
        for rel, issue in result.issues:
            found.setdefault(rel, []).append(issue)
        missing.extend(result.missing)
    if missing:
        # Diagnosing (case, extension, found elsewhere) costs about 60 us a file: the first DIAGNOSE_AT_MOST
        # get it, which shows what went wrong when thousands are missing for one reason.
        head = missing[:DIAGNOSE_AT_MOST]
        listed = {f: lst.names for f, lst in listings.items() if lst.names is not None}
        for (rel, _), issue in zip(head, MissingFiles(root_abs, listed, folders).diagnose(head)):
            found.setdefault(rel, []).append(issue)
        if len(missing) > len(head):
            rest = Issue("missing-file", "file does not exist",
                         f"{len(missing):,} files are missing: the first {len(head):,} have a diagnosis in their "
                         "hints (case, extension, another folder); check --images-root and the paths")  # fmt: skip
            for rel, _ in missing[len(head):]:
                found.setdefault(rel, []).append(rest)
    if not (early or alias):
        return {p: found[p] for p in _in_order(unique, found)} if found else {}
    out: dict[str, list[Issue]] = {}
    for p in unique:
        if p in early:
            out[p] = [early[p]]
        elif (rel := alias.get(p, p)) in found:
            out[p] = list(found[rel])
    return out


# A plain relative path needs no normalising (posixpath.normpath is slow on 10**5 paths): not starting with
# '/', '.' or a space, not ending with '/' or a space, and without '/.', '//' or NUL.
_NOT_PLAIN_RE = r"^[/. ]|[/ ]$|/\.|//|\x00|^$"
_NOT_PLAIN = "\0not plain"  # the key of the paths that need normalising (no folder is called that)


def _group_by_folder(unique: list[str]) -> dict[str, list[str]]:
    """Plain paths grouped as folder -> file names (in listed order); the others under ``_NOT_PLAIN``.

    Vectorised with Arrow: a Python loop over 200,000 paths costs about 0.13 s, this about a third.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(unique) < 2048:  # not worth the conversions
        out: dict[str, list[str]] = {}
        for p in unique:
            if re.search(_NOT_PLAIN_RE, p):
                out.setdefault(_NOT_PLAIN, []).append(p)
            else:
                folder, _, name = p.rpartition("/")
                out.setdefault(folder, []).append(name)
        return out
    arr = pa.array(unique, pa.string())
    odd = np.asarray(pc.match_substring_regex(arr, _NOT_PLAIN_RE).to_numpy(zero_copy_only=False), dtype=bool)
    out = {}
    if odd.any():
        out[_NOT_PLAIN] = [unique[i] for i in np.flatnonzero(odd).tolist()]
        arr = arr.filter(pa.array(~odd))
    parts = pc.split_pattern(arr, "/", max_splits=1, reverse=True)
    n_parts = np.asarray(pc.list_value_length(parts).to_numpy(zero_copy_only=False))
    flat = pc.list_flatten(parts)
    ends = np.cumsum(n_parts)
    names = flat.take(pa.array(ends - 1))
    folder = pc.if_else(pa.array(n_parts == 2), flat.take(pa.array(np.maximum(ends - 2, 0))), "")
    enc = pc.dictionary_encode(folder)
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(enc.dictionary) + 1))
    sorted_names = names.take(pa.array(order)).to_pylist()
    for j, f in enumerate(enc.dictionary.to_pylist()):
        out[f] = sorted_names[int(bounds[j]) : int(bounds[j + 1])]
    return out


def _in_order(unique: list[str], found: dict[str, list[Issue]]) -> list[str]:
    """The paths of ``found`` in the order of ``unique`` (without a Python loop over all of ``unique``)."""
    if len(found) * 8 > len(unique):
        return [p for p in unique if p in found]
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    hit = pc.is_in(pa.array(unique, pa.string()), value_set=pa.array(list(found), pa.string()))
    return [unique[i] for i in np.flatnonzero(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)).tolist()]


def _check_remote(paths: Sequence[str], root: str) -> dict[str, list[Issue]]:
    """check_files for a root on remote storage: one listing of the whole tree, no request per file."""
    from labelprep.storage import list_files

    files = list_files(root)
    folded: dict[str, str] | None = None
    by_name: dict[str, list[str]] | None = None
    out: dict[str, list[Issue]] = {}
    for p in dict.fromkeys(paths):
        rel = posixpath.normpath(p) if p.strip() else ""
        if not rel:
            out[p] = [Issue("missing-file", "the path is empty", "every row needs an image path")]
        elif p.startswith("/") or rel == ".." or rel.startswith("../"):
            out[p] = [Issue("path-escapes-root", "the path leaves the images root (absolute or '..'); it was not opened",
                            "list paths relative to the images root")]  # fmt: skip
        elif rel not in files:
            if folded is None or by_name is None:
                folded = {k.casefold(): k for k in files}
                by_name = {}
                for k in sorted(files):
                    by_name.setdefault(k.rpartition("/")[2], []).append(k)
            if rel.casefold() in folded:
                hint = (f"found as '{folded[rel.casefold()]}': the names differ only by case; fix the path in the "
                        "annotations or rename the file")  # fmt: skip
            elif hits := by_name.get(rel.rpartition("/")[2]):
                hint = f"found at '{hits[0]}': list the path relative to the images root"
            else:
                hint = "check --images-root and the path in the annotations; re-upload the image if it was lost"
            out[p] = [Issue("missing-file", "file does not exist", hint)]
        elif files[rel].get("type", "file") != "file":
            out[p] = [Issue("unreadable-file", "a folder, not an image file", "fix the path in the annotations")]
        elif files[rel].get("size") == 0:
            out[p] = [Issue("empty-file", "the file is empty (0 bytes)",
                            "re-upload it; an interrupted upload often leaves an empty object")]  # fmt: skip
    return out


# -- paths ---------------------------------------------------------------------


def _relative(p: str, root_abs: str, root_real: str) -> str | Issue:
    """The path relative to the root, normalised, or an issue (empty, NUL, escapes the root)."""
    if not p.strip():
        return Issue("missing-file", "the path is empty", "every row needs an image path")
    if "\0" in p:
        return Issue("missing-file", "the path contains a NUL character, which no file name can hold",
                     "fix the path in the annotations")  # fmt: skip
    if p.startswith("/"):
        full = posixpath.normpath(p)
        for base in (root_abs, root_real):
            if _is_under(full, base):
                rel = posixpath.relpath(full, base)
                break
        else:
            return Issue("path-escapes-root", "absolute path outside the images root; it was not opened",
                         "list paths relative to the images root, or point --images-root at a folder that holds them")  # fmt: skip
    else:
        rel = posixpath.normpath(p)
        if rel == ".." or rel.startswith("../"):
            return Issue("path-escapes-root", "the path climbs out of the images root through '..'; it was not opened",
                         "list paths relative to the images root, or point --images-root higher up")  # fmt: skip
    if rel == ".":
        return Issue("unreadable-file", "the path names the images root folder itself, not a file",
                     "list image files relative to the images root")  # fmt: skip
    return rel


def _is_under(path: str, root_real: str) -> bool:
    return path == root_real or path.startswith(root_real.rstrip("/") + "/")


# -- folder listing and per-file checks ------------------------------------------


@dataclass
class _Listing:
    """One folder of the root, listed once, or why it could not be listed."""

    names: set[str] | None
    error: OSError | None = None
    special: set[str] = field(default_factory=set)  # entries that are not regular files (symlinks, folders ...)
    escapes_to: str | None = None  # the folder resolves outside the root (a symlinked folder)


@dataclass
class _Result:
    issues: list[tuple[str, Issue]] = field(default_factory=list)  # (relative path, issue)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (relative path, detail)


class _Context:
    def __init__(self, root_abs: str, root_real: str, *, stat_files: bool = True) -> None:
        self.stat_files = stat_files
        self.root_abs = root_abs
        self.root_real = root_real
        self.euid = os.geteuid() if hasattr(os, "geteuid") else None
        self.groups = set(os.getgroups()) | {os.getegid()} if hasattr(os, "getgroups") else set()

    def folder_path(self, folder: str) -> str:
        return os.path.join(self.root_abs, folder) if folder else self.root_abs

    def list_folder(self, folder: str) -> _Listing:
        path = self.folder_path(folder)
        if folder:
            real = os.path.realpath(path)
            if not _is_under(real, self.root_real):
                return _Listing(None, escapes_to=real)
        try:
            if self.stat_files:
                return _Listing(set(os.listdir(path)))
            with os.scandir(path) as it:
                entries = list(it)
            # the entry type comes with the listing (no stat on Linux)
            special = {e.name for e in entries if not e.is_file(follow_symlinks=False)}
            return _Listing({e.name for e in entries}, special=special)
        except OSError as exc:
            return _Listing(None, error=exc)

    def check_names(self, folder: str, listing: _Listing, names: list[str]) -> _Result:
        res = _Result()
        prefix = folder + "/" if folder else ""
        folder_path = self.folder_path(folder)
        if listing.escapes_to is not None:
            issue = Issue("path-escapes-root",
                          f"folder '{folder}' is a symlink to '{listing.escapes_to}', outside the images root; "
                          "the file was not opened",
                          "copy the images into the root, or point --images-root at the folder that holds them")  # fmt: skip
            res.issues.extend((prefix + n, issue) for n in names)
            return res
        listed = listing.names
        if listed is None:
            err = listing.error
            if isinstance(err, (FileNotFoundError, NotADirectoryError)):
                res.missing.extend((prefix + n, "") for n in names)
            elif isinstance(err, PermissionError):
                # A folder we may not list can still let us open the files whose names we know.
                for n in names:
                    self.check_one(res, folder_path, prefix, n, listed=False)
            else:
                issue = Issue("unreadable-file", f"folder '{folder}' cannot be listed: {_strerror(err)}",
                              "check the disk or network mount, then run again")  # fmt: skip
                res.issues.extend((prefix + n, issue) for n in names)
            return res
        if not self.stat_files:
            # set operations in C: what is missing, and which listed entries are not regular files
            gone = set(names).difference(listed)
            if gone:
                res.missing.extend((prefix + n, "") for n in names if n in gone)
            for n in listing.special.intersection(names):
                self.check_one(res, folder_path, prefix, n, listed=True)
            return res
        present = [n for n in names if n in listed]
        if len(present) < len(names):
            res.missing.extend((prefix + n, "") for n in names if n not in listed)
        if not present:
            return res
        sts = self._lstat_all(folder_path, present)
        all_read = self.euid is None or self.euid == 0
        for n, st in zip(present, sts):
            # The common case: a regular, non-empty file that we may read. Anything else takes the slow path.
            if (st is not None and st.st_size and (st.st_mode & _S_IFMT) == _S_IFREG
                    and (all_read or st.st_mode & 0o444 == 0o444)):  # fmt: skip
                continue
            self.check_one(res, folder_path, prefix, n, listed=True)
        return res

    @staticmethod
    def _lstat_all(folder_path: str, names: list[str]) -> list[os.stat_result | None]:
        fd: int | None = None
        if _DIR_FD:
            try:
                fd = os.open(folder_path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                fd = None
        try:
            lstat = os.stat
            try:
                if fd is not None:
                    return [lstat(n, dir_fd=fd, follow_symlinks=False) for n in names]
                return [lstat(os.path.join(folder_path, n), follow_symlinks=False) for n in names]
            except OSError:
                pass  # a file vanished or cannot be stat'ed: redo this chunk one by one
            out: list[os.stat_result | None] = []
            for n in names:
                try:
                    out.append(lstat(os.path.join(folder_path, n), follow_symlinks=False))
                except OSError:
                    out.append(None)
            return out
        finally:
            if fd is not None:
                os.close(fd)

    def check_one(self, res: _Result, folder_path: str, prefix: str, name: str, *, listed: bool) -> None:
        """The slow path: symlinks, errors, empty files, permissions, folders and devices."""
        rel = prefix + name
        full = os.path.join(folder_path, name)
        try:
            if os.path.islink(full):
                target = os.path.realpath(full)
                if not _is_under(target, self.root_real):
                    res.issues.append((rel, Issue(
                        "path-escapes-root", f"a symlink to '{target}', outside the images root; it was not followed",
                        "copy the file into the images root, or point --images-root at a folder that holds it")))  # fmt: skip
                    return
            st = os.stat(full)
        except FileNotFoundError:
            res.missing.append((rel, "symlink" if listed and os.path.islink(full) else ""))
            return
        except OSError as exc:
            res.issues.append((rel, Issue("unreadable-file", f"cannot be read: {_strerror(exc)}",
                                          "check the permissions, the disk or the network mount")))  # fmt: skip
            return
        mode = st.st_mode
        if not stat.S_ISREG(mode):
            what = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            res.issues.append((rel, Issue("unreadable-file", f"{what}, not an image file",
                                          "fix the path in the annotations or remove the entry")))  # fmt: skip
            return
        if not self._readable(st) and not os.access(full, os.R_OK):
            res.issues.append((rel, Issue("unreadable-file",
                                          f"no permission to read it (mode {stat.filemode(mode)}, owner uid {st.st_uid})",
                                          "chmod a+r the file, or run as a user who may read it")))  # fmt: skip
            return
        if st.st_size == 0:
            res.issues.append((rel, Issue("empty-file", "the file is empty (0 bytes)",
                                          "re-download or re-export it; an interrupted download often leaves an "
                                          "empty file")))  # fmt: skip

    def _readable(self, st: os.stat_result) -> bool:
        """Read permission from the mode bits (no system call); False only means 'ask os.access'."""
        if self.euid is None or self.euid == 0:
            return True
        if st.st_uid == self.euid:
            return bool(st.st_mode & stat.S_IRUSR)
        if st.st_gid in self.groups:
            return bool(st.st_mode & stat.S_IRGRP)
        return bool(st.st_mode & stat.S_IROTH)


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _strerror(exc: OSError | None) -> str:
    if exc is None:
        return "unknown error"
    return exc.strerror or str(exc)
