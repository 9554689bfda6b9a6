"""What goes into a shard for one image: its bytes untouched, or normalised once with Pillow.

Passed through untouched (no decoding): JPEG or PNG, 8-bit RGB or 8-bit
grayscale (L), no alpha or transparent colour, not animated, EXIF orientation 1
or absent, at most 1 MiB of metadata, and either no ``resize`` or already the
size ``resize`` asks for. Loaders decode with ``channels=3``, which turns
grayscale into RGB. A JPEG holding too little data for the size its header
declares is refused (decoders would pad it with grey).

Everything else is normalised: EXIF orientation applied
(``ImageOps.exif_transpose``); CMYK/YCCK, palette, HSV/LAB and other colour
modes become 8-bit RGB; 16-bit and 32-bit grayscale are scaled to 8-bit L and
1-bit becomes L; alpha and transparent colours are flattened onto white; then
the optional resize (Lanczos), and re-encoding: PNG sources as PNG (lossless
stays lossless), all others as JPEG at ``quality``. No metadata is kept. An
animation keeps its first frame. Memory stays near the decoded image and its
output (alpha is flattened through a mask, large JPEGs shrunk by ``resize`` are
decoded at a reduced scale).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from labelprep.errors import InputError
from labelprep.imagechunks import MAX_METADATA_BYTES, jpeg_data_shortfall, metadata_size, strip_png_chunks
from labelprep.imageformat import exif_orientation, open_unchecked, sniff

__all__ = ["PASSTHROUGH_RULE", "ImageSettings", "PreparedImage", "parse_resize", "prepare_image"]

PASSTHROUGH_RULE = (
    "JPEG or PNG, 8-bit RGB or grayscale, no alpha or transparent colour, not animated, EXIF orientation 1 or "
    "absent, at most 1 MiB of metadata, and no resize (or already the requested size): stored untouched; anything "
    "else is decoded once (an animation's first frame), "
    "EXIF-rotated, converted to 8-bit RGB (grayscale stays 8-bit grayscale, alpha flattened onto white), "
    "resized, and re-encoded as PNG when the source was PNG, else as JPEG at the given quality"
)
_WHITE = 255


def parse_resize(value: str | int | tuple[int, int] | None) -> tuple[int, int] | int | None:
    """``"224"`` -> 224 (shorter side to 224, keeping the aspect ratio); ``"224x160"`` -> (224, 160) (width x height)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        nums = [value]
    elif isinstance(value, tuple):
        nums = [int(v) for v in value]
    else:
        try:
            nums = [int(p) for p in str(value).lower().replace(" ", "").split("x")]
        except ValueError:
            nums = []
    if len(nums) not in (1, 2) or min(nums, default=0) < 1:
        raise InputError(f"resize must look like 224 (shorter side) or 224x160 (width x height), not {value!r}")
    return nums[0] if len(nums) == 1 else (nums[0], nums[1])


@dataclass(frozen=True)
class ImageSettings:
    """How export treats images: optional resize (shorter side N, or (width, height)) and JPEG quality."""

    resize: tuple[int, int] | int | None = None
    quality: int = 95

    def to_dict(self) -> dict[str, object]:
        r = self.resize
        return {
            "resize": None if r is None else (str(r) if isinstance(r, int) else f"{r[0]}x{r[1]}"),
            "quality": self.quality,
            "passthrough": PASSTHROUGH_RULE,
            "decode_channels": 3,
            "alpha_background": [_WHITE, _WHITE, _WHITE],
        }


@dataclass(frozen=True)
class PreparedImage:
    """The bytes to store, their format (``"jpeg"`` or ``"png"``), their size, and whether they are the source's."""

    data: bytes
    format: str
    height: int
    width: int
    passthrough: bool


def _target_size(size: tuple[int, int], resize: tuple[int, int] | int | None) -> tuple[int, int]:
    if resize is None:
        return size
    if isinstance(resize, tuple):
        return resize
    w, h = size
    if w <= h:
        return resize, max(1, round(h * resize / w))
    return max(1, round(w * resize / h)), resize


