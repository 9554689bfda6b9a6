"""Walking an image file's chunks and segments, without decoding: is it complete, and how much metadata it holds.

:func:`truncation` finds a file cut short or damaged by its format's own structure (the JPEG end-of-image
marker after the scan data, PNG's IEND and chunk CRCs, the GIF trailer, the RIFF and BMP sizes);
:func:`metadata_size` and :func:`strip_png_chunks` measure and drop metadata; :func:`jpeg_data_shortfall`
finds a JPEG whose header promises more pixels than its data can hold.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

__all__ = ["MAX_METADATA_BYTES", "jpeg_data_shortfall", "metadata_size", "strip_png_chunks", "truncation"]

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


def truncation(data: bytes, fmt: str | None) -> str | None:
    """A message when ``data`` (of format ``fmt``: JPEG, PNG, GIF, WEBP, BMP) is cut short or damaged, else None.

    Other formats are not walked (None).
    """
    check = _END_CHECKS.get(fmt or "")
    return check(data) if check is not None else None
