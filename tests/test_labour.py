"""Work choice: earnings, utilities, and the capacity-limited assignment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios import Scenario
from simulation.labour import (
    Economy,
    household_turns,
    income_weight,
    member_earnings,
    serial_dictatorship,
    utilities,
)
from simulation.options import CAPPED, N_OPTIONS, Option


def economy(capacity=None) -> Economy:
    s = Scenario()
    wage = np.zeros(N_OPTIONS)
    welfare = s.policies.public_welfare_jobs.wage_yuan_month
    wage[[1, 2, 3, 6]] = [s.wages.local_industry, s.wages.local_services, welfare, s.wages.out_of_county]
    return Economy(
        wage=wage,
        casual_wage=s.wages.casual_local,
        living_cost_out=s.wages.living_cost_out_of_county,
        migration_cost=s.choice.migration_cost_yuan,
        capacity=np.full(N_OPTIONS, np.inf) if capacity is None else capacity,
        job_finding_out=0.6,
        farm_base=600.0,
        skill_reference=2 / 7,
    )


def sequential(scores: np.ndarray, vacancies: np.ndarray) -> np.ndarray:
    """The definition: one seeker at a time takes the best option with a free post."""
    vac = vacancies.copy()
    out = []
    for row in scores:
        for j in np.argsort(-row, kind="stable"):
            if vac[j] > 0:
                vac[j] -= 1
                out.append(j)
                break
    return np.array(out)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    caps=st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20), st.integers(0, 20)),
    seed=st.integers(0, 2**32 - 1),
)
def test_serial_dictatorship_equals_one_at_a_time(n, caps, seed):
    rng = np.random.default_rng(seed)
    scores = rng.gumbel(size=(n, N_OPTIONS))
    vacancies = np.full(N_OPTIONS, np.inf)
    vacancies[list(CAPPED)] = caps
    expected = sequential(scores, vacancies)
    got = serial_dictatorship(scores.copy(), vacancies)
    assert (got == expected).all()
    for j, cap in zip(CAPPED, caps, strict=True):
        assert (got == j).sum() <= cap


def test_earnings_rise_with_schooling_and_fall_with_distance():
    s = Scenario()
    edu = np.array([0, 1, 2, 3, 1, 1])
    skill = np.full(6, 2 / 7)
    earn = member_earnings(s, economy(), edu, skill, np.ones(6), np.array([0, 0, 0, 0, 20, 200.0]))
    assert (np.diff(earn[:4, Option.OUT_OF_COUNTY]) > 0).all()
    assert (np.diff(earn[:4, Option.LOCAL_INDUSTRY]) > 0).all()
    # the schooling premium is larger outside the county
    out_gain = earn[3, Option.OUT_OF_COUNTY] / earn[0, Option.OUT_OF_COUNTY]
    local_gain = earn[3, Option.LOCAL_INDUSTRY] / earn[0, Option.LOCAL_INDUSTRY]
    assert out_gain > local_gain
    # travel: 180 km farther, one round trip a month at 0.4 yuan/km
    assert earn[4, Option.FARMING_ORIGIN] - earn[5, Option.FARMING_ORIGIN] == pytest.approx(0.4 * 2 * 180)
    # junior middle, reference skill: exactly the base wage times the paid share of the year
    assert earn[1, Option.LOCAL_INDUSTRY] == pytest.approx(s.wages.local_industry * 10 / 12)
    assert earn[1, Option.PUBLIC_WELFARE] == s.policies.public_welfare_jobs.wage_yuan_month
    # laid out option by option: the same numbers, column-major
    by_option = member_earnings(s, economy(), edu, skill, np.ones(6), np.array([0, 0, 0, 0, 20, 200.0]), by_option=True)
    assert np.array_equal(by_option, earn) and by_option.flags.f_contiguous and not earn.flags.f_contiguous


def test_utilities_apply_push_pull_terms():
    s = Scenario()
    n = 4
    earn = np.zeros((n, N_OPTIONS))
    u = utilities(
        s,
        earn,
        current=np.array([0, 6, 0, 0], dtype=np.int8),
        was_out=np.array([False, True, False, False]),
        age=np.array([35.0, 35.0, 55.0, 35.0]),
        care_duty=np.array([0.0, 0.0, 0.0, 1.0]),
        distance_km=np.zeros(n),
        demolished=np.zeros(n, dtype=bool),
        relocated=np.array([True, True, True, False]),
        contact_shares=np.zeros((n, N_OPTIONS)),
        inertia_on=True,
    )
    c = s.choice
    out = Option.OUT_OF_COUNTY
    migration = c.income_per_1000_yuan * c.migration_cost_yuan / 1000 / c.planning_horizon_months
    assert u[0, out] == c.constant.out_of_county - migration
    assert u[1, out] == c.constant.out_of_county + c.inertia  # already out: no migration cost, inertia
    assert u[2, out] == pytest.approx(u[0, out] + 2 * c.age_per_decade.out_of_county)  # two decades older
    assert u[3, out] == pytest.approx(u[0, out] - c.care_penalty.out_of_county)
    assert np.isneginf(u[3, [Option.FARMING_ORIGIN, Option.PART_TIME, Option.PUBLIC_WELFARE]]).all()
    assert np.isfinite(u[:3]).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.integers(0, 4)), min_size=0, max_size=30))
def test_household_turns_follow_the_households_order(rows):
    """Within each household: own posts first, then the highest potential pay; ties keep row
    order; turns are 0, 1, ... with no gap (the per-household sorted definition)."""
    household = np.array([r[0] for r in rows], dtype=np.int64)
    first = np.array([r[1] for r in rows], dtype=bool)
    potential = np.array([r[2] * 500.0 for r in rows])
    turn = household_turns(household, first, potential)
    for h in set(household.tolist()):
        rows_h = [i for i in range(len(rows)) if household[i] == h]
        expected = sorted(rows_h, key=lambda i: (not first[i], -potential[i], i))
        assert [int(turn[i]) for i in expected] == list(range(len(rows_h)))


def test_income_weight_is_one_at_the_aim_and_falls_with_what_the_others_bring():
    """((s + aim) / (s + y)) ^ curvature: 2.25 for a sole earner at s = 400, aim = 500; 1 at the
    aim; 900 / 775 where a partner remits 1,500 a month to four people; curvature 0 is 1."""
    y = np.array([0.0, 500.0, 375.0, 1000.0, -50.0])
    w = income_weight(y, 400.0, 500.0, 1.0)
    assert w == pytest.approx([2.25, 1.0, 900 / 775, 900 / 1400, 2.25])
    assert income_weight(y, 400.0, 500.0, 0.0) == pytest.approx(np.ones(5))
    assert income_weight(np.array([1000.0]), 400.0, 500.0, 2.0)[0] == pytest.approx((900 / 1400) ** 2)
