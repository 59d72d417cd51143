"""The relocation terms (搬迁政策): what households of the origin villages are offered to move.

With this unit enabled the model starts before the move: households of the origin villages
decide whether to sign up and whether to go through with it under these terms
(`simulation.relocation`, docs/MODEL.md 7.12), and those who move are the community.
Disabled (the default), the community is generated as it was surveyed, as before.

The terms: a housing subsidy per person for registered poor households (at least 20,000
yuan, 004) and for others (none: they bought at their own cost, 002); the self-financing
cap of registered poor households (10,000 yuan a household, 004); 25 m² per person, in
flats of at least `min_flat_m2` and at most 125 m² (004); the price per m² (1,200-1,300
yuan, 002; about 1,200, 004); whether the homestead is handed over (its timing is the
transition period's: demolished on moving in with `years = 0`, after the transition
otherwise); dual registration keeping origin membership (proposed in 003); the distance
to the site, as a factor on the community's surveyed distances.

After the move the unit pays the subsidy as each household moves in (cost line
`housing_subsidy`), keeps the old houses standing when the homestead is not handed over
(and books the reclamation revenue forgone), and reports the decision's indicators. The
terms are fixed at signing: `start_month`, `end_month` and `taper_months` do not apply,
and the unit is not phased out.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from ..indicators import Indicator
from ..relocation import SIZE_GROUPS, STAGES, STATUS_GROUPS
from .base import FollowUpPolicy, MonthView, NonNegative, PolicyParams


class Params(PolicyParams):
    """The terms offered to the origin villages' households."""

    subsidy_yuan_per_person: NonNegative = 20_000.0
    nonpoor_subsidy_yuan_per_person: NonNegative = 0.0
    self_financing_cap_yuan: NonNegative = 10_000.0
    flat_m2_per_person: Annotated[float, Field(gt=0.0, le=100.0)] = 25.0
    min_flat_m2: Annotated[float, Field(ge=0.0, le=300.0)] = 25.0
    max_flat_m2: Annotated[float, Field(gt=0.0, le=500.0)] = 125.0
    price_yuan_per_m2: NonNegative = 1_250.0
    homestead_handover: bool = True
    dual_registration: bool = False
    site_distance_factor: Annotated[float, Field(gt=0.0, le=5.0)] = 1.0

    @model_validator(mode="after")
    def _fixed_at_signing(self) -> Params:
        if (self.start_month, self.end_month, self.taper_months) != (1, 600, 0):
            raise ValueError(
                "the relocation terms are fixed when households sign up: start_month, end_month and taper_months "
                "do not apply (leave them out); change the terms themselves instead"
            )
        if self.min_flat_m2 > self.max_flat_m2:
            raise ValueError(f"min_flat_m2 ({self.min_flat_m2}) must be <= max_flat_m2 ({self.max_flat_m2})")
        return self


