"""Run many (scenario, seed) pairs: in this process or on local worker processes.

Every run is fully determined by its scenario and seed, so the executor changes only how
fast results arrive, never what they are. Results come back in the order of the tasks.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scenarios.schema import Scenario
from simulation import ResettlementModel

from .runner import run_id

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
    present = ~model.social.returned
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
    import time

    start = time.perf_counter()
    model = ResettlementModel(task.scenario, seed=task.seed)
    model.run(task.months)
    monthly = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    network = network_sample(model, task.seed) if task.keep_network else None
    return RunOutput(task, monthly, model.indicators, network, time.perf_counter() - start)


def default_workers() -> int:
    """Processors this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_tasks(
    tasks: Sequence[RunTask],
    workers: int = 1,
    on_done: Callable[[RunOutput], None] | None = None,
    function: Callable[[RunTask], Any] = execute,
) -> list[Any]:
    """Run `tasks` serially (workers <= 1) or on local processes; results in task order.

    Args:
        on_done: called in this process as each run finishes (e.g. to advance a progress bar).
        function: what to do with each task (a top-level function, so it can be sent to workers).
    """
    results: list[Any] = [None] * len(tasks)
    if workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            results[i] = function(task)
            if on_done:
                on_done(results[i])
        return results
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited state
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(function, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if on_done:
                on_done(results[i])
    return results
