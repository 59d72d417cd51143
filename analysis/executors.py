"""Run many (scenario, seed) pairs: in this process or on local worker processes.

Every run is fully determined by its scenario and seed, so the executor changes only how
fast results arrive, never what they are. Results come back in the order of the tasks.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scenarios.schema import Scenario
from simulation import ResettlementModel

from .runner import run_id, simulate

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


def _pool_results(function, tasks, workers: int, retries: int) -> Iterator[tuple[int, Any]]:
    """Local processes; if a worker process dies, the pool is rebuilt and unfinished tasks resubmitted."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited state
    pending = dict(enumerate(tasks))
    attempts = dict.fromkeys(pending, 0)
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        broken = False
        try:
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
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            for i in pending:
                attempts[i] += 1
            over = [i for i in pending if attempts[i] > retries]
            if over:
                raise RuntimeError(f"worker processes died {retries + 1} times running task(s) {over}")


def _dask_results(function, tasks, workers: int, address: str | None, retries: int) -> Iterator[tuple[int, Any]]:
    """A Dask cluster: the given scheduler, or a LocalCluster of `workers` single-threaded processes.

    Dask reschedules a task whose worker dies (up to its `allowed-failures`), and
    `retries` resubmits tasks that raise from a lost worker.
    """
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    cluster = None
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
        with dask.config.set(quiet):
            cluster = LocalCluster(
                n_workers=max(workers, 1), threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
    else:
        client = Client(address, timeout="30s")
    try:
        futures = [client.submit(function, task, pure=False, retries=retries) for task in tasks]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in dask_completed(futures):
            yield index[future.key], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


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
    for i, result in iterate_results(function, tasks, workers, executor, scheduler):
        results[i] = result
        if on_done:
            on_done(result)
    return results
