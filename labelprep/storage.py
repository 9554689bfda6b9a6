"""Remote storage through fsspec: sources, images roots and outputs given as URLs.

A URL is a ``scheme://`` prefix (``s3://``, ``gs://``, ``memory://``, ``file://``);
a plain path, ``C:\\data`` or ``C:/data`` is not one. ``file://`` URLs become plain
local paths (no copying, no fsspec). Every other scheme goes through fsspec,
which is imported only when such a URL is used.

- **Sources** (annotation files, converted frames and their ``.vocab.json``, an
  export folder to verify) are fetched into a temporary folder under the same
  file name, read as local files, and removed afterwards. A folder source is
  fetched with everything under it, which suits small trees only. Errors,
  findings, ledgers and frame metadata name the URL, never the temporary copy.
- **Images roots** are read in place: file checks list the tree once
  (``fs.find``), image checks and export read each file's bytes.
- **Outputs** are written locally first, atomically as always, then uploaded:
  each file to a temporary name beside its target, then moved (``fs.mv``) to
  its name. On an object store a move is a copy and a delete, and each PUT of
  an object is atomic, so a reader sees the whole new object or the old one,
  never a part. A frame's vocabulary goes up before the frame; a folder output
  (:class:`FolderOutput`, such as an export: :mod:`labelprep.shards.upload`)
  checks its URL first and uploads itself in its own order.

The verbs take URLs through :func:`staged`, which fetches the URL sources and
stages the URL outputs for one call; inside it :func:`where` tells the URL a
local temporary path stands for.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import posixpath
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from labelprep.atomic import atomic_write
from labelprep.errors import InputError, LabelprepError
from labelprep.extras import fsspec_backend_missing, require_fsspec

__all__ = ["FolderOutput", "common_root", "default_root", "filesystem", "frame_root", "is_remote", "is_url", "isdir", "join",
           "list_files", "local_path", "mtime_ns", "origin", "read_many", "relative_root", "source_rel", "staged",
           "to_local", "to_root", "upload", "url_errors", "where", "write_text"]  # fmt: skip

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")  # two letters at least: C:// is a drive, not a scheme
_NAMED = re.compile(r"^([A-Za-z0-9_.-]+=)(?=[A-Za-z][A-Za-z0-9+.\-]+://)")  # a split named on a URL: train=s3://...
_FRAME_SUFFIXES = (".parquet", ".csv")
F = TypeVar("F", bound=Callable[..., Any])


# -- what a URL is ---------------------------------------------------------------------------


def is_url(path: object) -> bool:
    """True for a ``scheme://...`` string; plain paths, ``Path`` objects and drive letters are not URLs."""
    return isinstance(path, str) and _URL.match(path) is not None


def is_remote(path: object) -> bool:
    """True for a URL that fsspec serves (any scheme but ``file://``)."""
    return is_url(path) and _scheme(str(path)) != "file"


def _scheme(url: str) -> str:
    m = _URL.match(url)
    return m.group(1).lower() if m else ""


def local_path(url: str) -> str:
    """The plain local path of a ``file://`` URL (``file:///data/x`` or ``file://localhost/data/x``)."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise InputError(f"a file:// URL names a path on this machine, not on host {parts.netloc!r}", file=url,
                         hint="write file:///absolute/path (three slashes)")  # fmt: skip
    path = unquote(parts.path)
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", path):
        path = path[1:]
    return path or "/"


def to_local(value: Any) -> Any:
    """``file://`` URLs (alone or in a list) as plain paths; anything else as given."""
    if is_url(value) and not is_remote(value):
        return local_path(value)
    if isinstance(value, (list, tuple)):
        return type(value)(to_local(v) for v in value)
    return value


def to_root(value: str | os.PathLike[str]) -> Path | str:
    """An images root: a remote URL stays a string (``Path`` would fold its ``//``), anything else a ``Path``."""
    if is_remote(value):
        return str(value).rstrip("/")
    return Path(to_local(value) if isinstance(value, str) else value)


def join(root: str, rel: str) -> str:
    return root.rstrip("/") + "/" + rel


def _join_norm(base: str, rel: str) -> str:
    """``base`` URL joined with a relative POSIX path, ``..`` resolved within the URL's path."""
    prefix = _URL.match(base)
    head = prefix.group(0) if prefix else ""
    return head + posixpath.normpath(join(base[len(head) :], rel))


def _parent(url: str) -> str:
    head, _, _ = url.rstrip("/").rpartition("/")
    return head if not head.endswith(":/") else head + "/"


