"""Load exported TFRecord shards as a ``tf.data`` pipeline ready for ``model.fit``.

One of the two modules that import TensorFlow (the other is :mod:`labelprep.keras`, which shares
:func:`open_split`, :func:`decode_example`, :func:`check_size` and :func:`check_dtype` with it);
``import labelprep`` reaches it only when ``labelprep.load_dataset`` is first used.

Example:
    >>> import labelprep
    >>> train = labelprep.load_dataset("shards/", "train", image_size=(128, 128), flip="horizontal")  # doctest: +SKIP
    >>> model.fit(train, validation_data=labelprep.load_dataset("shards/", "val", shuffle=False))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from labelprep.errors import InputError
from labelprep.extras import require_tensorflow
from labelprep.shards.manifest import Manifest, SplitInfo

if TYPE_CHECKING:
    import tensorflow as tf
else:
    tf = require_tensorflow("load TFRecord shards for training")

__all__ = ["DTYPES", "FLIPS", "ClassWeightWarning", "fit_kwargs_check", "load_dataset", "split_paths"]


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


PARALLEL_ENV = "LABELPREP_TF_PARALLEL"


def _parallel() -> int:
    """Parallel calls of the decode stage: ``$LABELPREP_TF_PARALLEL``, else the usable cores."""
    raw = os.environ.get(PARALLEL_ENV, "").strip()
    if raw:
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
        warnings.warn(f"{PARALLEL_ENV}={raw!r} is not a positive whole number; using the default",
                      stacklevel=2)  # fmt: skip
    return _usable_cpus()


# One parallel call per usable core, and tf.data's autotuner off: measured on this project's 2-core machine,
# AUTOTUNE left about one epoch in four running at a single core's speed (3,100 instead of 5,000 images/s);
# fixed parallelism never did. One call more than the cores was no faster (4,950 against 4,990 images/s, the
# means of 7 alternating runs each) and took more CPU an image (oversubscribed cores).
PARALLEL = _parallel()
PREFETCH_BATCHES = 2
# Records (serialized, a few KB to a few hundred KB each) held by the shuffle buffer.
SHUFFLE_BUFFER = 1024
# Only these features are parsed; export writes every key of labelprep.shards.spec.FEATURES.
_PARSE = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "labels/positive": tf.io.RaggedFeature(tf.int64),
    "labels/unknown": tf.io.RaggedFeature(tf.int64),
}
# The same features parsed a batch at a time (label lists as sparse rows).
_PARSE_BATCH = {**_PARSE, "labels/positive": tf.io.VarLenFeature(tf.int64), "labels/unknown": tf.io.VarLenFeature(tf.int64)}


class ClassWeightWarning(UserWarning):
    """``class_weight`` was given to ``model.fit`` with multi-hot labels (Keras weighs each row by its argmax)."""


_CLASS_WEIGHT_MESSAGE = (
    "class_weight does not work with multi-hot labels: Keras 3 weighs each example by the class of the "
    "argmax of its label row, i.e. its first positive label only, and an example with no label gets the "
    "weight of class 0. Drop class_weight and weigh positives per label in the loss: "
    "loss=labelprep.losses.from_manifest(out_dir) (per-label pos_weight from the export manifest)."
)
_warned_class_weight = False


def _warn_class_weight(stacklevel: int = 3) -> None:
    global _warned_class_weight
    if not _warned_class_weight:
        _warned_class_weight = True
        warnings.warn(_CLASS_WEIGHT_MESSAGE, ClassWeightWarning, stacklevel=stacklevel)


def fit_kwargs_check(**kwargs: Any) -> dict[str, Any]:
    """Return ``kwargs`` unchanged, warning once if they hold a ``class_weight`` (wrong for multi-hot labels).

    Datasets from :func:`load_dataset` warn by themselves when ``model.fit`` applies a
    ``class_weight`` to them; use this for the other inputs (:class:`labelprep.keras.ShardSequence`,
    :func:`labelprep.keras.flow_from_frame`, or a dataset you transformed further).

    Example:
        >>> model.fit(seq, **fit_kwargs_check(epochs=5, class_weight=cw))  # doctest: +SKIP
    """
    if kwargs.get("class_weight") is not None:
        _warn_class_weight()
    return kwargs


# -- the manifest ---------------------------------------------------------------------------------------------------


def open_split(out_dir: str | os.PathLike[str], split: str) -> tuple[Manifest, SplitInfo]:
    """The manifest of ``out_dir`` and its split ``split``, checked: the split exists, its shards are there."""
    manifest = Manifest.read(out_dir)
    if split not in manifest.splits:
        names = ", ".join(repr(s) for s in manifest.splits) or "none"
        raise InputError(
            f"no split {split!r} in this export (splits: {names})",
            file=os.fspath(out_dir),
            hint="pass split= one of those names",
        )
    missing = [p for p in manifest.shard_paths(split) if not p.is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InputError(
            f"shard {missing[0].name} of split {split!r} is missing{more}",
            file=os.fspath(out_dir),
            hint="the export is incomplete; run labelprep export again",
        )
    return manifest, manifest.splits[split]


def _cache_key(manifest: Manifest, info: SplitInfo, size: tuple[int, int]) -> str:
    """``<split>-<H>x<W>-<hash of the vocabulary and shard contents>``: a new cache name when anything changes."""
    content = [manifest.vocabulary.sha256, [(s.file, s.examples, s.bytes, s.sha256) for s in info.shards]]
    digest = hashlib.sha256(json.dumps(content).encode()).hexdigest()[:12]
    return f"{info.name}-{size[0]}x{size[1]}-{digest}"


# -- one example ----------------------------------------------------------------------------------------------------


def _resize_uint8(image: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Bilinear resize (squash, as Keras' image_dataset_from_directory) rounded back to uint8.

    An image that already has the target size is passed through untouched, which is also what a
    bilinear resize at scale 1 returns, only without the float work.
    """

    def resize() -> tf.Tensor:
        return tf.saturate_cast(tf.round(tf.image.resize(image, size, method="bilinear")), tf.uint8)

    same = tf.reduce_all(tf.equal(tf.shape(image)[:2], tf.constant(size, tf.int32)))
    out = tf.cond(same, lambda: image, resize)
    out.set_shape([size[0], size[1], 3])
    return out


