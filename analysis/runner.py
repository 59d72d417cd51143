"""Run one scenario with one seed and return what it produced (no files, no printing)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from scenarios.schema import Scenario
from simulation import ResettlementModel


@dataclass
class RunResult:
    """A finished run: the final month's indicators and the monthly series."""

    scenario: Scenario
    seed: int
    final: dict[str, Any]
    monthly: pd.DataFrame

    @property
    def run_id(self) -> str:
        """Stable id of this (scenario, seed) pair."""
        return run_id(self.scenario, self.seed)


def run_id(scenario: Scenario, seed: int) -> str:
    """A hash of the scenario's values and the seed: equal inputs, equal id."""
    payload = json.dumps({"scenario": scenario.model_dump(mode="json"), "seed": seed}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_scenario(scenario: Scenario, seed: int | None = None, months: int | None = None) -> RunResult:
    """Build the model, run it, and return its indicators.

    Args:
        scenario: validated scenario.
        seed: model seed; the scenario's `simulation.seed` if None.
        months: number of months; the scenario's length if None.
    """
    seed = scenario.simulation.seed if seed is None else seed
    model = ResettlementModel(scenario, seed=seed)
    model.run(months)
    monthly = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return RunResult(scenario=scenario, seed=seed, final=model.indicators, monthly=monthly)


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities by None, recursively, so the output is strict JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
