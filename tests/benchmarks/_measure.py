"""Timing helpers shared by the benchmarks: alternating best-of runs, and a subprocess's time and peak RSS."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Proc", "best_of", "run_process"]


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
