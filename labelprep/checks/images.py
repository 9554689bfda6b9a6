"""Image checks: is each file an image a training loader can decode, and does anything about it need care?

Level ``header`` reads each file once: the magic bytes, Pillow's header (size,
mode, EXIF orientation) and the format's own end marker, which finds truncated
files without decoding any pixels. Level ``full`` also decodes every image.
Pillow's decompression-bomb guard is bypassed while opening (the size comes from
the header) and replaced by our own limit, so neither its error nor its warning
escapes. Files are checked in worker processes (a file that crashes a decoder
is reported, not fatal); results can be cached by path, size and mtime.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import posixpath
import re
import stat
import struct
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import PIL
from PIL import Image, ImageFile, UnidentifiedImageError

from labelprep.checks.base import Issue
from labelprep.checks.cache import ResultCache, file_key
from labelprep.checks.content import Content, content_features, content_size
from labelprep.errors import InputError
from labelprep.storage import is_remote, is_url

__all__ = ["LEVELS", "MAX_METADATA_BYTES", "ImageInfo", "animation_frames", "check_images", "jpeg_data_shortfall",
           "metadata_size", "strip_png_chunks"]

LEVELS = ("header", "full")
_CACHE_VERSION = 5  # bump when a check changes what it reports
_INLINE_BELOW = {"header": 400, "full": 40}  # fewer files than this: no worker processes
_CHUNK = 32  # files a worker checks per task (a cap; small inputs get smaller tasks)

# Formats a loader picks by extension; a file whose bytes say otherwise gets extension-mismatch.
_EXT_FORMAT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".jif": "JPEG",
    ".png": "PNG", ".gif": "GIF", ".webp": "WEBP", ".bmp": "BMP", ".dib": "BMP",
    ".tif": "TIFF", ".tiff": "TIFF", ".avif": "AVIF", ".jp2": "JPEG2000", ".j2k": "JPEG2000",
    ".ppm": "PPM", ".pgm": "PPM", ".pbm": "PPM", ".pnm": "PPM", ".tga": "TGA", ".ico": "ICO", ".qoi": "QOI",
}  # fmt: skip
_FORMAT_EXT = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
# Plugins never used: EPS needs Ghostscript, a subprocess and a security risk, to rasterise anything.
_NEVER_OPEN = frozenset({"EPS"})

_MODE_WORDS = {
    "1": "1-bit black-and-white image",
    "P": "palette (indexed colour) image",
    "PA": "palette image with an alpha channel",
    "RGB": "RGB image",
    "RGBA": "RGB image with an alpha channel",
    "RGBa": "RGB image with premultiplied alpha",
    "RGBX": "RGB image with a padding channel",
    "L": "grayscale image",
    "LA": "grayscale image with an alpha channel",
    "La": "grayscale image with premultiplied alpha",
    "I;16": "16-bit grayscale image",
    "I;16B": "16-bit grayscale image",
    "I;16L": "16-bit grayscale image",
    "I;16N": "16-bit grayscale image",
    "I": "32-bit integer grayscale image",
    "F": "32-bit floating-point grayscale image",
    "LAB": "CIE L*a*b* colour image",
    "HSV": "HSV colour image",
    "YCbCr": "YCbCr colour image",
}
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_ORIENTATION = {
    2: "mirrored left to right",
    3: "rotated 180°",
    4: "mirrored top to bottom",
    5: "mirrored and rotated 90°",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated 90°",
    8: "rotated 90° counter-clockwise",
}
_REDOWNLOAD = "re-download or re-export it; a loader fails on it mid-training ('image file is truncated')"


@dataclass
class ImageInfo:
    """What :func:`check_images` found about one file."""

    path: str
    issues: list[Issue] = field(default_factory=list)
    digest: str | None = None  # SHA-256 (hex) of the file's bytes; equal bytes, equal digest
    format: str | None = None  # 'JPEG', 'PNG', ... as detected from the bytes
    width: int | None = None
    height: int | None = None
    mode: str | None = None  # Pillow mode
    content: Content | None = None  # with content=True: what the content checks need (None: not decoded)

    def _to_json(self) -> str:
        return json.dumps([[[x.code, x.message, x.hint] for x in self.issues], self.digest, self.format,
                           self.width, self.height, self.mode, self.content.to_list() if self.content else None],
                          separators=(",", ":"))  # fmt: skip

    @classmethod
    def _from_json(cls, path: str, text: str) -> ImageInfo:
        issues, digest, fmt, width, height, mode, content = json.loads(text)
        return cls(path, [Issue(*x) for x in issues], digest, fmt, width, height, mode,
                   Content.from_list(content) if content else None)  # fmt: skip


@dataclass(frozen=True)
class _Settings:
    level: str
    max_pixels: int | None
    min_size: tuple[int, int] | None
    content: bool = False
    quality: bool = False


def check_images(
    paths: Sequence[str],
    root: Path | str,
    *,
    level: str = "header",
    workers: int | None = None,
    cache_dir: Path | None = None,
    max_pixels: int | None = None,
    min_size: tuple[int, int] | None = None,
    progress: bool = False,
    engine: Any = None,
    content: bool = False,
    quality: bool = False,
) -> dict[str, ImageInfo]:
    """Check that each distinct path (relative to ``root``) is an image a loader can decode.

    ``level="header"`` reads the magic bytes, Pillow's header (size, mode, EXIF
    orientation) and the end marker (JPEG EOI after the last scan, PNG IEND, GIF
    trailer, WEBP RIFF size, BMP file size); ``"full"`` also decodes every
    image. Call it for the paths :func:`~labelprep.checks.files.check_files`
    found nothing wrong with. ``workers`` processes (default ``os.cpu_count()``;
    small inputs run inline). ``cache_dir`` keeps results keyed by absolute
    path, size, mtime and these settings, so a re-run re-reads only changed
    files. ``max_pixels`` defaults to Pillow's ``Image.MAX_IMAGE_PIXELS``;
    ``min_size`` is ``(width, height)`` or None for no minimum. ``progress``
    draws a bar on stderr (pass ``sys.stderr.isatty()``). ``engine``, a
    :class:`labelprep.engine.DaskEngine`, runs the checks as Dask tasks instead
    (the cache stays here: looked up before, filled after). A remote URL
    ``root`` is read with fsspec in batches, in threads of this process (worker
    processes cannot see a ``memory://`` store; Dask workers open the URLs
    themselves), and is not cached. ``content=True`` also keeps what the content
    checks need (:func:`labelprep.checks.content.content_features`) in
    ``ImageInfo.content``: from the same decode at level ``full``; at level
    ``header`` each image is decoded for it, a JPEG straight to a reduced copy;
    ``quality=True`` adds the figures the quality checks need (exposure, colour, blur).

    Codes: not-an-image, extension-mismatch, corrupt-image, decompression-bomb,
    cmyk-image, unusual-mode, animated-image, oversized-metadata, exif-orientation, image-too-small; and
    unreadable-file, empty-file or missing-file for a file that changed since
    :func:`check_files` looked at it.

    Example:
        >>> from pathlib import Path
        >>> infos = check_images(["cat/1.jpg"], Path("images"), level="full")  # doctest: +SKIP
        >>> infos["cat/1.jpg"].issues, infos["cat/1.jpg"].digest  # doctest: +SKIP
    """
    if level not in LEVELS:
        raise InputError(f"image check level must be one of {', '.join(LEVELS)}, not {level!r}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, not {workers}")
    if max_pixels is not None and max_pixels < 1:
        raise InputError(f"max_pixels must be at least 1, not {max_pixels}")
    if min_size is not None and (len(min_size) != 2 or min(min_size) < 0):
        raise InputError(f"min_size must be (width, height), not {min_size!r}")
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    settings = _Settings(level, limit, (int(min_size[0]), int(min_size[1])) if min_size is not None else None,
                         content, content and quality)  # fmt: skip
    remote = is_remote(root)
    root_abs = str(root).rstrip("/") if remote else os.path.abspath(root)
    unique = list(dict.fromkeys(paths))
    results: dict[str, ImageInfo] = {}
    jobs: list[tuple[str, str]] = []  # (path as listed, absolute path or URL)
    for p in unique:
        target = _url_target(p, root_abs) if remote else _target(p, root_abs)
        if target is None:
            results[p] = ImageInfo(p, [Issue("path-escapes-root", "the path leaves the images root; it was not opened",
                                             "list paths relative to the images root")])  # fmt: skip
        else:
            jobs.append((p, target))

    cache = ResultCache.open(Path(cache_dir), _cache_settings(settings)) if cache_dir is not None and not remote else None
    keys: dict[str, tuple[str, int, int]] = {}
    todo = jobs
    if cache is not None:
        for p, target in jobs:
            key = file_key(target)
            if key is not None:
                keys[p] = key
        hits = cache.get_many(list(keys.values()))
        todo = []
        for p, target in jobs:
            hit = hits.get(target) if p in keys else None
            if hit is not None:
                results[p] = ImageInfo._from_json(p, hit)
            else:
                todo.append((p, target))

    bar = _Progress(len(todo), enabled=progress)
    pending: list[tuple[str, int, int, str]] = []

    def done(info: ImageInfo) -> None:
        results[info.path] = info
        bar.advance()
        key = keys.get(info.path)
        if cache is not None and key is not None and _cacheable(info):
            pending.append((*key, info._to_json()))
            if len(pending) >= 1000:
                cache.put_many(pending)
                pending.clear()

    try:
        if engine is not None:
            engine.run_image_checks(todo, settings, done)
        elif remote:
            _run_threads(todo, settings, workers or os.cpu_count() or 1, done)
        else:
            _run(todo, settings, workers or os.cpu_count() or 1, done)
    finally:
        bar.close()
        if cache is not None:
            cache.put_many(pending)
            cache.close()
    return {p: results[p] for p in unique}


def _cache_settings(s: _Settings) -> str:
    return json.dumps([_CACHE_VERSION, PIL.__version__, s.level, s.max_pixels,
                       list(s.min_size) if s.min_size else None, s.content, s.quality])  # fmt: skip


def _cacheable(info: ImageInfo) -> bool:
    # A file that could not be read may be readable next time: check it again.
    return info.digest is not None and not any(
        i.code in ("unreadable-file", "missing-file", "path-escapes-root") for i in info.issues
    )


def _target(p: str, root_abs: str) -> str | None:
    """The absolute path of a listed path, or None when it leaves the root (by '..' or absolute)."""
    if p.startswith("/"):
        full = posixpath.normpath(p)
    else:
        rel = posixpath.normpath(p)
        if rel == ".." or rel.startswith("../"):
            return None
        full = os.path.join(root_abs, rel)
    if full == root_abs or full.startswith(root_abs.rstrip("/") + "/"):
        return full
    real_root = os.path.realpath(root_abs)
    return full if full.startswith(real_root.rstrip("/") + "/") else None


def _url_target(p: str, root: str) -> str | None:
    """The URL of a listed path under a remote root, or None when it leaves the root."""
    rel = posixpath.normpath(p)
    if p.startswith("/") or rel in (".", "..") or rel.startswith("../"):
        return None
    return f"{root}/{rel}"


# -- running: inline or in worker processes ----------------------------------------


def _run(todo: list[tuple[str, str]], settings: _Settings, workers: int,
         done: Callable[[ImageInfo], None]) -> None:  # fmt: skip
    if workers <= 1 or len(todo) < max(_INLINE_BELOW["full" if settings.content else settings.level], 2 * workers):
        for p, target in todo:
            done(_check_one(target, p, settings))
        return
    finished: set[str] = set()

    def record(info: ImageInfo) -> None:
        finished.add(info.path)
        done(info)

    try:
        _run_pool(todo, settings, workers, record)
    except BrokenProcessPool:
        _run_one_by_one([(p, t) for p, t in todo if p not in finished], settings, record)


def _context() -> Any:
    # The default start method, which the caller may choose with multiprocessing.set_start_method: fork on Linux
    # before Python 3.14 starts workers in milliseconds; forkserver and spawn import labelprep again in each one.
    return multiprocessing.get_context()


def _run_pool(todo: list[tuple[str, str]], settings: _Settings, workers: int,
              done: Callable[[ImageInfo], None]) -> None:  # fmt: skip
    size = max(1, min(_CHUNK, len(todo) // (workers * 8)))
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    pool = ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=_context())
    try:
        futures = [pool.submit(_check_chunk, chunk, settings) for chunk in chunks]
        for fut in as_completed(futures):
            for info in fut.result():
                done(info)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _run_one_by_one(todo: list[tuple[str, str]], settings: _Settings, done: Callable[[ImageInfo], None]) -> None:
    """After a worker died (a decoder crashing on some file): one file at a time, to learn which file it was."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=_context())
    try:
        for p, target in todo:
            try:
                info = pool.submit(_check_chunk, [(p, target)], settings).result()[0]
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                pool = ProcessPoolExecutor(max_workers=1, mp_context=_context())
                info = ImageInfo(p, [Issue("corrupt-image", "crashed the image decoder (its worker process died)",
                                           "remove or replace the file; decoding it would crash the training job too")])  # fmt: skip
            done(info)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _check_chunk(chunk: list[tuple[str, str]], settings: _Settings) -> list[ImageInfo]:
    if chunk and is_url(chunk[0][1]):  # a remote root: a Dask worker reads the URLs itself
        return _check_urls(chunk, settings)
    return [_check_one(target, p, settings) for p, target in chunk]


