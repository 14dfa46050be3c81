"""Pure training transitions and the one place where they are jitted.

One iteration is a sequence of phases (`Phase`): each trains one player on one loss with one
optimizer state, and one generic function (`_run_phase`) runs them all. A spec is the maths of
a model and its phase list:

- `GANSpec`: critic × n_critic, then the generator (Goodfellow et al. 2014's alternation);
- `VAESpec`: one reconstruction phase on the negative ELBO (Kingma & Welling 2014);
- `AAESpec`: reconstruction, critic × n_critic on codes against prior draws, then the
  encoder's regularisation with an optimizer of its own (Makhzani et al. 2015);
- `EBMSpec`: one energy update by maximum likelihood, its negative phase drawn by Langevin
  dynamics (Nijkamp et al. 2019; Du & Mordatch 2019).

`train_steps` scans iterations so that a whole chunk of training is a single XLA program (or,
with its loops written out, `make_train_step` calls one compiled iteration per iteration).
Nothing here is jitted except by `make_train_step`, which also holds the execution choices
(loops written out or scanned, the mesh).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from jaxgan import ebm, parallel, vae
from jaxgan.augment import AugmentedCritic, DiffAugment, FreshDraws
from jaxgan.games import Game, GeneratorInputs, Metrics
from jaxgan.state import (
    BoundModel,
    PlayerSpec,
    TrainState,
    Variables,
    bind,
    init_player,
    optimizer_step,
    standing_statistics,
    training_call,
)

LatentSampler = Callable[[jax.Array, int], jax.Array]  # sample(key, n) -> (n, ...) codes
# reconstruction_loss(model, real, key) -> (loss, metrics); minimised over the generator player.
ReconstructionLoss = Callable[[BoundModel, jax.Array, jax.Array], tuple[jax.Array, Metrics]]
# objective(spec, state, params, real, key) -> (loss, (metrics, collections)): one phase's loss
# in the trained player's parameters, with that player's collections after the phase.
Objective = Callable[..., tuple[jax.Array, tuple[Metrics, dict]]]


class LabelledBatch(NamedTuple):
    """Real samples with their class labels, for conditional GANs (Mirza & Osindero 2014).

    Wherever a step takes a real batch it also takes a LabelledBatch: the generator is then
    called as G(z, y) and the critic as D(x, y), and each generated batch takes the labels of
    the real batch beside it, so both share one class distribution.
    """

    samples: jax.Array
    labels: jax.Array


RealBatch = jax.Array | LabelledBatch


def _condition(real: RealBatch) -> tuple[jax.Array, tuple]:
    """(samples, condition): the condition is (labels,) for a LabelledBatch and () otherwise."""
    return (real.samples, (real.labels,)) if isinstance(real, LabelledBatch) else (real, ())


def standard_normal_latent(latent_dim: int) -> LatentSampler:
    """z ~ N(0, I) in `latent_dim` dimensions."""
    return lambda key, n: jax.random.normal(key, (n, latent_dim))


def truncated_normal_latent(latent_dim: int, truncation: float) -> LatentSampler:
    """z ~ N(0, I) truncated to [−ψ, ψ] in each of `latent_dim` dimensions, ψ = `truncation`:
    BigGAN's truncation trick (Brock et al. 2019, §3.1), which trades variety for fidelity as ψ
    shrinks. (BigGAN resamples the coordinates beyond ψ, which draws from the same law.)

    Raises:
      ValueError: ψ is not a finite number above 0.
    """
    if not 0 < truncation < float("inf"):
        raise ValueError(f"the truncation ψ must be a finite number above 0, got {truncation}")
    return lambda key, n: jax.random.truncated_normal(key, -truncation, truncation, (n, latent_dim))


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


@dataclasses.dataclass(frozen=True)
class Phase:
    """One update of an iteration: a player, a loss and an optimizer state.

    Attributes:
      name: the phase's name; its metrics are `{name}_loss` and `{name}_grad_norm`.
      player: the state field it trains, "generator" or "critic".
      objective: the loss in the player's parameters (`Objective`).
      each_batch: run once per real batch of the iteration (the critic's n_critic updates, each
        with its own key), rather than once on the last batch.
      stream: which of the iteration's keys it draws from: streams 0 and 1 are the two halves of
        `split(fold_in(rng, step))` (the critic's and the generator's since the first release),
        stream k ≥ 2 is `fold_in(fold_in(rng, step), k)`.
      own_optimizer: the phase updates its player with `spec.phase_optimizers[name]` and state
        `phase_opt_states[name]`, so its momentum never mixes with the player's own optimizer.
    """

    name: str
    player: str
    objective: Objective
    each_batch: bool = False
    stream: int = 0
    own_optimizer: bool = False


def _check_needs(game: Game, generator: PlayerSpec, critic: PlayerSpec) -> None:
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
class GANSpec:
    """A GAN: the method, both players and the latent prior; its iteration is the critic's
    n_critic updates, then the generator's.

    `instance_noise`, when set, perturbs the critic's inputs during its updates (InstanceNoise).
    `augment`, when set, makes the critic D∘T in both players' updates: every batch it scores
    goes through the random differentiable transformation T first (`augment.DiffAugment`).
    `pack` = m > 1 makes the critic score packs of m samples of one kind (`pack`; PacGAN, Lin et
    al. 2018): real packs and generated packs, never mixed, in both players' updates; the
    losses and penalties then see packs as their examples.
    `generator_ema_decay`, when set, keeps m_t = β·m_{t−1} + (1 − β)·θ_t (m_0 = 0) after every
    iteration, and evaluation samples from the debiased average m_t / (1 − β^t), a normalised
    exponential average of θ_1..θ_t (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging
    in GAN Training"; the correction is Adam's). Training uses the live parameters.

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
        _check_average(self.generator_ema_decay, self.generator)
        _check_needs(self.game, self.generator, self.critic)
        if self.pack < 1:
            raise ValueError(f"pack is the number of samples the critic scores together, at least 1, got {self.pack}")
        if self.pack > 1 and self.game.generator_needs.methods:
            raise ValueError(
                f"{self.game.name}'s generator loss pairs each sample with its own networks' outputs "
                f"({', '.join(self.game.generator_needs.methods)}), which packs of samples would scramble; use pack=1"
            )

    critic_scores_codes = False
    phase_optimizers = types.MappingProxyType({})

    @property
    def batches_per_iteration(self) -> int:
        """Real batches one iteration takes: one per critic update."""
        return self.game.n_critic

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (
            Phase("critic", "critic", _critic_objective, each_batch=True, stream=0),
            Phase("generator", "generator", _generator_objective, stream=1),
        )


@dataclasses.dataclass(frozen=True)
class VAESpec:
    """A one-player model trained on a reconstruction loss alone: a VAE's negative ELBO.

    `generator` is the model that generates (`models.VariationalAutoencoder`: the decoder with
    the encoder it is trained with); `generate` decodes draws of `sample_latent`.
    """

    generator: PlayerSpec
    sample_latent: LatentSampler
    loss: ReconstructionLoss = vae.negative_elbo
    generator_ema_decay: float | None = None

    def __post_init__(self):
        _check_average(self.generator_ema_decay, self.generator)
        _check_reconstructed(self.generator)

    critic = None
    critic_scores_codes = False
    pack = 1
    batches_per_iteration = 1
    phase_optimizers = types.MappingProxyType({})

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (Phase("reconstruction", "generator", _reconstruction_objective, stream=2),)


@dataclasses.dataclass(frozen=True)
class AAESpec:
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
        _check_average(self.generator_ema_decay, self.generator)
        _check_reconstructed(self.generator)
        _check_needs(self.game, self.generator, self.critic)

    critic_scores_codes = True
    instance_noise = None
    augment = None
    pack = 1

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
    def phases(self) -> tuple[Phase, ...]:
        return (
            Phase("reconstruction", "generator", _reconstruction_objective, stream=2),
            Phase("critic", "critic", _critic_objective, each_batch=True, stream=0),
            Phase("regularisation", "generator", _generator_objective, stream=1, own_optimizer=True),
        )


@dataclasses.dataclass(frozen=True)
class EBMSpec:
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

    generator = None
    generator_ema_decay = None
    critic_scores_codes = False
    instance_noise = None
    augment = None
    pack = 1
    batches_per_iteration = 1
    phase_optimizers = types.MappingProxyType({})

    @property
    def phases(self) -> tuple[Phase, ...]:
        return (Phase("energy", "critic", _energy_objective, stream=0),)

    def sample(self, variables: Variables, key: jax.Array, n: int) -> jax.Array:
        """n chains on the energy at `variables`, from n draws of `sample_latent`: `key` splits
        into the start's key and the chains' noise key."""
        key_start, key_chains = jax.random.split(key)
        energy = functools.partial(self.critic.apply, variables)
        start = self.sample_latent(key_start, n)
        return ebm.langevin(energy, start, key_chains, self.langevin_steps, self.step_size, self.noise_std)


TrainSpec = GANSpec | VAESpec | AAESpec | EBMSpec

# Compute dtypes by config name (train.precision): parameters and optimizer states stay float32.
PRECISIONS = types.MappingProxyType({"float32": jnp.float32, "bfloat16": jnp.bfloat16})


def in_precision(spec: TrainSpec, precision: str) -> TrainSpec:
    """`spec` with every player computing in the dtype `precision` names (`PRECISIONS`; mixed
    precision, `state.mixed_precision`): the generator, and the critic where there is one.

    Raises:
      ValueError: `precision` is not a name in PRECISIONS.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return spec
    players = {name: getattr(spec, name) for name in ("generator", "critic") if getattr(spec, name, None)}
    computing = {name: player.in_precision(PRECISIONS[precision]) for name, player in players.items()}
    return dataclasses.replace(spec, **computing)


def _check_average(decay: float | None, generator: PlayerSpec) -> None:
    if decay is None:
        return
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"generator_ema_decay must be in [0, 1), got {decay}")
    if generator.mutable and not isinstance(generator.module, nn.Module):
        raise ValueError(
            "an averaged generator needs batch-norm statistics of its own, which jaxgan measures through "
            "Flax Linen: build the generator with PlayerSpec.from_linen, or set no generator_ema_decay"
        )


def _check_reconstructed(model: PlayerSpec) -> None:
    if model.mutable:
        raise ValueError(
            "an auto-encoder's reconstruction loss calls its methods, whose running statistics no phase "
            f"keeps; use a model without mutable collections ({', '.join(model.mutable)})"
        )


def init_state(spec: TrainSpec, key: jax.Array, example_real: RealBatch) -> TrainState:
    """A fresh state: the players initialised, step 0, the run's base key.

    Args:
      spec: the model.
      key: PRNG key; it seeds the initialisation and becomes the state's base key.
      example_real: a batch shaped like the real data, (batch, *example) (a LabelledBatch for
        a conditional GAN); the state records the example's shape, which `make_train_step`
        checks its input against. Only shapes and dtypes matter, except to virtual batch norm,
        whose reference batch is the critic's example input and the generator's first codes.
    """
    key_generator, key_critic, key_latent, base = jax.random.split(key, 4)
    samples, condition = _condition(example_real)
    z = spec.sample_latent(key_latent, samples.shape[0])
    generator = None if spec.generator is None else init_player(spec.generator, key_generator, z, *condition)
    critic_inputs = z if spec.critic_scores_codes else pack(samples, spec.pack)
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        rng=base,
        generator=generator,
        critic=None if spec.critic is None else init_player(spec.critic, key_critic, critic_inputs, *condition),
        generator_ema=None if spec.generator_ema_decay is None else jax.tree.map(jnp.zeros_like, generator.params),
        phase_opt_states={name: tx.init(generator.params) for name, tx in spec.phase_optimizers.items()} or None,
        example=jax.tree.map(lambda batch: (tuple(batch.shape[1:]), jnp.dtype(batch.dtype).name), example_real),
    )


STANDING_STATISTICS_CODES = 2048  # codes the averaged generator's batch-norm statistics are measured on
# Those codes' key is the run's base key folded with a number no iteration reaches (iteration t
# folds in t), so every evaluation of one state measures the same statistics.
_STANDING_STATISTICS_STREAM = 2**32 - 1


def generate(
    spec: TrainSpec,
    state: TrainState,
    key: jax.Array,
    n: int,
    *,
    labels: jax.Array | None = None,
    variables: Variables | None = None,
    truncation: float | None = None,
) -> jax.Array:
    """n samples G(z), z drawn from the latent prior, in evaluation mode (batch norm uses its
    running statistics), at `variables` (`evaluated_generator`'s, say) or else the live
    generator's; for a conditional generator, G(z, y) with the n given `labels`. With
    `truncation` ψ, z is drawn from the standard normal prior truncated to [−ψ, ψ]
    (`truncated_normal_latent`, the truncation trick) in the prior's dimensions. An
    energy-based model's samples are its Langevin chains from fresh noise (`EBMSpec`), on the
    energy at `variables` or else the live one."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"generate: n is the number of samples, a positive int, got {n!r}")
    if labels is not None and labels.shape[0] != n:
        raise ValueError(f"generate: {n} samples asked for but {labels.shape[0]} labels given")
    if isinstance(spec, EBMSpec):  # its samples are Langevin chains on the energy, from noise
        if labels is not None or truncation is not None:
            raise ValueError("generate: an energy-based model takes no labels and no truncation")
        return spec.sample(state.critic.variables() if variables is None else variables, key, n)
    if truncation is None:
        z = spec.sample_latent(key, n)
    else:
        latent_dim = jax.eval_shape(lambda k: spec.sample_latent(k, 1), key).shape[-1]
        z = truncated_normal_latent(latent_dim, truncation)(key, n)
    condition = () if labels is None else (labels,)
    return spec.generator.apply(state.generator.variables() if variables is None else variables, z, *condition)


def evaluated_generator(spec: TrainSpec, state: TrainState) -> Variables:
    """The generator's variables that evaluation samples from (an energy-based model's energy):
    the live ones, or, when the spec keeps an average, the averaged parameters with batch-norm
    statistics of their own.

    The live running statistics belong to the live weights; normalising the average's
    activations by them shifts every layer and blurs its samples. So they are measured afresh
    at the averaged weights (`state.standing_statistics`) on STANDING_STATISTICS_CODES codes
    drawn from the state's own key, with the classes in turn for a conditional generator (a
    Linen module with `num_classes` > 0). Averaging the statistics along with the weights would
    not do: an average of the live networks' statistics is not the averaged network's.
    """
    if spec.generator is None:  # an energy-based model samples with its energy
        return state.critic.variables()
    if spec.generator_ema_decay is None:
        return state.generator.variables()
    variables = state.generator.variables(averaged_generator_params(spec, state))
    if not spec.generator.mutable:
        return variables
    z = spec.sample_latent(jax.random.fold_in(state.rng, _STANDING_STATISTICS_STREAM), STANDING_STATISTICS_CODES)
    num_classes = getattr(spec.generator.module, "num_classes", 0)
    condition = (jnp.arange(STANDING_STATISTICS_CODES) % num_classes,) if num_classes else ()
    return standing_statistics(spec.generator, variables, z, *condition)


def averaged_generator_params(spec: TrainSpec, state: TrainState):
    """The debiased average m_t / (1 − β^t); the live parameters before the first update."""
    if state.generator_ema is None:
        raise ValueError("this state keeps no generator average; set the spec's generator_ema_decay")
    correction = 1.0 - spec.generator_ema_decay ** state.step.astype(jnp.float32)
    started = state.step > 0
    return jax.tree.map(
        lambda m, p: jnp.where(started, m / jnp.where(started, correction, 1.0), p),
        state.generator_ema,
        state.generator.params,
    )


def _critic_objective(spec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The critic's loss on a real batch and a fresh generated batch; the generator is fixed.

    For an AAE the generated batch is the codes Enc(x) of the real batch and the critic's real
    batch is drawn from the prior. The critic scores the real and the generated batch in two
    calls, so batch norm never mixes them (article 003's tip; Salimans et al. 2016); its running
    statistics then advance over the real batch and the generated one, in that order, and
    spectral norm's u takes one power iteration in each call, as in mimicry's SNGAN.
    """
    key_fake, key_loss = jax.random.split(key)
    real, condition = _condition(real)
    z = spec.sample_latent(key_fake, real.shape[0])
    generator = bind(spec.generator, state.generator, condition=condition)
    if spec.critic_scores_codes:
        fake, real = jax.lax.stop_gradient(generator.method(spec.encode_method, real)), z
    else:
        fake = jax.lax.stop_gradient(generator(z))
    if spec.instance_noise is not None:
        # A key of its own (fold_in), so runs without noise keep their random stream.
        key_real_noise, key_fake_noise = jax.random.split(jax.random.fold_in(key, 1))
        std = spec.instance_noise.std_at(state.step)
        real = real + std * jax.random.normal(key_real_noise, real.shape, real.dtype)
        fake = fake + std * jax.random.normal(key_fake_noise, fake.shape, fake.dtype)
    real, fake = pack(real, spec.pack), pack(fake, spec.pack)
    variables = state.critic.variables(params)
    critic, transform = _as_the_losses_see_it(spec, BoundModel(spec.critic, variables, condition), key)
    loss, metrics = spec.game.critic_loss(critic, real, fake, key_loss)
    collections = state.critic.collections
    if spec.critic.mutable:
        for batch in (real, fake):
            collections = training_call(spec.critic, {**variables, **collections}, transform(batch), *condition)[1]
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


def _as_the_losses_see_it(spec, critic: BoundModel, key: jax.Array):
    """(critic, transform): D∘T with T drawn afresh at every call from the stream
    fold_in(key, 2) when the spec augments (`augment.AugmentedCritic`), else D and the identity."""
    if spec.augment is None:
        return critic, lambda batch: batch
    transform = FreshDraws(spec.augment, jax.random.fold_in(key, 2))
    return AugmentedCritic(critic, transform), transform


def _generator_objective(spec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The generator's loss against the current critic, which is fixed; for an AAE, the
    encoder's regularisation loss on the codes of the real batch.

    The generator's running statistics are those of its call on the latent codes.
    """
    real, condition = _condition(real)
    z = spec.sample_latent(key, real.shape[0])
    variables = state.generator.variables(params)
    if spec.critic_scores_codes:
        fake, collections = training_call(spec.generator, variables, real, *condition, method=spec.encode_method)
    else:
        fake, collections = training_call(spec.generator, variables, z, *condition)
    inputs = GeneratorInputs(
        latents=z, real=pack(real, spec.pack), generator=BoundModel(spec.generator, variables, condition)
    )
    critic, _ = _as_the_losses_see_it(spec, bind(spec.critic, state.critic, condition=condition), key)
    loss, metrics = spec.game.generator_loss(critic, pack(fake, spec.pack), inputs)
    return loss, (metrics, collections)


def _reconstruction_objective(spec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The model's reconstruction loss (`spec.loss`) on the real batch."""
    real, condition = _condition(real)
    loss, metrics = spec.loss(bind(spec.generator, state.generator, params, condition), real, key)
    return loss, (metrics, state.generator.collections)


def _energy_objective(spec: EBMSpec, state: TrainState, params, real: RealBatch, key: jax.Array):
    """The maximum-likelihood loss of an energy-based model (`ebm.maximum_likelihood_loss`): the
    real batch against as many Langevin chains, run from fresh noise on the energy as it stands
    and held constant."""
    real, _ = _condition(real)
    negatives = jax.lax.stop_gradient(spec.sample(state.critic.variables(), key, real.shape[0]))
    energy = functools.partial(spec.critic.apply, state.critic.variables(params))
    energy_data, energy_samples = energy(real), energy(negatives)
    loss = ebm.maximum_likelihood_loss(energy_data, energy_samples, spec.regularization)
    metrics = {"energy_data": jnp.mean(energy_data), "energy_samples": jnp.mean(energy_samples)}
    return loss, (metrics, state.critic.collections)


def _run_phase(spec: TrainSpec, phase: Phase, state: TrainState, real: RealBatch, key: jax.Array):
    """One update of `phase.player` along the gradient of `phase.objective`; every other array
    of the state is left as it was."""
    player = getattr(state, phase.player)
    objective = functools.partial(phase.objective, spec, state, real=real, key=key)
    (loss, (metrics, collections)), grads = jax.value_and_grad(objective, has_aux=True)(player.params)
    if phase.own_optimizer:
        params, opt_state = optimizer_step(
            spec.phase_optimizers[phase.name], player.params, state.phase_opt_states[phase.name], grads
        )
        state = state.replace(phase_opt_states={**state.phase_opt_states, phase.name: opt_state})
        player = player.replace(params=params, collections=collections)
    else:
        params, opt_state = optimizer_step(getattr(spec, phase.player).tx, player.params, player.opt_state, grads)
        player = player.replace(params=params, opt_state=opt_state, collections=collections)
    metrics = {**metrics, f"{phase.name}_loss": loss, f"{phase.name}_grad_norm": optax.tree.norm(grads)}
    return state.replace(**{phase.player: player}), metrics


def phase_metrics(spec: TrainSpec, metric: str) -> tuple[str, ...]:
    """The names under which each phase of `spec` logs `metric` ("loss" or "grad_norm"), in
    phase order: `reconstruction_loss`, `critic_loss`, `regularisation_loss` for an AAE."""
    return tuple(f"{phase.name}_{metric}" for phase in spec.phases)


def _phase_by_name(spec: TrainSpec, name: str) -> Phase:
    return next(phase for phase in spec.phases if phase.name == name)


def critic_step(spec: GANSpec | AAESpec, state: TrainState, real: RealBatch, key: jax.Array):
    """One critic update (the spec's "critic" phase) on a real batch; the generator is fixed."""
    return _run_phase(spec, _phase_by_name(spec, "critic"), state, real, key)


def generator_step(spec: GANSpec | AAESpec, state: TrainState, real: RealBatch, key: jax.Array):
    """One generator update against the current critic (an AAE's regularisation phase); the
    critic is fixed. `real` sets the generated batch's size; feature matching compares with it."""
    return _run_phase(spec, spec.phases[-1], state, real, key)


def reconstruction_step(spec: VAESpec | AAESpec, state: TrainState, real: RealBatch, key: jax.Array):
    """One update of the model on its reconstruction loss, with its own optimizer."""
    return _run_phase(spec, _phase_by_name(spec, "reconstruction"), state, real, key)


def _update_generator_average(spec: TrainSpec, state: TrainState) -> TrainState:
    """m_t = β·m_{t−1} + (1 − β)·θ_t after an iteration, when the spec keeps an average."""
    if spec.generator_ema_decay is None:
        return state
    ema = optax.incremental_update(
        state.generator.params, state.generator_ema, step_size=1.0 - spec.generator_ema_decay
    )
    return state.replace(generator_ema=ema)


def _stream_key(step_key: jax.Array, stream: int) -> jax.Array:
    """The iteration's key for a phase's stream (see `Phase.stream`)."""
    return jax.random.split(step_key)[stream] if stream < 2 else jax.random.fold_in(step_key, stream)


def train_step(spec: TrainSpec, state: TrainState, real: RealBatch, *, unroll: bool = False):
    """One iteration: the spec's phases in order, then the generator average.

    Args:
      spec: the model.
      state: the current state.
      real: one real batch per critic update, shape (n_critic, batch, ...), or (1, batch, ...)
        for a one-player model; for a conditional GAN a LabelledBatch whose labels are
        (n_critic, batch). Phases that run once take the last batch.
      unroll: write the loop over critic updates out instead of `lax.scan` (see make_train_step).

    Returns:
      The new state (step + 1) and metrics: each phase's, the last update's for a repeated one.
    """
    n_batches, shape = spec.batches_per_iteration, _condition(real)[0].shape
    if shape[0] != n_batches:
        raise ValueError(
            f"train_step needs {n_batches} real batches (one per critic update) stacked on axis 0, got shape {shape}"
        )
    step_key = jax.random.fold_in(state.rng, state.step)
    last_batch = jax.tree.map(lambda r: r[-1], real)
    metrics = {}
    for phase in spec.phases:
        key = _stream_key(step_key, phase.stream)
        if phase.each_batch:

            def update(state, batch_and_key, phase=phase):
                return _run_phase(spec, phase, state, *batch_and_key)

            state, repeated = _loop(update, state, (real, jax.random.split(key, n_batches)), unroll)
            metrics.update(jax.tree.map(lambda m: m[-1], repeated))
        else:
            state, phase_metrics = _run_phase(spec, phase, state, last_batch, key)
            metrics.update(phase_metrics)
    return _update_generator_average(spec, state).replace(step=state.step + 1), metrics


def train_steps(spec: TrainSpec, state: TrainState, real: RealBatch, *, unroll: bool = False):
    """Several iterations in one program (lax.scan over `train_step`).

    Args:
      real: shape (iterations, n_critic, batch, ...), or a LabelledBatch of such arrays.
      unroll: write the loops out instead of `lax.scan` (see make_train_step).

    Returns:
      The state after all iterations and each metric averaged over them (a NaN or inf in any
      iteration makes the average non-finite, so checking the average is enough).
    """
    state, metrics = _loop(lambda s, r: train_step(spec, s, r, unroll=unroll), state, real, unroll)
    return state, jax.tree.map(jnp.mean, metrics)


def _loop(body, state, xs, unroll: bool):
    """`lax.scan(body, state, xs)`, or the same loop written out when `unroll` (see make_train_step)."""
    if not unroll:
        return jax.lax.scan(body, state, xs)
    outputs = []
    for i in range(jax.tree.leaves(xs)[0].shape[0]):
        state, output = body(state, jax.tree.map(lambda x: x[i], xs))
        outputs.append(output)
    return state, jax.tree.map(lambda *values: jnp.stack(values), *outputs)


def make_train_step(spec: TrainSpec, mesh: Mesh | None = None, *, unroll: bool = False) -> TrainStep:
    """`train_steps` for `spec`, jitted once, with the input state's buffers donated.

    The returned function takes `(state, real)` with `real` shaped
    (iterations, n_critic, batch, ...), checks that shape against the state's `example` before
    tracing (`check_real_chunk`), and compiles once per distinct shape. With a `mesh` (see
    `jaxgan.parallel`), the batch axis of `real` is split over the mesh's `data` axis and the
    state is replicated; XLA reduces the gradients across devices, so the result is the
    single-device computation on the global batch.

    `unroll` writes the loop over critic updates out in straight code instead of `lax.scan`,
    compiles one iteration, and calls it once per iteration of `real` (metrics averaged as
    `train_steps` averages them), so compiling costs one iteration whatever the chunk's length.
    XLA:CPU runs convolutions inside a loop body far slower (`python -m jaxgan.bench dcgan`
    measures it), so convolutional models want it there (`unroll_loops`); MLPs run faster in
    `lax.scan`, and on a GPU it changes nothing but the number of calls.
    """
    step = functools.partial(train_step if unroll else train_steps, spec, unroll=unroll)
    if mesh is None:
        jitted = jax.jit(step, donate_argnums=0)
    else:
        state_sharding = parallel.replicated(mesh)
        jitted = jax.jit(
            step,
            in_shardings=(state_sharding, parallel.batch_sharding(mesh, batch_axis=1 if unroll else 2)),
            out_shardings=(state_sharding, state_sharding),
            donate_argnums=0,
        )
    return TrainStep(spec, jitted, per_iteration=unroll)


UNROLL_SETTINGS = ("auto", "true", "false")  # train.unroll_loops's values


def unroll_loops(setting: str, convolutional: bool, backend: str | None = None) -> bool:
    """The `train.unroll_loops` setting resolved: "true" or "false" as given; "auto" writes the
    loops out (`make_train_step(unroll=True)`) for convolutional players on a CPU backend, where
    XLA:CPU runs convolutions inside `lax.scan` about 14 times slower, and keeps `lax.scan`
    everywhere else (an MLP is faster scanned on a CPU too, and compiles in a fraction of the time).

    Raises:
      ValueError: for a setting other than auto, true or false.
    """
    if setting not in UNROLL_SETTINGS:
        raise ValueError(f"train.unroll_loops={setting!r}: choose one of {', '.join(UNROLL_SETTINGS)}")
    if setting == "auto":
        return convolutional and (backend or jax.default_backend()) == "cpu"
    return setting == "true"


class TrainStep(NamedTuple):
    """A jitted `train_steps` whose input is checked in jaxgan's words before XLA sees it;
    `lower` is the jitted function's (for cost analysis). With `per_iteration`, `jitted` is one
    iteration (`train_step`), called on each iteration of the chunk in turn."""

    spec: TrainSpec
    jitted: Callable[[TrainState, RealBatch], tuple[TrainState, Metrics]]
    per_iteration: bool = False

    def __call__(self, state: TrainState, real: RealBatch) -> tuple[TrainState, Metrics]:
        check_real_chunk(self.spec, state, real)
        if not self.per_iteration:
            return self.jitted(state, real)
        outputs = []
        for i in range(jax.tree.leaves(real)[0].shape[0]):
            state, metrics = self.jitted(state, jax.tree.map(lambda r: r[i], real))
            outputs.append(metrics)
        return state, jax.tree.map(lambda *values: jnp.mean(jnp.stack(values)), *outputs)

    def lower(self, state: TrainState, real: RealBatch):
        """The compiled program's lowering: the whole chunk's, or one iteration's with `per_iteration`."""
        return self.jitted.lower(state, jax.tree.map(lambda r: r[0], real) if self.per_iteration else real)


def check_real_chunk(spec: TrainSpec, state: TrainState, real: RealBatch) -> None:
    """Refuse real data that does not fit the step: not arrays, an empty iterations or batch
    axis, the wrong number of batches per iteration, examples shaped unlike those the players
    were built for (`state.example`), integer samples or non-integer labels, batches that do
    not split into the critic's packs.

    Raises:
      ValueError: naming the problem and the expected layout.
    """
    layout = f"(iterations, {spec.batches_per_iteration} batches per iteration, batch, *example)"
    samples, condition = _condition(real)
    for name, array in (("real", samples), *(("labels", labels) for labels in condition)):
        if not hasattr(array, "shape") or not hasattr(array, "dtype"):
            raise ValueError(f"{name} must be a numpy or JAX array shaped {layout}, got {type(array).__name__}")
    if samples.ndim < 3 or min(samples.shape[:3]) < 1 or samples.shape[1] != spec.batches_per_iteration:
        raise ValueError(f"real must be shaped {layout} with every axis non-empty, got {samples.shape}")
    if not jnp.issubdtype(samples.dtype, jnp.floating):
        raise ValueError(f"real samples must be floating point (images scaled to [−1, 1]), got {samples.dtype}")
    if samples.shape[2] % spec.pack or (condition and spec.pack > 1):
        raise ValueError(
            f"the critic scores packs of {spec.pack} samples: give unlabelled batches whose size is a multiple "
            f"of {spec.pack} (got {samples.shape[2]}{', with labels' if condition else ''}), or set pack=1"
        )
    for labels in condition:
        if labels.shape != samples.shape[:3] or not jnp.issubdtype(labels.dtype, jnp.integer):
            raise ValueError(
                f"labels must be integers shaped {samples.shape[:3]}, got {labels.dtype} {tuple(labels.shape)}"
            )
    if state.example is not None:
        expected = _condition(state.example)[0] if isinstance(state.example, LabelledBatch) else state.example
        if tuple(samples.shape[3:]) != expected[0]:
            raise ValueError(
                f"each real example has shape {tuple(samples.shape[3:])}, but the players were built for "
                f"{expected[0]}; give data of that shape or build the players for this data"
            )


def make_multi_seed_train_step(spec: TrainSpec) -> Callable[[TrainState, jax.Array], tuple[TrainState, Metrics]]:
    """`train_steps` vmapped over independent runs, one program for all of them.

    Takes states stacked on a leading axis (`init_states`) and real data shaped
    (runs, iterations, n_critic, batch, ...); returns the stacked states and per-run metrics.
    """
    return jax.jit(jax.vmap(functools.partial(train_steps, spec)), donate_argnums=0)


def init_states(spec: TrainSpec, keys: jax.Array, example_real: RealBatch) -> TrainState:
    """`init_state` for each key, stacked on a leading axis (one independent run per key)."""
    return jax.vmap(lambda key: init_state(spec, key, example_real))(keys)