def _jpeg_header(data: bytes) -> tuple[int, int, int, int, int | None] | None:
    """(width, height, components, precision, EXIF orientation) from a JPEG's markers, or None if unusual.

    Reads only the segments before the first scan; None (so Pillow decides) for anything but baseline,
    extended or progressive Huffman frames, and for any framing it does not expect.
    """
    pos, n = 2, len(data)
    orientation: int | None = None
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        seg = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and orientation is None and seg[:6] == b"Exif\0\0":
            orientation = _exif_orientation(seg[6:])
        elif marker in (0xC0, 0xC1, 0xC2):
            if len(seg) < 6:
                return None
            height, width = int.from_bytes(seg[1:3], "big"), int.from_bytes(seg[3:5], "big")
            return width, height, seg[5], seg[0], orientation
        elif (0xC3 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)) or marker == 0xDA:
            return None  # lossless or arithmetic coding, or a scan before any frame header
        pos += 2 + length
    return None


def _exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag (0x0112) of IFD0 in EXIF data (a TIFF header and IFDs), or None."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    ifd = int.from_bytes(tiff[4:8], order)  # type: ignore[arg-type]
    if ifd + 2 > len(tiff):
        return None
    count = int.from_bytes(tiff[ifd : ifd + 2], order)  # type: ignore[arg-type]
    for k in range(count):
        e = ifd + 2 + 12 * k
        if e + 12 > len(tiff):
            return None
        if int.from_bytes(tiff[e : e + 2], order) == 0x0112:  # type: ignore[arg-type]
            return int.from_bytes(tiff[e + 8 : e + 10], order)  # type: ignore[arg-type]
    return None


