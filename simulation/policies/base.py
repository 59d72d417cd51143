"""The policy contract: what a follow-up support policy is, and the hooks the model calls.

A policy is one unit (a module in this package) with
- `Params`: its parameters, a pydantic model with `enabled`, `start_month`, `end_month`
  and `taper_months` (the scenario's `[policies.<name>]` table is validated against it);
- what "less of it" means: every hook scales the unit's quantity (posts, coverage,
  amounts, participation) by `intensity(month)`, 1 while the policy runs at full
  strength, falling linearly to 0 over the `taper_months` months ending at `end_month`;
- who is eligible and how they are targeted, written in its hooks;
- its effects, through the fixed set of hooks below, each returning arrays (or None for
  "nothing this month"); a policy never writes the model's state, it may only keep its own
  records (who is enrolled, who holds a post it created), and the model applies what
  the hooks return;
- its cost lines (`COST_LINES`) and its indicators (`INDICATORS`, declared in the one
  indicator table).

The model calls the hooks of every enabled policy each month, in this order (docs/MODEL.md,
section 7.9, states the contract in words):

| hook | when | returns | the model then |
|---|---|---|---|
| `released` | start of month | bool per member | ends their post: not working, seeking this month |
| `skill_change` | start of month | skill change per member | adds it to skill, kept in [0, 1] |
| `self_employed` | start of month | bool per member | keeps them in their own business (no separation; kept for them when they review) |
| `demand` | start of month | {option: Demand} | adds the posts to the option's capacity, sets its wage |
| `reserved` | before the choice | bool per member | keeps their post for them alone when they review |
| `priority` | the choice | score per seeker | serves seekers by total score, then by lottery |
| `utility_terms` | the choice | (seekers, options) | adds them to the utilities (minus infinity closes an option) |
| `money_terms` | the choice | (seekers, options), yuan a month | values them like earnings, at the household's income weight |
| `job_finding` | the choice | per seeker | adds it to the chance of finding work outside the county |
| `placements` | after the choice | [Placement] | places members in vacant posts, else in posts the policy creates |
| `earnings` | income | per worker | replaces the worker's earnings where not NaN (own business) |
| `transfers` | income | yuan per household | adds them to household income (in catalogue order) |
| `activity_participation` | ties | share of households | the highest share of all policies and the default |
| `going_back_factor` | going back | per household | multiplies the monthly chance of going back |
| `demolished` | the choice, going back | bool per household | the old house is gone (the transition policy) |
| `costs` | end of month | {cost line: yuan} | books them to the policy |
| `indicators` | end of month | {indicator: value} | reports them |

Hooks receive a `MonthView`: read-only views of the model's arrays, so a policy cannot
write model state by accident (numpy raises on a write).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..indicators import INDICATORS, Indicator
from ..options import N_OPTIONS, Option

if TYPE_CHECKING:
    from scenarios.schema import Scenario

    from ..model import ResettlementModel

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Per100 = Annotated[float, Field(ge=0.0, le=200.0)]


class PolicyParams(BaseModel):
    """Common to every follow-up support policy: on/off, the months it is active, and how
    it is phased out (`taper_months`: the months before `end_month` over which it falls
    linearly to nothing; 0, the default, ends it at full strength)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    enabled: bool = False
    start_month: Annotated[int, Field(ge=1, le=600)] = 1
    end_month: Annotated[int, Field(ge=1, le=600)] = 600
    taper_months: Annotated[int, Field(ge=0, le=600)] = 0

    @model_validator(mode="after")
    def _window(self) -> PolicyParams:
        if self.start_month > self.end_month:
            raise ValueError(f"start_month must be <= end_month ({self.start_month} > {self.end_month})")
        window = self.end_month - self.start_month + 1
        if self.taper_months > window:
            raise ValueError(
                f"taper_months ({self.taper_months}) must be at most the months the policy is active, "
                f"end_month - start_month + 1 = {window}"
            )
        return self

    def active(self, month: int) -> bool:
        """Whether the policy acts in this month."""
        return self.enabled and self.start_month <= month <= self.end_month

    def intensity(self, month: int) -> float:
        """The policy's strength this month, 0-1 (docs/MODEL.md 7.9, "Phasing out").

        1 from `start_month` to `end_month - taper_months`; over the last `taper_months`
        months of the window it falls linearly, (end_month - month + 1) / (taper_months + 1):
        with a taper of T months the taper months run at T/(T+1), ..., 1/(T+1) and the month
        after `end_month` at 0, so a taper costs about T/2 months at full strength.
        0 outside the window or when the policy is off.
        """
        if not self.active(month):
            return 0.0
        if month <= self.end_month - self.taper_months:
            return 1.0
        return (self.end_month - month + 1) / (self.taper_months + 1)


