"""Content checks from decoded pixels: near-duplicates, and images that should not train.

:func:`content_features` runs in the image-check worker right after the full
decode (``--check-images full``) and keeps a few numbers per image, cached with
the other image results: a fingerprint of the decoded pixels, perceptual hashes, and
exposure, contrast, blur and colour figures. The decisions are made afterwards,
over the whole dataset, by :func:`near_duplicate_pairs` and
:func:`quality_issues`; both are pure functions of those numbers.

The perceptual hash is a DCT hash (pHash): the image in grayscale, box-resized
to 32 x 32, its 2-D DCT, and the signs of the 12 x 12 lowest frequencies but the
DC term: 143 bits. A sign, not a comparison with the median, because a mirror
image has the same DCT with the sign of every odd horizontal (or vertical)
frequency flipped, and a transposed image the transposed block: so the hashes
of all eight flips and 90-degree rotations follow from one DCT by flipping
fixed bits and permuting them, without decoding or hashing anything again.
Each image is also hashed at its central 95% and 90%, so that a copy with a
small border cropped off matches its original. Two images are near-duplicates
when the Hamming distance between one's hash and any orientation of any of the
other's three hashes is at most the threshold (26 of 143 bits by default; the
README gives the measurement that chose it). Candidates are found without
comparing every pair: each hash's 20 lowest-frequency bits (the most stable
ones) index a table, and each image looks up every key within 3 bits of its own.
Identical decoded pixels (a PNG copy of a JPEG) are near-duplicates at any
distance: images whose reduced copies have the same SHA-256 are decoded again
and compared pixel for pixel.

Quality figures: luminance (ITU-R 601) percentiles for dark and overexposed
images, its spread for near-constant ones, the blur effect of Crete et al.
(2007, "The blur effect: perception and estimation with a new no-reference
perceptual blur metric"), and the spread between colour channels for grayscale
images stored as colour. Aspect ratio and size are judged against the dataset's
median.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from labelprep.checks.base import Issue

__all__ = [
    "HASH_BITS",
    "Content",
    "Pair",
    "Thresholds",
    "content_features",
    "content_size",
    "contrast",
    "groups",
    "near_duplicate_pairs",
    "quality_issues",
    "same_pixels",
]

_SIDE = 32  # the thumbnail the DCT is taken of
_BLOCK = 12  # the low-frequency block kept: 12 x 12 less the DC term
HASH_BITS = _BLOCK * _BLOCK - 1
_SCALES = (1.0, 0.95, 0.90)  # the whole image, then its central 95% and 90% (small border crops)
_KEY_DIAGONALS = 5  # the key: coefficients with u + v <= 5, 20 bits
_PROBE_RADIUS = 3  # a near-duplicate's key differs from its original's in at most this many bits (measured)
_MAX_SIDE = 256  # quality figures are taken on a copy reduced to at most this long side (about what a model sees)
_FLAT = 1.5  # thumbnail standard deviation (grey levels) under which an image has too little to hash
_GRID = 4  # the chroma grid: 4 x 4 cells
_CHROMA_COS = 0.9  # near-duplicates with colour: their chroma grids agree (cosine similarity) at least this much
_CHROMA_MIN = 40.0  # a chroma grid with less energy (norm) than this has no colour to compare
_CHUNK_CANDIDATES = 4_000_000  # candidate pairs checked at a time

_DCT = np.cos(np.pi * (2 * np.arange(_SIDE)[None, :] + 1) * np.arange(_SIDE)[:, None] / (2 * _SIDE))[:_BLOCK]


@dataclass(frozen=True)
class Content:
    """What one decoded image leaves behind for the content checks (cached with the image results)."""

    fingerprint: str  # SHA-256 (32 hex) of the size and the ~64-pixel reduced copy: equal pixels, equal fingerprint
    hashes: tuple[str, ...] | None  # per scale (1, 0.95, 0.9): the 143 DCT sign bits as hex; None: too flat
    chroma: tuple[int, ...] | None  # mean Cb then Cr (less 128) of a 4 x 4 grid of the image, 32 numbers
    mean: float  # luminance mean, 0-255
    low: float  # luminance 5th percentile
    high: float  # luminance 95th percentile
    spread: float  # standard deviation of the 32 x 32 thumbnail's luminance (structure, not noise)
    blur: float  # Crete et al. blur effect, 0 (sharp) to 1 (blurred)
    colour: float  # 99th percentile of a pixel's largest difference between channels (0 for grayscale)
    gray_mode: bool  # stored as a grayscale mode (L, I;16, ...), not as colour

    def to_list(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def from_list(cls, data: Sequence[Any]) -> Content:
        values = list(data)
        if values[1] is not None:
            values[1] = tuple(values[1])
        if values[2] is not None:
            values[2] = tuple(values[2])
        return cls(*values)


# -- in the worker: one decoded image -------------------------------------------------------------------------------

_GRAY_MODES = frozenset({"L", "LA", "La", "1", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def content_size(width: int, height: int, *, quality: bool) -> tuple[int, int]:
    """The smallest size the content figures need of a ``width`` x ``height`` image (for a JPEG's draft mode)."""
    scale = 2 * _SIDE / min(width, height)
    if quality:
        scale = max(scale, _MAX_SIDE / max(width, height))
    scale = min(1.0, scale)
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def content_features(im: Image.Image, *, quality: bool = True, size: tuple[int, int] | None = None) -> Content:
    """The content figures of one decoded image (call after ``im.load()``).

    ``size`` is the image's own size when ``im`` was decoded reduced (a JPEG's draft mode).

    Everything is taken from a copy reduced by a box filter to about 64 pixels on the short side, so the
    cost hardly grows with the image; the blur effect from a copy of at most 256 pixels on the long side, about
    what a model sees. Without ``quality`` only what near-duplicates need is taken (the rest is NaN).
    """
    gray_mode = im.mode in _GRAY_MODES
    rgb = im if im.mode in ("RGB", "L") else im.convert("L" if gray_mode else "RGB")
    # averaging keeps equal channels equal, and evens out the chroma noise of a JPEG of a grayscale image
    step = max(1, min(rgb.size) // (2 * _SIDE))
    tiny = rgb.reduce(step) if step > 1 else rgb
    tiny_gray = tiny if tiny.mode == "L" else tiny.convert("L")

    thumbs = [np.asarray(tiny_gray.resize((_SIDE, _SIDE), Image.Resampling.BOX, box=_box(tiny.size, s)),
                         dtype=np.float64) for s in _SCALES]  # fmt: skip
    spread = float(thumbs[0].std())
    hashes = tuple(_hash_bits(t) for t in thumbs) if spread >= _FLAT else None
    chroma = None
    if hashes is not None and tiny.mode == "RGB":
        grid = np.asarray(tiny.convert("YCbCr").resize((_GRID, _GRID), Image.Resampling.BOX), dtype=np.int16)
        chroma = tuple((np.concatenate([grid[..., 1].ravel(), grid[..., 2].ravel()]) - 128).tolist())
    width, height = size or im.size
    fingerprint = hashlib.sha256(f"{width}x{height};{tiny.mode};".encode() + tiny.tobytes()).hexdigest()[:32]

    mean = low = high = colour = blurred = math.nan
    if quality:
        hist = np.array(tiny_gray.histogram(), dtype=np.float64)
        cdf = np.cumsum(hist) / hist.sum()
        mean = round(float(hist @ np.arange(256, dtype=np.float64) / hist.sum()), 2)
        low, high = float(np.searchsorted(cdf, 0.05)), float(np.searchsorted(cdf, 0.95))
        colour = 0.0
        if tiny.mode == "RGB":
            arr = np.asarray(tiny)
            r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
            apart = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
            colour = float(np.searchsorted(np.cumsum(np.bincount(apart.ravel(), minlength=256)), 0.99 * apart.size))
        factor = max(1, math.ceil(max(rgb.size) / _MAX_SIDE))
        small = rgb.reduce(factor) if factor > 1 else rgb
        blurred = round(_blur_effect(small if small.mode == "L" else small.convert("L")), 4)
    return Content(fingerprint, hashes, chroma, mean, low, high, round(spread, 3), blurred, colour, gray_mode)


def _box(size: tuple[int, int], scale: float) -> tuple[float, float, float, float]:
    w, h = size
    dx, dy = w * (1 - scale) / 2, h * (1 - scale) / 2
    return (dx, dy, w - dx, h - dy)


def _hash_bits(thumb: npt.NDArray[np.float64]) -> str:
    block = _DCT @ thumb @ _DCT.T
    bits = (block.ravel()[1:] > 0).astype(np.uint8)
    return np.packbits(bits).tobytes().hex()


def _blur_effect(gray: Image.Image) -> float:
    """Crete et al.'s blur effect: how little of the variation between neighbours a 9-pixel blur removes.

    Per direction: the summed absolute differences between neighbouring pixels (``s_f``), and how much of
    them a 1 x 9 box blur along that direction takes away (``s_v``); blur is ``(s_f - s_v) / s_f``, the
    larger of the two directions. Every fourth row (and column) is enough for the sums, at a quarter of the cost.
    """
    a = np.asarray(gray, dtype=np.float32)
    if min(a.shape) < 3:
        return 0.0
    out = 0.0
    for lines in (a[::4], a[:, ::4].T):
        padded = np.pad(lines, ((0, 0), (5, 4)), mode="edge")
        sums = np.cumsum(padded, axis=1)
        blurred = (sums[:, 9:] - sums[:, :-9]) / 9
        d_f = np.abs(np.diff(lines, axis=1))
        d_b = np.abs(np.diff(blurred, axis=1))
        s_f = float(d_f.sum())
        if s_f == 0:
            return 1.0  # no variation at all: nothing sharp
        s_v = float(np.maximum(d_f - d_b, 0).sum())
        out = max(out, (s_f - s_v) / s_f)
    return out


# -- over the dataset: near-duplicates -----------------------------------------------------------------------------


def _orientation_tables() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_], list[str]]:
    """For each of the 8 orientations: the bit permutation, the bits whose sign flips, and a name."""
    u, v = np.divmod(np.arange(1, _BLOCK * _BLOCK), _BLOCK)
    transposed = (v * _BLOCK + u) - 1
    perms, masks, names = [], [], []
    for t, fh, fv in itertools.product((0, 1), (0, 1), (0, 1)):
        flip = ((v % 2 == 1) & bool(fh)) ^ ((u % 2 == 1) & bool(fv))
        if t:
            perms.append(transposed)
            masks.append(flip[transposed])
        else:
            perms.append(np.arange(HASH_BITS))
            masks.append(flip)
        names.append(_ORIENTATION_NAMES[(t, fh, fv)])
    return np.stack(perms), np.stack(masks), names


