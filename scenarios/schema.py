"""Typed, validated scenario: every parameter the model reads, with its allowed range.

The schema is the single place where a parameter's meaning, default and bounds live.
Defaults are the baseline values; `scenarios/baseline.toml` repeats them with their
sources so a user can read and edit them. All models are frozen and reject unknown keys,
so a misspelled key fails loudly instead of being silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class Strict(BaseModel):
    """Base: frozen, unknown keys rejected, defaults validated too."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Simulation(Strict):
    """Length of a run and its default seed."""

    years: Annotated[int, Field(ge=1, le=50)] = 10
    seed: Annotated[int, Field(ge=0)] = 1


# The monthly minimum wage of the typical community: the median of the six surveyed counties'
# standards in force in 2020 (docs/SOURCES.md); local pay in `Wages` is quoted at this level.
MINIMUM_WAGE_TYPICAL = 1_575.0


class Community(Strict):
    """A resettlement community: the survey's input columns, and the county's minimum wage
    (a public figure by place, docs/FIT.md)."""

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
    arrival_years: Annotated[int, Field(ge=1, le=6)] = 4
    minimum_wage_yuan_month: Annotated[float, Field(ge=500.0, le=5_000.0)] = MINIMUM_WAGE_TYPICAL

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
    """Assumptions used to generate households and members (sources in docs/MODEL.md 7.11)."""

    elderly_only_share: Share = 0.12
    elder_alone_share: Share = 0.45
    single_adult_share: Share = 0.10
    head_age_mean: Annotated[float, Field(ge=25.0, le=70.0)] = 42.0
    head_age_sd: Annotated[float, Field(ge=1.0, le=25.0)] = 13.0
    elder_coresidence: Share = 0.30
    married_son_coresidence: Share = 0.45
    max_household_size: Annotated[int, Field(ge=2, le=15)] = 9
    working_age_min: Annotated[int, Field(ge=14, le=20)] = 16
    working_age_max: Annotated[int, Field(ge=50, le=70)] = 60
    incapacity_share: Annotated[float, Field(ge=0.0, le=0.5)] = 0.05
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
    school_age_max: Annotated[int, Field(ge=6, le=18)] = 15
    school_escort_share: Share = 0.15
    grandparent_care: bool = True
    carer_age_max: Annotated[int, Field(ge=50, le=100)] = 79
    female_care_norm_yuan: NonNegative = 600.0
    local_resident_education_shift: Annotated[float, Field(ge=-3.0, le=3.0)] = 0.8


AgeRates = tuple[Annotated[float, Field(ge=0.0, le=1000.0)], ...]


class Demography(Strict):
    """Births, deaths, marriage and new households, once a year (docs/MODEL.md 7.11).

    Rates are per 1,000 people a year, by age group: fertility of married women 15-19,
    20-24, ..., 45-49; deaths at 0, 1-4, 5-14, 15-24, ..., 75-84, 85+; first marriage
    15-19, 20-24, ..., 35-39 for each sex; frailty (unable to look after oneself) as a
    share at 60-69, 70-79, 80-89, 90+.
    """

    enabled: bool = True
    marital_fertility_per_1000: AgeRates = (350.0, 300.0, 200.0, 110.0, 50.0, 12.0, 3.0)
    mortality_per_1000: AgeRates = (6.0, 0.5, 0.3, 0.6, 1.0, 1.8, 4.0, 9.0, 22.0, 60.0, 170.0)
    male_mortality_ratio: Annotated[float, Field(ge=0.5, le=3.0)] = 1.4
    sex_ratio_at_birth: Annotated[float, Field(ge=0.9, le=1.3)] = 1.11
    first_marriage_men_per_1000: AgeRates = (5.0, 110.0, 190.0, 120.0, 50.0)
    first_marriage_women_per_1000: AgeRates = (60.0, 260.0, 230.0, 100.0, 40.0)
    couple_new_flat_share: Share = 0.25
    couple_leaves_share: Share = 0.15
    crowding_split_factor: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0
    frail_share: AgeRates = (10.0, 30.0, 100.0, 250.0)

    @model_validator(mode="after")
    def _lengths(self) -> Demography:
        expected = {
            "marital_fertility_per_1000": 7,
            "mortality_per_1000": 11,
            "first_marriage_men_per_1000": 5,
            "first_marriage_women_per_1000": 5,
            "frail_share": 4,
        }
        for name, n in expected.items():
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} must have {n} values (one per age group), got {len(getattr(self, name))}")
        if self.couple_new_flat_share + self.couple_leaves_share > 1:
            raise ValueError("couple_new_flat_share + couple_leaves_share must not exceed 1")
        return self