def _run_threads(todo: list[tuple[str, str]], settings: _Settings, workers: int,
                 done: Callable[[ImageInfo], None]) -> None:  # fmt: skip
    """Remote images: batches of URLs, each fetched in one call and checked, in threads of this process."""
    chunks = [todo[i : i + _CHUNK] for i in range(0, len(todo), _CHUNK)]
    if len(chunks) <= 1:
        for chunk in chunks:
            for info in _check_urls(chunk, settings):
                done(info)
        return
    with ThreadPoolExecutor(max_workers=min(max(workers, 4), 16, len(chunks)),
                            thread_name_prefix="labelprep-images") as pool:  # fmt: skip
        for infos in pool.map(lambda c: _check_urls(c, settings), chunks):
            for info in infos:
                done(info)


def _check_urls(chunk: list[tuple[str, str]], settings: _Settings) -> list[ImageInfo]:
    from labelprep.storage import read_many

    out = []
    for (p, _), data in zip(chunk, read_many([url for _, url in chunk])):
        info = ImageInfo(p)
        if isinstance(data, FileNotFoundError):
            info.issues.append(Issue("missing-file", "file does not exist (it was removed during the check?)",
                                     "run the check again"))  # fmt: skip
        elif isinstance(data, OSError):
            info.issues.append(Issue("unreadable-file", f"cannot be read: {data}",
                                     "check your credentials and the network, then run again"))  # fmt: skip
        else:
            _check_data(data, p, settings, info)
        out.append(info)
    return out


