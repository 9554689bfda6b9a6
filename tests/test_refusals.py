"""The guard on refusals: following a hint never loses a row.

For every refusal whose message names options (``--format list``, a whole ``labelprep convert ...`` command),
running convert with exactly those options either succeeds with every input row accounted for (rows read =
images + merged + left out, as the summary prints them) or refuses again; never exit 0 with a row gone.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from _build import image, write, write_json
from click.testing import CliRunner

from labelprep.cli import main


def loose_images(root: Path) -> Path:
    image(root / "a.jpg", 1)
    image(root / "b.jpg", 2)
    return root


def one_folder(root: Path) -> Path:
    image(root / "photos" / "a.jpg", 1)
    image(root / "photos" / "b.jpg", 2)
    return root


def structural(root: Path) -> Path:
    image(root / "images" / "a.jpg", 1)
    image(root / "cat" / "b.jpg", 2)
    return root


def json_beside(root: Path) -> Path:
    image(root / "cat" / "a.jpg", 1)
    image(root / "dog" / "b.jpg", 2)
    write_json(root / "cat" / "a.json", {"note": "x"})
    return root


def headerless_named(root: Path) -> Path:
    return write(root / "list.txt", "1.jpg dog\n2.jpg cat dog\n")


def two_forms(root: Path) -> Path:
    write_json(root / "coco.json", {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [],
                                    "categories": [{"id": 1, "name": "cat"}]})  # fmt: skip
    write_json(root / "labels.json", {"classes": ["cat"], "labels": {"a": 0}})  # FiftyOne
    write(root / "b.xml", "<annotation><filename>b.jpg</filename><object><name>dog</name></object></annotation>")
    image(root / "a.jpg", 1)
    image(root / "b.jpg", 2)
    return root


def unnamed_splits(root: Path) -> list[Path]:
    return [write_json(root / "a.json", {"a.jpg": ["cat"]}), write_json(root / "b.json", {"b.jpg": ["dog"]})]


def wide_without_labels(root: Path) -> Path:
    return write(root / "images.csv", "ImageID,Rotation\na,0\nb,0\n")


def sidecar_and_table(root: Path) -> Path:
    image(root / "a.jpg", 1)
    write(root / "a.txt", "cat, dog\n")
    image(root / "b.jpg", 2)
    write(root / "b.txt", "dog\n")
    write(root / "labels.csv", "image,labels\na.jpg,cat\n")
    return root


def nested_folders(root: Path) -> Path:
    image(root / "dog" / "a.jpg", 1)
    image(root / "dog" / "puppy" / "b.jpg", 2)
    image(root / "cat" / "c.jpg", 3)
    return root


def multi_hot_list(root: Path) -> Path:
    return write(root / "list.txt", "a.jpg 0 1 1\nb.jpg 1 0 0\n")


SCENARIOS: dict[str, Callable[[Path], Path | list[Path]]] = {
    "loose-images": loose_images,
    "one-folder": one_folder,
    "structural-folder": structural,
    "json-beside-images": json_beside,
    "headerless-named-column": headerless_named,
    "two-forms": two_forms,
    "unnamed-splits": unnamed_splits,
    "wide-without-labels": wide_without_labels,
    "sidecar-and-table": sidecar_and_table,
    "multi-hot-list": multi_hot_list,
    "nested-folders": nested_folders,
}
EXTRA_ARGS = {"headerless-named-column": ["--path-col", "1.jpg", "--labels-col", "dog"]}
# refusals whose message names options to run (the others explain what to fix in the data)
HINTED = {"one-folder", "structural-folder", "json-beside-images", "headerless-named-column", "two-forms",
          "unnamed-splits", "sidecar-and-table", "nested-folders"}


def _suggested(message: str, sources: list[str]) -> list[list[str]]:
    """The option sets a refusal names: each ``labelprep convert ...`` command it spells out (sources, options
    and all, less -o), and each option it names on its own (``--format list``) added to the same sources."""
    out: list[list[str]] = []
    for cmd in re.findall(r"labelprep convert ([^;()]+)", message):
        words = shlex.split(cmd)
        args: list[str] = []
        skip = False
        for w in words:
            if skip:
                skip = False
                continue
            if w == "-o":
                skip = True
                continue
            args.append(w)
        out.append(args)
    for opt, value in re.findall(r"(--format|--sep|--uncertain|--nested-folders) ([a-z-]+)", message):
        out.append([*sources, opt, value])
    named = re.findall(r"(?:^|\s)(\w+)=(\S+?)(?=[\s)]|$)", message)
    if named:  # NAME=PATH arguments: the placeholder SPLIT gets a name of its own
        out.append([f"{n if n != 'SPLIT' else f'split{k}'}={p}" for k, (n, p) in enumerate(named)])
    return out


def _accounted(output: str) -> bool:
    """rows read = images + merged duplicates + left out, from the printed summary."""
    num = {k: int(v.replace(",", "")) for k, v in re.findall(r"^\s*(rows read|images|duplicate rows merged): ([\d,]+)",
                                                               output, re.M)}  # fmt: skip
    left = re.search(r"^\s*left out: (.*)$", output, re.M)
    assert left is not None and {"rows read", "images", "duplicate rows merged"} <= num.keys(), output
    out = 0 if left.group(1).strip() == "nothing" else sum(int(n.replace(",", "")) for n in
                                                            re.findall(r"(?:^|; )([\d,]+) ", left.group(1)))  # fmt: skip
    return num["rows read"] == num["images"] + num["duplicate rows merged"] + out


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_following_a_refusal_hint_never_loses_a_row(tmp_path: Path, name: str) -> None:
    built = SCENARIOS[name](tmp_path / "in")
    sources = [str(p) for p in (built if isinstance(built, list) else [built])]
    first = CliRunner().invoke(main, ["convert", *sources, *EXTRA_ARGS.get(name, []), "-o", str(tmp_path / "o.parquet")])
    assert first.exit_code == 1 and first.output.startswith("Error: "), first.output
    assert "Traceback" not in first.output and not (tmp_path / "o.parquet").exists()
    assert re.search(r"\(.+\)$", first.output.strip()), f"the refusal gives no hint: {first.output}"
    suggestions = _suggested(first.output, sources)
    assert bool(suggestions) == (name in HINTED), (suggestions, first.output)
    for k, args in enumerate(suggestions):
        out = tmp_path / f"o{k}.parquet"
        again = CliRunner().invoke(main, ["convert", *args, "-o", str(out)])
        assert again.exit_code in (0, 1), (args, again.output)
        assert "Traceback" not in again.output
        if again.exit_code == 0:
            assert _accounted(again.output), (args, again.output)
        else:
            assert again.output.startswith("Error: ") and not out.exists()
