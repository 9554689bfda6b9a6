"""Verifying an export against its manifest: every shard present, whole, with the right bytes and records.

Records are numbered from 1 in messages (the first record of a shard is record 1); byte offsets count from 0.

Per shard: it exists; its size and SHA-256 are the manifest's; its TFRecord
framing holds (lengths, and both CRCs, checked by TensorFlow's reader); it has
as many records as the manifest says; each record is a tf.train.Example with
exactly spec.FEATURES, label indices within the vocabulary, and an image that
TensorFlow decodes to the stored height and width. Per split, the examples
total and each label's positives, unknown count and pos_weight are counted
from the records and compared with the manifest; a file named like a shard of
a listed split that the manifest leaves out is an error. Findings use
validate's Report, under the check group ``shards``.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path
from typing import Any

from labelprep.extras import require_tensorflow
from labelprep.progress import ThroughputProgress
from labelprep.report import Report
from labelprep.shards.manifest import Manifest, ShardInfo
from labelprep.shards.spec import FEATURES, MANIFEST_NAME, parse_shard_name

__all__ = ["verify_export"]

_HINT_REEXPORT = "export again (labelprep export ... --overwrite), or restore the file from a good copy"


def _framing(data: bytes) -> tuple[list[int], str | None]:
    """Record start offsets by the TFRecord length fields, and why the framing breaks (None when it holds)."""
    offsets: list[int] = []
    pos, n = 0, len(data)
    while pos < n:
        if pos + 12 > n:
            return offsets, f"ends {n - pos} byte(s) into the header of record {len(offsets) + 1} (byte {pos:,})"
        length = int.from_bytes(data[pos : pos + 8], "little")
        end = pos + 12 + length + 4
        if end > n:
            return offsets, (f"record {len(offsets) + 1} (byte {pos:,}) declares {length:,} bytes but the file ends "
                             f"{end - n:,} byte(s) short")  # fmt: skip
        offsets.append(pos)
        pos = end
    return offsets, None


def verify_export(out_dir: str | os.PathLike[str], *, progress: bool = False) -> Report:
    """Check every shard of the export in ``out_dir`` against its manifest; return a :class:`Report`."""
    manifest = Manifest.read(out_dir)
    tf = require_tensorflow("verify TFRecord shards")
    report = Report()
    report.checks = ["shards"]
    base = Path(out_dir)
    total = sum(s.examples for sp in manifest.splits.values() for s in sp.shards)
    bar = ThroughputProgress(total, label="verifying shards", enabled=progress)
    seen = [0, 0]
    try:
        for split, info in manifest.splits.items():
            tally = _Tally(len(manifest.vocabulary))
            for shard in info.shards:
                _verify_shard(tf, base, split, shard, manifest, report, bar, seen, tally)
            if tally.complete:
                _check_totals(split, info, manifest, tally, report, str(base / MANIFEST_NAME))
    finally:
        bar.close()
    listed = {s.file for sp in manifest.splits.values() for s in sp.shards}
    for p in sorted(base.iterdir()):
        parsed = parse_shard_name(p.name)
        if parsed is None or parsed[0] != manifest.name or p.name in listed:
            continue
        if parsed[1] in manifest.splits:  # a shard of a listed split left out of the manifest: examples lost
            report.add("shard-omitted", f"{p.name} is named like a shard of split {parsed[1]!r}, which the manifest "
                       f"lists without it: loaders would silently miss its examples", hint="export again (labelprep "
                       "export ... --overwrite), or delete the file if it is a leftover", source=str(p),
                       split=parsed[1])  # fmt: skip
        else:
            report.add("shard-unlisted", f"{p.name} looks like a shard of this export but the manifest does not "
                       "list it", hint="delete it, or export again if the manifest is the stale one",
                       source=str(p), split=parsed[1])  # fmt: skip
    report.stats = {"shards": len(listed), "images": seen[0], "splits": {k: v.examples for k, v in
                                                                          manifest.splits.items()}}  # fmt: skip
    report.sort()
    return report


class _Tally:
    """What the records of one split hold: examples, and per label index the positive and unknown counts."""

    def __init__(self, n_labels: int) -> None:
        self.examples = 0
        self.positive = [0] * n_labels
        self.unknown = [0] * n_labels
        self.complete = True  # every record of every shard was read


def _check_totals(split: str, info: Any, manifest: Manifest, tally: _Tally, report: Report, source: str) -> None:
    """The split's examples, positives, unknown and pos_weight in the manifest, against what the records hold."""
    problems: list[str] = []
    if info.examples != tally.examples:
        problems.append(f"examples {info.examples:,} where the shards hold {tally.examples:,}")
    labels = list(manifest.vocabulary)
    for key, counts in (("positives", tally.positive), ("unknown", tally.unknown)):
        stated = getattr(info, key)
        wrong = [f"{lab!r} {stated.get(lab)!r} (records: {n:,})" for lab, n in zip(labels, counts)
                 if stated.get(lab) != n]  # fmt: skip
        wrong += [f"{lab!r} (not in the vocabulary)" for lab in stated if lab not in manifest.vocabulary]
        if wrong:
            problems.append(f"{key} " + ", ".join(wrong[:5]) + (f" ... ({len(wrong)} labels)" if len(wrong) > 5 else ""))
    wrong = []
    for lab, p, u in zip(labels, tally.positive, tally.unknown):
        want = (tally.examples - p - u) / p if p else None
        got = info.pos_weight.get(lab)
        if (want is None) != (got is None) or (want is not None and not math.isclose(float(got), want, rel_tol=1e-9)):
            wrong.append(f"{lab!r} {got!r} (records: {want!r})")
    if wrong:
        problems.append("pos_weight " + ", ".join(wrong[:5]) + (f" ... ({len(wrong)} labels)" if len(wrong) > 5 else ""))
    if problems:
        report.add("shard-totals", f"split {split!r}: the manifest's totals differ from its records: "
                   + "; ".join(problems), hint="the manifest was edited: " + _HINT_REEXPORT, source=source,
                   split=split)  # fmt: skip


