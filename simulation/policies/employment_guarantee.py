"""Employment guarantee (一户一人就业, 零就业家庭动态清零): one member of every household with
labour in work, as a last resort.

Each month after the choice, in every relocated household in the community that has
labour but nobody working, officials place one member: the one least able to work away
(a carer first, then the oldest). The member takes a vacant local post if there is one
(a public-welfare post first, then a workshop, services or industry post); otherwise the
policy creates a post for them, paid like a public-welfare post. A created post is kept
for its holder alone and ends as soon as another member of the household works, or the
holder leaves it for other work; it is never open to anyone else. Phasing out: each month
officials place intensity x the households due (the rest wait), and the posts created are
capped at intensity x those held when the taper began (holders beyond the cap, drawn at
random, lose the post); at the end every created post ends. Sources: 004 (every
household with labour has at least one member in work), docs/MODEL.md 7.9.
"""

from __future__ import annotations

import numpy as np

from ..indicators import Indicator
from ..options import Option
from .base import Demand, FollowUpPolicy, MonthView, NonNegative, Placement, PolicyParams
from .public_welfare_jobs import least_able_to_go, other_work


class Params(PolicyParams):
    """The guarantee's cost per placement (created posts are paid the public-welfare wage)."""

    placement_cost_yuan: NonNegative = 500.0


class EmploymentGuarantee(FollowUpPolicy):
    """One member of each zero-employment household placed in work."""

    NAME = "employment_guarantee"
    LABEL = ("employment guarantee", "就业兜底")
    Params = Params
    COST_LINES = ("placements", "created_posts")
    INDICATORS = (
        Indicator(
            "guarantee_placements",
            "count",
            "placements by the employment guarantee since moving in",
            ("Guarantee placements", "兜底安置人次"),
        ),
        Indicator(
            "guarantee_posts",
            "count",
            "posts created by the employment guarantee, held now",
            ("Posts created by the guarantee", "兜底开发岗位（在岗）"),
        ),
    )

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        self.holder = np.zeros(model.pop.n_members, dtype=bool)  # holds a post the guarantee created
        self.placements_total = 0
        self.placed_now = 0
        self.wage = scenario.policies.public_welfare_jobs.wage_yuan_month
        self.taper_base: int | None = None  # created posts held when the taper began

    def released(self, view: MonthView) -> np.ndarray | None:
        # a holder who left the post for other work is no longer a holder
        self.holder &= (view.option == Option.PUBLIC_WELFARE) & view.labour
        holders = np.flatnonzero(self.holder)
        if holders.size == 0:
            return None
        ends = other_work(view, holders) | ~view.living[view.pop.household[holders]]
        if not self.active(view.month):
            ends[:] = True
        elif (intensity := self.intensity(view.month)) < 1.0:
            if self.taper_base is None:
                self.taper_base = int(holders.size)
            excess = int((~ends).sum()) - round(intensity * self.taper_base)
            if excess > 0:  # the cap falls with the taper: some created posts end, drawn at random
                ends[self.rng.permutation(np.flatnonzero(~ends))[:excess]] = True
        out = np.zeros(view.pop.n_members, dtype=bool)
        out[holders[ends]] = True
        self.holder[holders[ends]] = False
        return out

    def demand(self, view: MonthView) -> dict[Option, Demand]:
        return {Option.PUBLIC_WELFARE: Demand(0, self.wage)}

    def reserved(self, view: MonthView) -> np.ndarray:
        return self.holder.copy()

    def placements(self, view: MonthView) -> list[Placement] | None:
        self.placed_now = 0
        if not self.active(view.month):
            return None
        chosen = least_able_to_go(view, view.zero_employment & view.living)
        if chosen.size == 0:
            return None
        chosen = chosen[self.rng.permutation(chosen.size)]  # who gets the few vacant posts first
        chosen = chosen[: round(self.intensity(view.month) * chosen.size)]  # fewer placements while tapered
        if chosen.size == 0:
            return None
        options = (Option.PUBLIC_WELFARE, Option.WORKSHOP, Option.LOCAL_SERVICES, Option.LOCAL_INDUSTRY)
        return [Placement(chosen, options, fallback=Option.PUBLIC_WELFARE)]

    def placed(self, view: MonthView, members: np.ndarray, created: np.ndarray) -> None:
        self.holder[members[created]] = True
        self.placed_now = int(members.size)
        self.placements_total += int(members.size)

    def costs(self, view: MonthView) -> dict[str, float]:
        self.holder &= view.reserved  # a holder who left for other work this month holds no post
        return {
            "placements": self.placed_now * self.params.placement_cost_yuan,
            "created_posts": float(self.holder.sum()) * self.wage,
        }

    def indicators(self, view: MonthView) -> dict[str, float]:
        return {"guarantee_placements": self.placements_total, "guarantee_posts": int(self.holder.sum())}
