"""Typed, validated scenario: every parameter the model reads, with its allowed range.

The schema is the single place where a parameter's meaning, default and bounds live.
Defaults are the baseline values; `scenarios/baseline.toml` repeats them with their
sources so a user can read and edit them. All models are frozen and reject unknown keys,
so a misspelled key fails loudly instead of being silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Month = Annotated[int, Field(ge=0, le=600)]


class Strict(BaseModel):
    """Base: frozen, unknown keys rejected, defaults validated too."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Simulation(Strict):
    """Length of a run and its default seed."""

    years: Annotated[int, Field(ge=1, le=50)] = 10
    seed: Annotated[int, Field(ge=0)] = 1


class Community(Strict):
    """A resettlement community, described by the survey's input columns only."""

    id: str = "typical"
    name: str = "Typical concentrated resettlement community (median of six surveyed)"
    relocated_population: Annotated[int, Field(gt=0, le=2_000_000)] = 11_800
    relocated_labour_force: Annotated[int, Field(gt=0, le=2_000_000)] = 6_300
    junior_middle_or_below_share: Share = 0.85
    income_before_yuan: Positive = 3_800.0
    distance_min_km: NonNegative = 4.0
    distance_max_km: Positive = 110.0
    source_villages: Annotated[int, Field(ge=1, le=100_000)] = 600
    local_resident_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.10

    @model_validator(mode="after")
    def _consistent(self) -> Community:
        if self.relocated_labour_force > self.relocated_population:
            raise ValueError(
                "relocated_labour_force must not exceed relocated_population "
                f"({self.relocated_labour_force} > {self.relocated_population})"
            )
        if self.distance_min_km > self.distance_max_km:
            raise ValueError(
                f"distance_min_km must not exceed distance_max_km ({self.distance_min_km} > {self.distance_max_km})"
            )
        return self


class Population(Strict):
    """Assumptions used to generate households and members (sources in docs/MODEL.md)."""

    mean_household_size: Annotated[float, Field(ge=1.5, le=8.0)] = 4.0
    max_household_size: Annotated[int, Field(ge=2, le=15)] = 9
    working_age_min: Annotated[int, Field(ge=14, le=20)] = 16
    working_age_max: Annotated[int, Field(ge=50, le=70)] = 60
    child_share_of_dependants: Share = 0.55
    incapacity_share: Annotated[float, Field(ge=0.0, le=0.5)] = 0.05
    female_share: Share = 0.49
    education_age_gradient: Annotated[float, Field(ge=0.0, le=3.0)] = 0.6
    college_share_of_senior: Share = 0.2
    primary_share_of_junior_or_below: Share = 0.4
    skill_beta_a: Positive = 2.0
    skill_beta_b: Positive = 5.0
    land_mu_per_person: NonNegative = 1.0
    land_cv: Annotated[float, Field(ge=0.0, le=3.0)] = 0.6
    distance_beta_a: Positive = 1.0
    distance_beta_b: Positive = 1.0
    village_size_cv: Annotated[float, Field(ge=0.0, le=3.0)] = 0.8
    child_care_age: Annotated[int, Field(ge=0, le=15)] = 6
    elder_care_age: Annotated[int, Field(ge=60, le=110)] = 80
    local_resident_education_shift: Annotated[float, Field(ge=-3.0, le=3.0)] = 0.8


class Wages(Strict):
    """Monthly earnings by option (yuan) and their returns to education and skill."""

    local_industry: NonNegative = 2_200.0
    local_services: NonNegative = 1_900.0
    casual_local: NonNegative = 1_300.0
    out_of_county: NonNegative = 4_549.0
    living_cost_out_of_county: NonNegative = 1_430.0
    months_worked_per_year: Annotated[float, Field(ge=1.0, le=12.0)] = 10.0
    remittance_share: Share = 0.5
    return_to_schooling_local: Annotated[float, Field(ge=0.0, le=0.3)] = 0.03
    return_to_schooling_out: Annotated[float, Field(ge=0.0, le=0.3)] = 0.05
    return_to_skill: Annotated[float, Field(ge=0.0, le=3.0)] = 0.4
    out_of_county_industry_share: Share = 0.6


