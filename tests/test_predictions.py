"""validate --predictions: likely label errors from out-of-fold probabilities (cleanlab, optional)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import labelprep
from labelprep.cli import main
from labelprep.errors import InputError, MissingDependencyError

LABELS = ["cat", "dog", "car", "tree"]


def simulated(tmp_path: Path, n: int = 300, flip: float = 0.05, seed: int = 0) -> tuple[Path, Path, set[tuple[str, str]]]:
    """A wide table of given labels (some cells flipped) and a model's probabilities of the true ones."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((n, len(LABELS))) < 0.3).astype(int)
    flipped = rng.random(truth.shape) < flip
    given = np.where(flipped, 1 - truth, truth)
    logit = np.where(truth == 1, 2.5, -2.5) + rng.normal(0, 1.0, truth.shape)  # a good model (AUC about 0.96)
    probs = 1 / (1 + np.exp(-logit))
    paths = [f"img_{i:04d}.jpg" for i in range(n)]
    (tmp_path / "train.csv").write_text("path," + ",".join(LABELS) + "\n" + "".join(
        f"{p}," + ",".join(map(str, row)) + "\n" for p, row in zip(paths, given.tolist())))  # fmt: skip
    (tmp_path / "preds.csv").write_text("path," + ",".join(LABELS) + "\n" + "".join(
        f"{p}," + ",".join(f"{x:.4f}" for x in row) + "\n" for p, row in zip(paths, probs.tolist())))  # fmt: skip
    wrong = {(paths[i], LABELS[j]) for i, j in zip(*np.nonzero(flipped))}
    return tmp_path / "train.csv", tmp_path / "preds.csv", wrong


def run(src: Path, **kw: object) -> labelprep.Report:
    return labelprep.validate(src, check_images="none", severity={"missing-file": "off"}, **kw)  # type: ignore[arg-type]


def test_flipped_cells_are_found_ranked_with_their_probability(tmp_path: Path) -> None:
    pytest.importorskip("cleanlab")
    src, preds, wrong = simulated(tmp_path)
    report = run(src, predictions=preds, top_issues=len(wrong))
    issues = [f for f in report.findings if f.code == "label-issue"]
    found = {(f.path, f.label) for f in issues}
    precision, recall = len(found & wrong) / len(found), len(found & wrong) / len(wrong)
    assert precision >= 0.7 and recall >= 0.7, (precision, recall, len(wrong))
    top = issues[0]
    assert top.severity == "warning" and top.split == "train" and top.source == str(src) and top.score is not None
    assert top.line == int(top.path[4:8]) + 2  # its own row of train.csv
    assert "rank 1 of" in top.hint
    doubt = [abs(f.score - (1 if "labelled" in f.message and "not labelled" not in f.message else 0)) for f in issues]  # type: ignore[operator]
    assert doubt == sorted(doubt, reverse=True)  # the report keeps the rank order
    assert report.stats["predictions"]["rows"] == 300 and "predictions" in report.checks
    r = CliRunner().invoke(main, ["validate", str(src), "--check-images", "none", "--severity", "missing-file=off",
                                  "--predictions", str(preds), "--top-issues", "3"])  # fmt: skip
    assert r.exit_code == 0 and "WARNING label-issue (3)" in r.output


def test_unknown_cells_are_never_reported_and_uncovered_rows_are_counted(tmp_path: Path) -> None:
    pytest.importorskip("cleanlab")
    src, preds, _ = simulated(tmp_path, n=120, flip=0.0)
    lines = src.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 4)[0] + ",-1,-1,-1,-1"  # img_0000: every cell unknown
    src.write_text("\n".join(lines) + "\n")
    kept = preds.read_text().splitlines()
    preds.write_text("\n".join(kept[:-5]) + "\n")  # the last five images have no prediction
    report = run(src, predictions=preds)
    assert not [f for f in report.findings if f.code == "label-issue" and f.path == "img_0000.jpg"]
    missing = [f for f in report.findings if f.code == "predictions-missing"]
    assert len(missing) == 1 and missing[0].message.startswith("5 of 120 image(s) of split 'train'")


def test_bad_predictions_are_errors_naming_the_file(tmp_path: Path) -> None:
    src, preds, _ = simulated(tmp_path, n=20)
    text = preds.read_text()
    preds.write_text(text.replace(",tree", ",trees", 1))
    with pytest.raises(InputError, match="lack the label column"):
        run(src, predictions=preds)
    preds.write_text(text.replace("img_0003.jpg,", "img_0003.jpg,1.7x", 1))
    with pytest.raises(InputError, match=r"'cat' of 'img_0003\.jpg' is '1\.7x.*', not a probability"):
        run(src, predictions=preds)
    preds.write_text(text + text.splitlines()[1] + "\n")
    with pytest.raises(InputError, match=r"'img_0000\.jpg' has two rows"):
        run(src, predictions=preds)


def test_without_cleanlab_the_error_gives_the_pip_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, preds, _ = simulated(tmp_path, n=20)
    monkeypatch.setitem(sys.modules, "cleanlab", None)  # import cleanlab now fails
    monkeypatch.setitem(sys.modules, "cleanlab.multilabel_classification", None)
    with pytest.raises(MissingDependencyError) as exc:
        run(src, predictions=preds)
    assert 'pip install "labelprep[quality]"' in str(exc.value)
    r = CliRunner().invoke(main, ["validate", str(src), "--check-images", "none", "--predictions", str(preds)])
    assert r.exit_code == 1 and "Error:" in r.output and "labelprep[quality]" in r.output and "Traceback" not in r.output
