"""Built-in Flax Linen networks."""

from jaxgan.models.mlp import MLP

__all__ = ["MLP"]
