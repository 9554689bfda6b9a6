"""Building blocks for tests that write datasets as other tools write them: files byte for byte, tiny images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

import labelprep


def write(path: Path, text: str) -> Path:
    """Write ``text`` exactly (no newline translation), making the folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def write_json(path: Path, data: Any, *, lines: bool = False) -> Path:
    if lines:
        return write(path, "".join(json.dumps(r) + "\n" for r in data))
    return write(path, json.dumps(data, indent=2))


def image(path: Path, shade: int = 0, size: tuple[int, int] = (4, 4), mode: str = "RGB") -> Path:
    """A small image (format from the suffix); different shades give different bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour: Any = shade if mode in ("L", "P") else (shade, (shade * 7) % 256, (shade * 13) % 256)
    Image.new(mode, size, colour).save(path)
    return path


def labels_of(conv: labelprep.Conversion, value: int = 1) -> dict[str, list[str]]:
    """{path: sorted labels whose cell is ``value``} of a conversion, every row included."""
    vocab = list(conv.vocabulary)
    out = {}
    for _, row in conv.frame.iterrows():
        out[row["path"]] = sorted(lab for lab in vocab if int(row[lab]) == value)
    return out


def splits_of(conv: labelprep.Conversion) -> dict[str, str]:
    return dict(zip(conv.frame["path"], conv.frame["split"], strict=True))


def resolved(conv: labelprep.Conversion) -> set[Path]:
    """Every frame path joined to the images root (to check the images are where the frame says)."""
    return {Path(conv.images_root) / p for p in conv.frame["path"]}


def labels_under(conv: labelprep.Conversion, base: Path, value: int = 1) -> dict[str, list[str]]:
    """{image path relative to ``base``, as the frame resolves it: sorted labels} (whatever the images root)."""
    root = Path(conv.images_root).resolve()
    return {(root / p).resolve().relative_to(base.resolve()).as_posix(): labs
            for p, labs in labels_of(conv, value).items()}  # fmt: skip


def roboflow_splits(root: Path) -> list[Path]:
    """Roboflow's multi-label CSV export: <split>/_classes.csv beside the images, header cells with spaces."""
    sources = []
    for k, split in enumerate(("train", "valid", "test")):
        (root / split).mkdir(parents=True)
        rows = ["filename, dog, cat"]
        for i in range(3):
            name = f"{split}_{i}.jpg"
            Image.new("RGB", (8, 8), (40 * i, 90 * k, 7 * i + k)).save(root / split / name)
            rows.append(f"{name},{i % 2},1")
        (root / split / "_classes.csv").write_text("\n".join(rows) + "\n")
        sources.append(root / split / "_classes.csv")
    return sources
