"""Household income: earnings, land rent, pensions and the subsistence allowance."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import load_scenario
from simulation.income import household_income, per_capita_annual
from simulation.options import Option
from simulation.population import generate_population

from .conftest import SMALL


@pytest.fixture
def setting():
    scenario = load_scenario(
        None,
        [
            *SMALL,
            "origin.land_rent_yuan_per_mu_year=300",
            "income.subsistence_take_up=1.0",
            "income.pension_yuan_month=100",
        ],
    )
    pop = generate_population(scenario, np.random.default_rng(3))
    return scenario, pop


def test_allowance_tops_up_to_the_threshold(setting):
    scenario, pop = setting
    earnings = np.zeros(pop.n_members)
    inc = household_income(scenario, pop, earnings, np.zeros(pop.n_households, dtype=bool))
    pc = per_capita_annual(inc.total, pop.size)
    threshold = scenario.income.subsistence_threshold_yuan
    # with full take-up and no earnings, every relocated household ends at the threshold or above it
    assert (pc[pop.relocated] >= threshold - 1e-6).all()
    assert (inc.subsistence[~pop.relocated] == 0).all()
    elders = np.bincount(pop.household, weights=pop.age >= 60, minlength=pop.n_households)
    assert inc.pension == pytest.approx(100 * elders)


def test_land_rent_only_for_idle_land_of_participants(setting):
    scenario, pop = setting
    rent_all = np.ones(pop.n_households, dtype=bool)
    inc = household_income(scenario, pop, np.zeros(pop.n_members), rent_all)
    assert inc.land_rent[pop.relocated] == pytest.approx(300 / 12 * pop.land_mu[pop.relocated])
    pop.option[pop.start[0]] = Option.FARMING_ORIGIN  # household 0 farms its own land
    inc = household_income(scenario, pop, np.zeros(pop.n_members), rent_all)
    assert inc.land_rent[0] == 0
    inc = household_income(scenario, pop, np.zeros(pop.n_members), ~rent_all)
    assert (inc.land_rent == 0).all()


def test_negative_net_earnings_do_not_make_income_negative(setting):
    scenario, pop = setting
    earnings = np.full(pop.n_members, -500.0)
    inc = household_income(scenario, pop, earnings, np.zeros(pop.n_households, dtype=bool))
    assert (inc.earnings == 0).all() and (inc.total >= 0).all()
