"""Uniform draws addressed by what they are for, not by the order they are drawn in.

A draw from a `numpy.random.Generator` depends on how many draws came before it. Where
the number of draws depends on the state (meetings of the households present, one draw
per tie, the holders of posts that end), two paired runs of different scenarios that
differ in one household's work then differ in every later draw of every household, and
a paired comparison measures reshuffled luck as well as the policy. Here each draw is a
hash of (the model's key, month, purpose, unit): the same unit in the same month gets
the same number whatever else happened (counter-based random numbers, Salmon et al.
2011; the mixing function is SplitMix64's finaliser, Steele, Lea & Flood 2014). The key
is drawn once from a stream spawned from the model's seeded Generator, so a run remains
a function of the scenario and the seed. docs/MODEL.md, "Random numbers".
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15  # the golden-ratio increment of SplitMix64
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
SLOT_BITS = 8  # meetings per unit and month are numbered 0-255 within a unit's index
MAX_SLOTS = 1 << SLOT_BITS


class Purpose(IntEnum):
    """What a draw decides: each purpose has a key of its own every month."""

    NEIGHBOUR_COUNT = 0
    NEIGHBOUR_PARTNER = 1
    NEIGHBOUR_ACCEPT = 2
    COWORKER_COUNT = 3
    COWORKER_PARTNER = 4
    COWORKER_ACCEPT = 5
    PARTICIPATION = 6
    ACTIVITY_COUNT = 7
    ACTIVITY_PARTNER = 8
    ACTIVITY_ACCEPT = 9
    CONTACT = 10
    RELEASE = 11


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place on a uint64 array (a bijection that scrambles bits)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def _mix_int(x: int) -> int:
    """The same finaliser on a Python integer (for keys)."""
    x &= _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class KeyedDraws:
    """Uniform numbers in [0, 1) per (month, purpose, unit index), from one root key."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.root = int(rng.integers(0, np.iinfo(np.uint64).max, dtype=np.uint64, endpoint=True))

    def key(self, month: int, purpose: int) -> int:
        """The key of one purpose in one month."""
        return _mix_int(self.root + (month * len(Purpose) + int(purpose) + 1) * _GAMMA)

    def uniform(self, month: int, purpose: int, index: np.ndarray) -> np.ndarray:
        """One number per index (non-negative integers; distinct indices get unrelated numbers).

        The index is spread over 64 bits (times the golden-ratio odd constant), xor-ed with
        the key and mixed: an index of another month or purpose coincides with this one only
        by a chance of one in 2^22 per index, never as a shifted run of indices, as adding
        the key would give.
        """
        index = np.asarray(index)
        z = (index.view(np.uint64) if index.dtype == np.int64 else index.astype(np.uint64)) * np.uint64(_GAMMA)
        z ^= np.uint64(self.key(month, purpose))
        _mix(z)
        z >>= _S11
        u = z.astype(np.float64)
        u *= 1.0 / (1 << 53)
        return u


def poisson_counts(rate: float, u: np.ndarray) -> np.ndarray:
    """Poisson(rate) counts from uniforms by the inverse distribution function (capped at
    MAX_SLOTS - 1, beyond a tail of 1e-12 for the rates the schema allows)."""
    k = np.arange(MAX_SLOTS - 1)
    log_pmf = -rate + k * np.log(max(rate, 1e-300)) - np.cumsum(np.log(np.maximum(k, 1)))
    cdf = np.cumsum(np.exp(log_pmf))
    return np.searchsorted(cdf, u, side="right").astype(np.int64)


def meetings(
    draws: KeyedDraws, month: int, purpose: Purpose, rate: float, units: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit meets Poisson(rate) others this month (count drawn under `purpose`).

    Returns the unit repeated per meeting and each meeting's index (unit and meeting
    number), under which the meeting's own draws (partner, acceptance) are keyed.
    """
    if units.size == 0 or rate <= 0:
        return units[:0], np.zeros(0, dtype=np.uint64)
    counts = poisson_counts(rate, draws.uniform(month, purpose, units))
    unit = np.repeat(units, counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    number = np.arange(unit.size) - first
    return unit, (unit.astype(np.uint64) << np.uint64(SLOT_BITS)) | number.astype(np.uint64)
