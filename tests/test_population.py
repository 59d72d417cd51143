"""The population generator reproduces the community profile it is given."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.schema import Population as PopulationParams
from simulation.options import Education
from simulation.population import generate_population, household_sizes, labour_mask

from .conftest import small_scenario


@pytest.fixture(scope="module")
def community():
    scenario = small_scenario()
    return scenario, generate_population(scenario, np.random.default_rng(7))


def test_household_sizes_sum_exactly_and_stay_in_range():
    rng = np.random.default_rng(0)
    params = PopulationParams()
    for total in (2, 3, 17, 1000, 12345):
        sizes = household_sizes(total, params, rng)
        assert sizes.sum() == total
        assert sizes.max() <= params.max_household_size
    sizes = household_sizes(100_000, params, rng)
    assert 3.8 < sizes.mean() < 4.1  # truncation trims the mean of 4.0 slightly
    assert (sizes[:-1] >= 2).all()  # no one-person households except a possible remainder


def test_people_and_labour_match_the_profile(community):
    scenario, pop = community
    c = scenario.community
    relocated_people = pop.size[pop.relocated].sum()
    assert relocated_people == c.relocated_population
    labour = labour_mask(pop, scenario.population) & pop.relocated[pop.household]
    assert labour.sum() == pytest.approx(c.relocated_labour_force, rel=0.05)
    local_people = pop.size[~pop.relocated].sum()
    assert local_people == round(c.relocated_population * c.local_resident_share / (1 - c.local_resident_share))


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
    adult = pop.age >= scenario.population.working_age_min
    assert (np.bincount(pop.household, weights=adult, minlength=pop.n_households) > 0).all()
    carers = np.bincount(pop.household, weights=pop.care_duty, minlength=pop.n_households)
    assert carers.max() <= 1
    assert labour_mask(pop, scenario.population)[pop.care_duty].all()
    young_child = np.bincount(pop.household, weights=pop.age < 6, minlength=pop.n_households) > 0
    has_labour = (
        np.bincount(pop.household, weights=labour_mask(pop, scenario.population), minlength=pop.n_households) > 0
    )
    assert (carers[young_child & has_labour] == 1).all()


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


def test_members_are_contiguous_per_household(community):
    _, pop = community
    assert (np.diff(pop.household) >= 0).all()
    assert (pop.start[1:] - pop.start[:-1] == pop.size).all()
