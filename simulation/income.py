"""Household income: earnings, origin land, pensions and the subsistence allowance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.schema import Scenario

from .options import IS_ORIGIN_FARMING
from .population import Population


@dataclass
class HouseholdIncome:
    """One month's household income by source (yuan per month, per household)."""

    earnings: np.ndarray
    land_rent: np.ndarray
    pension: np.ndarray
    subsistence: np.ndarray
    other: np.ndarray  # policy transfers such as asset-income shares

    @property
    def total(self) -> np.ndarray:
        """All sources together, yuan per month."""
        return self.earnings + self.land_rent + self.pension + self.subsistence + self.other


def household_income(
    scenario: Scenario,
    pop: Population,
    member_earnings: np.ndarray,
    rent_participation: np.ndarray,
    other: np.ndarray | None = None,
) -> HouseholdIncome:
    """Aggregate a month's income per household.

    Args:
        member_earnings: net monthly earnings of every member (0 for non-workers); a
            month's net earnings cannot fall below zero in the income account.
        rent_participation: per household, whether idle origin land is rented out.
        other: extra monthly transfers per household (policies), yuan.
    """
    n_h = pop.n_households
    earnings = np.bincount(pop.household, weights=np.maximum(member_earnings, 0.0), minlength=n_h)
    farming = IS_ORIGIN_FARMING[pop.option]
    farms_own_land = np.bincount(pop.household, weights=farming, minlength=n_h) > 0
    o = scenario.origin
    land_rent = np.where(
        rent_participation & ~farms_own_land & pop.relocated,
        o.land_rent_yuan_per_mu_year / 12.0 * pop.land_mu,
        0.0,
    )
    i = scenario.income
    elders = pop.age >= i.pension_age
    pension = i.pension_yuan_month * np.bincount(pop.household, weights=elders, minlength=n_h)
    other = np.zeros(n_h) if other is None else other
    before = earnings + land_rent + pension + other
    per_capita_year = before * 12.0 / pop.size
    takes_up = pop.subsistence_draw < i.subsistence_take_up
    eligible = pop.relocated & takes_up & (per_capita_year < i.subsistence_threshold_yuan)
    subsistence = np.where(eligible, (i.subsistence_threshold_yuan - per_capita_year) * pop.size / 12.0, 0.0)
    return HouseholdIncome(earnings, land_rent, pension, subsistence, other)


def per_capita_annual(total_monthly: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Per-capita income in yuan per year (the survey's unit) from monthly household income."""
    return total_monthly * 12.0 / size