def _multi_hot(indices: tf.Tensor, depth: int) -> tf.Tensor:
    """float32 [depth] with 1 at ``indices`` (an empty list gives zeros)."""
    return tf.minimum(tf.reduce_sum(tf.one_hot(indices, depth, dtype=tf.float32), axis=0), 1.0)


def decode_example(serialized: tf.Tensor, size: tuple[int, int], depth: int, with_mask: bool) -> tuple[tf.Tensor, ...]:
    """One serialized tf.train.Example -> uint8 image [H,W,3], labels float32 [K] (, mask float32 [K])."""
    feats = tf.io.parse_single_example(serialized, _PARSE)
    image = _resize_uint8(tf.io.decode_image(feats["image/encoded"], channels=3, expand_animations=False), size)
    labels = _multi_hot(feats["labels/positive"], depth)
    labels.set_shape([depth])
    if not with_mask:
        return image, labels
    mask = 1.0 - _multi_hot(feats["labels/unknown"], depth)
    mask.set_shape([depth])
    return image, labels, mask


def _multi_hot_rows(indices: tf.SparseTensor, depth: int) -> tf.Tensor:
    """float32 [B, depth] with 1 at each row's ``indices``: :func:`_multi_hot` of every row at once.

    As there, an index outside ``0..depth-1`` is ignored. A bincount of the sparse rows rather than
    one-hot of ragged ones: fewer ops, which tf.data instantiates anew for every epoch's iterator.
    """
    return tf.math.bincount(indices, minlength=depth, maxlength=depth, binary_output=True, axis=-1, dtype=tf.float32)


def _examples(serialized: tf.Tensor, size: tuple[int, int], depth: int, with_mask: bool) -> tuple[tf.Tensor, ...]:
    """A batch of serialized Examples -> uint8 images [B,H,W,3], labels float32 [B,K] (, mask float32 [B,K]).

    The same values as :func:`decode_example` on each record, with the parsing and the labels done once for
    the batch and no per-record step in tf.data: about 15 us an image less than mapping ``decode_example``.
    """
    feats = tf.io.parse_example(serialized, _PARSE_BATCH)
    images = tf.map_fn(
        lambda data: _resize_uint8(tf.io.decode_image(data, channels=3, expand_animations=False), size),
        feats["image/encoded"],
        fn_output_signature=tf.TensorSpec([size[0], size[1], 3], tf.uint8),
    )
    labels = _multi_hot_rows(feats["labels/positive"], depth)
    labels.set_shape([None, depth])
    if not with_mask:
        return images, labels
    mask = 1.0 - _multi_hot_rows(feats["labels/unknown"], depth)
    mask.set_shape([None, depth])
    return images, labels, mask