class Decision(Strict):
    """How origin households decide to move under the terms offered (docs/MODEL.md 7.12):
    the pool of candidates and the coefficients of the sign-up and follow-through logits.
    Read only when `policies.relocation_terms` is enabled."""

    pool_people_per_relocated: Annotated[float, Field(ge=1.0, le=20.0)] = 2.6
    pool_elderly_only_share: Share = 0.20
    poor_share: Share = 0.55
    nonpoor_income_ratio: Annotated[float, Field(ge=1.0, le=10.0)] = 2.2
    income_cv: Annotated[float, Field(ge=0.0, le=3.0)] = 0.5
    push_beta_a: Positive = 2.0
    push_beta_b: Positive = 2.0
    old_house_m2_base: NonNegative = 60.0
    old_house_m2_per_person: NonNegative = 15.0
    sign_constant_poor: Annotated[float, Field(ge=-20.0, le=20.0)] = 2.0
    sign_constant_nonpoor: Annotated[float, Field(ge=-20.0, le=20.0)] = 0.5
    sign_push: Annotated[float, Field(ge=0.0, le=20.0)] = 2.0
    sign_space_loss: Annotated[float, Field(ge=0.0, le=20.0)] = 2.0
    sign_cost_per_year_income: Annotated[float, Field(ge=0.0, le=20.0)] = 0.3
    sign_land_per_mu_person: Annotated[float, Field(ge=0.0, le=20.0)] = 0.5
    sign_distance_per_100km: Annotated[float, Field(ge=0.0, le=20.0)] = 0.5
    sign_elderly_only: Annotated[float, Field(ge=0.0, le=20.0)] = 1.0
    follow_constant_poor: Annotated[float, Field(ge=-20.0, le=20.0)] = 4.0
    follow_constant_nonpoor: Annotated[float, Field(ge=-20.0, le=20.0)] = 2.5
    follow_handover: Annotated[float, Field(ge=0.0, le=20.0)] = 1.0
    follow_handover_per_mu_person: Annotated[float, Field(ge=0.0, le=20.0)] = 0.5
    follow_cost_per_year_income: Annotated[float, Field(ge=0.0, le=20.0)] = 0.4
    transition_relief_per_year: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    dual_registration_utility: Annotated[float, Field(ge=0.0, le=20.0)] = 0.3


