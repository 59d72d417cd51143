"""Small models for the policy units' rule tests."""

from __future__ import annotations

from scenarios import load_scenario
from simulation import ResettlementModel

from ..conftest import SMALL

ONE_WAVE = {
    "community.arrival_years": 1
}  # everyone moves in at once: the rules act on the whole community from month 1


def model_with(overrides: dict | None = None, seed: int = 1, months: int = 0) -> ResettlementModel:
    """About 1,000 households, all moved in at once, with the given overrides, run `months` months."""
    model = ResettlementModel(load_scenario(None, {**SMALL, **ONE_WAVE, **(overrides or {})}), seed=seed)
    model.run(months)
    return model


def final_values(overrides: dict, key: str, seeds=range(1, 7), years: int = 4) -> list[float]:
    """`key` in the final month, per seed."""
    out = []
    for seed in seeds:
        model = model_with({**overrides, "simulation.years": years}, seed=seed)
        model.run()
        out.append(float(model.flat_indicators[key]))
    return out
