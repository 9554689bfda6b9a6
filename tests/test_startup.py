"""The CLI answers at once when there is no work: ``--help``, a verb's ``--help`` and usage errors import
neither pandas, pandera, numpy, pyarrow nor TensorFlow (``labelprep/__init__.py`` serves its names lazily)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "pandera", "numpy", "pyarrow", "tensorflow", "PIL")
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('HEAVY=' + ','.join(sorted({m.split('.')[0] for m in sys.modules}"
    f" & set({HEAVY!r}))) + '\\n'))\n"
    "from labelprep.cli import main\n"
    "main(args=sys.argv[1:], prog_name='labelprep')\n"
)
VERBS = ("convert", "validate", "export", "verify", "split", "stats", "diff")


def run_cli(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False)
    heavy = [ln.removeprefix("HEAVY=") for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")]
    assert heavy, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr, heavy[-1]


@pytest.mark.parametrize(
    "args",
    [("--help",), ("--version",), *((verb, "--help") for verb in VERBS)],
    ids=lambda a: " ".join(a),
)
def test_help_imports_nothing_heavy(args: tuple[str, ...]) -> None:
    code, out, heavy = run_cli(*args)
    assert code == 0, out
    assert "Usage" in out or "version" in out
    assert heavy == "", f"labelprep {' '.join(args)} imported {heavy}"


@pytest.mark.parametrize(
    "args",
    [("convert",), ("convert", "--bogus"), ("validate", "x", "--check-images", "sometimes"), ("nonsense",)],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_import_nothing_heavy(args: tuple[str, ...]) -> None:
    code, out, heavy = run_cli(*args)
    assert code == 2, out  # click's usage error
    assert heavy == "", f"labelprep {' '.join(args)} imported {heavy}"


def test_package_names_load_on_first_use() -> None:
    code = ("import sys, labelprep\n"
            "assert 'pandas' not in sys.modules\n"
            "assert callable(labelprep.convert) and list(labelprep.Vocabulary(['a'])) == ['a']\n"
            "assert 'pandas' in sys.modules and 'tensorflow' not in sys.modules\n"
            "import labelprep.splitting\n"
            "assert callable(labelprep.split) and labelprep.split.__module__ == 'labelprep.verbs.frames'\n"
            "assert set(labelprep.__all__) <= set(dir(labelprep))\n"
            "try:\n    labelprep.nothing_here\nexcept AttributeError as e:\n    assert 'nothing_here' in str(e)\n"
            "else:\n    raise SystemExit('no AttributeError')\n")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
