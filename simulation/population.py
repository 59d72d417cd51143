"""Generate a resettlement community's households and members as numpy arrays.

Households are stored in arrays indexed by household; members in arrays indexed by member,
contiguous per household (`start[h]:start[h + 1]`). Mesa agents are thin handles over
these arrays (see `model.Household`). The generator takes the survey's input columns
(`Community`) and the stated assumptions (`Population`) and draws everything else from the
model's seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .options import Education, Option

if TYPE_CHECKING:
    from scenarios.schema import Community, Scenario
    from scenarios.schema import Population as PopulationParams


@dataclass
class Population:
    """State of all households and members. Arrays are mutated in place by the model."""

    # households
    size: np.ndarray  # int16, members per household
    start: np.ndarray  # int64, member offsets, length n_households + 1
    relocated: np.ndarray  # bool, False for long-standing local residents
    village: np.ndarray  # int32, origin village (locals share the id `n_villages`)
    distance_km: np.ndarray  # float32, relocation distance (0 for locals)
    land_mu: np.ndarray  # float32, land kept at the origin (mu)
    # members
    household: np.ndarray  # int32
    age: np.ndarray  # int16, years
    female: np.ndarray  # bool
    education: np.ndarray  # int8, `Education`
    skill: np.ndarray  # float32, vocational skill in [0, 1]
    disabled: np.ndarray  # bool, no capacity to work
    care_duty: np.ndarray  # bool, the household's carer of young children or old/disabled
    option: np.ndarray  # int8, `Option` this month
    out_sector_industry: np.ndarray  # bool, sector of an out-of-county job
    months_out_total: np.ndarray  # int16, months ever spent working outside the county
    n_villages: int

    @property
    def n_households(self) -> int:
        """Number of households (relocated and local)."""
        return int(self.size.shape[0])

    @property
    def n_members(self) -> int:
        """Number of people."""
        return int(self.household.shape[0])


def household_sizes(total_people: int, params: PopulationParams, rng: np.random.Generator) -> np.ndarray:
    """Household sizes summing exactly to `total_people`.

    Sizes are 2 + Poisson(mean - 2), truncated at the maximum: one-person households are
    not generated because they hardly ever applied to move (seed 002).
    """
    if total_people <= 0:
        return np.zeros(0, dtype=np.int16)
    if total_people == 1:
        return np.ones(1, dtype=np.int16)
    lam = max(params.mean_household_size - 2.0, 0.0)
    n_draw = int(total_people / max(params.mean_household_size, 2.0) * 1.2) + 10
    sizes = np.minimum(2 + rng.poisson(lam, n_draw), params.max_household_size)
    while sizes.sum() < total_people:  # rare: only when the draw came out short
        sizes = np.concatenate([sizes, np.minimum(2 + rng.poisson(lam, n_draw), params.max_household_size)])
    cum = np.cumsum(sizes)
    n = int(np.searchsorted(cum, total_people)) + 1
    sizes = sizes[:n].copy()
    sizes[-1] -= cum[n - 1] - total_people  # at least 1: cum[n - 2] < total_people <= cum[n - 1]
    return sizes.astype(np.int16)


def _member_roles(n: int, worker_prob: float, params: PopulationParams, rng: np.random.Generator) -> np.ndarray:
    """0 working-age, 1 child, 2 elder, drawn independently for each member."""
    child_prob = (1.0 - worker_prob) * params.child_share_of_dependants
    return rng.choice(3, size=n, p=[worker_prob, child_prob, 1.0 - worker_prob - child_prob])


def _ages(roles: np.ndarray, params: PopulationParams, rng: np.random.Generator) -> np.ndarray:
    """Ages by role: working-age truncated normal (mean 38, sd 12), children uniform,
    elders beyond working age with an exponential tail (mean 8 years, capped at 95)."""
    n = roles.shape[0]
    lo, hi = params.working_age_min, params.working_age_max
    worker_age = np.clip(np.rint(rng.normal(38.0, 12.0, n)), lo, hi)
    child_age = rng.integers(0, lo, n)
    elder_age = np.minimum(hi + 1 + np.floor(rng.exponential(8.0, n)), 95)
    return np.select([roles == 0, roles == 1], [worker_age, child_age], elder_age).astype(np.int16)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _education(
    age: np.ndarray,
    working: np.ndarray,
    low_share: float,
    shift: np.ndarray,
    params: PopulationParams,
    rng: np.random.Generator,
) -> np.ndarray:
    """Education by a cohort model: younger people are more often senior-high or above.

    The intercept is solved so that the share of working-age relocated members with
    junior-middle schooling or less equals the survey's figure.
    """
    trend = params.education_age_gradient * (40.0 - age) / 10.0
    target_high = 1.0 - low_share
    ref = working & (shift == 0)
    lo, hi = -20.0, 20.0
    for _ in range(60):  # bisection on the intercept
        mid = 0.5 * (lo + hi)
        if _sigmoid(mid + trend[ref]).mean() < target_high:
            lo = mid
        else:
            hi = mid
    p_high = _sigmoid(0.5 * (lo + hi) + trend + shift)
    high = rng.random(age.shape[0]) < p_high
    college = rng.random(age.shape[0]) < params.college_share_of_senior
    p_primary = _sigmoid(
        np.log(params.primary_share_of_junior_or_below / max(1e-9, 1 - params.primary_share_of_junior_or_below)) - trend
    )
    primary = rng.random(age.shape[0]) < p_primary
    edu = np.where(
        high,
        np.where(college, Education.COLLEGE, Education.SENIOR_HIGH),
        np.where(primary, Education.PRIMARY_OR_LESS, Education.JUNIOR_MIDDLE),
    )
    return edu.astype(np.int8)


def _villages(n_households: int, community: Community, params: PopulationParams, rng: np.random.Generator):
    """Origin village of each relocated household and each village's distance.

    Village sizes vary (lognormal weights); distances follow a Beta shape between the
    survey's nearest and farthest distance.
    """
    n_villages = community.source_villages
    sigma = np.sqrt(np.log1p(params.village_size_cv**2))
    weights = rng.lognormal(0.0, sigma, n_villages)
    village = rng.choice(n_villages, size=n_households, p=weights / weights.sum()).astype(np.int32)
    span = community.distance_max_km - community.distance_min_km
    village_distance = community.distance_min_km + span * rng.beta(
        params.distance_beta_a, params.distance_beta_b, n_villages
    )
    return village, village_distance.astype(np.float32)


def generate_population(scenario: Scenario, rng: np.random.Generator) -> Population:
    """Draw a community's households and members from its profile and assumptions."""
    community, params = scenario.community, scenario.population
    relocated_people = community.relocated_population
    local_people = round(relocated_people * community.local_resident_share / (1 - community.local_resident_share))
    labour_share = community.relocated_labour_force / relocated_people
    worker_prob = min(1.0, labour_share / (1.0 - params.incapacity_share))

    sizes_reloc = household_sizes(relocated_people, params, rng)
    sizes_local = household_sizes(local_people, params, rng)
    sizes = np.concatenate([sizes_reloc, sizes_local]).astype(np.int16)
    n_h, n_reloc = sizes.shape[0], sizes_reloc.shape[0]
    relocated = np.zeros(n_h, dtype=bool)
    relocated[:n_reloc] = True
    start = np.zeros(n_h + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    n_m = int(start[-1])
    household = np.repeat(np.arange(n_h, dtype=np.int32), sizes)

    roles = _member_roles(n_m, worker_prob, params, rng)
    # every household needs an adult: if it drew only children, its first member is an elder
    has_adult = np.bincount(household, weights=(roles != 1), minlength=n_h) > 0
    roles[start[:-1][~has_adult]] = 2
    age = _ages(roles, params, rng)
    female = rng.random(n_m) < params.female_share
    working = roles == 0
    disabled = working & (rng.random(n_m) < params.incapacity_share)

    member_relocated = relocated[household]
    shift = np.where(member_relocated, 0.0, params.local_resident_education_shift)
    education = _education(age, working & member_relocated, community.junior_middle_or_below_share, shift, params, rng)
    skill = rng.beta(params.skill_beta_a, params.skill_beta_b, n_m).astype(np.float32)

    village_r, village_distance = _villages(n_reloc, community, params, rng)
    n_villages = community.source_villages
    village = np.concatenate([village_r, np.full(n_h - n_reloc, n_villages, dtype=np.int32)])
    distance = np.concatenate([village_distance[village_r], np.zeros(n_h - n_reloc, dtype=np.float32)])
    sigma = np.sqrt(np.log1p(params.land_cv**2))
    land = params.land_mu_per_person * sizes * rng.lognormal(-0.5 * sigma**2, sigma, n_h)
    land = np.where(relocated, land, 0.0).astype(np.float32)

    pop = Population(
        size=sizes,
        start=start,
        relocated=relocated,
        village=village,
        distance_km=distance,
        land_mu=land,
        household=household,
        age=age,
        female=female,
        education=education,
        skill=skill,
        disabled=disabled,
        care_duty=np.zeros(n_m, dtype=bool),
        option=np.full(n_m, Option.NOT_WORKING, dtype=np.int8),
        out_sector_industry=np.zeros(n_m, dtype=bool),
        months_out_total=np.zeros(n_m, dtype=np.int16),
        n_villages=n_villages,
    )
    assign_care_duties(pop, params, rng)
    return pop


def labour_mask(pop: Population, params: PopulationParams) -> np.ndarray:
    """Members in the labour force: working age and able to work."""
    return (pop.age >= params.working_age_min) & (pop.age <= params.working_age_max) & ~pop.disabled


def assign_care_duties(pop: Population, params: PopulationParams, rng: np.random.Generator) -> None:
    """Give one labour-force member of each household that needs care a care duty.

    A household needs care if it has a child under `child_care_age`, a member aged
    `elder_care_age` or over, or a disabled member. The carer is a woman where there is
    one (a stated assumption reflecting who stays home), otherwise any labour member.
    """
    n_h = pop.n_households
    dependent = (pop.age < params.child_care_age) | (pop.age >= params.elder_care_age) | pop.disabled
    needs_care = np.bincount(pop.household, weights=dependent, minlength=n_h) > 0
    labour = labour_mask(pop, params)
    pop.care_duty[:] = False
    idx = np.flatnonzero(labour & needs_care[pop.household])
    if idx.size == 0:
        return
    score = pop.female[idx] * 2.0 + rng.random(idx.size)
    order = np.lexsort((score, pop.household[idx]))
    hh_sorted = pop.household[idx][order]
    last = np.r_[hh_sorted[1:] != hh_sorted[:-1], True]
    pop.care_duty[idx[order][last]] = True
