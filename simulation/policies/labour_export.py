"""Organised labour export (劳务输出): matching with employers elsewhere, cheaper migration.

`coverage` of the target group (all, or workers aged `max_age` or under), drawn once, is
reached by matching programmes (east-west cooperation, labour brokers; 000): their monthly
chance of finding work outside the county is multiplied by `job_finding_factor`, and
`migration_cost_reduction` of the one-off migration cost is taken over. Each covered
member who starts work outside costs `cost_per_worker_placed_yuan`. Phasing out: the
programme reaches `coverage` x intensity (the members with the lowest of the draws made once
stay covered longest), so the matching, the subsidy and their cost shrink together.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..options import Option
from .base import FollowUpPolicy, MonthView, NonNegative, PolicyParams, Share


class Params(PolicyParams):
    """Who the programme reaches and what it does for them."""

    target: Literal["all", "young"] = "young"
    max_age: Annotated[int, Field(ge=16, le=70)] = 45
    coverage: Share = 0.5
    job_finding_factor: Annotated[float, Field(ge=1.0, le=5.0)] = 1.3
    migration_cost_reduction: Share = 0.6
    cost_per_worker_placed_yuan: NonNegative = 2_000.0


class LabourExport(FollowUpPolicy):
    """Better matching and cheaper migration for the covered workers."""

    NAME = "labour_export"
    LABEL = ("organised labour export", "劳务输出")
    Params = Params
    COST_LINES = ("placements",)

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        self.draw = rng.random(model.pop.n_members)  # drawn once: who the programme reaches
        self.relocated = model.pop.relocated[model.pop.household]
        self.was_out = np.zeros(model.pop.n_members, dtype=bool)
        c = scenario.choice
        # the part of the migration cost taken over, spread over the planning horizon (yuan a month)
        self.saving = c.migration_cost_yuan * params.migration_cost_reduction / c.planning_horizon_months

    def covered(self, view: MonthView, members: np.ndarray) -> np.ndarray:
        """Per member: reached by the programme this month."""
        intensity = self.intensity(view.month)
        if intensity == 0:
            return np.zeros(members.size, dtype=bool)
        reached = (self.draw[members] < self.params.coverage * intensity) & self.relocated[members]
        return reached & (view.pop.age[members] <= self.params.max_age) if self.params.target == "young" else reached

    def job_finding(self, view: MonthView, seekers: np.ndarray) -> np.ndarray | None:
        gain = view.economy.job_finding_out * (self.params.job_finding_factor - 1.0)
        return np.where(self.covered(view, seekers), gain, 0.0)

    def money_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        terms = np.zeros(earnings.shape)
        entering = self.covered(view, seekers) & (view.option[seekers] != Option.OUT_OF_COUNTY)
        terms[entering, Option.OUT_OF_COUNTY] = self.saving  # part of the migration cost is taken over
        return terms

    def costs(self, view: MonthView) -> dict[str, float]:
        out = (view.option == Option.OUT_OF_COUNTY) & view.labour
        newly = np.flatnonzero(out & ~self.was_out)
        self.was_out = out
        placed = int(self.covered(view, newly).sum())
        return {"placements": placed * self.params.cost_per_worker_placed_yuan}
