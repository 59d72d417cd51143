"""The resettlement community model: Mesa agents as thin handles over numpy state.

One call to `ResettlementModel.step()` is one month:

1. ageing and labour-force entry/exit (once a year);
2. job separations; who reviews their work this month;
3. the batched work choice of all seekers (logit draw, posts filled in priority order);
4. skills, return flow, incomes, transfers and poverty;
5. indicators, collected by the DataCollector.

The model does no I/O and prints nothing.
"""

from __future__ import annotations

import mesa
import numpy as np

from scenarios.schema import Scenario

from .income import HouseholdIncome, household_income, per_capita_annual
from .indicators import (
    BREAKDOWNS,
    INDICATORS,
    SHARE_KEYS,
    employment_shares,
    flatten,
    group_breakdown,
    grouped_counts,
    weighted_median,
)
from .labour import Economy, member_earnings, occupied_posts, serial_dictatorship, utilities
from .options import (
    EDUCATION_NAMES,
    IS_CAPPED,
    LOCAL_NON_FARM,
    N_OPTIONS,
    OPTION_NAMES,
    Option,
    age_group,
    option_table,
)
from .policies import PolicyEngine
from .population import Population, assign_care_duties, generate_population, labour_mask
from .social import (
    SocialState,
    contact_shares,
    going_back,
    household_option_counts,
    init_social,
    integration_index,
    refresh_tie_flags,
    tie_indicators,
    update_ties,
)

LEFT_BEHIND_ON_RETURN = (*LOCAL_NON_FARM, Option.PART_TIME)  # work a household gives up by going back
IS_LEFT_BEHIND = option_table(LEFT_BEHIND_ON_RETURN)


class Household(mesa.Agent):
    """A household: a Mesa agent whose numbers live in the model's arrays."""

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
        """Member indices into the model's member arrays."""
        return np.arange(self._pop.start[self.index], self._pop.start[self.index + 1])

    @property
    def work(self) -> list[str]:
        """This month's option of each labour-force member."""
        m = self.members
        return [OPTION_NAMES[o] for o in self._pop.option[m][self.model.labour[m]]]

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
    def integration(self) -> float | None:
        """Integration index, 0-1 (None without the ties submodel)."""
        social = self.model.social
        return None if social is None else float(social.integration[self.index])

    @property
    def returned(self) -> bool:
        """Went back to the origin."""
        social = self.model.social
        return False if social is None else bool(social.returned[self.index])


