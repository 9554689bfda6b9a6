"""Content checks: near-duplicates within and across splits, and images that should not train.

Every planted kind is found with its code, severity, split and both paths; distinct photo-like images and
clean datasets give nothing. Images are small (96 px) and few, so the module runs in a few seconds.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

import labelprep
from labelprep.checks import content
from labelprep.checks.content import Content, Thresholds, content_features, near_duplicate_pairs
from labelprep.checks.images import check_images
from labelprep.cli import main
from labelprep.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SIZE = 96


def scene(seed: int, size: int = SIZE) -> Image.Image:
    """A photo-like image: smooth colour gradients, a few shapes, a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    chans = [127 + 90 * np.sin(rng.uniform(1, 5) * (x + y * (c + 1)) * np.pi + rng.uniform(0, 6.3)) for c in range(3)]
    im = Image.fromarray(np.clip(np.stack(chans, -1), 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(5):
        x0, y0 = (int(v) for v in rng.integers(-size // 4, size, 2))
        w, h = (int(v) for v in rng.integers(size // 8, size // 2, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x0 + w, y0 + h], fill=fill)
    arr = np.asarray(im.filter(ImageFilter.GaussianBlur(0.6)), dtype=np.float32) + rng.normal(0, 3, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def save(im: Image.Image, path: Path, **kw: object) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, **({"quality": 90} if path.suffix == ".jpg" else {}) | kw)
    return path.name


def csv(path: Path, names: list[str], label: str = "cat") -> Path:
    path.write_text("image,labels\n" + "".join(f"{n},{label}\n" for n in names))
    return path


def decoded(im: Image.Image, fmt: str = "JPEG", **kw: object) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    return out


# The nine kinds of near-copy: name -> what turns the original into the copy, and the file it is saved as
KINDS = {
    "reencode": (lambda im: decoded(im, quality=40), ".jpg"),
    "resize": (lambda im: im.resize((60, 60), Image.Resampling.BICUBIC), ".jpg"),
    "crop": (lambda im: im.crop((5, 5, SIZE - 5, SIZE - 5)), ".jpg"),
    "fliph": (lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ".jpg"),
    "flipv": (lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM), ".jpg"),
    "rot90": (lambda im: im.transpose(Image.Transpose.ROTATE_90), ".jpg"),
    "bright": (lambda im: ImageEnhance.Contrast(ImageEnhance.Brightness(im).enhance(1.2)).enhance(0.85), ".jpg"),
    "blur": (lambda im: im.filter(ImageFilter.GaussianBlur(1.0)), ".jpg"),
    "format": (lambda im: im, ".png"),  # a PNG copy of the decoded JPEG: the same pixels
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train.csv: 9 originals and 12 distinct images; test.csv: one near-copy of each original and 6 distinct."""
    ds = tmp_path_factory.mktemp("near")
    train, test = [], []
    for k, (kind, (change, ext)) in enumerate(KINDS.items()):
        name = save(scene(100 + k), ds / f"orig_{kind}.jpg")
        train.append(name)
        original = Image.open(ds / name)
        original.load()
        test.append(save(change(original), ds / f"copy_{kind}{ext}"))
    train += [save(scene(200 + i), ds / f"train_{i}.jpg") for i in range(12)]
    test += [save(scene(300 + i), ds / f"test_{i}.jpg") for i in range(6)]
    csv(ds / "train.csv", train)
    csv(ds / "test.csv", test)
    return ds


@pytest.mark.parametrize("level", ["header", "full"])
def test_each_kind_of_near_copy_across_splits_is_a_leak_and_nothing_else_is(planted: Path, level: str) -> None:
    report = labelprep.validate([planted / "train.csv", planted / "test.csv"], near_duplicates=True, workers=1,
                                check_images=level)  # fmt: skip
    leaks = {f.path: f for f in report.findings if f.code == "near-duplicate-leak"}
    for kind, (_, ext) in KINDS.items():
        f = leaks.get(f"copy_{kind}{ext}")
        assert f is not None, f"{kind} not found:\n{report.to_text()}"
        assert f.severity == "error" and f.split == "test" and f.source == str(planted / "test.csv")
        assert f"orig_{kind}.jpg" in f.message
        assert f.members == ((f"orig_{kind}.jpg", "train"), (f"copy_{kind}{ext}", "test"))
    assert len(leaks) == len(KINDS), report.to_text()
    assert {f.code for f in report.findings} == {"near-duplicate-leak"}, report.to_text()
    assert "identical pixels" in leaks["copy_format.png"].message
    assert "mirrored left to right" in leaks["copy_fliph.jpg"].message
    assert "rotated 90°" in leaks["copy_rot90.jpg"].message
    assert leaks["copy_fliph.jpg"].line == 5  # the copy's own row of test.csv
    # the flags of the report: on by default only when asked
    assert not [f for f in labelprep.validate([planted / "train.csv", planted / "test.csv"]).findings]


def test_a_group_within_one_split_is_one_warning_listing_every_member(tmp_path: Path) -> None:
    base = scene(1)
    names = [save(base, tmp_path / "a.jpg"), save(base.transpose(Image.Transpose.ROTATE_180), tmp_path / "b.jpg"),
             save(base.resize((80, 80)), tmp_path / "c.jpg")]  # fmt: skip
    names += [save(scene(10 + i), tmp_path / f"other_{i}.jpg") for i in range(4)]
    report = labelprep.validate(csv(tmp_path / "train.csv", names), near_duplicates=True, workers=1)
    found = [f for f in report.findings if f.code.startswith("near-duplicate")]
    assert len(found) == 1, report.to_text()
    f = found[0]
    assert (f.code, f.severity, f.split, f.path) == ("near-duplicate", "warning", "train", "b.jpg")
    assert f.members == (("a.jpg", "train"), ("b.jpg", "train"), ("c.jpg", "train"))
    assert "'a.jpg'" in f.message and "group of 3" in f.message
    data = json.loads(report.to_json())
    assert data["findings"][0]["members"][2] == {"path": "c.jpg", "split": "train"}


def test_byte_identical_copies_stay_leaked_image_only_and_flat_images_are_not_compared(tmp_path: Path) -> None:
    photo = scene(2)
    save(photo, tmp_path / "a.jpg")
    (tmp_path / "a_copy.jpg").write_bytes((tmp_path / "a.jpg").read_bytes())
    Image.new("RGB", (SIZE, SIZE), (30, 30, 200)).save(tmp_path / "blue.png")
    Image.new("RGB", (SIZE, SIZE), (30, 30, 200)).save(tmp_path / "blue_again.png", compress_level=1)
    Image.new("RGB", (SIZE, SIZE), (32, 30, 200)).save(tmp_path / "blue_other.png")
    report = labelprep.validate([csv(tmp_path / "train.csv", ["a.jpg", "blue.png"]),
                                 csv(tmp_path / "val.csv", ["a_copy.jpg", "blue_again.png", "blue_other.png"])],
                                near_duplicates=True, workers=1)  # fmt: skip
    codes = sorted((f.code, f.path) for f in report.findings)
    # the same bytes: leaked-image as before; the same pixels in other bytes: a near-duplicate leak;
    # two flat images of slightly different colours: nothing to compare, nothing reported
    assert codes == [("leaked-image", "a_copy.jpg"), ("near-duplicate-leak", "blue_again.png")], report.to_text()


def test_distinct_photos_give_no_near_duplicate() -> None:
    items = [content_features(decoded(scene(1000 + i))) for i in range(60)]
    assert near_duplicate_pairs(items, Thresholds().near_duplicate) == []


def test_every_orientation_of_one_image_has_distance_zero() -> None:
    im = scene(7, 64)  # 64 = 2 x 32: the box filter commutes with every flip and turn
    turns = [None, *Image.Transpose]
    items = [content_features(im if t is None else im.transpose(t), quality=False) for t in turns]
    pairs = near_duplicate_pairs(items, 0)
    assert {(p.a, p.b) for p in pairs if p.a == 0} == {(0, k) for k in range(1, len(turns))}
    assert all(p.distance == 0 for p in pairs)


def test_hashes_are_cached_so_a_rerun_decodes_only_new_files(planted: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    names = [p.name for p in sorted(planted.glob("*.jpg"))][:8]
    cache = tmp_path / "cache"
    first = check_images(names, planted, level="full", workers=1, cache_dir=cache, content=True, quality=True)
    assert all(info.content is not None for info in first.values())
    calls: list[int] = []
    real = content.content_features
    monkeypatch.setattr("labelprep.checks.images.content_features",
                        lambda im, **kw: calls.append(1) or real(im, **kw))  # fmt: skip
    again = check_images(names, planted, level="full", workers=1, cache_dir=cache, content=True, quality=True)
    assert again == first and calls == []
    # without the content figures the cache keeps other rows; asking for them again does not decode
    check_images(names, planted, level="full", workers=1, cache_dir=cache)
    check_images(names, planted, level="full", workers=1, cache_dir=cache, content=True, quality=True)
    assert calls == []
    assert Content.from_list(json.loads(json.dumps(first[names[0]].content.to_list()))) == first[names[0]].content  # type: ignore[union-attr]


# -- images that should not train -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def poor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds = tmp_path_factory.mktemp("quality")
    good = [save(scene(400 + i), ds / f"good_{i}.jpg") for i in range(14)]
    arr = np.asarray(scene(500), dtype=np.float32)
    bad = {
        "dark.jpg": Image.fromarray((arr * 0.15).astype(np.uint8)),
        "light.jpg": Image.fromarray((255 - (255 - arr) * 0.15).astype(np.uint8)),
        "blurry.jpg": scene(501).filter(ImageFilter.GaussianBlur(4)),
        "flat.jpg": Image.fromarray(np.clip(np.random.default_rng(0).normal(120, 2, (SIZE, SIZE, 3)), 0, 255)
                                    .astype(np.uint8)),
        "gray.jpg": scene(502).convert("L").convert("RGB"),
        "wide.jpg": scene(503).resize((SIZE * 3, SIZE // 2 + 8)),
        "tiny.jpg": scene(504).resize((24, 24)),
    }
    for name, im in bad.items():
        save(im, ds / name)
    csv(ds / "train.csv", good[:10] + list(bad)[:4])
    csv(ds / "val.csv", good[10:] + list(bad)[4:])
    return ds


QUALITY = {
    "dark.jpg": ("dark-image", "train"),
    "light.jpg": ("light-image", "train"),
    "blurry.jpg": ("blurry-image", "train"),
    "flat.jpg": ("low-information", "train"),
    "gray.jpg": ("grayscale-image", "val"),
    "wide.jpg": ("odd-aspect-ratio", "val"),
    "tiny.jpg": ("odd-size", "val"),
}


def test_each_kind_of_poor_image_is_a_warning_where_it_is_listed(poor: Path) -> None:
    report = labelprep.validate([poor / "train.csv", poor / "val.csv"], quality=True, workers=1)
    got = {(f.path, f.code, f.split, f.severity) for f in report.findings}
    want = {(path, code, split, "warning") for path, (code, split) in QUALITY.items()}
    assert want <= got, report.to_text()
    assert not [f for f in report.findings if f.path and f.path.startswith("good_")], report.to_text()
    assert report.ok and "quality" in report.checks
    flat = next(f for f in report.findings if f.code == "low-information")
    assert flat.line == 15 and flat.source == str(poor / "train.csv")  # header, 10 good images, 4th planted


def test_thresholds_come_from_settings_and_options(poor: Path) -> None:
    sources = [poor / "train.csv", poor / "val.csv"]
    (poor / "labelprep.toml").write_text("quality = true\n[thresholds]\ndark = 10\nblurry = 0.99\n")
    try:
        report = labelprep.validate(sources, workers=1)
        assert {"dark-image", "blurry-image"}.isdisjoint(report.codes()) and "light-image" in report.codes()
        report = labelprep.validate(sources, workers=1, thresholds={"dark": 60})  # an option wins
        assert "dark-image" in report.codes() and "blurry-image" not in report.codes()
        r = CliRunner().invoke(main, ["validate", *map(str, sources), "--threshold", "light=250"])
        assert r.exit_code == 0 and "light-image" not in r.output and "low-information" in r.output
        (poor / "labelprep.toml").write_text("[thresholds]\ndarkness = 10\n")
        with pytest.raises(InputError, match="unknown threshold 'darkness'"):
            labelprep.validate(sources)
        (poor / "labelprep.toml").write_text("[thresholds]\nnear-duplicate = 2.5\n")
        with pytest.raises(InputError, match="near-duplicate must be a whole number"):
            labelprep.validate(sources)
    finally:
        (poor / "labelprep.toml").unlink()
    r = CliRunner().invoke(main, ["validate", *map(str, sources), "--threshold", "dark"])
    assert r.exit_code == 2 and "NAME=NUMBER" in r.output


def test_content_checks_need_the_images_decoded(poor: Path) -> None:
    with pytest.raises(InputError, match="decode the images"):
        labelprep.validate(poor / "train.csv", quality=True, check_images="none")
    r = CliRunner().invoke(main, ["validate", str(poor / "train.csv"), "--near-duplicates", "--check-images", "none"])
    assert r.exit_code == 1 and r.output.startswith("Error: ") and "Traceback" not in r.output
    # at the default level (header) each image is decoded for the figures alone, a JPEG to a reduced copy:
    # the same findings as with the full decode
    header = labelprep.validate([poor / "train.csv", poor / "val.csv"], quality=True, workers=1)
    full = labelprep.validate([poor / "train.csv", poor / "val.csv"], quality=True, workers=1, check_images="full")
    assert header.stats["check_images"] == "header"
    assert {(f.code, f.path) for f in header.findings} == {(f.code, f.path) for f in full.findings}


def test_the_bundled_example_with_content_checks(tmp_path: Path) -> None:
    """Its single-shape images include mirror and 180-degree copies of each other, which are reported (and no
    other image); its seven blank images are flat. Without the content checks it stays clean (test_validate)."""
    report = labelprep.validate(ROOT / "examples" / "shapes" / "labels.csv", split_col="split", near_duplicates=True,
                                quality=True, cache=tmp_path / "cache")  # fmt: skip
    leaks = sorted(f.path for f in report.findings if f.code == "near-duplicate-leak")
    assert leaks == ["images/img_038.jpg", "images/img_041.jpg", "images/img_047.jpg"], report.to_text()
    assert set(report.codes()) <= {"empty-labels", "near-duplicate", "near-duplicate-leak", "low-information"}
    assert report.codes()["low-information"] == report.codes()["empty-labels"] == 7


# -- the HTML page ----------------------------------------------------------------------------------------------------


def html_report(planted: Path, poor: Path) -> str:
    names = ["orig_fliph.jpg", "train_0.jpg", "train_1.jpg"]
    (planted / "small_train.csv").write_text("image,labels\n" + "".join(f"{n},<script>x</script>|cat\n"
                                                                         for n in names))  # fmt: skip
    (planted / "small_test.csv").write_text("image,labels\ncopy_fliph.jpg,cat\n")
    report = labelprep.validate([planted / "small_train.csv", planted / "small_test.csv"], near_duplicates=True,
                                quality=True, workers=1)  # fmt: skip
    return report.to_html()


def test_html_page_shows_groups_strips_and_examples_with_embedded_thumbnails(planted: Path, poor: Path) -> None:
    page = html_report(planted, poor)
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("http://", "https://", "<link", "<script>", "url(", "@import"):
        assert forbidden not in page, forbidden
    assert page.count("src=") == page.count('src="data:image/jpeg;base64,') > 0
    assert 'id="near-duplicates"' in page and "near-duplicate-leak" in page
    group = page.split('id="near-duplicates"')[1].split("</div>")[0]
    assert group.count("<figure") == 2 and "orig_fliph.jpg" in group and "copy_fliph.jpg" in group
    assert '<span class="split">train</span>' in group and '<span class="split">test</span>' in group
    assert 'class="leak"' in group  # the copy the finding is about
    assert "&lt;script&gt;x&lt;/script&gt;" in page  # a label is escaped
    assert 'id="labels"' in page and "<h3>cat</h3>" in page
    report = labelprep.validate([poor / "train.csv", poor / "val.csv"], quality=True, workers=1)
    quality = report.to_html()
    for code in ("dark-image", "blurry-image", "odd-size"):
        assert f"<h3>{code} (1)</h3>" in quality


def test_html_from_the_cli(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    r = CliRunner().invoke(main, ["validate", str(planted / "train.csv"), str(planted / "test.csv"),
                                  "--near-duplicates", "--output-format", "html", "--output", str(out)])  # fmt: skip
    assert r.exit_code == 1 and out.read_text().count("<figure") >= 2 * len(KINDS)


CHROMIUM = Path("/usr/bin/chromium")


def test_html_page_renders_in_headless_chromium(planted: Path, poor: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess

    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): cannot check the HTML renders")
    exe = str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))
    page, png = tmp_path / "report.html", tmp_path / "shot.png"
    page.write_text(html_report(planted, poor), encoding="utf-8")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1000,900",
           page.as_uri()]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert png.exists(), f"no screenshot (exit {run.returncode}): {run.stderr[-2000:]}"
    with Image.open(png) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20) or []
    # the thumbnails are photo-like: a rendered page with them has thousands of colours, text alone a few hundred
    assert len(colours) > 2000, f"only {len(colours)} colours: the thumbnails did not render"