def _name(url: str) -> str:
    return url.rstrip("/").rpartition("/")[2]


# -- fsspec ------------------------------------------------------------------------------------


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem serving ``url`` and the path within it; fsspec is imported here, on first use."""
    scheme = _scheme(url)
    url_to_fs = require_fsspec(url, scheme)
    try:
        fs, path = url_to_fs(url)
    except ImportError as exc:
        raise fsspec_backend_missing(url, scheme, exc) from None
    except ValueError as exc:
        raise InputError(f"unknown URL scheme {scheme!r} ({exc})", file=url,
                         hint="use s3://, gs://, memory://, file:// or another fsspec protocol; plain paths need "
                         "no scheme") from None  # fmt: skip
    return fs, path


@contextmanager
def url_errors(url: str) -> Iterator[None]:
    """Turn an fsspec or network failure into an InputError naming the URL."""
    try:
        yield
    except LabelprepError:
        raise
    except FileNotFoundError:
        raise InputError("no such file or folder", file=url, hint="check the URL") from None
    except OSError as exc:
        raise InputError(f"remote storage failed: {type(exc).__name__}: {exc}", file=url,
                         hint="check the URL, your credentials and the network, then run again") from None  # fmt: skip


def isdir(url: str) -> bool:
    fs, path = filesystem(url)
    with url_errors(url):
        return bool(fs.isdir(path))


def list_files(root: str) -> dict[str, dict[str, Any]]:
    """Every file under the ``root`` URL: ``{POSIX path relative to root: fsspec info (size ...)}``."""
    fs, base = filesystem(root)
    base = base.rstrip("/")
    with url_errors(root):
        found = fs.find(base, detail=True) if fs.isdir(base) else {}
    cut = len(base) + 1
    return {str(name)[cut:]: info for name, info in found.items() if str(name).startswith(base + "/")}


def read_many(urls: Sequence[str]) -> list[bytes | OSError]:
    """The bytes of each URL (all on one filesystem), or the OSError reading it raised; one batch call.

    fsspec fetches a batch concurrently on async stores (s3fs, gcsfs).
    """
    if not urls:
        return []
    fs, _ = filesystem(urls[0])
    paths = [fs._strip_protocol(u) for u in urls]
    with url_errors(urls[0]):
        got = fs.cat(paths, on_error="return")
    if not isinstance(got, dict):  # one path: fsspec may hand back the bytes alone
        got = {paths[0]: got}
    out: list[bytes | OSError] = []
    for p in paths:
        v = got.get(p)
        if isinstance(v, bytes):
            out.append(v)
        elif isinstance(v, OSError):
            out.append(v)
        else:
            out.append(OSError(f"cannot be read: {v!r}"))
    return out


def mtime_ns(info: Mapping[str, Any]) -> int:
    """A modification time from fsspec's info (its key differs by backend), or 0."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return int(value * 1e9)
        if value is not None and hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        if isinstance(value, str):
            with suppress(ValueError):
                from datetime import datetime

                return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9)
    return 0


def upload(local: Path, url: str) -> None:
    """Put ``local`` to a temporary name beside ``url``, then move it to ``url`` (atomic per object)."""
    fs, path = filesystem(url)
    folder, _, name = path.rstrip("/").rpartition("/")
    tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
    with url_errors(url):
        with suppress(Exception):  # object stores have no folders; a file system needs its folder
            fs.makedirs(folder, exist_ok=True)
        fs.put_file(str(local), tmp)
        try:
            fs.mv(tmp, path)
        except BaseException:
            with suppress(Exception):
                fs.rm(tmp)
            raise


# -- staging: URL sources fetched, URL outputs written locally then uploaded ---------------------


