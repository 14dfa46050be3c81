"""Shared pieces of the theory experiments' configs (run by jaxgan.theory)."""

from ml_collections import ConfigDict


def mixture(means, stds, weights=None) -> ConfigDict:
    """A 1-D Gaussian mixture; equal weights by default."""
    weights = weights or tuple(1.0 / len(means) for _ in means)
    return ConfigDict({"means": tuple(means), "stds": tuple(stds), "weights": tuple(weights)})


def theory_config(runner: str, *, random: bool = True, **fields) -> ConfigDict:
    """A config run by `jaxgan.theory.EXPERIMENTS[runner]`; a `seed` when the experiment draws
    random numbers (`random`)."""
    return ConfigDict({"experiment": "", "runner": runner, **({"seed": 0} if random else {}), **fields})
