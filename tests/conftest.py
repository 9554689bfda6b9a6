from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

HAS_TF = importlib.util.find_spec("tensorflow") is not None
HAS_DASK = importlib.util.find_spec("distributed") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``tf`` or ``dask`` are skipped, with the install command, when that extra is missing."""
    missing = {"tf": "TensorFlow is not installed: pip install -e '.[tf,dev]'"} if not HAS_TF else {}
    if not HAS_DASK:
        missing["dask"] = "Dask is not installed: pip install -e '.[dask,dev]'"
    for item in items:
        for marker, reason in missing.items():
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real Dask ``LocalCluster`` of two single-threaded worker processes, one a test module."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        yield lc


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    """A ``distributed.Client`` of :func:`cluster` with both workers up."""
    import distributed

    with distributed.Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=60)
        yield c
