"""Writing an export: gather facts about the examples, plan purely, write the shards, then the manifest.

The export folder's bookkeeping: a state file (spec.STATE_NAME) is written
before the first shard, naming every planned shard and the plan's fingerprint,
and rewritten (atomically) as each shard is finished with that shard's SHA-256.
``resume`` keeps the finished shards whose bytes still match when the plan is
unchanged; everything else is written again. The manifest is written last and
the state file then removed. Only files labelprep wrote (listed in a previous
manifest or state file, or its own temporary files) are ever deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelprep.atomic import atomic_write
from labelprep.errors import EngineError, InputError, OutputError
from labelprep.executor import Executor, LocalExecutor, WorkerLost
from labelprep.extras import require_tensorflow
from labelprep.labelstats import LabelStats
from labelprep.multihot import label_pairs, value_counts
from labelprep.progress import ThroughputProgress
from labelprep.report import Report
from labelprep.shards.images import ImageSettings
from labelprep.shards.manifest import Manifest, ShardInfo, SkippedRow, SplitInfo
from labelprep.shards.plan import (
    RECORD_OVERHEAD,
    ExportPlan,
    PlanItem,
    format_bytes,
    format_rate,
    format_seconds,
    plan_export,
)
from labelprep.shards.spec import MANIFEST_NAME, STATE_NAME
from labelprep.shards.writer import (
    ShardResult,
    ShardTask,
    file_sha256,
    is_disk_full,
    write_shard,
)
from labelprep.storage import is_remote, is_url
from labelprep.vocabulary import Vocabulary

__all__ = ["ExportSettings", "ExportSplit", "frame_label_indices", "split_stats", "write_export"]

_STATE_VERSION = 1


@dataclass
class ExportSplit:
    """One split to export: its rows (``path`` and the vocabulary's label columns) and its images root."""

    name: str
    frame: pd.DataFrame
    root: Path | str  # a remote URL root stays a string


@dataclass(frozen=True)
class ExportSettings:
    name: str
    shard_size: int | None = None
    num_shards: int | None = None
    seed: int = 0
    image: ImageSettings = field(default_factory=ImageSettings)
    workers: int = 1
    resume: bool = False
    overwrite: bool = False
    progress: bool = False
    skip_invalid: bool = False  # leave out images that cannot be read or prepared while writing (manifest.skipped)
    engine: Executor | None = None  # where the shards are written (one task a shard); None: LocalExecutor(workers)


def frame_label_indices(frame: pd.DataFrame, labels: list[str]) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Per row of a frame (dense or sparse labels): the indices of its 1 cells and of its -1 cells."""
    rows, cols, vals = label_pairs(frame, labels)
    out = []
    for value in (1, -1):
        sel = vals == value
        bounds = np.searchsorted(rows[sel], np.arange(len(frame) + 1))
        cl = cols[sel].tolist()
        out.append([tuple(cl[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())])
    return out[0], out[1]


def split_stats(name: str, frame: pd.DataFrame, vocab: Vocabulary, shards: list[ShardInfo]) -> SplitInfo:
    """Counts of one split: positives, unknown cells and pos_weight (negatives / positives) per label."""
    n = len(frame)
    pos = value_counts(frame, list(vocab), 1).tolist() if n else [0] * len(vocab)
    unk = value_counts(frame, list(vocab), -1).tolist() if n else [0] * len(vocab)
    weight = {lab: LabelStats(lab, p, n - p - u, u).pos_weight for lab, p, u in zip(vocab, pos, unk)}
    return SplitInfo(name, n, dict(zip(vocab, map(int, pos))), weight, dict(zip(vocab, map(int, unk))), shards)


# -- the export folder -----------------------------------------------------------------------


class _State:
    """The state file: plan fingerprint, planned shards, finished shards; rewritten atomically."""

    def __init__(self, out_dir: Path, plan: str, planned: list[str], stale: list[str]) -> None:
        self.path = out_dir / STATE_NAME
        self.data: dict[str, Any] = {"format_version": _STATE_VERSION, "plan": plan, "planned": planned,
                                     "stale": stale, "finished": {}}  # fmt: skip

    def finish(self, result: ShardResult) -> None:
        self.data["finished"][result.file] = {k: v for k, v in asdict(result).items() if k != "file"}
        self.data["finished"] = dict(sorted(self.data["finished"].items()))
        self.save()

    def save(self) -> None:
        text = json.dumps(self.data, indent=1) + "\n"
        atomic_write(self.path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _prepare_out_dir(out_dir: Path, plan: ExportPlan, fingerprint: str, st: ExportSettings,
                     notes: list[str]) -> tuple[_State, dict[str, ShardResult]]:  # fmt: skip
    """Check what OUT_DIR holds; return the new state and the finished shards that can be kept."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("the output is a file, not a folder", file=str(out_dir), hint="choose a folder for -o")
    manifest_file, state_file = out_dir / MANIFEST_NAME, out_dir / STATE_NAME
    old_manifest = _read_json(manifest_file) if manifest_file.exists() else None
    old_state = _read_json(state_file) if state_file.exists() else None
    if (manifest_file.exists() or state_file.exists()) and not (st.resume or st.overwrite):
        what = "an unfinished export" if state_file.exists() else "a previous export"
        raise InputError(f"the folder holds {what} ({(state_file if state_file.exists() else manifest_file).name})",
                         file=str(out_dir),
                         hint="pass --resume to finish an interrupted export, --overwrite to replace it, or "
                              "choose another folder")  # fmt: skip
    owned: set[str] = set()  # files an earlier labelprep export wrote here
    if old_manifest is not None:
        for split in (old_manifest.get("splits") or {}).values():
            owned.update(str(s.get("file")) for s in split.get("shards", []) if isinstance(s, dict))
    if old_state is not None:
        owned.update(map(str, old_state.get("planned", [])))
        owned.update(map(str, old_state.get("stale", [])))
    owned = {f for f in owned if f and Path(f).name == f}  # plain names in OUT_DIR only
    planned = [s.file for s in plan.shards]
    # A file named like a planned shard that no earlier labelprep export wrote is the user's: never replaced silently.
    foreign = [f for f in planned if f not in owned and os.path.lexists(out_dir / f)]
    if foreign and not st.overwrite:
        shown = ", ".join(foreign[:3]) + (f" ... ({len(foreign)} in all)" if len(foreign) > 3 else "")
        raise InputError(f"the folder holds {len(foreign)} file(s) named like shards this export would write, which "
                         f"no labelprep export wrote: {shown}", file=str(out_dir),
                         hint="move them away or choose another folder; --overwrite replaces them")  # fmt: skip
    keep: dict[str, ShardResult] = {}
    if st.resume and old_state is not None and old_state.get("plan") == fingerprint:
        for file, rec in (old_state.get("finished") or {}).items():
            p = out_dir / file
            try:
                ok = file in planned and p.stat().st_size == rec["bytes"] and file_sha256(p) == rec["sha256"]
            except (OSError, KeyError, TypeError):
                ok = False
            if ok:
                rec = {**rec, "skipped": tuple(tuple(x) for x in rec.get("skipped", ()))}
                keep[file] = ShardResult(file, **rec)
        notes.append(f"resume: kept {len(keep)} finished shard(s) of {len(planned)}")
    elif st.resume and (old_state is not None or old_manifest is not None):
        notes.append("resume: the earlier export was planned from other input or settings; writing every shard")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in {*planned, *owned, MANIFEST_NAME, STATE_NAME}:
        for tmp in out_dir.glob(f".{_glob_escape(name)}.*.tmp"):  # our own temporary files, left by a kill
            tmp.unlink(missing_ok=True)
    state = _State(out_dir, fingerprint, planned, sorted(owned - set(planned)))
    for result in keep.values():
        state.data["finished"][result.file] = {k: v for k, v in asdict(result).items() if k != "file"}
    state.data["finished"] = dict(sorted(state.data["finished"].items()))
    state.save()
    return state, keep


def _disk_full(out_dir: Path, need: int, left: int, finished: int) -> OutputError:
    """The error a full disk ends an export with: where, how much is free, how much more is needed."""
    try:
        free = shutil.disk_usage(out_dir).free
    except OSError:
        free = 0
    return OutputError(
        f"the disk is full: {_mb(free)} free in the export folder, where the {left} shard(s) not yet written need "
        f"about {_mb(need)}", file=str(out_dir),
        hint=f"free at least {_mb(max(need - free, 0) + (1 << 20))} there (or export to a folder on a larger disk), "
             f"then run the same command with --resume: the {finished} finished shard(s) are kept",
    )  # fmt: skip


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _finished_export(out_dir: Path, plan: ExportPlan, columns: dict[str, Any], expected: dict[str, Any],
                     image: dict[str, Any], newest_image_ns: int) -> Manifest | None:  # fmt: skip
    """The manifest of a finished export of exactly this plan in ``out_dir``, or None (then resume writes).

    Finished: a manifest and no state file. Exactly this plan: the same name, version, vocabulary, sharding,
    source, image settings and rows left out, the same shards per split, each holding the planned examples
    (less those left out while writing), every shard's size and SHA-256 still the manifest's, and no image
    changed since the manifest was written.
    """
    manifest_file = out_dir / MANIFEST_NAME
    if (out_dir / STATE_NAME).exists() or not manifest_file.is_file():
        return None
    old = _read_json(manifest_file)
    try:
        if old is None or manifest_file.stat().st_mtime_ns < newest_image_ns:
            return None
        if any(old.get(k) != v for k, v in expected.items() if k != "skipped"):
            return None
        if {k: old["image"].get(k) for k in image} != image:
            return None
        early = expected["skipped"]
        if old["skipped"][: len(early)] != early:
            return None
        late = {(r["split"], r["path"]) for r in old["skipped"][len(early) :]}
        if list(old["splits"]) != list(dict.fromkeys(s.split for s in plan.shards)):
            return None
        for split, info in old["splits"].items():
            planned = plan.for_split(split)
            if [x["file"] for x in info["shards"]] != [s.file for s in planned]:
                return None
            paths = columns[split][0]
            for s, x in zip(planned, info["shards"], strict=True):
                if x["examples"] != sum(1 for i in s.items if (split, paths[i]) not in late):
                    return None
                shard = out_dir / s.file
                if shard.stat().st_size != x["bytes"] or file_sha256(shard) != x["sha256"]:
                    return None
        return Manifest.from_dict(old, out_dir=out_dir, source=str(manifest_file))
    except (OSError, KeyError, TypeError, ValueError, AttributeError, InputError):
        return None


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


# -- writing shards ------------------------------------------------------------------------------

# Below this many estimated bytes to write, shards are written in this process: starting worker processes
# costs more than it saves (measured: 45 MB in 3 shards took 0.31 s inline and 0.55 s with 2 workers).
_INLINE_BELOW_BYTES = 256 * 1024**2


def _write_all(executor: Executor, tasks: list[ShardTask], done: Callable[[ShardResult], None], *,
               progress: bool, small: bool) -> None:  # fmt: skip
    """Write each shard as one task on ``executor``; ``done`` each result here, as it arrives."""
    if not tasks:
        return
    if executor.distributed:
        # Workers do not share this process's working folder: every path leaves as an absolute path; a URL
        # root (s3://...) is read by the workers through fsspec.
        tasks = [replace(t, out_dir=os.path.abspath(t.out_dir), root=t.root if is_url(t.root) else os.path.abspath(t.root))
                 for t in tasks]  # fmt: skip
    out_dirs = list(dict.fromkeys(t.out_dir for t in tasks))
    for d in out_dirs:
        executor.require_visible(d, "the export folder")
    bar = ThroughputProgress(sum(len(t.examples) for t in tasks), label="writing shards", enabled=progress)
    totals = [0, 0]

    def finished(_: int, result: ShardResult) -> None:
        done(result)
        totals[0] += result.examples
        totals[1] += result.bytes
        bar.update(*totals)

    try:
        executor.run(write_shard, tasks, finished, name="shard", labels=[t.file for t in tasks],
                     what=lambda i: f"writing shard {tasks[i].file}", small=small,
                     progress=(lambda running: bar.update(running[0], running[1])) if progress else None)  # fmt: skip
    finally:
        bar.close()
    # A worker that died mid-shard leaves its temporary file; the shard itself was written again elsewhere.
    files = {t.file for t in tasks}
    for d in out_dirs:
        for entry in os.scandir(d):
            stem, _, _ = entry.name[1:-4].rpartition(".")
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and stem in files:
                Path(entry.path).unlink(missing_ok=True)


# -- the whole export ----------------------------------------------------------------------------


def _remote_stats(root: str, paths: list[str]) -> list[tuple[int, int]]:
    """(size, mtime) of each image under a remote root, from one listing of the tree."""
    from labelprep.storage import join, list_files, mtime_ns

    files = list_files(root)
    out = []
    for p in paths:
        info = files.get(p)
        if info is None:
            raise InputError("cannot read the image: no such file", file=join(root, p),
                             hint="it changed since validation; run the export again")  # fmt: skip
        out.append((int(info.get("size") or 0), mtime_ns(info)))
    return out


def _stat(root: Path | str, path: str) -> tuple[int, int]:
    full = path if os.path.isabs(path) else os.path.join(root, path)
    try:
        st = os.stat(full)
    except OSError as exc:
        raise InputError(f"cannot read the image: {exc.strerror or exc}", file=full,
                         hint="it changed since validation; run the export again") from None  # fmt: skip
    return st.st_size, st.st_mtime_ns


@dataclass
class _Facts:
    """What the export needs of its examples, gathered once: per split the paths and label indices (what the
    tasks need) and the plan items; a hash of every file's size and mtime (for the fingerprint); the newest mtime
    (ns: a finished export older than it is stale); each split's images root. A million examples are held once."""

    columns: dict[str, tuple[list[str], list[tuple[int, ...]], list[tuple[int, ...]]]]
    items: dict[str, list[PlanItem]]
    files: str
    newest: int
    roots: dict[str, str]


def _gather(splits: Sequence[ExportSplit], labels: list[str]) -> _Facts:
    facts = _Facts({}, {}, "", 0, {})
    files = hashlib.sha256()
    for sp in splits:
        paths = [str(p) for p in sp.frame["path"].tolist()]
        pos, unk = frame_label_indices(sp.frame, labels)
        sizes = _remote_stats(str(sp.root), paths) if is_remote(sp.root) else [_stat(sp.root, p) for p in paths]
        facts.columns[sp.name] = (paths, pos, unk)
        facts.items[sp.name] = [PlanItem(p, size + len(p.encode()) + 10 * (len(a) + len(b)) + RECORD_OVERHEAD, a)
                                for p, (size, _), a, b in zip(paths, sizes, pos, unk)]  # fmt: skip
        for start in range(0, len(paths), 65536):
            files.update("".join(f"{sp.name}\t{p}\t{size}\t{mtime}\n" for p, (size, mtime) in
                                 zip(paths[start:start + 65536], sizes[start:start + 65536])).encode("utf-8"))  # fmt: skip
        facts.newest = max(facts.newest, max((mtime for _, mtime in sizes), default=0))
        del sizes
        facts.roots[sp.name] = str(sp.root)
    facts.files = files.hexdigest()
    return facts


def _write_explained(st: ExportSettings, tasks: list[ShardTask], done: Callable[[ShardResult], None], out_dir: Path,
                     plan: ExportPlan, items: dict[str, list[PlanItem]], results: dict[str, ShardResult], *,
                     remote: bool) -> None:  # fmt: skip
    """Write ``tasks`` on the export's executor; a worker that died or a full disk ends it with a clear error."""
    est = sum(items[s.split][i].size for s in plan.shards if s.file not in results for i in s.items)
    executor = st.engine if st.engine is not None else LocalExecutor(st.workers)
    try:
        _write_all(executor, tasks, done, progress=st.progress, small=remote or len(tasks) <= 1 or est < _INLINE_BELOW_BYTES)
    except WorkerLost as exc:
        if exc.index is not None:
            raise EngineError(f"shard {tasks[exc.index].file}: the {exc.worker}s writing it kept dying ({exc.cause})",
                              hint="finished shards are kept: look at the workers' logs (out of memory?), "
                              "then run the export again with --resume") from None  # fmt: skip
        raise OutputError("a worker process writing shards died (killed for using too much memory?)",
                          file=str(out_dir), hint=f"run the same command with --resume and fewer --workers (or "
                          f"--workers 1): the {len(results)} finished shard(s) are kept; --skip-invalid leaves out "
                          "images too big for memory") from None  # fmt: skip
    except (OSError, OutputError) as exc:
        if not (isinstance(exc, OutputError) or is_disk_full(exc)):
            raise
        left = [s for s in plan.shards if s.file not in results]
        need = sum(items[s.split][i].size for s in left for i in s.items)
        raise _disk_full(out_dir, need, len(left), len(results)) from None


def _split_infos(splits: Sequence[ExportSplit], plan: ExportPlan, results: dict[str, ShardResult],
                 vocab: Vocabulary) -> tuple[dict[str, SplitInfo], list[SkippedRow]]:  # fmt: skip
    """Each split's counts over what its shards hold, and the rows left out while writing (--skip-invalid:
    unreadable, or too big for memory)."""
    split_infos = {}
    late: list[SkippedRow] = []
    for sp in splits:
        done_here = [results[s.file] for s in plan.for_split(sp.name)]
        shards = [ShardInfo(r.file, r.examples, r.bytes, r.sha256) for r in done_here]
        gone = {path: (code, reason) for r in done_here for path, code, reason in r.skipped}
        frame = sp.frame[~sp.frame["path"].astype(str).isin(set(gone))].reset_index(drop=True) if gone else sp.frame
        late += [SkippedRow(path, sp.name, code, reason) for path, (code, reason) in sorted(gone.items())]
        split_infos[sp.name] = split_stats(sp.name, frame, vocab, shards)
    return split_infos, late


def write_export(
    splits: Sequence[ExportSplit],
    vocab: Vocabulary,
    out_dir: Path,
    st: ExportSettings,
    *,
    source: dict[str, Any],
    skipped: Sequence[SkippedRow] = (),
    report: Report | None = None,
    version: str = "",
) -> Manifest:
    """Plan and write the shards of ``splits`` into ``out_dir``, then its manifest; return the manifest."""
    require_tensorflow()  # before OUT_DIR is touched, and before any worker process is forked
    labels = list(vocab)
    facts = _gather(splits, labels)
    columns, items, roots = facts.columns, facts.items, facts.roots
    plan = plan_export(st.name, items, shard_size=st.shard_size, num_shards=st.num_shards, seed=st.seed)
    fingerprint = plan.fingerprint(items, image=st.image.to_dict(), vocabulary=vocab.sha256, source=source,
                                   files=facts.files, roots=roots, version=version)  # fmt: skip
    notes: list[str] = []
    sharding = {"seed": st.seed, "shard_size": st.shard_size if st.num_shards is None else None,
                "num_shards": st.num_shards}  # fmt: skip
    if st.resume:
        expected = {"name": st.name, "labelprep_version": version, "vocabulary": {"labels": labels,
                    "sha256": vocab.sha256}, "sharding": sharding, "source": source,
                    "skipped": [r.to_dict() for r in skipped]}  # fmt: skip
        finished = _finished_export(out_dir, plan, columns, expected, st.image.to_dict(), facts.newest)
        if finished is not None:
            finished.report = report
            finished.notes = [f"resume: the export is already complete ({finished.num_examples:,} examples in "
                              f"{len(plan.shards)} shard(s), each matching the manifest); nothing was written"]  # fmt: skip
            finished.unchanged = True
            return finished
    state, results = _prepare_out_dir(out_dir, plan, fingerprint, st, notes)

    def examples(split: str, idx: Sequence[int]) -> tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]:
        paths, pos, unk = columns[split]
        return tuple((paths[i], pos[i], unk[i]) for i in idx)

    tasks = [ShardTask(str(out_dir), s.file, roots[s.split], examples(s.split, s.items), st.image, st.skip_invalid)
             for s in plan.shards if s.file not in results]  # fmt: skip

    def done(result: ShardResult) -> None:
        results[result.file] = result
        state.finish(result)

    started = time.monotonic()
    # local worker processes cannot see a memory:// store, nor share a remote connection: remote images are read here
    remote = any(is_remote(sp.root) for sp in splits)
    _write_explained(st, tasks, done, out_dir, plan, items, results, remote=remote)
    elapsed = time.monotonic() - started
    split_infos, late = _split_infos(splits, plan, results, vocab)
    image = {**st.image.to_dict(), "passed_through": sum(r.passed_through for r in results.values()),
             "normalised": sum(r.normalised for r in results.values())}  # fmt: skip
    manifest = Manifest(
        name=st.name, vocabulary=vocab, splits=split_infos, image=image, source=source,
        sharding=sharding,
        skipped=[*skipped, *late], labelprep_version=version, out_dir=out_dir, report=report, notes=notes,
    )  # fmt: skip
    text = manifest.to_json()
    atomic_write(out_dir / MANIFEST_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    for stale in state.data["stale"]:
        (out_dir / stale).unlink(missing_ok=True)
    state.path.unlink(missing_ok=True)
    written = sum(r.bytes for r in results.values() if r.file in {t.file for t in tasks})
    rate = format_rate(written, elapsed) if tasks else None
    notes.append(f"wrote {len(tasks)} shard(s), {format_bytes(written)} in {format_seconds(elapsed)}"
                 + (f" ({rate})" if rate else ""))  # fmt: skip
    written_shards = [s for sp in manifest.splits.values() for s in sp.shards]
    n_examples, n_shards = sum(s.examples for s in written_shards), len(written_shards)
    if n_shards > 16 and n_examples < 8 * n_shards:  # --shard-size 10 (bytes) makes a file per image
        notes.append(f"{n_shards:,} shards of about {n_examples / n_shards:.1f} example(s) each: tiny shards slow "
                     "reading; --shard-size is in bytes (128MiB by default), --num-shards sets a count")  # fmt: skip
    return manifest
