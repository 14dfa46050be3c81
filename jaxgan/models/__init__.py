"""Built-in Flax Linen networks."""

from jaxgan.models.autoencoder import AutoencoderEnergy
from jaxgan.models.mlp import MLP

__all__ = ["MLP", "AutoencoderEnergy"]
