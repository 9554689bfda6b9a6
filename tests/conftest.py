from __future__ import annotations

import importlib.util

import pytest

HAS_TF = importlib.util.find_spec("tensorflow") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAS_TF:
        return
    skip = pytest.mark.skip(reason="TensorFlow is not installed: pip install -e '.[tf,dev]'")
    for item in items:
        if "tf" in item.keywords:
            item.add_marker(skip)
