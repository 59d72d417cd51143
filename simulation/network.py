"""Social ties between households: a sorted edge list as the source of truth.

Ties are undirected and stored once, as `src < dst`, sorted by the key `src * n + dst`, in
parallel arrays (strength and kind). Adding ties is a merge into the
sorted keys; removing them is a boolean compaction that keeps the order; the upper
triangle of the sparse adjacency comes straight from the sorted arrays (no sort), so the
share of contacts in each work option is two sparse products. A `networkx.Graph` is
built only on demand (`to_networkx`), for metrics and drawing.
"""

from __future__ import annotations

from enum import IntEnum

import networkx as nx
import numpy as np
import scipy.sparse as sp


class TieKind(IntEnum):
    """How a tie began."""

    VILLAGE = 0  # kin and old neighbours from the same origin village
    NEIGHBOUR = 1  # same building in the new community
    COWORKER = 2  # same local sector
    ACTIVITY = 3  # met in community activities


TIE_KIND_NAMES = tuple(k.name.lower() for k in TieKind)


class TieNetwork:
    """Undirected weighted ties between `n` households."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.src = np.zeros(0, dtype=np.int32)
        self.dst = np.zeros(0, dtype=np.int32)
        self.key = np.zeros(0, dtype=np.int64)
        self.strength = np.zeros(0, dtype=np.float32)
        self.kind = np.zeros(0, dtype=np.int8)
        self._upper: sp.csr_array | None = None

    def __len__(self) -> int:
        return int(self.key.shape[0])

    def _keys(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, hi = np.minimum(u, v).astype(np.int64), np.maximum(u, v).astype(np.int64)
        return lo, hi, lo * self.n + hi

    def add(self, u: np.ndarray, v: np.ndarray, kind: int | np.ndarray) -> int:
        """Add ties u-v (self-loops dropped, duplicates merged); existing ties are refreshed.

        Returns the number of new ties.
        """
        u, v = np.asarray(u), np.asarray(v)
        keep = u != v
        kind_arr = np.broadcast_to(np.asarray(kind, dtype=np.int8), u.shape)[keep]
        lo, hi, key = self._keys(u[keep], v[keep])
        key, first = np.unique(key, return_index=True)
        lo, hi, kind_arr = lo[first], hi[first], kind_arr[first]
        pos = np.searchsorted(self.key, key)
        exists = np.zeros(key.shape[0], dtype=bool)
        inside = pos < self.key.shape[0]
        exists[inside] = self.key[pos[inside]] == key[inside]
        self.strength[pos[exists]] = 1.0
        new = ~exists
        k = int(new.sum())
        if k:
            # merge without sorting: new ties land at pos + (number of new ties before them)
            is_new = np.zeros(len(self) + k, dtype=bool)
            is_new[pos[new] + np.arange(k)] = True
            self.key = _merge(self.key, key[new], is_new)
            self.src = _merge(self.src, lo[new].astype(np.int32), is_new)
            self.dst = _merge(self.dst, hi[new].astype(np.int32), is_new)
            self.strength = _merge(self.strength, np.ones(k, dtype=np.float32), is_new)
            self.kind = _merge(self.kind, kind_arr[new], is_new)
            self._upper = None
        return k

    def keep(self, mask: np.ndarray) -> None:
        """Drop the ties where `mask` is False (order is kept)."""
        if mask.all():
            return
        self.src, self.dst, self.key = self.src[mask], self.dst[mask], self.key[mask]
        self.strength, self.kind = self.strength[mask], self.kind[mask]
        self._upper = None

    def upper(self) -> sp.csr_array:
        """Upper-triangular weighted adjacency, built from the sorted arrays without sorting."""
        if self._upper is None or self._upper.nnz != len(self):
            indptr = np.zeros(self.n + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.src, minlength=self.n), out=indptr[1:])
            self._upper = sp.csr_array((self.strength.astype(np.float64), self.dst, indptr), shape=(self.n, self.n))
        else:
            self._upper.data[:] = self.strength
        return self._upper

    def neighbour_sum(self, values: np.ndarray) -> np.ndarray:
        """For each household, the strength-weighted sum of its contacts' `values` rows."""
        upper = self.upper()
        return upper @ values + upper.T @ values

    def degree(self) -> np.ndarray:
        """Number of ties of each household."""
        return np.bincount(self.src, minlength=self.n) + np.bincount(self.dst, minlength=self.n)

    def to_networkx(self, node_attributes: dict[str, np.ndarray] | None = None) -> nx.Graph:
        """A networkx Graph with every household as a node and every tie as an edge."""
        graph = nx.Graph()
        attrs = node_attributes or {}
        names = list(attrs)
        columns = [attrs[k].tolist() for k in names]
        graph.add_nodes_from(
            (i, dict(zip(names, row, strict=True))) for i, row in enumerate(zip(*columns, strict=True))
        )
        if not names:
            graph.add_nodes_from(range(self.n))
        kinds = [TIE_KIND_NAMES[k] for k in self.kind.tolist()]
        graph.add_edges_from(
            (u, v, {"strength": w, "kind": k})
            for u, v, w, k in zip(self.src.tolist(), self.dst.tolist(), self.strength.tolist(), kinds, strict=True)
        )
        return graph


def _merge(old: np.ndarray, new: np.ndarray, is_new: np.ndarray) -> np.ndarray:
    """Interleave `new` into `old` at the positions flagged in `is_new`."""
    out = np.empty(is_new.shape[0], dtype=old.dtype)
    out[is_new] = new
    out[~is_new] = old
    return out


def pairs_within_groups(group: np.ndarray, density: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each pair of members of the same group, kept with probability `density`.

    Enumerates pairs group by group in one vectorised pass: for a group of size k there
    are k (k - 1) / 2 pairs; groups larger than 200 are thinned to random partners so the
    work stays linear in the number of households.
    """
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    sizes = np.diff(np.r_[starts, g.shape[0]])
    small = sizes <= 200
    us, vs = [], []
    for k in np.unique(sizes[small & (sizes > 1)]):
        block_starts = starts[small & (sizes == k)]
        iu, ju = np.triu_indices(k, 1)
        u = (block_starts[:, None] + iu[None, :]).ravel()
        v = (block_starts[:, None] + ju[None, :]).ravel()
        chosen = rng.random(u.shape[0]) < density
        us.append(order[u[chosen]])
        vs.append(order[v[chosen]])
    for s, k in zip(starts[~small], sizes[~small], strict=True):  # large groups: about density x 200 partners each
        m = int(k * 100 * density)
        u = rng.integers(0, k, m) + s
        v = rng.integers(0, k, m) + s
        us.append(order[u])
        vs.append(order[v])
    if not us:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(us), np.concatenate(vs)


def random_partner_in_block(
    members: np.ndarray, block: np.ndarray, draw: np.ndarray, order: np.ndarray | None = None
) -> np.ndarray:
    """For each of `members`, a random unit from the same block.

    Args:
        members: unit indices that look for a partner.
        block: block id of every unit (e.g. the building of each household), any order.
        draw: one uniform in [0, 1) per member (which unit of the block it meets).
        order: `argsort(block)` if already known (saves a sort for blocks that do not change).

    Returns:
        A partner index per member (possibly itself; the caller drops self-pairs).
    """
    if order is None:
        order = np.argsort(block, kind="stable")
    sorted_block = block[order]
    start = np.searchsorted(sorted_block, block[members], side="left")
    end = np.searchsorted(sorted_block, block[members], side="right")
    pick = start + np.floor(draw * (end - start)).astype(np.int64)
    return order[pick]
