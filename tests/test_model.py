"""The whole model: determinism, invariants over random parameters, the agents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation import Household, ResettlementModel
from simulation.options import CAPPED, Option
from simulation.policies import POLICY_NAMES

from .conftest import small_scenario


def test_same_seed_same_numbers_different_seed_different(small):
    runs = []
    for seed in (5, 5, 6):
        model = ResettlementModel(small, seed=seed)
        model.run(12)
        runs.append(model.datacollector.get_model_vars_dataframe())
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert not runs[0]["share_out_of_county"].equals(runs[2]["share_out_of_county"])
    assert not runs[0]["income_per_capita_mean"].equals(runs[2]["income_per_capita_mean"])


def test_seed_defaults_to_the_scenario_seed(small):
    a = ResettlementModel(small)
    b = ResettlementModel(small, seed=small.simulation.seed)
    a.run(3)
    b.run(3)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe()
    )


def test_households_are_mesa_agents_over_the_arrays(small):
    model = ResettlementModel(small, seed=1)
    model.run(2)
    # one agent per household formed so far; the reserved slots get theirs when a couple sets up house
    assert len(model.households) == model.pop.next_household == len(model.agents)
    h = next(iter(model.households.select(lambda a: a.active and a.relocated)))
    assert isinstance(h, Household)
    assert h.size == len(h.members) == model.pop.size[h.index]
    assert all(name in {o.name.lower() for o in Option} for name in h.work)
    assert h.income_per_capita == model.income_per_capita[h.index]
    relocated = model.households.select(lambda a: a.relocated)
    assert len(relocated) == int(model.pop.relocated[: model.pop.next_household].sum())
    roster = h.roster()
    assert len(roster) == h.size and roster[0]["relation"] == "head"
    strategy = h.strategy
    assert strategy["out_of_county"] + strategy["near_home"] + strategy["farming"] + strategy["not_working"] == len(
        h.work
    )
    brought = model.contribution[h.members]
    assert strategy["brought_in_yuan_month"] == pytest.approx(brought[model.labour[h.members]].sum())
    if strategy["main_earner"] is not None:  # the member who brought in most
        assert model.contribution[strategy["main_earner"]] == brought.max() > 0
    waiting = model.households.select(lambda a: not a.active and a.relocated)
    assert len(waiting) > 0 and all(a.arrival_cohort > 0 for a in waiting)  # later arrival waves


def test_new_households_get_agents_as_couples_set_up_house(small):
    model = ResettlementModel(
        small.model_copy(update={"simulation": small.simulation.model_copy(update={"years": 6})}), seed=3
    )
    model.run()
    formed = model.demography_totals["new_households"]
    assert formed > 0
    assert len(model.households) == model.pop.next_household == len(model.agents)
    h = model.households.select(lambda a: a.index >= model.pop.next_household - formed)
    assert {r["relation"] for a in h for r in a.roster()} <= {"head", "spouse", "child"}


def test_monthly_indicators_are_collected(small):
    model = ResettlementModel(small, seed=2)
    model.run(5)
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 5 and list(df["month"]) == [1, 2, 3, 4, 5]
    assert "by_age_group.16-29.share_out_of_county" in df.columns
    assert "by_education.college.employment_rate" in df.columns


def test_worker_ages_are_those_of_the_workers(small):
    model = ResettlementModel(small, seed=3)
    model.run(12)
    pop = model.pop
    living = model.living_households()
    workers = np.flatnonzero(model.labour & living[pop.household])
    option = pop.option[workers]
    out_age = pop.age[workers[option == Option.OUT_OF_COUNTY]].astype(float)
    local = np.isin(option, [Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE, Option.WORKSHOP])
    ind = model.indicators
    assert out_age.size > 50
    assert ind["mean_age_out_of_county"] == pytest.approx(out_age.mean())
    assert ind["share_over_50_out_of_county"] == pytest.approx((out_age > 50).mean())
    gap = pop.age[workers[local]].mean() - out_age.mean()
    assert ind["age_gap_local_nonfarm_minus_out_of_county"] == pytest.approx(gap)
    assert 16 <= ind["mean_age_out_of_county"] <= 60


scenario_params = st.fixed_dictionaries(
    {
        "community.relocated_population": st.integers(200, 2500),
        "community.local_resident_share": st.floats(0.0, 0.6),
        "community.junior_middle_or_below_share": st.floats(0.3, 1.0),
        "community.distance_max_km": st.floats(60, 400),
        "community.source_villages": st.integers(1, 200),
        "labour_demand.industry_posts_per_100_workers": st.floats(0, 80),
        "labour_demand.services_posts_per_100_workers": st.floats(0, 80),
        "policies.public_welfare_jobs.posts_per_100_households": st.floats(0, 40),
        "policies.employment_guarantee.enabled": st.booleans(),
        "policies.workshops.enabled": st.booleans(),
        "policies.startup_support.enabled": st.booleans(),
        "policies.community_services.enabled": st.booleans(),
        "wages.out_of_county": st.floats(1000, 9000),
        "choice.inertia": st.floats(0, 5),
        "choice.social": st.floats(0, 5),
        "policies.transition_period.years": st.integers(0, 3),
        "policies.subsistence_allowance.take_up": st.floats(0, 1),
        "ties.allocation": st.sampled_from(["mixed", "village_clustered"]),
        "ties.activity_participation": st.floats(0, 1),
        "ties.households_per_building": st.integers(2, 100),
        "return_to_origin.base_rate": st.floats(0, 0.2),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=scenario_params, seed=st.integers(0, 10_000))
def test_invariants_hold_every_month(params, seed):
    labour = max(1, int(params["community.relocated_population"] * 0.5))
    overrides = {**params, "community.relocated_labour_force": labour, "community.distance_min_km": 1}
    model = ResettlementModel(small_scenario(overrides), seed=seed)
    pop = model.pop
    people, slots = int(pop.present.sum()), pop.n_members
    assert pop.size[pop.relocated].sum() == params["community.relocated_population"]
    returned_before = model.returned.copy()
    for _ in range(14):  # crosses a yearly ageing step
        model.step()
        net = model.social.network
        assert (net.src < net.dst).all() and (np.diff(net.key) > 0).all()
        assert ((net.strength > 0) & (net.strength <= 1)).all()
        assert (model.integration >= 0).all() and (model.integration <= 1 + 1e-12).all()
        assert (model.returned >= returned_before).all() and not model.returned[~pop.relocated].any()
        returned_before = model.returned.copy()
        back = model.returned[pop.household] & model.labour
        local_work = [Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PART_TIME, Option.WORKSHOP]
        assert not np.isin(pop.option[back & ~model.self_employed], local_work).any()
        assert model.indicators["mean_degree"] == pytest.approx(net.degree().mean())
        ind = model.indicators
        if ind["employed"] > 0:
            sector = sum(ind[k] for k in ("share_agriculture", "share_industry", "share_services", "share_part_time"))
            assert sector == pytest.approx(1.0)
            assert ind["share_local"] + ind["share_out_of_county"] == pytest.approx(1.0)
        if ind["labour_force"] > 0:
            assert ind["employment_rate"] + ind["share_not_working"] == pytest.approx(1.0)
        else:  # everyone moved in so far went back: the shares have nobody to count
            assert np.isnan(ind["employment_rate"]) and np.isnan(ind["share_not_working"])
        assert (model.household_income.total >= 0).all() and (model.income_per_capita >= 0).all()
        assert ind["income_per_capita_mean"] >= 0 and 0 <= ind["poverty_rate"] <= 1
        held = model.posts_held()
        for j in CAPPED:  # shared posts never exceed their number; own businesses and reserved posts are extra
            assert held[j] <= model.economy.capacity[j]
        assert (pop.option[model.reserved] == Option.PUBLIC_WELFARE).all()
        assert (pop.option[model.self_employed] == Option.LOCAL_SERVICES).all()
        welfare = np.bincount(pop.household, weights=(pop.option == Option.PUBLIC_WELFARE) & model.labour)
        assert welfare.max(initial=0) <= 2  # one shared post per household, plus at most a guarantee post
        assert (pop.option[~model.labour] == Option.NOT_WORKING).all()
        # people are conserved apart from births, deaths and moves
        t = model.demography_totals
        present = int(pop.present.sum())
        assert present == people + t["births"] + t["marriages"] - t["deaths"] - t["moved_out"]
        assert pop.n_members == slots and pop.size.sum() == present
        assert not pop.present[pop.next_member :].any() and (pop.spouse[pop.spouse >= 0] < pop.next_member).all()
        assert (pop.size[pop.active] > 0).all()
        assert model.returned.sum() == model.indicators["returned_households"]
        locals_ = ~model.member_relocated
        assert not np.isin(pop.option[locals_], [Option.FARMING_ORIGIN, Option.PART_TIME, Option.PUBLIC_WELFARE]).any()
        costs = [ind[f"policy_cost_month_{name}"] for name in POLICY_NAMES]
        assert min(costs) >= 0 and sum(costs) == pytest.approx(ind["policy_cost_month_total"])
        for block in ("by_age_group", "by_education"):
            for shares in ind[block].values():
                if shares["employment_rate"] > 0:
                    assert shares["share_local"] + shares["share_out_of_county"] == pytest.approx(1.0)


@pytest.mark.parametrize("overrides", [{}, {"policies.relocation_terms.enabled": True, "shocks.enabled": True}])
def test_indicators_in_the_last_month_only_give_the_same_final_month(overrides):
    scenario = small_scenario(overrides, years=2)
    every = ResettlementModel(scenario, seed=4)
    every.run(20)
    last = ResettlementModel(scenario, seed=4)
    last.run(20, final_only=True)
    a, b = every.flat_indicators, last.flat_indicators
    assert a.keys() == b.keys()
    differ = [k for k in a if not (a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])))]
    assert not differ, differ
    assert len(last.datacollector.get_model_vars_dataframe()) == 1 and last.report_monthly


def test_local_market_pay_follows_the_county_minimum_wage_and_policy_pay_does_not():
    """Local industry, services and casual pay scale with the county's minimum wage over the
    reference (docs/MODEL.md 7.1); out-of-county pay and policy-set pay do not."""
    typical = ResettlementModel(small_scenario(years=1), seed=3).base_economy
    high = ResettlementModel(small_scenario({"community.minimum_wage_yuan_month": 1810}, years=1), seed=3)
    rich = high.base_economy
    index = 1810 / 1575
    assert high.config.local_pay_index == pytest.approx(index)
    assert typical.wage[Option.LOCAL_INDUSTRY] == pytest.approx(2200)
    assert rich.wage[Option.LOCAL_INDUSTRY] == pytest.approx(2200 * index)
    assert rich.wage[Option.LOCAL_SERVICES] == pytest.approx(1900 * index)
    assert rich.casual_wage == pytest.approx(1300 * index)
    assert rich.wage[Option.OUT_OF_COUNTY] == typical.wage[Option.OUT_OF_COUNTY] == 4549
