"""Public-welfare posts (公益性岗位): a low-paid floor for weak labour that cannot go out.

Targeting (docs/MODEL.md 7.9; sources there): a post may go only to a member of a
relocated household living in the community who is without work and weak labour (an older
worker, a carer, or a worker with little schooling and little vocational skill: "cannot go
out and has no job"), or who belongs to a zero-employment household; one post per household; members of zero-employment households
are served first, and weak labour among them is urged by officials to take a post (an able
member of a zero-employment household may take one, but is not pushed away from work
outside the county); holders are reviewed every
`review_months` and leave when they no longer qualify (not weak labour and the household
has other work). Posts are a density: per 100 relocated households. Phasing out: the posts
funded are `posts` x intensity (rounded); holders beyond them lose their post at random
(the model's rule for a shrinking option).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from ..indicators import Indicator
from ..options import Education, Option
from .base import Demand, FollowUpPolicy, MonthView, NonNegative, PolicyParams


class Params(PolicyParams):
    """Public-welfare posts: how many, what they pay, who may hold them."""

    enabled: bool = True  # the standing posts of the baseline
    posts_per_100_households: Annotated[float, Field(ge=0.0, le=100.0)] = 4.0
    wage_yuan_month: NonNegative = 800.0
    older_worker_age: Annotated[int, Field(ge=16, le=70)] = 50
    low_skill: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15
    one_per_household: bool = True
    review_months: Annotated[int, Field(ge=1, le=60)] = 12
    priority_zero_employment: bool = True
    zero_employment_encouragement: Annotated[float, Field(ge=0.0, le=10.0)] = 2.5


def weak_labour(view: MonthView, members: np.ndarray, params: Params) -> np.ndarray:
    """Weak labour: older workers, carers, or little schooling together with little skill."""
    pop = view.pop
    return (
        (pop.age[members] >= params.older_worker_age)
        | pop.care_duty[members]
        | ((pop.education[members] <= Education.PRIMARY_OR_LESS) & (pop.skill[members] < params.low_skill))
    )


def other_work(view: MonthView, holders: np.ndarray) -> np.ndarray:
    """Per holder: another labour member of the household works."""
    pop = view.pop
    labour = view.labour_members  # holders are in the labour force
    working = view.option[labour] != Option.NOT_WORKING
    n_work = np.bincount(pop.household[labour], weights=working, minlength=pop.n_households)
    return n_work[pop.household[holders]] - (view.option[holders] != Option.NOT_WORKING) > 0


def least_able_to_go(view: MonthView, jobless_households: np.ndarray) -> np.ndarray:
    """One labour-force member per household in `jobless_households` (bool per household):
    the one least able to work away, a carer first, then the oldest. The member officials
    place in a post near home (the employment guarantee, monitoring's temporary posts)."""
    pop = view.pop
    candidates = np.flatnonzero(jobless_households[pop.household] & view.labour)
    order = np.lexsort((-pop.age[candidates], ~pop.care_duty[candidates], pop.household[candidates]))
    hh = pop.household[candidates][order]
    return candidates[order][np.r_[True, hh[1:] != hh[:-1]]] if candidates.size else candidates


class PublicWelfareJobs(FollowUpPolicy):
    """Public-welfare posts, targeted at weak labour and zero-employment households."""

    NAME = "public_welfare_jobs"
    LABEL = ("public-welfare posts", "公益岗位")
    Params = Params
    COST_LINES = ("wages",)
    INDICATORS = (
        Indicator(
            "public_welfare_posts",
            "count",
            "public-welfare posts funded this month (shared posts, not those the guarantee creates)",
            ("Welfare posts funded", "公益岗位数"),
        ),
        Indicator(
            "weak_labour_employment_rate",
            "share",
            "of weak labour (as these rules define it) in the community, employed",
            ("Weak labour employed", "弱劳动力就业率"),
            better="higher",
        ),
        Indicator(
            "welfare_posts_to_weak_labour",
            "share",
            "of public-welfare post holders, weak labour or from a household with no other work",
            ("Welfare posts held by weak labour", "公益岗位中弱劳动力占比"),
            better="higher",
        ),
    )

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        self.posts = params.posts_per_100_households * int(model.pop.relocated.sum()) / 100.0

    def holders(self, view: MonthView) -> np.ndarray:
        """Members holding a shared public-welfare post (not a post another policy reserved)."""
        labour = view.labour_members
        return labour[(view.option[labour] == Option.PUBLIC_WELFARE) & ~view.reserved[labour]]

    def funded(self, month: int) -> int:
        """Posts funded this month: the density's posts x the policy's intensity."""
        return round(self.posts * self.intensity(month))

    def demand(self, view: MonthView) -> dict[Option, Demand]:
        posts = self.funded(view.month)
        return {Option.PUBLIC_WELFARE: Demand(posts, self.params.wage_yuan_month)}

    def released(self, view: MonthView) -> np.ndarray | None:
        p = self.params
        if not self.active(view.month) or view.month == p.start_month or (view.month - p.start_month) % p.review_months:
            return None
        holders = self.holders(view)
        lapsed = ~weak_labour(view, holders, p) & other_work(view, holders)
        out = np.zeros(view.pop.n_members, dtype=bool)
        out[holders[lapsed]] = True
        return out

    def priority(self, view: MonthView, seekers: np.ndarray) -> np.ndarray | None:
        if not self.params.priority_zero_employment:
            return None
        return view.zero_employment[view.pop.household[seekers]].astype(float)

    def eligible(self, view: MonthView, seekers: np.ndarray) -> np.ndarray:
        """Per seeker: may take a public-welfare post this month (at most one new per household)."""
        pop, p = view.pop, self.params
        hh = pop.household[seekers]
        jobless = view.option[seekers] == Option.NOT_WORKING
        ok = view.living[hh] & ((weak_labour(view, seekers, p) & jobless) | view.zero_employment[hh])
        if p.one_per_household:
            holding = np.bincount(pop.household[self.holders(view)], minlength=pop.n_households) > 0
            ok &= ~holding[hh]
            # one candidate per household this month: the one least able to work away (carer, then oldest)
            idx = np.flatnonzero(ok)
            if idx.size == 0:
                return ok
            order = np.lexsort((-pop.age[seekers[idx]], ~pop.care_duty[seekers[idx]], hh[idx]))
            first = np.r_[True, hh[idx][order][1:] != hh[idx][order][:-1]]
            ok[:] = False
            ok[idx[order][first]] = True
        return ok

    def utility_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray:
        terms = np.zeros(earnings.shape)
        eligible = self.eligible(view, seekers)
        terms[~eligible, Option.PUBLIC_WELFARE] = -np.inf
        if self.active(view.month) and self.params.zero_employment_encouragement:
            urged = (
                eligible & view.zero_employment[view.pop.household[seekers]] & weak_labour(view, seekers, self.params)
            )
            terms[urged, Option.PUBLIC_WELFARE] += self.params.zero_employment_encouragement
        return terms

    def costs(self, view: MonthView) -> dict[str, float]:
        if not self.active(view.month):
            return {}
        return {"wages": len(self.holders(view)) * self.params.wage_yuan_month}

    def indicators(self, view: MonthView) -> dict[str, float]:
        holders = self.holders(view)
        posts = self.funded(view.month)
        labour = view.present_labour_members
        weak = labour[weak_labour(view, labour, self.params)]
        employed = float((view.option[weak] != Option.NOT_WORKING).mean()) if weak.size else float("nan")
        if holders.size == 0:
            targeted = float("nan")
        else:
            targeted = float((weak_labour(view, holders, self.params) | ~other_work(view, holders)).mean())
        return {
            "public_welfare_posts": posts,
            "weak_labour_employment_rate": employed,
            "welfare_posts_to_weak_labour": targeted,
        }
