"""The stage before the move: who in the origin villages signs up, who goes through with it, and when.

Households of the origin villages, registered poor and not, are generated with the same
family generator as the community (`population`), from a larger pool than the people
who move. Each decides, in one batched computation (docs/MODEL.md 7.12):

1. **sign up** under the terms offered: a logit on the village's push (water, roads,
   school, clinic, hazards), the flat it would get against the house it has (25 m² per
   person, so small households lose most space), what it must pay against what it earns,
   its land, the distance to the site, whether it is old people only, and dual
   registration;
2. **go through with it** when the flat is ready, in the arrival wave it was given at
   signing (flats are built in yearly batches): a logit on handing over the homestead
   (and how soon: the transition period), the cost again, land that still needs farming,
   and dual registration.

Those who move become the community's relocated households, with the wave, village,
distance and land they had; the rest stay at the origin and are counted by household
type. The stage draws two uniforms per candidate, so terms that raise a probability move
a superset of households on the same draws (common random numbers across terms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scenarios.schema import Scenario

# household types the decision indicators are reported by
SIZE_GROUPS = ("size_1_2", "size_3_4", "size_5_plus")
STATUS_GROUPS = ("poor", "nonpoor")
STAGES = ("candidates", "signed_up", "moved", "withdrew", "stayed_at_origin")
FLAT_M2_PER_ALLOCATED_PERSON = 25.0  # the rule for registered poor households (004)


@dataclass
class Candidates:
    """The origin villages' households (one entry per candidate household) and their members."""

    member_household: np.ndarray  # int64, candidate household of each member (sorted)
    age: np.ndarray
    female: np.ndarray
    relation: np.ndarray
    size: np.ndarray  # int64 per household
    elderly_only: np.ndarray  # bool: nobody under 60
    poor: np.ndarray  # bool: registered poor (建档立卡)
    income_per_capita: np.ndarray  # yuan a year before the move
    village: np.ndarray  # int32
    push: np.ndarray  # village push index of each household, 0-1
    distance_km: np.ndarray  # float32, from the village to the resettlement site
    land_mu: np.ndarray  # float32
    u_sign: np.ndarray  # the two decision uniforms
    u_follow: np.ndarray
    wave: np.ndarray  # int8, arrival wave the flat is ready in

    @property
    def n(self) -> int:
        """Candidate households."""
        return int(self.size.shape[0])


