"""Divergences and distances between distributions.

`wasserstein_points` is the exact earth-mover distance between two equal-size point clouds
with uniform weights, where the optimal coupling is a permutation (Birkhoff–von Neumann), so
W_p^p = min over assignments σ of (1/n) Σ_i ‖x_i − y_σ(i)‖^p. It runs on the host (scipy's
linear_sum_assignment, O(n³)): an evaluation metric, not a training loss.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.spatial


def wasserstein_points(x: np.ndarray, y: np.ndarray, p: float = 1.0) -> float:
    """Exact W_p between the empirical measures of two equal-size point clouds.

    Args:
      x: points, shape (n, dim).
      y: points, shape (n, dim).
      p: the order, p >= 1; the ground cost is the Euclidean distance to the power p.

    Returns:
      W_p = (min_σ (1/n) Σ_i ‖x_i − y_σ(i)‖^p)^(1/p).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(
            f"wasserstein_points needs two clouds of one shape (n, dim), got {x.shape} and {y.shape}"
        )
    if p < 1:
        raise ValueError(f"the Wasserstein order p must be at least 1, got {p}")
    cost = scipy.spatial.distance.cdist(x, y) ** p
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return float(cost[rows, cols].mean() ** (1.0 / p))
