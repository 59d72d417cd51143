"""Follow-up support policies: their effects on the model each month, and their costs.

Each policy in `scenarios.schema.Policies` acts only while enabled and within its start
and end month. The engine holds the few persistent draws policies need (who a labour
export programme reaches, which carers get care services, which households rent out
land or hold asset shares) so that switching a policy on does not reshuffle anything
else, and it books every yuan spent to the policy that spent it. Rules in words:
docs/MODEL.md, section 7.9.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from scenarios.schema import POLICY_NAMES, Scenario

from .indicators import INDICATORS, Indicator
from .labour import Economy
from .options import Education, Option

if TYPE_CHECKING:
    from .model import ResettlementModel


POLICY_LABELS: dict[str, tuple[str, str]] = {
    "skills_training": ("skills training", "技能培训"),
    "public_welfare_jobs": ("public-welfare posts", "公益岗位"),
    "workshops": ("workshops", "扶贫车间"),
    "labour_export": ("organised labour export", "劳务输出"),
    "community_services": ("community services and care", "社区服务与照料"),
    "transition_period": ("transition period", "过渡期"),
    "origin_resources": ("origin land and assets", "原籍土地与资产收益"),
    "employment_guarantee": ("employment guarantee", "就业兜底"),
    "subsistence_allowance": ("subsistence allowance", "最低生活保障"),
    "startup_support": ("start-up support", "创业扶持"),
}
INDICATORS.declare(
    Indicator(
        "policy_cost_total",
        "yuan",
        "yuan spent on follow-up support since moving in",
        ("Policy cost, cumulative", "政策累计成本"),
        "key",
        better="lower",
    ),
    *(
        Indicator(
            f"policy_cost_{name}",
            "yuan",
            f"yuan spent on {en} since moving in",
            (f"Cost of {en}, cumulative", f"{zh}累计成本"),
        )
        for name, (en, zh) in POLICY_LABELS.items()
    ),
    Indicator(
        "policy_cost_month_total",
        "yuan",
        "yuan spent on follow-up support this month",
        ("Policy cost this month", "本月政策成本"),
        "detail",
    ),
    *(
        Indicator(
            f"policy_cost_month_{name}",
            "yuan",
            f"yuan spent on {en} this month",
            (f"Cost of {en} this month", f"本月{zh}成本"),
            "detail",
        )
        for name, (en, zh) in POLICY_LABELS.items()
    ),
    Indicator("trained_workers", "count", "courses completed since moving in", ("Trained workers", "培训人次")),
    Indicator("businesses_started", "count", "businesses started with support", ("Businesses started", "扶持创业数")),
    Indicator(
        "guarantee_placements",
        "count",
        "placements by the employment guarantee since moving in",
        ("Guarantee placements", "兜底安置人次"),
    ),
    Indicator(
        "entrepreneurs", "count", "supported businesses running", ("Supported businesses running", "在营扶持企业")
    ),
)


@dataclass
class IncomeRules:
    """What the income account needs from policies this month."""

    rent_participation: np.ndarray  # bool per household
    rent_yuan_per_mu_year: float
    other: np.ndarray  # yuan per household per month (asset income)
    subsistence_threshold: float  # yuan per person per year; 0 when the safety net is off
    subsistence_take_up: float


@dataclass
class PolicyEngine:
    """Per-month effects and costs of the follow-up support policies."""

    scenario: Scenario
    n_households: int
    n_members: int
    rng: np.random.Generator
    export_draw: np.ndarray = field(init=False)
    carer_draw: np.ndarray = field(init=False)
    land_draw: np.ndarray = field(init=False)
    asset_draw: np.ndarray = field(init=False)
    training_until: np.ndarray = field(init=False)  # month a member's course ends (0: none)
    entrepreneur: np.ndarray = field(init=False)  # runs a business started with support
    asset_poor: np.ndarray | None = None  # households poor when asset shares started
    guarantee_posts: int = 0  # welfare posts created by the employment guarantee
    month_cost: dict[str, float] = field(init=False)
    total_cost: dict[str, float] = field(init=False)
    trained: int = 0
    businesses_started: int = 0
    placements: int = 0

    def __post_init__(self) -> None:
        rng = self.rng
        self.export_draw = rng.random(self.n_members)
        self.carer_draw = rng.random(self.n_members)
        self.land_draw = rng.random(self.n_households)
        self.asset_draw = rng.random(self.n_households)
        self.training_until = np.zeros(self.n_members, dtype=np.int32)
        self.entrepreneur = np.zeros(self.n_members, dtype=bool)
        self.month_cost = dict.fromkeys(POLICY_NAMES, 0.0)
        self.total_cost = dict.fromkeys(POLICY_NAMES, 0.0)

    @property
    def policies(self):
        """The scenario's policy settings."""
        return self.scenario.policies

    def start_month(self) -> None:
        """Reset this month's spending."""
        for name in self.month_cost:
            self.month_cost[name] = 0.0

    def _spend(self, name: str, yuan: float) -> None:
        self.month_cost[name] += float(yuan)
        self.total_cost[name] += float(yuan)

    # ---------------------------------------------------------------- labour market
    def economy(self, base: Economy, month: int) -> Economy:
        """This month's posts and wages: welfare posts, workshop jobs, guarantee posts."""
        p = self.policies
        wage = base.wage.copy()
        capacity = base.capacity.copy()
        welfare = p.public_welfare_jobs
        wage[Option.PUBLIC_WELFARE] = welfare.wage_yuan_month
        capacity[Option.PUBLIC_WELFARE] = (welfare.posts if welfare.active(month) else 0) + self.guarantee_posts
        w = p.workshops
        if w.active(month):
            for option, jobs in ((Option.LOCAL_INDUSTRY, w.industry_jobs), (Option.LOCAL_SERVICES, w.services_jobs)):
                if jobs:  # the sector's expected wage is the average over its posts
                    wage[option] = (base.wage[option] * capacity[option] + w.wage_yuan_month * jobs) / (
                        capacity[option] + jobs
                    )
                    capacity[option] += jobs
        return replace(base, wage=wage, capacity=capacity)

    def care_weight(self, month: int, members: np.ndarray, care_duty: np.ndarray) -> np.ndarray:
        """How much of the care penalty each member still bears (care services lift part of it)."""
        weight = care_duty.astype(float)
        c = self.policies.community_services
        if c.active(month):
            covered = care_duty & (self.carer_draw[members] < c.care_coverage)
            weight[covered] *= 1.0 - c.care_relief
        return weight

    def _export_covered(self, month: int, members: np.ndarray, age: np.ndarray, relocated: np.ndarray) -> np.ndarray:
        e = self.policies.labour_export
        if not e.active(month):
            return np.zeros(members.size, dtype=bool)
        reached = relocated & (self.export_draw[members] < e.coverage)
        return reached & (age <= 45) if e.target == "young" else reached

    def search_terms(
        self, month: int, members: np.ndarray, age: np.ndarray, relocated: np.ndarray, base: Economy
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-county job-finding chance and migration cost per member (organised export)."""
        e = self.policies.labour_export
        covered = self._export_covered(month, members, age, relocated)
        finding = np.where(covered, np.minimum(1.0, base.job_finding_out + e.job_finding_gain), base.job_finding_out)
        cost = np.where(covered, base.migration_cost * (1.0 - e.migration_cost_reduction), base.migration_cost)
        return finding, cost

    def activity_participation(self, month: int, default: float) -> float:
        """Share of households in community activities this month."""
        c = self.policies.community_services
        return max(default, c.activity_participation) if c.active(month) else default

    # ---------------------------------------------------------------- before and after the choice
    def before_choice(self, model: ResettlementModel) -> None:
        """Training cohorts and completions; new businesses and failed ones."""
        month, pop = model.month, model.pop
        present = model.living_members() & model.labour
        t = self.policies.skills_training
        done = self.training_until == month
        if done.any():
            pop.skill[done] = np.minimum(1.0, pop.skill[done] + t.skill_gain)
            self.training_until[done] = 0
            self.trained += int(done.sum())
        if t.active(month) and (month - t.start_month) % 12 == 0:
            eligible = present & (self.training_until == 0) & self._training_target(model)
            enrol = eligible & (model.rng.random(pop.n_members) < t.coverage)
            self.training_until[enrol] = month + t.duration_months
            self._spend("skills_training", enrol.sum() * t.cost_per_trainee_yuan)
        s = self.policies.startup_support
        failed = self.entrepreneur & (model.rng.random(pop.n_members) < s.failure_rate_month)
        if failed.any():
            self.entrepreneur[failed] = False
            pop.option[failed] = Option.NOT_WORKING
            model.force_review |= failed
        if s.active(month) and (month - s.start_month) % 12 == 0:
            if s.target == "returnees":
                eligible = present & (pop.months_out_total >= 6) & (pop.option != Option.OUT_OF_COUNTY)
            else:
                eligible = present & (pop.option == Option.NOT_WORKING)
            start = eligible & ~self.entrepreneur & (model.rng.random(pop.n_members) < s.coverage)
            self.entrepreneur[start] = True
            pop.option[start] = Option.LOCAL_SERVICES
            pop.months_in_option[start] = 0
            self.businesses_started += int(start.sum())
            self._spend("startup_support", start.sum() * s.grant_yuan)

    def _training_target(self, model: ResettlementModel) -> np.ndarray:
        pop, target = model.pop, self.policies.skills_training.target
        if target == "young":
            return pop.age <= 35
        if target == "women":
            return pop.female
        if target == "low_education":
            return pop.education <= Education.JUNIOR_MIDDLE
        if target == "not_working":
            return pop.option == Option.NOT_WORKING
        if target == "zero_employment_households":
            return model.zero_employment()[pop.household]
        return np.ones(pop.n_members, dtype=bool)

    def after_choice(self, model: ResettlementModel, newly_out: np.ndarray) -> None:
        """Employment guarantee placements; labour-export placements are paid for."""
        month, pop = model.month, model.pop
        e = self.policies.labour_export
        if e.active(month) and newly_out.size:
            covered = self._export_covered(
                month, newly_out, pop.age[newly_out], pop.relocated[pop.household[newly_out]]
            )
            self._spend("labour_export", covered.sum() * e.cost_per_worker_placed_yuan)
        g = self.policies.employment_guarantee
        if g.active(month):
            self._guarantee(model, g.placement_cost_yuan)

    def _guarantee(self, model: ResettlementModel, placement_cost: float) -> None:
        """Place one member of each zero-employment household: a vacant industry or
        services post if there is one, else a welfare post, created if none is free."""
        pop = model.pop
        zero = model.zero_employment() & model.living_households()
        candidates = np.flatnonzero(zero[pop.household] & model.labour)
        if candidates.size == 0:
            return
        # one member per household: no care duty first, then the most skilled
        order = np.lexsort((-pop.skill[candidates], pop.care_duty[candidates], pop.household[candidates]))
        hh_sorted = pop.household[candidates][order]
        first = np.r_[True, hh_sorted[1:] != hh_sorted[:-1]]
        chosen = candidates[order][first]
        chosen = chosen[model.rng.permutation(chosen.size)]
        economy = model.economy
        held = model.posts_held()
        placed_at = 0
        for option in (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE):
            free = int(max(0.0, economy.capacity[option] - held[option]))
            take = chosen[placed_at : placed_at + free]
            pop.option[take] = option
            placed_at += take.size
        rest = chosen[placed_at:]
        if rest.size:  # new welfare posts, kept from now on
            self.guarantee_posts += int(rest.size)
            economy.capacity[Option.PUBLIC_WELFARE] += rest.size
            pop.option[rest] = Option.PUBLIC_WELFARE
        pop.months_in_option[chosen] = 0
        self.placements += int(chosen.size)
        self._spend("employment_guarantee", chosen.size * placement_cost)

    # ---------------------------------------------------------------- income
    def income_rules(self, model: ResettlementModel) -> IncomeRules:
        """Land rent, asset income and the safety net for this month's income account."""
        month, pop = model.month, model.pop
        o = self.policies.origin_resources
        living = model.living_households()
        if o.active(month):
            rent = living & (self.land_draw < o.land_participation)
            if o.asset_target == "poor" and self.asset_poor is None:
                self.asset_poor = model.income_per_capita < self.scenario.income.poverty_line_yuan
            eligible = living & (self.asset_draw < o.asset_participation)
            if o.asset_target == "poor":
                eligible &= self.asset_poor
            other = np.where(eligible, o.asset_income_yuan_per_household_year / 12.0, 0.0)
            rent_rate = o.land_rent_yuan_per_mu_year
            self._spend(
                "origin_resources",
                other.sum() + (rent | eligible).sum() * o.service_cost_per_household_year_yuan / 12.0,
            )
        else:
            rent = np.zeros(pop.n_households, dtype=bool)
            other = np.zeros(pop.n_households)
            rent_rate = 0.0
        sa = self.policies.subsistence_allowance
        threshold, take_up = (sa.threshold_yuan, sa.take_up) if sa.active(month) else (0.0, 0.0)
        return IncomeRules(rent, rent_rate, other, threshold, take_up)

    def account(self, model: ResettlementModel) -> None:
        """Spending that depends on this month's outcome: posts filled, allowance paid, services used."""
        month, pop = model.month, model.pop
        p = self.policies
        held = model.posts_held()
        welfare = p.public_welfare_jobs
        in_welfare = held[Option.PUBLIC_WELFARE]
        policy_posts = welfare.posts if welfare.active(month) else 0
        self._spend("public_welfare_jobs", min(in_welfare, policy_posts) * welfare.wage_yuan_month)
        self._spend("employment_guarantee", max(0.0, in_welfare - policy_posts) * welfare.wage_yuan_month)
        w = p.workshops
        if w.active(month):
            for option, jobs in ((Option.LOCAL_INDUSTRY, w.industry_jobs), (Option.LOCAL_SERVICES, w.services_jobs)):
                if jobs:
                    fill = held[option] / model.economy.capacity[option]
                    self._spend("workshops", jobs * fill * w.subsidy_per_job_month_yuan)
        c = p.community_services
        if c.active(month):
            participants = int(model.social.participates.sum()) if model.social is not None else 0
            carers = pop.care_duty & (self.carer_draw < c.care_coverage) & model.living_members()
            self._spend(
                "community_services",
                participants * c.cost_per_participant_month_yuan + carers.sum() * c.cost_per_carer_month_yuan,
            )
        if model.household_income is not None:
            self._spend("subsistence_allowance", model.household_income.subsistence.sum())

    def indicators(self) -> dict[str, float]:
        """Cumulative and monthly cost per policy and in total (yuan), and programme counts."""
        out: dict[str, float] = {"policy_cost_total": sum(self.total_cost.values())}
        out |= {f"policy_cost_{name}": value for name, value in self.total_cost.items()}
        out["policy_cost_month_total"] = sum(self.month_cost.values())
        out |= {f"policy_cost_month_{name}": value for name, value in self.month_cost.items()}
        out |= {
            "trained_workers": self.trained,
            "businesses_started": self.businesses_started,
            "guarantee_placements": self.placements,
            "entrepreneurs": int(self.entrepreneur.sum()),
        }
        return out
