"""Run every benchmark of the project and print one markdown table of the targets they check.

Run (a script, not a test; pytest does not collect it)::

    python tests/benchmarks/run_all.py                      # every bench_*.py at full size (long on 2 cores)
    python tests/benchmarks/run_all.py --quick              # each with --quick: small data, a smoke run
    python tests/benchmarks/run_all.py --only convert split --timeout 900
    python tests/benchmarks/run_all.py --skip bench_loader --json results.json
    python tests/benchmarks/run_all.py --write-readme       # replace the README's table

Every ``bench_*.py`` of this folder (or ``--bench-dir``) runs in turn as a subprocess, with
``LABELPREP_BENCH_RESULTS`` naming a temporary file; each target a benchmark checks is one row there (see
``_results.record``), and the rows of all benchmarks make one table: what was measured, the anchor it is
compared with, the ratio, the target and pass/miss. The benchmark's own output is echoed as it runs
(``--quiet``: only its last lines, and only when it crashes).

A benchmark that exits non-zero or outlives ``--timeout`` is shown as crashed, with its exit code, and the others
still run; but a non-zero exit with no traceback printed, after the benchmark recorded a missed target, is a miss,
not a crash (``bench_validate.py`` exits 1 when a target is missed).

``--write-readme`` replaces what lies between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in README.md
(written to a temporary file, then renamed). Exit status: 0; 1 if a benchmark crashed or, with
``--fail-on-miss``, missed a target; 2 for a usage error (``--only`` naming no benchmark, markers not found).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"
RESULTS_ENV = "LABELPREP_BENCH_RESULTS"
TRACEBACK = "Traceback (most recent call last)"
TAIL_LINES = 40


@dataclass
class BenchRun:
    """One benchmark script's run: exit code (None when it timed out), wall seconds and the rows it recorded."""

    name: str
    returncode: int | None
    seconds: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    traceback: bool = False
    timeout: float | None = None
    tail: list[str] = field(default_factory=list)

    @property
    def missed(self) -> bool:
        return any(r.get("passed") is False for r in self.rows)

    @property
    def status(self) -> str:
        """``ok``, ``missed`` (a target missed), ``no results``, ``timeout`` or ``crashed``."""
        if self.returncode is None:
            return "timeout"
        if self.returncode == 0:
            if not self.rows:
                return "no results"
            return "missed" if self.missed else "ok"
        if self.missed and not self.traceback:
            return "missed"
        return "crashed"

    @property
    def crashed(self) -> bool:
        return self.status in ("crashed", "timeout")

    def describe(self) -> str:
        if self.returncode is None:
            return f"timed out after {self.timeout:g} s"
        if self.status == "crashed":
            return f"crashed (exit {self.returncode})"
        if self.returncode and self.status == "missed":
            return f"exit {self.returncode} (a target missed)"
        return f"exit {self.returncode}"


# -- discovery and running ---------------------------------------------------------------------------------------


def bench_name(text: str) -> str:
    """``convert``, ``bench_convert`` and ``bench_convert.py`` all name ``bench_convert``."""
    name = Path(text).name.removesuffix(".py")
    return name if name.startswith("bench_") else f"bench_{name}"


def discover(bench_dir: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(bench_dir.glob("bench_*.py"))}


def select(found: dict[str, Path], only: Iterable[str], skip: Iterable[str]) -> tuple[list[Path], list[str]]:
    """The scripts to run, and the names given to ``--only``/``--skip`` that match no script."""
    only_names = [bench_name(n) for n in only]
    skip_names = {bench_name(n) for n in skip}
    unknown = [n for n in [*only_names, *sorted(skip_names)] if n not in found]
    names = [n for n in found if (not only_names or n in only_names) and n not in skip_names]
    return [found[n] for n in names], unknown


def read_results(path: Path) -> list[dict[str, Any]]:
    """The JSON lines ``record`` appended; a line that is not a JSON object is kept as a row saying so."""
    if not path.exists():
        return []
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            row = {"measure": f"unreadable result line {i}: {line[:80]}", "passed": None}
        rows.append(row)
    return rows


def run_bench(script: Path, extra: Sequence[str], *, timeout: float | None, echo: bool) -> BenchRun:
    """Run one benchmark script in its own process group, collecting what it records."""
    with tempfile.TemporaryDirectory(prefix="labelprep-run-all-") as tmp:
        results = Path(tmp) / "results.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results), "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(script), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=env,
            start_new_session=True,  # one process group: a timeout ends the benchmark and what it started
        )
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        saw_traceback = threading.Event()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if echo:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                tail.append(line.rstrip("\n"))
                if line.startswith(TRACEBACK):
                    saw_traceback.set()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        returncode: int | None
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            returncode = None
        except BaseException:
            _kill_group(proc)
            raise
        seconds = time.perf_counter() - started
        reader.join(timeout=5)  # a leftover grandchild may hold the pipe open; do not wait for it
        return BenchRun(script.stem, returncode, seconds, read_results(results), saw_traceback.is_set(),
                        timeout, list(tail))  # fmt: skip


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


# -- the table -----------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
    }


def _cell(value: Any) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text.replace("|", "\\|")


def format_value(row: dict[str, Any]) -> str:
    value, unit = row.get("value"), row.get("unit", "x")
    if not isinstance(value, int | float):
        return _cell(value)
    if unit == "check":
        return "yes" if value else "no"
    number = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return number + ("x" if unit == "x" else f" {unit}" if unit else "")


def format_result(passed: Any) -> str:
    return {True: "pass", False: "**miss**"}.get(passed, "(info)")


