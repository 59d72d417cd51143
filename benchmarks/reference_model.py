"""The monthly rules written plainly, one household at a time: the readable specification.

This is deliberately slow. Each household is a Mesa agent whose members are ordinary
Python objects; every utility is summed term by term. It follows the same rules as the
batched model in `simulation/` (see docs/MODEL.md, "Submodels"), so it serves as an
oracle in tests/test_reference.py and as the baseline of the speed ratio in
benchmarks/bench_core.py. Population generation is shared with the fast model (it is
set-up, not a monthly rule); everything after is written out again here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from scenarios.schema import Scenario
from simulation.options import CAPPED, N_OPTIONS, SCHOOLING_YEARS, Option
from simulation.population import assign_care_duties, generate_population, labour_mask

RELOCATION_ONLY = {Option.PUBLIC_WELFARE, Option.FARMING_ORIGIN, Option.PART_TIME}


@dataclass
class Member:
    """One person, with the attributes the monthly rules read and write."""

    index: int
    age: int
    female: bool
    education: int
    skill: float
    disabled: bool
    care_duty: bool = False
    option: int = Option.NOT_WORKING
    out_industry: bool = False
    in_labour: bool = False
    seeking: bool = False
    was_out: bool = False


class PlainHousehold(mesa.Agent):
    """A household that runs its own month in plain Python."""

    def __init__(self, model: PlainModel, index: int, members: list[Member]) -> None:
        super().__init__(model)
        pop = model.pop
        self.index = index
        self.members = members
        self.relocated = bool(pop.relocated[index])
        self.village = int(pop.village[index])
        self.distance = float(pop.distance_km[index])
        self.land = float(pop.land_mu[index])
        allowance = model.config.policies.subsistence_allowance
        self.takes_up_allowance = allowance.enabled and float(pop.subsistence_draw[index]) < allowance.take_up
        self.income = 0.0

    # -- stage 1: job separations and reviews
    def separate_and_review(self) -> None:
        """Posts end with the separation rates; some workers reconsider this month."""
        m, s = self.model, self.model.config
        for p in self.members:
            p.seeking = False
            if not p.in_labour:
                continue
            p.was_out = p.option == Option.OUT_OF_COUNTY
            u_sep = m.rng.random()
            if (p.option in CAPPED and u_sep < s.labour_demand.separation_rate_local) or (
                p.was_out and u_sep < s.labour_demand.separation_rate_out_of_county
            ):
                p.option, p.seeking = Option.NOT_WORKING, True
            rate = s.choice.review_rate_not_working if p.option == Option.NOT_WORKING else s.choice.review_rate
            if m.rng.random() < rate or m.month == 1:
                p.seeking = True

    def zero_employment(self) -> bool:
        """Has labour, but nobody in the labour force works."""
        labour = [p for p in self.members if p.in_labour]
        return bool(labour) and all(p.option == Option.NOT_WORKING for p in labour)

    # -- stage 2: choose, in the model's priority order
    def choose(self, seeker: Member) -> None:
        """Rank options by utility plus logit noise; take the best one with a vacancy."""
        m, s = self.model, self.model.config
        scores = self.utilities(seeker)
        current = seeker.option
        if current != Option.OUT_OF_COUNTY and m.rng.random() >= s.labour_demand.out_of_county_job_finding_rate:
            scores[Option.OUT_OF_COUNTY] = -math.inf
        scores = [score + m.rng.gumbel() for score in scores]
        ranked = sorted(range(N_OPTIONS), key=lambda j: -scores[j])
        for j in ranked:
            if scores[j] == -math.inf:
                continue
            if j in CAPPED and m.vacancies[j] <= 0:
                continue
            if j in CAPPED:
                m.vacancies[j] -= 1
            chosen = j
            break
        if chosen == Option.OUT_OF_COUNTY and current != Option.OUT_OF_COUNTY:
            seeker.out_industry = m.rng.random() < s.wages.out_of_county_industry_share
        if seeker.was_out and chosen != Option.OUT_OF_COUNTY and self.relocated:
            m.returners += 1
        seeker.option = chosen

    def earnings(self, p: Member) -> list[float]:
        """Net monthly earnings of member `p` in each option (yuan)."""
        s = self.model.config
        w, o = s.wages, s.origin
        years = SCHOOLING_YEARS[p.education] - 9.0
        skill_term = w.return_to_skill * (p.skill - self.model.skill_reference)
        f_local = math.exp(w.return_to_schooling_local * years + skill_term)
        f_out = math.exp(w.return_to_schooling_out * years + skill_term)
        paid = w.months_worked_per_year / 12.0
        welfare_wage = s.policies.public_welfare_jobs.wage_yuan_month
        travel = o.travel_cost_yuan_per_km * 2.0 * self.distance
        farm = self.model.farm_base * self.model.land_share[p.index]
        return [
            0.0,
            w.local_industry * f_local * paid,
            w.local_services * f_local * paid,
            welfare_wage,
            farm - o.trips_per_month_farming * travel,
            o.part_time_farm_fraction * farm
            + (1 - o.part_time_farm_fraction) * w.casual_local * f_local * paid
            - o.trips_per_month_part_time * travel,
            (w.out_of_county * f_out - w.living_cost_out_of_county) * paid,
        ]

    def utilities(self, p: Member) -> list[float]:
        """Push-pull utility of each option for member `p`, term by term."""
        m, c = self.model, self.model.config.choice
        earn = self.earnings(p)
        shares = m.contact_shares(self.village, p.option)
        demolished = m.month > m.config.transition_months
        u = []
        for j in range(N_OPTIONS):
            if not self.relocated and j in RELOCATION_ONLY:
                u.append(-math.inf)
                continue
            value = c.income_per_1000_yuan * earn[j] / 1000.0
            value += c.constant.as_tuple()[j]
            value -= c.care_penalty.as_tuple()[j] * p.care_duty
            value += c.age_per_decade.as_tuple()[j] * (p.age - 35.0) / 10.0
            value -= c.distance_per_100km.as_tuple()[j] * self.distance / 100.0
            value -= c.demolition_penalty.as_tuple()[j] * demolished
            value += c.social * shares[j]
            if m.month > 1 and j == p.option:
                value += c.inertia
            if j == Option.OUT_OF_COUNTY and not (p.was_out and p.option == Option.OUT_OF_COUNTY):
                value -= (
                    c.income_per_1000_yuan * m.config.choice.migration_cost_yuan / 1000.0 / c.planning_horizon_months
                )
            u.append(value)
        return u

    # -- stage 3: learn and earn
    def learn_and_earn(self) -> None:
        """Skills grow with work; household income with transfers (no land-rent or asset policy here)."""
        s = self.model.config
        c, w, inc = s.choice, s.wages, s.income
        threshold = s.policies.subsistence_allowance.threshold_yuan
        earnings = 0.0
        for p in self.members:
            if p.option == Option.OUT_OF_COUNTY:
                p.skill = min(1.0, p.skill + c.skill_gain_out_of_county_per_year / 12.0)
            elif p.option in (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES):
                p.skill = min(1.0, p.skill + c.skill_gain_local_per_year / 12.0)
            if p.in_labour and p.option != Option.NOT_WORKING:
                e = max(self.earnings(p)[p.option], 0.0)
                if p.option == Option.OUT_OF_COUNTY:
                    e *= w.remittance_share
                earnings += e
        pension = inc.pension_yuan_month * sum(p.age >= inc.pension_age for p in self.members)
        before = earnings + pension
        per_capita = before * 12.0 / len(self.members)
        allowance = 0.0
        if self.relocated and self.takes_up_allowance and per_capita < threshold:
            allowance = (threshold - per_capita) * len(self.members) / 12.0
        self.income = before + allowance


class PlainModel(mesa.Model):
    """Same monthly rules as `ResettlementModel`, written one household at a time."""

    def __init__(self, scenario: Scenario, *, seed: int) -> None:
        super().__init__(rng=seed)
        self.config = scenario
        self.pop = pop = generate_population(scenario, self.rng)
        labour = labour_mask(pop, scenario.population)
        self.homes = []
        for h in range(pop.n_households):
            members = [
                Member(
                    index=int(i),
                    age=int(pop.age[i]),
                    female=bool(pop.female[i]),
                    education=int(pop.education[i]),
                    skill=float(pop.skill[i]),
                    disabled=bool(pop.disabled[i]),
                    care_duty=bool(pop.care_duty[i]),
                    in_labour=bool(labour[i]),
                )
                for i in range(pop.start[h], pop.start[h + 1])
            ]
            self.homes.append(PlainHousehold(self, h, members))
        self._set_land_share()
        c, d = scenario.community, scenario.labour_demand
        workers = sum(p.in_labour for h in self.homes for p in h.members)
        self.capacity = {
            Option.LOCAL_INDUSTRY: round(d.industry_posts_per_100_workers * workers / 100),
            Option.LOCAL_SERVICES: round(d.services_posts_per_100_workers * workers / 100),
            Option.PUBLIC_WELFARE: scenario.policies.public_welfare_jobs.posts
            if scenario.policies.public_welfare_jobs.enabled
            else 0,
        }
        self.farm_base = (
            scenario.origin.farm_income_ratio
            * c.income_before_yuan
            * c.relocated_population
            / c.relocated_labour_force
            / 12
        )
        a, b = scenario.population.skill_beta_a, scenario.population.skill_beta_b
        self.skill_reference = a / (a + b)
        self.returners = 0
        self.vacancies: dict[int, int] = {}
        self._village_counts: dict[int, list[int]] = {}

    @property
    def month(self) -> int:
        """Months simulated so far."""
        return self.steps

    def _set_land_share(self) -> None:
        """Each worker's share of household land, relative to the pre-relocation land per worker."""
        c, o = self.config.community, self.config.origin
        reference = o.reference_land_mu_per_person * c.relocated_population / c.relocated_labour_force
        self.land_share = {}
        for h in self.homes:
            per_worker = h.land / max(sum(p.in_labour for p in h.members), 1)
            for p in h.members:
                self.land_share[p.index] = per_worker / reference

    def contact_shares(self, village: int, own_option: int) -> list[float]:
        """Share of fellow villagers (labour force, excluding oneself) in each option."""
        counts = list(self._village_counts.get(village, [0] * N_OPTIONS))
        counts[own_option] -= 1
        total = sum(counts)
        return [x / total for x in counts] if total > 0 else [0.0] * N_OPTIONS

    def step(self) -> None:
        """One month, in the same order as the fast model."""
        s = self.config
        if self.month > 1 and (self.month - 1) % 12 == 0:
            for h in self.homes:
                for p in h.members:
                    p.age += 1
            self._sync_care_and_labour()
        self.returners = 0
        for h in self.homes:
            h.separate_and_review()
        self._village_counts = {}
        for h in self.homes:
            for p in h.members:
                if p.in_labour:
                    self._village_counts.setdefault(h.village, [0] * N_OPTIONS)[p.option] += 1
        held = {j: 0 for j in CAPPED}
        for h in self.homes:
            for p in h.members:
                if p.in_labour and not p.seeking and p.option in CAPPED:
                    held[p.option] += 1
        self.vacancies = {j: max(self.capacity[j] - held[j], 0) for j in CAPPED}
        queue = [(h, p) for h in self.homes for p in h.members if p.seeking]
        zero = {h.index: h.zero_employment() for h in self.homes}
        lottery = self.rng.random(len(queue))
        priority = s.policies.public_welfare_jobs.priority_zero_employment
        order = sorted(
            range(len(queue)),
            key=lambda k: (not zero[queue[k][0].index] if priority else False, lottery[k]),
        )
        for k in order:
            home, person = queue[k]
            home.choose(person)
        for h in self.homes:
            h.learn_and_earn()

    def _sync_care_and_labour(self) -> None:
        """Yearly: labour-force status and carers, with the same rule as the fast model."""
        pop = self.pop
        for h in self.homes:
            for p in h.members:
                pop.age[p.index] = p.age
        labour = labour_mask(pop, self.config.population)
        assign_care_duties(pop, self.config.population, self.rng)
        for h in self.homes:
            for p in h.members:
                p.in_labour = bool(labour[p.index])
                p.care_duty = bool(pop.care_duty[p.index])
                if not p.in_labour:
                    p.option = Option.NOT_WORKING
        self._set_land_share()

    def employment_counts(self) -> np.ndarray:
        """Relocated labour force by option, plus out-of-county industry as the last entry."""
        counts = np.zeros(N_OPTIONS + 1)
        for h in self.homes:
            if not h.relocated:
                continue
            for p in h.members:
                if p.in_labour:
                    counts[p.option] += 1
                    counts[N_OPTIONS] += p.option == Option.OUT_OF_COUNTY and p.out_industry
        return counts
