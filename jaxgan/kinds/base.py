"""The model-kind protocol that the generic step (`jaxgan.steps`) runs, and what kinds share.

A kind is the maths of one kind of model (a GAN, a VAE, an AAE, an energy-based model) as a
frozen dataclass of its own fields. The step asks it for its phases and players, the state
fields it initialises, its samples and the variables evaluation samples with; it never asks
which kind it is.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxgan.games import Metrics
from jaxgan.state import BoundModel, PlayerSpec, TrainState, Variables, init_player, standing_statistics

LatentSampler = Callable[[jax.Array, int], jax.Array]  # sample(key, n) -> (n, ...) codes
# The generator average's decay: a constant β, or β_t of the iteration t = 0, 1, ... with β_0 = 0
# (`average_half_life_burn_in`).
AverageDecay = float | Callable[[jax.Array], jax.Array]
# reconstruction_loss(model, real, key) -> (loss, metrics); minimised over the generator player.
ReconstructionLoss = Callable[[BoundModel, jax.Array, jax.Array], tuple[jax.Array, Metrics]]
# objective(kind, state, params, real, key) -> (loss, (metrics, collections)): one phase's loss
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


def samples_and_condition(real: RealBatch) -> tuple[jax.Array, tuple]:
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
      own_optimizer: the phase updates its player with `kind.phase_optimizers[name]` and state
        `phase_opt_states[name]`, so its momentum never mixes with the player's own optimizer.
    """

    name: str
    player: str
    objective: Objective
    each_batch: bool = False
    stream: int = 0
    own_optimizer: bool = False


class InitKeys(NamedTuple):
    """The keys `steps.init_state` splits its key into (in this order, for every kind)."""

    generator: jax.Array
    critic: jax.Array
    latent: jax.Array


class ModelKind(Protocol):
    """What the generic step (`jaxgan.steps`) and the loop ask of a model; nothing else.

    Attributes:
      phases: the updates of one iteration, in order.
      players: the state's player fields the kind trains, and their specs.
      batches_per_iteration: the real batches one iteration takes (a repeated phase runs once
        on each).
      phase_optimizers: the optimizers of the phases that have their own, by phase name.
    """

    phases: tuple[Phase, ...]
    players: Mapping[str, PlayerSpec]
    batches_per_iteration: int
    phase_optimizers: Mapping[str, optax.GradientTransformation]

    def init_fields(self, keys: InitKeys, example_real: RealBatch) -> dict[str, Any]:
        """The TrainState fields the kind starts with, players first."""

    def sample(self, state: TrainState, key: jax.Array, n: int, **options) -> jax.Array:
        """n samples in evaluation mode (`steps.generate` checks the options first)."""

    def evaluated_variables(self, state: TrainState) -> Variables:
        """The variables evaluation samples with (`steps.evaluated_generator`)."""

    def after_iteration(self, state: TrainState) -> TrainState:
        """What follows an iteration's phases (the generator average's update)."""

    def check_real(self, samples: jax.Array, condition: tuple) -> None:
        """Refuse a real chunk the kind cannot take (a ValueError naming the fix)."""


class KindDefaults:
    """What a kind has unless it says otherwise: one batch and no optimizer of a phase's own per
    iteration, nothing after the phases, any real batch."""

    batches_per_iteration = 1
    phase_optimizers = types.MappingProxyType({})

    def after_iteration(self, state: TrainState) -> TrainState:
        return state

    def check_real(self, samples: jax.Array, condition: tuple) -> None:
        del samples, condition


STANDING_STATISTICS_CODES = 2048  # codes the averaged generator's batch-norm statistics are measured on
# Those codes' key is the run's base key folded with a number no iteration reaches (iteration t
# folds in t), so every evaluation of one state measures the same statistics.
_STANDING_STATISTICS_STREAM = 2**32 - 1


