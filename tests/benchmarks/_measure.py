"""Helpers shared by the benchmarks: alternating best-of runs, a subprocess's time and peak RSS, photo-like images."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["Proc", "best_of", "photo", "run_process"]


def best_of(repeat: int, methods: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """Best time and last result of each method; the methods take turns, so a busy spell hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (min(times[name]), results[name]) for name in methods}


@dataclass
class Proc:
    """One finished subprocess: wall seconds, peak RSS, output."""

    seconds: float
    peak_rss: int
    returncode: int
    stdout: str
    stderr: str


def run_process(cmd: Sequence[str]) -> Proc:
    """Run ``cmd``: its wall time and its peak RSS (``os.wait4``: it and its reaped children, not this process).

    A child starts with the peak RSS of the process that forked it (``ru_maxrss`` survives fork and exec),
    so call this from a process that holds no large data.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return Proc(seconds, int(usage.ru_maxrss) * 1024, os.waitstatus_to_exitcode(status), out.read(), err.read())


def photo(rng: np.random.Generator, size: int = 224) -> Image.Image:
    """A photo-like image: smooth colour gradients plus a little noise (JPEG size like real photos)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    phase = rng.uniform(0, 2 * np.pi, 3)
    freq = rng.uniform(1, 6, 3)
    chans = [127 + 100 * np.sin(freq[c] * (x + y * (c + 1)) * np.pi + phase[c]) for c in range(3)]
    arr = np.stack(chans, axis=-1) + rng.normal(0, 12, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
