"""Shocks: what can go wrong in a month, and poverty counted as flows.

Four shocks (docs/MODEL.md 7.10 gives each rate and its source), drawn from a generator
of their own (spawned from the model's), so that switching them on changes no other draw:
- **illness**: a member is hospitalised; the household pays the out-of-pocket share of
  the stay, and a working member earns nothing that month;
- **unpaid wages**: an out-of-county worker is owed `arrears_months` of pay that never
  arrives (the remitted part is lost to the household) and the job ends;
- **a bad harvest** at the origin, per origin village and year: farm income of the
  village's households falls by `crop_loss_share` for twelve months;
- **a bad year for work outside the county** (as in 2020), from `bad_year_month`:
  `bad_year_return_share` of out-of-county workers lose their job at once, and job
  finding outside falls by `bad_year_job_finding_factor` for `bad_year_months`.

The first three are random and on only with `shocks.enabled`; the bad year is an event
a scenario (or the teaching app's button) schedules. Poverty flows (`PovertyFlows`) are
judged on income over the last twelve months, as poverty monitoring judges a household's
annual income, not on one month's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .options import Option

if TYPE_CHECKING:
    from scenarios.schema import Shocks

    from .population import Population

MONTHS_TO_CONFIRM_EXIT = 12  # a household has left poverty after a year above the line (the annual assessment)


def monthly_rate(per_year: float) -> float:
    """The monthly chance that gives `per_year` over twelve independent months."""
    return 1.0 - (1.0 - per_year) ** (1.0 / 12.0)


class ShockState:
    """This month's shocks and the scheduled bad year."""

    def __init__(self, params: Shocks, pop: Population, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        self.bad_year_start = params.bad_year_month  # 0: none scheduled
        self.crop_hit_until = np.zeros(pop.n_villages + 1, dtype=np.int32)  # last month of a village's bad harvest
        self.ill = np.zeros(pop.n_members, dtype=bool)
        self.medical = np.zeros(pop.n_households)  # out-of-pocket medical costs this month, yuan per household
        self.unpaid = np.zeros(pop.n_households)  # remittances lost to unpaid wages this month
        self.hit = np.zeros(pop.n_households, dtype=bool)  # any shock this month
        self._u_arrears = np.ones(pop.n_members, dtype=np.float32)
        self._p_ill = monthly_rate(params.illness_rate)
        self._p_arrears = monthly_rate(params.arrears_rate)

    def start_bad_year(self, month: int) -> None:
        """Schedule a bad year for outside work from `month` (the app's button)."""
        self.bad_year_start = month

    def in_bad_year(self, month: int) -> bool:
        """Whether `month` falls in the bad year."""
        start = self.bad_year_start
        return start > 0 and start <= month < start + self.params.bad_year_months

    def job_finding_factor(self, month: int) -> float:
        """Multiplier of the chance of finding work outside the county this month."""
        return self.params.bad_year_job_finding_factor if self.in_bad_year(month) else 1.0

    def draw(self, month: int, pop: Population) -> None:
        """Draw this month's illnesses and, at each year's start, the villages' harvests."""
        self.medical = np.zeros(pop.n_households)
        self.unpaid = np.zeros(pop.n_households)
        p = self.params
        if not p.enabled:
            return
        u = self.rng.random((2, pop.n_members), dtype=np.float32)
        self.ill = (u[0] < self._p_ill) & pop.members_now()
        self._u_arrears = u[1]
        if (month - 1) % 12 == 0:
            hit = self.rng.random(self.crop_hit_until.size) < p.crop_loss_rate
            self.crop_hit_until[hit] = month + 11
        ill = np.flatnonzero(self.ill)  # about 1 % of members a month: index them, do not sum over all
        stays = np.bincount(pop.household[ill], minlength=pop.n_households)
        self.medical = stays * (p.hospital_cost_yuan * p.out_of_pocket_share)

    def separations(self, month: int, out_of_county: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two bools per member, for members working outside the county (`out_of_county`):
        the job ends with wages unpaid, and the job ends in the first month of a bad year."""
        arrears = np.zeros_like(out_of_county)
        bad_year = np.zeros_like(out_of_county)
        if self.params.enabled:
            arrears = out_of_county & (self._u_arrears < self._p_arrears)
        if month == self.bad_year_start:
            bad_year = out_of_county & (self.rng.random(out_of_county.size) < self.params.bad_year_return_share)
        return arrears, bad_year & ~arrears

    def book_unpaid(self, pop: Population, members: np.ndarray, monthly_remittance: np.ndarray) -> None:
        """Unpaid wages of `members` (whose jobs end by arrears): `arrears_months` of what they sent home."""
        lost = self.params.arrears_months * np.maximum(monthly_remittance, 0.0)
        self.unpaid = np.bincount(pop.household[members], weights=lost, minlength=pop.n_households)

    def crop_loss(self, pop: Population, month: int) -> np.ndarray:
        """Bool per household: its origin village has a bad harvest this year."""
        return self.crop_hit_until[pop.village] >= month

    def mark_hit(self, pop: Population, month: int, separated_by_shock: np.ndarray) -> None:
        """Households hit by any shock this month (what monitoring can pick up)."""
        self.hit = np.zeros(pop.n_households, dtype=bool)
        self.hit[pop.household[np.flatnonzero(self.ill | separated_by_shock)]] = True
        if self.params.enabled:
            self.hit |= self.crop_hit_until[pop.village] == month + 11  # the harvest failed this month


class PovertyFlows:
    """Poverty on the last twelve months' income, month by month: who enters, who leaves,
    who falls back after having left."""

    def __init__(self, n_households: int) -> None:
        self.history = np.zeros((12, n_households))  # net household income of the last 12 months
        self.total = np.zeros(n_households)  # their sum, kept as months enter and leave
        self.months = 0
        self.months_here = np.zeros(n_households, dtype=np.int32)  # months in the model (arrival waves)
        self.poor = np.zeros(n_households, dtype=bool)
        self.months_out = np.zeros(n_households, dtype=np.int32)  # consecutive months above the line
        self.left = np.zeros(n_households, dtype=bool)  # has left poverty (a year above the line)
        self.fell_back_ever = np.zeros(n_households, dtype=bool)
        self.entries = np.zeros(n_households, dtype=bool)
        self.exits = np.zeros(n_households, dtype=bool)
        self.fell_back = np.zeros(n_households, dtype=bool)
        self.annual_per_capita = np.zeros(n_households)

    def update(self, net_monthly: np.ndarray, size: np.ndarray, line: float, active: np.ndarray) -> None:
        """Add this month's net household income (0 for households not in the model) and
        update the flows; a household's year starts when it moves in."""
        slot = self.months % 12
        net_monthly = np.where(active, net_monthly, 0.0)
        self.total += net_monthly - self.history[slot]
        self.history[slot] = net_monthly
        self.months += 1
        self.months_here += active
        k = np.clip(self.months_here, 1, 12)
        self.annual_per_capita = self.total * (12.0 / k) / np.maximum(size, 1)
        poor = (self.annual_per_capita < line) & active
        first = self.months_here <= 1
        self.entries = poor & ~self.poor & ~first
        self.exits = ~poor & self.poor & ~first & active
        self.fell_back = self.entries & self.left
        self.fell_back_ever |= self.fell_back
        self.left &= ~self.fell_back
        self.months_out = np.where(poor, 0, self.months_out + 1).astype(np.int32)
        self.left |= self.months_out >= MONTHS_TO_CONFIRM_EXIT
        self.poor = poor


def out_of_county(pop: Population, labour: np.ndarray) -> np.ndarray:
    """Bool per member: in the labour force and working outside the county."""
    return labour & (pop.option == Option.OUT_OF_COUNTY)
