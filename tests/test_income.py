"""Household income: earnings, land rent, pensions and the subsistence allowance."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import load_scenario
from simulation.income import household_income, per_capita_annual
from simulation.options import Option
from simulation.policies import IncomeRules
from simulation.population import generate_population

from .conftest import SMALL


@pytest.fixture
def setting():
    scenario = load_scenario(None, {**SMALL, "income.pension_yuan_month": 100})
    pop = generate_population(scenario, np.random.default_rng(3))
    return scenario, pop


def rules(pop, rent=False, rent_rate=300.0, threshold=4800.0, take_up=1.0) -> IncomeRules:
    return IncomeRules(
        rent_participation=np.full(pop.n_households, rent),
        rent_yuan_per_mu_year=rent_rate,
        other=np.zeros(pop.n_households),
        subsistence_threshold=threshold,
        subsistence_take_up=take_up,
    )


def income(scenario, pop, earnings, r):
    return household_income(pop, earnings, r, scenario.income.pension_yuan_month, scenario.income.pension_age)


def test_allowance_tops_up_to_the_threshold(setting):
    scenario, pop = setting
    earnings = np.zeros(pop.n_members)
    inc = income(scenario, pop, earnings, rules(pop))
    pc = per_capita_annual(inc.total, pop.size)
    threshold = 4800.0
    # with full take-up and no earnings, every relocated household ends at the threshold or above it
    assert (pc[pop.relocated] >= threshold - 1e-6).all()
    assert (inc.subsistence[~pop.relocated] == 0).all()
    elders = np.bincount(pop.household, weights=pop.age >= 60, minlength=pop.n_households)
    assert inc.pension == pytest.approx(100 * elders)
    off = income(scenario, pop, earnings, rules(pop, threshold=0.0, take_up=0.0))
    assert (off.subsistence == 0).all()
    half = income(scenario, pop, earnings, rules(pop, take_up=0.5))
    takers = pop.relocated & (pop.subsistence_draw < 0.5)
    assert (half.subsistence[takers] > 0).all() and (half.subsistence[~takers] == 0).all()


def test_land_rent_only_for_idle_land_of_participants(setting):
    scenario, pop = setting
    inc = income(scenario, pop, np.zeros(pop.n_members), rules(pop, rent=True))
    assert inc.land_rent[pop.relocated] == pytest.approx(300 / 12 * pop.land_mu[pop.relocated])
    pop.option[pop.start[0]] = Option.FARMING_ORIGIN  # household 0 farms its own land
    inc = income(scenario, pop, np.zeros(pop.n_members), rules(pop, rent=True))
    assert inc.land_rent[0] == 0
    inc = income(scenario, pop, np.zeros(pop.n_members), rules(pop, rent=False))
    assert (inc.land_rent == 0).all()


def test_negative_net_earnings_do_not_make_income_negative(setting):
    scenario, pop = setting
    earnings = np.full(pop.n_members, -500.0)
    inc = income(scenario, pop, earnings, rules(pop))
    assert (inc.earnings == 0).all() and (inc.total >= 0).all()