def _png_header(data: bytes) -> tuple[int, int, int, int, bool, int | None] | None:
    """(width, height, bit depth, colour type, has tRNS, EXIF orientation) from the chunks before IDAT."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour = data[24], data[25]
    trns, orientation = False, None
    pos = 33
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind in (b"IDAT", b"IEND"):
            return width, height, depth, colour, trns, orientation
        if kind == b"acTL":  # an animated PNG: only its first frame is stored, re-encoded (as for GIF and WebP)
            return None
        if kind == b"tRNS":
            trns = True
        elif kind == b"eXIf":
            orientation = _exif_orientation(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return None


def _fast_passthrough(data: bytes, settings: ImageSettings) -> PreparedImage | None:
    """The untouched image when its header alone shows it may pass through; None to let Pillow decide.

    Same rule as :func:`_passes` on a Pillow image, read from the JPEG markers or PNG chunks (ten times faster).
    """
    if data[:3] == b"\xff\xd8\xff":
        jpeg = _jpeg_header(data)
        if jpeg is None:
            return None
        width, height, components, precision, orientation = jpeg
        ok, fmt = components in (1, 3) and precision == 8, "jpeg"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        png = _png_header(data)
        if png is None:
            return None
        width, height, depth, colour, trns, orientation = png
        ok, fmt = depth == 8 and colour in (0, 2) and not trns, "png"
    else:
        return None
    if not ok or orientation not in (None, 1) or min(width, height) < 1:
        return None
    if settings.resize is not None and _target_size((width, height), settings.resize) != (width, height):
        return None
    if _too_much_metadata(data, fmt):
        return None
    return PreparedImage(data, fmt, height, width, True)


def _too_much_metadata(data: bytes, fmt: str) -> bool:
    meta = metadata_size(data, fmt.upper())
    return meta is not None and meta[0] > MAX_METADATA_BYTES


def prepare_image(data: bytes, settings: ImageSettings, *, path: str = "") -> PreparedImage:
    """The bytes to store for one image file's ``data`` (see the module docstring for the rule).

    Raises :class:`InputError` naming ``path`` when Pillow cannot read the image.
    """
    sniffed = sniff(data)
    if sniffed == "JPEG":
        short = jpeg_data_shortfall(data)
        if short is not None:  # decoders would pad it silently; the shard would hold a grey image as valid
            raise InputError(f"cannot store the image: {short}", file=path or None,
                             hint="replace it; validate reports it (corrupt-image), and --skip-invalid leaves it "
                                  "out")  # fmt: skip
    fast = _fast_passthrough(data, settings)
    if fast is not None:
        return fast
    opened = strip_png_chunks(data) if sniffed == "PNG" else data  # no 50 MB text chunk held by Pillow
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            im = open_unchecked(opened, sniffed)
            fmt = "JPEG" if im.format == "MPO" else im.format
            if fmt in ("JPEG", "PNG") and _passes(im, fmt, data, settings):
                w, h = im.size
                return PreparedImage(data, fmt.lower(), h, w, True)
            out = _normalise(im, settings)
        except (InputError, MemoryError):
            raise
        except Exception as exc:
            raise InputError(f"cannot read the image: {type(exc).__name__}: {exc}", file=path or None,
                             hint="run labelprep validate --check-images full; pass --skip-invalid to leave "
                                  "unusable images out") from None  # fmt: skip
    buf = io.BytesIO()
    out.info = {}  # no metadata is kept: Pillow would write a JPEG comment or a PNG's ICC profile back out
    if fmt == "PNG":
        out.save(buf, "PNG")
        kind = "png"
    else:
        out.save(buf, "JPEG", quality=settings.quality)
        kind = "jpeg"
    w, h = out.size
    return PreparedImage(buf.getvalue(), kind, h, w, False)


def _passes(im: Image.Image, fmt: str, data: bytes, settings: ImageSettings) -> bool:
    if im.mode not in ("RGB", "L") or "transparency" in im.info or getattr(im, "is_animated", False):
        return False
    if _too_much_metadata(data, fmt):
        return False
    if fmt == "PNG" and (len(data) <= 24 or data[24] != 8):  # IHDR bit depth: 16-bit loses precision in TF
        return False
    if exif_orientation(im) not in (None, 1):
        return False
    return settings.resize is None or _target_size(im.size, settings.resize) == im.size


# Above this many pixels a JPEG that --resize shrinks is decoded at a reduced scale (libjpeg's DCT scaling, at
# least the target size), which needs a fraction of the memory of a full decode.
DRAFT_ABOVE_PIXELS = 4096 * 4096


def _normalise(im: Image.Image, settings: ImageSettings) -> Image.Image:
    if settings.resize is not None and im.format in ("JPEG", "MPO") and im.width * im.height > DRAFT_ABOVE_PIXELS:
        side = max(_target_size(im.size, settings.resize))  # either way round: EXIF rotation comes after
        im.draft(im.mode, (side, side))
    im.load()
    if exif_orientation(im) not in (None, 1):  # exif_transpose copies the whole image even when there is nothing to do
        im = ImageOps.exif_transpose(im) or im
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im, dtype=np.int64)
        # 16-bit data (every PNG and TIFF of that depth) is scaled, not clipped: 65535 -> 255.
        if mode.startswith("I;16") or int(arr.max(initial=0)) > 255:
            arr = (arr.clip(0, 65535) * 255 + 32767) // 65535
        im = Image.fromarray(arr.clip(0, 255).astype(np.uint8), "L")
    elif mode == "F":
        im = Image.fromarray(np.asarray(im, dtype=np.float64).clip(0, 255).round().astype(np.uint8), "L")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("P", "PA"):
        im = im.convert("RGBA")
    elif mode in ("La", "RGBa"):
        im = im.convert("RGBA" if mode == "RGBa" else "LA")
    if im.mode in ("L", "RGB") and "transparency" in im.info:
        im = im.convert("LA" if im.mode == "L" else "RGBA")
    if im.mode in ("LA", "RGBA"):
        # onto white through the alpha band as a mask: the same pixels as alpha_composite, without its three
        # extra full-size RGBA copies (a 9000 x 9000 RGBA PNG: 0.7 GB instead of 1.7 GB)
        flat = Image.new("RGB" if im.mode == "RGBA" else "L", im.size, (_WHITE,) * (3 if im.mode == "RGBA" else 1))
        flat.paste(im if im.mode == "RGBA" else im.getchannel(0), mask=im.getchannel("A") if im.mode == "LA" else im)
        im = flat
    elif im.mode not in ("L", "RGB"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
    size = _target_size(im.size, settings.resize)
    if size != im.size:
        im = im.resize(size, Image.Resampling.LANCZOS)
    return im
