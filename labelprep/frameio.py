"""Reading and writing frames with their vocabulary, atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from labelprep.errors import InputError, VocabularyError
from labelprep.vocabulary import Vocabulary

__all__ = ["FRAME_SUFFIXES", "METADATA_KEY", "atomic_write", "frame_images_root", "is_frame", "read_frame", "read_frame_meta", "vocab_path", "write_frame"]

FRAME_SUFFIXES = (".parquet", ".csv")
METADATA_KEY = b"labelprep"
FORMAT_VERSION = 1


def vocab_path(out: str | Path) -> Path:
    """Where the vocabulary of frame ``out`` lives: ``labels.parquet`` -> ``labels.vocab.json``."""
    return Path(out).with_suffix(".vocab.json")


def atomic_write(target: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``target``, then rename it into place."""
    target = Path(target)
    tmp = _stage(target, write)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stage(target: Path, write: Callable[[Path], object]) -> Path:
    """Write to a temporary file beside ``target`` and return its name (removed on failure)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_frame(frame: pd.DataFrame, vocab: Vocabulary, out: str | Path, *, meta: Mapping[str, Any] | None = None) -> list[Path]:
    """Write ``frame`` to ``.parquet`` or ``.csv`` and its vocabulary beside it; returns the files written."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FRAME_SUFFIXES:
        raise InputError(f"output must end in .parquet or .csv, not {suffix or 'nothing'!r}", file=str(out))
    payload = {"format_version": FORMAT_VERSION, "vocabulary": vocab.to_dict(), **(meta or {})}

    def write_parquet(tmp: Path) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        md = dict(table.schema.metadata or {})
        md[METADATA_KEY] = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        pq.write_table(table.replace_schema_metadata(md), tmp)

    def write_csv(tmp: Path) -> None:
        frame.to_csv(tmp, index=False, lineterminator="\n")

    # Both files are written under temporary names first and renamed only when both
    # succeeded, so a failure leaves any previous frame beside its own vocabulary.
    vp = vocab_path(out)
    staged: list[tuple[Path, Path]] = []
    try:
        for target, write in ((vp, lambda t: t.write_text(vocab.to_json(), encoding="utf-8")),
                              (out, write_parquet if suffix == ".parquet" else write_csv)):  # fmt: skip
            staged.append((_stage(target, write), target))
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    return [out, vp]


def is_frame(path: str | Path) -> bool:
    """True for a converted frame: ``.parquet``, or ``.csv`` with its ``.vocab.json`` beside it."""
    p = Path(path)
    return p.suffix.lower() == ".parquet" or (p.suffix.lower() == ".csv" and vocab_path(p).exists())


def frame_images_root(path: str | Path, images_root: str | os.PathLike[str] | None = None) -> Path:
    """The images root of a converted frame: as given, else as stored in its metadata, else its folder."""
    p = Path(path)
    if images_root is not None:
        return Path(images_root)
    rel = read_frame_meta(p).get("images_root")
    if rel is not None and (p.parent / rel).is_dir():
        return p.parent / rel
    return p.parent


def read_frame_meta(path: str | Path) -> dict[str, Any]:
    """The labelprep metadata stored in a Parquet frame (empty for CSV frames)."""
    p = Path(path)
    if p.suffix.lower() != ".parquet":
        return {}
    try:
        md = pq.read_schema(p).metadata or {}
    except (pa.ArrowInvalid, OSError):
        return {}
    raw = md.get(METADATA_KEY)
    return dict(json.loads(raw)) if raw else {}


def read_frame(path: str | Path, *, vocab: Vocabulary | None = None) -> tuple[pd.DataFrame, Vocabulary]:
    """Read a frame written by :func:`write_frame` with its vocabulary (from Parquet metadata or the sidecar)."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(p))
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        try:
            table = pq.read_table(p)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"not a readable Parquet file ({exc})", file=str(p)) from None
        md = (table.schema.metadata or {}).get(METADATA_KEY)
        if vocab is None and md is not None:
            vocab = Vocabulary.from_dict(json.loads(md)["vocabulary"], source=str(p))
        frame = table.to_pandas()
    elif suffix == ".csv":
        frame = None
    else:
        raise InputError(f"a frame is .parquet or .csv, not {suffix!r}", file=str(p))
    if vocab is None:
        vp = vocab_path(p)
        if not vp.exists():
            raise VocabularyError(
                "no vocabulary found for this frame", file=str(p),
                hint=f"expected {vp.name} beside it (written by labelprep convert), or pass --vocab",
            )  # fmt: skip
        vocab = Vocabulary.read(vp)
    if frame is None:
        dtypes: dict[str, Any] = {c: "int8" for c in vocab}
        frame = pd.read_csv(p, dtype={"path": "str", **dtypes}, keep_default_na=False, na_values=[])
    missing = [c for c in vocab if c not in frame.columns]
    if missing:
        raise VocabularyError(
            f"frame lacks the label column(s) {', '.join(map(repr, missing[:5]))} of its vocabulary",
            file=str(p), hint="the frame and its vocabulary file do not belong together",
        )  # fmt: skip
    return frame, vocab