def _verify_shard(tf: Any, base: Path, split: str, shard: ShardInfo, manifest: Manifest, report: Report,
                  bar: Any, seen: list[int], tally: _Tally | None = None) -> None:  # fmt: skip
    tally = tally if tally is not None else _Tally(len(manifest.vocabulary))
    p = base / shard.file
    where: dict[str, Any] = {"source": str(p), "split": split}
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        tally.complete = False
        report.add("shard-missing", f"{shard.file} is listed in the manifest but missing",
                   hint=_HINT_REEXPORT, **where)  # fmt: skip
        return
    except OSError as exc:
        tally.complete = False
        report.add("shard-missing", f"{shard.file} cannot be read: {exc.strerror or exc}",
                   hint="check the file's permissions and the disk", **where)  # fmt: skip
        return
    digest = hashlib.sha256(data).hexdigest()
    intact = len(data) == shard.bytes and digest == shard.sha256
    if not intact:
        size = f"{len(data):,} bytes where the manifest says {shard.bytes:,}" if len(data) != shard.bytes else (
            "the same size as the manifest says but other bytes")  # fmt: skip
        report.add("shard-checksum", f"{shard.file} has changed: {size} (SHA-256 {digest[:12]}..., "
                   f"expected {shard.sha256[:12]}...)", hint=_HINT_REEXPORT, **where)  # fmt: skip
    offsets, broken = _framing(data)
    read = 0
    vocab_size = len(manifest.vocabulary)
    try:
        for raw in tf.data.TFRecordDataset(str(p)):
            _check_record(tf, bytes(raw.numpy()), read, offsets, shard, vocab_size, report, where, intact, tally)
            read += 1
            seen[0] += 1
            bar.update(seen[0], 0)
    except tf.errors.OpError as exc:
        tally.complete = False
        at = f"record {read + 1}" + (f" (byte {offsets[read]:,})" if read < len(offsets) else "")
        if broken is not None and len(data) < shard.bytes:
            report.add("shard-truncated", f"{shard.file} is cut short: {broken}; {read} record(s) before it are "
                       "whole", hint=_HINT_REEXPORT, **where)  # fmt: skip
        else:
            reason = re.sub(r"\s+", " ", getattr(exc, "message", "") or str(exc)).strip()
            report.add("shard-corrupt-record", f"{shard.file}: {at} is corrupt ({reason}); records after it were "
                       "not checked", hint=_HINT_REEXPORT, **where)  # fmt: skip
        return
    if read != shard.examples:
        report.add("shard-record-count", f"{shard.file} holds {read} record(s) where the manifest says "
                   f"{shard.examples}", hint=_HINT_REEXPORT, **where)  # fmt: skip


