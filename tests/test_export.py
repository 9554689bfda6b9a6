"""export: pure shard planning, image normalisation, deterministic atomic resumable shards (verify: test_verify.py).

Planning and image preparation run without TensorFlow; tests that write or read
shards are marked ``tf``. Every dataset is made here: a dozen tiny images.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep import ExportRefused, Manifest, MissingDependencyError
from labelprep.cli import main
from labelprep.errors import InputError
from labelprep.shards.images import ImageSettings, parse_resize, prepare_image
from labelprep.shards.plan import PlanItem, parse_size, plan_export, plan_split
from labelprep.shards.spec import FEATURES, STATE_NAME, features_document, parse_shard_name

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"
LABEL_SETS = ["cat", "dog", "cat|dog", "bird", "cat|bird", "", "dog|bird", "cat", "dog", "bird", "cat|dog|bird", "dog"]


# -- data -----------------------------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def make_dataset(root: Path, n: int = 12, *, splits: bool = True) -> Path:
    """``n`` distinct 16x12 images (every third a PNG) and labels.csv (image, labels[, split])."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = ["image,labels" + (",split" if splits else "")]
    for i in range(n):
        ext = "png" if i % 3 == 0 else "jpg"
        im = Image.new("RGB", (16, 12), (20 * i % 256, 255 - 15 * i % 256, 90))
        im.putpixel((i % 16, 0), (255, 255, 255))
        (root / "images" / f"{i:02d}.{ext}").write_bytes(encode(im, "PNG" if ext == "png" else "JPEG", quality=90))
        split = ",val" if i % 4 == 3 else ",train"
        lines.append(f"images/{i:02d}.{ext},{LABEL_SETS[i % len(LABEL_SETS)]}" + (split if splits else ""))
    src = root / "labels.csv"
    src.write_text("\n".join(lines) + "\n")
    return src


def tree(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()}


def records(path: Path) -> list[Any]:
    import tensorflow as tf

    return [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(path))]


def feature(ex: Any, key: str) -> list[Any]:
    f = ex.features.feature[key]
    return list(f.bytes_list.value) if FEATURES[key][0] == "bytes" else list(f.int64_list.value)


# -- planning (pure) ------------------------------------------------------------------------------


def test_parse_size_accepts_units() -> None:
    assert parse_size("64MiB") == 64 * 1024**2
    assert parse_size("1GB") == 10**9
    assert parse_size("500 kB") == 500_000
    assert parse_size("1.5KiB") == 1536
    assert parse_size(4096) == 4096
    for bad in ("", "12 parsecs", "-1", "MiB"):
        with pytest.raises(InputError, match="128MiB"):
            parse_size(bad)
    with pytest.raises(InputError, match="at least 1 byte"):
        parse_size("0")