FLIPS: dict[str, tuple[int, ...]] = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (2, 1)}


def _reverse(images: tf.Tensor, axis: int) -> tf.Tensor:
    """Reverse a [B,H,W,C] batch along ``axis`` (1 rows, 2 columns) through a 3-D view.

    TensorFlow's 4-D reverse of uint8 images costs about two thirds of decoding them (measured on
    224 px JPEGs); reversing the middle axis of [B*H, W, C] (or [B, H, W*C]) is about 3x cheaper.
    """
    shape = tf.shape(images)
    view = [-1, shape[2], shape[3]] if axis == 2 else [shape[0], shape[1], -1]
    return tf.reshape(tf.reverse(tf.reshape(images, view), [1]), shape)


def _flip_draws(count: tf.Tensor, seed: tf.Tensor, axes: tuple[int, ...]) -> tf.Tensor:
    """bool ``[len(axes), count]``: whether each image of a batch is flipped along each axis (stateless, p = 1/2)."""
    return tf.random.stateless_uniform([len(axes), count], seed=seed) < 0.5


def _random_flip(images: tf.Tensor, seed: tf.Tensor, axes: tuple[int, ...]) -> tf.Tensor:
    """Flip each image of a batch along each of ``axes`` with probability 1/2 (stateless, from ``seed``)."""
    count = tf.shape(images)[0]
    draws = _flip_draws(count, seed, axes)
    out = images
    for i, axis in enumerate(axes):
        # Only the chosen images are reversed; the others are copied once.
        chosen = tf.cast(draws[i], tf.int32)
        keep, flip = tf.dynamic_partition(out, chosen, 2)
        where = tf.dynamic_partition(tf.range(count), chosen, 2)
        out = tf.dynamic_stitch(where, [keep, _reverse(flip, axis)])
    out.set_shape(images.shape)
    return out


def _flip_to_dtype(images: tf.Tensor, draws: tf.Tensor, axes: tuple[int, ...], dtype: str = "float32") -> tf.Tensor:
    """The chosen flips of a uint8 batch, in ``dtype``: select-over-reverse, then cast (for XLA to fuse)."""
    out = images
    for i, axis in enumerate(axes):
        out = tf.where(draws[i][:, None, None, None], tf.reverse(out, [axis]), out)
    return tf.cast(out, dtype)


# XLA compiles the selects, reverses and cast into one loop over the batch. Measured on one core with batches of
# 32 images of 224 px: about 60 us an image, little more than the float32 cast alone (45); TensorFlow's own ops
# take about 110 (the partition/reverse/stitch flip of the uint8 batch 57, its reverse kernel being slow, then
# the cast). The pixels are the same either way.
_flip_to_dtype_xla = tf.function(_flip_to_dtype, jit_compile=True)
_xla_usable: bool | None = None


def _xla_works() -> bool:
    """Whether this TensorFlow runs the XLA flip (not if built without XLA, or XLA fails on this platform)."""
    global _xla_usable
    if _xla_usable is None:
        try:
            probe = tf.constant([[[[0, 1, 2]], [[3, 4, 5]]]], tf.uint8)  # [1, 2, 1, 3]
            out = _flip_to_dtype_xla(probe, tf.constant([[True]]), (1,))
            _xla_usable = bool(tf.reduce_all(out[0, 0] == tf.constant([[3.0, 4.0, 5.0]])))
        except Exception:  # any failure to compile or run it: the plain ops will do
            _xla_usable = False
    return _xla_usable