class Origin(Strict):
    """What the origin still offers and what it costs to use it from the new home."""

    farm_income_ratio: NonNegative = 0.9
    reference_land_mu_per_person: Positive = 1.0
    part_time_farm_fraction: Share = 0.5
    travel_cost_yuan_per_km: NonNegative = 0.4
    trips_per_month_farming: NonNegative = 1.0
    trips_per_month_part_time: NonNegative = 3.0


class LabourDemand(Strict):
    """Local posts open to the community's workers (relocated and long-standing)."""

    industry_posts_per_100_workers: Annotated[float, Field(ge=0.0, le=200.0)] = 20.0
    services_posts_per_100_workers: Annotated[float, Field(ge=0.0, le=200.0)] = 10.0
    separation_rate_local: Annotated[float, Field(ge=0.0, le=1.0)] = 0.015
    separation_rate_out_of_county: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02
    out_of_county_job_finding_rate: Share = 0.6


class OptionTable(Strict):
    """One number per work option (utility units unless stated)."""

    not_working: float = 0.0
    local_industry: float = 0.0
    local_services: float = 0.0
    public_welfare: float = 0.0
    farming_origin: float = 0.0
    part_time: float = 0.0
    out_of_county: float = 0.0

    def as_tuple(self) -> tuple[float, ...]:
        """Values in the model's option order."""
        return tuple(getattr(self, name) for name in OPTION_FIELDS)


OPTION_FIELDS = (
    "not_working",
    "local_industry",
    "local_services",
    "public_welfare",
    "farming_origin",
    "part_time",
    "out_of_county",
)


class Choice(Strict):
    """Multinomial-logit work choice: utility weights of the push-pull terms."""

    income_per_1000_yuan: Annotated[float, Field(ge=0.0, le=20.0)] = 1.2
    constant: OptionTable = OptionTable(
        not_working=2.4,
        local_industry=0.6,
        local_services=0.6,
        public_welfare=0.4,
        farming_origin=2.1,
        part_time=2.3,
        out_of_county=0.3,
    )
    care_penalty: OptionTable = OptionTable(
        local_industry=0.6,
        local_services=0.3,
        farming_origin=1.5,
        part_time=0.8,
        out_of_county=3.0,
    )
    age_per_decade: OptionTable = OptionTable(
        local_industry=-0.3,
        local_services=-0.1,
        public_welfare=0.4,
        farming_origin=0.5,
        part_time=0.3,
        out_of_county=-0.6,
    )
    distance_per_100km: OptionTable = OptionTable(farming_origin=1.0, part_time=2.5)
    demolition_penalty: OptionTable = OptionTable(farming_origin=1.0, part_time=0.8)
    social: Annotated[float, Field(ge=0.0, le=20.0)] = 2.0
    inertia: Annotated[float, Field(ge=0.0, le=20.0)] = 1.5
    migration_cost_yuan: NonNegative = 1_500.0
    planning_horizon_months: Annotated[int, Field(ge=1, le=240)] = 12
    review_rate: Share = 0.1
    review_rate_not_working: Share = 0.5
    skill_gain_out_of_county_per_year: Annotated[float, Field(ge=0.0, le=1.0)] = 0.04
    skill_gain_local_per_year: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02


class TieTable(Strict):
    """One number per kind of tie."""

    village: float
    neighbour: float
    coworker: float
    activity: float

    def as_tuple(self) -> tuple[float, ...]:
        """Values in `TieKind` order."""
        return (self.village, self.neighbour, self.coworker, self.activity)