def build_table(runs: Sequence[BenchRun], *, info: dict[str, Any], command: str, quick: bool = False) -> str:
    """The markdown block: machine and command, one row a target, then how each benchmark ended."""
    lines = [
        f"Machine: {info['cores']} cores, Python {info['python']}, {info['platform']}; {info['date']}. "
        f"Command: `{command}`" + (" (quick: small data, smoke figures only)." if quick else "."),
        "",
        "| benchmark | measures | anchor (compared with) | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        for row in run.rows:
            cells = [row.get("benchmark") or run.name, row.get("measure"), row.get("anchor"), format_value(row),
                     row.get("target"), format_result(row.get("passed"))]  # fmt: skip
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        if run.crashed:
            lines.append(f"| {run.name} | {_cell(_crash_line(run))} |  |  |  | **{run.describe()}** |")
        elif not run.rows:
            lines.append(f"| {run.name} | (recorded no targets) |  |  |  | {run.describe()} |")
    lines.append("")
    ended = "; ".join(f"{r.name} {r.describe()} in {r.seconds:.0f} s" for r in runs)
    lines.append(f"Benchmarks run: {ended or 'none'}.")
    return "\n".join(lines)


def _crash_line(run: BenchRun) -> str:
    """The last line that says what went wrong (an exception line, usually)."""
    for line in reversed(run.tail):
        if line.strip() and not line.startswith("RESULT "):
            return line.strip()[:160]
    return "(no output)"


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the bench markers replaced by ``block``; ValueError if they are not there."""
    start, end = text.count(START_MARKER), text.count(END_MARKER)
    if start != 1 or end != 1:
        raise ValueError(f"expected one {START_MARKER} and one {END_MARKER}, found {start} and {end}")
    head, rest = text.split(START_MARKER)
    old, tail = rest.split(END_MARKER) if END_MARKER in rest else (None, None)
    if old is None or tail is None:
        raise ValueError(f"{END_MARKER} comes before {START_MARKER}")
    return f"{head}{START_MARKER}\n{block.strip()}\n{END_MARKER}{tail}"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it over ``path`` (keeping its mode)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_readme(path: Path, block: str) -> None:
    write_atomic(path, replace_block(path.read_text(encoding="utf-8"), block))


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces the table (options that only choose where output goes are left out)."""
    parts = ["python", "tests/benchmarks/run_all.py"]
    if args.quick:
        parts.append("--quick")
    if args.only:
        parts += ["--only", *args.only]
    if args.skip:
        parts += ["--skip", *args.skip]
    return " ".join(parts)


# -- main ------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (small data)")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run only these (convert, bench_convert)")
    parser.add_argument("--skip", nargs="+", default=[], metavar="NAME", help="leave these out")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a benchmark may run [3600]")
    parser.add_argument("--bench-dir", type=Path, default=HERE, help="folder of bench_*.py scripts [this folder]")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the machine, runs and rows as JSON")
    parser.add_argument("--write-readme", action="store_true", help="replace the table between the README markers")
    parser.add_argument("--readme", type=Path, default=README, help="the README to write [README.md]")
    parser.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed, too")
    parser.add_argument("--quiet", action="store_true", help="do not echo the benchmarks' output")
    parser.add_argument("--list", action="store_true", help="list the benchmarks that would run, and stop")
    args = parser.parse_args(argv)

    found = discover(args.bench_dir)
    scripts, unknown = select(found, args.only, args.skip)
    only_unknown = [n for n in unknown if n in {bench_name(o) for o in args.only}]
    if only_unknown:
        parser.error(f"no {', '.join(only_unknown)} in {args.bench_dir}; there are: {', '.join(found) or 'none'}")
    for name in unknown:
        print(f"note: no {name}.py in {args.bench_dir}, nothing to skip", file=sys.stderr)
    if args.write_readme and not args.readme.exists():
        parser.error(f"{args.readme} does not exist")
    if args.list:
        print("\n".join(p.stem for p in scripts))
        return 0

    extra = ["--quick"] if args.quick else []
    runs: list[BenchRun] = []
    for i, script in enumerate(scripts, 1):
        print(f"== [{i}/{len(scripts)}] {script.stem}: python {script.name} {' '.join(extra)}".rstrip(), flush=True)
        run = run_bench(script, extra, timeout=args.timeout, echo=not args.quiet)
        runs.append(run)
        print(f"== {script.stem}: {run.describe()}, {len(run.rows)} target(s), {run.seconds:.0f} s", flush=True)
        if run.crashed and args.quiet:
            print("\n".join(f"   {line}" for line in run.tail), flush=True)

    info = machine()
    command = command_line(args)
    table = build_table(runs, info=info, command=command, quick=args.quick)
    print()
    print(table)
    if args.json:
        payload = {"machine": info, "command": command,
                   "runs": [{"benchmark": r.name, "status": r.status, "returncode": r.returncode,
                             "seconds": round(r.seconds, 2)} for r in runs],
                   "rows": [row for r in runs for row in r.rows]}  # fmt: skip
        write_atomic(args.json, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    if args.write_readme:
        try:
            write_readme(args.readme, table)
        except ValueError as exc:
            print(f"Error: {args.readme}: {exc} (add the two markers where the table goes)", file=sys.stderr)
            return 2
        print(f"\nwrote the table into {args.readme}")
    crashed = [r.name for r in runs if r.crashed]
    missed = [r.name for r in runs if r.missed]
    if crashed:
        print(f"\ncrashed: {', '.join(crashed)}", file=sys.stderr)
    if missed:
        print(f"missed a target: {', '.join(missed)}", file=sys.stderr)
    return 1 if crashed or (args.fail_on_miss and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
