"""The population generator reproduces the community profile it is given."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import load_scenario
from simulation.options import Education
from simulation.population import Relation, generate_population, labour_mask

from .conftest import small_scenario


@pytest.fixture(scope="module")
def community():
    scenario = small_scenario()
    return scenario, generate_population(scenario, np.random.default_rng(7))


def test_people_and_labour_match_the_profile(community):
    scenario, pop = community
    c = scenario.community
    people = pop.present & pop.relocated[pop.household]
    assert people.sum() == c.relocated_population
    assert pop.size[pop.relocated].sum() == c.relocated_population
    everyone = pop.active.copy()
    pop.active[:] = pop.size > 0  # all arrival waves moved in
    labour = labour_mask(pop, scenario.population) & pop.relocated[pop.household]
    pop.active[:] = everyone
    assert labour.sum() == pytest.approx(c.relocated_labour_force, rel=0.04)
    local_people = pop.size[~pop.relocated].sum()
    assert local_people == round(c.relocated_population * c.local_resident_share / (1 - c.local_resident_share))


def test_composition_dependency_rises_with_size_and_small_households_are_old(community):
    _scenario, pop = community
    people = pop.present & pop.relocated[pop.household]
    h = pop.household[people]
    age = pop.age[people]
    dependant = (age < 16) | (age > 60)
    dep = np.bincount(h, weights=dependant, minlength=pop.n_households)
    old = np.bincount(h, weights=age >= 60, minlength=pop.n_households)
    size = pop.size
    reloc = pop.relocated & (size > 0)
    share = {k: (dep[reloc & (size == k)] / k).mean() for k in range(3, 8)}
    assert share[3] < share[4] < share[5] < share[6], share  # the dependency ratio rises with size
    small = reloc & (size <= 2)
    assert (old[small] == size[small]).mean() > 0.5  # one- and two-person households: mostly old people only
    three_generations = np.bincount(
        h, weights=np.isin(pop.relation[people], (Relation.PARENT, Relation.GRANDCHILD)), minlength=pop.n_households
    )
    assert 0.10 < (three_generations[reloc] > 0).mean() < 0.40


def test_spouses_are_paired_and_of_opposite_sex(community):
    _, pop = community
    married = np.flatnonzero(pop.spouse >= 0)
    assert married.size > 0
    assert (pop.spouse[pop.spouse[married]] == married).all()
    assert (pop.female[married] != pop.female[pop.spouse[married]]).all()
    assert (pop.household[married] == pop.household[pop.spouse[married]]).all()


def test_arrival_waves(community):
    scenario, pop = community
    reloc = pop.relocated & (pop.size > 0)
    waves = np.bincount(pop.cohort[reloc], minlength=scenario.community.arrival_years)
    assert waves.size == scenario.community.arrival_years
    assert waves.min() > 0.8 * waves.mean()
    assert (pop.active[reloc] == (pop.cohort[reloc] == 0)).all()  # later waves are not here yet
    assert pop.active[~pop.relocated & (pop.size > 0)].all()  # long-standing residents are


def test_education_share_matches_the_survey_column(community):
    scenario, pop = community
    reloc = pop.relocated[pop.household]
    working_age = (pop.age >= 16) & (pop.age <= 60) & reloc
    low = pop.education[working_age] <= Education.JUNIOR_MIDDLE
    assert low.mean() == pytest.approx(scenario.community.junior_middle_or_below_share, abs=0.03)
    young = working_age & (pop.age < 30)
    old = working_age & (pop.age >= 45)
    assert (pop.education[young] >= Education.SENIOR_HIGH).mean() > (pop.education[old] >= Education.SENIOR_HIGH).mean()


def test_every_household_has_an_adult_and_at_most_one_carer(community):
    scenario, pop = community
    here = pop.members_now()
    adult = here & (pop.age >= scenario.population.working_age_min)
    active = pop.active & (pop.size > 0)
    assert (np.bincount(pop.household, weights=adult, minlength=pop.n_households)[active] > 0).all()
    carers = np.bincount(pop.household, weights=pop.care_duty, minlength=pop.n_households)
    assert carers.max() <= 1
    assert not (pop.frail | pop.disabled)[pop.care_duty].any()
    young_child = np.bincount(pop.household, weights=here & (pop.age < 6), minlength=pop.n_households) > 0
    able = here & ~pop.frail & ~pop.disabled & (pop.age >= 16) & (pop.age <= scenario.population.carer_age_max)
    can_care = np.bincount(pop.household, weights=able, minlength=pop.n_households) > 0
    assert (carers[young_child & can_care] == 1).all()


def test_a_grandparent_past_working_age_takes_the_care(community):
    scenario, pop = community
    carer_age = pop.age[pop.care_duty]
    assert (carer_age > scenario.population.working_age_max).any()
    assert pop.female[pop.care_duty & (pop.age <= 60)].mean() > 0.6  # women more often, from lower pay and the norm


def test_origins_distances_and_land(community):
    scenario, pop = community
    c = scenario.community
    reloc = pop.relocated
    assert pop.village[reloc].max() < c.source_villages
    assert (pop.village[~reloc] == c.source_villages).all()
    assert pop.distance_km[reloc].min() >= c.distance_min_km
    assert pop.distance_km[reloc].max() <= c.distance_max_km
    assert (pop.land_mu[~reloc] == 0).all() and (pop.land_mu[reloc] > 0).all()
    per_person = pop.land_mu[reloc].sum() / pop.size[reloc].sum()
    assert per_person == pytest.approx(scenario.population.land_mu_per_person, rel=0.1)
    assert (
        pop.n_members > pop.next_member and pop.n_households > pop.next_household
    )  # slots kept for births and new households


def test_slot_reserve_follows_the_fertility_schedule():
    from scenarios.schema import Demography
    from simulation.population import BASELINE_FERTILITY, reserve_slots

    assert Demography().marital_fertility_per_1000 == BASELINE_FERTILITY
    base = load_scenario(None, {"simulation.years": 10})
    high = load_scenario(
        None, {"simulation.years": 10, "demography.marital_fertility_per_1000": [700, 600, 400, 220, 100, 24, 6]}
    )
    assert reserve_slots(100_000, base) == (30_064, 5_032)
    assert reserve_slots(100_000, high)[0] == 60_064
