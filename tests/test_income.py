"""Household income (earnings, pensions) and the extra costs of living in town."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import load_scenario
from simulation.income import (
    HouseholdIncome,
    destination_costs,
    earnings_and_pensions,
    pension_count,
    per_capita_annual,
    remittances,
)
from simulation.options import Option
from simulation.population import generate_population

from .conftest import SMALL


@pytest.fixture
def setting():
    scenario = load_scenario(None, {**SMALL, "income.pension_yuan_month": 100})
    pop = generate_population(scenario, np.random.default_rng(3))
    return scenario, pop


def test_earnings_sum_per_household_and_pensions_go_to_the_old(setting):
    _scenario, pop = setting
    member = np.arange(pop.n_members, dtype=float)
    earnings, pension = earnings_and_pensions(pop, member, 100.0, 60)
    h = 5
    assert earnings[h] == pytest.approx(member[pop.household == h].sum())
    elders = np.bincount(pop.household, weights=pop.members_now() & (pop.age >= 60), minlength=pop.n_households)
    assert pension == pytest.approx(100 * elders)
    assert elders[~pop.active].sum() == 0  # no pension counted before the household moves in


def test_the_earners_and_pensioners_the_model_knows_give_the_same_sums_exactly(setting):
    _scenario, pop = setting
    rng = np.random.default_rng(5)
    earners = np.flatnonzero(rng.random(pop.n_members) < 0.4)
    member = np.zeros(pop.n_members)
    member[earners] = rng.normal(900.0, 700.0, earners.size)  # some net earnings negative
    full = earnings_and_pensions(pop, member, 100.0, 60)
    fast = earnings_and_pensions(pop, member, 100.0, 60, earners=earners, pensioners=pension_count(pop, 60))
    assert np.array_equal(full[0], fast[0]) and np.array_equal(full[1], fast[1])
    assert full[0].sum() == pytest.approx(np.maximum(member, 0).sum())


def test_negative_net_earnings_do_not_make_income_negative(setting):
    _scenario, pop = setting
    earnings, _pension = earnings_and_pensions(pop, np.full(pop.n_members, -500.0), 0.0, 60)
    assert (earnings == 0).all()


def test_living_costs_per_person_less_home_grown_food_for_farming_households(setting):
    scenario, pop = setting
    c = scenario.living_costs
    living = pop.relocated.copy()
    living[1] = False  # gone back: lives at the origin and pays none of these
    labour = np.ones(pop.n_members, dtype=bool)
    pop.option[:] = Option.LOCAL_INDUSTRY
    pop.option[np.flatnonzero(pop.household == 0)[0]] = Option.PART_TIME  # household 0 still farms at the origin
    costs = destination_costs(pop, living, labour, c)
    full = (
        c.food_yuan_person_month + c.utilities_yuan_person_month + c.property_fee_yuan_m2_month * c.flat_m2_per_person
    )
    assert full == pytest.approx(70 + 30 + 0.4 * 25)
    assert costs[2] == pytest.approx(full * pop.size[2])
    assert costs[0] == pytest.approx((full - c.food_yuan_person_month * c.home_grown_share) * pop.size[0])
    assert costs[1] == 0 and (costs[~pop.relocated] == 0).all()
    # the labour force as member indices gives the same costs
    assert np.array_equal(destination_costs(pop, living, np.flatnonzero(labour), c), costs)


def test_net_income_is_income_less_living_costs():
    inc = HouseholdIncome(np.array([1000.0]), np.array([100.0]), np.array([50.0]), np.array([300.0]))
    assert inc.total[0] == 1150.0 and inc.net[0] == 850.0
    assert per_capita_annual(inc.net, np.array([3]))[0] == pytest.approx(850 * 12 / 3)


def test_remittances_respond_to_need_within_the_bounds(setting):
    scenario, pop = setting
    w = scenario.wages
    migrants = np.array([np.flatnonzero(pop.household == h)[0] for h in (0, 1, 2)])
    pay = np.full(3, 3000.0)
    target = w.remittance_target_yuan * pop.size[:3] / 12.0
    other = np.zeros(pop.n_households)
    other[1] = target[1] + 1000.0  # household 1 already has enough: the floor share
    other[2] = target[2] - 100.0  # household 2 needs 100 yuan: still the floor share
    sent = remittances(pop, migrants, pay, other, w)
    assert sent[0] == pytest.approx(np.clip(target[0], w.remittance_share_min * 3000, w.remittance_share_max * 3000))
    assert sent[1] == pytest.approx(w.remittance_share_min * 3000)
    assert sent[2] == pytest.approx(w.remittance_share_min * 3000)
    bigger = pop.size.copy()
    pop.size[0] += 3  # more mouths to feed: more is sent, up to the ceiling
    more = remittances(pop, migrants, pay, np.zeros(pop.n_households), w)
    pop.size[:] = bigger
    assert more[0] >= sent[0] and more[0] <= w.remittance_share_max * 3000 + 1e-9
