"""Where parallel work runs: this machine's worker processes (or threads), or a Dask cluster.

An :class:`Executor` runs a task function over a list of tasks: :meth:`~Executor.run` hands each result to a
callback as it arrives, with the task's index; :meth:`~Executor.map` returns the results in task order. Task
functions belong to the modules whose work they do and know nothing of where they run: checking a chunk of
images (:func:`labelprep.checks.images.check_chunk`), writing a shard (:func:`labelprep.shards.writer.write_shard`),
reading a block of a large table (:func:`labelprep.readers.read_block_annotations`), checking a part of a frame
against its schema (:func:`labelprep.schemas.schema_failures`). Tasks and results must pickle, and task
functions must be importable (module-level functions, or :func:`functools.partial` of one).

``engine="local"`` (the default) is a :class:`LocalExecutor`: ``workers`` processes of this machine (the
default start method: fork on Linux), started for each run and shut down after it; small runs stay in this
process, and work that is I/O on URLs runs in threads. It never imports Dask. ``engine="dask"`` is a
:class:`DaskExecutor`, which connects a ``distributed.Client`` on first use: to ``scheduler``
(``tcp://host:8786``), else to the ``DASK_SCHEDULER_ADDRESS`` environment variable, else to a ``LocalCluster``
of one single-threaded process per core (or ``workers``) that is closed afterwards. An existing
``distributed.Client`` may be passed as the engine.

Dask workers must see the files at the same absolute paths as the client (a shared file system); callers ask
:meth:`Executor.require_visible` before they submit. A worker that dies mid-task has its task run again by
Dask; a task whose workers die again and again, or a local worker process that dies, is a :class:`WorkerLost`
(raised, or handed to the ``lost`` callback of :meth:`~Executor.run`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from labelprep.errors import EngineError, InputError, LabelprepError
from labelprep.extras import installed, require_dask

if TYPE_CHECKING:
    from concurrent.futures import Future

# multiprocessing and concurrent.futures (30 ms) are imported where a pool starts, not by `labelprep --help`.

__all__ = ["ENGINES", "SCHEDULER_ENV", "DaskExecutor", "Executor", "LocalExecutor", "WorkerLost",
           "check_engine", "open_engine", "tick"]  # fmt: skip

ENGINES = ("local", "dask")
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"

Done = Callable[[int, Any], None]
Lost = Callable[[int, "WorkerLost"], None]


class WorkerLost(Exception):
    """A worker died while running a task (a crash in native code, killed for using too much memory).

    ``index`` is the task it was running, or None when a local process pool broke and so every task still
    unfinished was lost with it; ``worker`` names what died ("worker process", "Dask worker").
    """

    def __init__(self, worker: str, index: int | None, cause: str = "") -> None:
        super().__init__(f"a {worker} died" + (f" ({cause})" if cause else ""))
        self.worker, self.index, self.cause = worker, index, cause


# -- progress from inside tasks --------------------------------------------------------------------------------

# Where tick() adds up: in a local worker process, the run's shared counters; in this process, while a task
# runs inline, the run's own; elsewhere (a Dask worker, no progress asked for) nowhere.
_SINK: Callable[[Sequence[int]], None] | None = None
_COUNTERS = 4


def tick(*amounts: int) -> None:
    """Add ``amounts`` (say, examples and bytes written) to the running totals of the run in progress.

    The totals reach the ``progress`` callback of :meth:`Executor.run` while tasks are still running (up to
    four numbers). A no-op where nothing counts: on a Dask worker, or when no progress was asked for.
    """
    if _SINK is not None:
        _SINK(amounts)


def _init_worker(counters: Any) -> None:
    global _SINK

    def add(amounts: Sequence[int]) -> None:
        with counters.get_lock():
            for i, n in enumerate(amounts[:_COUNTERS]):
                counters[i] += n

    _SINK = add if counters is not None else None


# -- the interface ---------------------------------------------------------------------------------------------


class Executor:
    """Runs task functions over tasks; open it as a context manager (or call :meth:`close`) to release it."""

    #: what runs the tasks, for notes ("read in 4 blocks as Dask tasks")
    label = "tasks"
    #: what dies when a task crashes its worker
    worker = "worker"
    #: tasks run in processes that may be on other machines: paths must be absolute, files on a shared disk
    distributed = False
    #: a cap on the work items (say, images) bundled into one task
    task_items = 32

    def slots(self) -> int:
        """How many tasks run at once (worker processes or worker threads)."""
        raise NotImplementedError

    def require_visible(self, path: str, what: str) -> None:
        """Raise :class:`EngineError` when a worker cannot see ``path`` where this process does."""

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], done: Done, *, lost: Lost | None = None,
            name: str = "task", labels: Sequence[str] | None = None, what: str | Callable[[int], str] = "running tasks",
            progress: Callable[[Sequence[int]], None] | None = None, small: bool = False, io: bool = False,
            isolate: bool = False) -> None:  # fmt: skip
        """Call ``done(index, fn(tasks[index]))`` on this process for every task, in the order they finish.

        ``lost(index, WorkerLost)`` is called for a task whose worker died (without it, :class:`WorkerLost` is
        raised). ``name`` and ``labels`` (one a task) name the tasks on a Dask dashboard; ``what`` (or
        ``what(index)``) says what failed in an :class:`EngineError`. ``progress(totals)`` receives the running
        totals of :func:`tick` while tasks run. The hints are for the local executor: ``small`` (not worth
        other processes: run here), ``io`` (I/O on URLs: run in threads of this process), ``isolate`` (one
        task at a time, so that a crash is pinned on its task).
        """
        raise NotImplementedError

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], *, name: str = "task",
            what: str = "running tasks", small: bool = False) -> list[Any]:  # fmt: skip
        """``[fn(t) for t in tasks]``, run as tasks; the first error a task raises is raised here."""
        results: list[Any] = [None] * len(tasks)

        def done(i: int, result: Any) -> None:
            results[i] = result

        self.run(fn, tasks, done, name=name, what=what, small=small)
        return results

    def close(self) -> None:
        """Release what this executor started (a cluster); an executor handed in from outside stays open."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- this machine ---------------------------------------------------------------------------------------------


