"""Start-up support (创业扶持, 返乡创业): grants for small businesses that hire others.

Each `cohort_every_months` while active, `coverage` of the target group (returnees:
members with at least six months' work outside the county, now back in the community; or
all members not working) start a small service business with a grant, as long as the
local market has room: it holds `niches_per_100_households` such businesses, and no grant
goes to a business the market has no room for. An owner is self-employed: the business is
his alone, and after `committed_months` (the grant is paid after six months of operation,
2018 national notice) he reconsiders his work as others do, closing the business when
other work ranks above it (his choice sees what the business earns). A business earns
`business_income_yuan_month` (with the local returns to schooling and skill), less as the
market fills: at full market half of it. It closes with a monthly chance that falls with
its age (`failure_rate_first_year`, then `failure_rate_years_2_3`, then
`failure_rate_later`), and its owner looks for work again. Each business hires
`jobs_per_business` workers: local service posts open to anyone. Phasing out: a cohort
applies at `coverage` x intensity (fewer grants); businesses already running carry on,
as they would when a grant scheme closes. Sources and values: docs/MODEL.md 7.9.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..indicators import Indicator
from ..options import Option
from .base import Demand, FollowUpPolicy, MonthView, NonNegative, PolicyParams, Share


class Params(PolicyParams):
    """Who starts a business, how much room the market has, what a business earns, how it fails, whom it hires."""

    target: Literal["returnees", "all"] = "returnees"
    coverage: Share = 0.1
    cohort_every_months: Annotated[int, Field(ge=1, le=60)] = 12
    grant_yuan: NonNegative = 10_000.0
    niches_per_100_households: Annotated[float, Field(ge=0.0, le=100.0)] = 3.0
    business_income_yuan_month: NonNegative = 3_600.0
    failure_rate_first_year: Share = 0.01
    failure_rate_years_2_3: Share = 0.006
    failure_rate_later: Share = 0.0035
    jobs_per_business: Annotated[float, Field(ge=0.0, le=20.0)] = 1.5
    committed_months: Annotated[int, Field(ge=0, le=60)] = 6


class StartupSupport(FollowUpPolicy):
    """Grants for small businesses, in a local market with limited room."""

    NAME = "startup_support"
    LABEL = ("start-up support", "创业扶持")
    Params = Params
    COST_LINES = ("grants",)
    INDICATORS = (
        Indicator(
            "businesses_started", "count", "businesses started with support", ("Businesses started", "扶持创业数")
        ),
        Indicator(
            "entrepreneurs",
            "count",
            "supported businesses running",
            ("Supported businesses running", "在营扶持企业"),
        ),
    )

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        self.owner = np.zeros(model.pop.n_members, dtype=bool)
        self.opened = np.zeros(model.pop.n_members, dtype=np.int32)  # month the business opened
        self.niches = params.niches_per_100_households * int(model.pop.relocated.sum()) / 100.0
        self.started = 0
        self.started_now = 0

    def released(self, view: MonthView) -> np.ndarray | None:
        # an owner who took other work, or left the labour force, has closed the business
        self.owner &= view.labour & (view.option == Option.LOCAL_SERVICES)
        p = self.params
        age = view.month - self.opened
        hazard = np.where(
            age <= 12, p.failure_rate_first_year, np.where(age <= 36, p.failure_rate_years_2_3, p.failure_rate_later)
        )
        failed = self.owner & (self.rng.random(view.pop.n_members) < hazard)
        if not failed.any():
            return None
        self.owner &= ~failed
        return failed

    def self_employed(self, view: MonthView) -> np.ndarray:
        p, month = self.params, view.month
        self.started_now = 0
        if self.active(month) and (month - p.start_month) % p.cohort_every_months == 0:
            present = view.present_labour & ~self.owner
            if p.target == "returnees":
                eligible = present & (view.pop.months_out_total >= 6) & (view.option != Option.OUT_OF_COUNTY)
            else:
                eligible = present & (view.option == Option.NOT_WORKING)
            coverage = p.coverage * self.intensity(month)
            applicants = np.flatnonzero(eligible & (self.rng.random(view.pop.n_members) < coverage))
            room = max(int(self.niches - self.owner.sum()), 0)
            start = self.rng.permutation(applicants)[:room]
            self.owner[start] = True
            self.opened[start] = month
            self.started_now = int(start.size)
            self.started += self.started_now
        return self.owner.copy()

    def market_factor(self) -> float:
        """Share of the full business income a business earns: 1 in an empty market, 1/2 in a full one."""
        if self.niches <= 0:
            return 1.0
        return 1.0 - 0.5 * min(self.owner.sum() / self.niches, 1.0)

    def demand(self, view: MonthView) -> dict[Option, Demand]:
        return {Option.LOCAL_SERVICES: Demand(round(self.params.jobs_per_business * self.owner.sum()))}

    def utility_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        owners = self.owner[seekers]
        if not owners.any():
            return None
        terms = np.zeros(earnings.shape)
        young = owners & (view.month - self.opened[seekers] < self.params.committed_months)
        terms[young] = -np.inf  # committed while the grant's condition runs: nothing else is open
        terms[young, Option.LOCAL_SERVICES] = 0.0
        return terms

    def money_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        owners = self.owner[seekers]
        if not owners.any():
            return None
        terms = np.zeros(earnings.shape)
        business = self.earnings(view, seekers, earnings)
        gain = np.where(owners, business - earnings[:, Option.LOCAL_SERVICES], 0.0)
        terms[:, Option.LOCAL_SERVICES] = np.nan_to_num(gain)  # staying in the business pays what it earns
        return terms

    def earnings(self, view: MonthView, workers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        owners = self.owner[workers]
        if not owners.any():
            return None
        wage = view.economy.wage[Option.LOCAL_SERVICES]
        scale = self.params.business_income_yuan_month * self.market_factor() / wage if wage > 0 else 0.0
        return np.where(owners, earnings[:, Option.LOCAL_SERVICES] * scale, np.nan)

    def costs(self, view: MonthView) -> dict[str, float]:
        return {"grants": self.started_now * self.params.grant_yuan}

    def indicators(self, view: MonthView) -> dict[str, float]:
        return {"businesses_started": self.started, "entrepreneurs": int(self.owner.sum())}
