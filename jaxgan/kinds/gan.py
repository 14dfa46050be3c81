"""A GAN (Goodfellow et al. 2014): the critic's n_critic updates, then the generator's, each
against the other held fixed, on the losses of a method (`jaxgan.games`); with instance noise,
DiffAugment and PacGAN's packs as options of the critic's input."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxgan.augment import AugmentedCritic, DiffAugment, FreshDraws
from jaxgan.games import Game, GeneratorInputs
from jaxgan.kinds.base import (
    InitKeys,
    LatentSampler,
    Phase,
    RealBatch,
    WithGenerator,
    check_average,
    samples_and_condition,
)
from jaxgan.state import BoundModel, PlayerSpec, TrainState, bind, init_player, training_call


@dataclasses.dataclass(frozen=True)
class InstanceNoise:
    """Gaussian noise added to the critic's real and generated inputs, annealed linearly to 0.

    σ_t = std · max(0, 1 − t / anneal_steps) at generator iteration t (Sønderby et al. 2017;
    Arjovsky & Bottou 2017): it makes the two distributions overlap while the supports are far
    apart, so the critic's gradient does not vanish early on.
    """

    std: float
    anneal_steps: int

    def __post_init__(self):
        if self.std < 0 or self.anneal_steps < 1:
            raise ValueError(
                f"instance noise needs std >= 0 and anneal_steps >= 1, got {self.std}, {self.anneal_steps}"
            )

    def std_at(self, step: jax.Array) -> jax.Array:
        """σ_t for generator iteration `step`."""
        return self.std * jnp.maximum(0.0, 1.0 - step.astype(jnp.float32) / self.anneal_steps)


def check_needs(game: Game, generator: PlayerSpec, critic: PlayerSpec) -> None:
    """Refuse players that lack what the method's losses need (`games.Needs`)."""
    if game.critic_needs.per_example_scores and critic.mixes_examples:
        raise ValueError(
            f"{game.name} penalises each example's input gradient, which batch norm and minibatch "
            "discrimination in the critic make depend on the rest of the batch; use a critic without "
            "them (model.critic_norm=layer or none, model.minibatch_kernels=0)"
        )
    if (
        game.critic_needs.energy_autoencoder
        and critic.module is not None
        and not getattr(critic.module, "scores_reconstruction_energy", False)
    ):
        raise ValueError(f"{game.name}'s critic must be an auto-encoder energy (models.AutoencoderEnergy)")
    for role, needs, player in (("critic", game.critic_needs, critic), ("generator", game.generator_needs, generator)):
        for method in needs.methods:
            if player.lacks_method(method):
                raise ValueError(
                    f"{game.name} calls the {role}'s method {method!r}, which {type(player.module).__name__} lacks"
                )


@dataclasses.dataclass(frozen=True)
class GANSpec(WithGenerator):
    """A GAN: the method, both players and the latent prior; its iteration is the critic's
    n_critic updates, then the generator's.

    `instance_noise`, when set, perturbs the critic's inputs during its updates (InstanceNoise).
    `augment`, when set, makes the critic D∘T in both players' updates: every batch it scores
    goes through the random differentiable transformation T first (`augment.DiffAugment`).
    `pack` = m > 1 makes the critic score packs of m samples of one kind (`pack`; PacGAN, Lin et
    al. 2018): real packs and generated packs, never mixed, in both players' updates; the
    losses and penalties then see packs as their examples.
    `generator_ema_decay`, when set, keeps an average of the generator for evaluation
    (`kinds.base.WithGenerator`).

    Raises:
      ValueError: at construction, when a player lacks what the method needs (`games.Needs`):
        a gradient penalty on a critic whose scores mix the batch, a missing method.
    """

    game: Game
    generator: PlayerSpec
    critic: PlayerSpec
    sample_latent: LatentSampler
    generator_ema_decay: float | None = None
    instance_noise: InstanceNoise | None = None
    augment: DiffAugment | None = None
    pack: int = 1

    def __post_init__(self):
        check_average(self.generator_ema_decay, self.generator)
        check_needs(self.game, self.generator, self.critic)
        if self.pack < 1:
            raise ValueError(f"pack is the number of samples the critic scores together, at least 1, got {self.pack}")
        if self.pack > 1 and self.game.generator_needs.methods:
            raise ValueError(
                f"{self.game.name}'s generator loss pairs each sample with its own networks' outputs "
                f"({', '.join(self.game.generator_needs.methods)}), which packs of samples would scramble; use pack=1"
            )

    @property
    def batches_per_iteration(self) -> int:
        """Real batches one iteration takes: one per critic update."""
        return self.game.n_critic

    @property
    def players(self) -> dict[str, PlayerSpec]:
        return {"generator": self.generator, "critic": self.critic}

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (
            Phase("critic", "critic", _critic_objective, each_batch=True, stream=0),
            Phase("generator", "generator", _generator_objective, stream=1),
        )

    def init_fields(self, keys: InitKeys, example_real: RealBatch) -> dict:
        """G initialised on codes of the prior, D on (packs of) the example batch."""
        fields, _ = self.init_generator(keys, example_real)
        samples, condition = samples_and_condition(example_real)
        return {**fields, "critic": init_player(self.critic, keys.critic, pack(samples, self.pack), *condition)}

    def check_real(self, samples: jax.Array, condition: tuple) -> None:
        """Refuse batches that do not split into the critic's packs, or labelled packs."""
        if samples.shape[2] % self.pack or (condition and self.pack > 1):
            raise ValueError(
                f"the critic scores packs of {self.pack} samples: give unlabelled batches whose size is a multiple "
                f"of {self.pack} (got {samples.shape[2]}{', with labels' if condition else ''}), or set pack=1"
            )


