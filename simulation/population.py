"""Generate a resettlement community's households and members as numpy arrays.

Households are built as families are (docs/MODEL.md 7.11): a couple or a single adult with
the children the mother has borne so far, a married son who stayed with his wife and
children, and sometimes the couple's own old parents; and households of old people alone or
as a couple. Composition is therefore not drawn member by member: the dependency ratio rises
with household size, and one- and two-person households are mostly old. The number of
children per mother is solved so that the relocated labour force matches the survey.

Arrays are indexed by household and by member slot. Slots are reserved beyond the people
generated for the births and in-marrying spouses of the run (`reserve_slots`) and beyond
the households for couples who set up a household of their own, so arrays never change
shape: a member slot is `present` while its person lives in a household, a household slot
is `active` once its people have moved in (arrival waves) and while anyone lives in it.
Mesa agents are thin handles over these arrays (see `model.Household`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from .options import SCHOOLING_YEARS, Education, Option
from .relocation import Movers, relocation_chain

if TYPE_CHECKING:
    from scenarios.schema import Community, Scenario
    from scenarios.schema import Population as PopulationParams


class Relation(IntEnum):
    """A member's place in the household (as household registers record it)."""

    HEAD = 0
    SPOUSE = 1
    CHILD = 2
    PARENT = 3  # the head's or spouse's father or mother
    CHILD_IN_LAW = 4
    GRANDCHILD = 5


RELATION_NAMES = tuple(r.name.lower() for r in Relation)


@dataclass
class Population:
    """State of all households and members. Arrays are mutated in place by the model."""

    # households (slots; `active` says which are in the model now)
    size: np.ndarray  # int16, members present
    active: np.ndarray  # bool, moved in and not dissolved
    relocated: np.ndarray  # bool, False for long-standing local residents
    arrival_month: np.ndarray  # int16, month the household moved in (0: at the start)
    cohort: np.ndarray  # int8, arrival wave (0 first); locals -1
    flat_people: np.ndarray  # int16, people the flat was allocated for (25 m2 each, 004)
    village: np.ndarray  # int32, origin village (locals share the id `n_villages`)
    distance_km: np.ndarray  # float32, relocation distance (0 for locals)
    land_mu: np.ndarray  # float32, land kept at the origin (mu)
    escort: np.ndarray  # float32, drawn once: below `school_escort_share`, a parent stays near the school
    # members (slots; `present` says who lives in a household now)
    household: np.ndarray  # int32
    present: np.ndarray  # bool
    relation: np.ndarray  # int8, `Relation`
    spouse: np.ndarray  # int32, member index of the spouse, -1 if none
    age: np.ndarray  # int16, years
    female: np.ndarray  # bool
    education: np.ndarray  # int8, `Education`
    skill: np.ndarray  # float32, vocational skill in [0, 1]
    disabled: np.ndarray  # bool, no capacity to work, needs care
    out_of_labour: np.ndarray  # bool, of working age but outside the labour force (illness, other reasons)
    frail: np.ndarray  # bool, an elder unable to look after themselves
    care_duty: np.ndarray  # bool, the household's carer (of young children, school-age children, frail or disabled)
    option: np.ndarray  # int8, `Option` this month
    out_sector_industry: np.ndarray  # bool, sector of an out-of-county job
    months_out_total: np.ndarray  # int16, months ever spent working outside the county
    n_villages: int
    outside_share: float  # of able working-age people out of school, the share outside the labour force
    next_member: int  # first unused member slot
    next_household: int  # first unused household slot
    decision: Movers | None = None  # who moved and what the decision counted (the stage before the move, 7.12)

    @property
    def n_households(self) -> int:
        """Household slots (relocated, local and reserved for new households)."""
        return int(self.size.shape[0])

    @property
    def n_members(self) -> int:
        """Member slots (people generated and reserved for births and in-marriage)."""
        return int(self.household.shape[0])

    def members_now(self) -> np.ndarray:
        """Bool per member slot: lives in a household that is in the model now."""
        return self.present & self.active[self.household]

    def recount(self) -> None:
        """Household sizes from the members present; households left empty are dissolved."""
        self.size[:] = np.bincount(self.household[self.present], minlength=self.n_households)
        self.active &= self.size > 0


