"""The kinds of model jaxgan trains, one module each, behind one protocol (`base.ModelKind`).

- `gan.GANSpec`: critic × n_critic, then the generator (Goodfellow et al. 2014's alternation);
- `autoencoders.VAESpec`: one reconstruction phase on the negative ELBO (Kingma & Welling 2014);
- `autoencoders.AAESpec`: reconstruction, a latent critic × n_critic on codes against prior
  draws, then the encoder's regularisation with an optimizer of its own (Makhzani et al. 2015);
- `ebm.EBMSpec`: one energy update by maximum likelihood, its negative phase drawn by Langevin
  dynamics (Nijkamp et al. 2019; Du & Mordatch 2019).

A new kind is a module here with a frozen dataclass that gives what `base.ModelKind` lists;
`jaxgan.steps` runs it without knowing it.
"""

from jaxgan.kinds.autoencoders import AAESpec, VAESpec
from jaxgan.kinds.base import LabelledBatch, ModelKind, Phase, RealBatch
from jaxgan.kinds.ebm import EBMSpec
from jaxgan.kinds.gan import GANSpec, InstanceNoise, pack

__all__ = [
    "AAESpec",
    "EBMSpec",
    "GANSpec",
    "InstanceNoise",
    "LabelledBatch",
    "ModelKind",
    "Phase",
    "RealBatch",
    "VAESpec",
    "pack",
]
