"""Run many (scenario, seed) pairs: in this process or on local worker processes.

Every run is fully determined by its scenario and seed, so the executor changes only how
fast results arrive, never what they are. Results come back in the order of the tasks.

Stopping: when the caller stops early (an exception, a stop signal raising `Stopped`, or
closing the iterator), the workers are ended at once, not waited for: their unfinished
runs are discarded, and a sweep redoes them on resume. Worker processes ignore SIGINT.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scenarios.schema import Scenario
from simulation import ResettlementModel

from .runner import run_id, simulate
from .stopping import children_ignore_interrupts, deferred_stop, ignore_interrupts

NETWORK_SAMPLE = 300  # households drawn in a network picture


@dataclass(frozen=True)
class RunTask:
    """One model run to do."""

    label: str  # scenario label in the experiment
    scenario: Scenario
    seed: int
    replicate: int
    months: int | None = None
    keep_network: bool = False


@dataclass
class RunOutput:
    """What a run sends back: monthly indicators, the final month, optionally a network sample."""

    task: RunTask
    monthly: pd.DataFrame
    final: dict[str, Any]
    network: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def run_id(self) -> str:
        """Hash of scenario and seed."""
        return run_id(self.task.scenario, self.task.seed)


def network_sample(model: ResettlementModel, seed: int) -> dict[str, Any] | None:
    """A drawable sample of the ties: whole buildings up to about `NETWORK_SAMPLE`
    households, their ties among themselves, and a spring layout seeded from the run's seed."""
    if model.social is None:
        return None
    import networkx as nx

    graph = model.social_graph()
    rng = np.random.default_rng(seed)
    # whole buildings, picked at random, so that neighbourhoods and their ties stay intact
    building = model.social.building
    present = ~model.returned
    nodes: list[int] = []
    for b in rng.permutation(np.unique(building[present])):
        nodes.extend(np.flatnonzero((building == b) & present).tolist())
        if len(nodes) >= NETWORK_SAMPLE:
            break
    sub = graph.subgraph(nodes)
    sub = sub.subgraph([n for n in sub if sub.degree(n) > 0])  # isolates would only squeeze the picture
    pos = nx.spring_layout(sub, k=3.0 / np.sqrt(max(len(sub), 1)), seed=int(rng.integers(2**31)), iterations=100)
    order = list(sub.nodes())
    return {
        "x": [float(pos[n][0]) for n in order],
        "y": [float(pos[n][1]) for n in order],
        "main_work": [sub.nodes[n]["main_work"] for n in order],
        "relocated": [bool(sub.nodes[n]["relocated"]) for n in order],
        "income": [float(sub.nodes[n]["income_per_capita"]) for n in order],
        "edges": [(order.index(u), order.index(v)) for u, v in sub.edges()],
    }


def execute(task: RunTask) -> RunOutput:
    """Do one run (in whichever process calls it)."""
    result = simulate(task.scenario, task.seed, months=task.months, keep_model=task.keep_network)
    network = network_sample(result.model, task.seed) if task.keep_network else None
    return RunOutput(task, result.monthly, result.final, network, result.seconds)


def default_workers() -> int:
    """Processors this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


SCHEDULER_ENV = "RELOCATION_DASK_SCHEDULER"  # address of a Dask scheduler, e.g. tcp://10.0.0.5:8786


def iterate_results(
    function: Callable[[Any], Any],
    tasks: Sequence[Any],
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    retries: int = 2,
) -> Iterator[tuple[int, Any]]:
    """Yield `(task index, result)` as runs finish, in completion order.

    Exhaust the iterator or close it (`contextlib.closing`): closing it, or an exception
    on the way out, ends the worker processes at once.

    Args:
        executor: "local" (this process if workers <= 1, else local processes),
            "dask-local" (a Dask LocalCluster started here), or "dask" (the scheduler at
            `scheduler`).
        retries: times a task is resubmitted when the process running it dies.
    """
    if executor == "dask" or executor == "dask-local":
        yield from _dask_results(function, tasks, workers, scheduler if executor == "dask" else None, retries)
    elif executor != "local":
        raise ValueError(f"unknown executor {executor!r}: expected local, dask-local or dask")
    elif workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            yield i, function(task)
    else:
        yield from _pool_results(function, tasks, workers, retries)


def start_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` fresh interpreters (spawn: no inherited state) that ignore SIGINT.

    The processes are started here, while SIGINT is ignored, so that they ignore it from
    their first instruction: a Ctrl-C (sent to the whole process group) reaches only the
    main process, which then stops them. (Submitting a task starts a process while none is
    idle; the no-op tasks start them all now.)
    """
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=ignore_interrupts
    )
    try:
        with children_ignore_interrupts():
            for _ in range(workers):
                pool.submit(os.getpid)
    except BaseException:  # a stop signal while starting them
        stop_pool(pool)
        raise
    return pool


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool now: cancel what has not started and end its processes without waiting for
    their runs (the results would be discarded anyway)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # (3.14 adds terminate_workers())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with suppress(Exception):
            process.terminate()
    for process in processes:
        with suppress(Exception):
            process.join(timeout=2)
            if process.is_alive():
                process.kill()
                process.join(timeout=2)


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """`start_pool` as a context: shut down normally (waiting) after the block, or ended at
    once (`stop_pool`) when the block raises, a stop signal included."""
    pool = start_pool(workers)
    try:
        yield pool
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _pool_results(function, tasks, workers: int, retries: int) -> Iterator[tuple[int, Any]]:
    """Local processes; if a worker process dies, the pool is rebuilt and unfinished tasks resubmitted."""
    pending = dict(enumerate(tasks))
    attempts = dict.fromkeys(pending, 0)
    while pending:
        pool = None
        finished = broken = False
        try:
            pool = start_pool(workers)
            futures = {pool.submit(function, task): i for i, task in pending.items()}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    break
                del pending[i]
                yield i, result
            finished = not broken
        finally:
            # anything but a clean finish (a dead worker, an exception, a stop signal, the
            # caller closing this generator): end the workers now rather than wait for them
            if pool is not None:
                if finished:
                    pool.shutdown(wait=True)
                else:
                    stop_pool(pool)
        if broken:
            for i in pending:
                attempts[i] += 1
            over = [i for i in pending if attempts[i] > retries]
            if over:
                raise RuntimeError(f"worker processes died {retries + 1} times running task(s) {over}")


