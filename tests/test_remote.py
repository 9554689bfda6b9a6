"""Remote storage: URL sources, images roots and outputs, through fsspec's memory:// and through file://.

Every dataset is made here (a dozen tiny images) and copied to memory:// when a
test needs it there; the memory store is emptied around each test.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import labelprep
from labelprep import storage
from labelprep.cli import main
from labelprep.errors import InputError, MissingDependencyError
from labelprep.frameio import read_frame
from labelprep.storage import is_remote, is_url, local_path

fsspec = pytest.importorskip("fsspec")

LABELS = ["cat", "dog", "cat|dog", "bird", "cat|bird", "", "dog|bird", "cat", "dog", "bird", "cat|dog|bird", "dog"]


@pytest.fixture(autouse=True)
def memory() -> Any:
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]
    yield fs
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]


def make_dataset(root: Path, n: int = 12) -> Path:
    """``n`` distinct 16x12 images (every third a PNG) and labels.csv (image, labels, split)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = ["image,labels,split"]
    for i in range(n):
        ext = "png" if i % 3 == 0 else "jpg"
        im = Image.new("RGB", (16, 12), (20 * i % 256, 255 - 15 * i % 256, 90))
        im.putpixel((i % 16, 0), (255, 255, 255))
        buf = io.BytesIO()
        im.save(buf, "PNG" if ext == "png" else "JPEG", quality=90)
        (root / "images" / f"{i:02d}.{ext}").write_bytes(buf.getvalue())
        lines.append(f"images/{i:02d}.{ext},{LABELS[i % len(LABELS)]},{'val' if i % 4 == 3 else 'train'}")
    src = root / "labels.csv"
    src.write_text("\n".join(lines) + "\n")
    return src


def upload(fs: Any, local: Path, url: str) -> str:
    """Copy a local file or folder tree to a memory:// URL; return the URL."""
    path = url.removeprefix("memory://")
    if local.is_dir():
        for p in sorted(local.rglob("*")):
            if p.is_file():
                fs.pipe(f"{path}/{p.relative_to(local).as_posix()}", p.read_bytes())
    else:
        fs.pipe(path, local.read_bytes())
    return url


def remote_files(fs: Any, url: str) -> dict[str, bytes]:
    base = url.removeprefix("memory://").rstrip("/")
    return {name[len(base) + 2 :]: fs.cat_file(name) for name in fs.find(base)}


# -- what a URL is --------------------------------------------------------------------------------


def test_is_url_tells_urls_from_paths() -> None:
    assert is_url("s3://bucket/x.csv") and is_url("memory://b/x") and is_url("file:///tmp/x")
    assert not is_url("labels.csv") and not is_url("/data/labels.csv") and not is_url(Path("memory://b"))
    assert not is_url("C:/data/labels.csv") and not is_url("C:\\data\\labels.csv") and not is_url("C://data")
    assert is_remote("gs://b/x") and not is_remote("file:///tmp/x")
    assert local_path("file:///tmp/a%20b/x.csv") == "/tmp/a b/x.csv"
    assert local_path("file://localhost/tmp/x.csv") == "/tmp/x.csv"


def test_common_root_of_local_folders_or_urls_on_one_store(tmp_path: Path) -> None:
    assert storage.common_root(["memory://b/data/train", "memory://b/data/val"]) == ("memory://b/data", ["train", "val"])
    assert storage.common_root(["s3://bkt", "s3://bkt/val/"]) == ("s3://bkt", [".", "val"])
    assert storage.common_root([tmp_path / "a", tmp_path / "b" / "c"]) == (tmp_path, ["a", "b/c"])
    for apart in (["s3://one/a", "s3://two/a"], ["s3://b/a", "gs://b/a"], ["s3://b/a", tmp_path]):
        assert storage.common_root(apart) is None, apart

