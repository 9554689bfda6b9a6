"""A file or folder as it was at a git revision, for ``labelprep diff --rev HEAD``: the CI gate that compares
the dataset about to be committed with the last commit.

The path is taken out of git with ``git archive`` (so it works in any clone, bare files or folders alike) into a
temporary folder that the caller removes. Files stored with Git LFS come out as their pointer files: compare
labels then, not image bytes.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labelprep.errors import InputError
from labelprep.frameio import FRAME_SUFFIXES

__all__ = ["NotAtRevision", "at_revision"]


class NotAtRevision(InputError):
    """The path is not in that commit (a dataset committed for the first time), or the repository has no commit
    yet and the revision is ``HEAD``: there is no earlier version to compare with."""


def _git(args: list[str], cwd: Path, what: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=600, check=False)
    except FileNotFoundError:
        raise InputError("--rev needs git, which is not installed here", hint="install git, or compare with a saved "
                         "frame instead: labelprep diff saved.parquet SOURCE") from None  # fmt: skip
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise InputError(what + (f" (git: {msg[-1]})" if msg else ""), file=str(cwd))
    return done.stdout


def _existing_dir(path: Path) -> Path:
    p = path if path.is_dir() else path.parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _rel_in(top: Path, p: Path) -> str:
    """``p`` relative to the working tree's top, as git names it (symbolic links in its folders resolved)."""
    absolute = Path(os.path.abspath(p))
    here = _existing_dir(absolute).resolve()
    full = here if absolute.is_dir() else here / absolute.name
    try:
        return full.relative_to(top).as_posix() or "."
    except ValueError:
        raise InputError(f"{p} is outside the git working tree at {top}",
                         hint="--rev compares paths of one repository") from None  # fmt: skip


@contextmanager
def at_revision(paths: list[Path], rev: str) -> Iterator[tuple[list[Path], Path]]:
    """Each of ``paths`` (inside one git working tree) as it was at ``rev``, in a temporary folder; and that
    folder, which stands for the working tree's top.

    A path absent at ``rev`` is an error naming it; a frame's ``.vocab.json`` comes along.
    """
    top = Path(_git(["rev-parse", "--show-toplevel"], _existing_dir(Path(os.path.abspath(paths[0]))),
                    "--rev needs the dataset inside a git working tree").decode().strip()).resolve()  # fmt: skip
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top, f"no commit {rev!r} in this repository")
    except InputError:
        if rev == "HEAD" and not _git(["rev-list", "-n", "1", "--all"], top, "cannot list commits").strip():
            raise NotAtRevision("the repository has no commit yet", file=str(top)) from None
        raise
    targets = [_rel_in(top, p) for p in paths]
    wanted: list[str] = []
    for p, rel in zip(paths, targets, strict=True):
        if not _git(["ls-tree", "--name-only", rev, "--", rel], top, f"cannot list {rel} at {rev}").strip():
            raise NotAtRevision(f"{rel} is not in {rev}", file=str(p))
        wanted.append(rel)
        if rel.lower().endswith(FRAME_SUFFIXES):
            sidecar = rel.rsplit(".", 1)[0] + ".vocab.json"
            if _git(["ls-tree", "--name-only", rev, "--", sidecar], top, f"cannot list {sidecar}").strip():
                wanted.append(sidecar)
    data = _git(["archive", "--format=tar", rev, "--", *dict.fromkeys(wanted)], top,
                f"cannot take {targets[0]} out of {rev}")  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="labelprep-rev-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for m in tar.getmembers():
                if m.name.startswith("/") or ".." in Path(m.name).parts:
                    raise InputError(f"git archive holds an unsafe path {m.name!r}", file=str(top))
            if hasattr(tarfile, "data_filter"):
                tar.extractall(folder, filter="data")
            else:  # pragma: no cover - Python 3.11 before 3.11.4; the names were checked above
                tar.extractall(folder)
        yield [folder / rel for rel in targets], folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