class Ties(Strict):
    """Social ties inside the resettlement community (docs/MODEL.md, 7.7)."""

    enabled: bool = True
    allocation: Literal["village_clustered", "mixed"] = "village_clustered"
    households_per_building: Annotated[int, Field(ge=2, le=2_000)] = 40
    village_tie_density: Share = 0.4
    ethnic_groups: Annotated[int, Field(ge=1, le=60)] = 1
    ethnic_majority_share: Share = 1.0
    homophily: Share = 0.5
    formation_probability: Share = 0.5
    neighbour_meetings_per_month: Annotated[float, Field(ge=0.0, le=30.0)] = 0.3
    coworker_meetings_per_month: Annotated[float, Field(ge=0.0, le=30.0)] = 0.3
    activity_participation: Share = 0.05
    activity_meetings_per_month: Annotated[float, Field(ge=0.0, le=30.0)] = 1.0
    contact_probability: TieTable = TieTable(village=0.3, neighbour=0.5, coworker=0.2, activity=0.2)
    memory_months: TieTable = TieTable(village=36, neighbour=12, coworker=12, activity=12)
    away_months: Annotated[int, Field(ge=1, le=120)] = 6
    chain_migration: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    metrics_every_months: Annotated[int, Field(ge=0, le=600)] = 0
    metrics_at_end: bool = True

    @model_validator(mode="after")
    def _memory_positive(self) -> Ties:
        if min(self.memory_months.as_tuple()) <= 0:
            raise ValueError("every memory_months value must be greater than 0")
        return self


class ReturnToOrigin(Strict):
    """Households going back to the origin: weak integration plus low income (7.8)."""

    base_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.004
    low_income_yuan: NonNegative = 6_000.0
    higher_income_factor: Share = 0.2
    after_demolition_factor: Share = 0.1


class Income(Strict):
    """Poverty line, safety net and other transfers (yuan)."""

    poverty_line_yuan: NonNegative = 4_000.0
    pension_yuan_month: NonNegative = 120.0
    pension_age: Annotated[int, Field(ge=50, le=80)] = 60


class Policy(Strict):
    """Common to every follow-up support policy: on/off and the months it is active."""

    enabled: bool = False
    start_month: Annotated[int, Field(ge=1, le=600)] = 1
    end_month: Annotated[int, Field(ge=1, le=600)] = 600

    @model_validator(mode="after")
    def _window(self) -> Policy:
        if self.start_month > self.end_month:
            raise ValueError(f"start_month must be <= end_month ({self.start_month} > {self.end_month})")
        return self

    def active(self, month: int) -> bool:
        """Whether the policy acts in this month."""
        return self.enabled and self.start_month <= month <= self.end_month


class SkillsTraining(Policy):
    """Vocational and practical training: a cohort a year, skill gained on completion."""

    target: Literal["all", "young", "women", "low_education", "not_working", "zero_employment_households"] = "all"
    coverage: Share = 0.2
    duration_months: Annotated[int, Field(ge=1, le=24)] = 3
    skill_gain: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    cost_per_trainee_yuan: NonNegative = 1_500.0


class PublicWelfareJobs(Policy):
    """Public-welfare posts (cleaning, ranger, security): a low-paid floor."""

    posts: Annotated[int, Field(ge=0, le=2_000_000)] = 150
    wage_yuan_month: NonNegative = 800.0
    priority_zero_employment: bool = True
    zero_employment_encouragement: Annotated[float, Field(ge=0.0, le=10.0)] = 2.5


class Workshops(Policy):
    """Poverty-alleviation workshops and firms attracted to the county: extra local posts."""

    industry_jobs: Annotated[int, Field(ge=0, le=2_000_000)] = 400
    services_jobs: Annotated[int, Field(ge=0, le=2_000_000)] = 0
    wage_yuan_month: NonNegative = 1_800.0
    subsidy_per_job_month_yuan: NonNegative = 200.0


class LabourExport(Policy):
    """Organised labour export: matching with employers elsewhere, lower search and migration cost."""

    target: Literal["all", "young"] = "young"
    coverage: Share = 0.5
    job_finding_gain: Share = 0.3
    migration_cost_reduction: Share = 0.6
    cost_per_worker_placed_yuan: NonNegative = 600.0