_ORIENTATION_NAMES = {
    (0, 0, 0): "",
    (0, 1, 0): "mirrored left to right",
    (0, 0, 1): "mirrored top to bottom",
    (0, 1, 1): "rotated 180°",
    (1, 0, 0): "mirrored along a diagonal",
    (1, 1, 0): "rotated 90°",
    (1, 0, 1): "rotated 90°",
    (1, 1, 1): "mirrored along a diagonal",
}
_PERMS, _MASKS, ORIENTATIONS = _orientation_tables()
_U, _V = np.divmod(np.arange(1, _BLOCK * _BLOCK), _BLOCK)


def _grid_perms() -> npt.NDArray[np.intp]:
    """For each orientation, where each cell of the oriented 4 x 4 grid comes from (as the DCT tables turn it)."""
    y, x = np.divmod(np.arange(_GRID * _GRID), _GRID)
    out = []
    for t, fh, fv in itertools.product((0, 1), (0, 1), (0, 1)):
        yy, xx = (x, y) if t else (y, x)  # the oriented grid's cell (y, x) is the mirrored grid's (x, y) when turned
        xx = _GRID - 1 - xx if fh else xx
        yy = _GRID - 1 - yy if fv else yy
        out.append(yy * _GRID + xx)
    cells = np.stack(out)
    return np.concatenate([cells, cells + _GRID * _GRID], axis=1)  # Cb cells, then Cr cells