@dataclass(frozen=True)
class Demand:
    """Posts a policy funds in one work option this month, and what they pay."""

    posts: float
    wage: float | None = None  # yuan a month; None leaves the option's wage as it is


@dataclass(frozen=True)
class Placement:
    """Members a policy places after the choice, in order: each takes a vacant post in the
    first of `options` that has one; the rest take a post the policy creates in `fallback`
    (None: they stay where they are)."""

    members: np.ndarray
    options: tuple[Option, ...]
    fallback: Option | None = None


def _frozen(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class ReadOnlyPopulation:
    """The model's population, every array a read-only view."""

    def __init__(self, pop: Any) -> None:
        self._pop = pop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._pop, name)
        return _frozen(value) if isinstance(value, np.ndarray) else value


class MonthView:
    """What a policy may look at this month: read-only, computed on demand."""

    def __init__(self, model: ResettlementModel) -> None:
        self._model = model
        self.month: int = model.month
        self.scenario: Scenario = model.config
        self.pop = ReadOnlyPopulation(model.pop)

    @property
    def labour(self) -> np.ndarray:
        """Bool per member: in the labour force."""
        return _frozen(self._model.labour)

    @property
    def labour_members(self) -> np.ndarray:
        """The labour force as member indices, ascending (fewer slots to look at than `labour`)."""
        return _frozen(self._model.labour_members)

    @property
    def option(self) -> np.ndarray:
        """Each member's work option now."""
        return _frozen(self._model.pop.option)

    @cached_property
    def living(self) -> np.ndarray:
        """Bool per household: relocated and living in the community (not gone back)."""
        return _frozen(self._model.living_households())

    @cached_property
    def present_labour(self) -> np.ndarray:
        """Bool per member: labour force of relocated households living in the community."""
        return _frozen(self._model.labour & self._model.living_households()[self._model.pop.household])

    @cached_property
    def present_labour_members(self) -> np.ndarray:
        """`present_labour` as member indices, ascending."""
        members = self._model.labour_members
        return _frozen(members[self._model.living_households()[self._model.pop.household[members]]])

    @cached_property
    def zero_employment(self) -> np.ndarray:
        """Bool per household: has labour, but no labour member works."""
        return _frozen(self._model.zero_employment())

    @cached_property
    def workers_per_household(self) -> np.ndarray:
        """Labour-force members per household."""
        return _frozen(self._model.labour_per_household.astype(float))

    @property
    def income_per_capita(self) -> np.ndarray:
        """Per-capita income per household, last month's account (yuan per year)."""
        return _frozen(self._model.income_per_capita)

    @property
    def annual_income_per_capita(self) -> np.ndarray:
        """Per-capita net income per household over the last twelve months, as of last month (yuan per year)."""
        return _frozen(self._model.flows.annual_per_capita)

    @property
    def shocked(self) -> np.ndarray:
        """Bool per household: hit by a shock in the latest month drawn (docs/MODEL.md 7.10)."""
        return _frozen(self._model.shocks.hit)

    @property
    def living_costs(self) -> np.ndarray:
        """Extra costs of living in town per household this month, yuan (set before the transfers)."""
        return _frozen(self._model.living_costs)

    @property
    def medical_costs(self) -> np.ndarray:
        """Out-of-pocket costs of illness per household this month, yuan."""
        return _frozen(self._model.shocks.medical)

    @property
    def land_share(self) -> np.ndarray:
        """Each labour member's share of the household's land, relative to pre-relocation land per worker."""
        return _frozen(self._model.land_share)

    @property
    def economy(self) -> Any:
        """This month's wages and posts (`simulation.labour.Economy`)."""
        return self._model.economy

    @property
    def self_employed(self) -> np.ndarray:
        """Bool per member: runs a business of their own this month."""
        return _frozen(self._model.self_employed)

    @property
    def reserved(self) -> np.ndarray:
        """Bool per member: holds a post a policy keeps for them alone (last computed)."""
        return _frozen(self._model.reserved)

    @property
    def integration(self) -> np.ndarray:
        """Integration index per household (0-1)."""
        return _frozen(self._model.integration)

    @property
    def participating_households(self) -> int:
        """Households in community activities this month (0 without the ties submodel)."""
        social = self._model.social
        return int(social.participates.sum()) if social is not None else 0

    def posts_held(self) -> np.ndarray:
        """Shared posts held, by option (reserved posts and own businesses not counted)."""
        return self._model.posts_held()


