"""Progress bars: one line on stderr, redrawn at most ten times a second, drawn only when asked for."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

__all__ = ["Progress", "ThroughputProgress"]


class Progress:
    """``label [#####.....] count/total  pct  time left``; the estimate shows once a second and 2% have passed."""

    def __init__(self, total: int, *, label: str, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total = total
        self.label = label
        self.enabled = enabled and total > 0
        self.stream: Any = stream if stream is not None else sys.stderr
        self.count = 0
        self.start = self.last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.count += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= 0.1 or self.count >= self.total:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = self.count / self.total
        filled = int(frac * 30)
        elapsed = now - self.start
        rate = self.count / max(elapsed, 1e-9)
        # The first results come after the workers start: no estimate before a second and 2% have passed.
        if self.count >= self.total:
            eta = f"{elapsed:4.0f}s      "
        elif elapsed >= 1.0 and frac >= 0.02 and rate > 0:
            eta = f"{(self.total - self.count) / rate:4.0f}s left "
        else:
            eta = "   ...      "
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                          f"{self.count:,}/{self.total:,} {frac:4.0%}  {eta}")  # fmt: skip
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


class ThroughputProgress(Progress):
    """``label [#####.....] count/total  pct  N examples/s  M MB/s``: what export and verify draw."""

    def __init__(self, total: int, *, label: str, enabled: bool, stream: IO[str] | None = None) -> None:
        super().__init__(total, label=label, enabled=enabled, stream=stream)
        self.nbytes = 0

    def update(self, examples: int, nbytes: int) -> None:
        """Running totals (examples, bytes); a total lower than one already shown is ignored."""
        self.nbytes = max(self.nbytes, nbytes)
        if examples > self.count:
            self.advance(examples - self.count)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        frac = self.count / self.total
        filled = int(frac * 30)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {self.count:,}/{self.total:,} "
                          f"{frac:4.0%}  {self.count / elapsed:,.0f} examples/s  "
                          + (f"{self.nbytes / elapsed / 1e6:,.1f} MB/s " if self.nbytes else ""))  # fmt: skip
        self.stream.flush()
