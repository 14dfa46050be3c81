"""A generative moment-matching network (Li, Swersky & Zemel 2015, "Generative Moment Matching
Networks"; Dziugaite, Roy & Ghahramani 2015, "Training generative neural networks via Maximum
Mean Discrepancy optimization"): one generator G trained to minimise the MMD² between its
samples and the data under a fixed kernel, with no critic.

The kernel is a sum of RBF kernels over several bandwidths h,
k(u, v) = Σ_h exp(−‖u − v‖² / (2h²)) (Li et al.'s mixture), and the loss is the unbiased
estimate MMD²_u(G(z), x) of a generated and a real batch (`divergences.mmd_rbf`, Gretton et
al. 2012, eq. 3), which for a sum of kernels is the sum of each kernel's estimate.
"""

from __future__ import annotations

import dataclasses

import jax

from jaxgan import divergences
from jaxgan.kinds.base import InitKeys, LatentSampler, Phase, RealBatch, WithGenerator, check_average
from jaxgan.state import PlayerSpec, TrainState, training_call


def mixture_mmd2(x: jax.Array, y: jax.Array, bandwidths: tuple[float, ...]) -> jax.Array:
    """MMD²_u of samples x (n, d) and y (m, d) under the sum of RBF kernels of `bandwidths`."""
    return sum(divergences.mmd_rbf(x, y, bandwidth) for bandwidth in bandwidths)


def check_bandwidths(bandwidths: tuple[float, ...]) -> None:
    """Refuse no bandwidth, or one that is not a finite number above 0 (a ValueError)."""
    if not bandwidths or not all(0 < h < float("inf") for h in bandwidths):
        raise ValueError(f"a GMMN needs one or more finite kernel bandwidths above 0, got {tuple(bandwidths)}")


@dataclasses.dataclass(frozen=True)
class GMMNSpec(WithGenerator):
    """A GMMN: its iteration is one generator update on MMD²_u(G(z), x) of one real batch and as
    many codes of the prior.

    Attributes:
      generator: G; no batch norm (the MMD compares the batch as a whole already, and a
        statistic of the batch inside G would let it match the batch, not the law).
      sample_latent: the prior p(z).
      bandwidths: the RBF kernels' widths h, each above 0.
      generator_ema_decay: an average of G kept for evaluation (`kinds.base.WithGenerator`).

    Raises:
      ValueError: at construction, for no bandwidth or one not above 0, or a generator whose
        outputs depend on the rest of the batch.
    """

    generator: PlayerSpec
    sample_latent: LatentSampler
    bandwidths: tuple[float, ...]
    generator_ema_decay: float | None = None

    def __post_init__(self):
        check_average(self.generator_ema_decay, self.generator)
        check_bandwidths(self.bandwidths)
        if self.generator.mixes_examples:
            raise ValueError("a GMMN's generator must map each code on its own: build it without batch norm")

    @property
    def players(self) -> dict[str, PlayerSpec]:
        return {"generator": self.generator}

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (Phase("generator", "generator", _mmd_objective, stream=1),)

    def init_fields(self, keys: InitKeys, example_real: RealBatch) -> dict:
        """G initialised on codes of the prior."""
        return self.init_generator(keys, example_real)[0]


def _mmd_objective(spec: GMMNSpec, state: TrainState, params, real: jax.Array, key: jax.Array):
    """MMD²_u between G(z) of as many codes as the real batch and the real batch."""
    z = spec.sample_latent(key, real.shape[0])
    fake, collections = training_call(spec.generator, state.generator.variables(params), z)
    return mixture_mmd2(fake, real, spec.bandwidths), ({}, collections)