class FollowUpPolicy:
    """Base of every policy unit: parameters, persistent draws, and hooks that do nothing.

    Subclasses set `NAME`, `LABEL` (English, Chinese), `Params`, `COST_LINES` and
    `INDICATORS`, and override the hooks they need.
    """

    NAME: ClassVar[str]
    LABEL: ClassVar[tuple[str, str]]
    Params: ClassVar[type[PolicyParams]]
    COST_LINES: ClassVar[tuple[str, ...]] = ()
    INDICATORS: ClassVar[tuple[Indicator, ...]] = ()
    DRAWS: ClassVar[bool] = True  # gets a random stream of its own (a unit that draws nothing gets none)
    PHASED: ClassVar[bool] = True  # can be phased out (a rule of the relocation itself cannot)
    PRE_MOVE: ClassVar[bool] = False  # decides who moves (the stage before the move), not follow-up support
    COMPARED: ClassVar[tuple[str, ...]] = ()  # its indicators added to a comparison where it is enabled

    def __init__(self, params: PolicyParams, scenario: Scenario, model: ResettlementModel, rng) -> None:
        self.params = params
        self.scenario = scenario
        self.rng = rng

    def active(self, month: int) -> bool:
        """Whether the policy acts this month."""
        return self.params.active(month)

    def intensity(self, month: int) -> float:
        """The policy's strength this month (1 at full strength, less while it is tapered,
        0 when inactive): every unit scales what it does by it (docstring of each unit)."""
        return self.params.intensity(month)

    # ------------------------------------------------------------- hooks (nothing by default)
    def released(self, view: MonthView) -> np.ndarray | None:
        """Members whose post this policy ends this month."""
        return None

    def skill_change(self, view: MonthView) -> np.ndarray | None:
        """Change of each member's vocational skill this month."""
        return None

    def self_employed(self, view: MonthView) -> np.ndarray | None:
        """Members running a business of their own this month."""
        return None

    def demand(self, view: MonthView) -> dict[Option, Demand] | None:
        """Posts this policy funds, by option, and their wage."""
        return None

    def reserved(self, view: MonthView) -> np.ndarray | None:
        """Members whose current post is kept for them alone."""
        return None

    def priority(self, view: MonthView, seekers: np.ndarray) -> np.ndarray | None:
        """Priority score of each seeker (higher is served first)."""
        return None

    def utility_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        """Utility added for each seeker and option; minus infinity closes an option."""
        return None

    def money_terms(self, view: MonthView, seekers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        """Money the household gains (+) or loses (-) each month, beyond the seeker's earnings,
        if the seeker takes each option (yuan a month): valued like earnings, at the
        household's income weight (docs/MODEL.md 7.11)."""
        return None

    def job_finding(self, view: MonthView, seekers: np.ndarray) -> np.ndarray | None:
        """Added to each seeker's chance of finding work outside the county."""
        return None

    def placements(self, view: MonthView) -> list[Placement] | None:
        """Members to place after the choice."""
        return None

    def placed(self, view: MonthView, members: np.ndarray, created: np.ndarray) -> None:
        """Told which of its placements landed (and which took a created post); records only."""

    def earnings(self, view: MonthView, workers: np.ndarray, earnings: np.ndarray) -> np.ndarray | None:
        """Earnings replacing the workers' own (NaN: unchanged)."""
        return None

    def transfers(self, view: MonthView, income: np.ndarray) -> np.ndarray | None:
        """Yuan per household this month, given the household income so far."""
        return None

    def activity_participation(self, view: MonthView) -> float | None:
        """Share of households in community activities this month."""
        return None

    def going_back_factor(self, view: MonthView) -> np.ndarray | None:
        """Multiplier of each household's monthly chance of going back."""
        return None

    def demolished(self, view: MonthView) -> np.ndarray | None:
        """Bool per household: the old house has been demolished."""
        return None

    def costs(self, view: MonthView) -> dict[str, float]:
        """Yuan spent this month, by cost line."""
        return {}

    def indicators(self, view: MonthView) -> dict[str, float]:
        """This policy's own indicators."""
        return {}


def declare_policy_indicators(unit: type[FollowUpPolicy]) -> None:
    """Declare a unit's cost indicators and its own indicators in the indicator table."""
    en, zh = unit.LABEL
    INDICATORS.declare(
        Indicator(
            f"policy_cost_{unit.NAME}",
            "yuan",
            f"yuan spent on {en} since moving in",
            (f"Cost of {en}, cumulative", f"{zh}累计成本"),
        ),
        Indicator(
            f"policy_cost_month_{unit.NAME}",
            "yuan",
            f"yuan spent on {en} this month",
            (f"Cost of {en} this month", f"本月{zh}成本"),
            "detail",
        ),
        *unit.INDICATORS,
    )


def no_options() -> np.ndarray:
    """An all-false (N_OPTIONS,) table."""
    return np.zeros(N_OPTIONS, dtype=bool)
