"""Directions that must hold in the whole model, each over several seeds.

Each test runs the same seeds under two scenarios (common random numbers) and asserts that
the mean effect exceeds a stated minimum and that every seed moves the same way.
"""

from __future__ import annotations

import numpy as np

from simulation import ResettlementModel

from .conftest import small_scenario

SEEDS = (1, 2, 3, 4)


def final(overrides: dict | None = None, *, key: str) -> np.ndarray:
    """The final-month value of `key` for each seed."""
    values = []
    for seed in SEEDS:
        model = ResettlementModel(small_scenario(overrides), seed=seed)
        model.run()
        values.append(model.indicators[key] if "." not in key else model.flat_indicators[key])
    return np.array(values)


def assert_raises(low: np.ndarray, high: np.ndarray, minimum: float) -> None:
    effect = high - low
    assert (effect > 0).all(), effect
    assert effect.mean() > minimum, effect


def test_more_local_industry_capacity_raises_the_local_share():
    base = final(key="share_local")
    more = final({"labour_demand.industry_posts_per_100_workers": 40}, key="share_local")
    assert_raises(base, more, minimum=0.05)


def test_larger_distance_lowers_farming_at_the_origin():
    near = final({"community.distance_min_km": 1, "community.distance_max_km": 30}, key="share_agriculture")
    far = final({"community.distance_min_km": 150, "community.distance_max_km": 300}, key="share_agriculture")
    assert_raises(far, near, minimum=0.04)


def test_higher_out_of_county_wages_raise_the_out_of_county_share():
    base = final(key="share_out_of_county")
    higher = final({"wages.out_of_county": 6000}, key="share_out_of_county")
    assert_raises(base, higher, minimum=0.05)


def test_younger_and_better_educated_go_out_of_the_county_more():
    young = final(key="by_age_group.16-29.share_out_of_county")
    old = final(key="by_age_group.45+.share_out_of_county")
    assert_raises(old, young, minimum=0.2)
    senior = final(key="by_education.senior_high.share_out_of_county")
    primary = final(key="by_education.primary_or_less.share_out_of_county")
    assert_raises(primary, senior, minimum=0.15)
