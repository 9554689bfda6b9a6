"""The Dask executor (``engine="dask"``): same findings and same bytes as the local one, lazy imports, clear errors,
dying workers.

One real ``distributed.LocalCluster`` (two single-threaded worker processes) is
started once for the module; the tests hand its client to the API, or its
address to the CLI. Every dataset is made here: a few dozen tiny images.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep.cli import main
from labelprep.errors import EngineError, InputError, MissingDependencyError
from labelprep.shards.spec import MANIFEST_NAME, STATE_NAME

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shapes" / "labels.csv"
LABELS = ["cat", "dog", "cat|dog", "bird", "", "dog|bird", "cat|bird", "dog"]


def encode(im: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def make_dataset(root: Path, n: int = 24) -> None:
    """``n`` distinct small images (JPEG; every fourth a PNG with alpha, which export normalises) and
    train.csv / val.csv, plus broken and unusual files listed in train (validate's findings)."""
    img = root / "images"
    img.mkdir(parents=True)
    rows: dict[str, list[str]] = {"train": [], "val": []}
    for i in range(n):
        im = Image.new("RGB", (24 + i % 5, 20), (9 * i % 256, 255 - 7 * i % 256, 60))
        im.putpixel((i % 20, 0), (255, 255, 255))
        if i % 4 == 0:
            name, data = f"{i:02d}.png", encode(im.convert("RGBA"), "PNG")
        else:
            name, data = f"{i:02d}.jpg", encode(im, "JPEG", quality=90)
        (img / name).write_bytes(data)
        rows["val" if i % 5 == 4 else "train"].append(f"images/{name},{LABELS[i % len(LABELS)]}")
    good = (img / "01.jpg").read_bytes()
    broken = {
        "truncated.jpg": good[: len(good) // 2],
        "page.jpg": b"<!doctype html><html><head><title>404 Not Found</title></head></html>",
        "copy.jpg": good,  # the same image as 01.jpg: duplicate-image
        "cmyk.jpg": encode(Image.new("CMYK", (16, 16), (0, 50, 90, 10)), "JPEG"),
    }
    for name, data in broken.items():
        (img / name).write_bytes(data)
        rows["train"].append(f"images/{name},cat")
    rows["val"].append("images/03.jpg,dog")  # also in train: leaked-image
    rows["val"].append("images/missing.jpg,dog")
    for split, lines in rows.items():
        (root / f"{split}.csv").write_text("image,labels\n" + "\n".join(lines) + "\n")


def export_dataset(root: Path, n: int = 24) -> Path:
    """Only usable images, one source with a split column (export refuses errors)."""
    make_dataset(root, n)
    lines = ["image,labels,split"]
    for split in ("train", "val"):
        for line in (root / f"{split}.csv").read_text().splitlines()[1:]:
            name = line.split(",")[0].rsplit("/", 1)[1]
            if name[:2].isdigit() and (root / "images" / name).exists() and not (split == "val" and name == "03.jpg"):
                lines.append(f"{line},{split}")
    src = root / "labels.csv"
    src.write_text("\n".join(lines) + "\n")
    return src


def tree(out: Path) -> dict[str, str]:
    """Every file (hidden ones too: a temporary file left behind shows up) and its SHA-256."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()}


# -- without a cluster --------------------------------------------------------------------------------


def test_dask_is_imported_only_by_the_dask_engine(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom click.testing import CliRunner\nimport labelprep\nfrom labelprep.cli import main\n"
        "for args in (['--help'], ['validate', '--help'], ['export', '--help'],"
        f" ['validate', {str(EXAMPLE)!r}, '--split-col', 'split', '--check-images', 'full', '--workers', '2']):\n"
        "    r = CliRunner().invoke(main, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "assert not bad, bad\nprint('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_missing_dask_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError) as err:
        labelprep.validate(EXAMPLE, split_col="split", engine="dask")
    assert "Dask is needed" in err.value.message
    assert err.value.hint == 'install it with: pip install "labelprep[dask]"'


@pytest.mark.tf  # export looks for TensorFlow first: without it, that is the error
def test_export_without_dask_gives_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["export", str(EXAMPLE), "-o", str(out), "--engine", "dask"])
    assert r.exit_code == 1 and 'pip install "labelprep[dask]"' in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_engine_and_scheduler_mistakes_are_clear_errors() -> None:
    with pytest.raises(InputError, match=r"engine must be 'local', 'dask' or a distributed\.Client, not 'spark'"):
        labelprep.validate(EXAMPLE, engine="spark")
    with pytest.raises(InputError, match="used only by the dask engine") as err:
        labelprep.validate(EXAMPLE, scheduler="tcp://127.0.0.1:8786")
    assert "--engine dask" in (err.value.hint or "")
    r = CliRunner().invoke(main, ["validate", str(EXAMPLE), "--engine", "spark"])
    assert r.exit_code == 2  # a usage error: not one of local, dask
    r = CliRunner().invoke(main, ["validate", str(EXAMPLE), "--scheduler", "tcp://127.0.0.1:8786"])
    assert r.exit_code == 1 and "Error: a scheduler address" in r.output and "Traceback" not in r.output


@pytest.mark.dask
def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import dask
    import distributed  # noqa: F401  (its settings must exist before dask.config.set, which restores them after)

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(EngineError, match=r"cannot connect to the Dask scheduler at 'tcp://127.0.0.1:9'") as err:
            labelprep.validate(EXAMPLE, split_col="split", engine="dask", scheduler="tcp://127.0.0.1:9")
        assert "--scheduler" in err.value.message and "start a local cluster" in (err.value.hint or "")
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:9")
        r = CliRunner().invoke(main, ["validate", str(EXAMPLE), "--split-col", "split", "--engine", "dask"])
    assert r.exit_code == 1 and "(from DASK_SCHEDULER_ADDRESS)" in r.output and "Traceback" not in r.output


@pytest.mark.dask
def test_without_an_address_a_local_cluster_is_started_and_closed(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    psutil = pytest.importorskip("psutil")
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)

    def workers() -> set[int]:  # child processes, less multiprocessing's resource tracker (it stays by design)
        return {p.pid for p in psutil.Process().children(recursive=True)
                if "resource_tracker" not in " ".join(p.cmdline())}  # fmt: skip

    before = workers()
    local = labelprep.validate(EXAMPLE, split_col="split", check_images="full")
    report = labelprep.validate(EXAMPLE, split_col="split", check_images="full", engine="dask", workers=1)
    assert report.to_json() == local.to_json()
    deadline = time.monotonic() + 20
    while workers() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not workers() - before  # its worker process is gone


@pytest.mark.dask
def test_the_local_cluster_leaves_out_dasks_malloc_trim_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from labelprep.executor import DaskExecutor

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    engine = DaskExecutor(workers=1)
    try:  # with it, glibc maps and unmaps every decoded image's buffer: image checks 1.4-1.6x slower
        assert list(engine.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()) == [None]
    finally:
        engine.close()


# -- validate on the cluster ---------------------------------------------------------------------------


def test_validate_dask_gives_the_same_report_and_keeps_the_cache_here(client: Any, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from labelprep.checks import images

    make_dataset(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)  # relative sources and images: the workers must get absolute paths
    sources = ["ds/train.csv", "ds/val.csv"]
    local = labelprep.validate(sources, check_images="full", workers=2)
    assert {"corrupt-image", "not-an-image", "cmyk-image", "duplicate-image", "leaked-image",
            "missing-file"} <= set(local.codes())  # fmt: skip
    submitted: list[int] = []
    real = images.run_checks

    def counting(todo: Any, *args: Any, **kwargs: Any) -> None:
        submitted.append(len(todo))
        real(todo, *args, **kwargs)

    monkeypatch.setattr(images, "run_checks", counting)
    for _ in range(2):  # the second run finds every result in the cache, on this machine, and submits nothing
        report = labelprep.validate(sources, check_images="full", engine=client, cache="cache")
        assert report.to_json() == local.to_json()
    assert submitted == [28, 0]  # 24 images + 4 broken or unusual files (missing.jpg is never opened)
    assert sorted(os.listdir("cache")) == ["labelprep-image-checks.sqlite3"]


def test_validate_cli_with_scheduler_option_or_environment(cluster: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    make_dataset(tmp_path / "ds")
    args = ["validate", str(tmp_path / "ds" / "train.csv"), str(tmp_path / "ds" / "val.csv"), "--check-images",
            "header", "--output-format", "json"]  # fmt: skip
    local = CliRunner().invoke(main, args)
    assert local.exit_code == 1 and '"corrupt-image"' in local.stdout
    by_option = CliRunner().invoke(main, [*args, "--engine", "dask", "--scheduler", cluster.scheduler_address])
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    by_env = CliRunner().invoke(main, [*args, "--engine", "dask"])
    assert (by_option.exit_code, by_option.stdout) == (by_env.exit_code, by_env.stdout) == (1, local.stdout)


# -- export on the cluster -----------------------------------------------------------------------------


@pytest.mark.tf
def test_export_dask_writes_the_same_bytes(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export_dataset(tmp_path / "ds")
    monkeypatch.chdir(tmp_path)
    opts: dict[str, Any] = {"split_col": "split", "num_shards": 4, "seed": 3, "resize": 16}
    local = labelprep.export("ds/labels.csv", "local", workers=1, **opts)
    dask = labelprep.export("ds/labels.csv", "dask", engine=client, **opts)
    assert dask == local and local.image["normalised"] > 0
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")  # no state file, no temporary file, same bytes
    assert len(tree(tmp_path / "dask")) == 9  # 2 splits x 4 shards + manifest.json


def _slow_workers(client: Any, seconds: float | None) -> None:
    """Make the shard writer on every worker sleep ``seconds`` before each record, or stop sleeping.

    A slow task patched in from the test side (the writer has no hook for it): ``example_values``, which the
    writer calls once a record, is wrapped on the workers, and put back with ``seconds=None``.
    """

    def patch(delay: float | None = seconds) -> None:
        import time

        import labelprep.shards.writer as writer

        real = getattr(writer.example_values, "unslowed", writer.example_values)
        if delay is None:
            writer.example_values = real
            return

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(delay)
            return real(*args, **kwargs)

        slow.unslowed = real  # type: ignore[attr-defined]
        writer.example_values = slow

    client.run(patch)


def _kill_a_worker_mid_shard(client: Any, out: Path, killed: list[int]) -> None:
    """Once a shard is being written (its temporary file exists), SIGKILL the worker writing one."""
    import psutil

    pids = client.run(os.getpid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = [addr for addr, keys in client.processing().items() if any("labelprep-shard" in str(k) for k in keys)]
        if busy and out.is_dir() and any(p.name.endswith(".tmp") for p in out.iterdir()) and busy[0] in pids:
            psutil.Process(pids[busy[0]]).kill()
            killed.append(pids[busy[0]])
            return
        time.sleep(0.02)


@pytest.mark.tf
def test_a_worker_killed_mid_shard_is_replaced_and_the_bytes_are_the_same(client: Any, tmp_path: Path) -> None:
    pytest.importorskip("psutil")
    src = export_dataset(tmp_path / "ds", n=12)
    fresh = labelprep.export(src, tmp_path / "fresh", num_shards=4, workers=1)
    out = tmp_path / "out"
    killed: list[int] = []
    _slow_workers(client, 0.15)
    try:
        killer = threading.Thread(target=_kill_a_worker_mid_shard, args=(client, out, killed), daemon=True)
        killer.start()
        m = labelprep.export(src, out, num_shards=4, engine=client)
        killer.join()
    finally:
        _slow_workers(client, None)
    assert killed, "no worker was killed"
    assert m == fresh
    assert tree(out) == tree(tmp_path / "fresh")  # the shard was written again elsewhere; its temporary file went


@pytest.mark.tf
def test_a_run_whose_workers_keep_dying_fails_cleanly_and_resume_finishes_it(cluster: Any, client: Any,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    pytest.importorskip("psutil")
    src = export_dataset(tmp_path / "ds", n=12)
    labelprep.export(src, tmp_path / "fresh", num_shards=4, workers=1)
    out = tmp_path / "out"
    killed: list[int] = []
    allowed = cluster.scheduler.allowed_failures
    cluster.scheduler.allowed_failures = 0  # the first death of a shard's worker ends the run
    _slow_workers(client, 0.15)
    try:
        killer = threading.Thread(target=_kill_a_worker_mid_shard, args=(client, out, killed), daemon=True)
        killer.start()
        with pytest.raises(EngineError, match=r"shard \S+: the Dask workers writing it kept dying") as err:
            labelprep.export(src, out, num_shards=4, engine=client)
        killer.join()
    finally:
        cluster.scheduler.allowed_failures = allowed
        _slow_workers(client, None)
    assert killed and "--resume" in (err.value.hint or "")
    assert not (out / MANIFEST_NAME).exists() and (out / STATE_NAME).exists()
    deadline = time.monotonic() + 60  # cancelled shards still running on the other worker finish first
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    r = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "--num-shards", "4", "--engine", "dask",
                                  "--scheduler", cluster.scheduler_address, "--resume"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "resume: kept" in r.output
    assert tree(out) == tree(tmp_path / "fresh")
    assert len(json.loads((out / MANIFEST_NAME).read_text())["splits"]["train"]["shards"]) == 4
