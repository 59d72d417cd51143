"""Origin land and assets: rent forgone by farming, rent for unfarmed land, land's pull, asset shares."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.going_back import land_pull_factor
from simulation.options import Option

from .helpers import final_values, model_with

ON = {"policies.origin_resources.enabled": True, "policies.origin_resources.land_participation": 1.0}


def test_farming_forgoes_the_rent_of_the_land_it_works():
    model = model_with(ON, months=1)
    unit = model.policies.unit("origin_resources")
    pop = model.pop
    seekers = np.flatnonzero(model.labour & model.member_relocated)
    terms = unit.money_terms(model.view(), seekers, np.zeros((seekers.size, len(Option))))
    hh = pop.household[seekers]
    workers = np.bincount(pop.household, weights=model.labour)[hh]
    rent = 200 / 12 * pop.land_mu[hh] / workers  # yuan a month
    assert terms[:, Option.FARMING_ORIGIN] == pytest.approx(-rent)
    assert terms[:, Option.PART_TIME] == pytest.approx(-rent * 0.5)
    assert (terms[:, Option.LOCAL_INDUSTRY] == 0).all()


def test_rent_is_paid_for_the_land_nobody_farms():
    model = model_with(ON, months=2)
    unit = model.policies.unit("origin_resources")
    pop = model.pop
    # households that went back this month left part-time work after the rent was booked
    idle = np.flatnonzero(
        pop.relocated
        & ~model.returned
        & (
            np.bincount(pop.household, weights=model.labour & np.isin(pop.option, [4, 5]), minlength=pop.n_households)
            == 0
        )
    )
    assert unit.rent_month[idle] == pytest.approx(200 / 12 * pop.land_mu[idle])
    farming = np.flatnonzero(
        np.bincount(pop.household, weights=model.labour & (pop.option == 4), minlength=pop.n_households) > 0
    )
    assert (unit.rent_month[farming] < 200 / 12 * pop.land_mu[farming] + 1e-9).all()


def test_land_rented_out_no_longer_pulls_the_household_back():
    model = model_with(ON, months=1)
    unit = model.policies.unit("origin_resources")
    factor = unit.going_back_factor(model.view())
    pop = model.pop
    expected = 1 / land_pull_factor(pop.land_mu / np.maximum(pop.size, 1), model.config)  # empty slots: size 0
    assert factor[unit.renting] == pytest.approx(expected[unit.renting])
    assert (factor[~unit.renting] == 1).all()


def test_rent_close_to_farm_income_reduces_farming():
    """Was: renting out land did not reduce farming (the choice ignored the rent forgone)."""
    base = {**ON, "policies.origin_resources.asset_income_yuan_per_household_year": 0.0}
    low = final_values({**base, "policies.origin_resources.land_rent_yuan_per_mu_year": 0.0}, "share_agriculture")
    high = final_values({**base, "policies.origin_resources.land_rent_yuan_per_mu_year": 3000.0}, "share_agriculture")
    effect = np.array(low) - np.array(high)
    assert (effect > 0).all() and effect.mean() > 0.01, effect