def _flip_and_cast(
    images: tf.Tensor, seed: tf.Tensor, axes: tuple[int, ...], *, xla: bool, dtype: str = "float32"
) -> tf.Tensor:
    """``dtype`` of a uint8 batch, each image flipped along each of ``axes`` with probability 1/2.

    Both ways give the same pixels for the same ``seed``; ``xla`` only picks the faster one.
    """
    if not xla:
        return tf.cast(_random_flip(images, seed, axes), dtype)
    out = _flip_to_dtype_xla(images, _flip_draws(tf.shape(images)[0], seed, axes), axes, dtype)
    out.set_shape(images.shape)
    return out


# The image dtypes load_dataset yields. Pixel values are whole numbers 0..255, exact in each of them.
DTYPES = ("float32", "float16", "bfloat16", "uint8")


def check_dtype(dtype: Any) -> str:
    """The name of an image dtype of :data:`DTYPES` (a string, ``tf.float32``, a numpy dtype), or ValueError."""
    name = getattr(dtype, "name", dtype)  # tf.float32, np.dtype("uint8") or a string
    if isinstance(name, str) and name in DTYPES:
        return name
    raise ValueError(f"dtype must be one of {', '.join(map(repr, DTYPES))}, not {dtype!r}")


def _to_dtype(images: tf.Tensor, dtype: str) -> tf.Tensor:
    """``images`` in ``dtype``; floats going to uint8 are rounded and clipped to 0..255 (not truncated)."""
    if images.dtype == dtype:
        return images
    if dtype == "uint8" and images.dtype.is_floating:
        return tf.saturate_cast(tf.round(images), tf.uint8)
    return tf.cast(images, dtype)


def check_size(image_size: Sequence[int]) -> tuple[int, int]:
    """``(height, width)`` as two positive ints, or ValueError."""
    size = tuple(int(v) for v in image_size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"image_size must be (height, width) of positive ints, not {image_size!r}")
    return size[0], size[1]


def _augmenter(augment: Callable[..., Any]) -> Callable[[tf.Tensor], tf.Tensor]:
    """Keras layers are called with ``training=True`` (a Sequential would otherwise pass None on)."""
    import keras

    if isinstance(augment, keras.layers.Layer):
        return lambda images: augment(images, training=True)
    return augment


# -- the pipeline ---------------------------------------------------------------------------------------------------