class WithGenerator(KindDefaults):
    """The kinds that generate with a network from latent codes (GAN, VAE, AAE): their fields
    `generator`, `sample_latent` and `generator_ema_decay`.

    `generator_ema_decay`, when set, keeps m_t = β·m_{t−1} + (1 − β)·θ_t (m_0 = 0) after every
    iteration, and evaluation samples from the debiased average m_t / (1 − β^t), a normalised
    exponential average of θ_1..θ_t (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging
    in GAN Training"; the correction is Adam's). Training uses the live parameters. A decay
    that changes with the iteration, β_t with β_0 = 0 (R3GAN's burn-in of the half-life), keeps
    m_t = β_t·m_{t−1} + (1 − β_t)·θ_t, already a normalised average of θ_1..θ_t: no correction.
    """

    generator: PlayerSpec
    sample_latent: LatentSampler
    generator_ema_decay: AverageDecay | None

    def sample(self, state, key, n, *, labels=None, variables=None, truncation=None):
        """G(z) of n codes of the prior (truncated at ψ = `truncation` when given), G(z, y) with
        `labels`, at `variables` or else the live generator's."""
        if truncation is None:
            z = self.sample_latent(key, n)
        else:
            latent_dim = jax.eval_shape(lambda k: self.sample_latent(k, 1), key).shape[-1]
            z = truncated_normal_latent(latent_dim, truncation)(key, n)
        condition = () if labels is None else (labels,)
        return self.generator.apply(state.generator.variables() if variables is None else variables, z, *condition)

    def evaluated_variables(self, state: TrainState) -> Variables:
        """The live generator's variables, or, when the kind keeps an average, the averaged
        parameters with batch-norm statistics of their own.

        The live running statistics belong to the live weights; normalising the average's
        activations by them shifts every layer and blurs its samples. So they are measured
        afresh at the averaged weights (`state.standing_statistics`) on STANDING_STATISTICS_CODES
        codes drawn from the state's own key, with the classes in turn for a conditional
        generator (a Linen module with `num_classes` > 0). Averaging the statistics along with
        the weights would not do: an average of the live networks' statistics is not the
        averaged network's.
        """
        if self.generator_ema_decay is None:
            return state.generator.variables()
        variables = state.generator.variables(self.averaged_params(state))
        if not self.generator.mutable:
            return variables
        z = self.sample_latent(jax.random.fold_in(state.rng, _STANDING_STATISTICS_STREAM), STANDING_STATISTICS_CODES)
        num_classes = getattr(self.generator.module, "num_classes", 0)
        condition = (jnp.arange(STANDING_STATISTICS_CODES) % num_classes,) if num_classes else ()
        return standing_statistics(self.generator, variables, z, *condition)

    def averaged_params(self, state: TrainState):
        """The debiased average m_t / (1 − β^t); the live parameters before the first update."""
        if state.generator_ema is None:
            raise ValueError("this state keeps no generator average; set the spec's generator_ema_decay")
        decay = self.generator_ema_decay
        correction = 1.0 if callable(decay) else 1.0 - decay ** state.step.astype(jnp.float32)
        started = state.step > 0
        return jax.tree.map(
            lambda m, p: jnp.where(started, m / jnp.where(started, correction, 1.0), p),
            state.generator_ema,
            state.generator.params,
        )

    def after_iteration(self, state: TrainState) -> TrainState:
        """m_t = β·m_{t−1} + (1 − β)·θ_t after an iteration, when the kind keeps an average."""
        if self.generator_ema_decay is None:
            return state
        decay = self.generator_ema_decay
        beta = decay(state.step) if callable(decay) else decay
        ema = optax.incremental_update(state.generator.params, state.generator_ema, step_size=1.0 - beta)
        return state.replace(generator_ema=ema)

    def init_generator(self, keys: InitKeys, example_real: RealBatch) -> tuple[dict[str, Any], jax.Array]:
        """(fields, z): the state's `generator` initialised on as many codes z of the prior as the
        example batch has rows (with its labels, for a conditional generator), and its
        `generator_ema` of zeros when the kind keeps an average; and those codes."""
        samples, condition = samples_and_condition(example_real)
        z = self.sample_latent(keys.latent, samples.shape[0])
        generator = init_player(self.generator, keys.generator, z, *condition)
        if self.generator_ema_decay is None:
            return {"generator": generator}, z
        return {"generator": generator, "generator_ema": jax.tree.map(jnp.zeros_like, generator.params)}, z


def average_half_life_burn_in(half_life: float, iterations: int) -> Callable[[jax.Array], jax.Array]:
    """β_t = 2^(−1/h_t) with the half-life h_t = H·(1 − cos(π·min(t, T)/T))/2 iterations: the
    generator average's memory grows from none (β_0 = 0) to a half-life of H along a half
    cosine over T iterations, then stays (R3GAN's burn-in, Huang et al. 2024: 0 to 5 M images
    over 20 M on CIFAR-10).

    Raises:
      ValueError: H is not above 0, or T is not a positive int.
    """
    if not 0 < half_life < float("inf") or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(
            "the average's half-life must be above 0 and its burn-in at least 1 iteration, "
            f"got {half_life} and {iterations}"
        )

    def decay(iteration: jax.Array) -> jax.Array:
        progress = jnp.minimum(jnp.asarray(iteration, jnp.float32), iterations) / iterations
        h = half_life * 0.5 * (1.0 - jnp.cos(jnp.pi * progress))
        return jnp.where(h > 0, 0.5 ** (1.0 / jnp.where(h > 0, h, 1.0)), 0.0)

    return decay


def check_average(decay: AverageDecay | None, generator: PlayerSpec) -> None:
    """Refuse a generator average's decay outside [0, 1), a decay schedule that does not start at
    0, or an average a generator's batch norm cannot follow."""
    if decay is None:
        return
    if callable(decay):
        if float(decay(jnp.zeros((), jnp.int32))) != 0.0:
            raise ValueError("a generator_ema_decay that changes with the iteration must be 0 at the first")
    elif not 0.0 <= decay < 1.0:
        raise ValueError(f"generator_ema_decay must be in [0, 1), got {decay}")
    if generator.mutable and not isinstance(generator.module, nn.Module):
        raise ValueError(
            "an averaged generator needs batch-norm statistics of its own, which jaxgan measures through "
            "Flax Linen: build the generator with PlayerSpec.from_linen, or set no generator_ema_decay"
        )
