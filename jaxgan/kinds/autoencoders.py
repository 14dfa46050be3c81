"""The auto-encoders: a VAE on its negative ELBO (Kingma & Welling 2014), and an adversarial
autoencoder (Makhzani et al. 2015): reconstruction, a latent critic on codes against prior
draws, then the encoder's regularisation with an optimizer of its own."""

from __future__ import annotations

import dataclasses

import jax
import optax

from jaxgan import vae
from jaxgan.games import Game, GeneratorInputs
from jaxgan.kinds.base import (
    InitKeys,
    LatentSampler,
    Phase,
    RealBatch,
    ReconstructionLoss,
    WithGenerator,
    check_average,
    samples_and_condition,
)
from jaxgan.kinds.gan import check_needs, critic_loss_and_collections
from jaxgan.state import BoundModel, PlayerSpec, TrainState, bind, init_player, training_call


@dataclasses.dataclass(frozen=True)
class VAESpec(WithGenerator):
    """A one-player model trained on a reconstruction loss alone: a VAE's negative ELBO.

    `generator` is the model that generates (`models.VariationalAutoencoder`: the decoder with
    the encoder it is trained with); `generate` decodes draws of `sample_latent`.
    """

    generator: PlayerSpec
    sample_latent: LatentSampler
    loss: ReconstructionLoss = vae.negative_elbo
    generator_ema_decay: float | None = None

    def __post_init__(self):
        check_average(self.generator_ema_decay, self.generator)
        _check_reconstructed(self.generator)

    @property
    def players(self) -> dict[str, PlayerSpec]:
        return {"generator": self.generator}

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (Phase("reconstruction", "generator", _reconstruction_objective, stream=2),)

    def init_fields(self, keys: InitKeys, example_real: RealBatch) -> dict:
        """The model initialised on codes of the prior (its `init_method` builds the encoder too)."""
        return self.init_generator(keys, example_real)[0]


@dataclasses.dataclass(frozen=True)
class AAESpec(WithGenerator):
    """An adversarial autoencoder (Makhzani et al. 2015): reconstruction, then a critic that
    tells the codes Enc(x) of the data (fake) from draws of the prior (real), then the
    regularisation phase that moves the encoder to fool it.

    The regularisation phase has its own optimizer `encoder_tx` (its state is
    `phase_opt_states["regularisation"]`), so the reconstruction phase's momentum never moves
    the encoder there, and the decoder, whose gradient in that phase is zero, stays put.

    Attributes:
      game: the method the latent critic plays.
      generator: the auto-encoder (`models.AdversarialAutoencoder`); its call decodes.
      critic: the latent critic.
      sample_latent: the prior p(z).
      encoder_tx: the regularisation phase's optimizer.
      reconstruction_loss: the reconstruction phase's loss.
      encode_method: the auto-encoder's method that computes the codes.
    """

    game: Game
    generator: PlayerSpec
    critic: PlayerSpec
    sample_latent: LatentSampler
    encoder_tx: optax.GradientTransformation
    reconstruction_loss: ReconstructionLoss = vae.reconstruction_cross_entropy
    encode_method: str = "encode"
    generator_ema_decay: float | None = None

    def __post_init__(self):
        check_average(self.generator_ema_decay, self.generator)
        _check_reconstructed(self.generator)
        check_needs(self.game, self.generator, self.critic)

    @property
    def batches_per_iteration(self) -> int:
        return self.game.n_critic

    @property
    def loss(self) -> ReconstructionLoss:
        return self.reconstruction_loss

    @property
    def phase_optimizers(self) -> dict[str, optax.GradientTransformation]:
        return {"regularisation": self.encoder_tx}

    @property
    def players(self) -> dict[str, PlayerSpec]:
        return {"generator": self.generator, "critic": self.critic}

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (
            Phase("reconstruction", "generator", _reconstruction_objective, stream=2),
            Phase("critic", "critic", _latent_critic_objective, each_batch=True, stream=0),
            Phase("regularisation", "generator", _regularisation_objective, stream=1, own_optimizer=True),
        )

    def init_fields(self, keys: InitKeys, example_real: RealBatch) -> dict:
        """The auto-encoder initialised on codes of the prior, the latent critic on those codes,
        the regularisation phase's optimizer on the auto-encoder's parameters."""
        fields, z = self.init_generator(keys, example_real)
        return {
            **fields,
            "critic": init_player(self.critic, keys.critic, z),
            "phase_opt_states": {"regularisation": self.encoder_tx.init(fields["generator"].params)},
        }


def _check_reconstructed(model: PlayerSpec) -> None:
    if model.mutable:
        raise ValueError(
            "an auto-encoder's reconstruction loss calls its methods, whose running statistics no phase "
            f"keeps; use a model without mutable collections ({', '.join(model.mutable)})"
        )


def _reconstruction_objective(spec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The model's reconstruction loss (`spec.loss`) on the real batch."""
    real, condition = samples_and_condition(real)
    loss, metrics = spec.loss(bind(spec.generator, state.generator, params, condition), real, key)
    return loss, (metrics, state.generator.collections)


def _latent_critic_objective(spec: AAESpec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The latent critic's loss: draws of the prior are its real batch, the codes Enc(x) of the
    real batch its generated one; the auto-encoder is fixed."""
    key_prior, key_loss = jax.random.split(key)
    real, condition = samples_and_condition(real)
    prior = spec.sample_latent(key_prior, real.shape[0])
    autoencoder = bind(spec.generator, state.generator, condition=condition)
    codes = jax.lax.stop_gradient(autoencoder.method(spec.encode_method, real))
    return critic_loss_and_collections(spec, state, params, prior, codes, condition, key_loss)


def _regularisation_objective(spec: AAESpec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The encoder's regularisation loss: the game's generator loss of the codes Enc(x) of the
    real batch against the current latent critic, which is fixed."""
    real, condition = samples_and_condition(real)
    z = spec.sample_latent(key, real.shape[0])
    variables = state.generator.variables(params)
    codes, collections = training_call(spec.generator, variables, real, *condition, method=spec.encode_method)
    inputs = GeneratorInputs(latents=z, real=real, generator=BoundModel(spec.generator, variables, condition))
    critic = bind(spec.critic, state.critic, condition=condition)
    loss, metrics = spec.game.generator_loss(critic, codes, inputs)
    return loss, (metrics, collections)
