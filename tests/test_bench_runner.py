"""tests/benchmarks/run_all.py: table building, README markers, and collecting rows from real subprocesses.

No real benchmark runs here: the rows are made up, and the subprocess test runs tiny fake scripts.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).parent / "benchmarks"
RUN_ALL = BENCH_DIR / "run_all.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("labelprep_run_all", RUN_ALL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


run_all = _load()

INFO = {"cores": 2, "python": "3.11.7", "platform": "Linux x86_64", "date": "2024-06-11"}


def row(measure: str, value: float, passed: bool | None, **kw: object) -> dict[str, object]:
    return {"benchmark": "bench_a", "measure": measure, "value": value, "unit": "x", "anchor": "pandas",
            "target": ">= 5x", "passed": passed, **kw}  # fmt: skip


def table_rows(table: str) -> list[list[str]]:
    lines = [ln for ln in table.splitlines() if ln.startswith("| ") and not ln.startswith("| benchmark |")]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]


def test_table_has_machine_command_and_one_row_a_target() -> None:
    runs = [
        run_all.BenchRun("bench_a", 0, 12.0, [row("encode 1,000 rows", 9.123, True), row("memory", 1.36, False)]),
        run_all.BenchRun("bench_b", 0, 3.0, [row("pipe a|b", 2.0, None, benchmark="bench_b", anchor="x|y")]),
    ]
    table = run_all.build_table(runs, info=INFO, command="python tests/benchmarks/run_all.py --quick", quick=True)
    head = table.splitlines()[0]
    assert "2 cores" in head and "Python 3.11.7" in head and "2024-06-11" in head
    assert "`python tests/benchmarks/run_all.py --quick`" in head
    assert "| benchmark | measures | anchor (compared with) | ratio | target | result |" in table
    assert table_rows(table) == [
        ["bench_a", "encode 1,000 rows", "pandas", "9.12x", ">= 5x", "pass"],
        ["bench_a", "memory", "pandas", "1.36x", ">= 5x", "**miss**"],
        ["bench_b", "pipe a\\|b", "x\\|y", "2x", ">= 5x", "(info)"],  # '|' escaped, not a new cell
    ]


def test_table_shows_crashes_timeouts_and_benchmarks_without_rows() -> None:
    crashed = run_all.BenchRun("bench_c", 3, 1.0, [row("before the crash", 6.0, True, benchmark="bench_c")],
                               traceback=True, tail=["Traceback (most recent call last):", "ValueError: boom"])  # fmt: skip
    timed_out = run_all.BenchRun("bench_d", None, 5.0, timeout=5.0, tail=["working"])
    silent = run_all.BenchRun("bench_e", 0, 1.0)
    table = run_all.build_table([crashed, timed_out, silent], info=INFO, command="run_all.py")
    assert table_rows(table) == [
        ["bench_c", "before the crash", "pandas", "6x", ">= 5x", "pass"],
        ["bench_c", "ValueError: boom", "", "", "", "**crashed (exit 3)**"],
        ["bench_d", "working", "", "", "", "**timed out after 5 s**"],
        ["bench_e", "(recorded no targets)", "", "", "", "exit 0"],
    ]
    assert [r.crashed for r in (crashed, timed_out, silent)] == [True, True, False]


def test_a_nonzero_exit_after_a_recorded_miss_is_a_miss_not_a_crash() -> None:
    missed = run_all.BenchRun("bench_v", 1, 1.0, [row("existence", 1.3, False)])
    assert (missed.status, missed.crashed) == ("missed", False)
    no_rows = run_all.BenchRun("bench_v", 1, 1.0, [])
    assert no_rows.crashed
    traceback = run_all.BenchRun("bench_v", 1, 1.0, [row("existence", 1.3, False)], traceback=True)
    assert traceback.crashed


def test_values_and_units() -> None:
    assert run_all.format_value({"value": 0.03812, "unit": "x"}) == "0.0381x"
    assert run_all.format_value({"value": 1234.5, "unit": "images/s"}) == "1,234 images/s"
    assert run_all.format_value({"value": 1.0, "unit": "check"}) == "yes"
    assert run_all.format_value({"value": 0.0, "unit": "check"}) == "no"


def test_names_select_and_skip() -> None:
    found = {n: Path(f"{n}.py") for n in ("bench_convert", "bench_export", "bench_split")}
    scripts, unknown = run_all.select(found, ["convert", "bench_split.py"], ["bench_dask"])
    assert [p.stem for p in scripts] == ["bench_convert", "bench_split"]
    assert unknown == ["bench_dask"]
    scripts, _ = run_all.select(found, [], ["export"])
    assert [p.stem for p in scripts] == ["bench_convert", "bench_split"]


README_TEXT = """# x

## Performance

Intro, kept.

<!-- bench:start -->
Run `python tests/benchmarks/run_all.py --write-readme` to fill this table.
<!-- bench:end -->