@dataclass
class Decision:
    """What every candidate decided, and what the terms cost and give those who move."""

    signed_up: np.ndarray  # bool per candidate
    moved: np.ndarray  # bool per candidate
    p_sign: np.ndarray
    p_follow: np.ndarray  # chance of going through with it, given signed up
    flat_m2: np.ndarray  # flat offered
    own_cost_yuan: np.ndarray  # what the household pays for it
    subsidy_yuan: np.ndarray  # what the programme pays for it

    def counts(self, c: Candidates) -> dict[str, float]:
        """Households at each stage, in total and by household type (`decision_<stage>[_<type>]`)."""
        stage = {
            "candidates": np.ones(c.n, dtype=bool),
            "signed_up": self.signed_up,
            "moved": self.moved,
            "withdrew": self.signed_up & ~self.moved,
            "stayed_at_origin": ~self.moved,
        }
        size_group = np.minimum((np.minimum(c.size, 5) - 1) // 2, 2)  # 1-2, 3-4, 5+
        out: dict[str, float] = {}
        for name, mask in stage.items():
            out[f"decision_{name}"] = float(mask.sum())
            by_size = np.bincount(size_group[mask], minlength=3)
            for g, label in enumerate(SIZE_GROUPS):
                out[f"decision_{name}_{label}"] = float(by_size[g])
            out[f"decision_{name}_poor"] = float((mask & c.poor).sum())
            out[f"decision_{name}_nonpoor"] = float((mask & ~c.poor).sum())
        return out


def shares(counts: dict[str, float]) -> dict[str, float]:
    """The decision's summary shares: follow-through of the willing (in total, poor and
    non-poor; Song County's measure, 002), and the share of one- and two-person households
    among candidates and among movers."""

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    return {
        "decision_follow_through": ratio(counts["decision_moved"], counts["decision_signed_up"]),
        "decision_follow_through_poor": ratio(counts["decision_moved_poor"], counts["decision_signed_up_poor"]),
        "decision_follow_through_nonpoor": ratio(
            counts["decision_moved_nonpoor"], counts["decision_signed_up_nonpoor"]
        ),
        "decision_small_share_candidates": ratio(counts["decision_candidates_size_1_2"], counts["decision_candidates"]),
        "decision_small_share_movers": ratio(counts["decision_moved_size_1_2"], counts["decision_moved"]),
    }


def draw_candidates(scenario: Scenario, rng: np.random.Generator) -> Candidates:
    """The origin villages' households: `pool_people_per_relocated` times the community's
    relocated people, composed as rural households are (more old people alone than among
    those who moved), with the village, land, status and means each decision reads.

    Everything is drawn before any term of the offer is read, so two scenarios that
    differ only in their terms decide over the same candidates."""
    from .population import _households, _villages

    community, d = scenario.community, scenario.decision
    params = scenario.population.model_copy(update={"elderly_only_share": d.pool_elderly_only_share})
    pool_people = round(community.relocated_population * d.pool_people_per_relocated)
    labour_share = community.relocated_labour_force / community.relocated_population
    hh, age, female, relation, _ = _households(pool_people, labour_share, params, rng)
    n = int(hh.max()) + 1 if hh.size else 0
    size = np.bincount(hh, minlength=n)
    elderly_only = np.bincount(hh, weights=age < 60, minlength=n) == 0
    village, village_distance = _villages(n, community, scenario.population, rng)
    push = rng.beta(d.push_beta_a, d.push_beta_b, community.source_villages)
    u = rng.random((4, n))
    g = rng.standard_normal((2, n))
    poor = u[0] < d.poor_share
    sigma = np.sqrt(np.log1p(d.income_cv**2))
    income = community.income_before_yuan * np.where(poor, 1.0, d.nonpoor_income_ratio)
    income = income * np.exp(sigma * g[0] - 0.5 * sigma**2)
    land_sigma = np.sqrt(np.log1p(scenario.population.land_cv**2))
    land = scenario.population.land_mu_per_person * size * np.exp(land_sigma * g[1] - 0.5 * land_sigma**2)
    wave = np.minimum((u[1] * community.arrival_years).astype(np.int8), community.arrival_years - 1)
    return Candidates(
        member_household=hh,
        age=age,
        female=female,
        relation=relation,
        size=size,
        elderly_only=elderly_only,
        poor=poor,
        income_per_capita=income,
        village=village,
        push=push[village],
        distance_km=village_distance[village],
        land_mu=land.astype(np.float32),
        u_sign=u[2],
        u_follow=u[3],
        wave=wave,
    )


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def handover_weight(scenario: Scenario) -> float:
    """How much handing over the homestead weighs on going through with the move: 1 when it
    is demolished on moving in, less the longer the transition period lets the household
    keep the old house (`transition_relief_per_year` a year), 0 when it is not handed over."""
    terms, d = scenario.policies.relocation_terms, scenario.decision
    if not terms.homestead_handover:
        return 0.0
    years = scenario.policies.transition_period.years if scenario.policies.transition_period.enabled else 0
    return max(0.0, 1.0 - d.transition_relief_per_year * years)


def decide(c: Candidates, scenario: Scenario) -> Decision:
    """Each candidate's sign-up and follow-through under the scenario's terms (batched)."""
    terms, d = scenario.policies.relocation_terms, scenario.decision
    size = c.size.astype(float)
    flat_m2 = np.clip(terms.flat_m2_per_person * size, terms.min_flat_m2, terms.max_flat_m2)
    price = terms.price_yuan_per_m2 * flat_m2
    subsidy = np.where(c.poor, terms.subsidy_yuan_per_person, terms.nonpoor_subsidy_yuan_per_person) * size
    own = np.maximum(price - subsidy, 0.0)
    own = np.where(c.poor, np.minimum(own, terms.self_financing_cap_yuan), own)
    subsidy = price - own  # the programme pays what the household does not (the cap included)
    burden = own / np.maximum(c.income_per_capita * size, 1.0)  # years of the household's income
    house_m2 = d.old_house_m2_base + d.old_house_m2_per_person * size
    space_loss = np.maximum(np.log(house_m2 / flat_m2), 0.0)
    land_pp = c.land_mu / size
    distance = c.distance_km * terms.site_distance_factor / 100.0
    dual = float(terms.dual_registration)
    v_sign = (
        np.where(c.poor, d.sign_constant_poor, d.sign_constant_nonpoor)
        + d.sign_push * c.push
        - d.sign_space_loss * space_loss
        - d.sign_cost_per_year_income * burden
        - d.sign_land_per_mu_person * land_pp
        - d.sign_distance_per_100km * distance
        - d.sign_elderly_only * c.elderly_only
        + d.dual_registration_utility * dual
    )
    p_sign = _logistic(v_sign)
    v_follow = (
        np.where(c.poor, d.follow_constant_poor, d.follow_constant_nonpoor)
        - handover_weight(scenario) * (d.follow_handover + d.follow_handover_per_mu_person * land_pp)
        - d.follow_cost_per_year_income * burden
        + d.dual_registration_utility * dual
    )
    p_follow = _logistic(v_follow)
    signed = c.u_sign < p_sign
    moved = signed & (c.u_follow < p_follow)
    return Decision(
        signed_up=signed,
        moved=moved,
        p_sign=p_sign,
        p_follow=p_follow,
        flat_m2=flat_m2,
        own_cost_yuan=own,
        subsidy_yuan=subsidy,
    )


@dataclass
class Movers:
    """The candidates who moved, as the community's relocated households (in candidate order)."""

    member_household: np.ndarray  # from 0
    age: np.ndarray
    female: np.ndarray
    relation: np.ndarray
    village: np.ndarray
    distance_km: np.ndarray
    land_mu: np.ndarray
    cohort: np.ndarray
    flat_people: np.ndarray  # the flat in persons' worth of 25 m² (crowding, 7.11)
    poor: np.ndarray
    subsidy_yuan: np.ndarray  # the programme's part of the flat, paid when the household moves in
    counts: dict[str, float]  # the decision indicators


def relocation_chain(scenario: Scenario, rng: np.random.Generator) -> Movers:
    """Draw the candidates, decide, and return those who moved."""
    c = draw_candidates(scenario, rng)
    dec = decide(c, scenario)
    movers = np.flatnonzero(dec.moved)
    new_id = np.full(c.n, -1, dtype=np.int64)
    new_id[movers] = np.arange(movers.size)
    keep = dec.moved[c.member_household]
    distance = c.distance_km[movers] * scenario.policies.relocation_terms.site_distance_factor
    counts = dec.counts(c)
    return Movers(
        member_household=new_id[c.member_household[keep]],
        age=c.age[keep],
        female=c.female[keep],
        relation=c.relation[keep],
        village=c.village[movers],
        distance_km=distance.astype(np.float32),
        land_mu=c.land_mu[movers],
        cohort=c.wave[movers],
        flat_people=np.maximum(np.rint(dec.flat_m2[movers] / FLAT_M2_PER_ALLOCATED_PERSON), 1).astype(np.int16),
        poor=c.poor[movers],
        subsidy_yuan=dec.subsidy_yuan[movers],
        counts=counts | shares(counts),
    )
