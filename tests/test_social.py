"""The ties submodel: allocation, initial ties, integration, going back, and its effects."""

from __future__ import annotations

import numpy as np
import pytest

from simulation import ResettlementModel
from simulation.network import TieKind
from simulation.social import economic_integration, init_social, social_integration

from .conftest import small_scenario

SEEDS = (1, 2, 3, 4)


def final(overrides: dict | None = None, *, key: str, years: int = 3) -> np.ndarray:
    values = []
    for seed in SEEDS:
        model = ResettlementModel(small_scenario(overrides, years=years), seed=seed)
        model.run()
        values.append(model.indicators[key])
    return np.array(values, dtype=float)


def test_buildings_are_filled_by_village_or_mixed():
    scenario = small_scenario()
    clustered = ResettlementModel(scenario, seed=1)
    mixed = ResettlementModel(small_scenario({"ties.allocation": "mixed"}), seed=1)

    def villages_per_building(model):
        pop, building = model.pop, model.social.building
        reloc = pop.relocated
        pairs = np.unique(np.c_[building[reloc], pop.village[reloc]], axis=0)
        return pairs.shape[0] / np.unique(building[reloc]).size

    assert villages_per_building(clustered) < 0.5 * villages_per_building(mixed)
    size = scenario.ties.households_per_building
    assert np.bincount(clustered.social.building).max() == size
    locals_ = ~clustered.pop.relocated
    assert not np.isin(clustered.social.building[locals_], clustered.social.building[~locals_]).any()


def test_initial_ties_join_fellow_villagers_only():
    scenario = small_scenario()
    model = ResettlementModel(scenario, seed=2)
    pop, net = model.pop, model.social.network
    village = net.kind == TieKind.VILLAGE
    assert (pop.village[net.src[village]] == pop.village[net.dst[village]]).all()
    social = init_social(scenario, pop, np.random.default_rng(0))
    assert social.cross_origin.sum() == 0  # before anyone meets anyone new
    assert social.local_tie.sum() == 0


def test_integration_index_definition():
    scenario = small_scenario()
    model = ResettlementModel(scenario, seed=3)
    model.run(6)
    social, pop = model.social, model.pop
    from simulation.social import household_option_counts

    counts = household_option_counts(pop, model.labour)
    assert np.array_equal(household_option_counts(pop, model.labour_members), counts)  # indices or mask
    index = economic_integration(pop, counts) + social_integration(social, pop)
    assert (index >= 0).all() and (index <= 1).all()
    stayed = ~model.returned  # a household that went back this month left its local work after the update
    assert np.allclose(index[stayed], model.integration[stayed])
    # a household with no cross-origin tie, no local tie and no local worker scores 0
    net = social.network
    touched = np.zeros(pop.n_households, dtype=bool)
    touched[net.src[social.cross_origin]] = touched[net.dst[social.cross_origin]] = True
    idle = ~touched & (counts[:, [1, 2, 3, 7]].sum(axis=1) == 0) & ~social.local_tie
    assert idle.any() and (index[idle] == 0).all()
    # the economic part is 0.3 x the share of labour in local non-farm work, ties or not
    worker = (counts.sum(axis=1) == 2) & (counts[:, [1, 2, 3, 7]].sum(axis=1) == 1)
    assert worker.any() and np.allclose(economic_integration(pop, counts)[worker], 0.15)


def test_social_graph_has_exactly_the_internal_edges():
    model = ResettlementModel(small_scenario(), seed=4)
    model.run(8)
    graph = model.social_graph()
    net = model.social.network
    assert graph.number_of_nodes() == model.pop.n_households
    assert set(graph.edges()) == set(zip(net.src.tolist(), net.dst.tolist(), strict=True))
    node = graph.nodes[0]
    for attr in ("origin_village", "building", "integration", "main_work", "income_per_capita", "work_out_of_county"):
        assert attr in node
    out = sum(d["work_out_of_county"] for _, d in graph.nodes(data=True))
    assert out == int((model.pop.option[model.labour] == 6).sum()) > 0


def test_ties_off_falls_back_to_fellow_villagers():
    model = ResettlementModel(small_scenario({"ties.enabled": False}), seed=1)
    model.run(3)
    assert model.social is None and "mean_degree" not in model.indicators
    with pytest.raises(RuntimeError, match="ties submodel is off"):
        model.social_graph()


def test_more_community_activities_raise_cross_origin_ties_and_integration():
    for key, minimum in (("cross_origin_tie_share", 0.03), ("integration_index", 0.03)):
        base = final(key=key)
        more = final({"ties.activity_participation": 0.3}, key=key)
        assert (more > base).all() and (more - base).mean() > minimum, (key, base, more)


def test_mixed_allocation_gives_more_cross_origin_ties():
    clustered = final(key="cross_origin_tie_share")
    mixed = final({"ties.allocation": "mixed"}, key="cross_origin_tie_share")
    assert (mixed > clustered).all() and (mixed - clustered).mean() > 0.02


def test_longer_transition_gives_at_least_as_many_returns():
    short = final({"policies.transition_period.years": 0}, key="returned_households")
    long = final({"policies.transition_period.years": 3}, key="returned_households")
    assert (long >= short).all() and long.mean() > 1.5 * short.mean()


def test_returned_households_leave_local_work_and_stay_out_of_the_indicators():
    model = ResettlementModel(small_scenario({"return_to_origin.base_rate": 0.05}), seed=5)
    model.run(12)
    pop = model.pop
    assert model.returned.sum() == model.indicators["returned_households"] > 0
    back = model.returned[pop.household] & model.labour
    assert not np.isin(pop.option[back], [1, 2, 3, 5, 7]).any()
    living = pop.relocated & ~model.returned
    assert model.indicators["labour_force"] == int((model.labour & living[pop.household]).sum())


def test_chain_migration_raises_out_of_county_work():
    base = final({"ties.chain_migration": 0.0}, key="share_out_of_county", years=2)
    chain = final({"ties.chain_migration": 1.0}, key="share_out_of_county", years=2)
    assert (chain > base).all()


def test_network_metrics_come_from_networkx_on_schedule():
    import networkx as nx

    model = ResettlementModel(small_scenario({"ties.metrics_every_months": 3, "ties.metrics_at_end": False}), seed=6)
    model.run(2)
    assert np.isnan(model.indicators["clustering"])
    model.step()
    graph = model.social_graph()
    assert model.indicators["clustering"] == pytest.approx(nx.average_clustering(graph))
    largest = max(len(c) for c in nx.connected_components(graph))
    assert model.indicators["largest_component_share"] == pytest.approx(largest / graph.number_of_nodes())
