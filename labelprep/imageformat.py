"""What a file's bytes are: the format by its magic bytes, a description of what is not an image, and Pillow
opened safely (no decompression-bomb check, which callers replace with their own limit; never EPS).

Shared by the image checks (:mod:`labelprep.checks.images`) and export (:mod:`labelprep.shards.images`). Reads
headers only: nothing here decodes pixels.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence

from PIL import Image, ImageFile, UnidentifiedImageError

__all__ = ["animation_frames", "describe_non_image", "describe_unknown", "exif_orientation", "open_unchecked",
           "sniff"]  # fmt: skip

# Plugins never used: EPS needs Ghostscript, a subprocess and a security risk, to rasterise anything.
_NEVER_OPEN = frozenset({"EPS"})


def sniff(data: bytes) -> str | None:
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


def describe_non_image(data: bytes) -> tuple[str, str] | None:
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


def describe_unknown(data: bytes) -> tuple[str, str]:
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


def open_unchecked(data: bytes, sniffed: str | None) -> ImageFile.ImageFile:
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


def exif_orientation(im: Image.Image) -> int | None:
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


def animation_frames(im: Image.Image) -> str | None:
    """'12 frames' (or 'several frames') when ``im`` is animated (GIF, APNG, animated WebP), else None.

    Cheap: APNG and WebP count their frames in a header; a GIF is only asked whether a second frame exists.
    """
    if not getattr(im, "is_animated", False):
        return None
    if im.format in ("PNG", "WEBP"):
        return f"{getattr(im, 'n_frames', 2):,} frames"
    return "several frames"

