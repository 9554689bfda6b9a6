"""export's records are encoded directly (labelprep.shards.records); the bytes must be TensorFlow's own."""

from __future__ import annotations

import random
from typing import Any

import pytest

from labelprep.shards.records import encode_example
from labelprep.shards.spec import FEATURES


def _tf_bytes(tf: Any, values: dict[str, Any]) -> bytes:
    feature = {}
    for key, (kind, shape, _) in FEATURES.items():
        v = [values[key]] if shape == "scalar" else values[key]
        feature[key] = (tf.train.Feature(bytes_list=tf.train.BytesList(value=v)) if kind == "bytes" else
                        tf.train.Feature(int64_list=tf.train.Int64List(value=v)))  # fmt: skip
    return bytes(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True))


@pytest.mark.tf
def test_encoded_examples_are_the_bytes_tensorflow_serialises() -> None:
    tf = pytest.importorskip("tensorflow")
    rng = random.Random(15)
    for _ in range(200):
        values = {
            "image/encoded": rng.randbytes(rng.choice([0, 1, 127, 128, 300, 20_000])),
            "image/format": rng.choice([b"jpeg", b"png"]),
            "image/height": rng.choice([0, 1, 127, 128, 16_383, 16_384, 2**31]),
            "image/width": rng.choice([0, 5, 70_000]),
            "image/path": rng.choice(["a.jpg", "é/ü.png", "", "x" * 200]).encode(),
            "labels/positive": sorted(rng.sample(range(40_000), rng.choice([0, 1, 3, 50]))),
            "labels/unknown": [rng.choice([0, 129, 2**40, -1]) for _ in range(rng.choice([0, 2]))],
        }
        assert encode_example(values) == _tf_bytes(tf, values)
    parsed = tf.train.Example.FromString(encode_example({**values, "labels/positive": [3, 1]}))
    assert list(parsed.features.feature["labels/positive"].int64_list.value) == [3, 1]
    assert parsed.features.feature["image/path"].bytes_list.value[0] == values["image/path"]
