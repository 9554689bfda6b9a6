"""Why a listed file is missing: a case difference, a missing or other extension, a broken symlink, the same
name in another folder, or a path with a folder too many or too few. Worked out only when something is missing.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Iterator

from labelprep.checks.base import Issue

__all__ = ["MissingFiles"]

# Extensions tried when a listed name lacks one or has another.
_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
_EXT_RE = re.compile(r"(?<=[^\n])\.[^.\n]*$", re.MULTILINE)
_FEW = 256  # a listed folder with at most this many unlisted names is searched for subfolders by lstat


class _Folder:
    """A folder's names with their case-folded forms, computed in a few C-level calls."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.name_set = set(names)
        self._joined = "\n".join(names).casefold()
        self.folded = self._joined.split("\n") if names else []
        self.folded_set = set(self.folded)

    def find(self, folded: str) -> list[str]:
        """The names whose case-folded form is ``folded``."""
        if folded not in self.folded_set:
            return []
        return sorted(n for n, f in zip(self.names, self.folded) if f == folded)

    def stems(self) -> list[str]:
        return _EXT_RE.sub("", self._joined).split("\n") if self.names else []


class MissingFiles:
    """Explain missing files, all at once; the work is done only when something is missing."""

    def __init__(self, root_abs: str, listed: dict[str, set[str]], checked: dict[str, list[str]]) -> None:
        """``listed``: the names of the folders already listed; ``checked``: the listed names checked per folder."""
        self.root_abs = root_abs
        self._listed = dict(listed)
        self._checked = checked
        self._folders: dict[str, _Folder | None] = {}

    def diagnose(self, missing: list[tuple[str, str]]) -> list[Issue]:
        out: list[Issue | None] = []
        pending: list[int] = []
        for i, (rel, detail) in enumerate(missing):
            issue = self._near(rel, detail)
            out.append(issue)
            if issue is None:
                pending.append(i)
        if pending:
            found = self._elsewhere([missing[i][0].rpartition("/")[2] for i in pending])
            for i, hits in zip(pending, found):
                out[i] = self._far(missing[i][0], hits)
        return [x if x is not None else Issue("missing-file", "file does not exist") for x in out]

    def _names(self, folder: str) -> set[str] | None:
        if folder not in self._listed:
            try:
                self._listed[folder] = set(os.listdir(os.path.join(self.root_abs, folder) if folder else self.root_abs))
            except OSError:
                return None
        return self._listed[folder]

    def _folder(self, folder: str) -> _Folder | None:
        if folder not in self._folders:
            names = self._names(folder)
            self._folders[folder] = _Folder(list(names)) if names is not None else None
        return self._folders[folder]

    def _near(self, rel: str, detail: str) -> Issue | None:
        """A diagnosis from the listed folder alone: a broken symlink, a case difference, an extension."""
        if detail == "symlink":
            try:
                target = os.readlink(os.path.join(self.root_abs, rel))
            except OSError:
                target = "?"
            return Issue("missing-file", f"a symlink to '{target}', which does not exist",
                         "restore the symlink's target or fix the link")  # fmt: skip
        found = self._case_variant(rel)
        if found is not None:
            return Issue("missing-file", "file does not exist with exactly this name",
                         f"found as '{found}': the names differ only by case, which matters on Linux; "
                         "fix the path in the annotations or rename the file")  # fmt: skip
        folder, _, name = rel.rpartition("/")
        f = self._folder(folder)
        if f is None:
            return None
        prefix = folder + "/" if folder else ""
        stem = _stem(name)
        for ext in _EXTS:
            for alt in f.find((stem + ext).casefold()):
                if alt == name:
                    continue
                if stem == name:
                    return Issue("missing-file", "file does not exist: the listed name has no extension",
                                 f"found '{prefix}{alt}': add the extension (for example --path-template "
                                 f"'{{}}{posixpath.splitext(alt)[1]}')")  # fmt: skip
                return Issue("missing-file", "file does not exist with this extension",
                             f"found '{prefix}{alt}' with another extension: fix the path in the annotations")  # fmt: skip
        return None

    def _far(self, rel: str, hits: list[str]) -> Issue:
        """A diagnosis from the whole tree: the same file name in another folder."""
        folder = rel.rpartition("/")[0]
        if hits:
            parts = rel.split("/")

            def shared_tail(hit: str) -> int:  # trailing path components in common with the listed path
                n = 0
                for a, b in zip(reversed(parts), reversed(hit.split("/"))):
                    if a != b:
                        break
                    n += 1
                return n

            best = max(hits, key=shared_tail)  # another patient's view1_frontal.jpg is not the one
            more = f" and {len(hits) - 1:,} other place(s)" if len(hits) > 1 else ""
            if rel.endswith("/" + best):  # the listed paths carry a folder too many: the root's own name
                extra = rel[: -len(best) - 1]
                up = os.path.normpath(os.path.join(self.root_abs, *[".."] * (extra.count("/") + 1)))
                if os.path.isfile(os.path.join(up, rel)):
                    return Issue("missing-file", "file does not exist at the listed path",
                                 f"found at '{best}': the paths start with '{extra}/', which the images root "
                                 f"already is; pass --images-root {up}")  # fmt: skip
            if "/" in rel and best.endswith("/" + rel):  # the images sit further down (bare names: --find-images)
                deeper = os.path.join(self.root_abs, best[: -len(rel) - 1])
                return Issue("missing-file", "file does not exist at the listed path",
                             f"found at '{best}': the paths are relative to '{deeper}'; pass --images-root "
                             f"{deeper}")  # fmt: skip
            return Issue("missing-file", "file does not exist at the listed path",
                         f"found at '{best}'{more}: list the path relative to the images root, "
                         "or use --find-images for bare file names")  # fmt: skip
        if folder and self._names(folder) is None:
            return Issue("missing-file", f"file does not exist: there is no folder '{folder}' under the images root",
                         f"the images root is {self.root_abs}; check --images-root and the paths in the "
                         "annotations")  # fmt: skip
        return Issue("missing-file", "file does not exist",
                     f"the images root is {self.root_abs}; check --images-root and the path in the annotations; "
                     "re-download the image if it was lost")  # fmt: skip

    def _case_variant(self, rel: str) -> str | None:
        found: list[str] = []
        for part in rel.split("/"):
            f = self._folder("/".join(found))
            if f is None:
                return None
            if part in f.name_set:
                found.append(part)
                continue
            candidates = f.find(part.casefold())
            if not candidates:
                return None
            found.append(part if part in candidates else candidates[0])
        variant = "/".join(found)
        if variant == rel or not os.path.isfile(os.path.join(self.root_abs, variant)):
            return None
        return variant

    def _elsewhere(self, names: list[str]) -> list[list[str]]:
        """For each name, where under the root that file name is (or, for a name with no extension, its stem)."""
        exact: dict[str, list[int]] = {}
        bare: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            exact.setdefault(n, []).append(i)
            if _stem(n) == n:
                bare.setdefault(n.casefold(), []).append(i)
        exact_keys, bare_keys = set(exact), set(bare)
        hits: list[list[str]] = [[] for _ in names]
        bare_hits: list[list[str]] = [[] for _ in names]
        for folder, files in self._walk():
            prefix = folder + "/" if folder else ""
            for key in exact_keys.intersection(files):
                for i in exact[key]:
                    hits[i].append(prefix + key)
            if bare_keys:
                listing = sorted(files)
                stems = _Folder(listing).stems()
                for key in bare_keys.intersection(stems):
                    for name, s in zip(listing, stems):
                        if s == key:
                            for i in bare[key]:
                                bare_hits[i].append(prefix + name)
        return [sorted(h or b) for h, b in zip(hits, bare_hits)]

    def _walk(self) -> Iterator[tuple[str, set[str]]]:
        """(folder, file names) for every folder under the root; symlinked folders are not followed.

        Folders already listed are not listed again: only the names the annotations did not
        mention can be subfolders, and when they are few an lstat of each tells.
        """
        stack = [""]
        while stack:
            folder = stack.pop()
            path = os.path.join(self.root_abs, folder) if folder else self.root_abs
            names = self._listed.get(folder)
            subdirs: list[str] = []
            if names is not None and len(unknown := names.difference(self._checked.get(folder, ()))) <= _FEW:
                for n in unknown:
                    try:
                        if stat.S_ISDIR(os.lstat(os.path.join(path, n)).st_mode):
                            subdirs.append(n)
                    except OSError:
                        continue
                files = names.difference(subdirs) if subdirs else names
            else:
                try:
                    with os.scandir(path) as it:
                        entries = list(it)
                except OSError:
                    continue
                file_list: list[str] = []
                for e in entries:
                    try:
                        (subdirs if e.is_dir(follow_symlinks=False) else file_list).append(e.name)
                    except OSError:
                        continue
                files = set(file_list)
            stack.extend(sorted((folder + "/" + d if folder else d for d in subdirs), reverse=True))
            yield folder, files


def _stem(name: str) -> str:
    base, dot, _ = name.rpartition(".")
    return base if dot and base else name
