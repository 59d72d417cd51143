"""Poverty-alleviation workshops and firms attracted beside the community (扶贫车间).

Workshop posts are their own work option: labour-intensive piece work near home, paid
`wage_yuan_month` with the local returns to schooling and skill, and easier to combine
with care than a factory shift (their care penalty, `choice.care_penalty.workshop`, is
lower). Posts are a density: `posts_per_100_workers` of the relocated labour force when the
workshops open. Costs: a one-off set-up cost per post when they open (buildings, equipment
and attraction subsidies) and a monthly subsidy per filled post. Phasing out: the posts open are `posts` x intensity
(rounded; workers beyond them lose their post at random, as in any shrinking option), and
the subsidy follows the posts filled. Sources: 000 (workshops
inside or beside resettlement communities; Yunyang's sock cluster), 004 (work near home
"without neglecting the family"); docs/MODEL.md 7.9.
"""

from __future__ import annotations

from ..options import Option
from .base import Demand, FollowUpPolicy, MonthView, NonNegative, Per100, PolicyParams


class Params(PolicyParams):
    """Workshop posts, their pay and what they cost the public purse."""

    posts_per_100_workers: Per100 = 6.0
    wage_yuan_month: NonNegative = 1_600.0
    subsidy_per_job_month_yuan: NonNegative = 150.0
    setup_cost_per_post_yuan: NonNegative = 1_000.0


class Workshops(FollowUpPolicy):
    """Workshop posts near home."""

    NAME = "workshops"
    LABEL = ("workshops", "扶贫车间")
    Params = Params
    COST_LINES = ("set_up", "subsidy")

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        workers = int((model.planned_labour & model.pop.relocated[model.pop.household]).sum())
        self.posts = round(params.posts_per_100_workers * workers / 100.0)

    def demand(self, view: MonthView) -> dict[Option, Demand]:
        posts = round(self.posts * self.intensity(view.month))
        return {Option.WORKSHOP: Demand(posts, self.params.wage_yuan_month)}

    def costs(self, view: MonthView) -> dict[str, float]:
        if not self.active(view.month):
            return {}
        filled = float(view.posts_held()[Option.WORKSHOP])
        set_up = self.posts * self.params.setup_cost_per_post_yuan if view.month == self.params.start_month else 0.0
        return {"set_up": set_up, "subsidy": filled * self.params.subsidy_per_job_month_yuan}