_GRID_PERMS = _grid_perms()
_KEY_BITS = np.flatnonzero(_U + _V <= _KEY_DIAGONALS)  # 20 positions, closed under transposition


def _unpack(hexes: Sequence[str]) -> npt.NDArray[np.bool_]:
    raw = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(len(hexes), -1)
    return np.unpackbits(raw, axis=1)[:, :HASH_BITS].astype(bool)


def _pack(bits: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64]:
    """Rows of 143 bits as 3 uint64 words each."""
    padded = np.zeros((bits.shape[0], 192), dtype=np.uint8)
    padded[:, :HASH_BITS] = bits
    return np.packbits(padded, axis=1).view(np.uint64)


@dataclass(frozen=True)
class Pair:
    """Two near-duplicate images (indices into the list given), and how they relate."""

    a: int
    b: int
    distance: int  # Hamming distance in bits; 0 with ``same_pixels``
    orientation: str = ""  # how b is turned relative to a ("" when not), from ORIENTATIONS
    cropped: bool = False  # matched by a centre crop of one of them
    same_pixels: bool = False

    def how(self) -> str:
        if self.same_pixels:
            return "identical pixels"
        what = [x for x in (self.orientation, "cropped" if self.cropped else "") if x]
        return f"{', '.join(what) + ', ' if what else ''}Hamming distance {self.distance} of {HASH_BITS} bits"


