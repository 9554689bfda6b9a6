"""Keras-side loaders and the loss: ``ShardSequence``, ``flow_from_frame``, ``WeightedBinaryCrossentropy``.

One of the two modules that import TensorFlow (the other is :mod:`labelprep.tfdata`).

Example:
    >>> from labelprep.keras import ShardSequence, flow_from_frame
    >>> seq = ShardSequence("shards/", "train", batch_size=32, image_size=(128, 128), workers=2)  # doctest: +SKIP
    >>> model.fit(seq, epochs=3)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from labelprep.errors import InputError
from labelprep.extras import require_tensorflow
from labelprep.frameio import IMAGES_ROOT_ATTR, read_frame
from labelprep.multihot import dense_matrix
from labelprep.vocabulary import Vocabulary

try:
    import keras
except ImportError:
    require_tensorflow("use the Keras loaders")  # the polite error when TensorFlow is what is missing
    raise

from labelprep.tfdata import check_dtype, check_size, decode_example, open_split, tf

__all__ = ["ShardSequence", "WeightedBinaryCrossentropy", "flow_from_frame"]


# -- ShardSequence --------------------------------------------------------------------------------------------------


def _index_records(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of every record in a TFRecord file, read from the length headers alone.

    TFRecord framing: uint64 length, uint32 CRC of the length, the data, uint32 CRC of the data.
    CRCs are left to ``labelprep verify``.
    """
    out: list[tuple[int, int]] = []
    size = path.stat().st_size
    with path.open("rb") as f:
        pos = 0
        while pos < size:
            head = f.read(12)
            if len(head) < 12:
                raise InputError(f"truncated record header at byte {pos}", file=str(path), hint="export again")
            (length,) = struct.unpack("<Q", head[:8])
            out.append((pos + 12, length))
            pos += 12 + length + 4
            if pos > size:
                raise InputError(f"truncated record at byte {out[-1][0] - 12}", file=str(path), hint="export again")
            f.seek(pos)
    return out