def _check_one(target: str, path: str, settings: _Settings) -> ImageInfo:
    """Read one file and check it; never raises for what is in the file."""
    info = ImageInfo(path)
    try:
        # O_NONBLOCK: a named pipe listed as an image must not hang the run.
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        info.issues.append(Issue("missing-file", "file does not exist (it was removed during the check?)",
                                 "run the check again"))  # fmt: skip
        return info
    except OSError as exc:
        info.issues.append(_unreadable(exc))
        return info
    try:
        with open(fd, "rb", buffering=0, closefd=True) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                info.issues.append(Issue("unreadable-file", "not a regular file",
                                         "fix the path in the annotations or remove the entry"))  # fmt: skip
                return info
            data = f.read()
    except OSError as exc:
        info.issues.append(_unreadable(exc))
        return info
    return _check_data(data, path, settings, info)


def _check_data(data: bytes, path: str, settings: _Settings, info: ImageInfo) -> ImageInfo:
    """Check one file's bytes (however they were read) into ``info``; never raises for what is in them."""
    info.digest = hashlib.sha256(data).hexdigest()
    if not data:
        info.issues.append(Issue("empty-file", "the file is empty (0 bytes)",
                                 "re-download or re-export it; an interrupted download often leaves an empty file"))  # fmt: skip
        return info
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _inspect(data, path, settings, info)
        except Image.DecompressionBombError as exc:  # from a plugin that opens images inside images
            info.issues.append(Issue("decompression-bomb", f"too many pixels: {exc}",
                                     "downscale it, or raise --max-pixels if it is genuine"))  # fmt: skip
        except Exception as exc:  # a Pillow plugin failing in a way we did not foresee: the file is the problem
            info.issues.append(Issue("corrupt-image", f"cannot be read as an image: {type(exc).__name__}: {exc}",
                                     _REDOWNLOAD))  # fmt: skip
    return info


