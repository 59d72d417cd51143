"""Keyed draws: addressed by month, purpose and unit; uniform; Poisson meeting counts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulation.keyed import MAX_SLOTS, SLOT_BITS, KeyedDraws, Purpose, meetings, poisson_counts


def draws(seed: int = 1) -> KeyedDraws:
    return KeyedDraws(np.random.default_rng(seed))


def test_a_draw_depends_on_its_address_only():
    d = draws()
    index = np.arange(10_000)
    u = d.uniform(5, Purpose.CONTACT, index)
    perm = np.random.default_rng(0).permutation(index.size)
    assert np.array_equal(d.uniform(5, Purpose.CONTACT, index[perm]), u[perm])  # order of asking is irrelevant
    assert np.array_equal(d.uniform(5, Purpose.CONTACT, index[::7]), u[::7])  # so is who else is asked
    assert np.array_equal(draws(1).uniform(5, Purpose.CONTACT, index), u)  # same seed, same numbers
    assert not np.array_equal(draws(2).uniform(5, Purpose.CONTACT, index), u)
    # another month, another purpose: unrelated numbers
    for other in (d.uniform(6, Purpose.CONTACT, index), d.uniform(5, Purpose.RELEASE, index)):
        assert abs(np.corrcoef(u, other)[0, 1]) < 0.03
        assert (other != u).all()


def test_draws_are_uniform_and_serially_unrelated():
    d = draws(3)
    for month, purpose in ((1, Purpose.NEIGHBOUR_COUNT), (120, Purpose.CONTACT), (7, Purpose.RELEASE)):
        u = d.uniform(month, purpose, np.arange(200_000))
        assert ((u >= 0) & (u < 1)).all()
        assert stats.kstest(u, "uniform").pvalue > 1e-3
        assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01  # neighbouring indices
        # the same index over months (a tie's contact draws month after month)
    one_tie = np.array([d.uniform(m, Purpose.CONTACT, np.array([123_456]))[0] for m in range(1, 2001)])
    assert stats.kstest(one_tie, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(one_tie[:-1], one_tie[1:])[0, 1]) < 0.08
    # large indices (tie keys src * n + dst) are as good
    big = d.uniform(2, Purpose.CONTACT, np.arange(200_000) * 1_000_003 + 99_999)
    assert stats.kstest(big, "uniform").pvalue > 1e-3


@given(st.floats(0.0, 30.0))
@settings(max_examples=40, deadline=None)
def test_poisson_counts_are_the_inverse_distribution_function(rate):
    u = np.linspace(0.0005, 0.9995, 400)
    got = poisson_counts(rate, u)
    expected = stats.poisson.ppf(u, rate)
    # equal except where u sits on a step (floating point of the two cumulative sums)
    assert (got == expected).mean() > 0.99
    assert (got < MAX_SLOTS).all()


def test_poisson_counts_have_poisson_moments():
    u = draws(4).uniform(1, Purpose.NEIGHBOUR_COUNT, np.arange(400_000))
    for rate in (0.3, 1.0, 4.0):
        k = poisson_counts(rate, u)
        assert abs(k.mean() - rate) < 0.01 * max(rate, 1)
        assert abs(k.var() - rate) < 0.03 * max(rate, 1)


def test_meetings_number_each_units_meetings():
    d = draws(5)
    units = np.array([3, 10, 11, 400])
    unit, at = meetings(d, 2, Purpose.ACTIVITY_COUNT, 6.0, units)
    counts = poisson_counts(6.0, d.uniform(2, Purpose.ACTIVITY_COUNT, units))
    assert np.array_equal(unit, np.repeat(units, counts))
    assert np.array_equal(at >> np.uint64(SLOT_BITS), unit.astype(np.uint64))
    number = (at & np.uint64(MAX_SLOTS - 1)).astype(np.int64)
    assert np.array_equal(number, np.concatenate([np.arange(c) for c in counts]))
    # a unit's meetings do not depend on who else meets
    _, at_alone = meetings(d, 2, Purpose.ACTIVITY_COUNT, 6.0, units[2:3])
    assert np.array_equal(at_alone, at[unit == 11])
    empty, none = meetings(d, 2, Purpose.ACTIVITY_COUNT, 0.0, units)
    assert empty.size == 0 and none.size == 0