def items(n: int, size: int = 1000) -> list[PlanItem]:
    # sorted by label on purpose: the first half all label 0, the second all label 1
    return [PlanItem(f"img/{i:04d}.jpg", size, (0,) if i < n // 2 else (1,)) for i in range(n)]


def test_plan_places_every_example_exactly_once() -> None:
    its = items(101)
    for kw in ({"num_shards": 7}, {"shard_size": 10_000}, {"num_shards": 1}):
        shards = plan_split("ds", "train", its, **kw)  # type: ignore[arg-type]
        placed = [i for s in shards for i in s.items]
        assert sorted(placed) == list(range(101))
        sizes = [len(s.items) for s in shards]
        assert max(sizes) - min(sizes) <= 1
        assert [s.file for s in shards] == [f"ds-train.tfrecord-{k:05d}-of-{len(shards):05d}" for k in range(len(shards))]
        assert all(parse_shard_name(s.file) == ("ds", "train", s.index, len(shards)) for s in shards)


def test_plan_shard_count_from_size_or_number() -> None:
    its = items(100, size=1000)  # 100 kB in all
    assert len(plan_split("ds", "train", its, shard_size=25_000)) == 4
    assert len(plan_split("ds", "train", its, shard_size=24_999)) == 5
    assert len(plan_split("ds", "train", its)) == 1  # default 128 MiB
    assert len(plan_split("ds", "train", its, num_shards=8)) == 8
    assert len(plan_split("ds", "train", its[:3], num_shards=8)) == 3  # never an empty shard beside full ones
    empty = plan_split("ds", "val", [], num_shards=4)
    assert len(empty) == 1 and empty[0].items == ()  # an empty split still gets its (empty) shard


def test_plan_shuffle_is_seeded_and_independent_of_row_order() -> None:
    its = items(60)
    a = plan_split("ds", "train", its, num_shards=3, seed=0)
    b = plan_split("ds", "train", its, num_shards=3, seed=0)
    c = plan_split("ds", "train", its, num_shards=3, seed=1)
    assert a == b
    assert a != c
    paths = lambda plan, its: [[its[i].path for i in s.items] for s in plan]  # noqa: E731
    reversed_items = its[::-1]
    assert paths(plan_split("ds", "train", reversed_items, num_shards=3), reversed_items) == paths(a, its)
    assert [its[i].path for i in a[0].items] != sorted(its[i].path for i in a[0].items)  # shuffled within a shard


def test_plan_each_shard_mixes_labels() -> None:
    its = items(40)
    for shard in plan_split("ds", "train", its, num_shards=4):
        labels = Counter(its[i].labels for i in shard.items)
        assert labels[(0,)] == 5 and labels[(1,)] == 5
        order = [its[i].labels for i in shard.items]
        assert order != sorted(order)  # not grouped by label inside a shard either


def test_plan_export_covers_splits_and_fingerprints() -> None:
    splits = {"train": items(10), "val": items(4)}
    plan = plan_export("ds", splits, num_shards=2, seed=3)
    assert [(s.split, s.index) for s in plan.shards] == [("train", 0), ("train", 1), ("val", 0), ("val", 1)]
    same = plan_export("ds", splits, num_shards=2, seed=3)
    assert plan.fingerprint(splits, q=95) == same.fingerprint(splits, q=95) != plan.fingerprint(splits, q=90)


# -- images (Pillow only) -------------------------------------------------------------------------

SETTINGS = ImageSettings()


def decoded(img: Any) -> Image.Image:
    im = Image.open(io.BytesIO(img.data))
    im.load()
    return im


@pytest.mark.parametrize("mode,fmt", [("RGB", "JPEG"), ("L", "JPEG"), ("RGB", "PNG"), ("L", "PNG")])
def test_loader_ready_images_pass_through_untouched(mode: str, fmt: str) -> None:
    data = encode(Image.new(mode, (20, 10), 100), fmt)
    img = prepare_image(data, SETTINGS)
    assert img.passthrough and img.data is data
    assert (img.format, img.width, img.height) == (fmt.lower(), 20, 10)


def test_the_fast_header_rule_agrees_with_pillow() -> None:
    from labelprep.imageformat import open_unchecked
    from labelprep.shards.images import _fast_passthrough, _passes

    def exif(orientation: int) -> bytes:
        e = Image.Exif()
        e[0x0112] = orientation
        return e.tobytes()

    rgba = Image.new("RGBA", (9, 7), (1, 2, 3, 4))
    trns = Image.new("RGB", (9, 7), (1, 2, 3))
    trns.info["transparency"] = (1, 2, 3)
    cases = {
        "rgb jpeg": encode(Image.new("RGB", (9, 7)), "JPEG"),
        "gray jpeg": encode(Image.new("L", (9, 7)), "JPEG"),
        "progressive jpeg": encode(Image.new("RGB", (9, 7)), "JPEG", progressive=True),
        "exif 1 jpeg": encode(Image.new("RGB", (9, 7)), "JPEG", exif=exif(1)),
        "exif 6 jpeg": encode(Image.new("RGB", (9, 7)), "JPEG", exif=exif(6)),
        "cmyk jpeg": encode(Image.new("CMYK", (9, 7)), "JPEG"),
        "rgb png": encode(Image.new("RGB", (9, 7)), "PNG"),
        "gray png": encode(Image.new("L", (9, 7)), "PNG"),
        "exif 3 png": encode(Image.new("RGB", (9, 7)), "PNG", exif=exif(3)),
        "palette png": encode(Image.new("P", (9, 7)), "PNG"),
        "rgba png": encode(rgba, "PNG"),
        "trns png": encode(trns, "PNG", transparency=(1, 2, 3)),
        "16-bit png": encode(Image.fromarray(np.zeros((7, 9), dtype=np.uint16)), "PNG"),
        "1-bit png": encode(Image.new("1", (9, 7)), "PNG"),
    }
    for resize in (None, 7, (9, 7), (8, 8)):
        settings = ImageSettings(resize=resize)
        for name, data in cases.items():
            im = open_unchecked(data, None)
            want = _passes(im, "JPEG" if "jpeg" in name else "PNG", data, settings)
            fast = _fast_passthrough(data, settings)
            assert (fast is not None) == want, (name, resize)
            if fast is not None:
                assert (fast.width, fast.height) == im.size and fast.data is data


def test_exif_rotated_jpeg_is_rotated_and_reencoded() -> None:
    im = Image.new("RGB", (40, 20), (250, 250, 250))
    im.paste((255, 0, 0), (0, 0, 10, 20))  # a red band on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise
    img = prepare_image(encode(im, "JPEG", exif=exif.tobytes(), quality=95), SETTINGS)
    assert not img.passthrough and img.format == "jpeg"
    assert (img.width, img.height) == (20, 40)
    out = decoded(img)
    assert out.size == (20, 40) and out.mode == "RGB" and "exif" not in out.info
    r, g, _ = out.getpixel((10, 3))  # the band is now at the top
    assert r > 200 and g < 60


def test_cmyk_palette_alpha_16bit_become_8bit_rgb_or_gray() -> None:
    cmyk = prepare_image(encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"), SETTINGS)
    assert not cmyk.passthrough and cmyk.format == "jpeg" and decoded(cmyk).mode == "RGB"
    r, g, b = decoded(cmyk).getpixel((4, 4))
    assert r > 200 and g < 60 and b < 60  # red stays red

    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 0, 128, 255] + [0] * 762)
    pal = prepare_image(encode(palette, "PNG"), SETTINGS)
    assert pal.format == "png" and decoded(pal).mode == "RGB" and decoded(pal).getpixel((0, 0)) == (0, 128, 255)

    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red: flattened onto white
    flat = prepare_image(encode(rgba, "PNG"), SETTINGS)
    assert flat.format == "png" and decoded(flat).mode == "RGB" and decoded(flat).getpixel((0, 0)) == (255, 255, 255)

    deep = Image.fromarray(np.full((6, 6), 65535 // 2, dtype=np.uint16))
    g16 = prepare_image(encode(deep, "PNG"), SETTINGS)
    assert g16.format == "png" and decoded(g16).mode == "L" and decoded(g16).getpixel((0, 0)) == 127  # scaled

    gif = prepare_image(encode(Image.new("RGB", (8, 8), (0, 200, 0)), "GIF"), SETTINGS)
    assert gif.format == "jpeg" and decoded(gif).mode == "RGB"


def test_resize_and_quality() -> None:
    data = encode(Image.new("RGB", (40, 20), (10, 200, 30)), "JPEG")
    short = prepare_image(data, ImageSettings(resize=10))
    assert (short.width, short.height) == (20, 10) and not short.passthrough
    fixed = prepare_image(data, ImageSettings(resize=(16, 16)))
    assert (fixed.width, fixed.height) == (16, 16)
    same = prepare_image(data, ImageSettings(resize=20))  # already 20 on its shorter side: untouched
    assert same.passthrough
    low, high = (prepare_image(data, ImageSettings(resize=(32, 32), quality=q)) for q in (10, 95))
    assert len(low.data) < len(high.data)
    assert parse_resize("224") == 224 and parse_resize("224x160") == (224, 160)
    with pytest.raises(InputError, match="224x160"):
        parse_resize("big")


def test_unreadable_image_names_its_path() -> None:
    with pytest.raises(InputError, match="cannot read the image") as err:
        prepare_image(b"<html>not found</html>", SETTINGS, path="images/x.jpg")
    assert err.value.file == "images/x.jpg"


# -- schemas and the spec ---------------------------------------------------------------------------


def test_tfrecord_features_json_matches_the_spec() -> None:
    on_disk = json.loads((ROOT / "schemas" / "tfrecord-features.json").read_text(encoding="utf-8"))
    assert on_disk == features_document()
    assert list(on_disk["features"]) == list(FEATURES)


def test_missing_tensorflow_gives_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    src = make_dataset(tmp_path)
    with pytest.raises(MissingDependencyError) as err:
        labelprep.export(src, tmp_path / "out")
    assert err.value.hint == 'install it with: pip install "labelprep[tf]"'
    assert not (tmp_path / "out").exists()
    r = CliRunner().invoke(main, ["export", str(src), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1 and 'pip install "labelprep[tf]"' in r.output and "Traceback" not in r.output


def test_export_and_verify_help_never_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from labelprep.cli import main\n"
        "for args in (['export', '--help'], ['verify', '--help']):\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0\n"
        "import labelprep\n"
        "labelprep.Manifest, labelprep.export, labelprep.verify\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_cli_options_are_the_api_parameters() -> None:
    import inspect

    from test_options import api_options

    api = api_options("export") | {"out_dir"}
    # presentation options are the CLI's own: -q/--quiet, -v/--verbose (TensorFlow's start-up lines), --output-format
    cli = {p.name for p in main.commands["export"].params} - {"quiet", "verbose", "output_format", "sources"}  # type: ignore[attr-defined]
    assert cli == api
    v_api = set(inspect.signature(labelprep.verify).parameters) - {"progress", "out_dir"}
    v_cli = {p.name for p in main.commands["verify"].params} - {"output_format", "output", "quiet", "verbose", "out_dir"}  # type: ignore[attr-defined]
    assert v_cli == v_api


# -- export and verify (TensorFlow) ------------------------------------------------------------------


@pytest.mark.tf
def test_end_to_end_on_the_bundled_example(tmp_path: Path) -> None:
    frame = tmp_path / "labels.parquet"
    r = CliRunner().invoke(main, ["convert", str(EXAMPLE), "-o", str(frame), "--split-col", "split",
                                  "--group-col", "patient"])  # fmt: skip
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["validate", str(frame)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "shards"
    r = CliRunner().invoke(main, ["export", str(frame), "-o", str(out), "--num-shards", "2"])
    assert r.exit_code == 0, r.output
    assert "train: 36 examples in 2 shard(s)" in r.output and "Wrote" in r.output
    r = CliRunner().invoke(main, ["verify", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("OK: 0 error(s), 0 warning(s) in 48 image(s)")

    m = Manifest.read(out)
    assert m.name == "labels" and list(m.vocabulary) == ["circle", "square", "triangle"]
    assert {k: v.examples for k, v in m.splits.items()} == {"train": 36, "val": 6, "test": 6}
    assert all(p.is_file() for s in m.splits for p in m.shard_paths(s))
    assert not m.has_unknown("train")
    assert m.split("train").pos_weight["circle"] == pytest.approx((36 - 22) / 22)
    assert m.image["passed_through"] == 48 and m.image["normalised"] == 0
    with pytest.raises(InputError, match="did you mean 'train'"):
        m.split("trian")
    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "schemas" / "manifest.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(json.loads((out / "manifest.json").read_text()))
    assert Manifest.from_dict(m.to_dict()).to_dict() == m.to_dict()


@pytest.mark.tf
def test_examples_hold_the_spec_labels_and_untouched_bytes(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds")
    m = labelprep.export(src, tmp_path / "out", split_col="split", num_shards=2, workers=1)
    vocab = list(m.vocabulary)
    assert vocab == ["bird", "cat", "dog"] and set(m.splits) == {"train", "val"}
    by_path = {}
    for split in m.splits:
        for shard, p in zip(m.splits[split].shards, m.shard_paths(split)):
            exs = records(p)
            assert len(exs) == shard.examples
            for ex in exs:
                assert set(ex.features.feature) == set(FEATURES)
                by_path[feature(ex, "image/path")[0].decode()] = (split, ex)
    assert len(by_path) == 12
    for i in range(12):
        path = f"images/{i:02d}.{'png' if i % 3 == 0 else 'jpg'}"
        split, ex = by_path[path]
        assert split == ("val" if i % 4 == 3 else "train")
        want = sorted(vocab.index(x) for x in LABEL_SETS[i].split("|") if x)
        assert feature(ex, "labels/positive") == want and feature(ex, "labels/unknown") == []
        assert feature(ex, "image/encoded")[0] == (tmp_path / "ds" / path).read_bytes()  # passed through
        assert feature(ex, "image/format") == [b"png" if i % 3 == 0 else b"jpeg"]
        assert (feature(ex, "image/height"), feature(ex, "image/width")) == ([12], [16])
    train = m.splits["train"]
    assert train.positives["cat"] == sum("cat" in LABEL_SETS[i] for i in range(12) if i % 4 != 3)


@pytest.mark.tf
def test_unknown_cells_become_unknown_indices(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds", n=4, splits=False)
    wide = tmp_path / "ds" / "wide.csv"
    wide.write_text("image,cat,dog\nimages/00.png,1,-1\nimages/01.jpg,0,1\nimages/02.jpg,-1,0\nimages/03.png,1,1\n")
    m = labelprep.export(wide, tmp_path / "out", images_root=src.parent)
    assert list(m.splits) == ["train"] and m.has_unknown("train")
    assert m.splits["train"].unknown == {"cat": 1, "dog": 1}
    assert m.splits["train"].pos_weight == {"cat": 0.5, "dog": 0.5}  # unknown cells count as neither
    exs = {feature(e, "image/path")[0].decode(): e for e in records(m.shard_paths("train")[0])}
    assert feature(exs["images/00.png"], "labels/unknown") == [1]
    assert feature(exs["images/00.png"], "labels/positive") == [0]


@pytest.mark.tf
def test_normalised_images_are_rotated_rgb_in_the_shard(tmp_path: Path) -> None:
    import tensorflow as tf

    ds = tmp_path / "ds"
    (ds / "images").mkdir(parents=True)
    im = Image.new("RGB", (30, 10), (200, 200, 200))
    exif = Image.Exif()
    exif[0x0112] = 8
    (ds / "images" / "rot.jpg").write_bytes(encode(im, "JPEG", exif=exif.tobytes()))
    (ds / "images" / "cmyk.jpg").write_bytes(encode(Image.new("CMYK", (9, 7), (0, 255, 255, 0)), "JPEG"))
    pal = Image.new("P", (5, 6), 0)
    pal.putpalette([10, 20, 30] * 256)
    (ds / "images" / "pal.png").write_bytes(encode(pal, "PNG"))
    (ds / "images" / "ok.jpg").write_bytes(encode(Image.new("RGB", (8, 8), (1, 2, 3)), "JPEG"))
    (ds / "l.csv").write_text("image,labels\nimages/rot.jpg,a\nimages/cmyk.jpg,b\nimages/pal.png,a|b\nimages/ok.jpg,a\n")
    m = labelprep.export(ds / "l.csv", tmp_path / "out")
    assert (m.image["passed_through"], m.image["normalised"]) == (1, 3)
    exs = {feature(e, "image/path")[0].decode(): e for e in records(m.shard_paths("train")[0])}
    for path, (h, w, fmt) in {"images/rot.jpg": (30, 10, b"jpeg"), "images/cmyk.jpg": (7, 9, b"jpeg"),
                              "images/pal.png": (6, 5, b"png")}.items():  # fmt: skip
        ex = exs[path]
        assert feature(ex, "image/format") == [fmt]
        assert (feature(ex, "image/height"), feature(ex, "image/width")) == ([h], [w])
        pixels = tf.io.decode_image(feature(ex, "image/encoded")[0], expand_animations=False)
        assert tuple(pixels.shape) == (h, w, 3)
    assert labelprep.verify(tmp_path / "out").ok


@pytest.mark.tf
def test_two_exports_are_byte_identical_with_any_worker_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import labelprep.shards.export as shard_export

    monkeypatch.setattr(shard_export, "_INLINE_BELOW_BYTES", 0)  # use worker processes even for tiny data
    src = make_dataset(tmp_path / "ds", n=24)
    a = labelprep.export(src, tmp_path / "a", split_col="split", num_shards=3, seed=7, workers=1)
    labelprep.export(src, tmp_path / "b", split_col="split", num_shards=3, seed=7, workers=2)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert sorted(tree(tmp_path / "a")) == sorted(["manifest.json", *(s.file for sp in a.splits.values()
                                                                      for s in sp.shards)])  # fmt: skip
    labelprep.export(src, tmp_path / "c", split_col="split", num_shards=3, seed=8)
    assert tree(tmp_path / "c")["manifest.json"] != tree(tmp_path / "a")["manifest.json"]


@pytest.mark.tf
def test_invalid_input_is_refused_with_the_report_and_nothing_written(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "images" / "01.jpg").unlink()
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "--split-col", "split"])
    assert r.exit_code == 1
    assert "ERROR missing-file (1)" in r.stdout and "FAILED: 1 error(s)" in r.stdout
    assert r.stderr.startswith("Error: export refused, nothing written") and "--skip-invalid" in r.stderr
    assert "Traceback" not in r.output
    assert not out.exists()
    with pytest.raises(ExportRefused) as err:
        labelprep.export(src, out, split_col="split")
    assert err.value.report.codes()["missing-file"] == 1 and not out.exists()
    r = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "--split-col", "split", "--output-format", "json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["summary"]["by_code"]["missing-file"] == 1


@pytest.mark.tf
def test_skip_invalid_leaves_out_unusable_rows_and_records_them(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds")
    img = tmp_path / "ds" / "images"
    (img / "01.jpg").unlink()  # missing-file
    (img / "02.jpg").write_bytes((img / "02.jpg").read_bytes()[:40])  # corrupt-image (truncated)
    (img / "07.jpg").write_bytes((img / "04.jpg").read_bytes())  # 07 is val, 04 train: leaked-image
    m = labelprep.export(src, tmp_path / "out", split_col="split", skip_invalid=True)
    got = sorted((s.path, s.split, s.code) for s in m.skipped)
    assert got == [("images/01.jpg", "train", "missing-file"), ("images/02.jpg", "train", "corrupt-image"),
                   ("images/07.jpg", "val", "leaked-image")]  # fmt: skip
    assert all(s.reason for s in m.skipped)
    assert m.splits["train"].examples == 9 - 2 and m.splits["val"].examples == 3 - 1
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["skipped"][0]["path"] == "images/01.jpg"
    assert labelprep.verify(tmp_path / "out").ok
    # errors that are not about one row's image still refuse
    (tmp_path / "ds" / "labels.csv").write_text("image,labels\nimages/00.png,cat|dog\nimages/00.png,dog\n")
    with pytest.raises(ExportRefused):
        labelprep.export(src, tmp_path / "out2", skip_invalid=True)


@pytest.mark.tf
def test_tiny_shards_get_a_note(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds", n=20, splits=False)
    m = labelprep.export(src, tmp_path / "out", shard_size=10)  # bytes, not examples
    assert len(m.splits["train"].shards) == 20
    assert any(n.startswith("20 shards of about 1.0 example(s) each") and "--shard-size is in bytes" in n
               for n in m.notes)  # fmt: skip
    assert not any("tiny shards" in n for n in labelprep.export(src, tmp_path / "ok").notes)


@pytest.mark.tf
def test_an_earlier_export_needs_resume_or_overwrite_and_foreign_files_stay(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds")
    out = tmp_path / "out"
    first = labelprep.export(src, out, num_shards=3, name="ds")
    (out / "notes.txt").write_text("mine")
    r = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "--num-shards", "2", "--name", "ds"])
    assert r.exit_code == 1 and "a previous export" in r.output and "--overwrite" in r.output
    second = labelprep.export(src, out, num_shards=2, name="ds", overwrite=True)
    left = set(tree(out))
    assert left == {"notes.txt", "manifest.json", *(s.file for s in second.splits["train"].shards)}
    assert not any(s.file in left for s in first.splits["train"].shards)  # the old 3 shards are gone
    assert (out / "notes.txt").read_text() == "mine"


# `labelprep ARGS...` in a child process whose shard writer sleeps before each record, so that a test can kill it
# between shards (a slow task, patched in from the test side: the writer has no hook for it).
SLOW_CLI = """
import sys, time
import labelprep.shards.writer as writer
real = writer.example_values
def slow(*args, **kwargs):
    time.sleep(DELAY)
    return real(*args, **kwargs)
writer.example_values = slow
from labelprep.cli import main
main(sys.argv[1:], prog_name="labelprep")
"""


def slow_cli(delay: float, *args: str) -> list[str]:
    """The command line of :data:`SLOW_CLI`: ``labelprep *args``, sleeping ``delay`` seconds a record."""
    return [sys.executable, "-c", SLOW_CLI.replace("DELAY", repr(delay)), *args]


@pytest.mark.tf
def test_resume_after_kill_ends_byte_identical(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "ds", n=12, splits=False)
    fresh = tmp_path / "fresh"
    labelprep.export(src, fresh, num_shards=6, workers=1)
    out = tmp_path / "out"
    args = slow_cli(0.4, "export", str(src), "-o", str(out), "--num-shards", "6", "--workers", "1")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / STATE_NAME
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            try:
                finished = json.loads(state.read_text())["finished"]
            except (OSError, ValueError, KeyError):
                finished = {}
            if finished:
                break
            assert proc.poll() is None, "the export ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no shard finished in time")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert not (out / "manifest.json").exists()
    finished = json.loads(state.read_text())["finished"]
    kept = next(iter(finished))
    kept_stat = (out / kept).stat()
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    r = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "--num-shards", "6"])
    assert r.exit_code == 1 and "unfinished export" in r.output
    m = labelprep.export(src, out, num_shards=6, resume=True)
    assert f"resume: kept {len(finished)} finished shard(s) of 6" in m.notes
    assert (out / kept).stat().st_mtime_ns == kept_stat.st_mtime_ns  # not written again
    assert tree(out) == tree(fresh)  # no state file, no temporary files, same bytes
    # a finished shard whose bytes changed since the kill is written again
    data = bytearray((damaged / kept).read_bytes())
    data[-5] ^= 0xFF
    (damaged / kept).write_bytes(bytes(data))
    m = labelprep.export(src, damaged, num_shards=6, resume=True)
    assert f"resume: kept {len(finished) - 1} finished shard(s) of 6" in m.notes
    assert tree(damaged) == tree(fresh)


@pytest.mark.tf
def test_export_reads_each_source_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    import labelprep.readers.refine as refine

    root = make_dataset(tmp_path / "data", splits=False)
    frame = pd.read_csv(root)
    half = len(frame) // 2
    frame.iloc[:half].to_csv(root.parent / "train.csv", index=False)
    frame.iloc[half:].to_csv(root.parent / "val.csv", index=False)
    calls: list[str] = []
    original = refine.read_source

    def counting(source: Any, **kw: Any) -> Any:
        calls.append(Path(source).name)
        return original(source, **kw)

    monkeypatch.setattr(refine, "read_source", counting)
    m = labelprep.export([root.parent / "train.csv", root.parent / "val.csv"], tmp_path / "out")
    assert sorted(calls) == ["train.csv", "val.csv"]  # validation read them; export wrote what it read
    assert m.splits["train"].examples == half and m.splits["val"].examples == len(frame) - half