def near_duplicate_pairs(items: Sequence[Content | None], max_distance: int,
                         same_pixels: Callable[[int, int], bool] | None = None) -> list[Pair]:  # fmt: skip
    """Every pair of near-duplicate images among ``items`` (None: not decoded), each once, ``a < b``.

    Images with equal fingerprints are offered to ``same_pixels(a, b)``, which compares their decoded
    pixels; a pair it confirms is a near-duplicate whatever its hash distance (flat images included).
    Without it, equal fingerprints count as equal pixels.
    """
    out: dict[tuple[int, int], Pair] = {}
    by_print: dict[str, list[int]] = {}
    for i, c in enumerate(items):
        if c is not None:
            by_print.setdefault(c.fingerprint, []).append(i)
    for members in by_print.values():
        confirmed: list[int] = []  # each member joins the first earlier member with the same pixels
        for i in members:
            for j in confirmed:
                if same_pixels is None or same_pixels(j, i):
                    out[(j, i)] = Pair(j, i, 0, same_pixels=True)
                    break
            else:
                confirmed.append(i)
    hashed = [(i, c) for i, c in enumerate(items) if c is not None and c.hashes is not None]
    if len(hashed) >= 2:
        for p in _hash_pairs([c.hashes for _, c in hashed if c.hashes], max_distance, [c.chroma for _, c in hashed]):
            a, b = hashed[p.a][0], hashed[p.b][0]
            if (a, b) not in out:
                out[(a, b)] = Pair(a, b, p.distance, p.orientation, p.cropped)
    return sorted(out.values(), key=lambda p: (p.a, p.b))


def same_pixels(a: str, b: str) -> bool:
    """Whether two image files decode to the same mode, size and pixels (False when either cannot be read)."""
    try:
        with Image.open(a) as x, Image.open(b) as y:
            if x.size != y.size:
                return False
            x.load()
            y.load()
            if x.mode != y.mode:
                x, y = x.convert("RGBA"), y.convert("RGBA")  # type: ignore[assignment]
            return x.tobytes() == y.tobytes()
    except Exception:
        return False


def _probe_masks() -> npt.NDArray[np.int64]:
    n = len(_KEY_BITS)
    masks = [0]
    for r in range(1, _PROBE_RADIUS + 1):
        masks += [sum(1 << b for b in combo) for combo in itertools.combinations(range(n), r)]
    return np.array(masks, dtype=np.int64)


_PROBES = _probe_masks()
_KEY_WEIGHTS = (1 << np.arange(len(_KEY_BITS), dtype=np.int64))


