"""The resettlement community model: Mesa agents as thin handles over numpy state.

One call to `ResettlementModel.step()` is one month (docs/MODEL.md, section 3):

1. demography once a year (deaths, ageing, births, marriage, new households, frailty),
   then the households of this month's arrival wave move in; carers are chosen again;
2. policies end posts, change skills, keep business owners in their business, fund posts;
3. job separations; who reviews their work this month;
4. the batched work choice of all seekers (logit draw, posts filled in priority order),
   then the policies' placements;
   (shocks of the month, when on, are drawn first: docs/MODEL.md 7.10);
5. skills, return flow, incomes, transfers, the costs of living in town, poverty and its
   flows over the last twelve months;
6. ties (when on), integration, going back to the origin;
7. policy costs; indicators, collected by the DataCollector.

The model owns the schedule and is the only writer of its state; follow-up policies
contribute through the hooks of `simulation.policies` and never write model state. The
model does no I/O and prints nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .demography import YearEvents, demographic_year
from .going_back import going_back_chance
from .income import (
    HouseholdIncome,
    destination_costs,
    earnings_and_pensions,
    pension_count,
    per_capita_annual,
    remittances,
)
from .indicators import (
    BREAKDOWNS,
    COHORTS,
    INDICATORS,
    SHARE_KEYS,
    employment_shares,
    flatten,
    group_breakdown,
    grouped_counts,
    weighted_median,
)
from .keyed import KeyedDraws, Purpose
from .labour import (
    Economy,
    household_turns,
    income_weight,
    member_earnings,
    occupied_posts,
    serial_dictatorship,
    utilities,
)
from .options import (
    EDUCATION_NAMES,
    IS_CAPPED,
    IS_LOCAL_NON_FARM,
    IS_NEAR_HOME,
    N_OPTIONS,
    OPTION_NAMES,
    Option,
    age_group,
)
from .policies import MonthView, PolicySet
from .population import (
    RELATION_NAMES,
    Population,
    assign_care_duties,
    generate_population,
    labour_mask,
    planned_labour,
)
from .shocks import PovertyFlows, ShockState, out_of_county
from .social import (
    SocialState,
    contact_shares,
    economic_integration,
    household_option_counts,
    init_social,
    refresh_tie_flags,
    social_integration,
    tie_indicators,
    update_ties,
)

if TYPE_CHECKING:
    from scenarios.schema import Scenario

IS_LEFT_BEHIND = IS_LOCAL_NON_FARM.copy()  # work in the community a household gives up by going back
IS_LEFT_BEHIND[Option.PART_TIME] = True


class Household(mesa.Agent):
    """A household: a Mesa agent whose numbers live in the model's arrays.

    Households are agents because they are what a user inspects, selects and sees in
    the app (members, roles, the household's strategy this month); their state is in
    arrays so that the month is one batched computation, and no rule loops over agents.
    Measured at 10,000 households: an agent costs about 390 bytes of Python objects, the
    household's population arrays (members and reserved slots included) about 200 bytes.
    Agents exist for households that have been formed (moved in or waiting to, and new
    households when a couple sets one up).
    """

    def __init__(self, model: ResettlementModel, index: int) -> None:
        super().__init__(model)
        self.index = int(index)

    @property
    def _pop(self) -> Population:
        return self.model.pop

    @property
    def relocated(self) -> bool:
        """False for long-standing local residents."""
        return bool(self._pop.relocated[self.index])

    @property
    def size(self) -> int:
        """Number of members."""
        return int(self._pop.size[self.index])

    @property
    def origin_village(self) -> int:
        """Index of the origin village (locals share one id)."""
        return int(self._pop.village[self.index])

    @property
    def distance_km(self) -> float:
        """Relocation distance from the origin village."""
        return float(self._pop.distance_km[self.index])

    @property
    def land_mu(self) -> float:
        """Land kept at the origin, in mu."""
        return float(self._pop.land_mu[self.index])

    @property
    def members(self) -> np.ndarray:
        """Member indices into the model's member arrays (people living in the household now)."""
        pop = self._pop
        return np.flatnonzero((pop.household == self.index) & pop.present)

    @property
    def active(self) -> bool:
        """Moved in and not dissolved (False before its arrival wave)."""
        return bool(self._pop.active[self.index])

    @property
    def arrival_cohort(self) -> int:
        """Arrival wave (0 the first; -1 for long-standing residents)."""
        return int(self._pop.cohort[self.index])

    @property
    def work(self) -> list[str]:
        """This month's option of each labour-force member."""
        m = self.members
        return [OPTION_NAMES[o] for o in self._pop.option[m][self.model.labour[m]]]

    def roster(self) -> list[dict]:
        """One row per member: relation to the head, age, sex, schooling, whether in the
        labour force, the care duty, frailty, and this month's work (None outside the labour force)."""
        pop, labour = self._pop, self.model.labour
        return [
            {
                "member": int(m),
                "relation": RELATION_NAMES[pop.relation[m]],
                "age": int(pop.age[m]),
                "female": bool(pop.female[m]),
                "education": EDUCATION_NAMES[pop.education[m]],
                "labour_force": bool(labour[m]),
                "care_duty": bool(pop.care_duty[m]),
                "frail": bool(pop.frail[m]),
                "work": OPTION_NAMES[pop.option[m]] if labour[m] else None,
            }
            for m in self.members
        ]

    @property
    def strategy(self) -> dict:
        """The household's allocation of its members this month: who works outside the
        county, who near home, who farms, who cares (and whether a grandparent past working
        age does), what its migrants send home (yuan a month), its main earner (who brought
        in most) and what its members brought in together, which sets the weight the next
        member to choose gives to pay (docs/MODEL.md 7.11)."""
        pop, labour = self._pop, self.model.labour
        m = self.members
        opt = pop.option[m]
        work = labour[m]
        carer = m[pop.care_duty[m]]
        brought = np.where(work, self.model.contribution[m], 0.0)
        return {
            "out_of_county": int((work & (opt == Option.OUT_OF_COUNTY)).sum()),
            "near_home": int((work & IS_NEAR_HOME[opt]).sum()),
            "farming": int((work & ((opt == Option.FARMING_ORIGIN) | (opt == Option.PART_TIME))).sum()),
            "not_working": int((work & (opt == Option.NOT_WORKING)).sum()),
            "carer": int(carer[0]) if carer.size else None,
            "grandparent_cares": bool(carer.size and not labour[carer[0]]),
            "remittances_yuan_month": float(self.model.remitted[self.index]),
            "main_earner": int(m[work][np.argmax(brought[work])]) if brought[work].max(initial=0.0) > 0 else None,
            "brought_in_yuan_month": float(brought.sum()),
        }

    @property
    def income_per_capita(self) -> float:
        """Per-capita income this month, annualised (yuan per year)."""
        return float(self.model.income_per_capita[self.index])

    @property
    def building(self) -> int | None:
        """Building in the community (None without the ties submodel)."""
        social = self.model.social
        return None if social is None else int(social.building[self.index])

    @property
    def integration(self) -> float:
        """Integration index, 0-1 (its economic part only without the ties submodel)."""
        return float(self.model.integration[self.index])

    @property
    def returned(self) -> bool:
        """Went back to the origin."""
        return bool(self.model.returned[self.index])


class ResettlementModel(mesa.Model):
    """One resettlement community, month by month.

    Args:
        scenario: validated parameters; the built-in baseline if omitted.
        seed: seed of the model's numpy Generator; the scenario's seed if omitted.
    """

    def __init__(self, scenario: Scenario | None = None, *, seed: int | None = None) -> None:
        if scenario is None:
            from scenarios.schema import Scenario

            scenario = Scenario()
        super().__init__(rng=scenario.simulation.seed if seed is None else seed)
        self.config = scenario
        self.pop = generate_population(scenario, self.rng)
        pop = self.pop
        n_h, n_m = pop.n_households, pop.n_members
        self.households = Household.create_agents(self, pop.next_household, index=np.arange(pop.next_household))
        self.member_relocated = pop.relocated[pop.household]
        self.labour = labour_mask(pop, scenario.population)
        self.labour_members = np.flatnonzero(self.labour)  # the same, as indices (the monthly loops use them)
        self._count_people()
        self.planned_labour = planned_labour(pop, scenario.population)  # all arrival waves moved in
        self.arrived_share = self._arrived_share()
        self.land_share = self._land_share()
        self.returned = np.zeros(n_h, dtype=bool)
        self.integration = np.zeros(n_h)
        self.self_employed = np.zeros(n_m, dtype=bool)  # runs a business of their own
        self.reserved = np.zeros(n_m, dtype=bool)  # holds a post a policy keeps for them alone
        self.force_review = np.zeros(n_m, dtype=bool)
        self.contribution = np.zeros(n_m)  # what each member brought the household last month (pay or remittance), yuan
        self.base_economy = self._economy()
        self.economy = self.base_economy
        self.social: SocialState | None = init_social(scenario, pop, self.rng) if scenario.ties.enabled else None
        self.policies = PolicySet(scenario, self)
        # the shocks' own stream, spawned after the policies' so that neither changes the other
        self.shocks = ShockState(scenario.shocks, pop, self.rng.spawn(1)[0])
        # draws keyed by unit (ties, posts that end), from a stream spawned after the shocks'
        self.keyed = KeyedDraws(self.rng.spawn(1)[0])
        self.shock_separated = np.zeros(n_m, dtype=bool)
        self.flows = PovertyFlows(n_h)
        self.living_costs = np.zeros(n_h)  # this month's extra costs of living in town, per household
        self.income_per_capita = np.zeros(n_h)
        self.net_income_per_capita = np.zeros(n_h)
        self.household_income: HouseholdIncome | None = None
        self.return_migrants = 0
        self.remitted = np.zeros(n_h)  # what each household's migrants sent home this month
        self.year_events = YearEvents()
        self._age_structure: dict[str, float] | None = None  # cached between changes of the people
        self.demography_totals = {"births": 0, "deaths": 0, "marriages": 0, "new_households": 0, "moved_out": 0}
        self.network_metrics = {"clustering": float("nan"), "largest_component_share": float("nan")}
        self.indicators: dict = {}
        self.flat_indicators: dict[str, float] = {}
        self.report_monthly = True  # indicators and data collection every month (see `run`)
        self._compute_indicators(returners=0)
        self.datacollector = mesa.DataCollector(
            model_reporters={key: (lambda m, k=key: m.flat_indicators[k]) for key in self.flat_indicators}
        )

    # ------------------------------------------------------------------ set-up
    def _land_share(self) -> np.ndarray:
        """Each labour member's share of household land kept at the origin, relative to the
        land per worker that gave the pre-relocation income (docs/MODEL.md 7.1)."""
        pop, s = self.pop, self.config
        n_workers = np.bincount(pop.household, weights=self.labour, minlength=pop.n_households)
        per_worker = pop.land_mu / np.maximum(n_workers, 1)
        c = s.community
        reference = s.origin.reference_land_mu_per_person * c.relocated_population / c.relocated_labour_force
        return per_worker[pop.household] / reference

    def _economy(self) -> Economy:
        """Wages, costs and local posts of the labour market itself; policies add to them monthly."""
        s = self.config
        wage = np.zeros(N_OPTIONS)
        local = s.local_pay_index  # the county's pay level, from its minimum wage
        wage[Option.LOCAL_INDUSTRY] = s.wages.local_industry * local
        wage[Option.LOCAL_SERVICES] = s.wages.local_services * local
        wage[Option.OUT_OF_COUNTY] = s.wages.out_of_county
        # posts open with the arrival waves: the density applies to the labour of the households moved in so far
        pop = self.pop
        arrived = pop.active | ~pop.relocated
        workers = int((self.planned_labour & arrived[pop.household]).sum())
        capacity = np.full(N_OPTIONS, np.inf)
        capacity[Option.LOCAL_INDUSTRY] = round(s.labour_demand.industry_posts_per_100_workers * workers / 100)
        capacity[Option.LOCAL_SERVICES] = round(s.labour_demand.services_posts_per_100_workers * workers / 100)
        capacity[Option.PUBLIC_WELFARE] = 0  # public-welfare and workshop posts come from policies
        capacity[Option.WORKSHOP] = 0
        c = s.community
        farm_base = (
            s.origin.farm_income_ratio * c.income_before_yuan * c.relocated_population / c.relocated_labour_force / 12
        )
        a, b = s.population.skill_beta_a, s.population.skill_beta_b
        return Economy(
            wage=wage,
            casual_wage=s.wages.casual_local * local,
            living_cost_out=s.wages.living_cost_out_of_county,
            migration_cost=s.choice.migration_cost_yuan,
            capacity=capacity,
            job_finding_out=s.labour_demand.out_of_county_job_finding_rate,
            farm_base=farm_base,
            skill_reference=a / (a + b),
        )

    # ------------------------------------------------------------------ the month
    @property
    def month(self) -> int:
        """Months simulated so far."""
        return self.steps

    def view(self) -> MonthView:
        """A read-only view of the model for the policies' hooks."""
        return MonthView(self)

    def step(self) -> None:
        """Advance one month."""
        if self.month > 1 and (self.month - 1) % 12 == 0:
            self._demographic_year()
        self._arrivals()
        self._policies_start_month()
        self.shocks.draw(self.month, self.pop)
        returners = self._choose_work()
        self._apply_placements()
        self._learn()
        self._account_income()
        self._social_month()
        self._going_back()
        self.policies.book(self.view())
        if self.report_monthly:
            self._compute_indicators(returners)
            self.datacollector.collect(self)

    def run(self, months: int | None = None, final_only: bool = False) -> None:
        """Run `months` steps (the scenario's length by default). `final_only` computes the
        indicators in the last month only (the calibration needs no others): nothing in the
        dynamics reads them, so the final month is the same, about a third faster."""
        n = self.config.months if months is None else months
        try:
            for k in range(n):
                self.report_monthly = not final_only or k == n - 1
                self.step()
        finally:
            self.report_monthly = True

    def _demographic_year(self) -> None:
        """A year of demography (`simulation.demography`; ageing alone when it is off)."""
        pop, s = self.pop, self.config
        if s.demography.enabled:
            events = demographic_year(pop, s, self.rng)
        else:
            pop.age[pop.present] += 1
            events = YearEvents()
        self.year_events = events
        t = self.demography_totals
        t["births"] += events.births
        t["deaths"] += events.deaths
        t["marriages"] += events.marriages
        t["new_households"] += events.new_households
        t["moved_out"] += events.married_out + 2 * events.couples_left
        for h in events.formed:
            self.households.add(Household(self, int(h)))
        if self.social is not None and events.formed.size:
            self.social.join(events.formed, events.formed_from)
        self._people_changed()

    def _arrivals(self) -> None:
        """Households of this month's arrival wave move in and look for work."""
        pop = self.pop
        arriving = ~pop.active & (pop.cohort > 0) & (pop.arrival_month == self.month - 1) & (pop.size > 0)
        if not arriving.any():
            return
        pop.active |= arriving
        self.arrived_share = self._arrived_share()
        self.base_economy = self._economy()
        self._people_changed()
        self.force_review |= self.labour & arriving[pop.household]

    def _arrived_share(self) -> float:
        """Share of the relocated labour force (as planned at set-up) whose household has moved in:
        posts that policies fund open in this proportion as the waves arrive."""
        pop = self.pop
        relocated = self.planned_labour & pop.relocated[pop.household]
        total = int(relocated.sum())
        return float((relocated & pop.active[pop.household]).sum() / total) if total else 1.0

    def _people_changed(self) -> None:
        """After people were born, died, moved in or out: the labour force, who works,
        who cares, and land per worker."""
        pop = self.pop
        self._age_structure = None
        self.labour = labour_mask(pop, self.config.population)
        self.labour_members = np.flatnonzero(self.labour)
        self._count_people()
        self.member_relocated = pop.relocated[pop.household]
        gone = ~self.labour
        self._stop_work(gone)
        self.self_employed &= self.labour
        assign_care_duties(pop, self.config, self.labour)
        self.land_share = self._land_share()

    def _count_people(self) -> None:
        """Per household, what changes only when people do: labour-force members and
        pensioners (read every month by the income accounts and the indicators; counted
        here once instead of over every member slot each month)."""
        pop = self.pop
        self.labour_per_household = np.bincount(pop.household[self.labour_members], minlength=pop.n_households)
        self.labour_village = pop.village[pop.household[self.labour_members]]  # fellow villagers' work (ties off)
        self.pensioners = pension_count(pop, self.config.income.pension_age)

    def _policies_start_month(self) -> None:
        """Apply what the policies ask at the start of the month: ended posts, skill
        changes, business owners, and this month's posts and wages."""
        pop, policies = self.pop, self.policies
        view = self.view()
        released = policies.any_of("released", view, pop.n_members)
        change = policies.sum_of("skill_change", view, (pop.n_members,))
        if change.any():
            pop.skill[:] = np.clip(pop.skill + change, 0.0, 1.0)
        owners = policies.any_of("self_employed", self.view(), pop.n_members) & self.labour
        released &= ~owners
        self._stop_work(released)
        self.force_review |= released
        pop.option[owners] = Option.LOCAL_SERVICES  # a small service business of one's own
        self.self_employed = owners
        view = self.view()
        posts, wage = policies.demand(view)
        posts = np.round(posts * self.arrived_share)  # the policies' posts open with the arrival waves
        economy_wage = np.where(np.isnan(wage), self.base_economy.wage, wage)
        self.economy = Economy(
            **{**self.base_economy.__dict__, "wage": economy_wage, "capacity": self.base_economy.capacity + posts}
        )
        self.reserved = policies.any_of("reserved", view, pop.n_members) & self.labour
        self._release_excess_posts()

    def _release_excess_posts(self) -> None:
        """Where an option has fewer posts than holders (a policy ended or shrank), the
        excess holders, drawn at random, lose their posts and look for work this month
        (ranked by a draw keyed by member, so the main stream is not touched)."""
        held = self.posts_held()
        over = np.flatnonzero(held > self.economy.capacity)
        for option in over:
            holders = np.flatnonzero(self._shared_holders() & (self.pop.option == option))
            excess = int(held[option] - max(self.economy.capacity[option], 0))
            lose = np.zeros(self.pop.n_members, dtype=bool)
            rank = np.argsort(self.keyed.uniform(self.month, Purpose.RELEASE, holders), kind="stable")
            lose[holders[rank[:excess]]] = True
            self._stop_work(lose)
            self.force_review |= lose

    def _stop_work(self, members: np.ndarray) -> None:
        """The members leave their work: not working, holding no reserved post."""
        self.pop.option[members] = Option.NOT_WORKING
        self.reserved &= ~members
        self.contribution[members] = 0.0

    def _shared_holders(self) -> np.ndarray:
        """Members who hold posts of the shared capacity: not their own business, not a reserved post."""
        return self.labour & ~self.self_employed & ~self.reserved

    def _contact_shares(self, seekers: np.ndarray) -> np.ndarray:
        """Share of each seeker's contacts in each option: tied households' labour when the
        ties submodel is on, otherwise fellow villagers in the labour force."""
        pop = self.pop
        if self.social is not None:
            return contact_shares(self.social, pop, household_option_counts(pop, self.labour_members), seekers)
        workers = self.labour_members
        n_v = pop.n_villages + 1
        counts = np.bincount(self.labour_village * N_OPTIONS + pop.option[workers], minlength=n_v * N_OPTIONS)
        counts = counts.reshape(n_v, N_OPTIONS).astype(float)
        own_village = pop.village[pop.household[seekers]]
        shares = counts[own_village]
        shares[np.arange(seekers.size), pop.option[seekers]] -= 1.0  # not oneself
        total = shares.sum(axis=1, keepdims=True)
        return np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)

    def living_households(self) -> np.ndarray:
        """Relocated households living in the community now (moved in, not gone back)."""
        return self.pop.relocated & self.pop.active & ~self.returned

    def relocated_households(self) -> np.ndarray:
        """Relocated households in the model now, those gone back included (moved in, not dissolved)."""
        return self.pop.relocated & self.pop.active

    def living_members(self) -> np.ndarray:
        """Members of `living_households`."""
        return self.living_households()[self.pop.household]

    def posts_held(self, holders: np.ndarray | None = None) -> np.ndarray:
        """Shared local posts held, by option (own businesses and reserved posts hold none)."""
        w = self.labour_members  # over the labour force only: the same posts, fewer slots to look at
        mask = ~self.self_employed[w] & ~self.reserved[w]
        if holders is not None:
            mask &= holders[w]
        return occupied_posts(self.pop.option[w], mask)

    def zero_employment(self) -> np.ndarray:
        """Per household: has labour, but no labour member works."""
        pop = self.pop
        workers = self.labour_members  # counted over the labour force, not every member slot
        hh = pop.household[workers]
        n_work = np.bincount(hh[pop.option[workers] != Option.NOT_WORKING], minlength=pop.n_households)
        return (self.labour_per_household > 0) & (n_work == 0)

    def _choose_work(self) -> int:
        """Separations, reviews and the batched choice. Returns out-of-county returners."""
        s, pop, rng = self.config, self.pop, self.rng
        workers = self.labour_members
        option = pop.option[workers]
        first_month = self.month == 1
        fixed = self.self_employed[workers]  # business owners do not separate (their business fails or not)
        # This month's draws, one set per labour-force member whether or not the member
        # needs it (the labour force does not depend on policies): a member keeps the same
        # draws when a policy changes what others do, so paired runs of two scenarios differ
        # by what the policy does, not by reshuffled luck. Indexed by position in `workers`.
        draws = rng.random((5, workers.size))
        noise = rng.random((workers.size, N_OPTIONS), dtype=np.float32)
        # separations: posts end; out-of-county jobs end (reserved posts end by their policy's rule)
        u_sep = draws[0]
        in_capped = IS_CAPPED[option] & ~fixed & ~self.reserved[workers]
        was_out = option == Option.OUT_OF_COUNTY
        separated = (in_capped & (u_sep < s.labour_demand.separation_rate_local)) | (
            was_out & (u_sep < s.labour_demand.separation_rate_out_of_county)
        )
        # shocks end out-of-county jobs too: unpaid wages, the first month of a bad year
        arrears, bad_year = self.shocks.separations(self.month, out_of_county(pop, self.labour))
        by_shock = (arrears | bad_year)[workers] & ~fixed
        if arrears.any():
            owed = member_earnings(
                s,
                self.economy,
                pop.education[arrears],
                pop.skill[arrears],
                self.land_share[arrears],
                pop.distance_km[pop.household[arrears]],
                pop.female[arrears],
            )[:, Option.OUT_OF_COUNTY]
            mid_share = 0.5 * (s.wages.remittance_share_min + s.wages.remittance_share_max)
            self.shocks.book_unpaid(pop, np.flatnonzero(arrears), owed * mid_share)
        separated |= by_shock
        self.shock_separated = np.zeros(pop.n_members, dtype=bool)
        self.shock_separated[workers[by_shock]] = True
        self.shocks.mark_hit(pop, self.month, self.shock_separated)
        option = np.where(separated, Option.NOT_WORKING, option).astype(np.int8)
        pop.option[workers] = option
        self.contribution[workers[separated]] = 0.0
        # who reviews
        u_rev = draws[1]
        # a reserved post is a stopgap: its holder looks for other work as often as someone without work
        searching = (option == Option.NOT_WORKING) | self.reserved[workers]
        rate = np.where(searching, s.choice.review_rate_not_working, s.choice.review_rate)
        seeking = first_month | separated | (u_rev < rate) | self.force_review[workers]
        self.force_review[:] = False
        at = np.flatnonzero(seeking)  # the seekers' positions in `workers` (and in the draws)
        seekers = workers[at]
        view = self.view()
        # priority: the policies' scores (e.g. zero-employment households first), then a lottery
        lottery = draws[2, at]
        score = self.policies.sum_of("priority", view, (seekers.size,), seekers)
        # whole-number scores: one float key sorts as (-score, lottery), faster than lexsort
        whole = np.array_equal(score, np.floor(score))
        order = np.argsort(lottery - score) if whole else np.lexsort((lottery, -score))
        at, seekers = at[order], seekers[order]
        seeker_was_out = was_out[at]
        current = pop.option[seekers]
        # utilities
        hh = pop.household[seekers]
        back = self.returned[hh]
        distance = np.where(back, 0.0, pop.distance_km[hh])  # households that went back live at the origin
        earn = member_earnings(
            s,
            self.economy,
            pop.education[seekers],
            pop.skill[seekers],
            self.land_share[seekers],
            distance,
            pop.female[seekers],
        )
        demolished = ~back & self.policies.demolished(view)[hh]
        shares = self._contact_shares(seekers)
        relocated = pop.relocated[hh]
        u = utilities(
            s,
            earn,
            current=current,
            was_out=seeker_was_out & (current == Option.OUT_OF_COUNTY),
            age=pop.age[seekers].astype(float),
            care_duty=pop.care_duty[seekers].astype(float),
            distance_km=distance,
            demolished=demolished,
            relocated=relocated,
            contact_shares=shares,
            inertia_on=not first_month,
        )
        u += self.policies.sum_of("utility_terms", view, u.shape, seekers, earn)
        money_terms = self.policies.sum_of("money_terms", view, u.shape, seekers, earn)  # yuan a month
        u += s.choice.income_per_1000_yuan * money_terms / 1000.0
        if back.any():
            u[back] = np.where(IS_LEFT_BEHIND, -np.inf, u[back])  # they live at the origin now
        # the household's order of choosing: by the best pay open to each (docs/MODEL.md 7.11)
        potential = np.where(np.isfinite(u), earn, -np.inf).max(axis=1) if s.choice.household_strategy else earn[:, 0]
        # out-of-county search: newcomers find a job outside with a monthly probability,
        # higher when contacts already work outside (chain migration, with ties)
        p_find = self.economy.job_finding_out + self.policies.sum_of("job_finding", view, (seekers.size,), seekers)
        if self.social is not None:
            p_find = p_find + s.ties.chain_migration * shares[:, Option.OUT_OF_COUNTY]
        p_find = p_find * self.shocks.job_finding_factor(self.month)  # a bad year for outside work
        finds_out = draws[3, at] < np.minimum(p_find, 1.0)
        u[~finds_out & (current != Option.OUT_OF_COUNTY), Option.OUT_OF_COUNTY] = -np.inf
        gumbel = noise[at]  # Gumbel noise from the uniforms, -log(-log(x)), computed in place
        np.maximum(gumbel, np.float32(1e-30), out=gumbel)
        np.log(gumbel, out=gumbel)
        np.negative(gumbel, out=gumbel)
        np.log(gumbel, out=gumbel)
        u -= gumbel
        # a reserved post or one's own business is kept unless something else ranks above
        # it (a reserved post without the switching cost: a stopgap holds no one back); it
        # is open to no one else
        own = self.reserved[seekers] | self.self_employed[seekers]
        holders = np.zeros(pop.n_members, dtype=bool)
        holders[workers] = True
        holders[seekers] = False  # (reserved posts and businesses hold no shared post)
        vacancies = self.economy.capacity - self.posts_held(holders)
        entering = ~(seeker_was_out & (current == Option.OUT_OF_COUNTY))
        choice, keep = self._household_choices(
            u, earn, money_terms, potential, seekers, current, entering, own, vacancies
        )
        self.reserved[seekers[~keep & own]] = False  # left the reserved post
        self.self_employed[seekers[~keep & own]] = False  # closed the business for other work
        # new out-of-county jobs get a sector
        newly_out = (choice == Option.OUT_OF_COUNTY) & (current != Option.OUT_OF_COUNTY)
        sector_draw = draws[4, at] < s.wages.out_of_county_industry_share
        pop.out_sector_industry[seekers[newly_out]] = sector_draw[newly_out]
        pop.option[seekers] = choice
        returners = seeker_was_out & (choice != Option.OUT_OF_COUNTY) & self.member_relocated[seekers]
        n_returners = int(returners.sum())
        self.return_migrants += n_returners
        return n_returners

    def _household_choices(
        self,
        u: np.ndarray,
        earn: np.ndarray,
        money_terms: np.ndarray,
        potential: np.ndarray,
        seekers: np.ndarray,
        current: np.ndarray,
        entering: np.ndarray,
        own: np.ndarray,
        vacancies: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """This month's choice of each seeker (rows in priority order) and whether they kept
        a post or business of their own. `money_terms`: the policies' money beyond earnings
        (yuan a month); `potential`: the best pay open to each.

        With the household strategy (docs/MODEL.md 7.11) a household's seekers choose in
        turns, one batched pass over all households per turn (holders of their own post or
        business first, then the highest earning potential): each values money at the
        household's marginal utility of income given what its other members bring in, as
        they stand after the earlier turns. Without it everyone chooses in one pass at the
        weight of a sole earner. A post or business of one's own is kept unless something
        else ranks above it (a reserved post without the switching cost: a stopgap holds no
        one back); it is no shared post, so leaving it frees none.
        """
        s, pop = self.config, self.pop
        c = s.choice
        hh = pop.household[seekers]
        strategy = c.household_strategy
        turn = household_turns(hh, own, potential) if strategy else np.zeros(seekers.size, dtype=np.int64)
        weighted = strategy and c.income_curvature > 0
        if weighted:
            workers = self.labour_members
            brought = np.bincount(
                pop.household[workers], weights=self.contribution[workers], minlength=pop.n_households
            )
            money = (earn + money_terms) / 1000.0  # the money in the utility, per unit of the income weight
            money[entering, Option.OUT_OF_COUNTY] -= c.migration_cost_yuan / 1000.0 / c.planning_horizon_months
            share_sent = 0.5 * (s.wages.remittance_share_min + s.wages.remittance_share_max)
            aim = s.wages.remittance_target_yuan / 12.0  # the income a person the household aims at
        choice = np.empty(seekers.size, dtype=np.int8)
        keep = np.zeros(seekers.size, dtype=bool)
        turns = int(turn.max()) + 1 if turn.size else 0
        for t in range(turns):
            rows = np.flatnonzero(turn == t) if turns > 1 else np.arange(seekers.size)
            ut = u[rows]
            if weighted:
                who = seekers[rows]
                others = (brought[hh[rows]] - self.contribution[who]) / np.maximum(pop.size[hh[rows]], 1)
                w = income_weight(others, c.subsistence_yuan_person_month, aim, c.income_curvature)
                ut += (c.income_per_1000_yuan * (w - 1.0))[:, None] * money[rows]
            cur = current[rows]
            kept = np.zeros(rows.size, dtype=bool)
            mine = np.flatnonzero(own[rows])
            if mine.size:
                stopgap = self.reserved[seekers[rows[mine]]] & (self.month != 1)
                kept_value = ut[mine, cur[mine]] - np.where(stopgap, c.inertia, 0.0)
                ut[mine, cur[mine]] = -np.inf
                kept[mine] = kept_value >= ut[mine].max(axis=1)
            chosen = serial_dictatorship(ut, np.maximum(vacancies, 0))
            chosen[kept] = cur[kept]
            vacancies = vacancies - np.bincount(chosen[~kept], minlength=N_OPTIONS)
            choice[rows], keep[rows] = chosen, kept
            if weighted and t + 1 < turns:  # what the later turns see this member bring in
                new = np.maximum(earn[rows, chosen], 0.0) * np.where(chosen == Option.OUT_OF_COUNTY, share_sent, 1.0)
                new[chosen == Option.NOT_WORKING] = 0.0
                brought[hh[rows]] += new - self.contribution[who]  # one row per household in a turn
                self.contribution[who] = new
        return choice, keep

    def _apply_placements(self) -> None:
        """Place the members policies ask to place: vacant shared posts first, in the
        order given, then posts the policy creates (kept for them alone)."""
        pop = self.pop
        for unit, placement in self.policies.placements(self.view()):
            members = placement.members[pop.option[placement.members] == Option.NOT_WORKING]
            created = np.zeros(members.size, dtype=bool)
            start = 0
            for option in placement.options:
                free = int(max(0.0, self.economy.capacity[option] - self.posts_held()[option]))
                take = members[start : start + free]
                pop.option[take] = option
                start += take.size
            if placement.fallback is not None and start < members.size:
                pop.option[members[start:]] = placement.fallback
                created[start:] = True
                self.reserved[members[start:]] = True
            placed = members if placement.fallback is not None else members[:start]
            unit.placed(self.view(), placed, created[: placed.size])

    def _learn(self) -> None:
        """Skills grow with work: fastest outside the county (return migrants bring them back)."""
        pop, c = self.pop, self.config.choice
        w = self.labour_members  # only the labour force works
        option = pop.option[w]
        out = option == Option.OUT_OF_COUNTY
        local = (option == Option.LOCAL_INDUSTRY) | (option == Option.LOCAL_SERVICES) | (option == Option.WORKSHOP)
        gain = (out * c.skill_gain_out_of_county_per_year + local * c.skill_gain_local_per_year) / 12.0
        pop.skill[w] = np.minimum(pop.skill[w] + gain, 1.0)
        pop.months_out_total[w] += out

    def _account_income(self) -> None:
        """Earnings in the chosen option, pensions, policy transfers, and the costs of living in town."""
        s, pop = self.config, self.pop
        workers = self.labour_members[pop.option[self.labour_members] != Option.NOT_WORKING]
        distance = np.where(self.returned, 0.0, pop.distance_km)[pop.household[workers]]
        earn = member_earnings(
            s,
            self.economy,
            pop.education[workers],
            pop.skill[workers],
            self.land_share[workers],
            distance,
            pop.female[workers],
            by_option=True,
        )
        view = self.view()
        member_earn = np.zeros(pop.n_members)
        member_earn[workers] = self.policies.earnings(view, workers, earn)
        shocks = self.shocks
        if s.shocks.enabled:
            # a bad harvest takes part of the farm income; a member in hospital earns nothing this month
            option = pop.option[workers]
            farm_part = np.where(option == Option.FARMING_ORIGIN, 1.0, 0.0) + np.where(
                option == Option.PART_TIME, s.origin.part_time_farm_fraction, 0.0
            )
            hit = shocks.crop_loss(pop, self.month)[pop.household[workers]]
            member_earn[workers] -= (
                hit * s.shocks.crop_loss_share * farm_part * self.economy.farm_base * self.land_share[workers]
            )
            member_earn[shocks.ill] = 0.0
        out = workers[pop.option[workers] == Option.OUT_OF_COUNTY]
        pay = member_earn[out].copy()
        member_earn[out] = 0.0
        earnings, pension = earnings_and_pensions(
            pop,
            member_earn,
            s.income.pension_yuan_month,
            s.income.pension_age,
            earners=workers,
            pensioners=self.pensioners,
        )
        # only remittances reach the household, and they respond to what it needs
        sent = remittances(pop, out, pay, earnings + pension, s.wages)
        member_earn[out] = sent
        self.contribution[:] = 0.0
        self.contribution[workers] = np.maximum(member_earn[workers], 0.0)
        self.remitted = np.bincount(pop.household[out], weights=sent, minlength=pop.n_households)
        earnings = earnings + self.remitted
        earnings = np.maximum(earnings - shocks.unpaid, 0.0)  # wages owed that never came
        self.living_costs = destination_costs(pop, self.living_households(), self.labour_members, s.living_costs)
        costs = self.living_costs
        transfers = self.policies.transfers(view, earnings + pension)
        self.household_income = HouseholdIncome(earnings, pension, transfers, costs, shocks.medical)
        self.income_per_capita = per_capita_annual(self.household_income.total, pop.size)
        self.net_income_per_capita = per_capita_annual(self.household_income.net, pop.size)
        self.flows.update(self.household_income.net, pop.size, s.income.poverty_line_yuan, pop.active)

    def _social_month(self) -> None:
        """Ties form and fade (ties submodel on), and integration is updated."""
        s, pop = self.config, self.pop
        counts = household_option_counts(pop, self.labour_members)
        self.integration = economic_integration(pop, counts)
        social = self.social
        if social is None:
            return
        participation = self.policies.activity_participation(self.view(), s.ties.activity_participation)
        update_ties(
            social, s, pop, self.labour, counts, participation, self.returned | ~pop.active, self.keyed, self.month
        )
        refresh_tie_flags(social, pop)
        self.integration = self.integration + social_integration(social, pop)
        every, at_end = s.ties.metrics_every_months, s.ties.metrics_at_end
        if (every and self.month % every == 0) or (at_end and self.month == s.months):
            self._network_metrics()

    def _going_back(self) -> None:
        """Some households go back to the origin (docs/MODEL.md 7.8); their members leave
        work in the community and choose again next month."""
        pop = self.pop
        view = self.view()
        chance = going_back_chance(
            self.config,
            self.integration,
            self.net_income_per_capita,
            self.policies.demolished(view),
            pop.land_mu / np.maximum(pop.size, 1),
            self.policies.product_of("going_back_factor", view, pop.n_households),
        )
        leaving = self.living_households() & (self.rng.random(pop.n_households) < chance)
        if not leaving.any():
            return
        self.returned |= leaving
        members = leaving[pop.household] & self.labour
        self._stop_work(members & IS_LEFT_BEHIND[pop.option] & ~self.self_employed)
        self.force_review |= members & ~self.self_employed

    def _network_metrics(self) -> None:
        """Clustering and largest-component share, on a networkx graph built for the purpose."""
        import networkx as nx

        graph = self.social.network.to_networkx()
        n = graph.number_of_nodes()
        largest = max((len(c) for c in nx.connected_components(graph)), default=0)
        self.network_metrics = {
            "clustering": float(nx.average_clustering(graph)) if n else float("nan"),
            "largest_component_share": largest / n if n else float("nan"),
        }

    def social_graph(self):
        """The ties as a networkx Graph, with household attributes for analysis and drawing.

        Node attributes: relocated, origin_village, building, ethnic_group, integration,
        returned, income_per_capita, size, main_work (the option most of its labour
        force is in), and the count of its labour in each option (`work_<option>`).
        Edge attributes: strength (0-1) and kind (village, neighbour, coworker, activity).
        """
        if self.social is None:
            raise RuntimeError("the ties submodel is off (ties.enabled = false): there is no social graph")
        pop, social = self.pop, self.social
        counts = household_option_counts(pop, self.labour_members)
        main = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), Option.NOT_WORKING)
        attrs = {
            "relocated": pop.relocated,
            "origin_village": pop.village,
            "building": social.building,
            "ethnic_group": social.ethnicity,
            "integration": self.integration,
            "returned": self.returned,
            "income_per_capita": self.income_per_capita,
            "size": pop.size,
            "main_work": np.array(OPTION_NAMES, dtype=object)[main],
        }
        for j, name in enumerate(OPTION_NAMES):
            attrs[f"work_{name}"] = counts[:, j]
        return social.network.to_networkx(attrs)

    # ------------------------------------------------------------------ indicators
    def _compute_indicators(self, returners: int) -> None:
        """All indicators of this month (`simulation.indicators.INDICATORS` declares each).

        Work is counted over relocated households living in the community (the survey's
        population); income and poverty over all relocated households, those gone back
        included (the headline, free of survivorship bias), and also over those living in
        the community. Poverty is judged on income net of the costs of living in town.
        Indicators that do not apply (ties off) are NaN.
        """
        pop, s = self.pop, self.config
        living = self.living_households()
        members = self.labour_members[living[pop.household[self.labour_members]]]
        option = pop.option[members].astype(np.int64)
        out_ind = pop.out_sector_industry[members]
        counts, ind = grouped_counts(np.zeros(members.size, dtype=np.int64), 1, option, out_ind)
        shares = {k: float(v[0]) for k, v in employment_shares(counts, ind).items()}
        line = s.income.poverty_line_yuan
        zero = self.zero_employment()[living]
        with_labour = int((self.labour_per_household[living] > 0).sum())
        carers = pop.care_duty[members]
        ind_dict: dict = {
            "month": self.month,
            "labour_force": int(members.size),
            "employed": int(members.size - counts[0, Option.NOT_WORKING]),
            **shares,
            **self._income_indicators(self.relocated_households(), line, ""),
            **self._income_indicators(living, line, "_in_community"),
            "zero_employment_households": int(zero.sum()),
            "zero_employment_share": float(zero.sum() / with_labour) if with_labour else float("nan"),
            "carers_near_home_work": float(IS_NEAR_HOME[option[carers]].mean()) if carers.any() else float("nan"),
            "carers_out_of_county": (
                float((option[carers] == Option.OUT_OF_COUNTY).mean()) if carers.any() else float("nan")
            ),
            "out_of_county_workers": int(counts[0, Option.OUT_OF_COUNTY]),
            "returners": int(returners),
            "return_migrants_cumulative": int(self.return_migrants),
            "public_welfare_posts_filled": int(counts[0, Option.PUBLIC_WELFARE]),
            "integration_index": float(self.integration[living].mean()) if living.any() else float("nan"),
            "returned_households": int(self.returned.sum()),
            **self._flow_indicators(),
            **self._demography_indicators(members, option),
            **self.policies.indicators(self.view()),
        }
        if self.social is not None:
            ind_dict.update(tie_indicators(self.social, pop, living))
            ind_dict.update(self.network_metrics)
        ages = age_group(pop.age[members])
        edu = pop.education[members].astype(np.int64)
        ind_dict["by_age_group"] = group_breakdown(ages, BREAKDOWNS["by_age_group"], option, out_ind)
        ind_dict["by_education"] = group_breakdown(edu, EDUCATION_NAMES, option, out_ind)
        ind_dict["by_arrival"] = self._cohort_indicators(members, option, line)
        flat = flatten(ind_dict)
        undeclared = flat.keys() - INDICATORS.names()
        if undeclared:
            raise RuntimeError(f"indicators not declared in simulation.indicators.INDICATORS: {sorted(undeclared)}")
        self.indicators = ind_dict
        self.flat_indicators = {name: flat.get(name, float("nan")) for name in INDICATORS.names()}

    def _demography_indicators(self, members: np.ndarray, option: np.ndarray) -> dict[str, float]:
        """People, births and deaths, the age structure, crowding, who cares, and the
        women among out-of-county workers (`members`: the relocated labour force in the
        community, `option` their work)."""
        pop = self.pop
        params = self.config.population
        if self._age_structure is None:  # the people and their ages change only when `_people_changed` runs
            people = pop.members_now() & pop.relocated[pop.household]
            age = pop.age[people]
            n = max(int(people.sum()), 1)
            working_age = (age >= params.working_age_min) & (age <= params.working_age_max)
            self._age_structure = {
                "people": int(people.sum()),
                "children_under_6": int((age < 6).sum()),
                "share_aged_0_14": float((age < 15).sum() / n),
                "share_aged_60_plus": float((age >= 60).sum() / n),
                "share_aged_65_plus": float((age >= 65).sum() / n),
                "dependency_ratio": float((~working_age).sum() / max(int(working_age.sum()), 1)),
            }
        living = self.living_households()
        carers = np.flatnonzero(pop.care_duty)
        carers = carers[living[pop.household[carers]]]
        out = members[option == Option.OUT_OF_COUNTY]
        t, ev = self.demography_totals, self.year_events
        return {
            **self._age_structure,
            "relocated_households": int(self.relocated_households().sum()),
            "births_last_year": ev.births,
            "deaths_last_year": ev.deaths,
            "births_total": t["births"],
            "deaths_total": t["deaths"],
            "new_households_total": t["new_households"],
            "moved_out_total": t["moved_out"],
            "overcrowded_households": int((living & (pop.size > pop.flat_people)).sum()),
            "grandparent_carers": int((pop.age[carers] > params.working_age_max).sum()),
            "women_share_out_of_county": float(pop.female[out].mean()) if out.size else float("nan"),
            **self._worker_ages(members, option, out),
        }

    def _worker_ages(self, members: np.ndarray, option: np.ndarray, out: np.ndarray) -> dict[str, float]:
        """Age make-up of out-of-county and local non-farm workers (held out from the
        calibration as a check against national migrant-worker monitoring, data/holdout.toml)."""
        age = self.pop.age
        local = members[IS_LOCAL_NON_FARM[option]]
        out_age = age[out].astype(float)
        mean_out = float(out_age.mean()) if out.size else float("nan")
        mean_local = float(age[local].mean()) if local.size else float("nan")
        return {
            "mean_age_out_of_county": mean_out,
            "share_over_50_out_of_county": float((out_age > 50).mean()) if out.size else float("nan"),
            "mean_age_local_nonfarm": mean_local,
            "age_gap_local_nonfarm_minus_out_of_county": mean_local - mean_out,
        }

    def _cohort_indicators(self, members: np.ndarray, option: np.ndarray, line: float) -> dict[str, dict[str, float]]:
        """The main indicators for each arrival wave (households gone back included for
        income and poverty, as in the headline; work over those living in the community)."""
        pop = self.pop
        n = len(COHORTS)
        households = self.relocated_households()
        h_wave = pop.cohort[households].astype(np.int64)
        size = pop.size[households].astype(float)
        poor = self.net_income_per_capita[households] < line
        n_h = np.bincount(h_wave, minlength=n)
        people = np.bincount(h_wave, weights=size, minlength=n)
        poor_people = np.bincount(h_wave, weights=size * poor, minlength=n)
        income = np.bincount(h_wave, weights=self.income_per_capita[households] * size, minlength=n)
        wave = pop.cohort[pop.household[members]].astype(np.int64)
        by_option = np.bincount(wave * N_OPTIONS + option, minlength=n * N_OPTIONS).reshape(-1, N_OPTIONS)
        n_lab = by_option.sum(axis=1)
        employed = n_lab - by_option[:, Option.NOT_WORKING]
        out = by_option[:, Option.OUT_OF_COUNTY]
        with np.errstate(invalid="ignore", divide="ignore"):
            values = {
                "households": n_h[:n],
                "poverty_rate": np.where(people > 0, poor_people / people, np.nan)[:n],
                "income_per_capita_mean": np.where(people > 0, income / people, np.nan)[:n],
                "employment_rate": np.where(n_lab > 0, employed / n_lab, np.nan)[:n],
                "share_out_of_county": np.where(employed > 0, out / employed, np.nan)[:n],
            }
        return {
            name: {key: (int(v[k]) if key == "households" else float(v[k])) for key, v in values.items()}
            for k, name in enumerate(COHORTS)
        }

    def _flow_indicators(self) -> dict[str, float]:
        """Poverty as flows, on income over the last twelve months, over all relocated
        households (those gone back included): entries, exits, falling back, at risk."""
        pop, flows, income = self.pop, self.flows, self.config.income
        relocated = self.relocated_households()
        size = pop.size[relocated].astype(float)
        annual = flows.annual_per_capita[relocated]
        people = size.sum()
        at_risk = (annual >= income.poverty_line_yuan) & (annual < income.monitoring_line_yuan)
        return {
            "poverty_rate_annual": float(size[flows.poor[relocated]].sum() / people) if people else float("nan"),
            "poverty_entries": int(flows.entries[relocated].sum()),
            "poverty_exits": int(flows.exits[relocated].sum()),
            "fell_back_households": int(flows.fell_back[relocated].sum()),
            "fell_back_cumulative": int(flows.fell_back_ever[relocated].sum()),
            "at_risk_households": int(at_risk.sum()),
            "shocked_households": int(self.shocks.hit[relocated].sum()),
        }

    def start_bad_year(self) -> None:
        """A bad year for work outside the county begins next month (the teaching app's
        button; a scenario schedules one with `shocks.bad_year_month`)."""
        self.shocks.start_bad_year(self.month + 1)

    def _income_indicators(self, households: np.ndarray, line: float, suffix: str) -> dict[str, float]:
        """Income per person (mean, person-weighted median) and poverty (income net of the
        costs of living in town below the line) over `households`."""
        size = self.pop.size[households].astype(float)
        pc = self.income_per_capita[households]
        people = size.sum()
        poor = self.net_income_per_capita[households] < line
        out = {
            f"income_per_capita_mean{suffix}": float((pc * size).sum() / people) if people else float("nan"),
            f"poverty_rate{suffix}": float(size[poor].sum() / people) if people else float("nan"),
        }
        if not suffix:
            out["income_per_capita_median"] = weighted_median(pc, size)
            out["households_in_poverty"] = int(poor.sum())
        return out


__all__ = ["SHARE_KEYS", "Household", "ResettlementModel"]
