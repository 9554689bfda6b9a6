"""The Dask engine: image checks and shard writing as Dask tasks, on a cluster or on a LocalCluster started here.

``engine="local"`` (the default) runs work in this machine's process pool and
never imports Dask. ``engine="dask"`` connects a ``distributed.Client`` on
first use: to ``scheduler`` (``tcp://host:8786``), else to the
``DASK_SCHEDULER_ADDRESS`` environment variable, else to a ``LocalCluster`` of
one single-threaded process per core (or ``workers``) that is closed
afterwards. An existing ``distributed.Client`` may be passed as the engine.

What stays on the client: reading the sources, the image check cache (looked
up before tasks are submitted, filled as results arrive), the export plan, its
state file and the manifest. What runs as tasks: checking chunks of images (by
absolute path) and writing whole shards (under a temporary name, renamed when
complete). Workers must see the images and the export folder at the same
absolute paths as the client (a shared file system). The tasks are the same
functions the local engine runs, so both give the same findings and the same
bytes. A worker that dies mid-task has its task run again by Dask; a task that
kills its workers again and again ends the run with :class:`EngineError`
(image checks instead report the file that crashed the decoder).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from labelprep.checks.base import Issue
from labelprep.errors import EngineError, InputError, MissingDependencyError
from labelprep.storage import is_url

if TYPE_CHECKING:
    from labelprep.checks.images import ImageInfo, _Settings
    from labelprep.shards.writer import ShardResult, ShardTask

__all__ = ["ENGINES", "INSTALL_HINT", "SCHEDULER_ENV", "DaskEngine", "check_engine", "open_engine", "require_dask"]

ENGINES = ("local", "dask")
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
INSTALL_HINT = 'pip install "labelprep[dask]"'
# Images a task checks (a cap; at least 8 tasks a worker thread below it). Larger than the local engine's 32: a
# Dask task costs more to schedule, and 128 took 0.85x the time of 32 (4,000 224px JPEGs, 2 workers).
_CHUNK = 128


def require_dask() -> ModuleType:
    """Import ``distributed``, or raise :class:`MissingDependencyError` with the command that installs it."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(f"Dask is needed for engine 'dask' but cannot be imported ({exc})",
                                     hint=f"install it with: {INSTALL_HINT}") from None  # fmt: skip
    return distributed


def _is_client(engine: Any) -> bool:
    return all(hasattr(engine, a) for a in ("submit", "nthreads", "run", "cancel"))


def check_engine(engine: Any, scheduler: str | None) -> None:
    """Raise :class:`InputError` for an unknown engine, or a scheduler given to another engine than dask."""
    if isinstance(engine, DaskEngine) or (not isinstance(engine, str) and _is_client(engine)):
        if scheduler is not None:
            raise InputError("give a distributed.Client as the engine or a scheduler address, not both",
                             hint="drop scheduler; the client is already connected")  # fmt: skip
        return
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InputError(f"engine must be 'local', 'dask' or a distributed.Client, not {engine!r}",
                         hint="pass --engine dask to run on a Dask cluster")  # fmt: skip
    if scheduler is not None and engine != "dask":
        raise InputError(f"a scheduler address ({scheduler}) is used only by the dask engine",
                         hint="add --engine dask (engine='dask'), or drop --scheduler")  # fmt: skip
    if engine == "dask":
        try:
            found = importlib.util.find_spec("distributed") is not None
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
            found = False
        if not found:
            require_dask()  # raises with the install command


