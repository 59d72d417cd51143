"""Monitoring and assistance against falling back into poverty (防止返贫动态监测和帮扶).

Who is watched: relocated households living in the community whose income over the last
twelve months is below the monitoring line (`income.monitoring_line_yuan`, 1.5 times the
poverty line), or that a shock hit in the month before (illness, unpaid wages, a bad harvest, a job
lost in a bad year). Detection: once a household has been at risk for
`detection_delay_months` in a row, each month the village cadres' visits, the household's
own report and the departments' data find it with probability `detection_rate`.
Assistance, while it is monitored:
- medical assistance pays `medical_assistance_share` of its out-of-pocket costs of illness,
  those of the months at risk before it was found included (the bills of the stay that
  put it at risk are reimbursed);
- a temporary public-welfare post for one member without work, if nobody in the
  household works (created for the member, paid the public-welfare wage, ended when the
  household leaves monitoring or someone else in it works);
- a temporary top-up (临时救助) of the month's income, net of the costs of living in town
  and of illness, to the poverty line, for at most `top_up_months` of each spell of
  monitoring (households that cannot work are the subsistence allowance's to carry).
A household leaves monitoring once its twelve-month income has stayed at or above the
monitoring line for `stable_months` ("risk eliminated"). Tapered (`taper_months`), the
detection rate, the medical assistance and the top-ups shrink with the policy's intensity.
Values and sources: docs/MODEL.md 7.9.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from ..indicators import Indicator
from ..options import Option
from .base import Demand, FollowUpPolicy, MonthView, Placement, PolicyParams, Share
from .public_welfare_jobs import least_able_to_go, other_work


class Params(PolicyParams):
    """Detection (delay, rate), the assistance given, and when a household leaves monitoring."""

    detection_delay_months: Annotated[int, Field(ge=0, le=24)] = 3
    detection_rate: Share = 0.8
    medical_assistance_share: Share = 0.67
    welfare_post: bool = True
    top_up: bool = True
    top_up_months: Annotated[int, Field(ge=0, le=60)] = 6
    stable_months: Annotated[int, Field(ge=1, le=36)] = 6


class Monitoring(FollowUpPolicy):
    """Find households at risk of falling back into poverty, and catch them."""

    NAME = "monitoring"
    LABEL = ("monitoring and assistance", "防返贫监测帮扶")
    Params = Params
    COST_LINES = ("medical_assistance", "temporary_posts", "top_ups")
    INDICATORS = (
        Indicator(
            "monitored_households",
            "count",
            "relocated households under monitoring and assistance now",
            ("Households monitored", "监测对象户数"),
        ),
        Indicator(
            "monitoring_detected_cumulative",
            "count",
            "households taken into monitoring since moving in (a household may enter more than once)",
            ("Taken into monitoring, cumulative", "累计纳入监测户次"),
            "detail",
        ),
    )

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        n_h = model.pop.n_households
        self.monitored = np.zeros(n_h, dtype=bool)
        self.risk_months = np.zeros(n_h, dtype=np.int32)  # consecutive months at risk
        self.stable = np.zeros(n_h, dtype=np.int32)  # consecutive months at or above the monitoring line
        self.topped = np.zeros(n_h, dtype=np.int32)  # months topped up in this spell of monitoring
        self.bills = np.zeros(n_h)  # out-of-pocket medical costs of the current spell at risk, not yet reimbursed
        self.holder = np.zeros(model.pop.n_members, dtype=bool)  # holds a post this policy created
        self.detected_total = 0
        self.medical_paid = 0.0
        self.top_ups = np.zeros(n_h)
        self.wage = scenario.policies.public_welfare_jobs.wage_yuan_month

    # ------------------------------------------------------------- who is monitored
    def _review(self, view: MonthView) -> None:
        """Once a month, before the choice: who leaves monitoring, who is found."""
        p, line = self.params, self.scenario.income.monitoring_line_yuan
        annual = view.annual_income_per_capita
        above = annual >= line
        self.stable = np.where(above, self.stable + 1, 0).astype(np.int32)
        self.monitored &= view.living & (self.stable < p.stable_months)
        at_risk = view.living & (~above | view.shocked)
        self.risk_months = np.where(at_risk, self.risk_months + 1, 0).astype(np.int32)
        self.bills[~at_risk & ~self.monitored] = 0.0  # bills of a spell at risk that ended unnoticed stay unpaid
        draw = self.rng.random(self.monitored.size)
        rate = p.detection_rate * self.intensity(view.month)  # tapered: fewer visits, fewer found
        found = ~self.monitored & at_risk & (self.risk_months > p.detection_delay_months) & (draw < rate)
        self.monitored |= found
        self.topped[found] = 0
        self.detected_total += int(found.sum())

    def released(self, view: MonthView) -> np.ndarray | None:
        if self.active(view.month):
            self._review(view)
        else:
            self.monitored[:] = False
        self.holder &= (view.option == Option.PUBLIC_WELFARE) & view.labour
        holders = np.flatnonzero(self.holder)
        if holders.size == 0:
            return None
        ends = ~self.monitored[view.pop.household[holders]] | other_work(view, holders)
        out = np.zeros(view.pop.n_members, dtype=bool)
        out[holders[ends]] = True
        self.holder[holders[ends]] = False
        return out

    # ------------------------------------------------------------- assistance
    def demand(self, view: MonthView) -> dict[Option, Demand]:
        return {Option.PUBLIC_WELFARE: Demand(0, self.wage)}

    def reserved(self, view: MonthView) -> np.ndarray:
        return self.holder.copy()

    def placements(self, view: MonthView) -> list[Placement] | None:
        if not (self.active(view.month) and self.params.welfare_post):
            return None
        chosen = least_able_to_go(view, self.monitored & view.zero_employment)
        if chosen.size == 0:
            return None
        return [Placement(chosen, (), fallback=Option.PUBLIC_WELFARE)]

    def placed(self, view: MonthView, members: np.ndarray, created: np.ndarray) -> None:
        self.holder[members[created]] = True

    def transfers(self, view: MonthView, income: np.ndarray) -> np.ndarray | None:
        self.top_ups = np.zeros_like(income)
        self.medical_paid = 0.0
        self.bills += view.medical_costs
        if not self.active(view.month) or not self.monitored.any():
            return None
        p, pop = self.params, view.pop
        strength = self.intensity(view.month)  # tapered: less of each kind of assistance
        medical = np.where(self.monitored, strength * p.medical_assistance_share * self.bills, 0.0)
        self.bills[self.monitored] = 0.0
        self.medical_paid = float(medical.sum())
        if p.top_up:
            net = income + medical - view.living_costs - view.medical_costs
            need = self.scenario.income.poverty_line_yuan * pop.size / 12.0 - net
            eligible = self.monitored & (self.topped < p.top_up_months)
            self.top_ups = np.where(eligible, strength * np.maximum(need, 0.0), 0.0)
            self.topped += self.top_ups > 0
        return medical + self.top_ups

    def costs(self, view: MonthView) -> dict[str, float]:
        self.holder &= view.reserved  # a holder who left for other work this month holds no post
        return {
            "medical_assistance": self.medical_paid,
            "temporary_posts": float(self.holder.sum()) * self.wage,
            "top_ups": float(self.top_ups.sum()),
        }

    def indicators(self, view: MonthView) -> dict[str, float]:
        return {
            "monitored_households": int(self.monitored.sum()),
            "monitoring_detected_cumulative": self.detected_total,
        }
