"""Optional dependencies (the pip extras): import one when it is first needed, or say how to install it.

TensorFlow (``tf``), Dask (``dask``), fsspec (``remote``, ``s3``, ``gcs``) and cleanlab (``quality``) are
never imported by ``import labelprep``. Each ``require_*`` function imports its package on first use, or
raises :class:`~labelprep.errors.MissingDependencyError` whose hint is the exact command to run
(``install it with: pip install "labelprep[tf]"``). :func:`installed` asks without importing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from labelprep.errors import MissingDependencyError

__all__ = ["VERBOSE_ENV", "check_tensorflow_installed", "fsspec_backend_missing", "install_command", "installed", "require_cleanlab",
           "require_dask", "require_fsspec", "require_tensorflow", "tf_startup_filtered"]  # fmt: skip

# The extra that brings the fsspec backend of a URL scheme; other schemes need fsspec alone (the remote extra).
_FSSPEC_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


def install_command(extra: str) -> str:
    """``pip install "labelprep[extra]"``."""
    return f'pip install "labelprep[{extra}]"'


def _hint(extra: str) -> str:
    return f"install it with: {install_command(extra)}"


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (False for one set to None in sys.modules)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


# -- Dask and cleanlab ---------------------------------------------------------------------------------------------


def require_dask() -> ModuleType:
    """Import ``distributed``, or raise :class:`MissingDependencyError` with the command that installs it."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(f"Dask is needed for engine 'dask' but cannot be imported ({exc})",
                                     hint=_hint("dask")) from None  # fmt: skip
    return distributed


def require_cleanlab() -> Any:
    """cleanlab's ``multilabel_classification.filter`` (what ``--predictions`` uses), or the install command."""
    try:
        from cleanlab.multilabel_classification import filter as cl_filter
    except ImportError as exc:
        raise MissingDependencyError(f"--predictions needs cleanlab, which cannot be imported ({exc})",
                                     hint=_hint("quality")) from None  # fmt: skip
    return cl_filter


# -- fsspec ------------------------------------------------------------------------------------------------------


def require_fsspec(url: str, scheme: str) -> Any:
    """fsspec's ``url_to_fs``; the install command names the extra of ``scheme`` (s3, gcs) or fsspec alone."""
    try:
        from fsspec.core import url_to_fs
    except ImportError as exc:
        raise MissingDependencyError(f"fsspec is needed for {scheme}:// URLs but cannot be imported ({exc})",
                                     file=url, hint=f"install it with: {_fsspec_install(scheme)}") from None  # fmt: skip
    return url_to_fs


def fsspec_backend_missing(url: str, scheme: str, exc: ImportError) -> MissingDependencyError:
    """The error for a URL whose fsspec backend (s3fs, gcsfs, ...) cannot be imported."""
    return MissingDependencyError(f"{scheme}:// needs a package fsspec cannot import ({exc})", file=url,
                                  hint=f"install it with: {_fsspec_install(scheme, package=True)}")  # fmt: skip


def _fsspec_install(scheme: str, package: bool = False) -> str:
    """The install command: the s3/gcs extras by scheme, else fsspec (and, for other schemes, the package it names)."""
    extra = _FSSPEC_EXTRAS.get(scheme)
    if extra:
        return install_command(extra)
    remote = install_command("remote")
    return f"{remote} and the package fsspec names above" if package else remote


# -- TensorFlow --------------------------------------------------------------------------------------------------

# "1": let TensorFlow's C++ start-up lines through (the CLI's --verbose sets it; worker processes inherit it).
VERBOSE_ENV = "LABELPREP_TF_VERBOSE"
# TensorFlow's start-up lines: absl's notice, and glog-style lines ("I0000 00:00:1796285850.635743 6500 port.cc:153]
# oneDNN custom operations are on ...", "E0000 ... cuda_platform.cc:52] failed call to cuInit ..."). Info and
# warning lines go, and errors about the GPU stack a CPU machine does not have; any other error stays.
_TF_STARTUP = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] .*"
    r"|E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] .*(cuInit|CUDA|cuda|cuDNN|cuFFT|cuBLAS|TensorRT|GPU).*)$"
)


@contextmanager
def tf_startup_filtered() -> Iterator[None]:
    """Hold back what is written to file descriptor 2 meanwhile, then write it back less TensorFlow's start-up lines.

    TensorFlow's C++ code writes to the descriptor directly, before Python's logging could be set up, so the
    filter works there. Anything else written meanwhile (a Python warning) is written back in order.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 to redirect
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = "".join(ln for ln in text.splitlines(keepends=True) if not _TF_STARTUP.match(ln.rstrip("\r\n")))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def require_tensorflow(purpose: str = "write TFRecord shards") -> ModuleType:
    """Import TensorFlow, or raise :class:`MissingDependencyError` with the command that installs it.

    TensorFlow's start-up lines on stderr (absl's notice, oneDNN, CUDA drivers, cuInit) are left out,
    unless ``$LABELPREP_TF_VERBOSE`` is 1: the import and the device listing that calls cuInit run under
    :func:`tf_startup_filtered`.
    """
    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # less start-up chatter about CUDA and CPU features
    verbose = os.environ.get(VERBOSE_ENV, "").strip() == "1"
    with contextlib.nullcontext() if verbose else tf_startup_filtered():
        try:
            import tensorflow as tf
        except ImportError as exc:
            raise _tensorflow_missing(purpose, str(exc)) from None
        if not verbose:
            tf.config.list_physical_devices()  # cuInit, and its complaint on a machine without a GPU, happen here
    return tf


def check_tensorflow_installed(purpose: str = "write TFRecord shards") -> None:
    """Raise :class:`MissingDependencyError` now when TensorFlow is not installed, without importing it."""
    if not installed("tensorflow"):
        raise _tensorflow_missing(purpose, "No module named 'tensorflow'")


def _tensorflow_missing(purpose: str, why: str) -> MissingDependencyError:
    return MissingDependencyError(f"TensorFlow is needed to {purpose} but cannot be imported ({why})",
                                  hint=_hint("tf"))  # fmt: skip
