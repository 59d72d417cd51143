"""Demography once a year: deaths, ageing, births, marriage and new households, frailty.

Batched over all members (docs/MODEL.md 7.11; rates and their sources in
scenarios/baseline.toml `[demography]`). People in households that have not yet moved in
only age; everything else happens to people living in households in the model. Marriage
follows the rural custom of the origin areas (assumption, 2020 census co-residence
patterns): a daughter who marries moves to her husband's household, outside the model; a
son who marries brings his wife into the household, and the couple then stays in the
parents' flat, moves to a flat of its own in the community (more often when the flat has
grown crowded: seed 002), or leaves the community. New people take slots reserved at
set-up (`population.reserve_slots`); households formed by couples take reserved household
slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .options import Education, Option
from .population import Population, Relation, frail_prevalence

if TYPE_CHECKING:
    from scenarios.schema import Scenario

FERTILITY_EDGES = np.array([20, 25, 30, 35, 40, 45])  # groups 15-19, ..., 45-49
MORTALITY_EDGES = np.array([1, 5, 15, 25, 35, 45, 55, 65, 75, 85])  # groups 0, 1-4, 5-14, ..., 85+
MARRIAGE_EDGES = np.array([20, 25, 30, 35])  # groups 15-19, ..., 35-39


def _rate(age: np.ndarray, edges: np.ndarray, per_1000: tuple[float, ...], lo: int, hi: int) -> np.ndarray:
    """Yearly probability by age group from a table per 1,000; 0 outside [lo, hi]."""
    table = np.asarray(per_1000) / 1000.0
    p = table[np.searchsorted(edges, age, side="right")]
    return np.where((age >= lo) & (age <= hi), p, 0.0)


def death_probability(age: np.ndarray, female: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Yearly chance of dying: the both-sexes table, men above it by `male_mortality_ratio`
    (women below it, so that a population of equal sexes keeps the table's rate)."""
    d = scenario.demography
    q = _rate(age, MORTALITY_EDGES, d.mortality_per_1000, 0, 200)
    r = d.male_mortality_ratio
    return np.minimum(q * np.where(female, 2.0 / (1.0 + r), 2.0 * r / (1.0 + r)), 1.0)


@dataclass
class YearEvents:
    """What one demographic year did (people or households)."""

    deaths: int = 0
    births: int = 0
    marriages: int = 0  # sons who married (their wives moved in)
    married_out: int = 0  # daughters who married and moved out
    new_households: int = 0  # couples who moved to a flat of their own in the community
    couples_left: int = 0  # couples who left the community
    new_members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    formed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # new households
    formed_from: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # the parents' households


def _take_slots(pop: Population, k: int) -> np.ndarray:
    """The next `k` free member slots."""
    start = pop.next_member
    if start + k > pop.n_members:
        raise RuntimeError(
            f"no member slots left for {k} new people ({pop.n_members - start} free): the demography rates "
            "are far above those the slots were reserved for (population.reserve_slots)"
        )
    pop.next_member += k
    return np.arange(start, start + k)


def _new_people(pop: Population, slots: np.ndarray, households: np.ndarray, age, female, relation, rng) -> None:
    """Fill new member slots: present, not working, with a fresh skill draw."""
    pop.household[slots] = households
    pop.present[slots] = True
    pop.age[slots] = age
    pop.female[slots] = female
    pop.relation[slots] = relation
    pop.spouse[slots] = -1
    pop.disabled[slots] = False
    pop.out_of_labour[slots] = False
    pop.frail[slots] = False
    pop.care_duty[slots] = False
    pop.option[slots] = Option.NOT_WORKING
    pop.skill[slots] = rng.beta(2.0, 5.0, slots.size)


