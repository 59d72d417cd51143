"""Community activities and child and elder care in the community (社区服务, 托幼养老).

Activities: a higher share of households takes part each month, so more ties form across
origins (docs/MODEL.md 7.7). Care: day care for small children and care for frail elders
in the community relieve `care_coverage` of the carers (drawn once) of `care_relief` of
their care penalty, but only for work near home (local industry and services, workshops,
public-welfare posts): the service looks after children and elders while the carer works
nearby, not while the carer is away in another county or farming far away at the origin.
Sources: 000 (elderly and child-care centres in resettlement communities), 004 (work near
home "without neglecting the family"); docs/MODEL.md 7.9. Phasing out: the share of
households in activities and the share of carers whose dependants keep a place are both
x intensity (carers with the lowest draws keep their place longest); costs follow.
"""

from __future__ import annotations

import numpy as np

from ..options import IS_NEAR_HOME
from .base import FollowUpPolicy, MonthView, NonNegative, PolicyParams, Share


class Params(PolicyParams):
    """Activities and care services: reach, relief and unit costs."""

    activity_participation: Share = 0.25
    cost_per_participant_month_yuan: NonNegative = 20.0
    care_coverage: Share = 0.5
    care_relief: Share = 0.7
    cost_per_carer_month_yuan: NonNegative = 300.0


class CommunityServices(FollowUpPolicy):
    """Community activities (more ties) and care that frees carers for work near home."""

    NAME = "community_services"
    LABEL = ("community services and care", "社区服务与照料")
    Params = Params
    COST_LINES = ("activities", "care")

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        self.draw = rng.random(model.pop.n_members)  # drawn once: whose dependants get a place
        self.covered = self.draw < params.care_coverage  # at full strength
        self.relief = np.where(IS_NEAR_HOME, params.care_relief, 0.0) * np.asarray(
            scenario.choice.care_penalty.as_tuple()
        )

    def covered_in(self, month: int) -> np.ndarray:
        """Bool per member: their dependants have a place this month."""
        return self.draw < self.params.care_coverage * self.intensity(month)

    def utility_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        if not self.active(view.month):
            return None
        helped = view.pop.care_duty[seekers] & self.covered_in(view.month)[seekers]
        return np.outer(helped, self.relief)

    def activity_participation(self, view: MonthView) -> float | None:
        return self.params.activity_participation * self.intensity(view.month) if self.active(view.month) else None

    def costs(self, view: MonthView) -> dict[str, float]:
        if not self.active(view.month):
            return {}
        carers = view.pop.care_duty & self.covered_in(view.month) & view.living[view.pop.household]
        participants = view.participating_households
        return {
            "activities": participants * self.params.cost_per_participant_month_yuan,
            "care": float(carers.sum()) * self.params.cost_per_carer_month_yuan,
        }