class ResettlementModel(mesa.Model):
    """One resettlement community, month by month.

    Args:
        scenario: validated parameters; the built-in baseline if omitted.
        seed: seed of the model's numpy Generator; the scenario's seed if omitted.
    """

    def __init__(self, scenario: Scenario | None = None, *, seed: int | None = None) -> None:
        scenario = scenario if scenario is not None else Scenario()
        super().__init__(rng=scenario.simulation.seed if seed is None else seed)
        self.config = scenario
        self.pop = generate_population(scenario, self.rng)
        pop = self.pop
        n_h = pop.n_households
        self.households = Household.create_agents(self, n_h, index=np.arange(n_h))
        self.member_relocated = pop.relocated[pop.household]
        self.labour = labour_mask(pop, scenario.population)
        self.land_share = self._land_share()
        self.base_economy = self._economy()
        self.economy = self.base_economy
        self.policy = PolicyEngine(scenario, n_h, pop.n_members, self.rng)
        self.social: SocialState | None = init_social(scenario, pop, self.rng) if scenario.ties.enabled else None
        self.force_review = np.zeros(pop.n_members, dtype=bool)
        self.income_per_capita = np.zeros(n_h)
        self.household_income: HouseholdIncome | None = None
        self.return_migrants = 0
        self.network_metrics = {"clustering": float("nan"), "largest_component_share": float("nan")}
        self.indicators: dict = {}
        self.flat_indicators: dict[str, float] = {}
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
        """Wages, costs and local posts at the start (policies may change them later)."""
        s = self.config
        wage = np.zeros(N_OPTIONS)
        wage[Option.LOCAL_INDUSTRY] = s.wages.local_industry
        wage[Option.LOCAL_SERVICES] = s.wages.local_services
        wage[Option.OUT_OF_COUNTY] = s.wages.out_of_county
        workers = int(self.labour.sum())
        capacity = np.full(N_OPTIONS, np.inf)
        capacity[Option.LOCAL_INDUSTRY] = round(s.labour_demand.industry_posts_per_100_workers * workers / 100)
        capacity[Option.LOCAL_SERVICES] = round(s.labour_demand.services_posts_per_100_workers * workers / 100)
        capacity[Option.PUBLIC_WELFARE] = 0  # welfare posts come from the policy
        c = s.community
        farm_base = (
            s.origin.farm_income_ratio * c.income_before_yuan * c.relocated_population / c.relocated_labour_force / 12
        )
        a, b = s.population.skill_beta_a, s.population.skill_beta_b
        return Economy(
            wage=wage,
            casual_wage=s.wages.casual_local,
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

    def step(self) -> None:
        """Advance one month."""
        if self.month > 1 and (self.month - 1) % 12 == 0:
            self._age_one_year()
        self.policy.start_month()
        self.economy = self.policy.economy(self.base_economy, self.month)
        self.policy.before_choice(self)
        returners = self._choose_work()
        self._learn()
        self._account_income()
        if self.social is not None:
            self._social_month()
        self.policy.account(self)
        self._compute_indicators(returners)
        self.datacollector.collect(self)

    def run(self, months: int | None = None) -> None:
        """Run `months` steps (the scenario's length by default)."""
        for _ in range(self.config.months if months is None else months):
            self.step()

    def _age_one_year(self) -> None:
        """Everyone ages a year; leavers of the labour force stop working; carers change."""
        pop, params = self.pop, self.config.population
        pop.age += 1
        self.labour = labour_mask(pop, params)
        pop.option[~self.labour] = Option.NOT_WORKING
        assign_care_duties(pop, params, self.rng)
        self.land_share = self._land_share()

    def _contact_shares(self, seekers: np.ndarray) -> np.ndarray:
        """Share of each seeker's contacts in each option: tied households' labour when the
        ties submodel is on, otherwise fellow villagers in the labour force."""
        pop = self.pop
        if self.social is not None:
            return contact_shares(self.social, pop, household_option_counts(pop, self.labour), seekers)
        workers = np.flatnonzero(self.labour)
        village = pop.village[pop.household[workers]]
        n_v = pop.n_villages + 1
        counts = np.bincount(village * N_OPTIONS + pop.option[workers], minlength=n_v * N_OPTIONS)
        counts = counts.reshape(n_v, N_OPTIONS).astype(float)
        own_village = pop.village[pop.household[seekers]]
        shares = counts[own_village]
        shares[np.arange(seekers.size), pop.option[seekers]] -= 1.0  # not oneself
        total = shares.sum(axis=1, keepdims=True)
        return np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)

    def living_households(self) -> np.ndarray:
        """Relocated households still living in the community (not gone back)."""
        living = self.pop.relocated.copy()
        if self.social is not None:
            living &= ~self.social.returned
        return living

    def living_members(self) -> np.ndarray:
        """Members of `living_households`."""
        return self.living_households()[self.pop.household]

    def posts_held(self, holders: np.ndarray | None = None) -> np.ndarray:
        """Local posts held, by option (self-employed business owners hold none)."""
        mask = self.labour & ~self.policy.entrepreneur
        if holders is not None:
            mask &= holders
        return occupied_posts(self.pop.option, mask)

    def zero_employment(self) -> np.ndarray:
        """Per household: has labour, but no labour member works."""
        pop = self.pop
        n_h = pop.n_households
        n_lab = np.bincount(pop.household, weights=self.labour, minlength=n_h)
        working = self.labour & (pop.option != Option.NOT_WORKING)
        n_work = np.bincount(pop.household, weights=working, minlength=n_h)
        return (n_lab > 0) & (n_work == 0)

    def _choose_work(self) -> int:
        """Separations, reviews and the batched choice. Returns out-of-county returners."""
        s, pop, rng = self.config, self.pop, self.rng
        workers = np.flatnonzero(self.labour)
        option = pop.option[workers]
        first_month = self.month == 1
        own_business = self.policy.entrepreneur[workers]  # business owners neither separate nor review
        # separations: posts end; out-of-county jobs end
        u_sep = rng.random(workers.size)
        in_capped = IS_CAPPED[option] & ~own_business
        was_out = option == Option.OUT_OF_COUNTY
        separated = (in_capped & (u_sep < s.labour_demand.separation_rate_local)) | (
            was_out & (u_sep < s.labour_demand.separation_rate_out_of_county)
        )
        option = np.where(separated, Option.NOT_WORKING, option).astype(np.int8)
        pop.option[workers] = option
        # who reviews
        u_rev = rng.random(workers.size)
        rate = np.where(option == Option.NOT_WORKING, s.choice.review_rate_not_working, s.choice.review_rate)
        seeking = (first_month | separated | (u_rev < rate) | self.force_review[workers]) & ~own_business
        self.force_review[:] = False
        seekers = workers[seeking]
        # priority: members of zero-employment households first (if the rule is on), then a lottery
        lottery = rng.random(seekers.size)
        if s.policies.public_welfare_jobs.priority_zero_employment:
            zero = self.zero_employment()[pop.household[seekers]]
            order = np.lexsort((lottery, ~zero))
        else:
            order = np.argsort(lottery)
        seekers = seekers[order]
        seeker_was_out = was_out[seeking][order]
        current = pop.option[seekers]
        # utilities
        hh = pop.household[seekers]
        back = self.social.returned[hh] if self.social is not None else np.zeros(seekers.size, dtype=bool)
        distance = np.where(back, 0.0, pop.distance_km[hh])  # households that went back live at the origin
        earn = member_earnings(
            s, self.economy, pop.education[seekers], pop.skill[seekers], self.land_share[seekers], distance
        )
        demolished = ~back & (self.month > s.transition_months)
        shares = self._contact_shares(seekers)
        age = pop.age[seekers].astype(float)
        relocated = pop.relocated[hh]
        p_find, migration_cost = self.policy.search_terms(self.month, seekers, age, relocated, self.economy)
        u = utilities(
            s,
            earn,
            current=current,
            was_out=seeker_was_out & (current == Option.OUT_OF_COUNTY),
            migration_cost=migration_cost,
            age=age,
            care_duty=self.policy.care_weight(self.month, seekers, pop.care_duty[seekers]),
            distance_km=distance,
            demolished=demolished,
            relocated=relocated,
            contact_shares=shares,
            inertia_on=not first_month,
        )
        if back.any():
            u[np.ix_(back, list(LEFT_BEHIND_ON_RETURN))] = -np.inf
        # out-of-county search: newcomers find a job outside with a monthly probability,
        # higher when contacts already work outside (chain migration, with ties)
        welfare = s.policies.public_welfare_jobs
        if welfare.active(self.month) and welfare.zero_employment_encouragement:
            zero_seekers = self.zero_employment()[hh]
            u[zero_seekers & relocated, Option.PUBLIC_WELFARE] += welfare.zero_employment_encouragement
        if self.social is not None:
            p_find = np.minimum(1.0, p_find + s.ties.chain_migration * shares[:, Option.OUT_OF_COUNTY])
        finds_out = rng.random(seekers.size) < p_find
        u[~finds_out & (current != Option.OUT_OF_COUNTY), Option.OUT_OF_COUNTY] = -np.inf
        u += rng.gumbel(size=u.shape)
        holders = np.zeros(pop.n_members, dtype=bool)
        holders[workers] = True
        holders[seekers] = False
        vacancies = np.maximum(self.economy.capacity - self.posts_held(holders), 0)
        choice = serial_dictatorship(u, vacancies)
        # new out-of-county jobs get a sector
        newly_out = (choice == Option.OUT_OF_COUNTY) & (current != Option.OUT_OF_COUNTY)
        sector_draw = rng.random(seekers.size) < s.wages.out_of_county_industry_share
        pop.out_sector_industry[seekers[newly_out]] = sector_draw[newly_out]
        changed = choice != current
        pop.months_in_option[workers] += 1
        pop.months_in_option[seekers[changed]] = 0
        pop.option[seekers] = choice
        returners = seeker_was_out & (choice != Option.OUT_OF_COUNTY) & self.member_relocated[seekers]
        n_returners = int(returners.sum())
        self.return_migrants += n_returners
        self.policy.after_choice(self, seekers[newly_out])
        return n_returners

    def _learn(self) -> None:
        """Skills grow with work: fastest outside the county (return migrants bring them back)."""
        pop, c = self.pop, self.config.choice
        out = pop.option == Option.OUT_OF_COUNTY
        local = (pop.option == Option.LOCAL_INDUSTRY) | (pop.option == Option.LOCAL_SERVICES)
        pop.skill += (out * c.skill_gain_out_of_county_per_year + local * c.skill_gain_local_per_year) / 12.0
        np.minimum(pop.skill, 1.0, out=pop.skill)
        pop.months_out_total += out

    def _account_income(self) -> None:
        """Earnings in the chosen option, then household income with transfers."""
        s, pop = self.config, self.pop
        workers = np.flatnonzero(self.labour & (pop.option != Option.NOT_WORKING))
        hh = pop.household[workers]
        distance = pop.distance_km[hh]
        if self.social is not None:
            distance = np.where(self.social.returned[hh], 0.0, distance)
        earn = member_earnings(
            s, self.economy, pop.education[workers], pop.skill[workers], self.land_share[workers], distance
        )
        member_earn = np.zeros(pop.n_members)
        member_earn[workers] = earn[np.arange(workers.size), pop.option[workers]]
        out = workers[pop.option[workers] == Option.OUT_OF_COUNTY]
        member_earn[out] *= s.wages.remittance_share  # only remittances reach the household
        owners = np.flatnonzero(self.policy.entrepreneur & self.labour)
        if owners.size and self.economy.wage[Option.LOCAL_SERVICES] > 0:
            # a supported business earns its own income, with the same returns to schooling and skill
            member_earn[owners] *= (
                s.policies.startup_support.business_income_yuan_month / self.economy.wage[Option.LOCAL_SERVICES]
            )
        rules = self.policy.income_rules(self)
        self.household_income = household_income(
            pop, member_earn, rules, s.income.pension_yuan_month, s.income.pension_age
        )
        self.income_per_capita = per_capita_annual(self.household_income.total, pop.size)

    def _social_month(self) -> None:
        """Ties form and fade, integration is updated, and some households go back."""
        s, pop, social = self.config, self.pop, self.social
        assert social is not None
        counts = household_option_counts(pop, self.labour)
        participation = self.policy.activity_participation(self.month, s.ties.activity_participation)
        update_ties(social, s, pop, self.labour, counts, participation, self.rng)
        refresh_tie_flags(social, pop)
        social.integration = integration_index(social, pop, counts)
        demolished = self.month > s.transition_months
        leaving = going_back(social, s, pop, self.income_per_capita, demolished, self.rng)
        if leaving.any():
            members = leaving[pop.household] & self.labour
            gives_up = members & IS_LEFT_BEHIND[pop.option]
            pop.option[gives_up] = Option.NOT_WORKING
            self.force_review |= members
        every, at_end = s.ties.metrics_every_months, s.ties.metrics_at_end
        if (every and self.month % every == 0) or (at_end and self.month == s.months):
            self._network_metrics()

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
        counts = household_option_counts(pop, self.labour)
        main = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), Option.NOT_WORKING)
        attrs = {
            "relocated": pop.relocated,
            "origin_village": pop.village,
            "building": social.building,
            "ethnic_group": social.ethnicity,
            "integration": social.integration,
            "returned": social.returned,
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
        the community. Indicators that do not apply (ties off) are NaN.
        """
        pop, s = self.pop, self.config
        living = self.living_households()
        members = np.flatnonzero(self.labour & living[pop.household])
        option = pop.option[members].astype(np.int64)
        out_ind = pop.out_sector_industry[members]
        counts, ind = grouped_counts(np.zeros(members.size, dtype=np.int64), 1, option, out_ind)
        shares = {k: float(v[0]) for k, v in employment_shares(counts, ind).items()}
        line = s.income.poverty_line_yuan
        zero = self.zero_employment()[living]
        n_lab_h = np.bincount(pop.household, weights=self.labour, minlength=pop.n_households)[living]
        with_labour = int((n_lab_h > 0).sum())
        ind_dict: dict = {
            "month": self.month,
            "labour_force": int(members.size),
            "employed": int(members.size - counts[0, Option.NOT_WORKING]),
            **shares,
            **self._income_indicators(pop.relocated, line, ""),
            **self._income_indicators(living, line, "_in_community"),
            "zero_employment_households": int(zero.sum()),
            "zero_employment_share": float(zero.sum() / with_labour) if with_labour else float("nan"),
            "out_of_county_workers": int(counts[0, Option.OUT_OF_COUNTY]),
            "returners": int(returners),
            "return_migrants_cumulative": int(self.return_migrants),
            "public_welfare_posts_filled": int(counts[0, Option.PUBLIC_WELFARE]),
            **self.policy.indicators(),
        }
        if self.social is not None:
            ind_dict.update(tie_indicators(self.social, pop))
            ind_dict.update(self.network_metrics)
        ages = age_group(pop.age[members])
        edu = pop.education[members].astype(np.int64)
        ind_dict["by_age_group"] = group_breakdown(ages, BREAKDOWNS["by_age_group"], option, out_ind)
        ind_dict["by_education"] = group_breakdown(edu, EDUCATION_NAMES, option, out_ind)
        flat = flatten(ind_dict)
        undeclared = flat.keys() - INDICATORS.names()
        if undeclared:
            raise RuntimeError(f"indicators not declared in simulation.indicators.INDICATORS: {sorted(undeclared)}")
        self.indicators = ind_dict
        self.flat_indicators = {name: flat.get(name, float("nan")) for name in INDICATORS.names()}

    def _income_indicators(self, households: np.ndarray, line: float, suffix: str) -> dict[str, float]:
        """Income per person (mean, person-weighted median) and poverty over `households`."""
        size = self.pop.size[households].astype(float)
        pc = self.income_per_capita[households]
        people = size.sum()
        poor = pc < line
        out = {
            f"income_per_capita_mean{suffix}": float((pc * size).sum() / people) if people else float("nan"),
            f"poverty_rate{suffix}": float(size[poor].sum() / people) if people else float("nan"),
        }
        if not suffix:
            out["income_per_capita_median"] = weighted_median(pc, size)
            out["households_in_poverty"] = int(poor.sum())
        return out


__all__ = ["SHARE_KEYS", "Household", "ResettlementModel"]