def demographic_year(pop: Population, scenario: Scenario, rng: np.random.Generator) -> YearEvents:
    """One year of demography, in place. Returns the counts of what happened."""
    d = scenario.demography
    events = YearEvents()
    here = pop.members_now()
    n = pop.n_members
    u = rng.random((4, n))
    # deaths
    die = here & (u[0] < death_probability(pop.age, pop.female, scenario))
    events.deaths = int(die.sum())
    _leave(pop, die)
    # ageing (people whose household has not moved in yet age too)
    pop.age[pop.present] += 1
    # births to married women 15-49 whose husband lives in the household
    here = pop.members_now()
    husband = pop.spouse
    married = here & pop.female & (husband >= 0)
    married &= pop.present[np.maximum(husband, 0)]
    p_birth = _rate(pop.age, FERTILITY_EDGES, d.marital_fertility_per_1000, 15, 49)
    mothers = np.flatnonzero(married & (u[1] < p_birth))
    new = []
    if mothers.size:
        slots = _take_slots(pop, mothers.size)
        girl = rng.random(mothers.size) < 1.0 / (1.0 + d.sex_ratio_at_birth)
        young_mother = pop.relation[mothers] == Relation.CHILD_IN_LAW
        relation = np.where(young_mother, Relation.GRANDCHILD, Relation.CHILD).astype(np.int8)
        _new_people(pop, slots, pop.household[mothers], 0, girl, relation, rng)
        # schooling of the next generation: the better-schooled parent's level, one higher half the time (assumption)
        parent_edu = np.maximum(pop.education[mothers], pop.education[husband[mothers]])
        up = rng.random(mothers.size) < 0.5
        pop.education[slots] = np.minimum(parent_edu + up, Education.COLLEGE)
        new.append(slots)
    events.births = int(mothers.size)
    # first marriage of the household's unmarried sons and daughters
    single = here & (pop.spouse < 0) & np.isin(pop.relation, (Relation.CHILD, Relation.GRANDCHILD))
    p_men = _rate(pop.age, MARRIAGE_EDGES, d.first_marriage_men_per_1000, 15, 39)
    p_women = _rate(pop.age, MARRIAGE_EDGES, d.first_marriage_women_per_1000, 15, 39)
    marry = single & (u[2] < np.where(pop.female, p_women, p_men))
    brides = np.flatnonzero(marry & pop.female)
    events.married_out = int(brides.size)
    _leave(pop, marry & pop.female)
    grooms = np.flatnonzero(marry & ~pop.female)
    events.marriages = int(grooms.size)
    if grooms.size:
        wives = _take_slots(pop, grooms.size)
        wife_age = np.maximum(pop.age[grooms] - 2 + rng.integers(-2, 3, grooms.size), 18)
        _new_people(pop, wives, pop.household[grooms], wife_age, True, Relation.CHILD_IN_LAW, rng)
        # assortative schooling: the husband's level, one lower a third of the time (assumption)
        lower = rng.random(grooms.size) < 1 / 3
        pop.education[wives] = np.maximum(pop.education[grooms] - lower, Education.PRIMARY_OR_LESS)
        pop.spouse[grooms], pop.spouse[wives] = wives, grooms
        new.append(wives)
        _settle_couples(pop, scenario, grooms, wives, u[3][grooms], events)
    # frailty: onset so that each age keeps its share unable to look after themselves
    before = frail_prevalence(pop.age - 1, d.frail_share)
    after = frail_prevalence(pop.age, d.frail_share)
    onset = np.clip((after - before) / np.maximum(1.0 - before, 1e-9), 0.0, 1.0)
    pop.frail |= pop.members_now() & (rng.random(n) < onset)
    # school-leavers join the labour force outside it as often as the community's working-age people
    leavers = pop.members_now() & (pop.age == scenario.population.working_age_min)
    pop.out_of_labour |= leavers & (rng.random(n) < pop.outside_share)
    pop.recount()
    events.new_members = np.concatenate(new) if new else np.zeros(0, dtype=np.int64)
    return events


def _leave(pop: Population, members: np.ndarray) -> None:
    """Members leave the community for good (death, marriage out, moving away)."""
    pop.present[members] = False
    pop.option[members] = Option.NOT_WORKING
    pop.care_duty[members] = False
    widowed = pop.spouse[members]
    widowed = widowed[widowed >= 0]
    pop.spouse[widowed] = -1
    pop.spouse[members] = -1


def _settle_couples(
    pop: Population,
    scenario: Scenario,
    grooms: np.ndarray,
    wives: np.ndarray,
    u: np.ndarray,
    events: YearEvents,
) -> None:
    """Where each new couple lives: the parents' flat, a flat of its own in the community
    (likelier when the parents' flat is crowded beyond the people it was allocated for), or
    away from the community."""
    d = scenario.demography
    home = pop.household[grooms]
    size_now = np.bincount(pop.household[pop.present], minlength=pop.n_households)[home]
    crowding = np.maximum(size_now / np.maximum(pop.flat_people[home], 1) - 1.0, 0.0)
    p_new = np.minimum(
        d.couple_new_flat_share * (1.0 + d.crowding_split_factor * crowding), 1.0 - d.couple_leaves_share
    )
    leaves = u < d.couple_leaves_share
    moves = ~leaves & (u < d.couple_leaves_share + p_new)
    gone = np.zeros(pop.n_members, dtype=bool)
    gone[grooms[leaves]] = True
    gone[wives[leaves]] = True
    events.couples_left = int(leaves.sum())
    _leave(pop, gone)
    movers = np.flatnonzero(moves)
    if movers.size == 0:
        return
    start = pop.next_household
    if start + movers.size > pop.n_households:
        raise RuntimeError(
            f"no household slots left for {movers.size} new households: the demography rates are far above "
            "those the slots were reserved for (population.reserve_slots)"
        )
    new_h = np.arange(start, start + movers.size)
    pop.next_household += movers.size
    old_h = home[movers]
    # the new household shares the parents' origin, wave and move (their old house is the parents')
    for name in ("relocated", "village", "distance_km", "cohort", "arrival_month"):
        getattr(pop, name)[new_h] = getattr(pop, name)[old_h]
    pop.active[new_h] = True
    pop.flat_people[new_h] = 2
    pop.land_mu[new_h] = 0.0  # the land stays with the parents
    pop.household[grooms[movers]] = new_h
    pop.household[wives[movers]] = new_h
    pop.relation[grooms[movers]] = Relation.HEAD
    pop.relation[wives[movers]] = Relation.SPOUSE
    events.new_households = int(movers.size)
    events.formed, events.formed_from = new_h, old_h
