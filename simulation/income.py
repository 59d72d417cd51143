"""Household income: earnings, origin land, pensions, policy transfers and the safety net."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .options import IS_ORIGIN_FARMING
from .policies import IncomeRules
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
    pop: Population,
    member_earnings: np.ndarray,
    rules: IncomeRules,
    pension_yuan_month: float,
    pension_age: int,
) -> HouseholdIncome:
    """Aggregate a month's income per household.

    Args:
        member_earnings: what each member's work brings the household this month (0 for
            non-workers); a month's net earnings cannot fall below zero in the account.
        rules: land rent, asset income and safety net of this month (from policies).
        pension_yuan_month: basic pension per member aged `pension_age` or over.
    """
    n_h = pop.n_households
    earnings = np.bincount(pop.household, weights=np.maximum(member_earnings, 0.0), minlength=n_h)
    farms_own_land = np.bincount(pop.household, weights=IS_ORIGIN_FARMING[pop.option], minlength=n_h) > 0
    land_rent = np.where(
        rules.rent_participation & ~farms_own_land & pop.relocated,
        rules.rent_yuan_per_mu_year / 12.0 * pop.land_mu,
        0.0,
    )
    pension = pension_yuan_month * np.bincount(pop.household, weights=pop.age >= pension_age, minlength=n_h)
    before = earnings + land_rent + pension + rules.other
    per_capita_year = before * 12.0 / pop.size
    takes_up = pop.subsistence_draw < rules.subsistence_take_up
    eligible = pop.relocated & takes_up & (per_capita_year < rules.subsistence_threshold)
    subsistence = np.where(eligible, (rules.subsistence_threshold - per_capita_year) * pop.size / 12.0, 0.0)
    return HouseholdIncome(earnings, land_rent, pension, subsistence, rules.other)


def per_capita_annual(total_monthly: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Per-capita income in yuan per year (the survey's unit) from monthly household income."""
    return total_monthly * 12.0 / size
