"""Built-in Flax Linen networks."""

from jaxgan.models.autoencoder import AutoencoderEnergy
from jaxgan.models.dcgan import DCGANCritic, DCGANGenerator, SubPixelConvTranspose
from jaxgan.models.layers import MinibatchDiscrimination, VirtualBatchNorm
from jaxgan.models.meg import MaxEntropyGenerator
from jaxgan.models.mlp import MLP

__all__ = ["MLP", "AutoencoderEnergy", "DCGANCritic", "DCGANGenerator", "MaxEntropyGenerator", "MinibatchDiscrimination",
           "SubPixelConvTranspose", "VirtualBatchNorm"]