def _critic_objective(spec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The critic's loss on a real batch and a fresh generated batch; the generator is fixed.

    The critic scores the real and the generated batch in two
    calls, so batch norm never mixes them (article 003's tip; Salimans et al. 2016); its running
    statistics then advance over the real batch and the generated one, in that order, and
    spectral norm's u takes one power iteration in each call, as in mimicry's SNGAN.
    """
    key_fake, key_loss = jax.random.split(key)
    real, condition = samples_and_condition(real)
    z = spec.sample_latent(key_fake, real.shape[0])
    fake = jax.lax.stop_gradient(bind(spec.generator, state.generator, condition=condition)(z))
    if spec.instance_noise is not None:
        # A key of its own (fold_in), so runs without noise keep their random stream.
        key_real_noise, key_fake_noise = jax.random.split(jax.random.fold_in(key, 1))
        std = spec.instance_noise.std_at(state.step)
        real = real + std * jax.random.normal(key_real_noise, real.shape, real.dtype)
        fake = fake + std * jax.random.normal(key_fake_noise, fake.shape, fake.dtype)
    real, fake = pack(real, spec.pack), pack(fake, spec.pack)
    return critic_loss_and_collections(spec, state, params, real, fake, condition, key_loss, _augmentation(spec, key))


def critic_loss_and_collections(spec, state: TrainState, params, real, fake, condition, key, transform=None):
    """The game's critic loss of a real and a generated batch at `params`, and the critic's
    collections after scoring them in two calls, real then generated: D, or D∘T with a
    `transform` T (`augment.AugmentedCritic`). Shared by the GAN and the AAE's latent critic."""
    variables = state.critic.variables(params)
    critic = BoundModel(spec.critic, variables, condition)
    if transform is not None:
        critic = AugmentedCritic(critic, transform)
    at = {"iteration": state.step} if spec.game.critic_needs.iteration else {}
    loss, metrics = spec.game.critic_loss(critic, real, fake, key, **at)
    collections = state.critic.collections
    if spec.critic.mutable:
        for batch in (real, fake):
            inputs = batch if transform is None else transform(batch)
            collections = training_call(spec.critic, {**variables, **collections}, inputs, *condition)[1]
    return loss, (metrics, collections)


def pack(batch: jax.Array, m: int) -> jax.Array:
    """(n, *example) -> (n/m, *example[:-1], m·example[-1]): each m consecutive samples joined
    along their last axis (features, or an image's channels), the input of a PacGAN critic (Lin
    et al. 2018, "PacGAN: The power of two samples in generative adversarial networks").
    A batch is packed on its own, so a pack never mixes real and generated samples."""
    if m == 1:
        return batch
    if batch.shape[0] % m:
        raise ValueError(f"packs of {m} need a batch size divisible by {m}, got {batch.shape[0]}")
    grouped = jnp.moveaxis(batch.reshape(batch.shape[0] // m, m, *batch.shape[1:]), 1, -2)
    return grouped.reshape(batch.shape[0] // m, *batch.shape[1:-1], m * batch.shape[-1])


def _augmentation(spec: GANSpec, key: jax.Array) -> FreshDraws | None:
    """DiffAugment's T drawn afresh at every call from the stream fold_in(key, 2) when the spec
    augments, so the critic the losses see is D∘T (`augment.AugmentedCritic`); else None."""
    return None if spec.augment is None else FreshDraws(spec.augment, jax.random.fold_in(key, 2))


def _generator_objective(spec: GANSpec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The generator's loss against the current critic, which is fixed (seen through the
    critic's DiffAugment when the spec augments). The generator's running statistics are those
    of its call on the latent codes."""
    real, condition = samples_and_condition(real)
    z = spec.sample_latent(key, real.shape[0])
    variables = state.generator.variables(params)
    fake, collections = training_call(spec.generator, variables, z, *condition)
    inputs = GeneratorInputs(
        latents=z, real=pack(real, spec.pack), generator=BoundModel(spec.generator, variables, condition)
    )
    critic = bind(spec.critic, state.critic, condition=condition)
    transform = _augmentation(spec, key)
    if transform is not None:
        critic = AugmentedCritic(critic, transform)
    loss, metrics = spec.game.generator_loss(critic, pack(fake, spec.pack), inputs)
    return loss, (metrics, collections)