def _indicators() -> tuple[Indicator, ...]:
    labels = {
        "candidates": ("Households in the origin villages", "迁出村农户"),
        "signed_up": ("Households that signed up", "报名搬迁户"),
        "moved": ("Households that moved", "实际搬迁户"),
        "withdrew": ("Households that signed up and withdrew", "报名后放弃户"),
        "stayed_at_origin": ("Households that stayed at the origin", "留在原籍户"),
    }
    groups = {
        "size_1_2": ("1-2 persons", "1-2人户"),
        "size_3_4": ("3-4 persons", "3-4人户"),
        "size_5_plus": ("5+ persons", "5人及以上户"),
        "poor": ("registered poor", "建档立卡户"),
        "nonpoor": ("not registered poor", "非建档立卡户"),
    }
    out = []
    for stage in STAGES:
        en, zh = labels[stage]
        level = "summary" if stage in ("signed_up", "moved") else "detail"
        margin = 20.0 if stage == "moved" else None  # households: about 1 % of a typical community's movers
        out.append(
            Indicator(f"decision_{stage}", "count", "households of the origin villages", (en, zh), level, margin=margin)
        )
        for group in (*SIZE_GROUPS, *STATUS_GROUPS):
            g_en, g_zh = groups[group]
            out.append(
                Indicator(
                    f"decision_{stage}_{group}",
                    "count",
                    f"households of the origin villages, {g_en}",
                    (f"{en}, {g_en}", f"{zh}（{g_zh}）"),
                    "detail",
                )
            )
    out += [
        Indicator(
            "decision_follow_through",
            "share",
            "of households that signed up, those that moved",
            ("Follow-through of those who signed up", "报名户实际搬迁比例"),
            better="higher",
            margin=0.02,
        ),
        Indicator(
            "decision_follow_through_poor",
            "share",
            "of registered poor households that signed up, those that moved",
            ("Follow-through, registered poor", "建档立卡报名户实际搬迁比例"),
            "detail",
        ),
        Indicator(
            "decision_follow_through_nonpoor",
            "share",
            "of other households that signed up, those that moved (Song County: 780 of 1,625)",
            ("Follow-through, not registered poor", "非建档立卡报名户实际搬迁比例"),
        ),
        Indicator(
            "decision_small_share_candidates",
            "share",
            "of the origin villages' households, those of one or two persons",
            ("1-2 person households among candidates", "迁出村1-2人户占比"),
            "detail",
        ),
        Indicator(
            "decision_small_share_movers",
            "share",
            "of the households that moved, those of one or two persons",
            ("1-2 person households among movers", "搬迁户中1-2人户占比"),
            margin=0.01,
        ),
    ]
    return tuple(out)


class RelocationTerms(FollowUpPolicy):
    """The terms of the move: the decision before it, the subsidy and the homestead after it."""

    NAME = "relocation_terms"
    LABEL = ("relocation terms", "搬迁政策")
    Params = Params
    COST_LINES = ("housing_subsidy", "reclamation_forgone")
    INDICATORS = _indicators()
    DRAWS = False  # decides before the move, on the population's draws: no stream of its own
    PHASED = False  # fixed at signing
    PRE_MOVE = True  # changes who lives in the community, so it is compared against other terms, not the baseline
    COMPARED = ("decision_moved", "decision_follow_through", "decision_small_share_movers")

    def __init__(self, params: Params, scenario, model, rng) -> None:
        super().__init__(params, scenario, model, rng)
        decision = model.pop.decision
        if decision is None:  # cannot happen: the population runs the decision when the unit is enabled
            raise RuntimeError("relocation_terms is enabled but the population was generated without the decision")
        pop = model.pop
        self.subsidy = np.zeros(pop.n_households)
        self.subsidy[: decision.subsidy_yuan.size] = decision.subsidy_yuan
        self.moved = np.zeros(pop.n_households, dtype=bool)
        self.moved[: decision.subsidy_yuan.size] = True
        self.counts = dict(decision.counts)
        tp = scenario.policies.transition_period
        self.reclamation_month = tp.homestead_value_yuan_household * tp.interest_rate_year / 12.0
        self.standing_from = 12 * tp.years if tp.enabled else 0  # months after moving in the transition books

    def demolished(self, view: MonthView) -> np.ndarray | None:
        """Without the handover the old houses stay (the model demolishes only what every unit says is gone)."""
        if self.params.homestead_handover:
            return None  # the transition period decides when (at once without one)
        return np.zeros(view.pop.n_households, dtype=bool)

    def costs(self, view: MonthView) -> dict[str, float]:
        arriving = self.moved & (view.pop.arrival_month == view.month - 1)
        out = {"housing_subsidy": float(self.subsidy[arriving].sum())}
        if not self.params.homestead_handover:
            # the homesteads never reclaimed, past the months the transition period already books
            kept = self.moved & view.pop.active & (view.month > view.pop.arrival_month + self.standing_from)
            out["reclamation_forgone"] = float(kept.sum()) * self.reclamation_month
        return out

    def indicators(self, view: MonthView) -> dict[str, float]:
        return self.counts