def _same_colours(chroma: npt.NDArray[np.float32], a: npt.NDArray[np.int64],
                  entry: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:  # fmt: skip
    """Whether query images ``a`` and hash entries ``entry`` agree in colour (or either has too little to say)."""
    # the query as stored (not turned); the entry's image turned as the entry is (a crop's grid differs little)
    x, y = chroma[a, 0], chroma[entry // (len(_SCALES) * 8), entry % 8]
    nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
    colourless = (nx < _CHROMA_MIN) | (ny < _CHROMA_MIN)
    cos = (x * y).sum(axis=1) / np.maximum(nx * ny, 1e-9)
    return colourless | (cos >= _CHROMA_COS)


def _hash_pairs(hashes: Sequence[tuple[str, ...]], max_distance: int,
                grids: Sequence[tuple[int, ...] | None] | None = None) -> list[Pair]:  # fmt: skip
    n, scales = len(hashes), len(_SCALES)
    chroma = None
    if grids is not None:
        g = np.zeros((n, 2 * _GRID * _GRID), dtype=np.float32)
        for i, c in enumerate(grids):
            if c is not None:
                g[i] = c
        chroma = g[:, _GRID_PERMS]  # (n, 8, 32): each image's grid in every orientation
    bits = _unpack([h for hs in hashes for h in hs]).reshape(n, scales, HASH_BITS)
    variants = bits[:, :, _PERMS] ^ _MASKS[None, None, :, :]  # (n, scales, 8, bits)
    flat = variants.reshape(-1, HASH_BITS)
    words = _pack(flat)  # entry e = (image, scale, orientation) in C order
    keys = flat[:, _KEY_BITS].astype(np.int64) @ _KEY_WEIGHTS
    query_words = words.reshape(n, scales * 8, 3)[:, 0]  # scale 1, as stored
    query_keys = keys.reshape(n, scales * 8)[:, 0]
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=1 << len(_KEY_BITS))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    per_query = max(1, int(counts.mean() * len(_PROBES)))
    step = max(1, _CHUNK_CANDIDATES // per_query)
    found_a, found_e, found_d = [], [], []
    for lo in range(0, n, step):
        q = np.arange(lo, min(n, lo + step))
        probes = (query_keys[q][:, None] ^ _PROBES[None, :]).ravel()
        lens = counts[probes]
        nz = np.flatnonzero(lens)
        if not len(nz):
            continue
        lens, first = lens[nz], starts[probes[nz]]
        qi = q[nz // len(_PROBES)]
        ends = np.cumsum(lens)
        pos = np.repeat(first - ends + lens, lens) + np.arange(int(ends[-1]))
        entry = order[pos]
        a = np.repeat(qi, lens)
        keep = entry // (scales * 8) != a
        entry, a = entry[keep], a[keep]
        dist = np.bitwise_count(query_words[a] ^ words[entry]).sum(axis=1, dtype=np.int64)
        ok = dist <= max_distance
        if chroma is not None and ok.any():
            ok[ok] = _same_colours(chroma, a[ok], entry[ok])
        found_a.append(a[ok])
        found_e.append(entry[ok])
        found_d.append(dist[ok])
    if not found_a:
        return []
    a = np.concatenate(found_a)
    e = np.concatenate(found_e)
    d = np.concatenate(found_d)
    b, rest = np.divmod(e, scales * 8)
    scale, orient = np.divmod(rest, 8)
    lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
    best = np.lexsort((scale, d, hi_, lo_))  # per pair: the smallest distance, an uncropped match first
    pairs: dict[tuple[int, int], Pair] = {}
    for k in best.tolist():
        key = (int(lo_[k]), int(hi_[k]))
        if key not in pairs:
            pairs[key] = Pair(key[0], key[1], int(d[k]), ORIENTATIONS[int(orient[k])], bool(scale[k]))
    return list(pairs.values())


def groups(n: int, pairs: Sequence[Pair]) -> list[list[int]]:
    """Connected groups (of two or more) of ``n`` items joined by ``pairs``, each sorted, in order of first item."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        ra, rb = find(p.a), find(p.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(find(i), []).append(i)
    return [g for g in out.values() if len(g) > 1]


# -- over the dataset: images that should not train ----------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Limits of the content checks; ``[tool.labelprep.thresholds]`` names them with hyphens.

    The defaults were chosen on measured data (README, "Content checks").
    """

    near_duplicate: int = 26  # Hamming distance (of 143 bits) at most this: near-duplicates
    dark: float = 64.0  # 95% of the pixels darker than this luminance (0-255): dark-image
    light: float = 190.0  # 95% of the pixels brighter than this: light-image
    low_information: float = 0.05  # contrast (see :func:`contrast`) under this: low-information
    blurry: float = 0.8  # blur effect (0 sharp .. 1 blurred) at least this: blurry-image
    grayscale: float = 3.0  # 99% of pixels with channels at most this far apart: grayscale-image
    aspect_ratio: float = 2.0  # long/short side this many times the dataset's median (either way): odd-aspect-ratio
    size: float = 3.0  # side (square root of the area) this many times the median, or its inverse: odd-size
    min_images: int = 10  # relative checks (aspect, size, grayscale share) need at least this many images

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str | None = None) -> Thresholds:
        from labelprep.errors import InputError

        known = {f.name.replace("_", "-"): f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            name = str(key).replace("_", "-")
            if name not in known:
                raise InputError(f"unknown threshold {key!r}", file=where, hint=f"known: {', '.join(known)}")
            f = known[name]
            is_int = f.type in ("int", int)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (is_int and not float(value).is_integer()):
                raise InputError(f"threshold {name} must be a {'whole ' if is_int else ''}number, not {value!r}",
                                 file=where)  # fmt: skip
            if value < 0:
                raise InputError(f"threshold {name} must not be negative, not {value!r}", file=where)
            kwargs[f.name] = int(value) if is_int else float(value)
        return cls(**kwargs)


def contrast(c: Content) -> float:
    """The thumbnail's luminance spread over the room the mean leaves towards black or white (plus 20 levels).

    A flat image has none at any brightness; a dark (or overexposed) photo keeps its contrast relative to
    how close to black (or white) it was squeezed, which an absolute spread would call flat.
    """
    return c.spread / (min(c.mean, 255 - c.mean) + 20)


def quality_issues(items: Sequence[tuple[Content | None, int | None, int | None]],
                   th: Thresholds) -> dict[int, list[Issue]]:  # fmt: skip
    """Issues per index of ``items`` ((content, width, height) of each distinct image; content None: not decoded)."""
    out: dict[int, list[Issue]] = {}

    def add(i: int, issue: Issue) -> None:
        out.setdefault(i, []).append(issue)

    decoded = [(i, c) for i, (c, _, _) in enumerate(items) if c is not None]
    sized = [(i, w, h) for i, (c, w, h) in enumerate(items) if c is not None and w and h]
    flat: set[int] = set()
    for i, c in decoded:
        if contrast(c) < th.low_information:
            flat.add(i)
            add(i, Issue("low-information", f"nearly one flat colour (contrast {contrast(c):.3f}, under "
                         f"{th.low_information:g})", "drop it unless a blank frame is a real input to the model"))  # fmt: skip
            continue  # a flat image is also dark, light or blurred: one finding says it
        if c.high < th.dark:
            add(i, Issue("dark-image", f"dark: 95% of its pixels under luminance {c.high:.0f} (limit {th.dark:g}, "
                         f"mean {c.mean:.0f})", "check the exposure; drop it or brighten it if the model should not "
                         "learn from it"))  # fmt: skip
        if c.low > th.light:
            add(i, Issue("light-image", f"overexposed: 95% of its pixels over luminance {c.low:.0f} (limit "
                         f"{th.light:g}, mean {c.mean:.0f})", "check the exposure; drop it if washed out"))  # fmt: skip
        if c.blur >= th.blurry:  # NaN (not measured) is never
            add(i, Issue("blurry-image", f"blurred (blur effect {c.blur:.2f}, limit {th.blurry:g})",
                         "drop it or replace it with a sharp copy, unless blur is part of the task"))  # fmt: skip
    if len(decoded) >= th.min_images:
        gray = [(i, c) for i, c in decoded if (c.gray_mode or c.colour <= th.grayscale) and i not in flat]
        if len(gray) * 2 < len(decoded):  # a mostly colour dataset: its grayscale images stand out
            for i, c in gray:
                stored = "stored as grayscale" if c.gray_mode else "stored as RGB with equal channels"
                add(i, Issue("grayscale-image", f"grayscale ({stored}) among {len(decoded) - len(gray)} colour "
                             "image(s)", "check it belongs; the model sees it without colour"))  # fmt: skip
    if len(sized) >= th.min_images:
        ratios = np.array([max(w, h) / min(w, h) for _, w, h in sized])
        sides = np.array([math.sqrt(w * h) for _, w, h in sized])
        mid_ratio, mid_side = float(np.median(ratios)), float(np.median(sides))
        for (i, w, h), r, s in zip(sized, ratios.tolist(), sides.tolist()):
            if r >= mid_ratio * th.aspect_ratio:
                add(i, Issue("odd-aspect-ratio", f"{w} x {h} pixels, aspect ratio {r:.2f}:1 against the dataset's "
                             f"median {mid_ratio:.2f}:1", "resizing to the model's input squashes it: crop or pad "
                             "it, or drop it"))  # fmt: skip
            if s >= mid_side * th.size or s * th.size <= mid_side:
                add(i, Issue("odd-size", f"{w} x {h} pixels, {'larger' if s > mid_side else 'smaller'} than the "
                             f"dataset's median side of {mid_side:.0f} by {max(s, mid_side) / min(s, mid_side):.1f}x",
                             "check it is the right image (a thumbnail, a scan, a screenshot?)"))  # fmt: skip
    return out