class CommunityServices(Policy):
    """Community activities (more ties) and child and elder care (frees carers to work)."""

    activity_participation: Share = 0.25
    cost_per_participant_month_yuan: NonNegative = 20.0
    care_coverage: Share = 0.5
    care_relief: Share = 0.7
    cost_per_carer_month_yuan: NonNegative = 300.0


class TransitionPeriod(Strict):
    """Years after moving in before the old house is demolished (004: 1, at most 3)."""

    years: Annotated[int, Field(ge=0, le=3)] = 1


class OriginResources(Policy):
    """Land transfer or rent of idle land, and asset-income shares (dividends)."""

    land_rent_yuan_per_mu_year: NonNegative = 300.0
    land_participation: Share = 0.5
    asset_income_yuan_per_household_year: NonNegative = 1_000.0
    asset_target: Literal["all", "poor"] = "all"
    asset_participation: Share = 0.8
    service_cost_per_household_year_yuan: NonNegative = 50.0


class EmploymentGuarantee(Policy):
    """Every household with labour has one member working: officials place one member of
    each zero-employment household in the cheapest available post, a welfare post if
    nothing else."""

    placement_cost_yuan: NonNegative = 500.0


class SubsistenceAllowance(Policy):
    """The safety net: tops per-capita income up to a threshold for households that take it up."""

    threshold_yuan: NonNegative = 4_800.0
    take_up: Share = 0.35


class StartupSupport(Policy):
    """Start-up support for small businesses: a grant; the business is self-employment in services."""

    target: Literal["returnees", "all"] = "returnees"
    coverage: Share = 0.1
    grant_yuan: NonNegative = 10_000.0
    business_income_yuan_month: NonNegative = 2_600.0
    failure_rate_month: Annotated[float, Field(ge=0.0, le=1.0)] = 0.02


POLICY_NAMES = (
    "skills_training",
    "public_welfare_jobs",
    "workshops",
    "labour_export",
    "community_services",
    "transition_period",
    "origin_resources",
    "employment_guarantee",
    "subsistence_allowance",
    "startup_support",
)


class Policies(Strict):
    """The follow-up support catalogue (docs/MODEL.md 7.9). Off unless enabled, except the
    standing public-welfare posts and safety net, which the baseline has."""

    skills_training: SkillsTraining = SkillsTraining()
    public_welfare_jobs: PublicWelfareJobs = PublicWelfareJobs(enabled=True)
    workshops: Workshops = Workshops()
    labour_export: LabourExport = LabourExport()
    community_services: CommunityServices = CommunityServices()
    transition_period: TransitionPeriod = TransitionPeriod()
    origin_resources: OriginResources = OriginResources()
    employment_guarantee: EmploymentGuarantee = EmploymentGuarantee()
    subsistence_allowance: SubsistenceAllowance = SubsistenceAllowance(enabled=True)
    startup_support: StartupSupport = StartupSupport()


class Scenario(Strict):
    """A whole scenario: community profile, behaviour, economy and (later) policies."""

    name: str = "baseline"
    description: str = "Typical community (median of the six surveyed in 2020), baseline support only."
    extends: str | None = None
    simulation: Simulation = Simulation()
    community: Community = Community()
    population: Population = Population()
    wages: Wages = Wages()
    origin: Origin = Origin()
    labour_demand: LabourDemand = LabourDemand()
    choice: Choice = Choice()
    income: Income = Income()
    ties: Ties = Ties()
    return_to_origin: ReturnToOrigin = ReturnToOrigin()
    policies: Policies = Policies()

    @model_validator(mode="after")
    def _policies_fit_the_community(self) -> Scenario:
        posts = self.policies.public_welfare_jobs.posts
        if posts > self.community.relocated_labour_force:
            raise ValueError(
                f"policies.public_welfare_jobs.posts ({posts}) must not exceed "
                f"community.relocated_labour_force ({self.community.relocated_labour_force})"
            )
        return self

    @property
    def months(self) -> int:
        """Number of monthly steps in a run."""
        return self.simulation.years * 12

    @property
    def transition_months(self) -> int:
        """Months after moving in before old houses are demolished."""
        return 12 * self.policies.transition_period.years
