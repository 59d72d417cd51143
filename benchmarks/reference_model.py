"""The monthly rules written plainly, one household at a time: the readable specification.

This is deliberately slow. Each household is a Mesa agent whose members are ordinary
Python objects; every utility is summed term by term, and every policy rule is written
out again as plain code for one household or one person. It follows the same rules as
the batched model in `simulation/` (docs/MODEL.md, "Submodels", and the policy contract in
7.9) for the core model with the ties submodel off and for these policies: public-welfare
posts (targeting, one per household, yearly review), the subsistence allowance (means
test, take-up by need, work effort), the transition period, the employment guarantee,
workshops and community care; the household's remittances that respond to its need, the
household's members choosing in turns at the household's income weight, the lower pay of
women outside the county, and households that move in by arrival waves. It
serves as an oracle in tests/test_reference.py and as the baseline of the speed ratio in
benchmarks/bench_core.py. Population generation and the yearly demography with the choice
of carers are shared with the fast model (set-up and a yearly step, not monthly rules: the
plain model hands its state to them once a year and reads the people back); every monthly
rule is written out again here. Not covered here: the other policies, policies that start
or end within a run, and the ties submodel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from scenarios.schema import Scenario
from simulation.demography import demographic_year
from simulation.options import CAPPED, N_OPTIONS, SCHOOLING_YEARS, Education, Option
from simulation.population import assign_care_duties, generate_population, labour_mask, planned_labour

RELOCATION_ONLY = {Option.PUBLIC_WELFARE, Option.FARMING_ORIGIN, Option.PART_TIME}
NEAR_HOME = {Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.PUBLIC_WELFARE, Option.WORKSHOP}
LEFT_BEHIND = NEAR_HOME | {Option.PART_TIME}
FARMING = {Option.FARMING_ORIGIN, Option.PART_TIME}


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
    guarantee_post: bool = False  # holds a post the employment guarantee created for them
    contribution: float = 0.0  # what they brought the household last month (pay, or remittances sent), yuan
    turn: int = 0  # their turn in the household's choice this month
    potential: float = 0.0  # the best pay open to them this month
    base_scores: list[float] | None = None  # this month's utilities at a sole earner's income weight
    money: list[float] | None = None  # the money terms of those utilities, thousands of yuan
    care_covered: bool = False  # their dependants have a place in community care


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
        self.allowance_draw = model.rng.random()  # stigma and knowing how to apply
        self.on_allowance = False
        self.allowance = 0.0  # this month's allowance, yuan
        self.income = 0.0  # yuan per month
        self.net_income = 0.0  # less the costs of living in town
        self.returned = False

    @property
    def size(self) -> int:
        """People living in the household."""
        return len(self.members)

    @property
    def active(self) -> bool:
        """Moved in (its arrival wave has come) and not dissolved."""
        return bool(self.model.pop.active[self.index])

    @property
    def living(self) -> bool:
        """Relocated, moved in and still in the community."""
        return self.relocated and self.active and not self.returned

    def workers(self) -> list[Member]:
        """Labour-force members."""
        return [p for p in self.members if p.in_labour]

    def zero_employment(self) -> bool:
        """Has labour, but nobody in the labour force works."""
        labour = self.workers()
        return bool(labour) and all(p.option == Option.NOT_WORKING for p in labour)

    def others_work(self, member: Member) -> bool:
        """Another labour member of the household works."""
        return any(p is not member and p.option != Option.NOT_WORKING for p in self.workers())

    def weak(self, p: Member) -> bool:
        """Weak labour: older worker, carer, or primary schooling with little skill."""
        w = self.model.config.policies.public_welfare_jobs
        return (
            p.age >= w.older_worker_age
            or p.care_duty
            or (p.education <= Education.PRIMARY_OR_LESS and p.skill < w.low_skill)
        )

    # -- stage 1: posts that end, separations and reviews
    def start_month(self) -> None:
        """Posts that policies end this month, then separations and reviews."""
        m, s = self.model, self.model.config
        for p in self.members:
            if p.guarantee_post and (p.option != Option.PUBLIC_WELFARE or not p.in_labour):
                p.guarantee_post = False  # left it for other work, or left the labour force
            if p.guarantee_post and (self.others_work(p) or not self.living):
                p.guarantee_post, p.option, p.contribution = False, Option.NOT_WORKING, 0.0
                m.forced.add(p.index)
        if m.welfare_review_due():
            for p in self.workers():
                held = p.option == Option.PUBLIC_WELFARE and not p.guarantee_post
                if held and not self.weak(p) and self.others_work(p):  # no longer qualifies
                    p.option, p.contribution = Option.NOT_WORKING, 0.0
                    m.forced.add(p.index)
        for p in self.members:
            p.seeking = False
            if not p.in_labour:
                continue
            p.was_out = p.option == Option.OUT_OF_COUNTY
            u_sep = m.rng.random()
            separated = (
                p.option in CAPPED and not p.guarantee_post and u_sep < s.labour_demand.separation_rate_local
            ) or (p.was_out and u_sep < s.labour_demand.separation_rate_out_of_county)
            if separated:
                p.option, p.seeking, p.contribution = Option.NOT_WORKING, True, 0.0
            searching = p.option == Option.NOT_WORKING or p.guarantee_post
            rate = s.choice.review_rate_not_working if searching else s.choice.review_rate
            if m.rng.random() < rate or m.month == 1 or p.index in m.forced:
                p.seeking = True

    def welfare_candidate(self) -> Member | None:
        """The one member who may take a welfare post this month, if any (carer, then oldest)."""
        m = self.model
        if not self.living or not m.welfare_on:
            return None
        if any(p.option == Option.PUBLIC_WELFARE and not p.guarantee_post for p in self.workers()):
            return None  # one post per household
        zero = self.model.zero_before[self.index]
        eligible = [
            p for p in self.workers() if p.seeking and ((self.weak(p) and p.option == Option.NOT_WORKING) or zero)
        ]
        if not eligible:
            return None
        return min(eligible, key=lambda p: (not p.care_duty, -p.age))

    # -- stage 2: choose, in turns, in the model's priority order
    def prepare(self, seeker: Member) -> None:
        """The seeker's utilities at a sole earner's income weight, their money terms, and
        the best pay open to them (which sets their turn in the household)."""
        c = self.model.config.choice
        earn = self.earnings(seeker)
        seeker.base_scores = self.utilities(seeker, earn)
        entering = not (seeker.was_out and seeker.option == Option.OUT_OF_COUNTY)
        seeker.money = [
            (e - self.allowance_lost(e, j)) / 1000.0
            - (
                c.migration_cost_yuan / 1000.0 / c.planning_horizon_months
                if j == Option.OUT_OF_COUNTY and entering
                else 0
            )
            for j, e in enumerate(earn)
        ]
        seeker.potential = max(e for e, u in zip(earn, seeker.base_scores, strict=True) if u > -math.inf)

    def set_turns(self) -> None:
        """The household's order of choosing: holders of a created post first, then the
        highest potential pay (docs/MODEL.md 7.11); everyone at once without the strategy."""
        seekers = [p for p in self.members if p.seeking]
        if not self.model.config.choice.household_strategy:
            for p in seekers:
                p.turn = 0
            return
        for turn, p in enumerate(sorted(seekers, key=lambda p: (not p.guarantee_post, -p.potential))):
            p.turn = turn

    def income_weight(self, seeker: Member) -> float:
        """The household's marginal utility of the seeker's income given what the other
        members bring in now, relative to a household at its aim (docs/MODEL.md 7.11)."""
        s = self.model.config
        c = s.choice
        if not c.household_strategy:
            return 1.0
        others = sum(p.contribution for p in self.members if p is not seeker and p.in_labour) / max(self.size, 1)
        aim = s.wages.remittance_target_yuan / 12.0
        return ((c.subsistence_yuan_person_month + aim) / (c.subsistence_yuan_person_month + max(others, 0.0))) ** (
            c.income_curvature
        )

    def choose(self, seeker: Member) -> None:
        """Rank options by utility plus logit noise; take the best one with a vacancy."""
        m, s = self.model, self.model.config
        c = s.choice
        extra = c.income_per_1000_yuan * (self.income_weight(seeker) - 1.0)
        scores = [u + extra * money for u, money in zip(seeker.base_scores, seeker.money, strict=True)]
        current = seeker.option
        if current != Option.OUT_OF_COUNTY and m.rng.random() >= s.labour_demand.out_of_county_job_finding_rate:
            scores[Option.OUT_OF_COUNTY] = -math.inf
        scores = [score + m.rng.gumbel() for score in scores]
        if seeker.guarantee_post:
            kept = scores[current] - (c.inertia if m.month > 1 else 0.0)
            scores[current] = -math.inf
            if kept >= max(scores):
                seeker.contribution = max(self.earnings(seeker)[current], 0.0)
                return  # keeps the stopgap post
            seeker.guarantee_post = False
        chosen = Option.NOT_WORKING
        for j in sorted(range(N_OPTIONS), key=lambda j: -scores[j]):
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
        # what the members choosing later in the month see this one bring in
        pay = max(self.earnings(seeker)[chosen], 0.0)
        sent = 0.5 * (s.wages.remittance_share_min + s.wages.remittance_share_max)
        seeker.contribution = (
            0.0 if chosen == Option.NOT_WORKING else pay * (sent if chosen == Option.OUT_OF_COUNTY else 1)
        )

    def earnings(self, p: Member) -> list[float]:
        """Net monthly earnings of member `p` in each option (yuan)."""
        m, s = self.model, self.model.config
        w, o = s.wages, s.origin
        years = SCHOOLING_YEARS[p.education] - 9.0
        skill_term = w.return_to_skill * (p.skill - m.skill_reference)
        f_local = math.exp(w.return_to_schooling_local * years + skill_term)
        f_out = math.exp(w.return_to_schooling_out * years + skill_term)
        if p.female:
            f_out *= w.female_out_of_county_ratio
        paid = w.months_worked_per_year / 12.0
        county = s.local_pay_index  # the county's pay level, for market pay (not policy-set pay)
        distance = 0.0 if self.returned else self.distance
        travel = o.travel_cost_yuan_per_km * 2.0 * distance
        farm = m.farm_base * m.land_share[p.index]
        return [
            0.0,
            w.local_industry * county * f_local * paid,
            w.local_services * county * f_local * paid,
            s.policies.public_welfare_jobs.wage_yuan_month,
            farm - o.trips_per_month_farming * travel,
            o.part_time_farm_fraction * farm
            + (1 - o.part_time_farm_fraction) * w.casual_local * county * f_local * paid
            - o.trips_per_month_part_time * travel,
            (w.out_of_county * f_out - w.living_cost_out_of_county) * paid,
            s.policies.workshops.wage_yuan_month * f_local * paid,
        ]

    def utilities(self, p: Member, earn: list[float]) -> list[float]:
        """Push-pull utility of each option for member `p` with net earnings `earn`, term by
        term, with the policies' terms (income at a sole earner's weight)."""
        m, s = self.model, self.model.config
        c = s.choice
        shares = m.contact_shares(self.village, p.option)
        arrived = int(m.pop.arrival_month[self.index])
        demolished = self.relocated and not self.returned and m.month > arrived + s.transition_months
        distance = 0.0 if self.returned else self.distance
        u = []
        for j in range(N_OPTIONS):
            if (not self.relocated and j in RELOCATION_ONLY) or (self.returned and j in LEFT_BEHIND):
                u.append(-math.inf)
                continue
            value = c.income_per_1000_yuan * earn[j] / 1000.0
            value += c.constant.as_tuple()[j]
            value -= c.care_penalty.as_tuple()[j] * p.care_duty
            value += c.age_per_decade.as_tuple()[j] * (p.age - 35.0) / 10.0
            value -= c.distance_per_100km.as_tuple()[j] * distance / 100.0
            value -= c.demolition_penalty.as_tuple()[j] * demolished
            value += c.social * shares[j]
            if m.month > 1 and j == p.option:
                value += c.inertia
            if j == Option.OUT_OF_COUNTY and not (p.was_out and p.option == Option.OUT_OF_COUNTY):
                value -= c.income_per_1000_yuan * c.migration_cost_yuan / 1000.0 / c.planning_horizon_months
            # policies
            if j == Option.PUBLIC_WELFARE and m.welfare_on:
                if p is not m.candidates.get(self.index):
                    value = -math.inf
                elif m.zero_before[self.index] and self.weak(p):
                    value += s.policies.public_welfare_jobs.zero_employment_encouragement
            if m.care_on and p.care_duty and p.care_covered and j in NEAR_HOME:
                value += s.policies.community_services.care_relief * c.care_penalty.as_tuple()[j]
            value -= c.income_per_1000_yuan * self.allowance_lost(earn[j], j) / 1000.0
            u.append(value)
        return u

    def allowance_lost(self, pay: float, option: int) -> float:
        """The allowance a recipient household counts as lost if a member earns `pay` (yuan a month)."""
        m, s = self.model, self.model.config
        if not (m.allowance_on and self.allowance > 0 and option != Option.NOT_WORKING):
            return 0.0
        return s.policies.subsistence_allowance.benefit_withdrawal * min(max(pay, 0.0), self.allowance)

    # -- stage 3: learn and earn
    def learn_and_earn(self) -> None:
        """Skills grow with work; household income with pensions, the allowance, and living costs."""
        m, s = self.model, self.model.config
        c, w, inc = s.choice, s.wages, s.income
        if not self.members:  # a household whose people have all died or left
            self.income = self.net_income = self.allowance = 0.0
            return
        earnings, migrant_pay = 0.0, 0.0
        for p in self.members:
            p.contribution = 0.0
            if p.option == Option.OUT_OF_COUNTY:
                p.skill = min(1.0, p.skill + c.skill_gain_out_of_county_per_year / 12.0)
            elif p.option in (Option.LOCAL_INDUSTRY, Option.LOCAL_SERVICES, Option.WORKSHOP):
                p.skill = min(1.0, p.skill + c.skill_gain_local_per_year / 12.0)
            if p.in_labour and p.option != Option.NOT_WORKING:
                e = max(self.earnings(p)[p.option], 0.0)
                p.contribution = e
                if p.option == Option.OUT_OF_COUNTY:
                    migrant_pay += e
                else:
                    earnings += e
        pension = inc.pension_yuan_month * sum(p.age >= inc.pension_age for p in self.members) if self.active else 0.0
        # the migrants send what the household needs to reach the target, within the bounds of their pay
        need = max(w.remittance_target_yuan * self.size / 12.0 - (earnings + pension), 0.0)
        sent = min(max(need, w.remittance_share_min * migrant_pay), w.remittance_share_max * migrant_pay)
        for p in self.members:  # a migrant brings the household what they send
            if p.in_labour and p.option == Option.OUT_OF_COUNTY:
                p.contribution *= sent / migrant_pay if migrant_pay > 0 else 0.0
        before = earnings + sent + pension
        self.allowance = 0.0
        if m.allowance_on:
            a = s.policies.subsistence_allowance
            per_capita = before * 12.0 / self.size
            if m.allowance_review_due():
                gap = min(max((a.threshold_yuan - per_capita) / a.threshold_yuan, 0.0), 1.0)
                chance = a.take_up * min(1.0, gap / a.full_take_up_gap)
                self.on_allowance = self.living and gap > 0 and self.allowance_draw < chance
            self.on_allowance = self.on_allowance and self.living
            if self.on_allowance:
                self.allowance = max(a.threshold_yuan - per_capita, 0.0) * self.size / 12.0
        self.income = before + self.allowance
        costs = 0.0
        if self.living:
            lc = s.living_costs
            farming = any(p.in_labour and p.option in FARMING for p in self.members)
            food = lc.food_yuan_person_month * ((1.0 - lc.home_grown_share) if farming else 1.0)
            per_person = food + lc.utilities_yuan_person_month + lc.property_fee_yuan_m2_month * lc.flat_m2_per_person
            costs = per_person * self.size
        self.net_income = self.income - costs

    # -- stage 4: going back
    def maybe_go_back(self) -> None:
        """The monthly chance of going back to the origin (ties off: economic integration only)."""
        m, s = self.model, self.model.config
        if not self.living:
            return
        r = s.return_to_origin
        labour = self.workers()
        local = sum(p.option in NEAR_HOME for p in labour)
        integration = 0.3 * local / len(labour) if labour else 0.0
        net_pc = self.net_income * 12.0 / max(self.size, 1)
        chance = r.base_rate * (1.0 - integration) * (1.0 if net_pc < r.low_income_yuan else r.higher_income_factor)
        if m.month > int(m.pop.arrival_month[self.index]) + s.transition_months:
            chance *= r.after_demolition_factor
        chance *= 1.0 + r.land_pull * (self.land / max(self.size, 1)) / s.origin.reference_land_mu_per_person
        if m.rng.random() < min(chance, 1.0):
            self.returned = True
            for p in labour:
                if p.option in LEFT_BEHIND:
                    p.option, p.guarantee_post = Option.NOT_WORKING, False
                m.forced.add(p.index)


class PlainModel(mesa.Model):
    """Same monthly rules as `ResettlementModel`, written one household at a time."""

    def __init__(self, scenario: Scenario, *, seed: int) -> None:
        super().__init__(rng=seed)
        self.config = scenario
        self.pop = pop = generate_population(scenario, self.rng)
        labour = labour_mask(pop, scenario.population)
        self.people: dict[int, Member] = {}
        pol = scenario.policies
        self.welfare_on = pol.public_welfare_jobs.enabled
        self.allowance_on = pol.subsistence_allowance.enabled
        self.care_on = pol.community_services.enabled
        self.guarantee_on = pol.employment_guarantee.enabled
        self.homes: list[PlainHousehold] = []
        self._read_people(labour)
        self._set_land_share()
        c = scenario.community
        self.planned = planned_labour(pop, scenario.population)  # as planned at set-up, every wave included
        self._set_capacity()
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
        self.candidates: dict[int, Member] = {}
        self.zero_before: dict[int, bool] = {}
        self.forced: set[int] = set()
        self._village_counts: dict[int, list[int]] = {}

    @property
    def month(self) -> int:
        """Months simulated so far."""
        return self.steps

    def _read_people(self, labour: np.ndarray) -> None:
        """Build (or rebuild after a demographic year) the plain households and members from
        the shared arrays; a person keeps their Member object, and so their work, across years."""
        pop, cfg = self.pop, self.config
        present = np.flatnonzero(pop.present)
        by_household: dict[int, list[int]] = {}
        for i in present:
            by_household.setdefault(int(pop.household[i]), []).append(int(i))
        for h in range(len(self.homes), pop.next_household):  # households formed since
            self.homes.append(PlainHousehold(self, h, []))
        for home in self.homes:
            members = []
            for i in by_household.get(home.index, []):
                p = self.people.get(i)
                if p is None:
                    p = Member(
                        index=i,
                        age=int(pop.age[i]),
                        female=bool(pop.female[i]),
                        education=int(pop.education[i]),
                        skill=float(pop.skill[i]),
                        disabled=bool(pop.disabled[i]),
                    )
                    if self.care_on:
                        p.care_covered = self.rng.random() < cfg.policies.community_services.care_coverage
                    self.people[i] = p
                p.in_labour = bool(labour[i])
                p.care_duty = bool(pop.care_duty[i])
                if not p.in_labour:
                    p.option, p.guarantee_post = Option.NOT_WORKING, False
                members.append(p)
            home.members = members

    def welfare_review_due(self) -> bool:
        """Welfare-post holders are reviewed every `review_months` from the first month."""
        w = self.config.policies.public_welfare_jobs
        return self.welfare_on and self.month > w.start_month and (self.month - w.start_month) % w.review_months == 0

    def allowance_review_due(self) -> bool:
        """Who is on the allowance is decided every `review_months` from the first month."""
        a = self.config.policies.subsistence_allowance
        return (self.month - a.start_month) % a.review_months == 0

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
        year = self.month > 1 and (self.month - 1) % 12 == 0
        arriving = [
            h
            for h in self.homes
            if h.relocated and not h.active and h.members and int(self.pop.arrival_month[h.index]) == self.month - 1
        ]
        if year or arriving:
            self._sync_care_and_labour(year, arriving)
        self.returners = 0
        for h in self.homes:
            h.start_month()
        self.forced = set()
        self._village_counts = {}
        for h in self.homes:
            for p in h.members:
                if p.in_labour:
                    self._village_counts.setdefault(h.village, [0] * N_OPTIONS)[p.option] += 1
        held = {j: 0 for j in CAPPED}
        for h in self.homes:
            for p in h.members:
                if p.in_labour and not p.seeking and p.option in CAPPED and not p.guarantee_post:
                    held[p.option] += 1
        self.vacancies = {j: max(self.capacity[j] - held[j], 0) for j in CAPPED}
        self.zero_before = {h.index: h.zero_employment() for h in self.homes}  # before anyone chooses
        self.candidates = {}
        for h in self.homes:
            candidate = h.welfare_candidate()
            if candidate is not None:
                self.candidates[h.index] = candidate
        queue = [(h, p) for h in self.homes for p in h.members if p.seeking]
        for h, p in queue:
            h.prepare(p)
        for h in self.homes:
            h.set_turns()
        zero = self.zero_before
        lottery = self.rng.random(len(queue))
        priority = self.welfare_on and self.config.policies.public_welfare_jobs.priority_zero_employment
        order = sorted(
            range(len(queue)),
            key=lambda k: (queue[k][1].turn, not zero[queue[k][0].index] if priority else False, lottery[k]),
        )
        for k in order:
            home, person = queue[k]
            home.choose(person)
        if self.guarantee_on:
            self._guarantee()
        for h in self.homes:
            h.learn_and_earn()
        for h in self.homes:
            h.maybe_go_back()

    def _guarantee(self) -> None:
        """One member of each zero-employment household in the community placed in work:
        a vacant welfare, workshop, services or industry post, else a created post."""
        chosen = []
        for h in self.homes:
            if h.living and h.zero_employment():
                chosen.append(min(h.workers(), key=lambda p: (not p.care_duty, -p.age)))
        held = {j: 0 for j in CAPPED}
        for h in self.homes:
            for p in h.members:
                if p.in_labour and p.option in CAPPED and not p.guarantee_post:
                    held[p.option] += 1
        for k in self.rng.permutation(len(chosen)):
            p = chosen[k]
            for j in (Option.PUBLIC_WELFARE, Option.WORKSHOP, Option.LOCAL_SERVICES, Option.LOCAL_INDUSTRY):
                if held[j] < self.capacity[j]:
                    p.option, held[j] = j, held[j] + 1
                    break
            else:
                p.option, p.guarantee_post = Option.PUBLIC_WELFARE, True

    def _set_capacity(self) -> None:
        """Posts open with the arrival waves: the market's densities apply to the planned labour
        of the households moved in so far (and local residents); the welfare and workshop posts
        to their share of the relocated planned labour, as in the fast model."""
        pop, pol, d = self.pop, self.config.policies, self.config.labour_demand
        arrived = (pop.active | ~pop.relocated)[pop.household]
        workers = int((self.planned & arrived).sum())
        relocated = self.planned & pop.relocated[pop.household]
        share = float((relocated & arrived).sum() / relocated.sum()) if relocated.any() else 1.0
        welfare = round(pol.public_welfare_jobs.posts_per_100_households * int(pop.relocated.sum()) / 100)
        workshop = round(pol.workshops.posts_per_100_workers * int(relocated.sum()) / 100)
        self.capacity = {
            Option.LOCAL_INDUSTRY: round(d.industry_posts_per_100_workers * workers / 100),
            Option.LOCAL_SERVICES: round(d.services_posts_per_100_workers * workers / 100),
            Option.PUBLIC_WELFARE: round(welfare * share) if self.welfare_on else 0,
            Option.WORKSHOP: round(workshop * share) if pol.workshops.enabled else 0,
        }

    def _sync_care_and_labour(self, year: bool, arriving: list[PlainHousehold]) -> None:
        """The shared yearly demography (or ageing alone) and the arrival of a wave; then
        labour-force status and carers, with the same rules as the fast model."""
        pop, cfg = self.pop, self.config
        for h in self.homes:
            for p in h.members:
                pop.option[p.index], pop.skill[p.index] = p.option, p.skill
        if year:
            if cfg.demography.enabled:
                demographic_year(pop, cfg, self.rng)
            else:
                pop.age[pop.present] += 1
            for p in self.people.values():
                p.age = int(pop.age[p.index])
        for h in arriving:
            pop.active[h.index] = True
            for p in h.members:
                self.forced.add(p.index)
        if arriving:
            self._set_capacity()
        labour = labour_mask(pop, cfg.population)
        assign_care_duties(pop, cfg, labour)
        self._read_people(labour)
        self._set_land_share()

    def employment_counts(self) -> np.ndarray:
        """Relocated labour force in the community by option, plus out-of-county industry as the last entry."""
        counts = np.zeros(N_OPTIONS + 1)
        for h in self.homes:
            if not h.living:
                continue
            for p in h.members:
                if p.in_labour:
                    counts[p.option] += 1
                    counts[N_OPTIONS] += p.option == Option.OUT_OF_COUNTY and p.out_industry
        return counts

    def poverty_rate(self) -> float:
        """Share of people in relocated households whose income net of living costs is below the line."""
        line = self.config.income.poverty_line_yuan
        people = sum(h.size for h in self.homes if h.relocated and h.active)
        poor = sum(h.size for h in self.homes if h.relocated and h.active and h.net_income * 12.0 / h.size < line)
        return poor / people

    def returned_households(self) -> int:
        """Households gone back to the origin."""
        return sum(h.returned for h in self.homes)