def _unreadable(exc: OSError) -> Issue:
    if isinstance(exc, IsADirectoryError):
        return Issue("unreadable-file", "a folder, not an image file", "fix the path in the annotations")
    if isinstance(exc, PermissionError):
        return Issue("unreadable-file", "no permission to read it", "chmod a+r the file, or run as a user who may")
    return Issue("unreadable-file", f"cannot be read: {exc.strerror or exc}",
                 "check the disk or network mount, then run again")  # fmt: skip


# -- one file's bytes ---------------------------------------------------------------------


def _inspect(data: bytes, path: str, settings: _Settings, info: ImageInfo) -> None:
    issues = info.issues
    sniffed = _sniff(data)
    if sniffed is None:
        what = _describe_non_image(data)
        if what is not None:
            issues.append(Issue("not-an-image", f"not an image: {what[0]} ({len(data):,} bytes)", what[1]))
            return
    info.format = sniffed
    truncated = _END_CHECKS[sniffed](data) if sniffed in _END_CHECKS else None
    if truncated is not None:
        issues.append(Issue("corrupt-image", truncated, _REDOWNLOAD))
    elif sniffed == "JPEG":
        truncated = jpeg_data_shortfall(data)  # a header promising far more pixels than the data can hold
        if truncated is not None:
            issues.append(Issue("corrupt-image", truncated, "re-download or re-export it: its header or its data was "
                                "damaged, and decoders (TensorFlow's too) fill the missing rows without a word"))  # fmt: skip
    meta = metadata_size(data, sniffed)
    if meta is not None and meta[0] > MAX_METADATA_BYTES:
        issues.append(Issue("oversized-metadata",
                            f"{sniffed} metadata of {meta[0]:,} bytes ({meta[1]}), more than {MAX_METADATA_BYTES:,}",
                            "export strips it (the image is re-encoded, pixels unchanged); strip it from the file "
                            "(e.g. exiftool -all= FILE) if other tools read the files"))  # fmt: skip
        if sniffed == "PNG":
            data = strip_png_chunks(data)  # Pillow would hold every text chunk in memory, several times over
    try:
        im = _open_unchecked(data, sniffed)
    except Image.DecompressionBombError:
        raise
    except Exception as exc:
        if truncated is not None:
            return
        if sniffed is None:
            what = _describe_unknown(data)
            issues.append(Issue("not-an-image", f"not an image: {what[0]} ({len(data):,} bytes)", what[1]))
        else:
            issues.append(Issue("corrupt-image", f"{sniffed} header cannot be read: {_reason(exc)} "
                                                 f"({len(data):,} bytes)", _REDOWNLOAD))  # fmt: skip
        return
    fmt = "JPEG" if im.format == "MPO" else (im.format or sniffed)
    info.format, info.mode = fmt, im.mode
    info.width, info.height = width, height = im.size

    ext = posixpath.splitext(path)[1].lower()
    expected = _EXT_FORMAT.get(ext)
    if expected is not None and fmt is not None and fmt != expected:
        new_ext = _FORMAT_EXT.get(fmt, f".{fmt.lower()}")
        issues.append(Issue("extension-mismatch", f"{fmt} data in a file named '{ext}'",
                            f"loaders that trust the extension (tf.io.decode_jpeg) fail on it; rename it to "
                            f"'{new_ext}' or re-encode it as {expected}"))  # fmt: skip
    pixels = width * height
    bomb = settings.max_pixels is not None and pixels > settings.max_pixels
    if bomb:
        issues.append(Issue("decompression-bomb",
                            f"{width:,} x {height:,} = {pixels:,} pixels, more than the limit of "
                            f"{settings.max_pixels:,}; it was not decoded",
                            "a decompression bomb or a huge scan: downscale it, or raise --max-pixels if it is genuine"))  # fmt: skip
    _check_mode(im, fmt, data, issues)
    frames = animation_frames(im)
    if frames is not None:
        issues.append(Issue("animated-image", f"an animated {_ANIMATED.get(fmt or '', fmt)} of {frames}: "
                            "training sees its first frame only",
                            "export stores the first frame (re-encoded); save that frame as a still image, or "
                            "drop the file if the first frame does not show the labels"))  # fmt: skip
    if settings.min_size is not None and (width < settings.min_size[0] or height < settings.min_size[1]):
        mw, mh = settings.min_size
        issues.append(Issue("image-too-small", f"{width} x {height} pixels, smaller than the minimum {mw} x {mh}",
                            "drop it or replace it with a larger copy; --min-size sets the limit"))  # fmt: skip
    if (settings.level == "full" or settings.content) and not bomb and truncated is None:
        if settings.level != "full" and fmt == "JPEG":
            # the content figures alone: a JPEG decodes straight to a reduced copy (DCT scaling, 2-8x faster)
            im.draft(im.mode, content_size(width, height, quality=settings.quality))
        try:
            im.load()
        except Image.DecompressionBombError:
            raise
        except Exception as exc:
            issues.append(Issue("corrupt-image", f"fails to decode: {_reason(exc)} ({len(data):,} bytes)",
                                _REDOWNLOAD))  # fmt: skip
        else:
            if settings.content:
                try:
                    info.content = content_features(im, quality=settings.quality, size=(width, height))
                except Exception:  # a mode the figures cannot be taken of: the image stays out of the content checks
                    info.content = None
    orientation = _orientation(im)
    if orientation in _ORIENTATION:
        issues.append(Issue("exif-orientation",
                            f"EXIF orientation {orientation}: viewers show it {_ORIENTATION[orientation]}, but "
                            "TensorFlow's decoders ignore the tag, so the model sees it as stored",
                            "apply PIL.ImageOps.exif_transpose and re-save (or strip the tag) so every loader "
                            "sees the same pixels"))  # fmt: skip


