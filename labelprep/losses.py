"""Losses for multi-label training: per-label positive weights and the unknown-label mask.

Importing this module does not import TensorFlow; building a loss does (through :mod:`labelprep.keras`).

Example:
    >>> import labelprep.losses
    >>> model.compile("adam", loss=labelprep.losses.from_manifest("shards/"))  # doctest: +SKIP
    >>> model.fit(labelprep.load_dataset("shards/", "train"), epochs=5)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from labelprep.keras import WeightedBinaryCrossentropy

__all__ = ["from_manifest", "pos_weight_from_manifest", "weighted_binary_crossentropy"]


def weighted_binary_crossentropy(
    pos_weight: Sequence[float] | np.ndarray | None = None,
    *,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    reduction: str | None = "mean_with_sample_weight",
    name: str = "weighted_binary_crossentropy",
) -> WeightedBinaryCrossentropy:
    """A Keras loss: binary cross-entropy per label, positives of label k weighted by ``pos_weight[k]``.

    ``pos_weight`` is one number per label in vocabulary order (None: all 1, plain binary
    cross-entropy); ``negatives / positives`` of the training split balances each label, which is what
    the export manifest stores (:func:`from_manifest`). When the dataset yields ``(x, y, mask)`` Keras
    passes the mask as ``sample_weight`` and unknown labels add nothing; the loss is the mean over the
    known (example, label) pairs. See :class:`labelprep.keras.WeightedBinaryCrossentropy`.

    Example:
        >>> loss = weighted_binary_crossentropy([1.0, 4.0, 9.5])  # doctest: +SKIP
        >>> model.compile("adam", loss=loss, metrics=[keras.metrics.AUC(multi_label=True)])  # doctest: +SKIP
    """
    from labelprep.keras import WeightedBinaryCrossentropy

    return WeightedBinaryCrossentropy(
        pos_weight, from_logits=from_logits, label_smoothing=label_smoothing, reduction=reduction, name=name
    )


def pos_weight_from_manifest(
    out_dir: str | os.PathLike[str], split: str = "train", *, max_weight: float | None = None
) -> list[float]:
    """The per-label ``pos_weight`` (negatives / positives) of ``split``, in vocabulary order.

    A label with no positive in the split (null in the manifest) gets 1: there is nothing to weigh.
    ``max_weight`` caps the weights of very rare labels.
    """
    from labelprep.shards.manifest import Manifest

    manifest = Manifest.read(out_dir)
    pos_weight = manifest.split(split).pos_weight
    weights = [1.0 if (w := pos_weight.get(label)) is None else float(w) for label in manifest.vocabulary]
    return weights if max_weight is None else [min(w, float(max_weight)) for w in weights]


def from_manifest(
    out_dir: str | os.PathLike[str],
    split: str = "train",
    *,
    max_weight: float | None = None,
    **kwargs: Any,
) -> WeightedBinaryCrossentropy:
    """:func:`weighted_binary_crossentropy` with ``pos_weight`` read from an export's manifest.

    Example:
        >>> loss = from_manifest("shards/", "train", from_logits=True)  # doctest: +SKIP
    """
    return weighted_binary_crossentropy(pos_weight_from_manifest(out_dir, split, max_weight=max_weight), **kwargs)