class ShardSequence(keras.utils.PyDataset):
    """A ``keras.utils.PyDataset`` over the shards of one split; the same batches as ``load_dataset``.

    Yields numpy ``(images, labels)`` or, when the split has unknown labels, ``(images, labels, mask)``,
    with the same dtypes, shapes, pixel scale (float32 0..255, or ``dtype`` as there) and decoding as
    :func:`labelprep.load_dataset`: with ``shuffle=False`` both give identical batches. Records are
    found by their offsets once, at construction, and read on demand, so any batch can be asked
    for in any order.

    Parallelism comes from Keras: pass ``workers=4`` (threads; decoding releases the GIL, so they
    scale) and optionally ``max_queue_size``. ``use_multiprocessing=True`` is refused: TensorFlow
    hangs in forked worker processes. Do not pass ``class_weight`` to ``fit`` (Keras takes the argmax
    of each multi-hot row); see :func:`labelprep.losses.from_manifest`.

    Example:
        >>> seq = ShardSequence("shards/", "train", image_size=(64, 64), seed=0, workers=2)  # doctest: +SKIP
        >>> images, labels = seq[0]  # doctest: +SKIP
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        split: str = "train",
        *,
        batch_size: int = 32,
        image_size: Sequence[int] = (224, 224),
        shuffle: bool = True,
        seed: int | None = None,
        dtype: str = "float32",
        **kwargs: Any,
    ) -> None:
        if kwargs.get("use_multiprocessing"):
            # Measured: a forked worker's first TensorFlow op never returns once the parent has run TensorFlow.
            raise ValueError(
                "ShardSequence decodes with TensorFlow, which hangs in forked worker processes: "
                "pass workers=N without use_multiprocessing (threads scale, decoding releases the GIL)"
            )
        super().__init__(**kwargs)  # workers, max_queue_size
        manifest, info = open_split(out_dir, split)
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        self.batch_size = int(batch_size)
        self.image_size = check_size(image_size)
        self.image_dtype = check_dtype(dtype)
        self.shuffle = shuffle
        self.has_mask = manifest.has_unknown(split)
        self.vocabulary = manifest.vocabulary
        paths = manifest.shard_paths(split)
        self._files = [str(p) for p in paths]
        file_ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        for i, path in enumerate(paths):
            found = _index_records(path)
            file_ids += [i] * len(found)
            offsets += found
        if len(offsets) != info.examples:
            raise InputError(
                f"split {split!r} has {len(offsets)} records in its shards but the manifest says {info.examples}",
                file=os.fspath(out_dir),
                hint="the export is incomplete or was changed; run labelprep export again",
            )
        self._file_ids = np.asarray(file_ids, dtype=np.int64)
        self._offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(offsets))
        if shuffle:
            self._rng.shuffle(self._order)
        self._decode: Any = None

    def __len__(self) -> int:
        return math.ceil(len(self._order) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        picked = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        records = [b""] * len(picked)
        # Read in file and offset order, opening each shard once per batch.
        by_place = sorted(range(len(picked)), key=lambda j: (self._file_ids[picked[j]], self._offsets[picked[j], 0]))
        with contextlib.ExitStack() as stack:
            handles: dict[int, BinaryIO] = {}
            for j in by_place:
                fid = int(self._file_ids[picked[j]])
                if fid not in handles:
                    handles[fid] = stack.enter_context(open(self._files[fid], "rb"))
                offset, length = self._offsets[picked[j]]
                handles[fid].seek(int(offset))
                records[j] = handles[fid].read(int(length))
        images, labels, mask = self._decoder()(tf.constant(records, dtype=tf.string))
        out = (images.numpy(), labels.numpy())
        return (*out, mask.numpy()) if self.has_mask else out

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)

    def _decoder(self) -> Any:
        # One traced function per sequence, made on first use.
        if self._decode is None:
            size, depth = self.image_size, len(self.vocabulary)
            signature = (
                tf.TensorSpec([size[0], size[1], 3], tf.uint8),
                tf.TensorSpec([depth], tf.float32),
                tf.TensorSpec([depth], tf.float32),
            )

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
            def decode(serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
                images, labels, mask = tf.map_fn(
                    lambda s: decode_example(s, size, depth, True), serialized, fn_output_signature=signature
                )
                return tf.cast(images, self.image_dtype), labels, mask

            self._decode = decode
        return self._decode


# -- flow_from_frame ------------------------------------------------------------------------------------------------

_FIXED = ("dataframe", "directory", "x_col", "y_col", "class_mode", "classes")


def flow_from_frame(
    frame: pd.DataFrame | str | os.PathLike[str],
    images_root: str | os.PathLike[str] | None = None,
    vocab: Vocabulary | Sequence[str] | None = None,
    *,
    generator: Any = None,
    batch_size: int = 32,
    target_size: Sequence[int] = (224, 224),
    shuffle: bool = True,
    seed: int | None = None,
    **kw: Any,
) -> Any:
    """Multi-hot batches from a frame through the legacy ``ImageDataGenerator.flow_from_dataframe``.

    The label columns go in as ``y_col=list(vocab)`` with ``class_mode="raw"``, so the label order is
    the vocabulary's in every split (``class_mode="categorical"`` sorts the classes it happens to see
    and drops images with no label; here those are kept as all-zero rows). Labels are float32; pixels
    are float32 0..255 unless ``generator`` rescales.

    Args:
        frame: a multi-hot frame (one split of it), or the path of one written by ``labelprep convert``.
        images_root: the folder the frame's paths are relative to; by default the one a frame file (or a
            frame from ``read_frame``) records.
        vocab: the label columns in order; default: the frame file's vocabulary, or for a DataFrame its
            int8 columns in column order (the label columns of a converted frame).
        generator: an ``ImageDataGenerator`` (augmentation, rescale); default: one that changes nothing.
        batch_size, target_size, shuffle, seed: passed on.
        **kw: other ``flow_from_dataframe`` options (``interpolation``, ``subset``, ``color_mode`` ...).

    Returns:
        the Keras ``DataFrameIterator``.

    Raises:
        InputError: the frame has unknown (-1) labels (this path cannot mask them), or Keras would drop
            some of its images (missing files, extensions it does not read).
    """
    fixed = sorted(set(kw) & set(_FIXED))
    if fixed:
        raise TypeError(f"flow_from_frame sets {', '.join(fixed)} itself")
    if not isinstance(frame, pd.DataFrame):
        frame, file_vocab = read_frame(Path(frame), vocab=Vocabulary(vocab) if vocab is not None else None)
        vocab = vocab if vocab is not None else file_vocab
    if images_root is None:
        images_root = frame.attrs.get(IMAGES_ROOT_ATTR)
        if images_root is None:
            raise InputError("no images root for this frame", hint="pass images_root= the folder its paths are under")
    if vocab is None:
        vocab = [str(c) for c in frame.columns if str(frame[c].dtype) == "int8"]
        if not vocab:
            raise InputError("the frame has no int8 label columns", hint="pass vocab= the label names in order")
    labels = list(vocab)
    missing = [c for c in ["path", *labels] if c not in frame.columns]
    if missing:
        raise InputError(
            f"the frame lacks the column(s) {', '.join(map(repr, missing[:5]))}",
            hint="pass a frame written by labelprep convert, with its vocabulary",
        )
    values = dense_matrix(frame, labels, purpose="flow_from_frame")
    if (values < 0).any():
        rows = int((values < 0).any(axis=1).sum())
        raise InputError(
            f"{rows} image(s) have unknown (-1) labels, which flow_from_dataframe cannot mask",
            hint="use labelprep.load_dataset (it yields a mask), or convert with --uncertain zero|one",
        )
    df = pd.DataFrame({"path": frame["path"].astype(str).to_numpy()})
    for i, label in enumerate(labels):
        df[label] = values[:, i].astype(np.float32)
    if generator is None:
        from tensorflow.keras.preprocessing.image import ImageDataGenerator

        generator = ImageDataGenerator()
    it = generator.flow_from_dataframe(
        df,
        directory=os.fspath(images_root),
        x_col="path",
        y_col=labels,
        class_mode="raw",
        batch_size=batch_size,
        target_size=tuple(target_size),
        shuffle=shuffle,
        seed=seed,
        **kw,
    )
    if kw.get("subset") is None and it.n != len(df):
        dropped = sorted(set(df["path"]) - set(it.filenames))
        raise InputError(
            f"{len(dropped)} image(s) of the frame would be left out by Keras, first {dropped[0]!r}",
            file=os.fspath(images_root),
            hint="labelprep validate finds missing files; Keras reads only png, jpg, jpeg, bmp, ppm, tif, tiff",
        )
    return it


# -- the loss -------------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="labelprep")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy per label with a per-label weight on positives and an unknown-label mask.

    Each element is ``-(w_k * y * log(p) + (1 - y) * log(1 - p))`` (a numerically stable form with
    ``from_logits=True``). The loss keeps the ``[B, K]`` elements until the reduction, so a per-label
    ``sample_weight`` of shape ``[B, K]`` (the mask :func:`labelprep.load_dataset` yields) weighs each
    label of each example; a per-example ``[B]`` weight is spread over the labels. The default
    reduction, ``"mean_with_sample_weight"``, divides by the sum of the weights: the mean over the known
    (example, label) pairs, and without weights the same value as ``keras.losses.BinaryCrossentropy``.
    Build it with :func:`labelprep.losses.weighted_binary_crossentropy` or
    :func:`labelprep.losses.from_manifest`.
    """

    def __init__(
        self,
        pos_weight: Sequence[float] | np.ndarray | None = None,
        *,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "mean_with_sample_weight",
        name: str = "weighted_binary_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(pos_weight, Mapping):
            raise TypeError("pos_weight is one number per label, in vocabulary order (a list or array)")
        weights = None if pos_weight is None else np.asarray(pos_weight, dtype=np.float64).reshape(-1)
        if weights is not None and (not np.isfinite(weights).all() or (weights < 0).any()):
            raise ValueError("pos_weight must be finite and non-negative")
        self.pos_weight = None if weights is None else [float(w) for w in weights]
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y = ops.cast(y_true, y_pred.dtype)
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.pos_weight is None:
            w: Any = 1.0
        else:
            if y_pred.shape[-1] is not None and y_pred.shape[-1] != len(self.pos_weight):
                raise ValueError(f"pos_weight has {len(self.pos_weight)} values for {y_pred.shape[-1]} labels")
            w = ops.convert_to_tensor(self.pos_weight, dtype=y_pred.dtype)
        if self.from_logits:
            # tf.nn.weighted_cross_entropy_with_logits: (1 - y) x + (1 + (w - 1) y) log(1 + exp(-x)), stably
            x = y_pred
            return (1.0 - y) * x + (1.0 + (w - 1.0) * y) * (ops.log1p(ops.exp(-ops.abs(x))) + ops.relu(-x))
        eps = keras.config.epsilon()
        p = ops.clip(y_pred, eps, 1.0 - eps)
        return -(w * y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p))

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        if sample_weight is not None:
            ops = keras.ops
            sw = ops.convert_to_tensor(sample_weight, dtype=self.dtype)
            if len(sw.shape) == len(y_pred.shape) - 1:
                sw = ops.expand_dims(sw, -1)  # one weight per example, the same for each of its labels
            sample_weight = ops.broadcast_to(sw, ops.shape(y_pred))
        return super().__call__(y_true, y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pos_weight": self.pos_weight,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }
