"""An energy-based model p_θ(x) ∝ exp(−E_θ(x)) trained by maximum likelihood, its negative phase
drawn by short-run Langevin dynamics (Nijkamp et al. 2019; Du & Mordatch 2019; `jaxgan.ebm`)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from jaxgan import ebm
from jaxgan.kinds.base import InitKeys, KindDefaults, LatentSampler, Phase, RealBatch, samples_and_condition
from jaxgan.state import PlayerSpec, TrainState, Variables, init_player


@dataclasses.dataclass(frozen=True)
class EBMSpec(KindDefaults):
    """An energy-based model p_θ(x) ∝ exp(−E_θ(x)) trained by maximum likelihood (`jaxgan.ebm`):
    one phase, the energy's update on the real batch (the positive phase) against K steps of
    Langevin dynamics from fresh noise (the negative phase; Nijkamp et al. 2019's short-run
    sampler, Du & Mordatch 2019's regulariser α).

    The energy is the `critic` player: article 002 reads a GAN's critic as an energy. There is
    no generator. The chains' starting noise is the spec's `sample_latent`: a short-run sampler
    is a generator whose latent code is x_0 and whose map is the K steps (Nijkamp et al.), so
    `generate` draws samples the way it does for a GAN, by running the chains.

    Attributes:
      critic: the energy E_θ(x), one value per example; no batch norm (its gradient in x must
        be each example's own) and no spectral norm (no collection is updated).
      sample_latent: the chains' start x_0, (key, n) -> (n, *example).
      langevin_steps, step_size, noise_std: K, η and σ of `ebm.langevin` (σ None: √(2η)).
      regularization: α of `ebm.maximum_likelihood_loss`.

    Raises:
      ValueError: at construction, for a sampler that is not one or an energy that updates
        collections.
    """

    critic: PlayerSpec
    sample_latent: LatentSampler
    langevin_steps: int
    step_size: float
    noise_std: float | None = None
    regularization: float = 1.0

    def __post_init__(self):
        ebm.check_sampler(self.langevin_steps, self.step_size, self.noise_std)
        if not 0 <= self.regularization < float("inf"):
            raise ValueError(
                f"the energy regularisation α must be a finite number of at least 0, got {self.regularization}"
            )
        if self.critic.mutable or self.critic.mixes_examples:
            raise ValueError(
                "an energy-based model's energy must score each example on its own and update no collection; "
                "build it without batch norm, spectral norm or minibatch discrimination"
            )

    @property
    def players(self) -> dict[str, PlayerSpec]:
        return {"critic": self.critic}

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (Phase("energy", "critic", _energy_objective, stream=0),)

    def init_fields(self, keys: InitKeys, example_real: RealBatch) -> dict:
        """The energy initialised on the example batch."""
        return {"critic": init_player(self.critic, keys.critic, samples_and_condition(example_real)[0])}

    def sample(self, state: TrainState, key: jax.Array, n: int, *, labels=None, variables=None, truncation=None):
        """n Langevin chains from fresh noise on the energy at `variables` or else the live one."""
        if labels is not None or truncation is not None:
            raise ValueError("generate: an energy-based model takes no labels and no truncation")
        return self.chains(state.critic.variables() if variables is None else variables, key, n)

    def evaluated_variables(self, state: TrainState) -> Variables:
        """The live energy's variables: its samples are chains on it."""
        return state.critic.variables()

    def chains(self, variables: Variables, key: jax.Array, n: int) -> jax.Array:
        """n chains on the energy at `variables`, from n draws of `sample_latent`: `key` splits
        into the start's key and the chains' noise key."""
        key_start, key_chains = jax.random.split(key)
        energy = functools.partial(self.critic.apply, variables)
        start = self.sample_latent(key_start, n)
        return ebm.langevin(energy, start, key_chains, self.langevin_steps, self.step_size, self.noise_std)


def _energy_objective(spec: EBMSpec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The maximum-likelihood loss of an energy-based model (`ebm.maximum_likelihood_loss`): the
    real batch against as many Langevin chains, run from fresh noise on the energy as it stands
    and held constant."""
    real, _ = samples_and_condition(real)
    negatives = jax.lax.stop_gradient(spec.chains(state.critic.variables(), key, real.shape[0]))
    energy = functools.partial(spec.critic.apply, state.critic.variables(params))
    energy_data, energy_samples = energy(real), energy(negatives)
    loss = ebm.maximum_likelihood_loss(energy_data, energy_samples, spec.regularization)
    metrics = {"energy_data": jnp.mean(energy_data), "energy_samples": jnp.mean(energy_samples)}
    return loss, (metrics, state.critic.collections)
