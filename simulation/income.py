"""Household income (earnings, pensions, policy transfers) and the costs of living in town.

Income follows the survey's definition: what the household's members earn (only the
remitted share of out-of-county earnings), pensions and transfers, per person per year.
Poverty is judged on income net of the extra costs of living in the town (destination
push, 000: from half-subsistence to buying everything): food the household used to grow,
water, power and fuel, and property fees on the flat. Households that still farm at the
origin grow part of their food; households that went back pay none of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .options import IS_ORIGIN_FARMING
from .population import Population

if TYPE_CHECKING:
    from scenarios.schema import LivingCosts, Wages


@dataclass
class HouseholdIncome:
    """One month's household income by source and the costs of living in town (yuan per
    month, per household)."""

    earnings: np.ndarray
    pension: np.ndarray
    transfers: np.ndarray  # from policies: rent, asset income, the subsistence allowance
    living_costs: np.ndarray  # extra costs of living in the town
    medical_costs: np.ndarray | None = None  # out-of-pocket costs of illness this month (shocks)

    @property
    def total(self) -> np.ndarray:
        """All income together, yuan per month."""
        return self.earnings + self.pension + self.transfers

    @property
    def net(self) -> np.ndarray:
        """Income less the extra costs of living in town and of illness, yuan per month."""
        medical = 0.0 if self.medical_costs is None else self.medical_costs
        return self.total - self.living_costs - medical


def pension_count(pop: Population, pension_age: int) -> np.ndarray:
    """Members at or above the pension age, per household (as floats)."""
    return np.bincount(pop.household, weights=pop.members_now() & (pop.age >= pension_age), minlength=pop.n_households)


def earnings_and_pensions(
    pop: Population,
    member_earnings: np.ndarray,
    pension_yuan_month: float,
    pension_age: int,
    *,
    earners: np.ndarray | None = None,
    pensioners: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Household earnings (a month's net earnings count as at least zero) and pensions.

    `earners`: the members who may have earnings (indices, ascending; all others earn
    zero), and `pensioners`: `pension_count`, where the caller knows them; the sums are
    the same, without a pass over every member slot."""
    n_h = pop.n_households
    if earners is None:
        earnings = np.bincount(pop.household, weights=np.maximum(member_earnings, 0.0), minlength=n_h)
    else:
        earnings = np.bincount(pop.household[earners], weights=np.maximum(member_earnings[earners], 0.0), minlength=n_h)
    if pensioners is None:
        pensioners = pension_count(pop, pension_age)
    return earnings, pension_yuan_month * pensioners


def destination_costs(pop: Population, living: np.ndarray, labour: np.ndarray, costs: LivingCosts) -> np.ndarray:
    """Extra monthly costs of living in the town per household (0 for those not living there).

    Per person: food once grown at home (less `home_grown_share` of it for households with
    a member farming at the origin), utilities, and property fees on `flat_m2_per_person`.
    `labour`: the labour force, as a mask over member slots or as member indices.
    """
    workers = labour if labour.dtype != bool else np.flatnonzero(labour)  # a mask or member indices
    farming = np.bincount(
        pop.household[workers], weights=IS_ORIGIN_FARMING[pop.option[workers]], minlength=pop.n_households
    )
    food = costs.food_yuan_person_month * np.where(farming > 0, 1.0 - costs.home_grown_share, 1.0)
    per_person = food + costs.utilities_yuan_person_month + costs.property_fee_yuan_m2_month * costs.flat_m2_per_person
    return np.where(living, per_person * pop.size, 0.0)


def per_capita_annual(total_monthly: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Per-capita income in yuan per year (the survey's unit) from monthly household income."""
    return total_monthly * 12.0 / np.maximum(size, 1)


def remittances(
    pop: Population, migrants: np.ndarray, pay: np.ndarray, other_monthly: np.ndarray, wages: Wages
) -> np.ndarray:
    """What each out-of-county worker in `migrants` sends home this month, yuan.

    The household's migrants together send what it needs to reach
    `remittance_target_yuan` per person a year, given its other income this month
    (`other_monthly`: the earnings of those at home and pensions), but at least
    `remittance_share_min` and at most `remittance_share_max` of their net pay; each
    sends in proportion to pay (docs/MODEL.md 7.11). Remittances thus rise with the
    household's dependants and fall when those at home earn.
    """
    n_h = pop.n_households
    hh = pop.household[migrants]
    pay = np.maximum(pay, 0.0)
    total_pay = np.bincount(hh, weights=pay, minlength=n_h)
    need = np.maximum(wages.remittance_target_yuan * pop.size / 12.0 - other_monthly, 0.0)
    sent = np.clip(need, wages.remittance_share_min * total_pay, wages.remittance_share_max * total_pay)
    share = np.divide(sent, total_pay, out=np.zeros(n_h), where=total_pay > 0)
    return pay * share[hh]
