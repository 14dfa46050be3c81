"""Built-in Flax Linen networks."""

from jaxgan.models.autoencoder import AdversarialAutoencoder, AutoencoderEnergy, VariationalAutoencoder
from jaxgan.models.dcgan import DCGANCritic, DCGANGenerator, MatmulConvTranspose
from jaxgan.models.layers import MinibatchDiscrimination, SpectralNormalized, VirtualBatchNorm
from jaxgan.models.meg import MaxEntropyGenerator
from jaxgan.models.mlp import MLP
from jaxgan.models.r3gan import R3GANCritic, R3GANGenerator
from jaxgan.models.resnet import ResNetCritic, ResNetGenerator

__all__ = [
    "MLP",
    "AdversarialAutoencoder",
    "AutoencoderEnergy",
    "DCGANCritic",
    "DCGANGenerator",
    "MaxEntropyGenerator",
    "MatmulConvTranspose",
    "MinibatchDiscrimination",
    "R3GANCritic",
    "R3GANGenerator",
    "ResNetCritic",
    "ResNetGenerator",
    "SpectralNormalized",
    "VariationalAutoencoder",
    "VirtualBatchNorm",
]
