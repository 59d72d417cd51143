"""Build, run and collect one model: the one function every experiment goes through.

`simulate` takes a scenario, a seed and typed overrides (dotted key -> value) and returns
the final month's indicators and the monthly series. The comparison's executors, sweeps,
calibration and validation all call it; nothing else builds and runs a model for them.
No files, no printing.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from scenarios.loader import override
from scenarios.schema import Scenario
from simulation import ResettlementModel


@dataclass
class RunResult:
    """A finished run: the final month's indicators (nested and flat) and the monthly series."""

    scenario: Scenario
    seed: int
    final: dict[str, Any]
    flat: dict[str, float]
    monthly: pd.DataFrame
    seconds: float
    model: ResettlementModel | None = None  # kept only when asked for (it is large)


def run_id(scenario: Scenario, seed: int) -> str:
    """A hash of the scenario's values and the seed: equal inputs, equal id."""
    payload = json.dumps({"scenario": scenario.model_dump(mode="json"), "seed": seed}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_model(
    scenario: Scenario, seed: int | None = None, overrides: Mapping[str, Any] | None = None
) -> ResettlementModel:
    """The model of `scenario` with `overrides` applied, seeded with `seed` (the scenario's if None)."""
    scenario = override(scenario, overrides or {})
    return ResettlementModel(scenario, seed=scenario.simulation.seed if seed is None else seed)


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    months: int | None = None,
    keep_model: bool = False,
    final_only: bool = False,
) -> RunResult:
    """Build the model, run it, and collect its indicators.

    Args:
        scenario: validated scenario.
        seed: model seed; the scenario's `simulation.seed` if None.
        overrides: typed values by dotted key, applied to the scenario and validated.
        months: number of months; the scenario's length if None.
        keep_model: return the model too (for network pictures or inspection).
        final_only: indicators of the last month only (`monthly` then has that month alone).
    """
    start = time.perf_counter()
    scenario = override(scenario, overrides or {})
    seed = scenario.simulation.seed if seed is None else seed
    model = ResettlementModel(scenario, seed=seed)
    model.run(months, final_only=final_only)
    monthly = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return RunResult(
        scenario=scenario,
        seed=seed,
        final=model.indicators,
        flat=dict(model.flat_indicators),
        monthly=monthly,
        seconds=time.perf_counter() - start,
        model=model if keep_model else None,
    )


def run_scenario(scenario: Scenario, seed: int | None = None, months: int | None = None) -> RunResult:
    """`simulate` without overrides (the name the README's notebook example uses)."""
    return simulate(scenario, seed, months=months)


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities by None, recursively, so the output is strict JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
