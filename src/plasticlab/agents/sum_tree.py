"""An array-based sum tree: the data structure behind prioritised experience replay.

Prioritised replay (Schaul et al., 2016, "Prioritized Experience Replay", Sec. 3.3 and App. B.2.1)
samples transition i with probability P(i) = p_i / sum_k p_k. A sum tree keeps every partial sum
of the leaf masses p_i in a complete binary tree, so setting one mass and finding the leaf that
holds a given prefix sum both take O(log N). Both operations here are vectorised over a batch of
indices or prefix sums: the descent runs one numpy step per tree level, never a Python loop over
the batch.

Layout: node 1 is the root, node k has children 2k and 2k+1, and the leaves occupy nodes
[leaf_count, 2 * leaf_count) where leaf_count is the smallest power of two >= capacity. Node 0 is
unused. Each internal node is always recomputed from its two children (never incremented), so
rounding errors cannot accumulate over millions of updates.
"""

from __future__ import annotations

import numpy as np


class SumTree:
    """Non-negative masses on `capacity` leaves, with their total and prefix-sum search."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"sum tree capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self.leaf_count = 1 << max(0, (self.capacity - 1).bit_length())
        self.depth = self.leaf_count.bit_length() - 1
        self.nodes = np.zeros(2 * self.leaf_count, dtype=np.float64)

    def total(self) -> float:
        """Sum of all leaf masses."""
        return float(self.nodes[1])

    def get(self, indices: np.ndarray) -> np.ndarray:
        """Leaf masses at `indices` (float64, same shape)."""
        return self.nodes[self.leaf_count + self._check_indices(indices)]

    def set(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Set the leaf masses at `indices` to `values` (>= 0) and refresh their ancestors.

        With repeated indices the last value wins, as in numpy fancy assignment.
        """
        indices = self._check_indices(indices).ravel()
        values = np.asarray(values, dtype=np.float64)
        values = np.full(indices.shape, values) if values.ndim == 0 else values.ravel()
        if values.shape != indices.shape:
            raise ValueError(f"{indices.size} indices but {values.size} values")
        if not ((values >= 0) & (values < np.inf)).all():  # also rejects NaN
            raise ValueError("sum tree masses must be finite and >= 0")
        nodes = indices + self.leaf_count
        self.nodes[nodes] = values
        children = self.nodes.reshape(-1, 2)  # row k holds nodes 2k and 2k+1, the children of k
        parents = nodes >> 1
        for _ in range(self.depth):  # a parent listed twice gets the same sum twice: harmless
            pairs = children[parents]
            self.nodes[parents] = pairs[:, 0] + pairs[:, 1]
            parents >>= 1

    def set_scalar(self, index: int, value: float) -> None:
        """`set` for one leaf, walking up in Python: several times cheaper than the array path
        for the one-leaf-per-environment-step updates of a replay buffer."""
        if not 0 <= index < self.capacity:
            raise ValueError(f"sum tree index {index} outside [0, {self.capacity})")
        if not 0 <= value < float("inf"):
            raise ValueError("sum tree masses must be finite and >= 0")
        tree = self.nodes
        node = index + self.leaf_count
        tree[node] = value
        while node > 1:
            node >>= 1
            tree[node] = tree[2 * node] + tree[2 * node + 1]

    def find(self, prefix_sums: np.ndarray) -> np.ndarray:
        """For each prefix sum v in [0, total), the leaf i with cumsum[i-1] <= v < cumsum[i].

        This is ``np.searchsorted(np.cumsum(leaves), v, side="right")``: leaves of zero mass are
        never returned. A v at or past the total (only reachable through rounding) maps to the
        last leaf with positive mass.
        """
        values = np.array(prefix_sums, dtype=np.float64, copy=True).ravel()
        if self.total() <= 0:
            raise ValueError("cannot search a sum tree whose total mass is zero")
        if np.any(values < 0):
            raise ValueError("prefix sums must be >= 0")
        children = self.nodes.reshape(-1, 2)  # row k holds nodes 2k and 2k+1, the children of k
        node = np.ones(values.shape, dtype=np.int64)
        for _ in range(self.depth):
            pairs = children[node]
            left_mass = pairs[:, 0]
            # Go right when v is past the left subtree's mass, unless rounding pushed v past the
            # whole node and the right subtree is empty.
            go_right = (values >= left_mass) & (pairs[:, 1] > 0)
            values -= left_mass * go_right  # subtracting 0.0 leaves v exact
            node = 2 * node + go_right
        return (node - self.leaf_count).reshape(np.shape(prefix_sums))

    def _check_indices(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= self.capacity):
            raise ValueError(f"sum tree indices must lie in [0, {self.capacity})")
        return indices