## Development
"""


def test_replace_block_keeps_everything_outside_the_markers() -> None:
    out = run_all.replace_block(README_TEXT, "| a |\n|---|\n")
    assert out == README_TEXT.replace(
        "Run `python tests/benchmarks/run_all.py --write-readme` to fill this table.", "| a |\n|---|"
    )
    assert run_all.replace_block(out, "new") == README_TEXT.replace(
        "Run `python tests/benchmarks/run_all.py --write-readme` to fill this table.", "new"
    )


@pytest.mark.parametrize(
    "text",
    ["no markers", "<!-- bench:start --> only the start", "<!-- bench:end --> x <!-- bench:start -->",
     README_TEXT + README_TEXT],
)  # fmt: skip
def test_replace_block_refuses_missing_or_misplaced_markers(text: str) -> None:
    with pytest.raises(ValueError, match="bench:"):
        run_all.replace_block(text, "table")


def test_write_readme_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README_TEXT)
    run_all.write_readme(readme, "| t |")
    assert "<!-- bench:start -->\n| t |\n<!-- bench:end -->" in readme.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
    readme.write_text("no markers")
    with pytest.raises(ValueError):
        run_all.write_readme(readme, "| t |")
    assert readme.read_text() == "no markers"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


FAKE_OK = """
import sys
from _results import record

assert sys.argv[1:] == ["--quick"], sys.argv
print("fake benchmark output")
record("bench_fake_ok", "fake speed-up", value=7.5, anchor="a plain loop", target=">= 5x", passed=True)
record("bench_fake_ok", "fake memory", value=2.0, anchor="the result", target="<= 1.5x", passed=False)
"""

FAKE_CRASH = """
from _results import record

record("bench_fake_crash", "measured before the crash", value=3.0, anchor="x", target=">= 1x", passed=True)
raise RuntimeError("fake failure")
"""

FAKE_SKIPPED = """
raise SystemExit("bench_skipped must not run")
"""


def test_run_all_collects_rows_from_subprocesses_and_survives_a_crash(tmp_path: Path) -> None:
    benches = tmp_path / "benches"
    benches.mkdir()
    shutil.copy(BENCH_DIR / "_results.py", benches / "_results.py")
    for name, body in (("bench_fake_ok", FAKE_OK), ("bench_fake_crash", FAKE_CRASH), ("bench_skipped", FAKE_SKIPPED)):
        (benches / f"{name}.py").write_text(textwrap.dedent(body))
    readme = tmp_path / "README.md"
    readme.write_text(README_TEXT)
    out_json = tmp_path / "rows.json"
    cmd = [sys.executable, str(RUN_ALL), "--bench-dir", str(benches), "--quick", "--skip", "skipped", "bench_absent",
           "--timeout", "120", "--json", str(out_json), "--write-readme", "--readme", str(readme)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    assert proc.returncode == 1, proc.stdout + proc.stderr  # a crash; the miss alone would not fail the run
    assert "fake benchmark output" in proc.stdout  # the benchmarks' output is echoed
    assert "crashed: bench_fake_crash" in proc.stderr
    payload = json.loads(out_json.read_text())
    assert {r["benchmark"]: r["status"] for r in payload["runs"]} == {
        "bench_fake_crash": "crashed",
        "bench_fake_ok": "missed",
    }
    assert [(r["measure"], r["passed"]) for r in payload["rows"]] == [
        ("measured before the crash", True),
        ("fake speed-up", True),
        ("fake memory", False),
    ]
    assert payload["command"] == "python tests/benchmarks/run_all.py --quick --skip skipped bench_absent"
    rows = table_rows(readme.read_text())
    assert rows == [
        ["bench_fake_crash", "measured before the crash", "x", "3x", ">= 1x", "pass"],
        ["bench_fake_crash", "RuntimeError: fake failure", "", "", "", "**crashed (exit 1)**"],
        ["bench_fake_ok", "fake speed-up", "a plain loop", "7.5x", ">= 5x", "pass"],
        ["bench_fake_ok", "fake memory", "the result", "2x", "<= 1.5x", "**miss**"],
    ]
    assert readme.read_text().startswith("# x\n\n## Performance\n\nIntro, kept.\n\n<!-- bench:start -->\n")
    assert readme.read_text().endswith("<!-- bench:end -->\n\n## Development\n")

    fail_on_miss = subprocess.run([*cmd[:2], "--bench-dir", str(benches), "--only", "fake_ok", "--quick",
                                   "--fail-on-miss", "--quiet"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert fail_on_miss.returncode == 1, fail_on_miss.stdout + fail_on_miss.stderr
    assert "fake benchmark output" not in fail_on_miss.stdout
    assert "missed a target: bench_fake_ok" in fail_on_miss.stderr


def test_run_all_ends_a_benchmark_that_outlives_the_timeout(tmp_path: Path) -> None:
    benches = tmp_path / "benches"
    benches.mkdir()
    (benches / "bench_slow.py").write_text("import time\nprint('started', flush=True)\ntime.sleep(600)\n")
    cmd = [sys.executable, str(RUN_ALL), "--bench-dir", str(benches), "--timeout", "1", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ["bench_slow", "started", "", "", "", "**timed out after 1 s**"] in table_rows(proc.stdout)
