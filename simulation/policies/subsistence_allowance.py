"""The subsistence allowance (农村最低生活保障, 低保): the safety net.

Means test: at each review (every `review_months` from the start) a relocated household in
the community whose per-capita income before the allowance is below `threshold_yuan`
is eligible, and takes the allowance up with a probability that rises with its need
(`take_up` at a gap of `full_take_up_gap` of the threshold or more, proportionally less
for a smaller gap; a fixed draw per household stands for stigma and knowing how to apply).
Recipients are kept until the next review, and each month the allowance tops their
per-capita income up to the threshold (nothing if they are above it that month).
Work effort: because the allowance falls as earnings rise, a member of a recipient
household counts `benefit_withdrawal` of the earnings of any work, up to the household's
allowance, as lost (money the household loses, valued at its income weight). Phasing out: recipients are topped up by intensity x
their gap to the threshold (the allowance runs down; eligibility and reviews unchanged),
and the work-effort term follows what is paid. Values and sources: docs/MODEL.md 7.9.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from ..indicators import Indicator
from ..options import Option
from .base import FollowUpPolicy, MonthView, NonNegative, PolicyParams, Share


class Params(PolicyParams):
    """Threshold, take-up, reviews and the response of work effort."""

    enabled: bool = True  # the standing safety net of the baseline
    threshold_yuan: NonNegative = 4_800.0
    take_up: Share = 0.75
    full_take_up_gap: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    review_months: Annotated[int, Field(ge=1, le=60)] = 6
    benefit_withdrawal: Share = 1.0


class SubsistenceAllowance(FollowUpPolicy):
    """A means-tested top-up of household income to the threshold."""

    NAME = "subsistence_allowance"
    LABEL = ("subsistence allowance", "最低生活保障")
    Params = Params
    COST_LINES = ("allowance",)
    INDICATORS = (
        Indicator(
            "allowance_households",
            "count",
            "relocated households receiving the subsistence allowance this month",
            ("Households on the allowance", "低保户数"),
        ),
    )

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        n_h = model.pop.n_households
        self.draw = rng.random(n_h)  # stigma and knowing how to apply: fixed per household
        self.recipient = np.zeros(n_h, dtype=bool)
        self.paid = np.zeros(n_h)  # this month's allowance, yuan per household

    def review_due(self, month: int) -> bool:
        """A review of who is eligible happens this month."""
        return (month - self.params.start_month) % self.params.review_months == 0

    def money_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        if not self.active(view.month) or self.params.benefit_withdrawal == 0:
            return None
        allowance = self.paid[view.pop.household[seekers]]
        if not allowance.any():
            return None
        lost = self.params.benefit_withdrawal * np.minimum(np.maximum(earnings, 0.0), allowance[:, None])
        lost[:, Option.NOT_WORKING] = 0.0
        return -lost

    def transfers(self, view: MonthView, income: np.ndarray) -> np.ndarray | None:
        self.paid = np.zeros_like(self.paid)
        if not self.active(view.month):
            self.recipient[:] = False
            return None
        p = self.params
        size = np.maximum(view.pop.size, 1).astype(float)
        per_capita = income * 12.0 / size
        if self.review_due(view.month):
            gap = np.clip((p.threshold_yuan - per_capita) / max(p.threshold_yuan, 1e-9), 0.0, 1.0)
            chance = p.take_up * np.minimum(1.0, gap / p.full_take_up_gap)
            self.recipient = view.living & (gap > 0) & (self.draw < chance)
        self.recipient &= view.living
        top_up = np.maximum(p.threshold_yuan - per_capita, 0.0) * size / 12.0 * self.intensity(view.month)
        self.paid = np.where(self.recipient, top_up, 0.0)
        return self.paid

    def costs(self, view: MonthView) -> dict[str, float]:
        return {"allowance": float(self.paid.sum())}

    def indicators(self, view: MonthView) -> dict[str, float]:
        return {"allowance_households": int(np.count_nonzero(self.paid))}