class Wages(Strict):
    """Monthly earnings by option (yuan) and their returns to education and skill."""

    local_industry: NonNegative = 2_200.0
    local_services: NonNegative = 1_900.0
    casual_local: NonNegative = 1_300.0
    out_of_county: NonNegative = 4_549.0
    living_cost_out_of_county: NonNegative = 1_430.0
    months_worked_per_year: Annotated[float, Field(ge=1.0, le=12.0)] = 10.0
    female_out_of_county_ratio: Annotated[float, Field(gt=0.0, le=1.5)] = 0.8
    remittance_share_min: Share = 0.3
    remittance_share_max: Share = 0.7
    remittance_target_yuan: NonNegative = 6_000.0
    return_to_schooling_local: Annotated[float, Field(ge=0.0, le=0.3)] = 0.03
    return_to_schooling_out: Annotated[float, Field(ge=0.0, le=0.3)] = 0.05
    return_to_skill: Annotated[float, Field(ge=0.0, le=3.0)] = 0.4
    out_of_county_industry_share: Share = 0.6
    minimum_wage_reference_yuan_month: Annotated[float, Field(ge=500.0, le=5_000.0)] = MINIMUM_WAGE_TYPICAL


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
    workshop: float = 0.0

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
    "workshop",
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
        workshop=0.6,
    )
    care_penalty: OptionTable = OptionTable(
        local_industry=0.6,
        local_services=0.3,
        farming_origin=1.5,
        part_time=0.8,
        out_of_county=3.0,
        workshop=0.2,
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
    # the household's strategy (docs/MODEL.md 7.11): members choose in turn, the main earner
    # first, each valuing income at the household's marginal utility given what the others bring
    household_strategy: bool = True
    income_curvature: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    subsistence_yuan_person_month: Annotated[float, Field(gt=0.0, le=5_000.0)] = 400.0


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

    base_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.001
    low_income_yuan: NonNegative = 6_000.0
    higher_income_factor: Share = 0.2
    after_demolition_factor: Share = 0.1
    land_pull: Annotated[float, Field(ge=0.0, le=10.0)] = 0.5


class Income(Strict):
    """Poverty line, safety net and other transfers (yuan)."""

    poverty_line_yuan: NonNegative = 4_000.0
    pension_yuan_month: NonNegative = 120.0
    pension_age: Annotated[int, Field(ge=50, le=80)] = 60
    monitoring_line_yuan: NonNegative = 6_000.0


class Shocks(Strict):
    """What can go wrong in a month (docs/MODEL.md 7.10): illness, unpaid wages, a bad
    harvest at the origin, a bad year for work outside the county. Rates are per year."""

    enabled: bool = False
    illness_rate: Share = 0.138
    hospital_cost_yuan: NonNegative = 8_000.0
    out_of_pocket_share: Share = 0.3
    arrears_rate: Share = 0.01
    arrears_months: Annotated[float, Field(ge=0.0, le=12.0)] = 2.0
    crop_loss_rate: Share = 0.12
    crop_loss_share: Share = 0.3
    bad_year_month: Annotated[int, Field(ge=0, le=600)] = 0
    bad_year_months: Annotated[int, Field(ge=1, le=60)] = 12
    bad_year_return_share: Share = 0.3
    bad_year_job_finding_factor: Share = 0.5


class LivingCosts(Strict):
    """Extra costs of living in the town, per person and month (yuan): the destination push."""

    food_yuan_person_month: NonNegative = 70.0
    home_grown_share: Share = 0.5
    utilities_yuan_person_month: NonNegative = 30.0
    property_fee_yuan_m2_month: NonNegative = 0.4
    flat_m2_per_person: Positive = 25.0


def _policies_model() -> type[BaseModel]:
    """The `[policies]` section, one table per policy unit of `simulation.policies`."""
    from simulation.policies import UNITS

    fields: dict[str, Any] = {unit.NAME: (unit.Params, unit.Params()) for unit in UNITS}
    return create_model(
        "Policies",
        __base__=Strict,
        __doc__="The follow-up support catalogue (docs/MODEL.md 7.9): one table per policy unit.",
        **fields,
    )


Policies = _policies_model()
POLICY_NAMES: tuple[str, ...] = tuple(Policies.model_fields)


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
    living_costs: LivingCosts = LivingCosts()
    shocks: Shocks = Shocks()
    demography: Demography = Demography()
    decision: Decision = Decision()
    policies: Policies = Policies()  # type: ignore[valid-type]

    @property
    def months(self) -> int:
        """Number of monthly steps in a run."""
        return self.simulation.years * 12

    @property
    def local_pay_index(self) -> float:
        """Local market pay here relative to the pay in `wages` (docs/MODEL.md 7.1): the
        county's minimum wage over the reference minimum wage those figures belong to. The
        tiers are set from local average pay, so they index local pay levels."""
        return self.community.minimum_wage_yuan_month / self.wages.minimum_wage_reference_yuan_month

    @property
    def transition_months(self) -> int:
        """Months after moving in before old houses are demolished (0 without a transition period)."""
        t = self.policies.transition_period
        return 12 * t.years if t.enabled else 0