# Slots of one generated household, in this order (columns of the template arrays).
HEAD, WIFE = 0, 1
CHILDREN = slice(2, 6)  # up to 4 children of the head couple
PARENTS = slice(6, 8)  # up to 2 of the couple's parents
IN_LAW = 8  # a married son's wife
GRANDCHILDREN = slice(9, 12)  # up to 3 of the married son's children
N_SLOTS = 12
FIRST_BIRTH_AGE = (
    21  # mother's mean age at first birth (2020 census about 26 nationally, earlier in the rural west; assumption)
)
BIRTH_SPACING = 3  # years between births (assumption)


def _poisson_inverse(u: np.ndarray, lam: float, kmax: int) -> np.ndarray:
    """Poisson(lam) draws from uniforms `u`, capped at `kmax` (monotone in lam: common numbers)."""
    k = np.zeros(u.shape, dtype=np.int64)
    p = np.exp(-lam)
    cdf = p
    for j in range(1, kmax + 1):
        k += u > cdf
        p *= lam / j
        cdf += p
    return k


@dataclass
class _Draws:
    """Uniforms and normals for household templates, drawn once so that the number of
    children can be solved without changing anything else."""

    kind: np.ndarray
    alone: np.ndarray
    head_age: np.ndarray
    wife_gap: np.ndarray
    single: np.ndarray
    single_female: np.ndarray
    births: np.ndarray
    first_birth: np.ndarray
    child_female: np.ndarray
    child_left: np.ndarray
    son_married: np.ndarray
    son_stays: np.ndarray
    grand_births: np.ndarray
    parents: np.ndarray
    two_parents: np.ndarray
    parent_gap: np.ndarray
    elder_age: np.ndarray
    elder_gap: np.ndarray

    @classmethod
    def draw(cls, n: int, rng: np.random.Generator) -> _Draws:
        u = rng.random((13, n))
        g = rng.standard_normal((4, n))
        return cls(
            kind=u[0],
            alone=u[1],
            head_age=g[0],
            wife_gap=g[1],
            single=u[2],
            single_female=u[3],
            births=u[4],
            first_birth=g[2],
            child_female=rng.random((4, n)),
            child_left=rng.random((4, n)),
            son_married=u[5],
            son_stays=u[6],
            grand_births=u[7],
            parents=u[8],
            two_parents=u[9],
            parent_gap=g[3],
            elder_age=u[10],
            elder_gap=u[11],
        )


