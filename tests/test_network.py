"""The tie store: sorted, deduplicated, cheap to merge and query; networkx on demand."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.network import TieKind, TieNetwork, pairs_within_groups, random_partner_in_block

edge_lists = st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=80)


@settings(max_examples=100, deadline=None)
@given(first=edge_lists, second=edge_lists, drop=st.integers(0, 2**32 - 1))
def test_store_matches_a_set_of_pairs(first, second, drop):
    net = TieNetwork(30)
    expected: set[tuple[int, int]] = set()
    for batch in (first, second):
        if batch:
            u, v = np.array(batch).T
            added = net.add(u, v, TieKind.NEIGHBOUR)
            new = {(min(a, b), max(a, b)) for a, b in batch if a != b} - expected
            assert added == len(new)
            expected |= new
    assert set(zip(net.src.tolist(), net.dst.tolist(), strict=True)) == expected
    assert (np.diff(net.key) > 0).all() and (net.src < net.dst).all()
    keep = np.random.default_rng(drop).random(len(net)) < 0.5
    kept = {e for e, k in zip(zip(net.src.tolist(), net.dst.tolist(), strict=True), keep, strict=True) if k}
    net.keep(keep)
    assert set(zip(net.src.tolist(), net.dst.tolist(), strict=True)) == kept
    degree = np.zeros(30, dtype=int)
    for a, b in kept:
        degree[a] += 1
        degree[b] += 1
    assert (net.degree() == degree).all()


def set_strength(net: TieNetwork, u: int, v: int, strength: float) -> None:
    """Set the strength of the tie u-v, found by its two ends (not by its place in the arrays)."""
    (index,) = np.flatnonzero((net.src == min(u, v)) & (net.dst == max(u, v)))
    net.strength[index] = strength


VALUES = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0], [7.0, 7.0]])  # one row per household


def test_neighbour_sum_by_hand_through_merges_removals_and_new_strengths():
    """Each household's strength-weighted sum of its contacts' rows, worked out by hand,
    after ties are merged in, strengths change and ties are dropped (each change must
    reach the cached sparse matrix)."""
    net = TieNetwork(4)
    net.add(np.array([1, 2, 0]), np.array([0, 1, 2]), TieKind.VILLAGE)
    set_strength(net, 0, 1, 0.5)
    set_strength(net, 0, 2, 0.25)
    set_strength(net, 1, 2, 1.0)
    # 0: 0.5 x (0, 2) + 0.25 x (3, 0); 1: 0.5 x (1, 0) + 1 x (3, 0); 2: 0.25 x (1, 0) + 1 x (0, 2); 3: no ties
    assert np.allclose(net.neighbour_sum(VALUES), [[0.75, 1.0], [3.5, 0.0], [0.25, 2.0], [0.0, 0.0]])

    net.add(np.array([3, 2]), np.array([0, 3]), TieKind.NEIGHBOUR)  # merged between the others, strength 1
    # 0 and 2 gain (7, 7); 3 gains (1, 0) + (3, 0)
    assert np.allclose(net.neighbour_sum(VALUES), [[7.75, 8.0], [3.5, 0.0], [7.25, 9.0], [4.0, 0.0]])

    set_strength(net, 2, 3, 0.5)  # a tie weakens: the next sum sees it
    assert np.allclose(net.neighbour_sum(VALUES), [[7.75, 8.0], [3.5, 0.0], [3.75, 5.5], [2.5, 0.0]])

    net.keep(~((net.src == 1) & (net.dst == 2)))  # the tie 1-2 is dropped
    assert np.allclose(net.neighbour_sum(VALUES), [[7.75, 8.0], [0.5, 0.0], [3.75, 3.5], [2.5, 0.0]])


weighted_ties = st.dictionaries(
    st.tuples(st.integers(0, 11), st.integers(0, 11)).filter(lambda p: p[0] != p[1]),
    st.floats(0.05, 1.0),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(ties=weighted_ties, later=weighted_ties, seed=st.integers(0, 2**32 - 1))
def test_neighbour_sum_matches_a_loop_over_the_ties(ties, later, seed):
    """Against a plain dictionary of tie strengths, ties added in two batches (the second
    refreshing some of the first to strength 1)."""
    values = np.random.default_rng(seed).normal(size=(12, 3))
    net = TieNetwork(12)
    expected: dict[tuple[int, int], float] = {}
    for batch in (ties, later):
        if not batch:
            continue
        u, v = np.array(list(batch)).T
        net.add(u, v, TieKind.NEIGHBOUR)
        for (a, b), strength in batch.items():
            pair = (min(a, b), max(a, b))
            expected[pair] = float(np.float32(strength))  # strengths are stored in single precision
        net.neighbour_sum(values)  # builds the cached matrix before the strengths change
        for (a, b), strength in batch.items():
            set_strength(net, a, b, strength)
    total = np.zeros_like(values)
    for (a, b), strength in expected.items():
        total[a] += strength * values[b]
        total[b] += strength * values[a]
    assert np.allclose(net.neighbour_sum(values), total)


def test_existing_ties_are_refreshed_not_duplicated():
    net = TieNetwork(5)
    net.add(np.array([0]), np.array([1]), TieKind.COWORKER)
    net.strength[:] = 0.2
    assert net.add(np.array([1, 1]), np.array([0, 1]), TieKind.ACTIVITY) == 0
    assert len(net) == 1 and net.strength[0] == 1.0 and net.kind[0] == TieKind.COWORKER


def test_to_networkx_has_exactly_the_stored_edges_and_attributes():
    net = TieNetwork(6)
    net.add(np.array([0, 2, 4]), np.array([1, 3, 5]), np.array([0, 1, 3]))
    graph = net.to_networkx({"village": np.array([1, 1, 2, 2, 3, 3])})
    assert graph.number_of_nodes() == 6
    assert set(graph.edges()) == {(0, 1), (2, 3), (4, 5)}
    assert graph.nodes[4]["village"] == 3 and graph.edges[2, 3]["kind"] == "neighbour"
    assert nx.is_isomorphic(graph, nx.Graph([(0, 1), (2, 3), (4, 5)]))


def test_pairs_within_groups_density_and_groups():
    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(200), 5)  # 200 groups of 5: 2,000 possible pairs
    u, v = pairs_within_groups(group, 0.4, rng)
    assert (group[u] == group[v]).all() and (u != v).all()
    assert 0.35 < u.size / 2000 < 0.45
    big = np.zeros(1000, dtype=int)  # one group of 1,000: thinned, about 0.4 x 100 partners each
    u, v = pairs_within_groups(big, 0.4, rng)
    assert u.size == 40_000


def test_random_partner_stays_in_block_and_is_uniform_within_it():
    rng = np.random.default_rng(1)
    block = rng.integers(0, 20, 500)
    members = rng.integers(0, 500, 2000)
    partner = random_partner_in_block(members, block, rng.random(members.size))
    assert (block[partner] == block[members]).all()
    order = np.argsort(block, kind="stable")
    again = random_partner_in_block(members, block, rng.random(members.size), order=order)
    assert (block[again] == block[members]).all()
    # the draw picks the unit: 0 the first of the block, just under 1 the last
    first = random_partner_in_block(members, block, np.zeros(members.size), order=order)
    last = random_partner_in_block(members, block, np.full(members.size, 1 - 1e-12), order=order)
    for m, a, b in zip(members[:50], first[:50], last[:50], strict=True):
        same = np.flatnonzero(block == block[m])
        assert a == same[0] and b == same[-1]
    # uniform within a block of 3 units
    three = np.array([0, 0, 0, 1])
    picks = random_partner_in_block(np.zeros(30_000, dtype=np.int64), three, rng.random(30_000))
    assert np.allclose(np.bincount(picks, minlength=4)[:3] / 30_000, 1 / 3, atol=0.01)
