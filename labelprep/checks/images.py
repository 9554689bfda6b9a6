"""Image checks: is each file an image a training loader can decode, and does anything about it need care?

Level ``header`` reads each file once: the magic bytes, Pillow's header (size,
mode, EXIF orientation) and the format's own end marker, which finds truncated
files without decoding any pixels. Level ``full`` also decodes every image.
Pillow's decompression-bomb guard is bypassed while opening (the size comes from
the header) and replaced by our own limit, so neither its error nor its warning
escapes. Files are checked in worker processes (a file that crashes a decoder
is reported, not fatal); results can be cached by path, size and mtime. What the
bytes are (:mod:`labelprep.imageformat`) and whether the file is complete
(:mod:`labelprep.imagechunks`) are read from the headers, without decoding.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import posixpath
import stat
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import PIL
from PIL import Image

from labelprep.checks.base import Issue
from labelprep.checks.cache import ResultCache, file_key
from labelprep.checks.content import Content, content_features, content_size
from labelprep.errors import InputError
from labelprep.executor import Executor, LocalExecutor, WorkerLost
from labelprep.imagechunks import MAX_METADATA_BYTES, jpeg_data_shortfall, metadata_size, strip_png_chunks, truncation
from labelprep.imageformat import (
    animation_frames,
    describe_non_image,
    describe_unknown,
    exif_orientation,
    open_unchecked,
    sniff,
)
from labelprep.progress import Progress
from labelprep.storage import is_remote, is_url

__all__ = ["LEVELS", "CheckSettings", "ImageInfo", "check_chunk", "check_images", "run_checks"]

LEVELS = ("header", "full")
_CACHE_VERSION = 5  # bump when a check changes what it reports
_INLINE_BELOW = {"header": 400, "full": 40}  # fewer files than this: no worker processes
_HEADER_CHUNK_FACTOR = 16  # header checks: this many times the executor's items a task

# Formats a loader picks by extension; a file whose bytes say otherwise gets extension-mismatch.
_EXT_FORMAT = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".jif": "JPEG",
    ".png": "PNG", ".gif": "GIF", ".webp": "WEBP", ".bmp": "BMP", ".dib": "BMP",
    ".tif": "TIFF", ".tiff": "TIFF", ".avif": "AVIF", ".jp2": "JPEG2000", ".j2k": "JPEG2000",
    ".ppm": "PPM", ".pgm": "PPM", ".pbm": "PPM", ".pnm": "PPM", ".tga": "TGA", ".ico": "ICO", ".qoi": "QOI",
}  # fmt: skip
_FORMAT_EXT = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}

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
class CheckSettings:
    """What :func:`check_chunk` checks: the level, the pixel limit, the minimum size, and the content figures."""

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
    engine: Executor | None = None,
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
    draws a bar on stderr (pass ``sys.stderr.isatty()``). ``engine``, an
    :class:`labelprep.executor.Executor` (a Dask one runs the checks as Dask
    tasks), replaces the ``workers`` processes (the cache stays here: looked up
    before, filled after). A remote URL
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
    settings = CheckSettings(level, limit, (int(min_size[0]), int(min_size[1])) if min_size is not None else None,
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

    bar = Progress(len(todo), label="checking images", enabled=progress)
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
        run_checks(todo, settings, engine if engine is not None else LocalExecutor(workers), done, remote=remote)
    finally:
        bar.close()
        if cache is not None:
            cache.put_many(pending)
            cache.close()
    return {p: results[p] for p in unique}


def _cache_settings(s: CheckSettings) -> str:
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


# -- running: here, in worker processes, in threads (URLs), or as Dask tasks ----------------------


def run_checks(todo: list[tuple[str, str]], settings: CheckSettings, executor: Executor,
               done: Callable[[ImageInfo], None], *, remote: bool = False) -> None:  # fmt: skip
    """Check ``todo`` ((path as listed, absolute path or URL) pairs) in chunks on ``executor``; ``done`` each result.

    A chunk whose worker died is checked again one file a task, to learn which file crashes the decoder: that
    file is reported as corrupt-image. URLs (``remote``) are fetched in batches, in threads of this process
    (local worker processes cannot see a ``memory://`` store); Dask workers fetch them themselves.
    """
    if not todo:
        return
    io = remote and not executor.distributed
    if io:
        size = executor.task_items
        slots = 1
    else:
        if os.path.exists(todo[0][1]):
            executor.require_visible(todo[0][1], "the image")
        slots = executor.slots()
        # a header check costs tens of microseconds, a decode milliseconds: header chunks are larger, or sending
        # tasks and results between processes would cost more than the checks (2 workers slower than 1)
        items = executor.task_items * (_HEADER_CHUNK_FACTOR if settings.level == "header" and not settings.content
                                       else 1)  # fmt: skip
        size = max(1, min(items, len(todo) // (slots * 8)))
    small = len(todo) < max(_INLINE_BELOW["full" if settings.content else settings.level], 2 * slots)
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    check = functools.partial(check_chunk, settings=settings)
    lost: list[int] = []

    def chunk_done(_: int, infos: list[ImageInfo]) -> None:
        for info in infos:
            done(info)

    executor.run(check, chunks, chunk_done, lost=lambda i, _: lost.append(i), name="check-images",
                 what="checking images", small=small, io=io)  # fmt: skip
    if not lost:
        return
    singles = [[job] for i in sorted(lost) for job in chunks[i]]

    def crashed(i: int, exc: WorkerLost) -> None:
        done(ImageInfo(singles[i][0][0], [Issue("corrupt-image", f"crashed the image decoder (its {exc.worker} died)",
                                                "remove or replace the file; decoding it would crash the training "
                                                "job too")]))  # fmt: skip

    executor.run(check, singles, chunk_done, lost=crashed, name="check-image", what="checking images", isolate=True)


def check_chunk(chunk: list[tuple[str, str]], settings: CheckSettings) -> list[ImageInfo]:
    """Check a chunk of (path as listed, absolute path or URL) pairs: the task :func:`run_checks` runs."""
    if chunk and is_url(chunk[0][1]):  # a remote root: a Dask worker reads the URLs itself
        return _check_urls(chunk, settings)
    return [_check_one(target, p, settings) for p, target in chunk]


def _check_urls(chunk: list[tuple[str, str]], settings: CheckSettings) -> list[ImageInfo]:
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


def _check_one(target: str, path: str, settings: CheckSettings) -> ImageInfo:
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


def _check_data(data: bytes, path: str, settings: CheckSettings, info: ImageInfo) -> ImageInfo:
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


_ANIMATED = {"GIF": "GIF", "PNG": "PNG (APNG)", "WEBP": "WebP"}


# -- one file's bytes ---------------------------------------------------------------------


def _inspect(data: bytes, path: str, settings: CheckSettings, info: ImageInfo) -> None:
    issues = info.issues
    sniffed = sniff(data)
    if sniffed is None:
        what = describe_non_image(data)
        if what is not None:
            issues.append(Issue("not-an-image", f"not an image: {what[0]} ({len(data):,} bytes)", what[1]))
            return
    info.format = sniffed
    truncated = truncation(data, sniffed)
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
        im = open_unchecked(data, sniffed)
    except Image.DecompressionBombError:
        raise
    except Exception as exc:
        if truncated is not None:
            return
        if sniffed is None:
            what = describe_unknown(data)
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
    orientation = exif_orientation(im)
    if orientation in _ORIENTATION:
        issues.append(Issue("exif-orientation",
                            f"EXIF orientation {orientation}: viewers show it {_ORIENTATION[orientation]}, but "
                            "TensorFlow's decoders ignore the tag, so the model sees it as stored",
                            "apply PIL.ImageOps.exif_transpose and re-save (or strip the tag) so every loader "
                            "sees the same pixels"))  # fmt: skip



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




