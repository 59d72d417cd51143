"""The relocation terms: validation, and each variant of the terms against those of 2016-2020
over paired seeds: its target moves, and poverty and income are no worse beyond the
margins (or, for keeping the homestead, a trade-off of bounded size, docs/MODEL.md 7.12)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.compare import run_experiment
from analysis.executors import default_workers
from scenarios import ScenarioError, load_scenario
from scenarios.loader import SCENARIO_DIR

VARIANTS = ("no_handover", "longer_transition", "dual_registration", "small_household_flats")
SEEDS = 16  # paired seeds, as for the follow-up policies
POVERTY_MARGIN, INCOME_MARGIN = 0.01, 0.02  # as for the follow-up policies (tests/test_policy_effects.py)


def test_the_terms_are_fixed_at_signing_and_checked():
    with pytest.raises(ScenarioError, match="fixed when households sign up"):
        load_scenario(None, {"policies.relocation_terms.enabled": True, "policies.relocation_terms.end_month": 60})
    with pytest.raises(ScenarioError, match=r"min_flat_m2 \(150.0\) must be <= max_flat_m2 \(125.0\)"):
        load_scenario(None, {"policies.relocation_terms.min_flat_m2": 150})
    with pytest.raises(ScenarioError, match="site_distance_factor"):
        load_scenario(None, {"policies.relocation_terms.site_distance_factor": 0})


@cache
def finals() -> pd.DataFrame:
    """Last year's mean of every run: terms_2016 and each variant x seed (typical community, ten years)."""
    folder = SCENARIO_DIR / "relocation"
    off = {"ties.metrics_at_end": False}
    scenarios = {name: load_scenario(folder / f"{name}.toml", off) for name in ("terms_2016", *VARIANTS)}
    exp = run_experiment(scenarios, replicates=SEEDS, seed=1, workers=default_workers(), networks=False)
    last = exp.tidy[exp.tidy["month"] > exp.tidy["month"].max() - 12]
    return last.groupby(["scenario", "replicate"]).mean(numeric_only=True)


def paired(variant: str, key: str) -> tuple[float, float, float, float]:
    """(terms_2016 mean, mean paired difference, 95 % CI) of `key`."""
    f = finals()
    base, other = f.loc["terms_2016"][key], f.loc[variant][key]
    d = (other - base).to_numpy(dtype=float)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return float(base.mean()), float(d.mean()), float(d.mean() - half), float(d.mean() + half)


TARGETS = {
    "no_handover": "decision_follow_through",
    "longer_transition": "decision_follow_through",
    "dual_registration": "decision_follow_through",
    "small_household_flats": "decision_small_share_movers",
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_moves_its_target(variant):
    _, mean, low, _ = paired(variant, TARGETS[variant])
    assert low > 0, (variant, mean, low)


@pytest.mark.parametrize("variant", ("longer_transition", "dual_registration", "small_household_flats"))
def test_variants_do_no_harm_to_poverty_and_income(variant):
    _, mean, _, high = paired(variant, "poverty_rate")
    assert high <= POVERTY_MARGIN, ("poverty rises", variant, mean, high)
    base, mean, low, _ = paired(variant, "income_per_capita_mean")
    assert low >= -INCOME_MARGIN * base, ("income falls", variant, mean, low)


def test_keeping_the_homestead_is_a_trade_off_of_bounded_size():
    """More households move, but the old house keeps farming from the origin and going back
    cheap for all ten years: poverty rises (measured +3.4 points [2.9, 3.9]), more
    farm and more go back. The bound keeps the trade-off from growing unnoticed."""
    _, moved, low, _ = paired("no_handover", "decision_moved")
    assert low > 0, moved
    _, farm, low, _ = paired("no_handover", "share_agriculture")
    assert low > 0.05, farm
    _, back, low, _ = paired("no_handover", "returned_households")
    assert low > 50, back
    _, poverty, low, high = paired("no_handover", "poverty_rate")
    assert low > 0 and high < 0.06, (poverty, low, high)