class _Stage:
    """One verb call's temporary folder: fetched sources, staged outputs, and the URLs they stand for."""

    def __init__(self, parent: _Stage | None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="labelprep-remote-"))
        self.links: list[tuple[str, str]] = list(parent.links) if parent else []  # (local prefix, URL)
        self.outputs: list[tuple[Path, str, str | FolderOutput]] = []  # (local staged path, URL, kind)
        self.sources: list[str] = []
        self._n = 0

    def _slot(self, kind: str) -> Path:
        self._n += 1
        d = self.dir / f"{kind}{self._n}"
        d.mkdir()
        return d

    def _link(self, local: Path, url: str) -> None:
        self.links.append((str(local), url.rstrip("/")))
        self.links.sort(key=lambda x: -len(x[0]))

    def fetch(self, url: str) -> Path:
        fs, path = filesystem(url)
        slot = self._slot("in")
        local = slot / (_name(path) or "source")
        with url_errors(url):
            if not fs.exists(path):
                raise InputError("no such file or folder", file=url, hint="check the URL")
            if fs.isdir(path):
                fs.get(path.rstrip("/"), str(local), recursive=True)
                local.mkdir(exist_ok=True)
            else:
                fs.get_file(path, str(local))
                if local.suffix.lower() in _FRAME_SUFFIXES:  # a frame's vocabulary travels with it
                    sidecar = path[: len(path) - len(local.suffix)] + ".vocab.json"
                    if fs.exists(sidecar):
                        fs.get_file(sidecar, str(local.with_suffix(".vocab.json")))
        self._link(slot, _parent(url))
        self._link(local, url)
        self.sources.append(url.rstrip("/"))
        return local

    def output(self, url: str, kind: str | FolderOutput) -> Path:
        """A local path to write instead of ``url``; uploaded after the call succeeds (a file's folder with it)."""
        if url.rstrip("/") in self.sources:
            raise InputError("this output would overwrite an input file", file=url,
                             hint="it is read by this command; choose another output")  # fmt: skip
        if not isinstance(kind, str):
            kind.check(url, _ARGS.get() or {})
        filesystem(url)  # a missing extra or a bad scheme fails now, before any work
        slot = self._slot("out")
        local = slot / (_name(url) or "output")
        if not isinstance(kind, str):
            local.mkdir()
            self._link(local, url)
        else:
            self._link(slot, _parent(url))
        self.outputs.append((local, url.rstrip("/"), kind))
        return local

    def where(self, path: str) -> str | None:
        for local, url in self.links:
            if path == local:
                return url
            if path.startswith(local) and path[len(local)] in ("/", os.sep):
                return url + "/" + path[len(local) + 1 :].replace(os.sep, "/")
        return None

    def unmap(self, text: str) -> str:
        for local, url in self.links:
            if local in text:
                text = text.replace(local, url)
        return text

    def commit(self) -> None:
        for local, url, kind in self.outputs:
            if not isinstance(kind, str):
                kind.upload(local, url)
                continue
            folder = local.parent
            if not folder.is_dir():
                continue
            # sidecars (the vocabulary) first: a reader who finds the frame finds its vocabulary too
            names = sorted((p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                           key=lambda n: (not n.endswith(".vocab.json"), n))  # fmt: skip
            for name in names:
                upload(folder / name, join(_parent(url), name))

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class FolderOutput(Protocol):
    """A folder output of a verb on remote storage: what to check before the verb runs, and how to upload it."""

    def check(self, url: str, args: Mapping[str, Any]) -> None:
        """Refuse ``url`` before any work (``args``: the verb's arguments by name)."""

    def upload(self, local: Path, url: str) -> None:
        """Put the folder the verb wrote at ``local`` to ``url``."""


_STAGE: contextvars.ContextVar[_Stage | None] = contextvars.ContextVar("labelprep_stage", default=None)


def where(path: str | os.PathLike[str]) -> str:
    """The URL a staged local path stands for (a fetched source or an output to upload), else the path itself."""
    stage = _STAGE.get()
    text = str(path)
    if stage is None:
        return text
    return stage.where(text) or text


def origin(path: str | os.PathLike[str]) -> str | None:
    """The URL a staged local path stands for, or None."""
    stage = _STAGE.get()
    return stage.where(str(path)) if stage is not None else None


def default_root(src: Path) -> Path | str:
    """The images root of a source when none is given: its folder, or the URL folder it was fetched from."""
    if src.is_dir():
        return src
    url = origin(src)
    return _parent(url) if url is not None and is_remote(url) else src.parent


def frame_root(src: Path, rel: str | None) -> Path | str | None:
    """The images root of a fetched frame from its stored ``images_root`` (None: not a fetched frame)."""
    url = origin(src)
    if url is None or not is_remote(url):
        return None
    if rel is not None:
        if is_url(rel):
            return to_root(rel)
        if os.path.isabs(rel):
            return Path(rel)
        cand = _join_norm(_parent(url), rel)
        if isdir(cand):
            return cand
    return _parent(url)


def relative_root(root: Path | str, out: Path) -> str:
    """How a written frame records its images root: relative to the frame's folder where both are on one store."""
    root_s, out_s = where(root), where(out)
    if not is_url(root_s) and not is_url(out_s):
        return os.path.relpath(Path(root_s).resolve(), Path(out_s).parent.resolve()).replace(os.sep, "/")
    a, b = urlsplit(root_s), urlsplit(out_s)
    if is_url(root_s) and is_url(out_s) and (a.scheme, a.netloc) == (b.scheme, b.netloc):
        return posixpath.relpath(a.path or "/", posixpath.dirname(b.path) or "/")
    return root_s if is_url(root_s) else str(Path(root_s).resolve())


def common_root(roots: Sequence[Path | str]) -> tuple[Path | str, list[str]] | None:
    """The folder that holds every one of ``roots`` and each root under it as a POSIX path (``.`` for itself):
    local folders, or URLs on one store (scheme and bucket). None when they are on different stores."""
    if not any(is_url(r) for r in roots):
        local = [os.path.abspath(r) for r in roots]
        common = Path(os.path.commonpath(local))
        return common, [Path(os.path.relpath(r, common)).as_posix() for r in local]
    urls = [str(r) for r in roots if is_url(r)]
    parts = [urlsplit(u) for u in urls]
    if len(urls) != len(roots) or any(p[:2] != parts[0][:2] for p in parts):
        return None
    paths = [posixpath.normpath(p.path or "/") for p in parts]
    base = posixpath.commonpath(paths)
    head = f"{parts[0].scheme}://{parts[0].netloc}"
    return (head + base).rstrip("/") if base != "/" else head, [posixpath.relpath(p, base) for p in paths]


def source_rel(src: Path, root: Path | str) -> str:
    """A folder source's place under an explicit images root, as a POSIX path."""
    s = where(src)
    if not is_url(s) and isinstance(root, Path):
        return os.path.relpath(s, root).replace(os.sep, "/")
    if is_url(s) and isinstance(root, str) and s.startswith(root.rstrip("/") + "/"):
        return s[len(root.rstrip("/")) + 1 :]
    if s == str(root):
        return "."
    raise InputError("a folder source must lie under the images root given", file=s,
                     hint="leave out --images-root, or give the folder that holds the source")  # fmt: skip


# -- the decorator the verbs wear -------------------------------------------------------------------

_ARGS: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("labelprep_args", default=None)


def _any_url(value: Any) -> bool:
    return any(is_url(v) for v in _items(value))


def staged(*, sources: Iterable[str] = (), outputs: Mapping[str, str | FolderOutput] | None = None,
           roots: Iterable[str] = ()) -> Callable[[F], F]:  # fmt: skip
    """Let a verb take URLs: ``sources`` are fetched, ``outputs`` (name -> ``"file"``, or a :class:`FolderOutput`
    for a folder the verb fills) staged and uploaded after success, ``roots`` passed on (``file://`` as local
    paths). Without URLs it calls straight through.
    """
    source_names, output_kinds, root_names = tuple(sources), dict(outputs or {}), tuple(roots)

    def decorate(func: F) -> F:
        sig = inspect.signature(func)

        var_kw = next((p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD), None)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            a = _Arguments(bound.arguments, var_kw)
            names = (*source_names, *output_kinds, *root_names)
            if not any(_any_url(a.get(n)) for n in names):
                return func(*args, **kwargs)
            for n in root_names:
                if n in a:
                    a[n] = to_local(a[n])
            for n in (*source_names, *output_kinds):
                if n in a and not any(is_remote(v) for v in _items(a[n])):
                    a[n] = _map(a[n], to_local) if n in source_names else to_local(a[n])
            if not any(is_remote(v) for n in (*source_names, *output_kinds) if n in a for v in _items(a[n])):
                return func(*bound.args, **bound.kwargs)
            with _staging(a) as stage:
                try:
                    for n in source_names:
                        if n in a:
                            a[n] = _map(a[n], lambda v: stage.fetch(v) if is_remote(v) else to_local(v))
                    for n, kind in output_kinds.items():
                        if a.get(n) is not None:
                            a[n] = stage.output(a[n], kind) if is_remote(a[n]) else to_local(a[n])
                    result = func(*bound.args, **bound.kwargs)
                    stage.commit()
                except LabelprepError as exc:
                    _unmap_error(stage, exc)
                    raise
                except OSError as exc:
                    if isinstance(exc.filename, str):
                        exc.filename = stage.unmap(exc.filename)
                    raise
                return _unmap_result(stage, result)

        return wrapper  # type: ignore[return-value]

    return decorate


class _Arguments(dict):  # type: ignore[type-arg]
    """A verb's bound arguments, with the options given as keywords (``**options``) looked up and set as if
    they were parameters of their own."""

    def __init__(self, arguments: dict[str, Any], var_kw: str | None) -> None:
        super().__init__(arguments)
        self._arguments, self._var_kw = arguments, var_kw

    def _kw(self) -> dict[str, Any]:
        return self._arguments.get(self._var_kw, {}) if self._var_kw else {}

    def __contains__(self, name: object) -> bool:
        return name in self._arguments or name in self._kw()

    def get(self, name: str, default: Any = None) -> Any:
        if name in self._arguments:
            return self._arguments[name]
        return self._kw().get(name, default)

    def __getitem__(self, name: str) -> Any:
        return self._arguments[name] if name in self._arguments else self._kw()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        if name in self._arguments or not self._var_kw or name not in self._kw():
            self._arguments[name] = value
        else:
            self._kw()[name] = value


def _items(value: Any) -> list[Any]:
    """The values a source argument holds: one, a list, or a mapping's values; ``NAME=URL`` as its URL."""
    if isinstance(value, Mapping):
        return [v for item in value.values() for v in _items(item)]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _items(item)]
    if isinstance(value, str) and (m := _NAMED.match(value)):
        return [value[m.end() :]]
    return [] if value is None else [value]


