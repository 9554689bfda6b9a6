"""One line per measured target, shared by every benchmark and read by ``run_all.py``.

Each benchmark calls :func:`record` for every target it checks. The line is
always printed (``RESULT {...}``) and, when ``LABELPREP_BENCH_RESULTS`` names a
file, appended to it as JSON, which is how ``run_all.py`` collects one table.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["record"]


def record(
    benchmark: str,
    measure: str,
    *,
    value: float,
    anchor: str,
    target: str,
    passed: bool | None,
    unit: str = "x",
    **extra: Any,
) -> dict[str, Any]:
    """Record one measured target.

    ``benchmark``: the script (``bench_convert``); ``measure``: what was measured
    (``convert 1M rows, 1,000 labels``); ``value``: the ratio (or the figure in
    ``unit``); ``anchor``: what it is compared with (``pandas.get_dummies``);
    ``target``: the goal as text (``>= 10x``); ``passed``: whether it was met
    (None when the target is informative only).
    """
    row = {"benchmark": benchmark, "measure": measure, "value": round(float(value), 4), "unit": unit,
           "anchor": anchor, "target": target, "passed": passed, **extra}  # fmt: skip
    print("RESULT " + json.dumps(row, ensure_ascii=False), flush=True)
    out = os.environ.get("LABELPREP_BENCH_RESULTS")
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row