@contextmanager
def dask_client(
    workers: int, address: str | None, stopping: list[bool] | None = None, abrupt: bool = False
) -> Iterator[Any]:
    """A Dask client: of the scheduler at `address`, or of a LocalCluster of `workers`
    single-threaded processes started here (and closed on the way out, which ends them).

    `stopping` (a one-element list) set to True before leaving says the caller is being
    stopped: lost workers are then expected, so Dask's warnings about them are silenced.
    `abrupt`: when stopped, leave the cluster to the caller's ending of its process tree
    instead of closing it in order (for a library, such as pyabc's sampler, whose tasks in
    flight make an orderly close outlast the stop's time bound).
    """
    from dask.distributed import Client, LocalCluster

    cluster = client = None
    try:
        if address is None:
            import dask

            # Dask's nanny sets MALLOC_TRIM_THRESHOLD_, which turns off glibc's adaptive mmap
            # threshold: every large temporary array is then mapped and unmapped afresh, and
            # a model run takes about 40 % longer (measured: 0.95 s vs 0.69 s). Keep the rest.
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            # and no profiler or monitors taking the GIL many times a second in each worker
            quiet = {
                "distributed.nanny.pre-spawn-environ": environ,
                "distributed.worker.profile.enabled": False,
                "distributed.admin.system-monitor.interval": "2s",
                "distributed.worker.memory.monitor-interval": "2s",
            }
            with dask.config.set(quiet), deferred_stop():  # a cluster stopped half-started cannot be closed
                cluster = LocalCluster(
                    n_workers=max(workers, 1), threads_per_worker=1, processes=True, dashboard_address=None
                )
                client = Client(cluster)
        else:
            client = Client(address, timeout="30s")
        yield client
    finally:
        stopped = bool(stopping and stopping[0])
        if stopped:
            logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
        if stopped and abrupt and cluster is not None:
            # Being stopped: the caller ends every process left in its tree (workers and
            # nannies) at once, so nothing is closed in order, which could outlast the
            # stop's time bound with tasks still running; nor may Dask try at exit.
            cluster.shutdown_on_close = False
            # and a nanny whose worker is ended restarts it unless told the cluster is closing;
            # a worker spawned during the ending dies half-started, with a traceback on stderr
            for nanny in getattr(cluster, "workers", {}).values():
                with suppress(Exception):
                    nanny.close_gracefully(reason="stopped")
            with suppress(Exception):
                client.close(timeout=1)
        else:
            if client is not None:
                with suppress(Exception):
                    client.close(timeout=5)
            if cluster is not None:
                with suppress(Exception):
                    cluster.close(timeout=5)


def _dask_results(function, tasks, workers: int, address: str | None, retries: int) -> Iterator[tuple[int, Any]]:
    """A Dask cluster: the given scheduler, or a LocalCluster of `workers` single-threaded processes.

    Dask reschedules a task whose worker dies (up to its `allowed-failures`), and
    `retries` resubmits tasks that raise from a lost worker. Stopping early cancels the
    submitted tasks and closes the client (and the local cluster, which ends its workers).
    """
    from dask.distributed import as_completed as dask_completed

    stopping = [True]
    with dask_client(workers, address, stopping) as client:
        futures = [client.submit(function, task, pure=False, retries=retries) for task in tasks]
        try:
            index = {future.key: i for i, future in enumerate(futures)}
            for future in dask_completed(futures):
                yield index[future.key], future.result()
            stopping[0] = False
        finally:
            if stopping[0] and futures:
                logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
                with suppress(Exception):
                    client.cancel(futures, force=True)


def run_tasks(
    tasks: Sequence[RunTask],
    workers: int = 1,
    on_done: Callable[[RunOutput], None] | None = None,
    function: Callable[[RunTask], Any] = execute,
    executor: str = "local",
    scheduler: str | None = None,
) -> list[Any]:
    """Run `tasks` and return the results in task order (see `iterate_results`).

    Args:
        on_done: called in this process as each run finishes (e.g. to advance a progress bar).
        function: what to do with each task (a top-level function, so it can be sent to workers).
    """
    results: list[Any] = [None] * len(tasks)
    with closing(iterate_results(function, tasks, workers, executor, scheduler)) as finished:
        for i, result in finished:
            results[i] = result
            if on_done:
                on_done(result)
    return results
