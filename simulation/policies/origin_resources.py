"""Origin land and collective assets: renting out land (土地流转) and asset-income shares.

Land: households with a draw below `land_participation` rent their land at the origin to
others (cooperatives, large farmers) for `land_rent_yuan_per_mu_year`. Rent is forgone by
farming: a member who farms takes back the land he works (all of his share of the
household's land farming full time, `origin.part_time_farm_fraction` of it part time), so
the choice sees the rent he would lose and the household receives rent only for the land
nobody farms. Land rented out no longer pulls the household back to the origin
(docs/MODEL.md 7.8). Assets: `asset_participation` of eligible households (all, or those
poor when the policy starts) receive an asset-income share each year, paid monthly.
Phasing out: the land scheme keeps `land_participation` x intensity of households (those
with the lowest draws made once stay longest; land no longer rented pulls again), and the
asset share paid is x intensity (a dividend that runs down); the service cost follows.
Sources: 000 §6 (land transfer to cooperatives and large farmers, asset income), 002, 004
(1,131 households with asset-income shares in one city); docs/MODEL.md 7.9.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..going_back import land_pull_factor
from ..indicators import Indicator
from ..options import Option
from .base import FollowUpPolicy, MonthView, NonNegative, PolicyParams, Share


class Params(PolicyParams):
    """Land rent and asset shares: amounts and reach."""

    land_rent_yuan_per_mu_year: NonNegative = 200.0
    land_participation: Share = 0.5
    asset_income_yuan_per_household_year: NonNegative = 1_000.0
    asset_target: Literal["all", "poor"] = "all"
    asset_participation: Share = 0.8
    service_cost_per_household_year_yuan: NonNegative = 50.0


class OriginResources(FollowUpPolicy):
    """Rent for land nobody farms, and asset-income shares."""

    NAME = "origin_resources"
    LABEL = ("origin land and assets", "原籍土地与资产收益")
    Params = Params
    COST_LINES = ("asset_income", "services")
    INDICATORS = (
        Indicator(
            "households_renting_out_land",
            "count",
            "relocated households receiving rent for origin land this month",
            ("Households renting out land", "土地流转户数"),
        ),
    )

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        n_h = model.pop.n_households
        self.land_draw = rng.random(n_h)  # drawn once: who rents out land through the scheme
        self.relocated = model.pop.relocated.copy()
        self.renting = (self.land_draw < params.land_participation) & self.relocated
        self.asset_draw = rng.random(n_h)
        self.asset_holder: np.ndarray | None = None
        self.rent_month = np.zeros(n_h)
        self.assets_month = np.zeros(n_h)

    def _rent_per_worker(self, view: MonthView, members: np.ndarray) -> np.ndarray:
        """Monthly rent of a member's share of the household's land (0 where the household does not rent)."""
        pop = view.pop
        hh = pop.household[members]
        per_worker = pop.land_mu[hh] / np.maximum(view.workers_per_household[hh], 1)
        return np.where(self.renting[hh], self.params.land_rent_yuan_per_mu_year / 12.0 * per_worker, 0.0)

    def money_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        if not self.active(view.month):
            return None
        forgone = self._rent_per_worker(view, seekers)
        terms = np.zeros(earnings.shape)
        terms[:, Option.FARMING_ORIGIN] = -forgone
        terms[:, Option.PART_TIME] = -forgone * self.scenario.origin.part_time_farm_fraction
        return terms

    def transfers(self, view: MonthView, income: np.ndarray) -> np.ndarray | None:
        self.rent_month[:] = 0.0
        self.assets_month[:] = 0.0
        if not self.active(view.month):
            return None
        intensity = self.intensity(view.month)
        pop = view.pop
        self.renting = (self.land_draw < self.params.land_participation * intensity) & self.relocated & pop.active
        farming = np.flatnonzero(
            view.labour & ((view.option == Option.FARMING_ORIGIN) | (view.option == Option.PART_TIME))
        )
        share = np.where(view.option[farming] == Option.PART_TIME, self.scenario.origin.part_time_farm_fraction, 1.0)
        share = share / np.maximum(view.workers_per_household[pop.household[farming]], 1)
        farmed = np.minimum(np.bincount(pop.household[farming], weights=share, minlength=pop.n_households), 1.0)
        self.rent_month = np.where(
            self.renting, self.params.land_rent_yuan_per_mu_year / 12.0 * pop.land_mu * (1.0 - farmed), 0.0
        )
        if self.asset_holder is None:  # decided when the policy starts
            eligible = pop.relocated & (self.asset_draw < self.params.asset_participation)
            if self.params.asset_target == "poor":
                eligible &= view.income_per_capita < self.scenario.income.poverty_line_yuan
            self.asset_holder = eligible
        yearly = self.params.asset_income_yuan_per_household_year * intensity
        self.assets_month = np.where(self.asset_holder & pop.active, yearly / 12.0, 0.0)  # paid from the move on
        return self.rent_month + self.assets_month

    def going_back_factor(self, view: MonthView) -> np.ndarray | None:
        if not self.active(view.month):
            return None
        pop = view.pop
        per_person = pop.land_mu / np.maximum(pop.size, 1)
        return np.where(self.renting, 1.0 / land_pull_factor(per_person, self.scenario), 1.0)

    def costs(self, view: MonthView) -> dict[str, float]:
        if not self.active(view.month):
            return {}
        served = self.renting | (self.asset_holder if self.asset_holder is not None else False)
        return {
            "asset_income": float(self.assets_month.sum()),
            "services": float(np.count_nonzero(served)) * self.params.service_cost_per_household_year_yuan / 12.0,
        }

    def indicators(self, view: MonthView) -> dict[str, float]:
        return {"households_renting_out_land": int((self.renting & (self.rent_month > 0)).sum())}
