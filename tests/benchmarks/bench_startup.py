"""Benchmark how fast the CLI answers when there is no work: ``--help``, a verb's ``--help``, a usage error.

Run (a script, not a test; pytest does not collect it)::

    python tests/benchmarks/bench_startup.py             # best of 15 runs each
    python tests/benchmarks/bench_startup.py --quick     # best of 5
    python tests/benchmarks/bench_startup.py --repeat 30

Each command is a fresh interpreter (``python -c``), as a pre-commit hook or a CI step starts it; the figure is
the best wall time of ``--repeat`` runs (the least disturbed by other work on the machine). The anchor is
``python -c "import click"``: an interpreter that imports the CLI library and nothing else, the floor any
Click CLI stands on. A run also lists which heavy packages (pandas, pandera, numpy, pyarrow, TensorFlow) the
command imported: none is the design.

Target: ``labelprep --help`` within 3x the anchor's time.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

try:  # run as a script, this folder is sys.path[0]
    from _results import record
except ImportError:  # imported from elsewhere
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _results import record

TARGET = 3.0
HEAVY = ("pandas", "pandera", "numpy", "pyarrow", "tensorflow", "PIL")
# The CLI as its console script runs it; exit code and output are its own.
CLI = "import sys; from labelprep.cli import main; main(args=sys.argv[1:], prog_name='labelprep')"
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: sys.stderr.write('HEAVY=' + ','.join(sorted({m.split('.')[0] for m in sys.modules}"
         f" & set({HEAVY!r}))) + '\\n'))\n" + CLI)  # fmt: skip
COMMANDS = {
    "labelprep --help": ["--help"],
    "labelprep convert --help": ["convert", "--help"],
    "labelprep export --help": ["export", "--help"],
    "usage error (labelprep validate --check-images sometimes x)": ["validate", "--check-images", "sometimes", "x"],
}


def best_of(argv: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - start)
    return best


def heavy_imports(args: list[str]) -> str:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")]
    return lines[-1].removeprefix("HEAVY=") if lines else "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="best of 5 runs")
    args = ap.parse_args(argv)
    repeat = 5 if args.quick else args.repeat
    print(f"python {platform.python_version()}, {platform.machine()}, best of {repeat} fresh interpreters")
    anchor = best_of([sys.executable, "-c", "import click"], repeat)
    shown = 'python -c "import click"'
    print(f"{shown:<62} {anchor * 1000:7.1f} ms")
    for i, (name, args_) in enumerate(COMMANDS.items()):
        seconds = best_of([sys.executable, "-c", CLI, *args_], repeat)
        heavy = heavy_imports(args_)
        ratio = seconds / anchor
        print(f"{name:<62} {seconds * 1000:7.1f} ms  {ratio:4.2f}x the anchor  heavy imports: {heavy or 'none'}")
        target = i == 0  # the target is --help; the others are shown beside it
        record("bench_startup", name, value=ratio, anchor='python -c "import click"',
               target=f"<= {TARGET:g}x" if target else "informative", passed=(ratio <= TARGET) if target else None,
               seconds=round(seconds, 4), anchor_seconds=round(anchor, 4), heavy_imports=heavy)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