def household_templates(
    d: _Draws, children_mean: float, params: PopulationParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members of each household template: ages (n, N_SLOTS), sex, and who exists.

    Old-only households (`elderly_only_share`) are one old person or an old couple. The
    others have a head couple (a single adult in `single_adult_share`), the children the
    mother has had by her age (1 + Poisson(`children_mean` - 1) in all, one every
    `BIRTH_SPACING` years from about `FIRST_BIRTH_AGE`), of whom grown daughters have
    mostly married out and grown sons have married and left or stayed with wife and
    children (`married_son_coresidence`); a younger couple lives with one or two of its
    own parents in `elder_coresidence` of households.
    """
    n = d.kind.shape[0]
    age = np.zeros((n, N_SLOTS), dtype=np.int64)
    female = np.zeros((n, N_SLOTS), dtype=bool)
    exists = np.zeros((n, N_SLOTS), dtype=bool)
    old_only = d.kind < params.elderly_only_share
    # old people alone or as a couple (60 + an exponential tail, mean 10 years, capped at 95)
    old_age = np.minimum(60 + np.floor(-10.0 * np.log1p(-d.elder_age)), 95).astype(np.int64)
    # head couple of a family household
    head = np.clip(np.rint(params.head_age_mean + params.head_age_sd * d.head_age), 22, 80).astype(np.int64)
    head = np.where(old_only, old_age, head)
    age[:, HEAD] = head
    exists[:, HEAD] = True
    wife_age = np.clip(head - 2 + np.rint(2.0 * d.wife_gap).astype(np.int64), 18, 95)
    has_wife = np.where(old_only, d.alone >= params.elder_alone_share, d.single >= params.single_adult_share)
    single_female = ~has_wife & (d.single_female < 0.5)  # a widow or a woman whose husband is away for good
    female[:, HEAD] = single_female
    age[:, WIFE] = wife_age
    female[:, WIFE] = True
    exists[:, WIFE] = has_wife
    mother_age = np.where(has_wife, wife_age, np.where(single_female, head, head - 2))
    family = ~old_only
    # the couple's children
    births = 1 + _poisson_inverse(d.births, max(children_mean - 1.0, 0.0), 3)
    first = np.clip(FIRST_BIRTH_AGE + np.rint(2.0 * d.first_birth).astype(np.int64), 17, 32)
    for k in range(4):
        col = CHILDREN.start + k
        child_age = mother_age - first - BIRTH_SPACING * k
        girl = d.child_female[k] < 0.48  # sex ratio at birth about 1.1 (2020 census)
        born = family & (births > k) & (child_age >= 0)
        # grown daughters have married out: the chance rises with age (assumption, married by about 25)
        left = girl & (d.child_left[k] < np.clip((child_age - 18) / 7.0, 0.0, 1.0))
        # grown sons have married (about 27 on average), then left or stayed
        married = ~girl & (d.child_left[k] < np.clip((child_age - 22) / 9.0, 0.0, 1.0))
        age[:, col] = child_age
        female[:, col] = girl
        exists[:, col] = born & ~left & ~(married & (k > 0))  # only the eldest married son may stay
        if k == 0:
            stays = born & married & (d.son_stays < params.married_son_coresidence)
            exists[:, col] &= ~married | stays
            son_age = child_age
    # the staying son's wife and children
    in_law_age = np.clip(son_age - 2, 18, None)
    age[:, IN_LAW] = in_law_age
    female[:, IN_LAW] = True
    exists[:, IN_LAW] = stays
    g_births = 1 + _poisson_inverse(d.grand_births, max(children_mean - 1.0, 0.0), 2)
    for k in range(3):
        col = GRANDCHILDREN.start + k
        g_age = in_law_age - FIRST_BIRTH_AGE - BIRTH_SPACING * k
        age[:, col] = g_age
        female[:, col] = d.child_female[k] >= 0.52
        exists[:, col] = stays & (g_births > k) & (g_age >= 0)
    # the younger couple's own parents, when the couple is under 55 (and the son did not stay)
    has_parents = family & ~stays & (head < 55) & (d.parents < params.elder_coresidence)
    parent_age = np.minimum(head + 27 + np.rint(3.0 * d.parent_gap).astype(np.int64), 95)
    age[:, PARENTS.start] = parent_age
    age[:, PARENTS.start + 1] = np.maximum(parent_age - 2, 60)
    female[:, PARENTS.start + 1] = True
    both = has_parents & (d.two_parents < 0.5)
    female[:, PARENTS.start] = ~both & (d.elder_gap < 0.6)  # a lone parent is more often a widowed mother
    exists[:, PARENTS.start] = has_parents
    exists[:, PARENTS.start + 1] = both
    # the old-only couple: the wife column holds the second old person
    age[:, WIFE] = np.where(
        old_only, np.clip(old_age - 2 + np.rint(2.0 * d.wife_gap).astype(np.int64), 60, 95), age[:, WIFE]
    )
    exists &= np.cumsum(exists, axis=1, dtype=np.int8) <= params.max_household_size  # int8: 12 slots at most
    return age, female, exists


RELATION_OF_SLOT = np.array(
    [Relation.HEAD, Relation.SPOUSE, *[Relation.CHILD] * 4, *[Relation.PARENT] * 2, Relation.CHILD_IN_LAW]
    + [Relation.GRANDCHILD] * 3,
    dtype=np.int8,
)


STILL_IN_SCHOOL = {16: 0.55, 17: 0.5, 18: 0.45, 19: 0.2, 20: 0.15, 21: 0.1}
"""Approximate share still at school by age, for solving the composition only (the members'
own schooling decides it afterwards; senior-high enrolment about 55 % in the rural west:
assumption close to the cohort education model at the survey's schooling levels)."""


def _labour_share(age: np.ndarray, exists: np.ndarray, params: PopulationParams) -> float:
    """Expected share of people in the labour force: working age, able, out of school."""
    working = exists & (age >= params.working_age_min) & (age <= params.working_age_max)
    weight = np.ones(age.shape)
    for a, share in STILL_IN_SCHOOL.items():
        weight[age == a] -= share
    return float((working * weight).sum() * (1.0 - params.incapacity_share) / max(exists.sum(), 1))


def solve_children_mean(d: _Draws, target_labour_share: float, params: PopulationParams) -> float:
    """Children per mother (1-4) that gives the target labour share, by bisection on the
    same draws (more children, fewer people of working age)."""
    lo, hi = 1.0, 5.0
    for _ in range(25):
        mid = 0.5 * (lo + hi)
        age, _, exists = household_templates(d, mid, params)
        if _labour_share(age, exists, params) > target_labour_share:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _households(
    total_people: int, target_labour_share: float, params: PopulationParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Households whose people sum exactly to `total_people`.

    Returns per member: household (from 0), age, female, relation, and the slot column.
    """
    if total_people <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty.astype(bool), empty.astype(np.int8), empty
    n = int(total_people / 2.5) + 16
    d = _Draws.draw(n, rng)
    sample = _Draws(**{k: (v[..., :20_000]) for k, v in d.__dict__.items()})
    children = solve_children_mean(sample, target_labour_share, params)
    age, female, exists = household_templates(d, children, params)
    hh, col = np.nonzero(exists)
    cut = total_people
    hh, col = hh[:cut], col[:cut]
    if hh.size < total_people:  # cannot happen with n >= total / 2.5 unless households average under 2.5
        raise RuntimeError(f"generated {hh.size} people, fewer than {total_people}")
    return hh, age[hh, col], female[hh, col], RELATION_OF_SLOT[col], col


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


def _marry(spouse: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Record members `a` and `b` as each other's spouses."""
    spouse[a], spouse[b] = b, a


def frail_prevalence(age: np.ndarray, shares_per_1000: tuple[float, ...]) -> np.ndarray:
    """Share unable to look after themselves at each age (0 under 60; groups 60-69 ... 90+)."""
    table = np.r_[0.0, np.asarray(shares_per_1000) / 1000.0]
    return table[np.searchsorted(np.array([60, 70, 80, 90]), age, side="right")]


# the baseline's marital fertility per 1,000 (scenarios.schema.Demography; a test keeps them equal)
BASELINE_FERTILITY = (350.0, 300.0, 200.0, 110.0, 50.0, 12.0, 3.0)


def reserve_slots(n_people: int, scenario: Scenario) -> tuple[int, int]:
    """Member and household slots kept free for the run's births, in-marrying wives and
    new households. At the baseline rates they use about 2.1 % of the starting people a
    year (members) and 0.23 % (households), measured over ten years at 20,000 households;
    the reserve is 3 % and 0.5 % a year, the members' scaled up with the fertility
    schedule (1.45 times the baseline's fertility used 2.7 %), plus a margin. Every member
    slot costs time each month (the monthly arrays span them all), so the reserve is kept
    close to the need; a run whose rates exceed it stops with a clear error
    (`demography._take_slots`)."""
    if not scenario.demography.enabled:
        return 0, 0
    years = scenario.simulation.years
    fertility = sum(scenario.demography.marital_fertility_per_1000) / sum(BASELINE_FERTILITY)
    members = int(n_people * years * 0.03 * max(1.0, fertility)) + 64
    households = int(n_people * years * 0.005) + 32
    return members, households


def generate_population(scenario: Scenario, rng: np.random.Generator) -> Population:
    """Draw a community's households and members from its profile and assumptions."""
    community, params = scenario.community, scenario.population
    relocated_people = community.relocated_population
    local_people = round(relocated_people * community.local_resident_share / (1 - community.local_resident_share))
    labour_share = community.relocated_labour_force / relocated_people
    target_labour: float = community.relocated_labour_force

    movers: Movers | None = None
    if scenario.policies.relocation_terms.enabled:  # the stage before the move decides who comes (7.12)
        movers = relocation_chain(scenario, rng)
        hh_r, age_r, fem_r, rel_r = movers.member_household, movers.age, movers.female, movers.relation
        target_labour = labour_share * hh_r.size
    else:
        hh_r, age_r, fem_r, rel_r, _ = _households(relocated_people, labour_share, params, rng)
    hh_l, age_l, fem_l, rel_l, _ = _households(local_people, labour_share, params, rng)
    n_reloc = int(hh_r.max()) + 1 if hh_r.size else 0
    n_local = int(hh_l.max()) + 1 if hh_l.size else 0
    spare_m, spare_h = reserve_slots(relocated_people + local_people, scenario)
    n_h = n_reloc + n_local + spare_h
    household = np.concatenate([hh_r, n_reloc + hh_l]).astype(np.int32)
    n_people = household.size
    n_m = n_people + spare_m
    pad = np.zeros(spare_m, dtype=np.int64)
    age = np.concatenate([age_r, age_l, pad]).astype(np.int16)
    female = np.concatenate([fem_r, fem_l, pad.astype(bool)])
    relation = np.concatenate([rel_r, rel_l, pad.astype(np.int8)])
    household = np.concatenate([household, pad.astype(np.int32)])
    present = np.zeros(n_m, dtype=bool)
    present[:n_people] = True
    size = np.bincount(household[:n_people], minlength=n_h).astype(np.int16)
    relocated = np.zeros(n_h, dtype=bool)
    relocated[:n_reloc] = True

    # spouses: the head and the wife (or the second old person), the married son and his wife, a parent couple
    spouse = np.full(n_m, -1, dtype=np.int32)
    first_of = np.searchsorted(household[:n_people], np.arange(n_h))  # the head is each household's first member
    wives = np.flatnonzero(present & (relation == Relation.SPOUSE))
    _marry(spouse, first_of[household[wives]], wives)
    children = np.flatnonzero(present & (relation == Relation.CHILD))
    first_child = np.full(n_h, -1, dtype=np.int64)
    first_child[household[children[::-1]]] = children[::-1]
    in_laws = np.flatnonzero(present & (relation == Relation.CHILD_IN_LAW))
    sons = first_child[household[in_laws]]
    _marry(spouse, sons[sons >= 0], in_laws[sons >= 0])
    parents = np.flatnonzero(present & (relation == Relation.PARENT))
    pair = parents[:-1][household[parents[1:]] == household[parents[:-1]]]
    _marry(spouse, pair, pair + 1)

    working = (age >= params.working_age_min) & (age <= params.working_age_max) & present
    u_work = rng.random(n_m)
    disabled = working & (u_work < params.incapacity_share)
    frail = present & (rng.random(n_m) < frail_prevalence(age, scenario.demography.frail_share))

    member_relocated = relocated[household] & present
    shift = np.where(member_relocated, 0.0, params.local_resident_education_shift)
    education = _education(age, working & member_relocated, community.junior_middle_or_below_share, shift, params, rng)
    skill = rng.beta(params.skill_beta_a, params.skill_beta_b, n_m).astype(np.float32)
    # where the composition leaves more people of working age than the survey's labour force,
    # the rest are outside it (long illness, other reasons): solved per community
    able = working & member_relocated & ~disabled & ~in_school(age, education)
    outside = float(np.clip(1.0 - target_labour / max(int(able.sum()), 1), 0.0, 0.5))
    out_of_labour = able & (u_work < params.incapacity_share + outside * (1.0 - params.incapacity_share))

    n_villages = community.source_villages
    village = np.full(n_h, n_villages, dtype=np.int32)
    distance = np.zeros(n_h, dtype=np.float32)
    if movers is None:
        village_r, village_distance = _villages(n_reloc, community, params, rng)
        village[:n_reloc] = village_r
        distance[:n_reloc] = village_distance[village_r]
    else:
        village[:n_reloc], distance[:n_reloc] = movers.village, movers.distance_km
    sigma = np.sqrt(np.log1p(params.land_cv**2))
    land = params.land_mu_per_person * size * rng.lognormal(-0.5 * sigma**2, sigma, n_h)
    land = np.where(relocated, land, 0.0).astype(np.float32)
    # arrival in yearly waves of equal expected size; locals are there from the start
    cohort = np.full(n_h, -1, dtype=np.int8)
    if movers is None:
        cohort[:n_reloc] = rng.integers(0, community.arrival_years, n_reloc)
    else:  # the wave each mover's flat was ready in, and the land it had
        cohort[:n_reloc] = movers.cohort
        land[:n_reloc] = movers.land_mu
    flat_people = size.copy()
    if movers is not None:
        flat_people[:n_reloc] = movers.flat_people
    active = np.zeros(n_h, dtype=bool)
    active[: n_reloc + n_local] = True
    active[:n_reloc] = cohort[:n_reloc] == 0

    pop = Population(
        size=size,
        active=active,
        relocated=relocated,
        arrival_month=np.where(cohort > 0, 12 * cohort.astype(np.int16), 0).astype(np.int16),
        cohort=cohort,
        flat_people=flat_people,
        village=village,
        distance_km=distance,
        land_mu=land,
        escort=rng.random(n_h).astype(np.float32),
        household=household,
        present=present,
        relation=relation,
        spouse=spouse,
        age=age,
        female=female,
        education=education,
        skill=skill,
        disabled=disabled,
        out_of_labour=out_of_labour,
        frail=frail,
        care_duty=np.zeros(n_m, dtype=bool),
        option=np.full(n_m, Option.NOT_WORKING, dtype=np.int8),
        out_sector_industry=np.zeros(n_m, dtype=bool),
        months_out_total=np.zeros(n_m, dtype=np.int16),
        n_villages=n_villages,
        outside_share=outside,
        next_member=n_people,
        next_household=n_reloc + n_local,
        decision=movers,
    )
    assign_care_duties(pop, scenario)
    return pop


# Age at which schooling ends, by the level completed: senior high at 18, college at 21.
SCHOOL_LEAVING_AGE = np.array([0, 0, 19, 22], dtype=np.int16)


def in_school(age: np.ndarray, education: np.ndarray) -> np.ndarray:
    """Still at senior high school or college (the level is the one they will complete)."""
    return age < SCHOOL_LEAVING_AGE[education]


def labour_mask(pop: Population, params: PopulationParams) -> np.ndarray:
    """Members in the labour force: in a household in the model, of working age, out of
    school (school-leavers join at 16, 19 or 22 by their schooling) and able to work."""
    return (
        pop.members_now()
        & (pop.age >= params.working_age_min)
        & (pop.age <= params.working_age_max)
        & ~pop.disabled
        & ~pop.out_of_labour
        & ~in_school(pop.age, pop.education)
    )


def planned_labour(pop: Population, params: PopulationParams) -> np.ndarray:
    """The labour force once every arrival wave has moved in: what local posts and
    workshops are planned for (the county's jobs do not wait for the last wave)."""
    active = pop.active.copy()
    pop.active[:] = pop.size > 0
    labour = labour_mask(pop, params)
    pop.active[:] = active
    return labour


def care_needs(pop: Population, params: PopulationParams) -> np.ndarray:
    """Bool per household: someone needs care at home.

    Children under `child_care_age`, frail or disabled members, and school-age children
    in households that keep a parent near the school (陪读, `school_escort_share`).
    """
    here = pop.members_now()
    n_h = pop.n_households
    dependent = here & ((pop.age < params.child_care_age) | pop.frail | pop.disabled)
    needs = np.bincount(pop.household[dependent], minlength=n_h) > 0
    school = here & (pop.age >= params.child_care_age) & (pop.age <= params.school_age_max)
    escorted = np.bincount(pop.household[school], minlength=n_h) > 0
    return needs | (escorted & (pop.escort < params.school_escort_share))


def care_cost(pop: Population, members: np.ndarray, scenario: Scenario) -> np.ndarray:
    """What the household gives up when `members` stays home to care, yuan a month.

    The pay the member could earn outside the county (the best-paid work, where the cost
    of care falls: docs/MODEL.md 7.11): the out-of-county wage with the returns to
    schooling, the lower pay of women (`female_out_of_county_ratio`) and fewer chances
    after 45 (3 % a year, assumption); less the weight of the norm that mothers care
    (`female_care_norm_yuan`). Members past working age give up no pay.
    """
    params, w = scenario.population, scenario.wages
    years = SCHOOLING_YEARS[pop.education[members]] - 9.0
    female = pop.female[members]
    pay = (
        w.out_of_county
        * np.exp(w.return_to_schooling_out * years)
        * np.where(female, w.female_out_of_county_ratio, 1.0)
    )
    pay *= np.exp(-0.03 * np.maximum(pop.age[members] - 45, 0))
    pay -= np.where(female, params.female_care_norm_yuan, 0.0)
    past_working_age = pop.age[members] > params.working_age_max
    return np.where(past_working_age, -1e6 + pop.age[members], pay)


def assign_care_duties(pop: Population, scenario: Scenario, labour: np.ndarray | None = None) -> None:
    """Give one member of each household that needs care the care duty: the one whose
    staying home costs the household least (`care_cost`).

    Candidates are adults up to `carer_age_max` who are neither frail nor disabled and
    are not members who need care themselves; a grandparent past working age costs
    nothing and so takes the care, which frees the parents to work outside the county
    (`grandparent_care`; without it only the labour force cares). Among working-age
    members the lower pay of women outside and the norm that mothers care make women
    carers more often, as a household's choice rather than a rule.
    """
    params = scenario.population
    here = pop.members_now()
    if labour is None:
        labour = labour_mask(pop, params)
    needs = care_needs(pop, params)
    able = here & ~pop.frail & ~pop.disabled & (pop.age >= params.working_age_min)
    if params.grandparent_care:
        able &= pop.age <= params.carer_age_max
    else:
        able &= labour
    pop.care_duty[:] = False
    idx = np.flatnonzero(able & needs[pop.household])
    if idx.size == 0:
        return
    cost = care_cost(pop, idx, scenario)
    order = np.lexsort((cost, pop.household[idx]))
    hh_sorted = pop.household[idx][order]
    first = np.r_[True, hh_sorted[1:] != hh_sorted[:-1]]
    pop.care_duty[idx[order][first]] = True