class DaskEngine:
    """A ``distributed.Client``, connected on first use (so work that needs no tasks starts no cluster).

    ``client`` given: used as it is and never closed here. Else ``scheduler``, or
    ``DASK_SCHEDULER_ADDRESS``, is connected to; with neither a ``LocalCluster``
    of ``workers`` single-threaded processes (default: one per core) is started,
    and :meth:`close` shuts it down.
    """

    def __init__(self, *, scheduler: str | None = None, client: Any = None, workers: int | None = None) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self._client = client
        self._owned = client is None
        self._cluster: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        distributed = require_dask()
        address = self.scheduler or os.environ.get(SCHEDULER_ENV) or None
        if address:
            where = "--scheduler" if self.scheduler else SCHEDULER_ENV
            try:
                return distributed.Client(address, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise EngineError(f"cannot connect to the Dask scheduler at {address!r} (from {where}): {exc}",
                                  hint="check the address (tcp://host:8786) and that the scheduler is running; "
                                  f"leave out --scheduler and {SCHEDULER_ENV} to start a local cluster") from None  # fmt: skip
        import dask

        n = self.workers or os.cpu_count() or 1
        # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc map and unmap the buffer of
        # every decoded image: full image checks took 1.4-1.6x as long (4,000 224px JPEGs, 2 workers).
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            self._cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                     dashboard_address=None, silence_logs=logging.ERROR)  # fmt: skip
        return distributed.Client(self._cluster, set_as_default=False)

    def run_image_checks(self, todo: Sequence[tuple[str, str]], settings: _Settings,
                         done: Callable[[ImageInfo], None]) -> None:  # fmt: skip
        """:func:`run_image_checks` on this engine (what ``check_images(engine=...)`` calls)."""
        run_image_checks(self, todo, settings, done)

    def write_shards(self, tasks: Sequence[ShardTask], done: Callable[[ShardResult], None], *,
                     progress: bool = False) -> None:  # fmt: skip
        """:func:`write_shards` on this engine (what the export calls)."""
        write_shards(self, tasks, done, progress=progress)

    def threads(self) -> int:
        """Worker threads the scheduler knows of now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def close(self) -> None:
        if not self._owned:
            return
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


@contextmanager
def open_engine(engine: Any = "local", scheduler: str | None = None, *,
                workers: int | None = None) -> Iterator[DaskEngine | None]:  # fmt: skip
    """None for the local engine; else a :class:`DaskEngine`, closed on exit when it started its cluster."""
    check_engine(engine, scheduler)
    if isinstance(engine, DaskEngine):
        yield engine
        return
    if isinstance(engine, str) and engine == "local":
        yield None
        return
    require_dask()  # before any source is read
    eng = DaskEngine(scheduler=scheduler, workers=workers) if isinstance(engine, str) else DaskEngine(client=engine)
    try:
        yield eng
    finally:
        eng.close()


def _key(kind: str, name: str = "") -> str:
    return f"labelprep-{kind}-{name + '-' if name else ''}{uuid.uuid4().hex[:12]}"


def _check_visible(client: Any, path: str, what: str) -> None:
    """Every worker must see ``path`` where the client does (a shared file system)."""
    seen = client.run(os.path.exists, path)
    blind = sorted(addr for addr, ok in seen.items() if not ok)
    if blind:
        raise EngineError(f"{what} {path} is not visible on Dask worker(s) {', '.join(blind)}",
                          hint="the workers must see the images and the export folder at the same absolute paths "
                          "as this machine (a shared file system), and have labelprep installed")  # fmt: skip


def _killed(distributed: ModuleType, exc: BaseException) -> bool:
    return isinstance(exc, distributed.KilledWorker)


# -- image checks ------------------------------------------------------------------------------


def run_image_checks(engine: DaskEngine, todo: Sequence[tuple[str, str]], settings: _Settings,
                     done: Callable[[ImageInfo], None]) -> None:  # fmt: skip
    """Check ``todo`` ((path as listed, absolute path) pairs) in chunks as Dask tasks; ``done`` each result."""
    from labelprep.checks.images import ImageInfo, _check_chunk

    if not todo:
        return
    distributed = require_dask()
    client = engine.client
    if os.path.exists(todo[0][1]):
        _check_visible(client, todo[0][1], "the image")
    size = max(1, min(_CHUNK, len(todo) // (engine.threads() * 8)))
    chunks = [list(todo[i : i + size]) for i in range(0, len(todo), size)]
    futures = [client.submit(_check_chunk, chunk, settings, key=_key("check-images", str(i)), pure=False)
               for i, chunk in enumerate(chunks)]  # fmt: skip
    crashed: list[tuple[str, str]] = []
    try:
        for fut in distributed.as_completed(futures, loop=client.loop):
            try:
                infos = fut.result()
            except Exception as exc:
                if not _killed(distributed, exc):
                    raise _lost("checking images", exc) from None
                crashed += chunks[futures.index(fut)]
                continue
            for info in infos:
                done(info)
        # A chunk whose workers kept dying: one file a task, to learn which file crashes the decoder.
        singles = {client.submit(_check_chunk, [job], settings, key=_key("check-image"), pure=False): job
                   for job in crashed}  # fmt: skip
        for fut in distributed.as_completed(list(singles), loop=client.loop):
            try:
                done(fut.result()[0])
            except Exception as exc:
                if not _killed(distributed, exc):
                    raise _lost("checking images", exc) from None
                p = singles[fut][0]
                done(ImageInfo(p, [Issue("corrupt-image", "crashed the image decoder (its Dask worker died)",
                                         "remove or replace the file; decoding it would crash the training job "
                                         "too")]))  # fmt: skip
    except BaseException:
        with suppress(Exception):  # the scheduler may be gone already
            client.cancel(futures)
        raise


def _lost(what: str, exc: BaseException) -> BaseException:
    from labelprep.errors import LabelprepError

    if isinstance(exc, LabelprepError):
        return exc
    return EngineError(f"the Dask engine failed while {what}: {type(exc).__name__}: {exc}",
                       hint="check the scheduler and the workers' logs; work already finished is kept (for an "
                       "export, run it again with --resume)")  # fmt: skip


# -- shards ------------------------------------------------------------------------------------


def write_shards(engine: DaskEngine, tasks: Sequence[ShardTask], done: Callable[[ShardResult], None], *,
                 progress: bool = False) -> None:  # fmt: skip
    """Write each shard as one Dask task; ``done`` each result on the client as it arrives."""
    from labelprep.shards.export import _ExportProgress, _glob_escape
    from labelprep.shards.writer import write_shard

    if not tasks:
        return
    distributed = require_dask()
    client = engine.client
    # Workers do not share this process's working folder: every path leaves as an absolute path.
    remote = [replace(t, out_dir=os.path.abspath(t.out_dir), root=t.root if is_url(t.root) else os.path.abspath(t.root))
              for t in tasks]  # a URL root (s3://...) is read by the workers through fsspec
    out_dirs = {t.out_dir for t in remote}
    for d in out_dirs:
        _check_visible(client, d, "the export folder")
    bar = _ExportProgress(sum(len(t.examples) for t in tasks), enabled=progress)
    futures = {client.submit(write_shard, t, key=_key("shard", t.file), pure=False): t for t in remote}
    totals = [0, 0]
    try:
        for fut in distributed.as_completed(list(futures), loop=client.loop):
            try:
                result = fut.result()
            except Exception as exc:
                if _killed(distributed, exc):
                    raise EngineError(f"shard {futures[fut].file}: the Dask workers writing it kept dying ({exc})",
                                      hint="finished shards are kept: look at the workers' logs (out of memory?), "
                                      "then run the export again with --resume") from None  # fmt: skip
                raise _lost(f"writing shard {futures[fut].file}", exc) from None
            done(result)
            totals[0] += result.examples
            totals[1] += result.bytes
            bar.update(*totals)
    except BaseException:
        with suppress(Exception):  # the scheduler may be gone already
            client.cancel(list(futures))
        raise
    finally:
        bar.close()
    # A worker that died mid-shard leaves its temporary file; the shard itself was written again elsewhere.
    for d in out_dirs:
        for t in remote:
            for tmp in Path(d).glob(f".{_glob_escape(t.file)}.*.tmp"):
                tmp.unlink(missing_ok=True)


# -- annotation blocks -------------------------------------------------------------------------


def read_blocks(engine: DaskEngine, jobs: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Read the later blocks of a large table (``readers.read_block_annotations`` arguments) as Dask tasks.

    Returns the annotations in job order (file order), so that the result equals a local read. An error in
    a block (a ragged row, bad bytes) is raised as the block's own error, naming the file and line.
    """
    from labelprep.readers import read_block_annotations

    client = engine.client
    _check_visible(client, str(jobs[0][0]), "the annotation file")
    futures = [client.submit(read_block_annotations, *job, key=_key("read-block", str(i)), pure=False)
               for i, job in enumerate(jobs)]  # fmt: skip
    try:
        return list(client.gather(futures))
    except Exception as exc:
        with suppress(Exception):
            client.cancel(futures)
        raise _lost("reading the annotation file", exc) from None


