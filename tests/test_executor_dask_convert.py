"""convert --engine dask: the blocks of a large table read as Dask tasks, pandera on parts of the frame; same results.

One real ``distributed.LocalCluster`` of two single-threaded worker processes for the module.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import labelprep
import labelprep.readers.csvtext as table_module
from labelprep.cli import main
from labelprep.errors import InputError, SchemaError
from labelprep.executor import DaskExecutor
from labelprep.schemas import check_frame

pytest.importorskip("distributed")


def _long(path: Path, n_images: int = 4000) -> Path:
    rng = random.Random(5)
    lines = ["ImageID,LabelName,Confidence,split"]
    for i in range(n_images):
        for _ in range(rng.randint(1, 5)):
            lines.append(f"img{i:05d},/m/{rng.randint(0, 30):02d},{int(rng.random() < 0.9)},{'val' if i % 6 else 'train'}")
    lines += lines[1:30]  # repeated pairs at the end: merged duplicates with their own lines
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_dask_convert_reads_blocks_as_tasks_and_gives_the_same_frame(
    tmp_path: Path, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _long(tmp_path / "l.csv")
    local = labelprep.convert(src, split_col="split")
    monkeypatch.setattr(table_module, "BLOCK_BYTES", 4096)  # the client cuts the blocks; workers read byte ranges
    blocks = labelprep.convert(src, split_col="split")
    dask = labelprep.convert(src, split_col="split", engine=client)
    assert any("as Dask tasks" in n for n in dask.notes) and not any("as Dask tasks" in n for n in blocks.notes)
    for other in (blocks, dask):
        pd.testing.assert_frame_equal(other.frame, local.frame)
        assert other.summary.lines() == local.summary.lines()
        assert other.ledger == local.ledger and len(local.ledger) >= 29


def test_dask_convert_reports_a_bad_row_in_a_later_block_at_its_line(
    tmp_path: Path, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _long(tmp_path / "l.csv")
    n = len(src.read_text().splitlines())
    with src.open("a", encoding="utf-8") as fh:
        fh.write("img9,/m/01\n")
    monkeypatch.setattr(table_module, "BLOCK_BYTES", 4096)
    with pytest.raises(InputError, match="2 fields") as exc:
        labelprep.convert(src, engine=client)
    assert exc.value.line == n + 1 and exc.value.file == str(src)


def test_pandera_validates_the_frame_in_parts_on_the_cluster(tmp_path: Path, client: Any) -> None:
    conv = labelprep.convert(_long(tmp_path / "l.csv", 200), split_col="split")
    engine = DaskExecutor(client=client)
    check_frame(conv.frame, conv.vocabulary, engine=engine)  # valid: passes
    dup = conv.frame.copy()
    dup.loc[150, "path"] = dup.loc[3, "path"]  # in another partition than its twin
    with pytest.raises(SchemaError, match="uniqueness"):
        check_frame(dup, conv.vocabulary, engine=engine)
    blank = conv.frame.copy()
    blank.loc[120, "path"] = ""
    with pytest.raises(SchemaError, match="str_length"):
        check_frame(blank, conv.vocabulary, engine=engine)


def test_cli_convert_engine_dask(tmp_path: Path, cluster: Any) -> None:
    src = _long(tmp_path / "l.csv", 300)
    out = tmp_path / "o.parquet"
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(out), "--split-col", "split", "--engine", "dask",
                                  "--scheduler", cluster.scheduler_address])  # fmt: skip
    assert r.exit_code == 0, r.output
    frame, _ = labelprep.load_frame(out)
    pd.testing.assert_frame_equal(frame, labelprep.convert(src, split_col="split").frame)
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(out), "--scheduler", "tcp://x:1"])
    assert r.exit_code == 1 and "--engine dask" in r.output
