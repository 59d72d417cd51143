"""The ties submodel: who lives where, how ties form and fade, and integration.

Batched over households and ties; the network itself is a `TieNetwork`. Rules in words:
docs/MODEL.md, section 7.7. Going back to the origin is its own submodel
(`simulation.going_back`); ties change its rate through integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .keyed import KeyedDraws, Purpose, meetings
from .network import TieKind, TieNetwork, pairs_within_groups, random_partner_in_block
from .options import IS_LOCAL_NON_FARM, LOCAL_NON_FARM, N_OPTIONS, Option
from .population import Population

if TYPE_CHECKING:
    from scenarios.schema import Scenario

# Integration index weights (a definition, documented in docs/MODEL.md 7.7)
BRIDGING_WEIGHT, LOCAL_TIE_WEIGHT, WORK_WEIGHT = 0.5, 0.2, 0.3
BRIDGING_SCALE = 3.0  # strength-weighted bridging ties at which the bridging part is 63 % full
STRENGTH_TOLERANCE = np.float32(1e-4)  # a tie this weak has faded to 0 (rounding of float32 steps)


@dataclass
class SocialState:
    """Where households live and whom they know."""

    network: TieNetwork
    building: np.ndarray  # int32 per household
    ethnicity: np.ndarray  # int16 per household
    origin_group: np.ndarray  # int32 per household: origin village, locals one group
    away: np.ndarray  # int16 per household: consecutive months with most labour outside
    participates: np.ndarray  # bool per household: in community activities this month
    building_order: np.ndarray  # households sorted by building (buildings do not change)
    cross_origin: np.ndarray | None = None  # per tie, refreshed by `refresh_tie_flags`
    local_tie: np.ndarray | None = None  # per household, refreshed by `refresh_tie_flags`

    def join(self, households: np.ndarray, parents: np.ndarray) -> None:
        """New households set up by couples: in the parents' building (assumption), of the
        parents' origin and ethnic group, with a kin tie to the parents' household."""
        self.building[households] = self.building[parents]
        self.ethnicity[households] = self.ethnicity[parents]
        self.origin_group[households] = self.origin_group[parents]
        self.building_order = np.argsort(self.building, kind="stable")
        self.network.add(households, parents, np.full(households.size, TieKind.VILLAGE))


def allocate_buildings(scenario: Scenario, pop: Population, rng: np.random.Generator) -> np.ndarray:
    """Flats: village-clustered (villagers fill buildings together) or mixed at random.

    Long-standing local residents live in their own buildings after the new ones.
    """
    t = scenario.ties
    reloc = np.flatnonzero(pop.relocated)
    if t.allocation == "village_clustered":
        village_rank = rng.permutation(pop.n_villages + 1)[pop.village[reloc]]
        order = reloc[np.lexsort((rng.random(reloc.size), village_rank))]
    else:
        order = rng.permutation(reloc)
    building = np.zeros(pop.n_households, dtype=np.int32)
    building[order] = np.arange(order.size) // t.households_per_building
    n_reloc_buildings = (order.size + t.households_per_building - 1) // t.households_per_building
    locals_ = np.flatnonzero(~pop.relocated)
    building[locals_] = n_reloc_buildings + np.arange(locals_.size) // t.households_per_building
    return building


def init_social(scenario: Scenario, pop: Population, rng: np.random.Generator) -> SocialState:
    """Buildings, ethnic groups by origin village, and the initial village ties."""
    t = scenario.ties
    n_h = pop.n_households
    building = allocate_buildings(scenario, pop, rng)
    minority = rng.random(pop.n_villages + 1) >= t.ethnic_majority_share
    group_of_village = np.where(minority, rng.integers(1, max(t.ethnic_groups, 2), pop.n_villages + 1), 0)
    if t.ethnic_groups == 1:
        group_of_village[:] = 0
    group_of_village[pop.n_villages] = 0  # long-standing residents: the local majority
    ethnicity = group_of_village[pop.village].astype(np.int16)
    # kin and fellow villagers; long-standing residents know their own building's neighbours
    origin_group = np.where(pop.relocated, pop.village, pop.n_villages + 1 + building).astype(np.int64)
    network = TieNetwork(n_h)
    u, v = pairs_within_groups(origin_group, t.village_tie_density, rng)
    kinds = np.where(pop.relocated[u], TieKind.VILLAGE, TieKind.NEIGHBOUR)
    network.add(u, v, kinds)
    state = SocialState(
        network=network,
        building=building,
        ethnicity=ethnicity,
        origin_group=np.where(pop.relocated, pop.village, pop.n_villages).astype(np.int32),
        away=np.zeros(n_h, dtype=np.int16),
        participates=np.zeros(n_h, dtype=bool),
        building_order=np.argsort(building, kind="stable"),
    )
    refresh_tie_flags(state, pop)
    return state


def household_option_counts(pop: Population, labour: np.ndarray) -> np.ndarray:
    """(households, N_OPTIONS): labour-force members of each household by option
    (`labour`: a mask over member slots, or member indices)."""
    workers = labour if labour.dtype != bool else np.flatnonzero(labour)
    flat = pop.household[workers].astype(np.int64) * N_OPTIONS + pop.option[workers]
    return np.bincount(flat, minlength=pop.n_households * N_OPTIONS).reshape(pop.n_households, N_OPTIONS)


def contact_shares(state: SocialState, pop: Population, counts: np.ndarray, seekers: np.ndarray) -> np.ndarray:
    """Share of each seeker's contacts (labour members of tied households, by tie strength) in each option.

    Args:
        counts: `household_option_counts` of this month.
    """
    around = state.network.neighbour_sum(counts.astype(float))[pop.household[seekers]]
    total = around.sum(axis=1, keepdims=True)
    return np.divide(around, total, out=np.zeros_like(around), where=total > 0)


def _accept(
    state: SocialState, u: np.ndarray, v: np.ndarray, homophily: float, p: float, draw: np.ndarray
) -> np.ndarray:
    """Whether a meeting of u and v becomes a tie (`draw`: one uniform per meeting): same
    origin always may; across origin villages the chance falls by half the homophily,
    across ethnic groups by all of it."""
    same_origin = state.origin_group[u] == state.origin_group[v]
    same_ethnic = state.ethnicity[u] == state.ethnicity[v]
    factor = np.where(same_origin, 1.0, np.where(same_ethnic, 1.0 - 0.5 * homophily, 1.0 - homophily))
    return draw < p * factor


def update_ties(
    state: SocialState,
    scenario: Scenario,
    pop: Population,
    labour: np.ndarray,
    counts: np.ndarray,
    participation: float,
    returned: np.ndarray,
    draws: KeyedDraws,
    month: int,
) -> None:
    """One month of tie formation (neighbours, co-workers, activities) and fading.

    Every draw is keyed by the household, member or tie it decides (`simulation.keyed`),
    so a household meets the same people in two paired runs unless its own state differs.

    Args:
        counts: `household_option_counts` after this month's choice.
        participation: share of households in community activities this month.
        returned: bool per household, gone back to the origin (takes no part).
    """
    t = scenario.ties
    net = state.network
    present = ~returned
    homes = np.flatnonzero(present)
    # who is away: most of the household's labour outside the county
    n_lab = counts.sum(axis=1)
    mostly_out = (n_lab > 0) & (2 * counts[:, Option.OUT_OF_COUNTY] > n_lab)
    state.away = np.where(mostly_out, state.away + 1, 0).astype(np.int16)
    away = (state.away >= t.away_months) | returned
    # neighbours in the same building
    u, at = meetings(draws, month, Purpose.NEIGHBOUR_COUNT, t.neighbour_meetings_per_month, homes)
    v = random_partner_in_block(
        u, state.building, draws.uniform(month, Purpose.NEIGHBOUR_PARTNER, at), order=state.building_order
    )
    accept = draws.uniform(month, Purpose.NEIGHBOUR_ACCEPT, at)
    ok = _accept(state, u, v, t.homophily, t.formation_probability, accept) & present[v]
    net.add(u[ok], v[ok], TieKind.NEIGHBOUR)
    # co-workers: local workers meet others in the same local sector (keyed by member)
    local_workers = np.flatnonzero(labour & IS_LOCAL_NON_FARM[pop.option] & present[pop.household])
    worker, at = meetings(draws, month, Purpose.COWORKER_COUNT, t.coworker_meetings_per_month, local_workers)
    position = np.searchsorted(local_workers, worker)
    partner = random_partner_in_block(
        position, pop.option[local_workers], draws.uniform(month, Purpose.COWORKER_PARTNER, at)
    )
    hu, hv = pop.household[worker], pop.household[local_workers[partner]]
    ok = _accept(state, hu, hv, t.homophily, t.formation_probability, draws.uniform(month, Purpose.COWORKER_ACCEPT, at))
    net.add(hu[ok], hv[ok], TieKind.COWORKER)
    # community activities
    households = np.arange(pop.n_households)
    state.participates = present & (draws.uniform(month, Purpose.PARTICIPATION, households) < participation)
    joined = np.flatnonzero(state.participates)
    a, at = meetings(draws, month, Purpose.ACTIVITY_COUNT, t.activity_meetings_per_month, joined)
    if joined.size > 1:
        pick = np.floor(draws.uniform(month, Purpose.ACTIVITY_PARTNER, at) * joined.size).astype(np.int64)
        b = joined[pick]
        ok = _accept(
            state, a, b, t.homophily, t.formation_probability, draws.uniform(month, Purpose.ACTIVITY_ACCEPT, at)
        )
        net.add(a[ok], b[ok], TieKind.ACTIVITY)
    _fade(state, scenario, pop, counts, away, draws.uniform(month, Purpose.CONTACT, net.key))


def _fade(state: SocialState, scenario: Scenario, pop, counts: np.ndarray, away: np.ndarray, draw: np.ndarray) -> None:
    """Ties in contact this month are refreshed; the others lose 1/memory of strength
    (`draw`: one uniform per tie, keyed by the tie)."""
    t = scenario.ties
    net = state.network
    if len(net) == 0:
        return
    src, dst, kind = net.src, net.dst, net.kind
    p = np.asarray(t.contact_probability.as_tuple())[kind]
    contact = draw < p
    # still co-workers: both households have a local non-farm worker in a common sector
    sectors = np.zeros(pop.n_households, dtype=np.int8)
    for bit, option in enumerate(LOCAL_NON_FARM):
        sectors |= (counts[:, option] > 0).astype(np.int8) << bit
    coworkers = np.flatnonzero(kind == TieKind.COWORKER)  # look up only the ties of each kind
    contact[coworkers] |= (sectors[src[coworkers]] & sectors[dst[coworkers]]) != 0
    activity = np.flatnonzero(kind == TieKind.ACTIVITY)
    contact[activity] |= state.participates[src[activity]] & state.participates[dst[activity]]
    contact &= ~(away[src] | away[dst])
    fade = 1.0 / np.asarray(t.memory_months.as_tuple(), dtype=np.float32)
    net.strength = np.where(contact, np.float32(1.0), net.strength - fade[kind])
    # gone at 0: in float32, 1 - 12 x (1/12) leaves about 7e-8, which kept a tie one month
    # more (and open to contact); a tolerance far below one step of fading drops it
    net.keep(net.strength > STRENGTH_TOLERANCE)


def refresh_tie_flags(state: SocialState, pop: Population) -> None:
    """Per tie: joins different origins; per household: tied to a long-standing local household."""
    net = state.network
    n = pop.n_households
    state.cross_origin = state.origin_group[net.src] != state.origin_group[net.dst]
    reloc_src, reloc_dst = pop.relocated[net.src], pop.relocated[net.dst]
    mixed = reloc_src != reloc_dst
    to_local = np.bincount(net.src[mixed & reloc_src], minlength=n)  # the few mixed ties, counted by index
    to_local += np.bincount(net.dst[mixed & reloc_dst], minlength=n)
    state.local_tie = to_local > 0


def economic_integration(pop: Population, counts: np.ndarray) -> np.ndarray:
    """The economic part of integration, per household: 0.3 x the share of its labour force
    in local non-farm work (economic integration comes first, 000). Defined with ties off too."""
    n_lab = counts.sum(axis=1)
    local_work = counts[:, list(LOCAL_NON_FARM)].sum(axis=1)
    return WORK_WEIGHT * np.divide(local_work, n_lab, out=np.zeros(pop.n_households), where=n_lab > 0)


def social_integration(state: SocialState, pop: Population) -> np.ndarray:
    """The tie parts of integration, per household (needs `refresh_tie_flags`):
    0.5 x (1 - exp(-B / 3)), B = strength-weighted ties to households of other origins,
    + 0.2 if tied to a long-standing local household (docs/MODEL.md 7.7)."""
    net = state.network
    n = pop.n_households
    w = np.where(state.cross_origin, net.strength, np.float32(0.0))
    bridging = np.bincount(net.src, weights=w, minlength=n) + np.bincount(net.dst, weights=w, minlength=n)
    return BRIDGING_WEIGHT * (1 - np.exp(-bridging / BRIDGING_SCALE)) + LOCAL_TIE_WEIGHT * state.local_tie


def tie_indicators(state: SocialState, pop: Population, living: np.ndarray) -> dict[str, float]:
    """Degree, cross-origin ties and ties to long-standing residents of households living there."""
    n_ties = len(state.network)
    return {
        "ties": n_ties,
        "mean_degree": float(2 * n_ties / pop.n_households),
        "cross_origin_tie_share": float(state.cross_origin.mean()) if n_ties else 0.0,
        "local_resident_tie_share": float(state.local_tie[living].mean()) if living.any() else 0.0,
    }