def validate_on_dask(engine: DaskEngine, schema: Any, frame: Any) -> list[str]:
    """pandera validates ``frame`` as a Dask DataFrame (one partition a worker thread) on the cluster.

    Returns one sentence per failure (empty when valid). pandera checks a Dask frame partition by
    partition, so ``unique`` holds within a partition only: uniqueness over the whole frame is checked
    here, on the client.
    """
    import dask.dataframe as dd
    import pandera.pandas as pa

    from labelprep.schemas import describe_failures

    parts = max(1, min(engine.threads(), len(frame)))
    failures: list[str] = []
    try:
        checked = schema.validate(dd.from_pandas(frame, npartitions=parts), lazy=True)
        engine.client.compute(checked).result()
    except pa.errors.SchemaErrors as exc:
        # from a worker, pandera's errors arrive pickled: their failure cases as text (JSON)
        cases = exc.failure_cases
        failures += describe_failures(cases) if hasattr(cases, "to_dict") else _pandera_errors(str(exc))
    except pa.errors.SchemaError as exc:
        failures.append(str(exc).splitlines()[0])
    for name, col in schema.columns.items():
        if col.unique and name in frame.columns:
            dup = frame[name].duplicated()
            if dup.any():
                failures.append(f"column {name!r} fails field_uniqueness (value {frame.loc[dup, name].iloc[0]!r})")
    return failures


def _pandera_errors(text: str) -> list[str]:
    """The "error" sentences of a pandera SchemaErrors message (JSON), or its first line."""
    import json

    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "error" and isinstance(v, str):
                    found.append(v.strip())
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    try:
        walk(json.loads(text))
    except ValueError:
        pass
    return found or [text.strip().splitlines()[0] if text.strip() else "pandera validation failed"]
