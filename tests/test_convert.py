"""convert: the two doors give the same frame, what it writes (CSV or Parquet beside a vocabulary, a ledger, the
usual permissions), several sources as the splits of one frame, the user's files never touched, output atomic, and
no TensorFlow. How each annotation form reads is in the readers' tests (test_traps, test_layouts, test_equivalence)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _build import roboflow_splits
from click.testing import CliRunner
from PIL import Image
from test_traps import CHEXPERT, HPA, HPA_NAMES, image, make_cxr, write

import labelprep
from labelprep.cli import main
from labelprep.errors import ConflictError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"


def commands() -> dict[str, click.Command]:
    return dict(main.commands)  # type: ignore[attr-defined]


def test_cli_options_are_the_api_parameters() -> None:
    from test_options import api_options

    # SOURCE... is convert's source: one, or several as the splits of one frame
    api_params = api_options("convert")
    cli_params = {p.name for p in commands()["convert"].params} - {"quiet", "sources"}
    assert cli_params - api_params == set()
    assert api_params - cli_params == set()
    assert {p.name for p in commands()["convert"].params if p.name == "sources"} == {"sources"}


def test_the_two_doors_give_the_same_frame(tmp_path: Path) -> None:
    out = tmp_path / "cli.parquet"
    r = CliRunner().invoke(main, ["convert", str(EXAMPLE), "-o", str(out), "--split-col", "split",
                                  "--group-col", "patient"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "format: delimited" in r.output and "rows read: 48" in r.output
    cli_frame, cli_vocab = labelprep.read_frame(out)
    conv = labelprep.convert(EXAMPLE, split_col="split", group_col="patient")
    pd.testing.assert_frame_equal(cli_frame, conv.frame)
    assert cli_vocab == conv.vocabulary
    assert (tmp_path / "cli.vocab.json").exists()


def test_csv_output_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    conv = labelprep.convert(EXAMPLE, out, split_col="split")
    frame, vocab = labelprep.read_frame(out)
    pd.testing.assert_frame_equal(frame, conv.frame, check_dtype=False)
    assert all(frame[v].dtype == "int8" for v in vocab)


def test_ledger_lists_merged_rows(tmp_path: Path) -> None:
    src = tmp_path / "l.csv"
    # one label a row (a long table): a.jpg adding dog is not a duplicate, repeating cat is
    src.write_text("image,labels\na.jpg,cat\nb.jpg,dog\na.jpg,dog\na.jpg,cat\n")
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(tmp_path / "o.parquet"),
                                  "--ledger", str(tmp_path / "ledger.csv")])  # fmt: skip
    assert r.exit_code == 0, r.output
    ledger = pd.read_csv(tmp_path / "ledger.csv")
    assert ledger.to_dict("records") == [
        {"file": str(src), "line": 5, "path": "a.jpg", "reason": "merged duplicate",
         "detail": "labels merged into the first listing (line 2)"}
    ]  # fmt: skip
    assert "duplicate rows merged: 1" in r.output


def test_convert_never_imports_tensorflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from labelprep.cli import main\n"
        "for args in (['--help'], ['convert', '--help'],"
        f" ['convert', {str(EXAMPLE)!r}, '-o', {str(tmp_path / 'o.parquet')!r}]):\n"
        "    r = CliRunner().invoke(main, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_outputs_get_the_usual_file_permissions(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        labelprep.convert(EXAMPLE, tmp_path / "o.parquet")
    finally:
        os.umask(old)
    for name in ("o.parquet", "o.vocab.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_convert_of_several_sources_makes_one_frame_with_their_splits(tmp_path: Path) -> None:
    sources = roboflow_splits(tmp_path / "rf")
    out = tmp_path / "all.parquet"
    result = CliRunner().invoke(main, ["convert", *map(str, sources), "-o", str(out)])
    assert result.exit_code == 0, result.output
    frame, vocab = labelprep.load_frame(out)
    assert list(vocab) == ["dog", "cat"] and list(frame.columns) == ["path", "dog", "cat", "split"]
    assert frame["split"].tolist() == ["train"] * 3 + ["valid"] * 3 + ["test"] * 3
    assert frame["path"].tolist()[:2] == ["train/train_0.jpg", "train/train_1.jpg"]  # under the common root
    assert labelprep.validate(out).ok  # the images are found from the frame's stored root
    # the vocabularies are united; a source with splits of its own, or --split-col, is refused
    extra = tmp_path / "rf" / "extra" / "_classes.csv"
    extra.parent.mkdir()
    extra.write_text("filename,bird\nx.jpg,1\n")
    conv = labelprep.convert_splits([sources[0], f"extra={extra}"])
    assert list(conv.vocabulary) == ["dog", "cat", "bird"] and conv.frame["bird"].tolist() == [0, 0, 0, 1]
    with pytest.raises(labelprep.InputError, match="each source is a split"):
        labelprep.convert_splits(sources, split_col="split")
    folders = tmp_path / "folders"
    for split in ("train", "val"):
        (folders / split / "cat").mkdir(parents=True)
        Image.new("RGB", (8, 8), (len(split), 1, 1)).save(folders / split / "cat" / f"{split}.jpg")
    with pytest.raises(labelprep.InputError, match="has splits of its own"):
        labelprep.convert_splits([f"other={folders}", sources[0]])


# ---------------------------------------------------------------------------
# The user's files are never touched; output is atomic
# ---------------------------------------------------------------------------


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative POSIX path -> digest)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out



def _sources(tmp: Path) -> dict[str, tuple[Path, dict[str, object]]]:
    cxr = make_cxr(tmp / "cxr", header_comma=False, row_comma=True)
    folder = tmp / "folder"
    image(folder / "cat" / "1.jpg", 1)
    image(folder / "dog" / "1.jpg", 1)
    side = tmp / "side"
    image(side / "a.png")
    write(side / "a.txt", "x, y")
    wide = write(tmp / "chexpert" / "train.csv", CHEXPERT, crlf=True, bom=True)
    return {
        "cxr": (cxr, {"none_label": ["No Finding"], "find_images": True, "group_col": "Patient ID"}),
        "folder": (folder, {}),
        "sidecar": (side, {}),
        "wide": (wide, {"uncertain": "one"}),
    }


@pytest.mark.parametrize("kind", ["cxr", "folder", "sidecar", "wide"])
def test_inputs_are_byte_identical_after_convert(tmp_path: Path, kind: str) -> None:
    src, kwargs = _sources(tmp_path / "in")[kind]
    before = tree_digest(tmp_path / "in")
    out = tmp_path / "out" / "labels.parquet"
    labelprep.convert(src, out, ledger=tmp_path / "out" / "ledger.csv", **kwargs)  # type: ignore[arg-type]
    assert tree_digest(tmp_path / "in") == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["labels.parquet", "labels.vocab.json", "ledger.csv"]


@pytest.mark.parametrize("target", ["ledger-over-source", "output-over-label-map"])
def test_outputs_never_overwrite_an_input_file(tmp_path: Path, target: str) -> None:
    src = write(tmp_path / "train.csv", HPA)
    lmap = write(tmp_path / "map.csv", "".join(f"{i},{n}\n" for i, n in enumerate(HPA_NAMES)))
    before = tree_digest(tmp_path)
    with pytest.raises(labelprep.InputError):
        if target == "ledger-over-source":
            labelprep.convert(src, tmp_path / "out.parquet", label_map=lmap, ledger=src)
        else:
            labelprep.convert(src, lmap, label_map=lmap)
    assert tree_digest(tmp_path) == before


def test_csv_output_beside_the_source_leaves_no_temp_files(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat|dog\n")
    before = tree_digest(tmp_path)
    conv = labelprep.convert(src, tmp_path / "frame.csv")
    after = tree_digest(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted(after) == ["frame.csv", "frame.vocab.json", "labels.csv"]
    frame, vocab = labelprep.read_frame(tmp_path / "frame.csv")
    pd.testing.assert_frame_equal(frame, conv.frame, check_dtype=False, check_column_type=False)
    assert list(vocab) == ["cat", "dog"]


def test_failed_conversion_writes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path / "labels.csv", "image,labels,split\na.jpg,cat,train\na.jpg,dog,val\n")
    before = tree_digest(tmp_path)
    with pytest.raises(ConflictError):
        labelprep.convert(src, tmp_path / "out.parquet", split_col="split")
    assert tree_digest(tmp_path) == before


def test_failure_while_writing_leaves_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write(tmp_path / "labels.csv", "image,labels\na.jpg,cat|dog\n")

    def half_write(table: object, where: object, *args: object, **kwargs: object) -> None:
        Path(str(where)).write_bytes(b"PAR1 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_write)
    before = tree_digest(tmp_path)
    with pytest.raises(OSError, match="No space left"):
        labelprep.convert(src, tmp_path / "out" / "labels.parquet")
    after = tree_digest(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))
    assert not (tmp_path / "out" / "labels.parquet").exists()
    # both files are staged; neither is renamed into place when one fails
    assert set(after) - set(before) == set()


def test_failure_while_writing_keeps_the_previous_output_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "labels.parquet"
    labelprep.convert(write(tmp_path / "old.csv", "image,labels\na.jpg,cat\n"), out)
    before = tree_digest(tmp_path)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", fail)
    new = write(tmp_path / "new.csv", "image,labels\na.jpg,dog|bird\n")
    with pytest.raises(OSError):
        labelprep.convert(new, out)
    after = {k: v for k, v in tree_digest(tmp_path).items() if k != "new.csv"}
    assert after == before  # the old frame still sits beside its own vocabulary