_ANIMATED = {"GIF": "GIF", "PNG": "PNG (APNG)", "WEBP": "WebP"}


def animation_frames(im: Image.Image) -> str | None:
    """'12 frames' (or 'several frames') when ``im`` is animated (GIF, APNG, animated WebP), else None.

    Cheap: APNG and WebP count their frames in a header; a GIF is only asked whether a second frame exists.
    """
    if not getattr(im, "is_animated", False):
        return None
    if im.format in ("PNG", "WEBP"):
        return f"{getattr(im, 'n_frames', 2):,} frames"
    return "several frames"


# Metadata (text, EXIF, XMP, ICC ...) beyond this is reported, and export strips it: no photo needs 1 MiB of it,
# and a 50 MB text chunk passed through would cost every reader of the shard that much, several times.
MAX_METADATA_BYTES = 1 << 20
# PNG chunks that are image data, not metadata, though ancillary (APNG frames)
_PNG_FRAME_CHUNKS = frozenset({b"acTL", b"fcTL", b"fdAT"})


def metadata_size(data: bytes, fmt: str | None) -> tuple[int, str] | None:
    """(bytes of metadata, what holds most of it) of a JPEG, PNG or WebP, from its chunk headers; else None.

    JPEG: APPn and COM segments; PNG: ancillary chunks (tEXt, zTXt, iTXt, eXIf, iCCP ...) but not the APNG
    frame chunks; WebP: the EXIF, XMP and ICCP chunks. Nothing is decoded.
    """
    sizes: dict[str, int] = {}
    if fmt == "PNG":
        for kind, start, end in _png_chunks(data):
            if 97 <= kind[0] <= 122 and kind not in _PNG_FRAME_CHUNKS:  # ancillary: first letter lower case
                name = kind.decode("latin-1")
                sizes[name] = sizes.get(name, 0) + end - start
    elif fmt == "JPEG":
        pos, n = 2, len(data)
        while pos + 4 <= n and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker == 0xFF:
                pos += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            if marker in (0xDA, 0xD9):  # the first scan: no metadata segments follow that matter here
                break
            length = (data[pos + 2] << 8) | data[pos + 3]
            if 0xE0 <= marker <= 0xEF or marker == 0xFE:
                name = "COM" if marker == 0xFE else f"APP{marker - 0xE0}"
                sizes[name] = sizes.get(name, 0) + length + 2
            pos += 2 + length
    elif fmt == "WEBP":
        pos, n = 12, len(data)
        while pos + 8 <= n:
            kind = data[pos : pos + 4]
            length = int.from_bytes(data[pos + 4 : pos + 8], "little")
            if kind in (b"EXIF", b"XMP ", b"ICCP"):
                name = kind.decode("latin-1").strip()
                sizes[name] = sizes.get(name, 0) + length + 8
            pos += 8 + length + (length & 1)
    else:
        return None
    if not sizes:
        return 0, ""
    biggest = max(sizes, key=lambda k: sizes[k])
    total = sum(sizes.values())
    return total, (f"{biggest} {sizes[biggest]:,} bytes" if len(sizes) > 1 else biggest)


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each whole chunk of a PNG, in order (reading headers only)."""
    out = []
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length = int.from_bytes(data[pos : pos + 4], "big")
        end = pos + 12 + length
        if end > n:
            break
        kind = data[pos + 4 : pos + 8]
        out.append((kind, pos, end))
        pos = end
        if kind == b"IEND":
            break
    return out


def strip_png_chunks(data: bytes, limit: int = 64 << 10) -> bytes:
    """The PNG without its ancillary metadata chunks larger than ``limit`` bytes (pixels untouched)."""
    keep = [data[:8]]
    last = 8
    for kind, start, end in _png_chunks(data):
        if 97 <= kind[0] <= 122 and kind not in _PNG_FRAME_CHUNKS and end - start > limit:
            keep.append(data[last:start])
            last = end
    keep.append(data[last:])
    return b"".join(keep)


def jpeg_data_shortfall(data: bytes) -> str | None:
    """A message when a Huffman-coded JPEG holds too few bytes of scan data for the size its header declares.

    Every 8x8 block of every component costs at least one bit (its DC coefficient), so a header declaring
    9000 x 9000 pixels over a few hundred bytes of data (a 16 x 16 image with its size edited) cannot be
    whole: decoders fill the missing rows with grey and say nothing. Arithmetic-coded and lossless JPEGs
    (no such bound) are left alone.
    """
    pos, n = 2, len(data)
    frame: tuple[int, int, list[tuple[int, int]]] | None = None
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = (data[pos + 2] << 8) | data[pos + 3]
        seg = data[pos + 4 : pos + 2 + length]
        if marker in (0xC0, 0xC1, 0xC2):
            if len(seg) < 6:
                return None
            height, width, count = int.from_bytes(seg[1:3], "big"), int.from_bytes(seg[3:5], "big"), seg[5]
            sampling = [(seg[7 + 3 * k] >> 4, seg[7 + 3 * k] & 15) for k in range(count) if 8 + 3 * k <= len(seg)]
            frame = (width, height, sampling)
        elif 0xC3 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return None  # lossless or arithmetic coding
        elif marker == 0xDA:
            if frame is None or not frame[2] or not frame[0] or not frame[1]:
                return None
            width, height, sampling = frame
            hmax, vmax = max(h for h, _ in sampling) or 1, max(v for _, v in sampling) or 1
            blocks = sum(_ceil(_ceil(width * h, hmax), 8) * _ceil(_ceil(height * v, vmax), 8) for h, v in sampling)
            have = n - (pos + 2 + length)
            need = _ceil(blocks, 8)
            if have >= need:
                return None
            return (f"corrupt: JPEG header declares {width:,} x {height:,} pixels but holds {max(have, 0):,} bytes "
                    f"of scan data, fewer than any encoding of that many pixels needs (at least {need:,}); "
                    "decoders would fill the rest with grey")  # fmt: skip
        pos += 2 + length
    return None


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _check_mode(im: Image.Image, fmt: str | None, data: bytes, issues: list[Issue]) -> None:
    mode = im.mode
    if mode == "CMYK":
        transform = im.info.get("adobe_transform") if fmt == "JPEG" else None
        kind = "YCCK" if transform == 2 else "CMYK"
        issues.append(Issue("cmyk-image", f"{kind} {fmt or 'image'}: 4 colour channels where training expects RGB",
                            "the loader converts it to RGB; convert it once (Image.convert('RGB')) if other tools "
                            "read the files, since some decoders reject it or get the colours wrong"))  # fmt: skip
        return
    depth16 = fmt == "PNG" and len(data) > 24 and data[24] == 16 and not mode.startswith("I")
    if mode in ("RGB", "L") and not depth16:
        return
    words = _MODE_WORDS.get(mode, f"image in the unusual mode {mode}")
    if depth16:
        words = f"16-bit-per-channel {words}"
    if mode == "P" and "transparency" in im.info:
        words += " with a transparent colour"
    notes = []
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in im.info):
        notes.append("transparent pixels lose their transparency (often turning black)")
    if depth16 or mode.startswith("I;16") or mode in ("I", "F"):
        notes.append("values are scaled to 8 bits, and tools that do not scale them clip to white")
    note = f"; {', and '.join(notes)}" if notes else ""
    issues.append(Issue("unusual-mode", f"{words} (Pillow mode {mode})",
                        f"the loader converts it to RGB{note}; convert it once if other tools read the files"))  # fmt: skip


def _orientation(im: Image.Image) -> int | None:
    try:
        if im.format == "PNG":
            # Pillow's PNG getexif() decodes the whole image to reach an eXIf chunk after the pixels.
            raw = im.info.get("exif")
            if not raw:
                return None
            exif = Image.Exif()
            exif.load(raw)
        else:
            exif = im.getexif()
        value = exif.get(0x0112)
    except Exception:
        return None
    return value if isinstance(value, int) else None


def _open_unchecked(data: bytes, sniffed: str | None) -> ImageFile.ImageFile:
    """Image.open without its decompression-bomb check (our own limit replaces it) and never with EPS."""
    fp = io.BytesIO(data)
    prefix = data[:16]
    if sniffed is not None and sniffed in Image.OPEN:
        names: Sequence[str] = (sniffed,)
    else:
        Image.init()
        names = Image.ID
    last: Exception | None = None
    for name in names:
        if name in _NEVER_OPEN or name not in Image.OPEN:
            continue
        factory, accept = Image.OPEN[name]
        ok = accept(prefix) if accept is not None else True
        if not ok or isinstance(ok, str):
            continue
        fp.seek(0)
        try:
            return factory(fp, "")
        except Image.DecompressionBombError:
            raise
        except Exception as exc:  # Image.open catches the same (SyntaxError, struct.error, ...) and tries on
            last = exc
    raise last if last is not None else UnidentifiedImageError("cannot identify image file")


# -- what the bytes are -----------------------------------------------------------------------


def _sniff(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and len(data) >= 26:
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def _describe_non_image(data: bytes) -> tuple[str, str] | None:
    """A description and hint for bytes that are recognisably not a raster image, else None."""
    head = data[:4096]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        text.startswith(b"<") and re.search(rb"<(html|head|body)[\s>]", text)
    ):
        m = _TITLE.search(head)
        title = " ".join(m.group(1).decode("utf-8", "replace").split())[:80] if m else ""
        titled = f" titled '{title}'" if title else ""
        return (f"an HTML page{titled}, probably an error or login page saved by a failed download",
                "re-download the image: the server sent a web page instead")  # fmt: skip
    if text.startswith(b"<?xml") or text.startswith(b"<svg"):
        if b"<svg" in text:
            return ("an SVG drawing (vector graphics), not a raster image",
                    "rasterise it to PNG or JPEG, or drop it from the annotations")  # fmt: skip
        return "an XML document", "replace it with the real image or drop it from the annotations"
    if text[:1] in (b"{", b"[") and len(data) <= 1 << 20:
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass
        else:
            return ("JSON text, probably an API error response saved by a failed download",
                    "re-download the image")  # fmt: skip
    if data[:5] == b"%PDF-":
        return "a PDF document", "export the page as PNG or JPEG, or drop it from the annotations"
    if data[:2] == b"%!":
        return "a PostScript/EPS document", "export it as PNG or JPEG, or drop it from the annotations"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return ("a HEIF/HEIC photo (the iPhone format), which Pillow and TensorFlow do not decode",
                    "convert it to JPEG (pillow-heif, ImageMagick or the phone's export)")  # fmt: skip
        if brand[:3] != b"avi":
            return "an MP4/QuickTime video", "extract a frame as JPEG, or drop it from the annotations"
    if data[:4] == b"PK\x03\x04":
        return "a ZIP archive", "unpack it and list the images inside"
    if data[:2] == b"\x1f\x8b":
        return "gzip-compressed data", "decompress it first"
    return None


def _describe_unknown(data: bytes) -> tuple[str, str]:
    """For bytes no Pillow plugin could open: text, or unknown bytes."""
    head = data[:2048]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the end of the window is still text.
        text = head[: exc.start].decode("utf-8") if exc.start >= len(head) - 3 else ""
    if text and sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * len(text):
        first = " ".join(text.split())[:60]
        return f"a text file starting '{first}'", "replace it with the real image or drop it from the annotations"
    return (f"unknown bytes (starting {data[:8].hex(' ')})",
            "replace it with the real image or drop it from the annotations")  # fmt: skip


# -- is the file complete? Each returns a message when it is cut short, else None ----------------


def _jpeg_end(data: bytes) -> str | None:
    """Walk the header segments to the first scan (SOS), then look for an end-of-image marker after it.

    Entropy-coded data never holds the bytes FF D9 (an FF in it is always followed by 00 or a
    restart marker), so an EOI anywhere after the first scan header closes the image; an EOI
    inside an EXIF thumbnail comes before it and does not count. Bytes after the EOI are fine.
    """
    n = len(data)
    pos = 2
    while pos < n:
        if data[pos] != 0xFF:  # junk between segments; libjpeg skips it with a warning
            pos = data.find(b"\xff", pos)
            if pos < 0:
                break
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return f"corrupt: JPEG ends (end-of-image marker) before any scan data ({n:,} bytes)"
        if 0xD0 <= marker <= 0xD7 or marker in (0x00, 0x01):
            continue
        if pos + 2 > n:
            break
        end = pos + ((data[pos] << 8) | data[pos + 1])
        if end > n:
            break
        if marker == 0xDA:  # SOS
            if data.rfind(b"\xff\xd9", end) >= 0:
                return None
            return f"truncated: JPEG has no end-of-image marker after its scan data ({n:,} bytes)"
        pos = end
    return f"truncated: JPEG ends inside its headers, before any scan data ({n:,} bytes)"


def _png_end(data: bytes) -> str | None:
    """The chunks are whole up to IEND, and every critical chunk (IHDR, PLTE, IDAT, IEND) passes its CRC.

    Pillow ignores a bad CRC where libpng, and so TensorFlow's decode_png, refuses the image ("Invalid PNG
    data"); ancillary chunks with a bad CRC are only dropped by libpng, so they do not count.
    """
    n = len(data)
    pos = 8
    ctype = b"signature"
    while pos + 8 <= n:
        length = int.from_bytes(data[pos : pos + 4], "big")
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end <= n and 65 <= ctype[0] <= 90 and zlib.crc32(data[pos + 4 : end - 4]) != int.from_bytes(
                data[end - 4 : end], "big"):  # fmt: skip
            return (f"corrupt: PNG's {ctype.decode('latin-1')} chunk at byte {pos:,} fails its CRC check, which "
                    f"libpng (and TensorFlow) refuse ({n:,} bytes)")  # fmt: skip
        if ctype == b"IEND":
            if end <= n:
                return None
            return f"truncated: PNG's closing IEND chunk is cut short, {end - n:,} bytes missing ({n:,} bytes)"
        if end > n:
            return (f"truncated: PNG ends inside its {ctype.decode('latin-1')} chunk, {end - n:,} bytes short, "
                    f"with no IEND chunk ({n:,} bytes)")  # fmt: skip
        pos = end
    return f"truncated: PNG has no complete IEND chunk after its {ctype.decode('latin-1')} chunk ({n:,} bytes)"


def _gif_end(data: bytes) -> str | None:
    n = len(data)
    cut = f"truncated: GIF has no trailer (0x3B) after its image data ({n:,} bytes)"
    if n < 13:
        return cut
    pos = 13
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    while pos < n:
        block = data[pos]
        if block == 0x3B:
            return None
        if block == 0x2C:  # image descriptor, optional local colour table, LZW code size, data sub-blocks
            if pos + 10 > n:
                return cut
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        elif block == 0x21:  # extension: label, then sub-blocks
            pos += 2
        else:  # junk between blocks: Pillow skips it a byte at a time, so do we
            pos += 1
            continue
        while pos < n:  # sub-blocks: a size byte, that many bytes; size 0 ends them
            size = data[pos]
            pos += 1 + size
            if size == 0:
                break
        else:
            return cut
    return cut


def _webp_end(data: bytes) -> str | None:
    declared = int.from_bytes(data[4:8], "little") + 8
    if len(data) >= declared:
        return None
    return f"truncated: WEBP header declares {declared:,} bytes but the file has {len(data):,}"


def _bmp_end(data: bytes) -> str | None:
    n = len(data)
    declared = int.from_bytes(data[2:6], "little")
    if declared and n >= declared:
        return None
    # Some writers put 0 or a wrong size in the file header: what the pixel data needs decides.
    needed = declared
    try:
        offset, header = struct.unpack_from("<II", data, 10)
        if header >= 40:
            width, height, _, bpp, compression, image_size = struct.unpack_from("<iiHHII", data, 18)
            if compression in (0, 3, 6):  # uncompressed (RGB, BITFIELDS, ALPHABITFIELDS)
                needed = offset + ((abs(width) * bpp + 31) // 32) * 4 * abs(height)
            elif image_size:
                needed = offset + image_size
    except struct.error:
        return f"truncated: BMP ends inside its header ({n:,} bytes)"
    if needed and n < needed:
        return f"truncated: BMP header declares {max(declared, needed):,} bytes but the file has {n:,}"
    return None


_END_CHECKS: dict[str, Callable[[bytes], str | None]] = {
    "JPEG": _jpeg_end,
    "PNG": _png_end,
    "GIF": _gif_end,
    "WEBP": _webp_end,
    "BMP": _bmp_end,
}


# -- progress ------------------------------------------------------------------------------------


class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, *, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total = total
        self.enabled = enabled and total > 0
        self.stream: Any = stream if stream is not None else sys.stderr
        self.count = 0
        self.start = self.last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.count += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= 0.1 or self.count >= self.total:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = self.count / self.total
        filled = int(frac * 30)
        elapsed = now - self.start
        rate = self.count / max(elapsed, 1e-9)
        # The first results come after the workers start: no estimate before a second and 2% have passed.
        if self.count >= self.total:
            eta = f"{elapsed:4.0f}s      "
        elif elapsed >= 1.0 and frac >= 0.02 and rate > 0:
            eta = f"{(self.total - self.count) / rate:4.0f}s left "
        else:
            eta = "   ...      "
        self.stream.write(f"\rchecking images [{'#' * filled}{'.' * (30 - filled)}] "
                          f"{self.count:,}/{self.total:,} {frac:4.0%}  {eta}")  # fmt: skip
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
