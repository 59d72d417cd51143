"""The monthly work choice: push-pull utilities, a logit draw, and capacity-limited posts.

All functions are batched over the members who are looking for work this month (the
"seekers"); nothing here loops over agents. The rules, in words, are in docs/MODEL.md
("Submodel: work choice") and, as plain per-household Python, in
benchmarks/reference_model.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .options import CAPPED, N_OPTIONS, RELOCATION_ONLY, SCHOOLING_YEARS, Option

if TYPE_CHECKING:
    from scenarios.schema import Scenario

NEG_INF = -np.inf


@dataclass(frozen=True)
class Economy:
    """Per-month economic quantities that policies may change (wages, costs, capacity)."""

    wage: np.ndarray  # (N_OPTIONS,) base monthly wage by option, yuan
    casual_wage: float
    living_cost_out: float
    migration_cost: float
    capacity: np.ndarray  # (N_OPTIONS,) posts; inf for uncapped options
    job_finding_out: float
    farm_base: float  # monthly farm income of a worker with average land, yuan
    skill_reference: float  # skill at which the skill premium is zero


def member_earnings(
    scenario: Scenario,
    economy: Economy,
    education: np.ndarray,
    skill: np.ndarray,
    land_share: np.ndarray,
    distance_km: np.ndarray,
    female: np.ndarray | None = None,
    by_option: bool = False,
) -> np.ndarray:
    """Net monthly earnings (yuan) of each given member in each option, shape (n, N_OPTIONS).

    Monthly averages over the year: non-farm wages are paid `months_worked_per_year`
    months of twelve. Earnings are the worker's own; the household receives only the
    remitted share of out-of-county earnings (see `model._account_income`). Non-farm
    wages rise with schooling (Mincer returns, higher outside the county) and vocational
    skill. Farming income scales with the member's share of the household's
    land; travel to the origin and living costs outside the county are deducted. Women
    are paid `female_out_of_county_ratio` of men's wage outside the county (`female`
    given; docs/MODEL.md 7.11). `by_option` lays the table out option by option in memory
    (column-major): faster to build and to read one option per member, as the monthly
    income accounts do; the default (row-major) suits comparing options member by member.
    """
    w = scenario.wages
    years = SCHOOLING_YEARS[education] - 9.0
    skill_term = w.return_to_skill * (skill - economy.skill_reference)
    f_local = np.exp(w.return_to_schooling_local * years + skill_term)
    f_out = np.exp(w.return_to_schooling_out * years + skill_term)
    travel = scenario.origin.travel_cost_yuan_per_km * 2.0 * distance_km
    farm = economy.farm_base * land_share
    frac = scenario.origin.part_time_farm_fraction
    paid = w.months_worked_per_year / 12.0  # non-farm work is not paid every month of the year
    n = education.shape[0]
    out = np.zeros((N_OPTIONS, n)).T if by_option else np.zeros((n, N_OPTIONS))
    out[:, Option.LOCAL_INDUSTRY] = economy.wage[Option.LOCAL_INDUSTRY] * f_local * paid
    out[:, Option.LOCAL_SERVICES] = economy.wage[Option.LOCAL_SERVICES] * f_local * paid
    out[:, Option.PUBLIC_WELFARE] = economy.wage[Option.PUBLIC_WELFARE]  # a flat post pay, every month
    out[:, Option.FARMING_ORIGIN] = farm - scenario.origin.trips_per_month_farming * travel
    out[:, Option.PART_TIME] = (
        frac * farm
        + (1.0 - frac) * economy.casual_wage * f_local * paid
        - scenario.origin.trips_per_month_part_time * travel
    )
    if female is not None:
        f_out = f_out * np.where(female, w.female_out_of_county_ratio, 1.0)
    out[:, Option.OUT_OF_COUNTY] = (economy.wage[Option.OUT_OF_COUNTY] * f_out - economy.living_cost_out) * paid
    out[:, Option.WORKSHOP] = economy.wage[Option.WORKSHOP] * f_local * paid
    return out


def utilities(
    scenario: Scenario,
    earnings: np.ndarray,
    *,
    current: np.ndarray,
    was_out: np.ndarray,
    age: np.ndarray,
    care_duty: np.ndarray,
    distance_km: np.ndarray,
    demolished: np.ndarray,
    relocated: np.ndarray,
    contact_shares: np.ndarray,
    inertia_on: bool,
) -> np.ndarray:
    """Systematic utility of each option for each seeker, shape (n, N_OPTIONS), before policies.

    Terms: income (pull), option constants, care duties, age, distance to the origin and
    the demolished old house (origin pull and its costs), what contacts do (information and
    chain migration), inertia, and the amortised cost of migrating out of the county.
    Options a member cannot take (origin farming and welfare posts for long-standing
    residents) get minus infinity. Policies add their own terms (`simulation.policies`).
    """
    c = scenario.choice
    u = c.income_per_1000_yuan * earnings / 1000.0
    u += np.asarray(c.constant.as_tuple())
    u -= np.outer(care_duty, c.care_penalty.as_tuple())
    u += np.outer((age - 35.0) / 10.0, c.age_per_decade.as_tuple())
    u -= np.outer(distance_km / 100.0, c.distance_per_100km.as_tuple())
    u -= np.outer(demolished, c.demolition_penalty.as_tuple())
    u += c.social * contact_shares
    if inertia_on:
        u[np.arange(u.shape[0]), current] += c.inertia
    entering = ~was_out
    u[entering, Option.OUT_OF_COUNTY] -= (
        c.income_per_1000_yuan * c.migration_cost_yuan / 1000.0 / c.planning_horizon_months
    )
    locals_ = ~relocated
    if locals_.any():
        u[np.ix_(locals_, list(RELOCATION_ONLY))] = NEG_INF
    return u


def serial_dictatorship(scores: np.ndarray, vacancies: np.ndarray) -> np.ndarray:
    """Assign each seeker, in row order, their best option that still has a vacancy.

    Equivalent to letting seekers choose one at a time in priority order, but computed in
    at most (number of capped options + 1) batched passes: each pass finds the first
    position at which some capped option runs out, fixes everyone before it, and closes
    that option for everyone after.

    Args:
        scores: (n, N_OPTIONS) utility plus logit noise, rows in priority order; modified.
        vacancies: (N_OPTIONS,) free posts, `inf` for uncapped options.

    Returns:
        The chosen option of each row.
    """
    n = scores.shape[0]
    choice = np.empty(n, dtype=np.int8)
    vac = vacancies.astype(float).copy()
    full = np.flatnonzero(vac <= 0)
    scores[:, full] = NEG_INF
    start = 0
    while start < n:
        seg_choice = scores[start:].argmax(axis=1)
        fill_at, fill_opt = n - start, -1
        for j in CAPPED:
            if not np.isfinite(vac[j]) or vac[j] <= 0:
                continue
            hits = np.flatnonzero(seg_choice == j)
            k = int(vac[j])
            if hits.size >= k and hits[k - 1] < fill_at:
                fill_at, fill_opt = int(hits[k - 1]), j
        if fill_opt < 0:
            choice[start:] = seg_choice
            break
        end = start + fill_at + 1
        taken = seg_choice[: fill_at + 1]
        choice[start:end] = taken
        vac -= np.bincount(taken, minlength=N_OPTIONS)
        scores[end:, fill_opt] = NEG_INF
        start = end
    return choice


def occupied_posts(option: np.ndarray, holders: np.ndarray) -> np.ndarray:
    """Posts held, by option, among the members flagged in `holders`."""
    return np.bincount(option[holders], minlength=N_OPTIONS).astype(float)


def household_turns(household: np.ndarray, first: np.ndarray, potential: np.ndarray) -> np.ndarray:
    """The turn (0, 1, ...) of each seeker within their household this month.

    A household's seekers choose in turn: members who hold a post or business of their own
    (`first`) before the others, then by earning potential, highest first (the main earner
    decides first and the others respond to what that member does). Ties keep row order.
    """
    n = household.shape[0]
    turn = np.zeros(n, dtype=np.int64)
    if n == 0:
        return turn
    # only households with two or more seekers need ordering (most have one this month)
    counts = np.bincount(household)
    shared = np.flatnonzero(counts[household] > 1)
    if shared.size == 0:
        return turn
    pot = potential[shared]
    finite = np.isfinite(pot)
    pot = np.where(finite, pot, 0.0)
    span = 1.0 + (float(np.abs(pot).max()) if pot.size else 0.0)
    # one float key: household, then own post first, then potential (highest first; -inf last);
    # a stable sort keeps row order among ties
    rank = np.where(first[shared], 0.0, 3.0 * span) + np.where(finite, span - pot, 2.5 * span)
    order = shared[np.argsort(household[shared] * (6.0 * span) + rank, kind="stable")]
    grouped = household[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    m = order.size
    turn[order] = np.arange(m) - np.repeat(starts, np.diff(np.r_[starts, m]))
    return turn


def income_weight(others_per_capita: np.ndarray, subsistence: float, reference: float, curvature: float) -> np.ndarray:
    """The household's marginal utility of a member's income, relative to a household whose
    other members already bring in `reference` a person a month (its aim): ((s + r) / (s + y))
    ^ curvature, with y the monthly income per person the others bring (earnings and
    remittances, not pensions or transfers) and s the consumption a household has without
    earnings. Above 1 for a household's only earner, below 1 for a member whose household
    already has more than it aims at (docs/MODEL.md 7.11)."""
    y = np.maximum(others_per_capita, 0.0)
    return ((subsistence + reference) / (subsistence + y)) ** curvature
