"""Tables of run-length-encoded masks (Kaggle's Understanding Clouds, Severstal): a class is present in an image
when its mask is not empty.

The table has an ``EncodedPixels`` column and says which image and class each row is about, either in one
fused column (``Image_Label``: ``0011165.jpg_Fish``, split at the last underscore before which an image file
name ends) or in an image column and a class column (``ImageId``, ``ClassId``). A row whose mask is blank (or
``-1``) says the class is absent from the image: a listed image whose rows are all blank has no label. The
vocabulary is every class the table names, sorted.
"""

from __future__ import annotations

import re

import numpy as np

from labelprep.errors import InputError
from labelprep.readers.base import ABSENT, POSITIVE, Annotations, ReadOptions
from labelprep.readers.csvtext import PATH_COLUMNS, Table, find_column, norm_name

__all__ = ["is_mask_table", "read_mask_table"]

_FUSED = re.compile(r"^(?P<image>.+\.(?:jpe?g|png|tiff?|bmp|webp))_(?P<label>[^_]+)$", re.IGNORECASE)
_CLASS_COLUMNS = ("classid", "class", "label", "category", "categoryid", "classname")


def _mask_column(table: Table) -> str | None:
    return next((c for c in table.columns if norm_name(c) == "encodedpixels"), None)


def _fused_column(table: Table, mask: str) -> str | None:
    for c in table.columns:
        if c == mask:
            continue
        cells = table.column(c).slice(0, 200).to_pylist()  # a sample, without converting the whole column
        if cells and all(isinstance(v, str) and _FUSED.match(v) for v in cells):
            return c
    return None


def is_mask_table(table: Table) -> bool:
    """An ``EncodedPixels`` column beside a fused image_class column or an image column and a class column."""
    mask = _mask_column(table)
    if mask is None:
        return False
    if _fused_column(table, mask) is not None:
        return True
    return any(norm_name(c) in _CLASS_COLUMNS for c in table.columns)


def read_mask_table(table: Table, opts: ReadOptions) -> Annotations:
    """The image-level labels of a mask table (see the module docstring)."""
    mask = _mask_column(table)
    assert mask is not None
    fused = _fused_column(table, mask)
    if fused is not None:
        parts = [_FUSED.match(v) for v in table.strings(fused).tolist()]
        images = [m["image"] for m in parts if m is not None]
        classes = [m["label"] for m in parts if m is not None]
        how = f"image and class from {fused!r} (split at the last underscore)"
    else:
        class_col = next(c for c in table.columns if norm_name(c) in _CLASS_COLUMNS)
        path_col = find_column(table, opts.path_col, PATH_COLUMNS, role="path", option="--path-col",
                               exclude=(mask, class_col))  # fmt: skip
        assert path_col is not None
        images, classes = table.strings(path_col).tolist(), table.strings(class_col).tolist()
        how = f"images from {path_col!r}, classes from {class_col!r}"
    pixels = table.strings(mask).tolist()
    lines = table.lines()
    index: dict[str, int] = {}
    paths: list[str] = []
    first_line: list[int] = []
    rows, codes, values = [], [], []
    names = sorted({c.strip() for c in classes if c.strip()})
    code_of = {n: i for i, n in enumerate(names)}
    for i, (img, cls, rle) in enumerate(zip(images, classes, pixels, strict=True)):
        if not cls.strip():
            raise InputError(f"row for image {img!r} names no class", file=table.source, line=int(lines[i]))
        r = index.setdefault(img, len(paths))
        if r == len(paths):
            paths.append(img)
            first_line.append(int(lines[i]))
        rows.append(r)
        codes.append(code_of[cls.strip()])
        values.append(ABSENT if rle.strip() in ("", "-1") else POSITIVE)
    ann = Annotations(source=table.source, format="masks", paths=np.array(paths, dtype=object),
                      lines=np.array(first_line, dtype=np.int64), row=np.array(rows, dtype=np.int64),
                      code=np.array(codes, dtype=np.int64), names=names, value=np.array(values, dtype=np.int8),
                      declared=names, pair_lines=np.asarray(lines, dtype=np.int64))  # fmt: skip
    ann.one_row_per_label = True
    ann.rows_read = table.n_rows
    ann.notes = [f"mask table: {how}; a class is present where {mask!r} holds a mask, absent where it is blank"]
    return ann
