"""Demography once a year: deaths, births, marriage, new households, frailty (docs/MODEL.md 7.11)."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import load_scenario
from simulation import ResettlementModel
from simulation.demography import death_probability, demographic_year
from simulation.population import Relation, generate_population

from .conftest import SMALL, small_scenario


def test_death_rates_follow_the_table_and_men_die_more():
    scenario = load_scenario(None)
    d = scenario.demography
    age = np.array([0, 3, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    men = death_probability(age, np.zeros(age.size, dtype=bool), scenario)
    women = death_probability(age, np.ones(age.size, dtype=bool), scenario)
    assert 0.5 * (men + women) == pytest.approx(np.asarray(d.mortality_per_1000) / 1000)
    assert men / women == pytest.approx(d.male_mortality_ratio)


@pytest.fixture
def year_after():
    scenario = load_scenario(None, {**SMALL, "simulation.years": 10})
    pop = generate_population(scenario, np.random.default_rng(5))
    pop.active[:] = pop.size > 0  # every wave moved in
    before = {
        "present": pop.present.copy(),
        "age": pop.age.copy(),
        "households": pop.next_household,
        "members": pop.next_member,
    }
    events = demographic_year(pop, scenario, np.random.default_rng(6))
    return scenario, pop, before, events


def test_a_year_of_births_deaths_and_marriages(year_after):
    _scenario, pop, before, events = year_after
    people = int(before["present"].sum())
    assert events.births > 0 and events.deaths > 0 and events.marriages > 0 and events.married_out > 0
    # births about 1-2.5 % of people, deaths about 0.5-1.2 % (crude rates of the rural west, 2020)
    assert 0.01 < events.births / people < 0.025
    assert 0.004 < events.deaths / people < 0.012
    born = events.new_members[pop.age[events.new_members] == 0]
    assert born.size == events.births
    # every baby's household has a married woman of childbearing age
    mothers = pop.present & pop.female & (pop.spouse >= 0) & (pop.age >= 16) & (pop.age <= 50)
    has_mother = np.bincount(pop.household[mothers], minlength=pop.n_households) > 0
    assert has_mother[pop.household[born]].all()
    # conservation: births and wives in, deaths and leavers out
    moved_out = events.married_out + 2 * events.couples_left
    assert pop.present.sum() == people + events.births + events.marriages - events.deaths - moved_out
    assert pop.size.sum() == pop.present.sum()
    # survivors aged a year
    stayed = before["present"] & pop.present
    assert (pop.age[stayed] == before["age"][stayed] + 1).all()


def test_new_couples_and_new_households(year_after):
    _scenario, pop, before, events = year_after
    wives = np.flatnonzero(pop.present & (np.arange(pop.n_members) >= before["members"]) & (pop.age >= 18))
    assert wives.size > 0 and pop.female[wives].all()
    assert (pop.spouse[pop.spouse[wives]] == wives).all()
    assert (pop.household[wives] == pop.household[pop.spouse[wives]]).all()
    formed = np.arange(before["households"], pop.next_household)
    assert formed.size == events.new_households
    if formed.size:
        assert pop.active[formed].all() and (pop.size[formed] == 2).all() and (pop.land_mu[formed] == 0).all()
        heads = np.flatnonzero(np.isin(pop.household, formed) & pop.present)
        assert set(pop.relation[heads]) <= {Relation.HEAD, Relation.SPOUSE}


def test_running_out_of_reserved_slots_is_a_clear_error():
    scenario = load_scenario(None, {**SMALL, "simulation.years": 1})
    pop = generate_population(scenario, np.random.default_rng(1))
    pop.active[:] = pop.size > 0
    pop.next_member = pop.n_members - 1
    with pytest.raises(RuntimeError, match="no member slots left"):
        demographic_year(pop, scenario, np.random.default_rng(2))


def test_after_ten_years_there_are_young_children_and_the_age_structure_holds():
    model = ResettlementModel(small_scenario(years=10), seed=4)
    model.run()
    ind = model.indicators
    assert ind["children_under_6"] > 0.05 * ind["people"]
    # bounds from the 2020 census of the provinces of the survey (docs/MODEL.md 7.11):
    # 0-14 between rural China (about 19 %) and Guizhou (24 %), with a margin either side
    assert 0.15 < ind["share_aged_0_14"] < 0.30
    assert 0.08 < ind["share_aged_65_plus"] < 0.18
    assert ind["births_total"] > 0 and ind["deaths_total"] > 0 and ind["new_households_total"] > 0
    assert ind["people"] == pytest.approx(model.config.community.relocated_population, rel=0.15)


def test_without_demography_people_only_age():
    model = ResettlementModel(small_scenario({"demography.enabled": False}, years=3), seed=4)
    present, age = model.pop.present.copy(), model.pop.age.copy()
    model.run()
    assert (model.pop.present == present).all()
    assert (model.pop.age[present] == age[present] + 2).all()
    assert model.indicators["births_total"] == 0


def test_demography_is_deterministic():
    a = ResettlementModel(small_scenario(years=3), seed=9)
    b = ResettlementModel(small_scenario(years=3), seed=9)
    a.run()
    b.run()
    assert a.flat_indicators == pytest.approx(b.flat_indicators, nan_ok=True)
    assert (a.pop.age == b.pop.age).all() and (a.pop.household == b.pop.household).all()