def _map(value: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` applied to every string a source argument holds (list items, mapping values, the URL of a
    ``NAME=URL``, whose name is kept), the structure as given."""
    if isinstance(value, Mapping):
        return {k: _map(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, fn) for v in value)
    if isinstance(value, str) and (m := _NAMED.match(value)):
        return f"{m.group(1)}{fn(value[m.end() :])}"
    return fn(value) if isinstance(value, str) else value


@contextmanager
def _staging(args: dict[str, Any]) -> Iterator[_Stage]:
    stage = _Stage(_STAGE.get())
    token, args_token = _STAGE.set(stage), _ARGS.set(args)
    try:
        yield stage
    finally:
        _STAGE.reset(token)
        _ARGS.reset(args_token)
        stage.close()


def _unmap_error(stage: _Stage, exc: LabelprepError) -> None:
    if exc.file:
        exc.file = stage.where(exc.file) or stage.unmap(exc.file)
    exc.message = stage.unmap(exc.message)
    exc.args = (exc.message,)
    if exc.hint:
        exc.hint = stage.unmap(exc.hint)
    report = getattr(exc, "report", None)
    if report is not None:
        _unmap_report(stage, report)


def _unmap_report(stage: _Stage, report: Any) -> None:
    report.findings[:] = [
        replace(f, message=stage.unmap(f.message), hint=stage.unmap(f.hint),
                source=(stage.where(f.source) or stage.unmap(f.source)) if f.source else f.source)
        for f in report.findings
    ]  # fmt: skip


def _unmap_result(stage: _Stage, result: Any) -> Any:
    if hasattr(result, "findings") and hasattr(result, "to_json"):  # a Report
        _unmap_report(stage, result)
        return result
    if hasattr(result, "written") and isinstance(result.written, list):
        result.written = [stage.where(str(p)) or p for p in result.written]
    if hasattr(result, "images_root") and isinstance(result.images_root, Path):
        url = stage.where(str(result.images_root))
        result.images_root = url if url is not None else result.images_root
    if hasattr(result, "notes") and isinstance(result.notes, list):
        result.notes = [stage.unmap(n) if isinstance(n, str) else n for n in result.notes]
    if hasattr(result, "ledger") and isinstance(result.ledger, list):
        result.ledger = [replace(e, file=stage.where(e.file) or e.file) for e in result.ledger]
    if getattr(result, "report", None) is not None:
        _unmap_report(stage, result.report)
    if hasattr(result, "out_dir") and isinstance(result.out_dir, Path) and stage.where(str(result.out_dir)):
        result.out_dir = None  # a Path cannot hold a URL; the caller knows where it asked the export to go
    return result


def write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a path (atomically) or a URL (staged, then uploaded)."""
    if is_remote(target):
        with tempfile.TemporaryDirectory(prefix="labelprep-remote-") as d:
            tmp = Path(d) / (_name(str(target)) or "output")
            tmp.write_text(text, encoding="utf-8")
            upload(tmp, str(target))
        return
    atomic_write(Path(to_local(target) if isinstance(target, str) else target),
                 lambda tmp: tmp.write_text(text, encoding="utf-8"))  # fmt: skip