def _check_record(tf: Any, raw: bytes, index: int, offsets: list[int], shard: ShardInfo, vocab_size: int,
                  report: Report, where: dict[str, Any], intact: bool = False,
                  tally: _Tally | None = None) -> None:  # fmt: skip
    at = f"{shard.file} record {index + 1}" + (f" (byte {offsets[index]:,})" if index < len(offsets) else "")
    try:
        ex = tf.train.Example.FromString(raw)
    except Exception as exc:
        if tally is not None:
            tally.complete = False
        report.add("shard-corrupt-record", f"{at} is not a tf.train.Example: {exc}", hint=_HINT_REEXPORT, **where)
        return
    feats = ex.features.feature
    values: dict[str, list[Any]] = {}
    problems = []
    for key, (kind, shape, _) in FEATURES.items():
        if key not in feats:
            problems.append(f"lacks {key!r}")
            continue
        f = feats[key]
        if f.WhichOneof("kind") != f"{kind}_list":
            problems.append(f"{key!r} is {f.WhichOneof('kind')}, not {kind}_list")
            continue
        vals = list(f.bytes_list.value if kind == "bytes" else f.int64_list.value)
        if shape == "scalar" and len(vals) != 1:
            problems.append(f"{key!r} holds {len(vals)} values, not one")
            continue
        values[key] = vals
    extra = sorted(set(feats) - set(FEATURES))
    if extra:
        problems.append(f"has features outside the spec: {', '.join(map(repr, extra))}")
    path = values["image/path"][0].decode("utf-8", "replace") if "image/path" in values else None
    if problems:
        report.add("shard-bad-example", f"{at}: " + "; ".join(problems),
                   hint="the shard was not written by this labelprep; " + _HINT_REEXPORT, path=path, **where)  # fmt: skip
    if tally is not None:
        tally.examples += 1
        for key, counts in (("labels/positive", tally.positive), ("labels/unknown", tally.unknown)):
            for i in set(values.get(key, [])):
                if 0 <= i < vocab_size:
                    counts[i] += 1
    for key in ("labels/positive", "labels/unknown"):
        bad = [i for i in values.get(key, []) if not 0 <= i < vocab_size]
        if bad:
            report.add("shard-bad-label", f"{at}: {key} holds {', '.join(map(str, bad))}, outside the vocabulary "
                       f"of {vocab_size} label(s)", hint=_HINT_REEXPORT, path=path, **where)  # fmt: skip
    both = set(values.get("labels/positive", [])) & set(values.get("labels/unknown", []))
    if both:
        report.add("shard-bad-label", f"{at}: label(s) {sorted(both)} are both positive and unknown",
                   hint=_HINT_REEXPORT, path=path, **where)  # fmt: skip
    if "image/encoded" not in values:
        return
    fmt = values["image/format"][0] if "image/format" in values else b""
    try:
        img = tf.io.decode_image(values["image/encoded"][0], channels=3, expand_animations=False)
        decoded = (int(img.shape[0]), int(img.shape[1]))
    except tf.errors.OpError as exc:
        reason = re.sub(r"\s+", " ", getattr(exc, "message", "") or str(exc)).strip()
        reason = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", reason)  # TensorFlow's op name, not the cause
        # A shard whose SHA-256 matches holds what export stored: the source image itself is broken (export's
        # default header checks pass an image whose data is damaged but whose structure is whole).
        hint = ("the source image is damaged: replace it, or export again with --check-images full --skip-invalid "
                "(which leaves it out)") if intact else _HINT_REEXPORT  # fmt: skip
        report.add("shard-bad-image", f"{at}: the image of {path!r} does not decode ({reason})", hint=hint,
                   path=path, **where)  # fmt: skip
        return
    stored = (values.get("image/height", [None])[0], values.get("image/width", [None])[0])
    if decoded != stored or fmt not in (b"jpeg", b"png"):
        report.add("shard-bad-image", f"{at}: the image decodes to {decoded[0]} x {decoded[1]} (height x width) "
                   f"where the example says {stored[0]} x {stored[1]}, format {fmt.decode('utf-8', 'replace')!r}",
                   hint=_HINT_REEXPORT, path=path, **where)  # fmt: skip
