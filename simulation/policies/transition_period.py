"""The transition period (过渡期): the old house stands for `years` after moving in.

While it stands, households can farm from it and going back is cheap (docs/MODEL.md 7.2,
7.8); afterwards it is demolished and the homestead reclaimed. The rules allow one year
after moving in, at most three (004); 003 proposes longer. Its cost, per relocated
household and month of transition: upkeep and safety checks of the empty houses, and the
delay to reclaiming the homestead, whose land-quota revenue (城乡建设用地增减挂钩) comes
later (interest on it forgone). Phasing out does not apply: the transition is a rule of the
relocation that ends by itself `years` after moving in (its length is the lever), so
`taper_months` must be 0 here (a clear error otherwise). Values and sources: docs/MODEL.md 7.9.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from .base import FollowUpPolicy, MonthView, NonNegative, PolicyParams, Share


class Params(PolicyParams):
    """Length of the transition and its cost."""

    enabled: bool = True  # part of the relocation rules, not an optional programme
    years: Annotated[int, Field(ge=0, le=3)] = 1
    upkeep_yuan_household_month: NonNegative = 20.0
    homestead_value_yuan_household: NonNegative = 50_000.0
    interest_rate_year: Share = 0.045

    @model_validator(mode="after")
    def _no_taper(self) -> Params:
        if self.taper_months:
            raise ValueError(
                "the transition period cannot be tapered (taper_months must be 0): it is a rule of the relocation "
                "that ends by itself `years` after moving in; change `years` instead"
            )
        return self


class TransitionPeriod(FollowUpPolicy):
    """Old houses demolished `years` after moving in."""

    NAME = "transition_period"
    LABEL = ("transition period", "过渡期")
    Params = Params
    COST_LINES = ("upkeep", "delayed_reclamation")
    PHASED = False  # ends by itself `years` after moving in

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        self.relocated = model.pop.relocated.copy()

    def demolition_month(self) -> int:
        """Months after moving in at which old houses are demolished (0: at once)."""
        return 12 * self.params.years

    def demolished(self, view: MonthView) -> np.ndarray:
        """Per household: its old house is gone (the period runs from its own move: arrival waves)."""
        return (view.month > view.pop.arrival_month + self.demolition_month()) & view.pop.relocated

    def costs(self, view: MonthView) -> dict[str, float]:
        p = self.params
        # houses of the households that moved (couples who set up house later have none of their own)
        standing = view.pop.active & self.relocated & (view.month <= view.pop.arrival_month + self.demolition_month())
        houses = float(standing.sum())
        if houses == 0:
            return {}
        return {
            "upkeep": houses * p.upkeep_yuan_household_month,
            "delayed_reclamation": houses * p.homestead_value_yuan_household * p.interest_rate_year / 12.0,
        }
