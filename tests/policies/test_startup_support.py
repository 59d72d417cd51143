"""Start-up support: room in the market, failures that fall with age, hires, grants."""

from __future__ import annotations

import numpy as np

from simulation.options import Option

from .helpers import model_with

ON = {
    "policies.startup_support.enabled": True,
    "policies.startup_support.target": "all",
    "policies.startup_support.coverage": 1.0,
}


def test_no_more_businesses_than_the_market_has_room_for():
    model = model_with(ON, months=1)
    unit = model.policies.unit("startup_support")
    niches = 3.0 * model.pop.relocated.sum() / 100
    assert 0 < unit.owner.sum() <= niches
    assert unit.started == unit.owner.sum() and unit.market_factor() < 0.6
    assert model.indicators["policy_cost_startup_support"] == 10_000 * unit.started
    assert (model.pop.option[unit.owner] == Option.LOCAL_SERVICES).all() and model.self_employed[unit.owner].all()


def test_each_business_hires_local_service_workers():
    model = model_with(ON, months=1)
    unit = model.policies.unit("startup_support")
    base = round(model.config.labour_demand.services_posts_per_100_workers * model.labour.sum() / 100)
    assert model.economy.capacity[Option.LOCAL_SERVICES] == base + round(1.5 * unit.owner.sum())


def test_failures_fall_with_the_age_of_the_business():
    first_years = []
    for seed in (1, 2, 3, 4):
        model = model_with({**ON, "policies.startup_support.cohort_every_months": 60}, months=1, seed=seed)
        unit = model.policies.unit("startup_support")
        n0 = unit.owner.sum()
        model.run(12)
        n12 = unit.owner.sum()
        first_years.append(1 - n12 / n0)
    model.run(36)
    n48 = unit.owner.sum()
    # failures, closures for better work, and owners who marry away or die (SAIC: 30.7 % gone after a year)
    assert 0.15 < np.mean(first_years) < 0.5, first_years
    assert n48 < n12


def test_owners_earn_less_as_the_market_fills():
    model = model_with(ON, months=1)
    unit = model.policies.unit("startup_support")
    full = unit.market_factor()
    unit.owner[np.flatnonzero(unit.owner)[: unit.owner.sum() // 2]] = False
    assert unit.market_factor() > full
