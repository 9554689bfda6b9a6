"""The loading side: load_dataset, ShardSequence, flow_from_frame and the weighted loss.

Shards are written here with tf.io.TFRecordWriter from spec.FEATURES (the contract with export), so
these tests do not depend on the export code; the end-to-end test uses the real export when it exists.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import labelprep
from labelprep.shards import spec
from labelprep.shards.manifest import Manifest, ShardInfo, SplitInfo
from labelprep.shards.writer import file_sha256

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"
LABELS = ("square", "circle", "triangle")  # deliberately not sorted


@dataclass
class Export:
    out: Path
    pixels: list[np.ndarray]  # what the shards hold, decoded as the loader decodes them
    labels: np.ndarray  # int8 [N, K]: 1, 0, -1 (unknown)
    paths: list[str]


def _feature(kind: str, values: list[Any]) -> Any:
    import tensorflow as tf

    if kind == "bytes":
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _encode(arr: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG" if fmt == "png" else "JPEG", quality=90)
    return buf.getvalue()


def write_export(
    out: Path,
    labels: np.ndarray,
    *,
    split: str = "train",
    shards: int = 2,
    size: tuple[int, int] = (12, 16),
    vocab: tuple[str, ...] = LABELS,
    seed: int = 0,
) -> Export:
    """Shards and a manifest.json of the shape export writes: every feature of spec.FEATURES, PNG and JPEG mixed."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    records, pixels, paths = [], [], []
    for i, row in enumerate(labels):
        fmt = "png" if i % 3 == 0 else "jpeg"
        h, w = size if i % 4 else (size[0] + 3, size[1] - 2)  # one image in four has another size
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if i % 5 == 4:  # a grey image, decoded to three channels
            arr = np.repeat(arr[:, :, :1], 3, axis=2)
            data = _encode(arr[:, :, 0], fmt)
        else:
            data = _encode(arr, fmt)
        pixels.append(tf.io.decode_image(data, channels=3, expand_animations=False).numpy())
        if fmt == "png":
            np.testing.assert_array_equal(pixels[-1], arr)
        path = f"img_{i:03d}.{'png' if fmt == 'png' else 'jpg'}"
        paths.append(path)
        values = {
            "image/encoded": [data],
            "image/format": [fmt.encode()],
            "image/height": [h],
            "image/width": [w],
            "image/path": [path.encode()],
            "labels/positive": [int(k) for k in np.flatnonzero(row == 1)],
            "labels/unknown": [int(k) for k in np.flatnonzero(row == -1)],
        }
        assert set(values) == set(spec.FEATURES)
        feats = {key: _feature(spec.FEATURES[key][0], v) for key, v in values.items()}
        records.append(tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString())
    bounds = np.linspace(0, len(records), shards + 1).astype(int)
    entries = []
    for k in range(shards):
        name = spec.shard_name("data", split, k, shards)
        with tf.io.TFRecordWriter(str(out / name)) as writer:
            for rec in records[bounds[k] : bounds[k + 1]]:
                writer.write(rec)
        size_bytes = (out / name).stat().st_size
        entries.append(ShardInfo(name, int(bounds[k + 1] - bounds[k]), size_bytes, file_sha256(out / name)))
    pos, neg = (labels == 1).sum(axis=0), (labels == 0).sum(axis=0)
    info = SplitInfo(
        name=split,
        examples=len(records),
        positives={lab: int(n) for lab, n in zip(vocab, pos)},
        pos_weight={lab: (float(nn / p) if p else None) for lab, nn, p in zip(vocab, neg, pos)},
        unknown={lab: int(n) for lab, n in zip(vocab, (labels == -1).sum(axis=0))},
        shards=entries,
    )
    if (out / spec.MANIFEST_NAME).exists():  # another split of the same export
        manifest = Manifest.read(out)
        manifest.splits[split] = info
    else:
        manifest = Manifest(name="data", vocabulary=labelprep.Vocabulary(vocab), splits={split: info},
                            image={"format": "keep"}, source={"frame": "test"})  # fmt: skip
    (out / spec.MANIFEST_NAME).write_text(manifest.to_json())
    return Export(out, pixels, labels.astype(np.int8), paths)


def random_labels(n: int, k: int = len(LABELS), *, unknown: bool = False, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, k)) < 0.4).astype(np.int8)
    labels[0] = 0  # an image with no label
    if unknown:
        labels[rng.random((n, k)) < 0.15] = -1
    return labels


def collect(ds: Any) -> list[np.ndarray]:
    """Concatenate every element of every batch: [images, labels(, mask)] as numpy."""
    parts: list[list[np.ndarray]] = []
    for batch in ds:
        arrays = [np.asarray(t) for t in batch]
        if not parts:
            parts = [[] for _ in arrays]
        for store, a in zip(parts, arrays):
            store.append(a)
    return [np.concatenate(p) for p in parts]