class LocalExecutor(Executor):
    """``workers`` processes of this machine (default: one per core), started for each run."""

    label = "worker processes"
    worker = "worker process"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise InputError(f"workers must be at least 1, not {workers}")
        self.workers = workers

    def slots(self) -> int:
        return self.workers or os.cpu_count() or 1

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], done: Done, *, lost: Lost | None = None,
            name: str = "task", labels: Sequence[str] | None = None, what: str | Callable[[int], str] = "running tasks",
            progress: Callable[[Sequence[int]], None] | None = None, small: bool = False, io: bool = False,
            isolate: bool = False) -> None:  # fmt: skip
        if not tasks:
            return
        if io:
            self._threads(fn, tasks, done)
        elif small or self.slots() <= 1:
            self._inline(fn, tasks, done, progress)
        elif isolate:
            self._one_by_one(fn, tasks, done, lost)
        else:
            self._pool(fn, tasks, done, lost, progress)

    def _inline(self, fn: Callable[[Any], Any], tasks: Sequence[Any], done: Done,
                progress: Callable[[Sequence[int]], None] | None) -> None:  # fmt: skip
        global _SINK
        totals = [0] * _COUNTERS

        def add(amounts: Sequence[int]) -> None:
            for i, n in enumerate(amounts[:_COUNTERS]):
                totals[i] += n
            progress(totals)  # type: ignore[misc]

        saved, _SINK = _SINK, add if progress is not None else None
        try:
            for i, task in enumerate(tasks):
                done(i, fn(task))
        finally:
            _SINK = saved

    def _threads(self, fn: Callable[[Any], Any], tasks: Sequence[Any], done: Done) -> None:
        """I/O on URLs (fsspec batches): threads of this process, results in task order."""
        from concurrent.futures import ThreadPoolExecutor

        if len(tasks) <= 1:
            for i, task in enumerate(tasks):
                done(i, fn(task))
            return
        with ThreadPoolExecutor(max_workers=min(max(self.slots(), 4), 16, len(tasks)),
                                thread_name_prefix="labelprep-io") as pool:  # fmt: skip
            for i, result in enumerate(pool.map(fn, tasks)):
                done(i, result)

    def _pool(self, fn: Callable[[Any], Any], tasks: Sequence[Any], done: Done, lost: Lost | None,
              progress: Callable[[Sequence[int]], None] | None) -> None:  # fmt: skip
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        # The default start method, which the caller may choose with multiprocessing.set_start_method: fork on Linux
        # before Python 3.14 starts workers in milliseconds; forkserver and spawn import labelprep again in each one.
        ctx = multiprocessing.get_context()
        counters = ctx.Array("q", _COUNTERS) if progress is not None else None
        pool = ProcessPoolExecutor(max_workers=min(self.slots(), len(tasks)), mp_context=ctx,
                                   initializer=_init_worker, initargs=(counters,))  # fmt: skip
        pending: dict[Future[Any], int] = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        try:
            while pending:
                finished, _ = wait(pending, timeout=0.1 if progress is not None else None, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = pending.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool as exc:  # the pool is gone: every unfinished task with it
                        if lost is None:
                            raise WorkerLost(self.worker, None, str(exc)) from None
                        lost(i, WorkerLost(self.worker, None, str(exc)))
                        continue
                    done(i, result)
                if progress is not None and counters is not None:
                    progress(counters[:])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def _one_by_one(self, fn: Callable[[Any], Any], tasks: Sequence[Any], done: Done, lost: Lost | None) -> None:
        """One worker process, one task at a time: a task that kills it is the one that was running."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        ctx = multiprocessing.get_context()
        pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
        try:
            for i, task in enumerate(tasks):
                try:
                    result = pool.submit(fn, task).result()
                except BrokenProcessPool as exc:
                    pool.shutdown(wait=False)
                    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
                    if lost is None:
                        raise WorkerLost(self.worker, i, str(exc)) from None
                    lost(i, WorkerLost(self.worker, i, str(exc)))
                    continue
                done(i, result)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


# -- a Dask cluster -------------------------------------------------------------------------------------------


class DaskExecutor(Executor):
    """A ``distributed.Client``, connected on first use (so work that needs no tasks starts no cluster).

    ``client`` given: used as it is and never closed here. Else ``scheduler``, or
    ``DASK_SCHEDULER_ADDRESS``, is connected to; with neither a ``LocalCluster``
    of ``workers`` single-threaded processes (default: one per core) is started,
    and :meth:`close` shuts it down.
    """

    label = "Dask tasks"
    worker = "Dask worker"
    distributed = True
    # Larger than the local executor's 32: a Dask task costs more to schedule, and 128 images a task took 0.85x
    # the time of 32 (4,000 224px JPEGs, 2 workers).
    task_items = 128

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
        import logging

        import dask

        n = self.workers or os.cpu_count() or 1
        # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc map and unmap the buffer of
        # every decoded image: full image checks took 1.4-1.6x as long (4,000 224px JPEGs, 2 workers).
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            self._cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                     dashboard_address=None, silence_logs=logging.ERROR)  # fmt: skip
        return distributed.Client(self._cluster, set_as_default=False)

    def slots(self) -> int:
        """Worker threads the scheduler knows of now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def require_visible(self, path: str, what: str) -> None:
        """Every worker must see ``path`` where the client does (a shared file system)."""
        seen = self.client.run(os.path.exists, path)
        blind = sorted(addr for addr, ok in seen.items() if not ok)
        if blind:
            raise EngineError(f"{what} {path} is not visible on Dask worker(s) {', '.join(blind)}",
                              hint="the workers must see the images and the export folder at the same absolute paths "
                              "as this machine (a shared file system), and have labelprep installed")  # fmt: skip

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], done: Done, *, lost: Lost | None = None,
            name: str = "task", labels: Sequence[str] | None = None, what: str | Callable[[int], str] = "running tasks",
            progress: Callable[[Sequence[int]], None] | None = None, small: bool = False, io: bool = False,
            isolate: bool = False) -> None:  # fmt: skip
        if not tasks:
            return
        distributed = require_dask()
        client = self.client
        futures = [client.submit(fn, task, key=_key(name, labels[i] if labels else str(i)), pure=False)
                   for i, task in enumerate(tasks)]  # fmt: skip
        index = {fut.key: i for i, fut in enumerate(futures)}
        try:
            for fut in distributed.as_completed(futures, loop=client.loop):
                i = index[fut.key]
                try:
                    result = fut.result()
                except Exception as exc:
                    if not isinstance(exc, distributed.KilledWorker):
                        raise _failed(what(i) if callable(what) else what, exc) from None
                    if lost is None:
                        raise WorkerLost(self.worker, i, str(exc)) from None
                    lost(i, WorkerLost(self.worker, i, str(exc)))
                    continue
                done(i, result)
        except BaseException:
            with suppress(Exception):  # the scheduler may be gone already
                client.cancel(futures)
            raise

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], *, name: str = "task",
            what: str = "running tasks", small: bool = False) -> list[Any]:  # fmt: skip
        if not tasks:
            return []
        client = self.client
        futures = [client.submit(fn, task, key=_key(name, str(i)), pure=False) for i, task in enumerate(tasks)]
        try:
            return list(client.gather(futures))
        except Exception as exc:
            with suppress(Exception):
                client.cancel(futures)
            raise _failed(what, exc) from None

    def close(self) -> None:
        if not self._owned:
            return
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _key(kind: str, name: str = "") -> str:
    return f"labelprep-{kind}-{name + '-' if name else ''}{uuid.uuid4().hex[:12]}"