def load_dataset(
    out_dir: str | os.PathLike[str],
    split: str = "train",
    *,
    batch_size: int = 32,
    image_size: Sequence[int] = (224, 224),
    shuffle: bool = True,
    seed: int | None = None,
    augment: Callable[..., Any] | None = None,
    flip: str | None = None,
    cache: bool | str | os.PathLike[str] = False,
    repeat: bool = False,
    dtype: str = "float32",
) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of one split of an export, batched and ready for ``model.fit``.

    Yields ``(images, labels)``: images float32 ``[B, H, W, 3]`` (or ``dtype``) with pixel values 0..255
    (as ``keras.utils.image_dataset_from_directory``; put ``keras.layers.Rescaling(1 / 255)`` or the
    backbone's ``preprocess_input`` in the model), labels float32 ``[B, K]`` multi-hot in vocabulary
    order. When the split has unknown labels (-1 in the frame) it yields ``(images, labels, mask)``,
    the mask float32 ``[B, K]``, 0 where a label is unknown; Keras passes it to the loss as
    ``sample_weight``, which :func:`labelprep.losses.weighted_binary_crossentropy` reads per label
    (the stock Keras losses reduce over labels first and cannot).

    Images are decoded as RGB (grey and RGBA converted; the first frame of a GIF), resized to
    ``image_size`` with bilinear interpolation, squashing the aspect ratio, and rounded to whole
    numbers (so the cache holds uint8, a quarter of the memory of float32).

    Do not pass ``class_weight`` to ``model.fit``: Keras 3 weighs each multi-hot row by its argmax.
    The dataset warns once if ``fit`` does so; weigh positives per label in the loss instead
    (:func:`labelprep.losses.from_manifest`).

    Args:
        out_dir: the directory ``labelprep export`` wrote (holding ``manifest.json``).
        split: the split to read; the error for a missing one lists the splits there are.
        batch_size: examples per batch; the last batch may be smaller.
        image_size: (height, width) of every image yielded.
        shuffle: shuffle shard order and records (a buffer of 1,024 records), anew each epoch.
            ``shuffle=False`` reads the shards in manifest order, records in file order, so
            ``model.predict`` lines up with the export.
        seed: makes shuffling, parallel reading and order deterministic (same seed, same batches).
        augment: a callable applied to each image batch (in ``dtype``) after the cache, e.g.
            ``keras.layers.RandomFlip("horizontal")`` or a ``keras.Sequential`` of preprocessing layers
            (called with ``training=True``). Labels and mask are not passed to it.
        flip: ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"``: flip each image at
            random (probability 1/2 per axis, new draws every epoch, reproducible with ``seed``),
            in the same pass that converts the 8-bit batch to float32 (compiled with XLA when
            TensorFlow has it; the same pixels without), before ``augment``. Same effect as
            ``keras.layers.RandomFlip(mode)`` at a fraction of the cost: on CPU, RandomFlip on a
            float32 batch costs more than decoding the JPEGs it flips.
        cache: ``True`` keeps decoded, resized images in memory after the first epoch; a path keeps
            them in files ``<path>-<split>-<H>x<W>-<manifest hash>.*`` (a new name whenever the split,
            size or export changes, so a stale cache is never read). Shuffling and ``augment`` still
            happen every epoch, after the cache.
        repeat: repeat forever (then pass ``steps_per_epoch`` to ``fit``).
        dtype: the images' dtype: ``"float32"`` (the default), ``"float16"``, ``"bfloat16"`` or ``"uint8"``.
            Converting to float32 writes four bytes a pixel and costs about a sixth of decoding a
            224 px JPEG on CPU; ``"uint8"`` yields the decoded bytes (a quarter of the memory and of
            the host-to-accelerator traffic) for a model that converts on the accelerator, e.g. one
            starting with ``keras.layers.Rescaling(1 / 255)``. Whatever ``augment`` returns is
            converted back to ``dtype`` (rounded and clipped for ``"uint8"``), so the dataset's
            images are always ``dtype``.

    Returns:
        a ``tf.data.Dataset``; ``len()`` gives the number of batches unless ``repeat``.

    Raises:
        InputError: no manifest in ``out_dir``, no such split, or a shard file missing.
        MissingDependencyError: TensorFlow is not installed (``pip install "labelprep[tf]"``).
    """
    manifest, info = open_split(out_dir, split)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
    size = check_size(image_size)
    out_dtype = check_dtype(dtype)
    if flip is not None and flip not in FLIPS:
        raise ValueError(f"flip must be one of {', '.join(map(repr, FLIPS))} or None, not {flip!r}")
    depth = len(manifest.vocabulary)
    has_mask = manifest.has_unknown(split)
    files = [str(p) for p in manifest.shard_paths(split)]
    # Without a seed, a shuffled pipeline may hand out whichever element is ready first.
    deterministic = seed is not None or not shuffle
    shuffle_records = shuffle and not cache  # with a cache, shuffle what comes out of it

    names = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_records and len(files) > 1:
        names = names.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        cycle = min(len(files), 16)
        records = names.interleave(
            tf.data.TFRecordDataset,
            cycle_length=cycle,
            num_parallel_calls=min(cycle, PARALLEL),
            deterministic=deterministic,
        )
    else:
        records = tf.data.TFRecordDataset(names, buffer_size=1 << 20)
    # A shard with more or fewer records than the manifest says is an error, and fit() knows the epoch length.
    records = records.apply(tf.data.experimental.assert_cardinality(info.examples))
    if shuffle_records:
        records = records.shuffle(min(SHUFFLE_BUFFER, max(info.examples, 1)), seed=seed)

    batch = int(batch_size)
    aug = _augmenter(augment) if augment is not None else None
    axes = FLIPS[flip] if flip is not None else ()
    xla = bool(axes) and _xla_works()

    def finish(images: tf.Tensor, rest: Sequence[tf.Tensor], flip_seed: tf.Tensor) -> tuple[tf.Tensor, ...]:
        x = _flip_and_cast(images, flip_seed, axes, xla=xla, dtype=out_dtype) if axes else _to_dtype(images, out_dtype)
        if aug is not None:
            x = _to_dtype(aug(x), out_dtype)
        return (x, *rest)

    def parallel(ds: tf.data.Dataset, fn: Callable[[Any, tf.Tensor], tuple[tf.Tensor, ...]]) -> tf.data.Dataset:
        # One stateless seed per batch: new flips every epoch, the same ones for the same seed (unused without flip).
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        return tf.data.Dataset.zip(ds, seeds).map(fn, num_parallel_calls=PARALLEL, deterministic=deterministic)

    if cache:
        # Decoded in batches, cached as single examples, so that shuffling after the cache mixes examples.
        ds = records.batch(batch).map(
            lambda serialized: _examples(serialized, size, depth, has_mask),
            num_parallel_calls=PARALLEL,
            deterministic=deterministic,
        )
        ds = ds.unbatch().apply(tf.data.experimental.assert_cardinality(info.examples))
        ds = ds.cache("" if cache is True else f"{os.fspath(cache)}-{_cache_key(manifest, info, size)}")
        if shuffle:
            # Decoded images: the buffer holds references to the cached tensors, not copies.
            ds = ds.shuffle(min(SHUFFLE_BUFFER, max(info.examples, 1)), seed=seed)
        if repeat:
            ds = ds.repeat()
        ds = parallel(ds.batch(batch), lambda b, s: finish(b[0], b[1:], s))
    else:
        # Parse, decode, flip and convert in one function per batch: one parallel stage, no per-record step.
        if repeat:
            records = records.repeat()

        def load(serialized: tf.Tensor, flip_seed: tf.Tensor) -> tuple[tf.Tensor, ...]:
            images, *rest = _examples(serialized, size, depth, has_mask)
            return finish(images, rest, flip_seed)

        ds = parallel(records.batch(batch), load)
    options = tf.data.Options()
    options.autotune.enabled = False
    ds = ds.prefetch(PREFETCH_BATCHES).with_options(options)
    _watch_class_weight(ds)
    return ds


def split_paths(out_dir: str | os.PathLike[str], split: str = "train") -> list[str]:
    """The image path of every example of ``split``, in the order ``load_dataset(shuffle=False)`` yields them.

    Export orders each shard by a seeded key, not by the frame, so this is how predictions find their images.

    Example:
        >>> probs = model.predict(load_dataset("shards/", "test", shuffle=False))  # doctest: +SKIP
        >>> pd.DataFrame(probs, index=split_paths("shards/", "test"), columns=list(vocab))  # doctest: +SKIP
    """
    manifest, _ = open_split(out_dir, split)
    parse = {"image/path": tf.io.FixedLenFeature([], tf.string)}
    records = tf.data.TFRecordDataset([str(p) for p in manifest.shard_paths(split)])
    batches = records.batch(4096).map(lambda r: tf.io.parse_example(r, parse)["image/path"])
    return [p.decode("utf-8") for batch in batches.as_numpy_iterator() for p in batch]


def _watch_class_weight(ds: tf.data.Dataset) -> None:
    """Warn when ``ds`` is mapped to per-example weights: what ``model.fit(ds, class_weight=...)`` does.

    Keras turns a ``class_weight`` into a ``sample_weight`` of one number per example, picked by the argmax
    of the label row, by mapping the dataset; it offers no hook, so the loader sees it only through
    ``ds.map``. The wrapper judges what the map returns, not who called it: ``(images, labels)`` with
    labels of more than one column that become ``(images, labels, weights)`` with one weight an example,
    which a multi-hot row (no one class) cannot have. The instance attribute delegates every call.
    """
    original = ds.map
    before = ds.element_spec

    def map(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tf.data.Dataset:
        mapped = original(fn, *args, **kwargs)
        if _per_example_weights_added(before, mapped.element_spec):
            _warn_class_weight(stacklevel=2)
        return mapped

    map.__doc__ = original.__doc__
    try:
        ds.map = map  # type: ignore[method-assign]
    except AttributeError:  # pragma: no cover - a future tf.data that forbids it: the README warning remains
        pass


def _per_example_weights_added(before: Any, after: Any) -> bool:
    """``(x, y[B, K>1])`` became ``(x, y[B, K], w[B])``: a weight per example over multi-hot labels."""
    if not (isinstance(before, tuple) and isinstance(after, tuple) and len(before) == 2 and len(after) == 3):
        return False
    labels, weights = before[1].shape, after[2].shape
    return (labels.rank == 2 and (labels[-1] or 0) > 1 and after[1].shape.rank == 2 and weights.rank == 1)