def resized(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    if pixels.shape[:2] == size:
        return pixels.astype(np.float32)
    return np.clip(np.round(tf.image.resize(pixels, size, method="bilinear").numpy()), 0, 255)


# -- load_dataset ---------------------------------------------------------------------------------------------------


@pytest.mark.tf
def test_round_trip_every_image_and_label(tmp_path: Path) -> None:
    from labelprep.tfdata import split_paths

    exp = write_export(tmp_path / "out", random_labels(11), shards=3)
    assert split_paths(exp.out) == exp.paths
    ds = labelprep.load_dataset(exp.out, batch_size=4, image_size=(12, 16), shuffle=False)
    assert len(ds) == 3
    images, labels = collect(ds)
    assert images.dtype == np.float32 and labels.dtype == np.float32
    assert images.shape == (11, 12, 16, 3) and labels.shape == (11, 3)
    np.testing.assert_array_equal(labels, exp.labels)
    for i, px in enumerate(exp.pixels):
        if px.shape[:2] == (12, 16):
            np.testing.assert_array_equal(images[i], px)  # exact, the same decoder
        else:
            np.testing.assert_array_equal(images[i], resized(px, (12, 16)))
    assert images.min() >= 0 and images.max() <= 255 and images.max() > 1  # pixel scale 0..255


@pytest.mark.tf
def test_the_loader_parses_only_features_of_the_contract() -> None:
    from labelprep.tfdata import _PARSE, _PARSE_BATCH

    assert set(_PARSE) == set(_PARSE_BATCH) and set(_PARSE) <= set(spec.FEATURES)


@pytest.mark.tf
def test_resize_is_bilinear_squash_rounded(tmp_path: Path) -> None:
    exp = write_export(tmp_path / "out", random_labels(5), shards=1)
    images, _ = collect(labelprep.load_dataset(exp.out, batch_size=5, image_size=(7, 9), shuffle=False))
    assert images.shape == (5, 7, 9, 3)
    for i, px in enumerate(exp.pixels):
        np.testing.assert_array_equal(images[i], resized(px, (7, 9)))


@pytest.mark.tf
def test_mask_is_present_iff_the_split_has_unknown_labels(tmp_path: Path) -> None:
    labels = random_labels(9, unknown=True)
    exp = write_export(tmp_path / "out", labels)
    plain = write_export(tmp_path / "out", random_labels(6), split="val")
    ds = labelprep.load_dataset(exp.out, "train", batch_size=4, image_size=(8, 8), shuffle=False)
    assert len(ds.element_spec) == 3
    _, y, mask = collect(ds)
    np.testing.assert_array_equal(mask, (labels != -1).astype(np.float32))
    np.testing.assert_array_equal(y, (labels == 1).astype(np.float32))  # unknown is 0 in y, masked out
    val = labelprep.load_dataset(plain.out, "val", batch_size=4, image_size=(8, 8), shuffle=False)
    assert len(val.element_spec) == 2


@pytest.mark.tf
def test_shuffle_covers_every_example_and_a_seed_repeats_it(tmp_path: Path) -> None:
    exp = write_export(tmp_path / "out", random_labels(20), shards=4)

    def order(seed: int | None) -> list[float]:
        ds = labelprep.load_dataset(exp.out, batch_size=6, image_size=(4, 4), seed=seed)
        images, _ = collect(ds)
        return [float(x) for x in images.reshape(len(images), -1).sum(axis=1)]

    first, again, other = order(7), order(7), order(8)
    unshuffled, _ = collect(labelprep.load_dataset(exp.out, batch_size=6, image_size=(4, 4), shuffle=False))
    base = [float(x) for x in unshuffled.reshape(20, -1).sum(axis=1)]
    assert first == again
    assert sorted(first) == sorted(other) == sorted(base)
    assert first != base and first != other


@pytest.mark.tf
def test_augment_changes_pixels_not_labels(tmp_path: Path) -> None:
    import keras

    exp = write_export(tmp_path / "out", random_labels(16), size=(8, 8))
    kw: dict[str, Any] = {"batch_size": 16, "image_size": (8, 8), "shuffle": False}
    (plain, y0), = [tuple(np.asarray(t) for t in b) for b in labelprep.load_dataset(exp.out, **kw)]  # fmt: skip
    flipped = labelprep.load_dataset(exp.out, augment=keras.layers.RandomFlip("horizontal", seed=3), **kw)
    images, y = collect(flipped)
    np.testing.assert_array_equal(y, y0)
    mirrored = [np.array_equal(a, b[:, ::-1]) for a, b in zip(images, plain)]
    same = [np.array_equal(a, b) for a, b in zip(images, plain)]
    assert all(m or s for m, s in zip(mirrored, same))
    assert any(mirrored) and any(same)
    # A plain callable works too, on the float batch.
    halved, _ = collect(labelprep.load_dataset(exp.out, augment=lambda x: x / 2, **kw))
    np.testing.assert_allclose(halved, plain / 2)


@pytest.mark.tf
@pytest.mark.parametrize("cache", [False, True])
@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_mirrors_about_half_the_images_anew_each_epoch(tmp_path: Path, mode: str, cache: bool) -> None:
    exp = write_export(tmp_path / "out", random_labels(40), size=(6, 7), shards=1)
    kw: dict[str, Any] = {"batch_size": 16, "image_size": (6, 7), "shuffle": False, "cache": cache}
    plain, y0 = collect(labelprep.load_dataset(exp.out, **kw))
    ds = labelprep.load_dataset(exp.out, flip=mode, seed=11, **kw)
    (first, y1), (second, _) = collect(ds), collect(ds)
    np.testing.assert_array_equal(y1, y0)
    variants = {
        "none": plain,
        "horizontal": plain[:, :, ::-1],
        "vertical": plain[:, ::-1, :],
        "both": plain[:, ::-1, ::-1],
    }
    allowed = {"horizontal": ["none", "horizontal"], "vertical": ["none", "vertical"]}.get(mode, list(variants))

    def kinds(images: np.ndarray) -> list[str]:
        out = []
        for i, img in enumerate(images):
            match = [k for k in allowed if np.array_equal(img, variants[k][i])]
            assert match, f"image {i} is not a flip of its source"
            out.append(match[0])
        return out

    k1, k2 = kinds(first), kinds(second)
    assert len(set(k1)) == len(allowed)  # every allowed variant occurs among 40 images
    assert k1 != k2  # new draws each epoch
    assert kinds(collect(labelprep.load_dataset(exp.out, flip=mode, seed=11, **kw))[0]) == k1  # the seed repeats them
    with pytest.raises(ValueError, match="flip must be one of"):
        labelprep.load_dataset(exp.out, flip="sideways")


@pytest.mark.tf
@pytest.mark.parametrize("mode", ["horizontal", "horizontal_and_vertical"])
def test_flip_without_xla_gives_the_same_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    from labelprep import tfdata as lp_tf

    exp = write_export(tmp_path / "out", random_labels(21, unknown=True), size=(5, 6))
    kw: dict[str, Any] = {"batch_size": 8, "image_size": (5, 6), "flip": mode, "seed": 4}
    assert lp_tf._xla_works()  # this TensorFlow has XLA: the fast path is the one under test
    fast = collect(labelprep.load_dataset(exp.out, **kw))
    fast_u8 = collect(labelprep.load_dataset(exp.out, dtype="uint8", **kw))[0]
    monkeypatch.setattr(lp_tf, "_xla_usable", False)
    slow = collect(labelprep.load_dataset(exp.out, **kw))
    assert len(fast) == len(slow) == 3
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    slow_u8 = collect(labelprep.load_dataset(exp.out, dtype="uint8", **kw))[0]
    assert fast_u8.dtype == slow_u8.dtype == np.uint8
    np.testing.assert_array_equal(fast_u8, slow_u8)
    np.testing.assert_array_equal(fast_u8, fast[0])


@pytest.mark.tf
def test_a_failing_xla_falls_back_to_plain_ops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labelprep import tfdata as lp_tf

    def broken(*args: Any) -> Any:
        raise RuntimeError("no XLA here")

    monkeypatch.setattr(lp_tf, "_flip_to_dtype_xla", broken)
    monkeypatch.setattr(lp_tf, "_xla_usable", None)
    assert lp_tf._xla_works() is False
    exp = write_export(tmp_path / "out", random_labels(12), size=(4, 5))
    kw: dict[str, Any] = {"batch_size": 12, "image_size": (4, 5), "shuffle": False}
    plain, _ = collect(labelprep.load_dataset(exp.out, **kw))
    flipped, _ = collect(labelprep.load_dataset(exp.out, flip="horizontal", seed=2, **kw))
    mirrored = [np.array_equal(a, b[:, ::-1]) for a, b in zip(flipped, plain)]
    assert any(mirrored) and not all(mirrored)


@pytest.mark.tf
@pytest.mark.parametrize("cache", [False, True])
@pytest.mark.parametrize("dtype", ["uint8", "float16", "bfloat16"])
def test_dtype_gives_the_same_pixels_and_flips_in_that_dtype(tmp_path: Path, dtype: str, cache: bool) -> None:
    import tensorflow as tf

    exp = write_export(tmp_path / "out", random_labels(19, unknown=True), size=(7, 9))
    kw: dict[str, Any] = {"batch_size": 5, "image_size": (6, 8), "flip": "horizontal", "seed": 3, "cache": cache}
    ref = collect(labelprep.load_dataset(exp.out, **kw))
    ds = labelprep.load_dataset(exp.out, dtype=dtype, **kw)
    assert ds.element_spec[0].dtype == tf.as_dtype(dtype)
    assert [s.dtype for s in ds.element_spec[1:]] == [tf.float32, tf.float32]  # labels and mask stay float32
    batches = list(ds)  # one epoch
    got = [tf.concat([b[i] for b in batches], 0) for i in range(3)]
    assert got[0].dtype == tf.as_dtype(dtype)
    # Pixels 0..255 are whole numbers, exact in every dtype: the same values and the same flips as float32.
    np.testing.assert_array_equal(tf.cast(got[0], tf.float32).numpy(), ref[0])
    for a, b in zip(got[1:], ref[1:]):
        np.testing.assert_array_equal(a.numpy(), b)


@pytest.mark.tf
def test_dtype_holds_after_augment_and_bad_dtypes_are_refused(tmp_path: Path) -> None:
    import tensorflow as tf

    exp = write_export(tmp_path / "out", random_labels(8), size=(4, 5))
    kw: dict[str, Any] = {"batch_size": 8, "image_size": (4, 5), "shuffle": False}
    plain = collect(labelprep.load_dataset(exp.out, **kw))[0]
    # An augment that returns float32 (as Keras layers do): rounded and clipped back to uint8, not truncated.
    ds = labelprep.load_dataset(exp.out, dtype="uint8", augment=lambda x: tf.cast(x, tf.float32) * 0.5 + 200, **kw)
    images = collect(ds)[0]
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(images, np.clip(np.round(plain * 0.5 + 200), 0, 255).astype(np.uint8))
    assert collect(labelprep.load_dataset(exp.out, dtype=tf.float16, **kw))[0].dtype == np.float16
    assert collect(labelprep.load_dataset(exp.out, dtype=np.dtype("uint8"), **kw))[0].dtype == np.uint8
    for bad in ("int32", "float64", None, 3):
        with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float16', 'bfloat16', 'uint8'"):
            labelprep.load_dataset(exp.out, dtype=bad)  # type: ignore[arg-type]


@pytest.mark.tf
def test_batch_parsing_equals_parsing_each_record(tmp_path: Path) -> None:
    import tensorflow as tf

    from labelprep.tfdata import _examples, decode_example

    labels = random_labels(9, unknown=True)
    labels[1] = 1  # every label
    labels[2] = -1  # every label unknown
    exp = write_export(tmp_path / "out", labels, shards=1)
    shard = str(next(exp.out.glob("*.tfrecord-*")))
    records = list(tf.data.TFRecordDataset(shard).as_numpy_iterator())
    # A record whose label indices fall outside the vocabulary: ignored, by both.
    odd = tf.train.Example.FromString(records[3])
    odd.features.feature["labels/positive"].int64_list.value[:] = [1, 7, -2]
    odd.features.feature["labels/unknown"].int64_list.value[:] = [3, 0]
    records.append(odd.SerializeToString())
    labels = np.concatenate([labels, [[0, 1, 0]]]).astype(np.int8)
    labels[-1, 0] = -1
    serialized = tf.constant(records)
    batch = _examples(serialized, (10, 13), len(LABELS), True)
    one_by_one = [decode_example(s, (10, 13), len(LABELS), True) for s in serialized]
    for k, part in enumerate(batch):
        assert part.dtype == one_by_one[0][k].dtype
        np.testing.assert_array_equal(part.numpy(), np.stack([t[k].numpy() for t in one_by_one]))
    y, mask = batch[1].numpy(), batch[2].numpy()
    np.testing.assert_array_equal(y, (labels == 1).astype(np.float32))
    np.testing.assert_array_equal(mask, (labels != -1).astype(np.float32))


@pytest.mark.tf
def test_cache_second_epoch_equals_the_first(tmp_path: Path) -> None:
    exp = write_export(tmp_path / "out", random_labels(10, unknown=True))
    ds = labelprep.load_dataset(exp.out, batch_size=3, image_size=(6, 6), shuffle=False, cache=True)
    assert len(ds) == 4
    first, second = collect(ds), collect(ds)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    uncached = collect(labelprep.load_dataset(exp.out, batch_size=3, image_size=(6, 6), shuffle=False))
    for a, b in zip(first, uncached):
        np.testing.assert_array_equal(a, b)


@pytest.mark.tf
def test_cache_file_is_keyed_by_split_size_and_export(tmp_path: Path) -> None:
    import keras

    exp = write_export(tmp_path / "out", random_labels(10))
    prefix = tmp_path / "cache" / "shapes"
    prefix.parent.mkdir()
    kw: dict[str, Any] = {"batch_size": 4, "cache": prefix, "seed": 1}
    first = collect(labelprep.load_dataset(exp.out, image_size=(6, 6), **kw))
    written = sorted(p.name for p in prefix.parent.iterdir())
    assert any(name.startswith("shapes-train-6x6-") and name.endswith(".index") for name in written)
    # A new pipeline reads the cache file; shuffling and augment still happen after it.
    again = collect(labelprep.load_dataset(exp.out, image_size=(6, 6), **kw))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(np.sort(a.reshape(len(a), -1), axis=0), np.sort(b.reshape(len(b), -1), axis=0))
    aug = keras.layers.RandomFlip("horizontal", seed=5)
    augmented = collect(labelprep.load_dataset(exp.out, image_size=(6, 6), augment=aug, **kw))
    assert not np.array_equal(augmented[0], first[0])
    # Another size gets its own cache rather than the stale one.
    assert collect(labelprep.load_dataset(exp.out, image_size=(5, 5), **kw))[0].shape[1:3] == (5, 5)


@pytest.mark.tf
def test_repeat_and_cardinality(tmp_path: Path) -> None:
    exp = write_export(tmp_path / "out", random_labels(7))
    for cache in (False, True):
        ds = labelprep.load_dataset(exp.out, batch_size=2, image_size=(4, 4), repeat=True, seed=0, cache=cache)
        sizes = [int(b[0].shape[0]) for b in ds.take(9)]
        assert sizes == [2] * 9  # batches run on across epochs rather than ending each with a short one
    assert len(labelprep.load_dataset(exp.out, batch_size=2, image_size=(4, 4))) == 4


@pytest.mark.tf
def test_clear_errors_for_missing_export_split_and_shard(tmp_path: Path) -> None:
    with pytest.raises(labelprep.InputError, match="no manifest here") as err:
        labelprep.load_dataset(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value) and "labelprep export" in str(err.value)
    exp = write_export(tmp_path / "out", random_labels(4))
    with pytest.raises(labelprep.InputError, match=r"no split 'test' in this export \(splits: 'train'\)"):
        labelprep.load_dataset(exp.out, "test")
    next(exp.out.glob("*.tfrecord-*")).unlink()
    with pytest.raises(labelprep.InputError, match="missing"):
        labelprep.load_dataset(exp.out)
    ok = write_export(tmp_path / "ok", random_labels(4))
    with pytest.raises(ValueError, match="image_size"):
        labelprep.load_dataset(ok.out, image_size=(0, 4))
    with pytest.raises(ValueError, match="batch_size"):
        labelprep.load_dataset(ok.out, batch_size=0)


@pytest.mark.tf
def test_a_shard_shorter_than_the_manifest_says_is_an_error(tmp_path: Path) -> None:
    import tensorflow as tf

    exp = write_export(tmp_path / "out", random_labels(6), shards=1)
    manifest = json.loads((exp.out / spec.MANIFEST_NAME).read_text())
    manifest["splits"]["train"]["examples"] = 8
    (exp.out / spec.MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(tf.errors.FailedPreconditionError, match="expected to contain 8"):
        collect(labelprep.load_dataset(exp.out, image_size=(4, 4)))
    from labelprep.keras import ShardSequence

    with pytest.raises(labelprep.InputError, match="6 records in its shards but the manifest says 8"):
        ShardSequence(exp.out)


def test_import_labelprep_stays_tf_free_and_missing_tf_is_polite() -> None:
    code = (
        "import sys\n"
        "import labelprep, labelprep.losses\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "sys.modules['tensorflow'] = None  # as if it were not installed\n"
        "for get in (lambda: labelprep.load_dataset, lambda: labelprep.losses.weighted_binary_crossentropy()):\n"
        "    try:\n"
        "        get()\n"
        "    except labelprep.MissingDependencyError as exc:\n"
        "        print(exc)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all('pip install "labelprep[tf]"' in line for line in lines)


@pytest.mark.tf
def test_load_dataset_is_exported_lazily() -> None:
    import labelprep.tfdata

    assert labelprep.load_dataset is labelprep.tfdata.load_dataset
    assert "load_dataset" in labelprep.__all__ and "load_dataset" in dir(labelprep)
    with pytest.raises(AttributeError):
        labelprep.no_such_name  # noqa: B018


# -- class_weight ---------------------------------------------------------------------------------------------------


@pytest.mark.tf
def test_class_weight_in_fit_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import labelprep.tfdata

    monkeypatch.setattr(labelprep.tfdata, "_warned_class_weight", False)
    exp = write_export(tmp_path / "out", random_labels(6))
    model = tiny_model(3, (8, 8))
    model.compile("adam", "binary_crossentropy")
    ds = labelprep.load_dataset(exp.out, batch_size=3, image_size=(8, 8), seed=0)
    with pytest.warns(labelprep.tfdata.ClassWeightWarning, match="argmax"):
        model.fit(ds, epochs=1, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 3.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error", labelprep.tfdata.ClassWeightWarning)
        model.fit(ds, epochs=1, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 3.0})  # once per process
        model.fit(ds, epochs=1, verbose=0)
    monkeypatch.setattr(labelprep.tfdata, "_warned_class_weight", False)
    with pytest.warns(labelprep.tfdata.ClassWeightWarning):
        kwargs = labelprep.tfdata.fit_kwargs_check(epochs=2, class_weight={0: 2.0})
    assert kwargs == {"epochs": 2, "class_weight": {0: 2.0}}


@pytest.mark.tf
def test_only_a_map_to_per_example_weights_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dataset judges what a map returns (a weight an example over multi-hot rows), not who maps it."""
    import labelprep.tfdata

    monkeypatch.setattr(labelprep.tfdata, "_warned_class_weight", False)
    exp = write_export(tmp_path / "out", random_labels(6))
    ds = labelprep.load_dataset(exp.out, batch_size=3, image_size=(8, 8), seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", labelprep.tfdata.ClassWeightWarning)
        ds.map(lambda x, y: (x * 2, y))
        ds.map(lambda x, y: (x, y, y))  # a weight per label (as a mask is): fine for multi-hot rows
    with pytest.warns(labelprep.tfdata.ClassWeightWarning, match="argmax"):
        ds.map(lambda x, y: (x, y, tf_ones_like_rows(y)))


def tf_ones_like_rows(y: Any) -> Any:
    import tensorflow as tf

    return tf.ones_like(y[:, 0])


# -- ShardSequence --------------------------------------------------------------------------------------------------


@pytest.mark.tf
@pytest.mark.parametrize("unknown", [False, True])
def test_shard_sequence_yields_what_load_dataset_yields(tmp_path: Path, unknown: bool) -> None:
    from labelprep.keras import ShardSequence

    exp = write_export(tmp_path / "out", random_labels(11, unknown=unknown), shards=3)
    seq = ShardSequence(exp.out, batch_size=4, image_size=(10, 10), shuffle=False)
    ds = labelprep.load_dataset(exp.out, batch_size=4, image_size=(10, 10), shuffle=False)
    assert len(seq) == len(ds) == 3
    for i, batch in enumerate(ds):
        got = seq[i]
        assert len(got) == len(batch) == (3 if unknown else 2)
        for a, b in zip(got, batch):
            assert isinstance(a, np.ndarray) and a.dtype == np.float32
            np.testing.assert_array_equal(a, b.numpy())
    with pytest.raises(IndexError):
        seq[3]
    small = ShardSequence(exp.out, batch_size=4, image_size=(10, 10), shuffle=False, dtype="uint8")[0][0]
    assert small.dtype == np.uint8
    np.testing.assert_array_equal(small, seq[0][0])


@pytest.mark.tf
def test_shard_sequence_shuffles_per_epoch_and_takes_pydataset_kwargs(tmp_path: Path) -> None:
    from labelprep.keras import ShardSequence

    exp = write_export(tmp_path / "out", random_labels(9), shards=2)
    seq = ShardSequence(exp.out, batch_size=4, image_size=(6, 6), seed=3, workers=2, max_queue_size=3)
    assert seq.workers == 2 and seq.max_queue_size == 3 and not seq.use_multiprocessing

    def epoch() -> list[float]:
        return [float(x.sum()) for i in range(len(seq)) for x in seq[i][0]]

    first = epoch()
    seq.on_epoch_end()
    second = epoch()
    assert sorted(first) == sorted(second) and first != second
    with pytest.raises(ValueError, match="threads"):
        ShardSequence(exp.out, workers=2, use_multiprocessing=True)
    again = ShardSequence(exp.out, batch_size=4, image_size=(6, 6), seed=3)
    assert [float(x.sum()) for i in range(len(again)) for x in again[i][0]] == first
    model = tiny_model(3, (6, 6))
    model.compile("adam", "binary_crossentropy")
    assert math.isfinite(model.fit(seq, epochs=1, verbose=0).history["loss"][0])


# -- flow_from_frame ------------------------------------------------------------------------------------------------


def _frame_dir(tmp_path: Path, labels: np.ndarray, vocab: tuple[str, ...] = LABELS) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(len(labels)):
        path = f"imgs/{i}.png"
        (tmp_path / "imgs").mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)).save(tmp_path / path)
        paths.append(path)
    frame = pd.DataFrame({"path": paths})
    for k, label in enumerate(vocab):
        frame[label] = labels[:, k].astype(np.int8)
    return frame


@pytest.mark.tf
def test_flow_from_frame_keeps_vocabulary_order_and_unlabelled_images(tmp_path: Path) -> None:
    from labelprep.keras import flow_from_frame

    labels = random_labels(7)
    frame = _frame_dir(tmp_path, labels)
    it = flow_from_frame(frame, tmp_path, LABELS, batch_size=7, target_size=(5, 5), shuffle=False)
    x, y = it[0]
    assert it.n == 7  # the image with no label is kept
    assert y.dtype == np.float32 and x.shape == (7, 5, 5, 3)
    np.testing.assert_array_equal(y, labels)  # columns in vocabulary order, not sorted
    np.testing.assert_array_equal(x[1], np.asarray(Image.open(tmp_path / "imgs/1.png"), dtype=np.float32))
    # A split where a label never occurs keeps its column in place.
    val = frame.iloc[labels[:, 1] == 0]
    _, yv = flow_from_frame(val, tmp_path, LABELS, batch_size=len(val), target_size=(5, 5), shuffle=False)[0]
    assert yv.shape[1] == 3 and not yv[:, 1].any()
    np.testing.assert_array_equal(yv, labels[labels[:, 1] == 0])
    # Without vocab: the int8 columns in frame order; from a frame file: its vocabulary.
    _, y2 = flow_from_frame(frame.assign(split="train"), tmp_path, batch_size=7, target_size=(5, 5), shuffle=False)[0]
    np.testing.assert_array_equal(y2, labels)
    labelprep.write_frame(frame, labelprep.Vocabulary(LABELS), tmp_path / "f.parquet")
    _, y3 = flow_from_frame(tmp_path / "f.parquet", tmp_path, batch_size=7, target_size=(5, 5), shuffle=False)[0]
    np.testing.assert_array_equal(y3, labels)
    # a frame file knows its images root; a bare DataFrame must be told
    x4, _ = flow_from_frame(tmp_path / "f.parquet", batch_size=7, target_size=(5, 5), shuffle=False)[0]
    np.testing.assert_array_equal(x4, x)
    with pytest.raises(labelprep.InputError, match="no images root for this frame"):
        flow_from_frame(frame, batch_size=7)


@pytest.mark.tf
def test_flow_from_frame_refuses_unknown_labels_and_dropped_images(tmp_path: Path) -> None:
    from labelprep.keras import flow_from_frame

    frame = _frame_dir(tmp_path, random_labels(4))
    bad = frame.copy()
    bad.loc[2, "circle"] = -1
    with pytest.raises(labelprep.InputError, match="unknown"):
        flow_from_frame(bad, tmp_path, LABELS)
    (tmp_path / frame.loc[3, "path"]).unlink()
    with pytest.raises(labelprep.InputError, match=r"1 image\(s\) .* left out by Keras, first 'imgs/3.png'"):
        flow_from_frame(frame, tmp_path, LABELS)
    with pytest.raises(TypeError, match="class_mode"):
        flow_from_frame(frame, tmp_path, LABELS, class_mode="categorical")


# -- the loss -------------------------------------------------------------------------------------------------------


def _bce(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    return -(w * y * np.log(p) + (1 - y) * np.log(1 - p))


Y = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=np.float32)
P = np.array([[0.9, 0.2, 0.6], [0.3, 0.1, 0.8], [0.7, 0.4, 0.2], [0.05, 0.5, 0.3]], dtype=np.float32)
W = np.array([1.0, 3.0, 0.5])
M = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=np.float32)


@pytest.mark.tf
def test_weighted_loss_equals_hand_computation() -> None:
    import keras

    from labelprep.losses import weighted_binary_crossentropy

    elems = _bce(Y, P, W)
    loss = weighted_binary_crossentropy(W)
    assert float(loss(Y, P)) == pytest.approx(elems.mean(), rel=1e-5)
    # the mask: mean over known (example, label) pairs
    assert float(loss(Y, P, sample_weight=M)) == pytest.approx((elems * M).sum() / M.sum(), rel=1e-5)
    # per-example weights spread over the labels
    sw = np.array([1.0, 2.0, 0.0, 1.0], dtype=np.float32)
    assert float(loss(Y, P, sample_weight=sw)) == pytest.approx((elems * sw[:, None]).sum() / (3 * sw.sum()), rel=1e-5)
    # logits give the same values, and no pos_weight is Keras' own binary cross-entropy
    logits = np.log(P / (1 - P))
    assert float(weighted_binary_crossentropy(W, from_logits=True)(Y, logits, M)) == pytest.approx(
        (elems * M).sum() / M.sum(), rel=1e-5
    )
    assert float(weighted_binary_crossentropy()(Y, P)) == pytest.approx(
        float(keras.losses.BinaryCrossentropy()(Y, P)), rel=1e-5
    )
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        weighted_binary_crossentropy([1.0, 2.0])(Y, P)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert again.pos_weight == list(W) and float(again(Y, P, M)) == pytest.approx(float(loss(Y, P, M)))


@pytest.mark.tf
def test_keras_passes_the_mask_to_the_loss_per_label(tmp_path: Path) -> None:
    """evaluate() on one batch of (x, y, mask) gives the hand-computed masked loss."""
    import keras

    from labelprep.losses import from_manifest, pos_weight_from_manifest

    labels = Y.astype(np.int8)
    labels[M == 0] = -1
    exp = write_export(tmp_path / "out", labels, shards=1, size=(4, 4))
    weights = pos_weight_from_manifest(exp.out)
    neg, pos = (labels == 0).sum(axis=0), (labels == 1).sum(axis=0)
    assert weights == [n / p if p else 1.0 for n, p in zip(neg, pos)]
    assert pos_weight_from_manifest(exp.out, max_weight=1.5) == [min(w, 1.5) for w in weights]
    # A model that ignores its input and predicts P row by row (the batch is not shuffled).
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: keras.ops.convert_to_tensor(P))(inputs))
    model.compile(loss=from_manifest(exp.out))
    ds = labelprep.load_dataset(exp.out, batch_size=4, image_size=(4, 4), shuffle=False)
    got = model.evaluate(ds, verbose=0)
    want = (_bce(Y, P, np.asarray(weights)) * M).sum() / M.sum()
    assert got == pytest.approx(want, rel=1e-5)


# -- end to end -----------------------------------------------------------------------------------------------------


def tiny_model(k: int, size: tuple[int, int]) -> Any:
    import keras

    return keras.Sequential([
        keras.Input((*size, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(k, activation="sigmoid"),
    ])  # fmt: skip


@pytest.mark.tf
def test_fit_and_evaluate_on_shards(tmp_path: Path) -> None:
    import keras

    from labelprep.losses import from_manifest

    exp = write_export(tmp_path / "out", random_labels(24, unknown=True), size=(16, 16))
    model = tiny_model(3, (16, 16))
    model.compile("adam", from_manifest(exp.out), weighted_metrics=[keras.metrics.AUC(multi_label=True, num_labels=3)])
    train = labelprep.load_dataset(exp.out, batch_size=8, image_size=(16, 16), seed=0,
                                   augment=keras.layers.RandomFlip("horizontal"), cache=True)  # fmt: skip
    history = model.fit(train, epochs=2, verbose=0)
    assert all(math.isfinite(v) for v in history.history["loss"])
    loss, auc = model.evaluate(labelprep.load_dataset(exp.out, batch_size=8, image_size=(16, 16), shuffle=False),
                               verbose=0)  # fmt: skip
    assert math.isfinite(loss) and 0 <= auc <= 1
    model.save(tmp_path / "model.keras")  # the loss is a registered Keras object
    again = keras.models.load_model(tmp_path / "model.keras")
    assert again.loss.pos_weight == model.loss.pos_weight


@pytest.mark.tf
def test_example_convert_validate_export_load_fit(tmp_path: Path) -> None:
    import tensorflow as tf

    from labelprep.losses import from_manifest
    from labelprep.tfdata import split_paths

    conv = labelprep.convert(EXAMPLE, tmp_path / "labels.parquet", split_col="split")
    report = labelprep.validate([tmp_path / "labels.parquet"], images_root=EXAMPLE.parent)
    assert report.ok, report.to_text()
    out = tmp_path / "shards"
    labelprep.export(tmp_path / "labels.parquet", out, images_root=EXAMPLE.parent)
    manifest = json.loads((out / spec.MANIFEST_NAME).read_text())
    vocab = list(conv.vocabulary)
    assert manifest["vocabulary"]["labels"] == vocab
    frame = conv.frame
    for split in manifest["splits"]:
        want = frame[frame["split"] == split]
        ds = labelprep.load_dataset(out, split, batch_size=8, image_size=(64, 64), shuffle=False)
        images, labels = collect(ds)[:2]
        assert len(labels) == len(want)
        # the order of the records, from the shards themselves
        paths = split_paths(out, split)
        by_path = want.set_index("path")
        np.testing.assert_array_equal(labels, by_path.loc[paths, vocab].to_numpy().clip(0, 1))
        for img, path in zip(images, paths):  # the bytes pass through export: the same decoder, the same pixels
            data = (EXAMPLE.parent / path).read_bytes()
            np.testing.assert_array_equal(img, tf.io.decode_image(data, channels=3, expand_animations=False).numpy())
    model = tiny_model(len(vocab), (32, 32))
    model.compile("adam", from_manifest(out))
    train = labelprep.load_dataset(out, "train", batch_size=8, image_size=(32, 32), seed=0)
    assert math.isfinite(model.fit(train, epochs=1, verbose=0).history["loss"][0])
    split = next(s for s in manifest["splits"] if s != "train")
    assert math.isfinite(model.evaluate(labelprep.load_dataset(out, split, image_size=(32, 32), shuffle=False),
                                        verbose=0))  # fmt: skip


def test_tensorflow_modules_are_reachable_as_attributes_without_importing_them_first() -> None:
    import subprocess
    import sys

    code = ("import sys, labelprep\nassert 'tensorflow' not in sys.modules\n"
            "assert callable(labelprep.losses.from_manifest)\nassert 'labelprep.losses' in sys.modules\nprint('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


@pytest.mark.tf
def test_decode_parallelism_defaults_to_the_cores_and_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import labelprep.tfdata as ltf

    monkeypatch.delenv(ltf.PARALLEL_ENV, raising=False)
    assert ltf._parallel() == ltf._usable_cpus()
    monkeypatch.setenv(ltf.PARALLEL_ENV, "5")
    assert ltf._parallel() == 5
    for bad in ("0", "-2", "many"):
        monkeypatch.setenv(ltf.PARALLEL_ENV, bad)
        with pytest.warns(UserWarning, match="not a positive whole number"):
            assert ltf._parallel() == ltf._usable_cpus()