def test_local_work_never_imports_fsspec(tmp_path: Path) -> None:
    src = make_dataset(tmp_path)
    code = ("import sys, labelprep\n"
            f"labelprep.convert({str(src)!r}, {str(tmp_path / 'out.parquet')!r})\n"
            f"labelprep.validate([{str(src)!r}], check_images='header', workers=1)\n"
            "assert 'fsspec' not in sys.modules, 'fsspec imported'\nprint('ok')\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# -- sources and outputs -------------------------------------------------------------------------


def test_convert_memory_source_to_memory_output_equals_a_local_conversion(tmp_path: Path, memory: Any) -> None:
    src = make_dataset(tmp_path / "data")
    upload(memory, tmp_path / "data", "memory://bucket/data")
    local = labelprep.convert(src, tmp_path / "local.parquet", split_col="split")
    conv = labelprep.convert("memory://bucket/data/labels.csv", "memory://bucket/out/labels.parquet",
                             split_col="split", ledger="memory://bucket/out/ledger.csv")  # fmt: skip
    assert conv.images_root == "memory://bucket/data"
    assert conv.written == ["memory://bucket/out/labels.parquet", "memory://bucket/out/labels.vocab.json",
                            "memory://bucket/out/ledger.csv"]  # fmt: skip
    files = remote_files(memory, "memory://bucket/out")
    assert sorted(files) == ["labels.parquet", "labels.vocab.json", "ledger.csv"]  # no temporary names left
    (tmp_path / "back").mkdir()
    for name, data in files.items():
        (tmp_path / "back" / name).write_bytes(data)
    frame, vocab = read_frame(tmp_path / "back" / "labels.parquet")
    pd.testing.assert_frame_equal(frame, local.frame)
    assert vocab == local.vocabulary
    meta = labelprep.frameio.read_frame_meta(tmp_path / "back" / "labels.parquet")
    assert meta["source"] == "memory://bucket/data/labels.csv" and meta["images_root"] == "../data"
    # the frame on memory:// finds its images beside it, through the stored relative root
    report = labelprep.validate("memory://bucket/out/labels.parquet", check_images="full")
    assert report.ok, report.to_text()
    assert report.stats["images"] == 12


def test_memory_frames_with_and_without_vocab_sidecar_read_like_local_ones(tmp_path: Path, memory: Any) -> None:
    src = make_dataset(tmp_path)
    labelprep.convert(src, tmp_path / "frame.parquet", split_col="split")
    labelprep.convert(src, tmp_path / "frame.csv", split_col="split")
    for name in ("frame.parquet", "frame.csv", "frame.vocab.json"):
        upload(memory, tmp_path / name, f"memory://b/{name}")
    for name in ("frame.parquet", "frame.csv"):
        frame, vocab = labelprep.load_frame(f"memory://b/{name}")
        want_frame, want_vocab = read_frame(tmp_path / name)
        pd.testing.assert_frame_equal(frame, want_frame)
        assert vocab == want_vocab
    st = labelprep.stats("memory://b/frame.csv", pos_weight="memory://b/pos_weight.json")
    assert st is not None
    assert set(json.loads(memory.cat_file("/b/pos_weight.json"))) == {"bird", "cat", "dog"}
    with storage._staging({}) as stage:  # the fetched copy has its vocabulary beside it, so it is a frame
        copy = stage.fetch("memory://b/frame.csv")
        assert copy.name == "frame.csv" and labelprep.frameio.is_frame(copy)
        assert storage.where(copy) == "memory://b/frame.csv"
    assert not copy.exists()  # removed afterwards


def test_errors_name_the_url_not_the_temporary_copy(tmp_path: Path, memory: Any) -> None:
    memory.pipe("/b/bad.csv", b"image,labels\na.jpg,cat\n,dog\n")
    with pytest.raises(InputError) as err:
        labelprep.convert("memory://b/bad.csv")
    assert err.value.file == "memory://b/bad.csv"
    assert "labelprep-remote" not in str(err.value)
    with pytest.raises(InputError, match="no such file") as err:
        labelprep.convert("memory://b/missing.csv")
    assert err.value.file == "memory://b/missing.csv"
    report = labelprep.validate("memory://b/bad.csv", check_images="none")
    assert [f.source for f in report.findings if f.code == "schema-error"] == ["memory://b/bad.csv"]


def test_convert_refuses_to_overwrite_a_url_source(memory: Any) -> None:
    memory.pipe("/b/x.csv", b"image,labels\na.jpg,cat\n")
    with pytest.raises(InputError, match="overwrite an input"):
        labelprep.convert("memory://b/x.csv", "memory://b/x.csv")



def test_convert_of_several_memory_sources_keeps_their_urls_and_equals_a_local_conversion(tmp_path: Path,
                                                                                           memory: Any) -> None:  # fmt: skip
    # the splits named in every way convert takes them: a list, NAME=URL (the CLI's), a mapping
    for split in ("train", "val"):
        make_dataset(tmp_path / "data" / split, n=4 if split == "train" else 3)
    upload(memory, tmp_path / "data", "memory://b/data")
    local = labelprep.convert([tmp_path / "data" / "train" / "labels.csv", tmp_path / "data" / "val" / "labels.csv"])
    urls = ["memory://b/data/train/labels.csv", "memory://b/data/val/labels.csv"]
    for sources in (urls, [f"train={urls[0]}", f"val={urls[1]}"], {"train": urls[0], "val": urls[1]}):
        conv = labelprep.convert(sources)
        assert conv.images_root == "memory://b/data"  # not memory:/b/data: the URLs were fetched, not folded
        pd.testing.assert_frame_equal(conv.frame, local.frame)
        assert conv.frame["path"].tolist()[:2] == ["train/images/00.png", "train/images/01.jpg"]
    res = CliRunner().invoke(main, ["convert", f"train={urls[0]}", f"val={urls[1]}", "-o", "memory://b/all.parquet"])
    assert res.exit_code == 0, res.output
    assert "memory:/b" not in res.output
    report = labelprep.validate("memory://b/all.parquet", check_images="full")  # the stored root finds the images
    assert report.stats["splits"] == {"train": 4, "val": 3} and "missing-file" not in report.codes()
    assert report.codes()["leaked-image"] == 3, report.to_text()  # the val images are train's first three, read
    # images on two stores make no one frame
    with pytest.raises(InputError, match="on one store"):
        labelprep.convert([urls[0], tmp_path / "data" / "val" / "labels.csv"])

# -- images roots on remote storage --------------------------------------------------------------


def test_validate_with_images_on_memory_finds_missing_and_corrupt_images(tmp_path: Path, memory: Any) -> None:
    src = make_dataset(tmp_path)
    upload(memory, tmp_path / "images", "memory://b/images")
    memory.rm("/b/images/04.jpg")
    good = memory.cat_file("/b/images/05.jpg")
    memory.pipe("/b/images/05.jpg", good[: len(good) // 2])  # truncated
    memory.pipe("/b/images/06.png", b"")
    report = labelprep.validate(src, images_root="memory://b", check_images="full",
                                quarantine="memory://b/out/quarantine.csv")  # fmt: skip
    found = {(f.code, f.path) for f in report.findings if f.severity == "error"}
    assert found == {("missing-file", "images/04.jpg"), ("corrupt-image", "images/05.jpg"),
                     ("empty-file", "images/06.png")}  # fmt: skip
    quarantine = memory.cat_file("/b/out/quarantine.csv").decode()
    assert quarantine.splitlines()[0] == "path,split,code,message"
    assert {line.split(",")[0] for line in quarantine.splitlines()[1:]} == {"images/04.jpg", "images/05.jpg",
                                                                          "images/06.png"}  # fmt: skip
    # the same images on disk give the same findings
    (tmp_path / "images" / "04.jpg").unlink()
    (tmp_path / "images" / "05.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "images" / "06.png").write_bytes(b"")
    local = labelprep.validate(src, check_images="full", workers=1)
    assert {(f.code, f.path) for f in local.findings if f.severity == "error"} == found


def test_a_missing_remote_images_root_is_an_error(tmp_path: Path) -> None:
    src = make_dataset(tmp_path)
    with pytest.raises(InputError, match="images root is not a folder") as err:
        labelprep.validate(src, images_root="memory://nowhere/images")
    assert err.value.file == "memory://nowhere/images"


def test_cli_validate_reads_url_sources_and_writes_url_reports(tmp_path: Path, memory: Any) -> None:
    make_dataset(tmp_path / "data")
    upload(memory, tmp_path / "data", "memory://b/data")
    res = CliRunner().invoke(main, ["validate", "memory://b/data/labels.csv", "--check-images", "header",
                                    "--output-format", "json", "--output", "memory://b/report.json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(memory.cat_file("/b/report.json"))["summary"]["images"] == 12


# -- export --------------------------------------------------------------------------------------


@pytest.mark.tf
def test_export_to_memory_from_memory_images_is_byte_identical_to_a_local_export(tmp_path: Path,
                                                                                  memory: Any) -> None:  # fmt: skip
    src = make_dataset(tmp_path / "data")
    upload(memory, tmp_path / "data", "memory://b/data")
    local = labelprep.export(src, tmp_path / "shards", num_shards=2, seed=3, workers=1)
    m = labelprep.export("memory://b/data/labels.csv", "memory://b/shards", num_shards=2, seed=3, workers=1)
    assert m.out_dir is None and m.to_json() == local.to_json()
    want = {p.name: p.read_bytes() for p in (tmp_path / "shards").iterdir()}
    assert remote_files(memory, "memory://b/shards") == want
    assert labelprep.verify("memory://b/shards").ok
    with pytest.raises(InputError, match="previous export") as err:
        labelprep.export("memory://b/data/labels.csv", "memory://b/shards", num_shards=2, seed=3)
    assert err.value.file == "memory://b/shards"
    with pytest.raises(InputError, match="--resume needs a local OUT_DIR"):
        labelprep.export("memory://b/data/labels.csv", "memory://b/shards", resume=True)
    # --overwrite replaces it, and removes the shards the new manifest no longer lists
    labelprep.export("memory://b/data/labels.csv", "memory://b/shards", num_shards=1, seed=3, overwrite=True)
    files = remote_files(memory, "memory://b/shards")
    manifest = json.loads(files["manifest.json"])
    listed = [s["file"] for sp in manifest["splits"].values() for s in sp["shards"]]
    assert sorted(files) == sorted(["manifest.json", *listed])
    assert all(name.endswith("-of-00001") for name in listed)


@pytest.mark.tf
def test_export_refused_by_validation_names_url_paths(tmp_path: Path, memory: Any) -> None:
    make_dataset(tmp_path / "data")
    upload(memory, tmp_path / "data", "memory://b/data")
    memory.rm("/b/data/images/02.jpg")
    with pytest.raises(labelprep.ExportRefused) as err:
        labelprep.export("memory://b/data/labels.csv", "memory://b/shards")
    assert {(f.code, f.path, f.source) for f in err.value.report.errors} == {
        ("missing-file", "images/02.jpg", "memory://b/data/labels.csv")}
    assert not memory.exists("/b/shards/manifest.json")


# -- file:// -------------------------------------------------------------------------------------


def test_file_urls_are_plain_local_paths(tmp_path: Path) -> None:
    src = make_dataset(tmp_path)
    local = labelprep.convert(src, tmp_path / "a.parquet", split_col="split")
    conv = labelprep.convert(src.as_uri(), (tmp_path / "b.parquet").as_uri(), split_col="split",
                             images_root=tmp_path.as_uri())  # fmt: skip
    assert conv.written == [tmp_path / "b.parquet", tmp_path / "b.vocab.json"]
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    pd.testing.assert_frame_equal(conv.frame, local.frame)
    report = labelprep.validate([(tmp_path / "b.parquet").as_uri()], images_root=tmp_path.as_uri(), workers=1)
    assert report.ok and report.stats["images"] == 12


@pytest.mark.tf
def test_export_to_a_file_url(tmp_path: Path) -> None:
    src = make_dataset(tmp_path)
    local = labelprep.export(src, tmp_path / "a", seed=1, workers=1)
    m = labelprep.export(src.as_uri(), (tmp_path / "b").as_uri(), seed=1, workers=1)
    assert m.to_json() == local.to_json()
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "a").iterdir()}
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "b").iterdir()} == digest
    res = CliRunner().invoke(main, ["verify", (tmp_path / "b").as_uri()])
    assert res.exit_code == 0, res.output


# -- missing extras and bad URLs -----------------------------------------------------------------


def test_missing_fsspec_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    with pytest.raises(MissingDependencyError) as err:
        labelprep.convert("memory://b/labels.csv")
    assert err.value.hint == 'install it with: pip install "labelprep[remote]"'
    assert err.value.file == "memory://b/labels.csv"


def test_missing_s3fs_or_gcsfs_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    with pytest.raises(MissingDependencyError, match="s3://") as err:
        labelprep.convert("s3://bucket/labels.csv")
    assert err.value.hint == 'install it with: pip install "labelprep[s3]"'
    with pytest.raises(MissingDependencyError) as err:
        labelprep.validate(["gs://bucket/labels.csv"])
    assert err.value.hint == 'install it with: pip install "labelprep[gcs]"'


def test_cli_errors_for_a_bad_scheme_and_a_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = CliRunner().invoke(main, ["convert", "nosuch://b/labels.csv", "-o", str(tmp_path / "x.parquet")])
    assert res.exit_code == 1
    assert res.output.startswith("Error: nosuch://b/labels.csv: unknown URL scheme 'nosuch'")
    assert "Traceback" not in res.output
    monkeypatch.setitem(sys.modules, "s3fs", None)
    src = make_dataset(tmp_path)
    res = CliRunner().invoke(main, ["convert", str(src), "-o", "s3://bucket/out.parquet"])
    assert res.exit_code == 1
    assert 'pip install "labelprep[s3]"' in res.output
    assert not (tmp_path / "out.parquet").exists()
