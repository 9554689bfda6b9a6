"""Image checks: every defect that breaks training is found, and no valid image is called corrupt."""

from __future__ import annotations

import ast
import hashlib
import io
import multiprocessing
import os
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelprep import progress
from labelprep.checks import images
from labelprep.checks.cache import CACHE_FILE
from labelprep.checks.images import ImageInfo, check_images
from labelprep.errors import InputError
from labelprep.report import CHECKS

LEVELS = ["header", "full"]


# -- making images ---------------------------------------------------------------


def rgb(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width: int, height: int, depth: int, colour: int, rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow will not write (16-bit RGB, headers of huge images)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))  # fmt: skip


def with_orientation(im: Image.Image, value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return encode(im, "JPEG", exif=exif.tobytes())


def ycck(im: Image.Image) -> bytes:
    """A CMYK JPEG whose Adobe marker says YCCK (transform 2); libjpeg decodes it as YCCK."""
    data = bytearray(encode(im.convert("CMYK"), "JPEG"))
    at = data.find(b"Adobe")
    assert at > 0
    data[at + 11] = 2
    return bytes(data)


def write(root: Path, name: str, data: bytes) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return name


def check_one(root: Path, name: str, level: str = "header", **kwargs: object) -> ImageInfo:
    return check_images([name], root, level=level, workers=1, **kwargs)[name]  # type: ignore[arg-type]


def codes(info: ImageInfo) -> list[str]:
    return [i.code for i in info.issues]


FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp"}


# -- valid files -------------------------------------------------------------------


VALID = {
    "rgb.jpg": lambda: encode(rgb(), "JPEG", quality=90),
    "gray.jpg": lambda: encode(rgb().convert("L"), "JPEG"),
    "progressive.jpg": lambda: encode(rgb(), "JPEG", progressive=True),
    "trailing.jpg": lambda: encode(rgb(), "JPEG") + b"\x00" * 100 + b"junk after the end marker",
    "thumbnail-exif.jpg": lambda: encode(rgb(), "JPEG", exif=Image.Exif().tobytes()),
    "rgb.png": lambda: encode(rgb(), "PNG"),
    "gray.png": lambda: encode(rgb().convert("L"), "PNG"),
    "trailing.png": lambda: encode(rgb(), "PNG") + b"trailing bytes",
    "rgb.webp": lambda: encode(rgb(), "WEBP"),
    "rgb.bmp": lambda: encode(rgb(), "BMP"),
    "rgb.tif": lambda: encode(rgb(), "TIFF"),
    "UPPER.JPG": lambda: encode(rgb(), "JPEG"),
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_images_have_no_findings(tmp_path: Path, name: str, level: str) -> None:
    write(tmp_path, name, VALID[name]())
    info = check_one(tmp_path, name, level)
    assert info.issues == []
    assert (info.width, info.height) == (64, 48)
    assert info.mode in ("RGB", "L")
    assert (
        info.format
        == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "tif": "TIFF"}[name.rsplit(".", 1)[1].lower()]
    )
    assert info.digest == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()


@pytest.mark.parametrize("level", LEVELS)
def test_a_gif_is_only_a_palette_image(tmp_path: Path, level: str) -> None:
    write(tmp_path, "a.gif", encode(rgb(), "GIF"))
    assert codes(check_one(tmp_path, "a.gif", level)) == ["unusual-mode"]


# -- truncated and corrupt -------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("cut", ["50%", "90%", "last 2 bytes"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_truncated_images_are_corrupt(tmp_path: Path, fmt: str, cut: str, level: str) -> None:
    whole = encode(rgb(96, 80), fmt)
    keep = {"50%": len(whole) // 2, "90%": len(whole) * 9 // 10, "last 2 bytes": len(whole) - 2}[cut]
    name = write(tmp_path, "cut" + FORMATS[fmt], whole[:keep])
    info = check_one(tmp_path, name, level)
    assert "corrupt-image" in codes(info)
    corrupt = next(i for i in info.issues if i.code == "corrupt-image")
    assert "truncated" in corrupt.message
    assert f"{keep:,}" in corrupt.message  # the size the file has
    assert "re-download" in corrupt.hint
    assert info.format == fmt


@pytest.mark.parametrize("level", LEVELS)
def test_progressive_jpeg_cut_in_a_later_scan_is_corrupt(tmp_path: Path, level: str) -> None:
    whole = encode(rgb(128, 128), "JPEG", progressive=True)
    name = write(tmp_path, "p.jpg", whole[: len(whole) * 3 // 4])
    assert "corrupt-image" in codes(check_one(tmp_path, name, level))


def test_jpeg_message_names_the_missing_marker(tmp_path: Path) -> None:
    whole = encode(rgb(), "JPEG")
    name = write(tmp_path, "c.jpg", whole[:-2])
    issue = check_one(tmp_path, name).issues[0]
    assert issue.message == f"truncated: JPEG has no end-of-image marker after its scan data ({len(whole) - 2:,} bytes)"


def test_exif_thumbnail_end_marker_does_not_hide_truncation(tmp_path: Path) -> None:
    # The EXIF thumbnail holds its own JPEG with an end marker, before the main image's scan.
    thumb = encode(rgb(16, 12, seed=3), "JPEG")
    exif = b"Exif\x00\x00" + thumb  # not a valid TIFF block, but a marker-laden APP1 payload
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    whole = encode(rgb(), "JPEG")
    data = whole[:2] + app1 + whole[2:]
    name = write(tmp_path, "t.jpg", data[: len(data) - 200])
    assert "corrupt-image" in codes(check_one(tmp_path, name))


def test_full_level_decodes_and_catches_broken_pixel_data(tmp_path: Path) -> None:
    good = raw_png(8, 4, 8, 2, b"".join(b"\x00" + bytes(range(24)) for _ in range(4)))
    bad = bytearray(good)
    at = bad.find(b"IDAT") + 8
    bad[at : at + 6] = b"\xff" * 6  # the chunk structure is intact; the compressed pixels are not
    kind = at - 8  # and its CRC made to match (a bad CRC is a header finding)
    end = kind + 4 + int.from_bytes(bad[kind - 4 : kind], "big")
    bad[end : end + 4] = zlib.crc32(bytes(bad[kind:end])).to_bytes(4, "big")
    name = write(tmp_path, "b.png", bytes(bad))
    assert check_one(tmp_path, name, "header").issues == []  # the header level does not decode
    info = check_one(tmp_path, name, "full")
    assert codes(info) == ["corrupt-image"]
    assert info.issues[0].message.startswith("fails to decode")


# -- not images ----------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_html_error_page_saved_as_jpg(tmp_path: Path, level: str) -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>gone</body></html>\n"
    name = write(tmp_path, "img.jpg", page)
    info = check_one(tmp_path, name, level)
    assert codes(info) == ["not-an-image"]
    assert "HTML page" in info.issues[0].message and "404 Not Found" in info.issues[0].message
    assert "re-download" in info.issues[0].hint
    assert info.format is None and info.width is None
    assert info.digest == hashlib.sha256(page).hexdigest()


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"Access denied: quota exceeded\n", "text file"),
        (b'{"error": "rate limited"}', "JSON"),
        (bytes(range(7, 250)) * 4, "unknown bytes"),
        (b"%PDF-1.7\n" + bytes(300), "PDF"),
        (b"\x00\x00\x00\x18ftypheic" + bytes(100), "HEIC"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    ],
)
def test_other_non_images(tmp_path: Path, data: bytes, words: str, level: str) -> None:
    name = write(tmp_path, "x.jpg", data)
    info = check_one(tmp_path, name, level)
    assert codes(info) == ["not-an-image"]
    assert words in info.issues[0].message
    assert f"{len(data):,} bytes" in info.issues[0].message


# -- other formats under a .jpg name ------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "BMP", "GIF"])
def test_other_format_named_jpg_is_a_mismatch_not_corrupt(tmp_path: Path, fmt: str, level: str) -> None:
    name = write(tmp_path, "photo.jpg", encode(rgb(), fmt))
    info = check_one(tmp_path, name, level)
    expected = ["extension-mismatch", "unusual-mode"] if fmt == "GIF" else ["extension-mismatch"]
    assert codes(info) == expected
    assert CHECKS["extension-mismatch"][0] == "warning"
    assert info.issues[0].message == f"{fmt} data in a file named '.jpg'"
    assert info.format == fmt


def test_jpeg_named_png_is_a_mismatch(tmp_path: Path) -> None:
    name = write(tmp_path, "a.png", encode(rgb(), "JPEG"))
    assert codes(check_one(tmp_path, name)) == ["extension-mismatch"]


def test_no_extension_is_not_a_mismatch(tmp_path: Path) -> None:
    name = write(tmp_path, "train_0", encode(rgb(), "JPEG"))
    assert check_one(tmp_path, name).issues == []


# -- colour modes, orientation, size --------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_cmyk_and_ycck_are_warnings_only(tmp_path: Path, level: str) -> None:
    write(tmp_path, "cmyk.jpg", encode(rgb().convert("CMYK"), "JPEG"))
    write(tmp_path, "ycck.jpg", ycck(rgb()))
    found = check_images(["cmyk.jpg", "ycck.jpg"], tmp_path, level=level, workers=1)
    assert [codes(i) for i in found.values()] == [["cmyk-image"], ["cmyk-image"]]
    assert found["cmyk.jpg"].issues[0].message.startswith("CMYK JPEG")
    assert found["ycck.jpg"].issues[0].message.startswith("YCCK JPEG")
    assert found["cmyk.jpg"].mode == "CMYK"
    assert CHECKS["cmyk-image"][0] == "warning"


UNUSUAL = {
    "gray16.png": (lambda: encode(Image.new("I;16", (64, 48)), "PNG"), "16-bit grayscale"),
    "rgb16.png": (lambda: raw_png(8, 4, 16, 2, b"".join(b"\x00" + bytes(48) for _ in range(4))), "16-bit"),
    "palette.png": (lambda: encode(rgb().convert("P"), "PNG"), "palette"),
    "rgba.png": (lambda: encode(rgb().convert("RGBA"), "PNG"), "alpha"),
    "la.png": (lambda: encode(rgb().convert("LA"), "PNG"), "alpha"),
    "bw.png": (lambda: encode(rgb().convert("1"), "PNG"), "1-bit"),
    "int32.tif": (lambda: encode(Image.new("I", (8, 8)), "TIFF"), "32-bit integer"),
    "float.tif": (lambda: encode(Image.new("F", (8, 8)), "TIFF"), "floating-point"),
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_unusual_modes(tmp_path: Path, name: str, level: str) -> None:
    make, words = UNUSUAL[name]
    write(tmp_path, name, make())
    info = check_one(tmp_path, name, level)
    assert codes(info) == ["unusual-mode"]
    assert words in info.issues[0].message
    assert f"Pillow mode {info.mode}" in info.issues[0].message
    assert "converts it" in info.issues[0].hint


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("value", [1, 3, 6, 8])
def test_exif_orientation(tmp_path: Path, value: int, level: str) -> None:
    name = write(tmp_path, "o.jpg", with_orientation(rgb(), value))
    info = check_one(tmp_path, name, level)
    if value == 1:
        assert info.issues == []
    else:
        assert codes(info) == ["exif-orientation"]
        assert f"orientation {value}" in info.issues[0].message
        assert "exif_transpose" in info.issues[0].hint


@pytest.mark.parametrize("level", LEVELS)
def test_image_too_small(tmp_path: Path, level: str) -> None:
    name = write(tmp_path, "s.jpg", encode(rgb(40, 16), "JPEG"))
    assert check_one(tmp_path, name, level).issues == []  # off by default
    info = check_one(tmp_path, name, level, min_size=(32, 32))
    assert codes(info) == ["image-too-small"]
    assert info.issues[0].message == "40 x 16 pixels, smaller than the minimum 32 x 32"
    assert check_one(tmp_path, name, level, min_size=(40, 16)).issues == []


# -- decompression bombs -------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("side", [(100_000, 100_000), (15_000, 10_000)])  # over 2x and over 1x Pillow's limit
def test_decompression_bomb_from_the_header_without_pillow_error_or_warning(
    tmp_path: Path, side: tuple[int, int], level: str
) -> None:
    name = write(tmp_path, "bomb.png", raw_png(*side, 8, 0, b"\x00" * 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would fail the test
        info = check_one(tmp_path, name, level)
    assert codes(info) == ["decompression-bomb"]
    w, h = side
    assert f"{w * h:,} pixels" in info.issues[0].message
    assert f"{Image.MAX_IMAGE_PIXELS:,}" in info.issues[0].message
    assert "--max-pixels" in info.issues[0].hint
    assert (info.width, info.height) == side


def test_max_pixels_is_ours_not_pillows(tmp_path: Path) -> None:
    name = write(tmp_path, "big.png", raw_png(30_000, 10_000, 8, 0, b"\x00" * 16))  # over 2x Pillow's default
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_one(tmp_path, name, max_pixels=400_000_000).issues == []
    small = write(tmp_path, "small.jpg", encode(rgb(), "JPEG"))
    for level in LEVELS:
        info = check_one(tmp_path, small, level, max_pixels=1000)
        assert codes(info) == ["decompression-bomb"]
        assert "64 x 48 = 3,072 pixels" in info.issues[0].message


# -- files that changed since check_files looked -----------------------------------------------


def test_empty_unreadable_and_escaping_paths(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    write(root, "empty.jpg", b"")
    (root / "folder.jpg").mkdir()
    write(tmp_path, "outside.jpg", encode(rgb(), "JPEG"))
    found = check_images(["empty.jpg", "folder.jpg", "../outside.jpg", "gone.jpg"], root, workers=1)
    assert [codes(i) for i in found.values()] == [
        ["empty-file"],
        ["unreadable-file"],
        ["path-escapes-root"],
        ["missing-file"],
    ]
    assert found["../outside.jpg"].digest is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    assert codes(check_one(tmp_path, "pipe.jpg")) == ["unreadable-file"]


# -- digests, workers, cache --------------------------------------------------------------------


def test_equal_bytes_equal_digests(tmp_path: Path) -> None:
    data = encode(rgb(), "JPEG")
    write(tmp_path, "a/x.jpg", data)
    write(tmp_path, "b/y.jpg", data)
    write(tmp_path, "c/z.jpg", encode(rgb(seed=1), "JPEG"))
    found = check_images(["a/x.jpg", "b/y.jpg", "c/z.jpg"], tmp_path, workers=1)
    assert found["a/x.jpg"].digest == found["b/y.jpg"].digest == hashlib.sha256(data).hexdigest()
    assert found["c/z.jpg"].digest != found["a/x.jpg"].digest


def mixed_set(root: Path) -> list[str]:
    whole = encode(rgb(), "JPEG")
    names = [write(root, f"ok/{i}.jpg", encode(rgb(seed=i), "JPEG")) for i in range(12)]
    names += [
        write(root, "bad/cut.jpg", whole[: len(whole) // 2]),
        write(root, "bad/page.jpg", b"<html><body>error</body></html>"),
        write(root, "bad/png.jpg", encode(rgb(), "PNG")),
        write(root, "bad/cmyk.jpg", encode(rgb().convert("CMYK"), "JPEG")),
        write(root, "bad/rot.jpg", with_orientation(rgb(), 6)),
        write(root, "bad/p.png", encode(rgb().convert("P"), "PNG")),
        write(root, "bad/empty.jpg", b""),
    ]
    return names


@pytest.mark.parametrize("level", LEVELS)
def test_two_workers_give_the_same_results_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  level: str) -> None:  # fmt: skip
    names = mixed_set(tmp_path)
    monkeypatch.setattr(images, "_INLINE_BELOW", {"header": 0, "full": 0})
    one = check_images(names, tmp_path, level=level, workers=1)
    two = check_images(names, tmp_path, level=level, workers=2)
    assert list(two) == list(one) == names
    assert two == one


def test_cache_rereads_only_changed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = tmp_path / "images", tmp_path / "cache"
    names = mixed_set(root)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    calls: list[str] = []
    real = images._check_one

    def spy(target: str, path: str, settings: images.CheckSettings) -> ImageInfo:
        calls.append(path)
        return real(target, path, settings)

    monkeypatch.setattr(images, "_check_one", spy)
    first = check_images(names, root, workers=1, cache_dir=cache)
    assert len(calls) == len(names)

    calls.clear()
    second = check_images(names, root, workers=1, cache_dir=cache)
    assert calls == []  # nothing is read again
    assert second == first

    st = os.stat(root / "ok/3.jpg")
    os.utime(root / "ok/3.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    calls.clear()
    third = check_images(names, root, workers=1, cache_dir=cache)
    assert calls == ["ok/3.jpg"]
    assert third == first

    calls.clear()
    check_images(names, root, workers=1, cache_dir=cache, min_size=(100, 100))  # other settings, other results
    assert len(calls) == len(names)

    assert (cache / CACHE_FILE).is_file()
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written beside the images


def test_cache_keeps_issues_exactly(tmp_path: Path) -> None:
    root, cache = tmp_path / "images", tmp_path / "cache"
    names = mixed_set(root)
    fresh = check_images(names, root, level="full", workers=1)
    check_images(names, root, level="full", workers=1, cache_dir=cache)
    assert check_images(names, root, level="full", workers=1, cache_dir=cache) == fresh


def test_a_broken_cache_file_is_replaced(tmp_path: Path) -> None:
    write(tmp_path, "a.jpg", encode(rgb(), "JPEG"))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="unusable"):
        found = check_images(["a.jpg"], tmp_path, workers=1, cache_dir=cache)
    assert found["a.jpg"].issues == []
    assert check_images(["a.jpg"], tmp_path, workers=1, cache_dir=cache) == found


def test_a_changed_file_is_not_served_from_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write(tmp_path, "a.jpg", encode(rgb(), "JPEG"))
    assert check_images(["a.jpg"], tmp_path, workers=1, cache_dir=cache)["a.jpg"].issues == []
    whole = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "a.jpg").write_bytes(whole[: len(whole) // 2])  # a new size
    assert codes(check_images(["a.jpg"], tmp_path, workers=1, cache_dir=cache)["a.jpg"]) == ["corrupt-image"]


# -- the call itself ------------------------------------------------------------------------------


def test_results_follow_the_listed_order_once_per_path(tmp_path: Path) -> None:
    for n in ("b.jpg", "a.jpg"):
        write(tmp_path, n, encode(rgb(), "JPEG"))
    found = check_images(["b.jpg", "a.jpg", "b.jpg"], tmp_path, workers=1)
    assert list(found) == ["b.jpg", "a.jpg"]
    assert found["a.jpg"].path == "a.jpg"


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="header, full"):
        check_images([], tmp_path, level="deep")
    with pytest.raises(InputError, match="workers"):
        check_images([], tmp_path, workers=0)


def test_progress_bar_on_stderr_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.jpg", encode(rgb(), "JPEG"))
    check_images(["a.jpg"], tmp_path, workers=1)
    assert capsys.readouterr().err == ""
    check_images(["a.jpg"], tmp_path, workers=1, progress=True)
    err = capsys.readouterr().err
    assert "checking images" in err and "1/1" in err


def test_progress_bar_estimates_only_after_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = progress.Progress(1500, label="checking images", enabled=True, stream=out)
    clock[0] += 0.2  # the first result, after the workers started
    bar.advance()
    assert out.getvalue().endswith("1/1,500   0%     ...      ")  # no "180s left"
    clock[0] += 1.0
    bar.advance(299)
    assert out.getvalue().endswith("300/1,500  20%     5s left ")
    clock[0] += 4.0
    bar.advance(1200)
    assert out.getvalue().endswith("1,500/1,500 100%     5s      ")


def test_every_code_is_a_known_check() -> None:
    source = "".join(Path(images.__file__).with_name(name).read_text() for name in ("images.py", "files.py", "missing.py"))
    used = {node.args[0].value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Issue"
            and node.args and isinstance(node.args[0], ast.Constant)}  # fmt: skip
    assert used and used <= set(CHECKS)


@pytest.mark.parametrize("module", ["images.py", "files.py", "missing.py", "cache.py", "content.py"])
def test_modules_import_only_stdlib_numpy_and_pillow(module: str) -> None:
    tree = ast.parse(Path(images.__file__).with_name(module).read_text())
    allowed = set(sys.stdlib_module_names) | {"numpy", "PIL", "labelprep"}
    if module == "files.py":
        allowed.add("pyarrow")  # grouping 10**5 paths by folder, imported inside the function that does it
    # labelprep.storage, executor, extras, atomic, progress, imageformat and imagechunks import only errors, the
    # standard library and Pillow (fsspec lazily, for URL roots; Dask lazily, for the Dask executor)
    own = {"labelprep.checks.base", "labelprep.checks.cache", "labelprep.checks.content", "labelprep.errors",
           "labelprep.storage", "labelprep.executor", "labelprep.imageformat", "labelprep.imagechunks",
           "labelprep.progress", "labelprep.checks.missing"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] in allowed, name
            if name.startswith("labelprep"):
                assert name in own, name


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the crash is patched into forked workers")
def test_a_file_that_kills_its_worker_is_reported_and_the_rest_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = mixed_set(tmp_path)
    write(tmp_path, "bad/crash.jpg", encode(rgb(), "JPEG"))
    real = images._check_one

    def crashing(target: str, path: str, settings: images.CheckSettings) -> ImageInfo:
        if path == "bad/crash.jpg":
            os._exit(3)  # what a segfault in a decoder looks like from outside
        return real(target, path, settings)

    expected = check_images(names, tmp_path, workers=1)
    monkeypatch.setattr(images, "_INLINE_BELOW", {"header": 0, "full": 0})
    monkeypatch.setattr(images, "_check_one", crashing)
    found = check_images([*names, "bad/crash.jpg"], tmp_path, workers=2)
    assert codes(found["bad/crash.jpg"]) == ["corrupt-image"]
    assert "crashed" in found["bad/crash.jpg"].issues[0].message
    assert {p: found[p] for p in names} == expected