def _failed(what: str, exc: BaseException) -> BaseException:
    """A task's own error (a LabelprepError names the file and line) as it is; anything else as an EngineError."""
    if isinstance(exc, LabelprepError):
        return exc
    return EngineError(f"the Dask engine failed while {what}: {type(exc).__name__}: {exc}",
                       hint="check the scheduler and the workers' logs; work already finished is kept (for an "
                       "export, run it again with --resume)")  # fmt: skip


# -- choosing one -----------------------------------------------------------------------------------------------


def _is_client(engine: Any) -> bool:
    return all(hasattr(engine, a) for a in ("submit", "nthreads", "run", "cancel"))


def check_engine(engine: Any, scheduler: str | None) -> None:
    """Raise :class:`InputError` for an unknown engine, or a scheduler given to another engine than dask."""
    if isinstance(engine, DaskExecutor) or (not isinstance(engine, (str, Executor)) and _is_client(engine)):
        if scheduler is not None:
            raise InputError("give a distributed.Client as the engine or a scheduler address, not both",
                             hint="drop scheduler; the client is already connected")  # fmt: skip
        return
    if isinstance(engine, Executor):
        engine = "local"
    if not isinstance(engine, str) or engine not in ENGINES:
        raise InputError(f"engine must be 'local', 'dask' or a distributed.Client, not {engine!r}",
                         hint="pass --engine dask to run on a Dask cluster")  # fmt: skip
    if scheduler is not None and engine != "dask":
        raise InputError(f"a scheduler address ({scheduler}) is used only by the dask engine",
                         hint="add --engine dask (engine='dask'), or drop --scheduler")  # fmt: skip
    if engine == "dask" and not installed("distributed"):
        require_dask()  # raises with the install command


@contextmanager
def open_engine(engine: Any = "local", scheduler: str | None = None, *,
                workers: int | None = None) -> Iterator[Executor]:  # fmt: skip
    """The executor ``engine`` names (an :class:`Executor` given is used as it is); closed on exit when it
    started a cluster. ``workers``: processes of the local executor, or of the LocalCluster Dask starts."""
    check_engine(engine, scheduler)
    if isinstance(engine, Executor):
        yield engine
        return
    if isinstance(engine, str) and engine == "local":
        yield LocalExecutor(workers)
        return
    require_dask()  # before any source is read
    ex = DaskExecutor(scheduler=scheduler, workers=workers) if isinstance(engine, str) else DaskExecutor(client=engine)
    try:
        yield ex
    finally:
        ex.close()
