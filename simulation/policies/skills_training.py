"""Vocational and practical skills training (扶技, 技能培训).

A cohort each `cohort_every_months` while the policy is active: `coverage` of the eligible
members of the target group enrol. Eligible: in the labour force of a relocated household
living in the community, not in a course, and not trained within the last
`waiting_months` before (per-person eligibility with a waiting time). On completion, after
`duration_months`, the member holds a training gain of `skill_gain` in vocational skill
(wages rise with skill through `wages.return_to_skill`: 0.4 x 0.2 = 8 % more pay in
non-farm work): a second course refreshes what has faded, it does not stack on top. What
was learnt fades when it is not used: each year a trained member spends out of non-farm
work (local industry, services, a workshop, or outside the county), the gain still held
falls by `fade_per_year`. Phasing out: a cohort enrols `coverage` x intensity of the
eligible (fewer places); courses under way and gains already held are kept. Sources and
the effect size: docs/MODEL.md 7.9.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..indicators import Indicator
from ..options import IS_NON_FARM_SKILLED, Education, Option
from .base import FollowUpPolicy, MonthView, NonNegative, PolicyParams, Share


class Params(PolicyParams):
    """Who is trained, how often, with what effect and cost."""

    target: Literal["all", "young", "women", "low_education", "not_working", "zero_employment_households"] = "all"
    coverage: Share = 0.2
    cohort_every_months: Annotated[int, Field(ge=1, le=60)] = 12
    duration_months: Annotated[int, Field(ge=1, le=24)] = 1
    waiting_months: Annotated[int, Field(ge=0, le=240)] = 36
    skill_gain: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    fade_per_year: Share = 0.15
    cost_per_trainee_yuan: NonNegative = 1_500.0


class SkillsTraining(FollowUpPolicy):
    """Courses that raise skill, for eligible members, with a waiting time and fading."""

    NAME = "skills_training"
    LABEL = ("skills training", "技能培训")
    Params = Params
    COST_LINES = ("courses",)
    INDICATORS = (
        Indicator(
            "trained_workers", "count", "courses completed since moving in", ("Courses completed", "培训结业人次")
        ),
        Indicator(
            "training_gain_held",
            "index",
            "mean skill gain from training still held, over members ever trained",
            ("Training gain still held", "培训技能留存"),
            "detail",
        ),
    )

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        n = model.pop.n_members
        self.until = np.zeros(n, dtype=np.int32)  # month a course ends (0: not in a course)
        self.last_trained = np.full(n, -10_000, dtype=np.int32)  # month of the last completion
        self.last_enrolled = np.full(n, -10_000, dtype=np.int32)  # month of the last enrolment
        self.held = np.zeros(n)  # part of the training gain still held
        self.trained = 0
        self.enrolled_now = 0
        self.keep = (1.0 - params.fade_per_year) ** (1.0 / 12.0)  # monthly share kept when unused

    def target(self, view: MonthView) -> np.ndarray:
        """Bool per member: in the target group."""
        pop, target = view.pop, self.params.target
        if target == "young":
            return pop.age <= 35
        if target == "women":
            return pop.female.copy()
        if target == "low_education":
            return pop.education <= Education.JUNIOR_MIDDLE
        if target == "not_working":
            return view.option == Option.NOT_WORKING
        if target == "zero_employment_households":
            return view.zero_employment[pop.household]
        return np.ones(pop.n_members, dtype=bool)

    def skill_change(self, view: MonthView) -> np.ndarray | None:
        month, p = view.month, self.params
        change = np.zeros(view.pop.n_members)
        # fading: what is not used is lost little by little
        unused = (self.held > 0) & ~IS_NON_FARM_SKILLED[view.option]
        lost = np.where(unused, self.held * (1.0 - self.keep), 0.0)
        lost = np.minimum(lost, view.pop.skill)  # never below zero skill
        self.held -= lost
        change -= lost
        # completions
        done = self.until == month
        if done.any():
            # up to the full gain held again (a refresher does not stack); skill is capped at 1
            gain = np.minimum(np.maximum(p.skill_gain - self.held[done], 0.0), 1.0 - view.pop.skill[done])
            change[done] += gain
            self.held[done] += gain
            self.until[done] = 0
            self.last_trained[done] = month
            self.trained += int(done.sum())
        # a new cohort
        self.enrolled_now = 0
        if self.active(month) and (month - p.start_month) % p.cohort_every_months == 0:
            eligible = (
                view.present_labour
                & (self.until == 0)
                & (month - self.last_enrolled >= p.waiting_months)
                & self.target(view)
            )
            enrol = eligible & (self.rng.random(view.pop.n_members) < p.coverage * self.intensity(month))
            self.until[enrol] = month + p.duration_months
            self.last_enrolled[enrol] = month
            self.enrolled_now = int(enrol.sum())
        return change if change.any() else None

    def costs(self, view: MonthView) -> dict[str, float]:
        return {"courses": self.enrolled_now * self.params.cost_per_trainee_yuan}

    def indicators(self, view: MonthView) -> dict[str, float]:
        ever = self.last_trained > -10_000
        return {
            "trained_workers": self.trained,
            "training_gain_held": float(self.held[ever].mean()) if ever.any() else float("nan"),
        }
