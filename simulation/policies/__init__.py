"""The follow-up support policies: one unit per policy, and the set the model runs.

`UNITS` is the catalogue in the order the model calls their hooks (income transfers in
this order too: the subsistence allowance and then monitoring, which top income up, come
after everything that adds to income). The scenario schema's `[policies]` section is assembled from the
units' `Params`, so adding a policy means one unit here, one scenario file and its tests.
The contract the units follow is in `base.py` and docs/MODEL.md, section 7.9.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..indicators import INDICATORS, Indicator
from ..options import N_OPTIONS, Option
from .base import Demand, FollowUpPolicy, MonthView, Placement, PolicyParams, declare_policy_indicators
from .community_services import CommunityServices
from .employment_guarantee import EmploymentGuarantee
from .labour_export import LabourExport
from .monitoring import Monitoring
from .origin_resources import OriginResources
from .public_welfare_jobs import PublicWelfareJobs
from .relocation_terms import RelocationTerms
from .skills_training import SkillsTraining
from .startup_support import StartupSupport
from .subsistence_allowance import SubsistenceAllowance
from .transition_period import TransitionPeriod
from .workshops import Workshops

if TYPE_CHECKING:
    from scenarios.schema import Scenario

    from ..model import ResettlementModel

UNITS: tuple[type[FollowUpPolicy], ...] = (
    SkillsTraining,
    PublicWelfareJobs,
    Workshops,
    LabourExport,
    CommunityServices,
    TransitionPeriod,
    OriginResources,
    EmploymentGuarantee,
    SubsistenceAllowance,
    StartupSupport,
    Monitoring,
    RelocationTerms,
)
REGISTRY: dict[str, type[FollowUpPolicy]] = {unit.NAME: unit for unit in UNITS}
POLICY_NAMES = tuple(REGISTRY)
FOLLOW_UP_NAMES = tuple(unit.NAME for unit in UNITS if not unit.PRE_MOVE)  # the support after the move

INDICATORS.declare(
    Indicator(
        "policy_cost_total",
        "yuan",
        "yuan spent on follow-up support since moving in",
        ("Policy cost, cumulative", "政策累计成本"),
        "key",
        better="lower",
        margin=100_000.0,
    ),
    Indicator(
        "policy_cost_month_total",
        "yuan",
        "yuan spent on follow-up support this month",
        ("Policy cost this month", "本月政策成本"),
        "detail",
    ),
)
for _unit in UNITS:
    declare_policy_indicators(_unit)


class PolicySet:
    """The enabled policies of a scenario: calls their hooks, combines what they return,
    and books every yuan to the policy (and cost line) that spent it."""

    def __init__(self, scenario: Scenario, model: ResettlementModel) -> None:
        # one generator per unit that draws, in catalogue order, whether enabled or not, so
        # switching a policy on changes no other policy's draws and none of the model's own
        drawing = [unit for unit in UNITS if unit.DRAWS]
        streams = dict(zip(drawing, model.rng.spawn(len(drawing)), strict=True))
        self.units: list[FollowUpPolicy] = [
            unit(getattr(scenario.policies, unit.NAME), scenario, model, streams.get(unit))
            for unit in UNITS
            if getattr(scenario.policies, unit.NAME).enabled
        ]
        self.total = dict.fromkeys(POLICY_NAMES, 0.0)
        self.this_month = dict.fromkeys(POLICY_NAMES, 0.0)
        self.lines: dict[str, dict[str, float]] = {
            name: dict.fromkeys(REGISTRY[name].COST_LINES, 0.0) for name in REGISTRY
        }

    def unit(self, name: str) -> FollowUpPolicy | None:
        """The enabled unit of that name, if any."""
        return next((u for u in self.units if name == u.NAME), None)

    # ------------------------------------------------------------------ combining hooks
    def any_of(self, hook: str, view: MonthView, size: int, *args: Any) -> np.ndarray:
        """OR of the bool arrays the units return (all False if none does)."""
        out = np.zeros(size, dtype=bool)
        for u in self.units:
            value = getattr(u, hook)(view, *args)
            if value is not None:
                out |= value
        return out

    def sum_of(self, hook: str, view: MonthView, shape: tuple[int, ...], *args: Any) -> np.ndarray:
        """Sum of the arrays the units return (zeros if none does), as floats of `shape`."""
        out = None
        for u in self.units:
            value = getattr(u, hook)(view, *args)
            if value is None:
                continue
            if out is None:  # the first term as it is (no pass adding it to zeros)
                out = np.array(np.broadcast_to(value, shape), dtype=float)
            else:
                out += value
        return np.zeros(shape) if out is None else out

    def product_of(self, hook: str, view: MonthView, size: int) -> np.ndarray:
        """Product of the multipliers the units return (ones if none does)."""
        out = np.ones(size)
        for u in self.units:
            value = getattr(u, hook)(view)
            if value is not None:
                out = out * value
        return out

    def demand(self, view: MonthView) -> tuple[np.ndarray, np.ndarray]:
        """Extra posts by option, and wages set by policies (NaN where none sets one)."""
        posts = np.zeros(N_OPTIONS)
        wage = np.full(N_OPTIONS, np.nan)
        for u in self.units:
            for option, d in (u.demand(view) or {}).items():
                posts[option] += d.posts
                if d.wage is not None and np.isnan(wage[option]):
                    wage[option] = d.wage
        return posts, wage

    def earnings(self, view: MonthView, workers: np.ndarray, earnings: np.ndarray) -> np.ndarray:
        """Each worker's earnings after policies that replace them (own businesses)."""
        out = earnings[np.arange(workers.size), view.option[workers]].astype(float)
        for u in self.units:
            value = u.earnings(view, workers, earnings)
            if value is not None:
                out = np.where(np.isnan(value), out, value)
        return out

    def transfers(self, view: MonthView, income: np.ndarray) -> np.ndarray:
        """Transfers per household, each unit seeing the income including earlier units' transfers."""
        total = np.zeros_like(income)
        for u in self.units:
            value = u.transfers(view, income + total)
            if value is not None:
                total = total + value
        return total

    def activity_participation(self, view: MonthView, default: float) -> float:
        """The highest share of households in activities any policy brings about (or the default)."""
        shares = [s for u in self.units if (s := u.activity_participation(view)) is not None]
        return max([default, *shares])

    def demolished(self, view: MonthView) -> np.ndarray:
        """Bool per household: the old house is gone (always, without a transition period)."""
        values = [d for u in self.units if (d := u.demolished(view)) is not None]
        if not values:
            return np.ones(view.pop.n_households, dtype=bool)
        return np.logical_and.reduce(values)

    def placements(self, view: MonthView) -> list[tuple[FollowUpPolicy, Placement]]:
        """Every unit's placements, with the unit that asked for them."""
        return [(u, p) for u in self.units for p in (u.placements(view) or [])]

    # ------------------------------------------------------------------ costs and indicators
    def book(self, view: MonthView) -> None:
        """This month's spending of every enabled policy."""
        for name in self.this_month:
            self.this_month[name] = 0.0
        for u in self.units:
            for line, yuan in u.costs(view).items():
                if line not in self.lines[u.NAME]:
                    raise KeyError(f"policy {u.NAME!r} booked an undeclared cost line {line!r}")
                self.lines[u.NAME][line] += float(yuan)
                self.this_month[u.NAME] += float(yuan)
                self.total[u.NAME] += float(yuan)

    def indicators(self, view: MonthView) -> dict[str, float]:
        """Costs per policy and in total (cumulative and this month), and the units' own indicators."""
        out: dict[str, float] = {"policy_cost_total": sum(self.total.values())}
        out |= {f"policy_cost_{name}": value for name, value in self.total.items()}
        out["policy_cost_month_total"] = sum(self.this_month.values())
        out |= {f"policy_cost_month_{name}": value for name, value in self.this_month.items()}
        for u in self.units:
            out |= u.indicators(view)
        return out


__all__ = [
    "FOLLOW_UP_NAMES",
    "POLICY_NAMES",
    "REGISTRY",
    "UNITS",
    "Demand",
    "FollowUpPolicy",
    "MonthView",
    "Option",
    "Placement",
    "PolicyParams",
    "PolicySet",
]
