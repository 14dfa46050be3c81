"""Pure training transitions and the one place where they are jitted.

One generator iteration (`train_step`) is `n_critic` critic updates under `lax.scan` followed
by one generator update; `train_steps` scans that over several iterations so that a whole chunk
of training is a single XLA program. Nothing here is jitted except by `make_train_step`.

Autoencoders run in the same loop. A `reconstruction_loss` adds a phase before the critic's that
trains the generator player on the real batch alone: with no game, that phase is the whole of a
one-player model (a VAE); with a game and an `AdversarialEncoder`, it is the first of an
adversarial autoencoder's three phases (reconstruction, critic, regularisation).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from jaxgan import parallel
from jaxgan.games import Game, GeneratorInputs, Metrics
from jaxgan.state import BoundModel, GANState, PlayerSpec, apply_gradients, bind, init_player, optimizer_step

LatentSampler = Callable[[jax.Array, int], jax.Array]  # sample(key, n) -> (n, ...) codes
# reconstruction_loss(model, real, key) -> (loss, metrics); minimised over the generator player.
ReconstructionLoss = Callable[[BoundModel, jax.Array, jax.Array], tuple[jax.Array, Metrics]]


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
            raise ValueError(f"instance noise needs std >= 0 and anneal_steps >= 1, got {self.std}, {self.anneal_steps}")

    def std_at(self, step: jax.Array) -> jax.Array:
        """σ_t for generator iteration `step`."""
        return self.std * jnp.maximum(0.0, 1.0 - step.astype(jnp.float32) / self.anneal_steps)


@dataclasses.dataclass(frozen=True)
class AdversarialEncoder:
    """The generator player seen by the adversarial phases as an encoder of the data (AAE).

    The critic then tells the codes Enc(x) of a real batch, computed by the generator's method
    `method`, from draws of the spec's `sample_latent`, which is the prior p(z); the generator's
    update (Makhzani et al. 2015's regularisation phase) moves the encoder to fool it. That
    update has its own optimizer `tx`, whose state is `GANState.encoder_opt_state`, so the
    reconstruction phase's momentum (the generator's own optimizer) never moves the encoder here,
    and the decoder, whose gradient in this phase is zero, stays put.
    """

    method: str
    tx: optax.GradientTransformation


@dataclasses.dataclass(frozen=True)
class GANSpec:
    """Everything static about a GAN: the method, both players and the latent prior.

    `instance_noise`, when set, perturbs the critic's inputs during its updates (InstanceNoise).
    `generator_ema_decay`, when set, keeps m_t = β·m_{t−1} + (1 − β)·θ_t (m_0 = 0) after every
    generator update, and evaluation samples from the debiased average m_t / (1 − β^t), a
    normalised exponential average of θ_1..θ_t (Yazıcı et al. 2019, "The Unusual Effectiveness
    of Averaging in GAN Training"; the correction is Adam's). Training uses the live parameters.
    `unroll_loops` writes the loops over critic updates and over iterations out in straight
    code instead of `lax.scan`. XLA:CPU runs convolutions inside a loop body far slower
    (`python -m jaxgan.bench dcgan` measures it), so convolutional models want it; it costs
    compile time proportional to the loop lengths.
    `reconstruction_loss`, when set, trains the generator player on each real batch with its own
    optimizer before the critic's updates (see the module docstring); `game` and `critic` are
    then None for a one-player model. `encoder` makes the adversarial phases encode the data
    (AdversarialEncoder); the generator's own call still decodes, so `generate` draws
    G(z), z ~ p(z).
    """

    game: Game | None
    generator: PlayerSpec
    critic: PlayerSpec | None
    sample_latent: LatentSampler
    generator_ema_decay: float | None = None
    instance_noise: InstanceNoise | None = None
    unroll_loops: bool = False
    reconstruction_loss: ReconstructionLoss | None = None
    encoder: AdversarialEncoder | None = None

    def __post_init__(self):
        if self.generator_ema_decay is not None and not 0.0 <= self.generator_ema_decay < 1.0:
            raise ValueError(f"generator_ema_decay must be in [0, 1), got {self.generator_ema_decay}")
        if (self.game is None) != (self.critic is None):
            raise ValueError("a GANSpec needs both a game and a critic, or neither (a one-player model)")
        if self.game is None and self.reconstruction_loss is None:
            raise ValueError("a GANSpec without a game trains nothing; give it a reconstruction_loss (a VAE's "
                             "negative ELBO, say) or a game and a critic")
        if self.game is not None and self.reconstruction_loss is not None and self.encoder is None:
            raise ValueError("a reconstruction_loss beside a game needs an AdversarialEncoder, whose optimizer keeps the "
                             "adversarial update's momentum apart from the reconstruction phase's")
        if self.encoder is not None and self.game is None:
            raise ValueError("an AdversarialEncoder needs a game and a critic to play against")

    @property
    def batches_per_iteration(self) -> int:
        """Real batches one iteration takes: one per critic update, or one for a one-player model."""
        return 1 if self.game is None else self.game.n_critic


def init_state(spec: GANSpec, key: jax.Array, example_real: RealBatch) -> GANState:
    """A fresh state: both players initialised, step 0, the run's base key.

    Args:
      spec: the GAN.
      key: PRNG key; it seeds the initialisation and becomes the state's base key.
      example_real: a batch shaped like the real data (a LabelledBatch for a conditional GAN).
        Only shapes and dtypes matter, except to virtual batch norm, whose reference batch is
        the critic's example input and the generator's first codes.
    """
    key_generator, key_critic, key_latent, base = jax.random.split(key, 4)
    samples, condition = _condition(example_real)
    z = spec.sample_latent(key_latent, samples.shape[0])
    generator = init_player(spec.generator, key_generator, z, *condition)
    ema = None if spec.generator_ema_decay is None else jax.tree.map(jnp.zeros_like, generator.params)
    critic_inputs = z if spec.encoder is not None else samples  # an AAE's critic scores codes
    return GANState(
        step=jnp.zeros((), jnp.int32),
        rng=base,
        generator=generator,
        critic=None if spec.critic is None else init_player(spec.critic, key_critic, critic_inputs, *condition),
        generator_ema=ema,
        encoder_opt_state=None if spec.encoder is None else spec.encoder.tx.init(generator.params),
    )


def generate(spec: GANSpec, state: GANState, key: jax.Array, n: int, *, labels: jax.Array | None = None,
             use_ema: bool = False) -> jax.Array:
    """n samples G(z), z drawn from the latent prior, in evaluation mode (batch norm uses its
    running statistics); with `use_ema`, from the averaged generator; for a conditional
    generator, G(z, y) with the n given `labels`."""
    if use_ema and state.generator_ema is None:
        raise ValueError("use_ema=True but this state keeps no generator average; set GANSpec.generator_ema_decay")
    if labels is not None and labels.shape[0] != n:
        raise ValueError(f"generate: {n} samples asked for but {labels.shape[0]} labels given")
    z = spec.sample_latent(key, n)
    params = averaged_generator_params(spec, state) if use_ema else None
    condition = () if labels is None else (labels,)
    return spec.generator.apply(state.generator.variables(params), z, *condition)


def averaged_generator_params(spec: GANSpec, state: GANState):
    """The debiased average m_t / (1 − β^t); the live parameters before the first update."""
    correction = 1.0 - spec.generator_ema_decay ** state.step.astype(jnp.float32)
    started = state.step > 0
    return jax.tree.map(
        lambda m, p: jnp.where(started, m / jnp.where(started, correction, 1.0), p),
        state.generator_ema,
        state.generator.params,
    )


def critic_step(spec: GANSpec, state: GANState, real: RealBatch, key: jax.Array):
    """One critic update on a real batch and a fresh generated batch; the generator is fixed.

    Both players run in training mode. With an `AdversarialEncoder`, the generated batch is the
    codes Enc(x) of the real batch and the critic's real batch is drawn from the prior. The
    critic scores the real and the generated batch in two calls, so batch norm never mixes them
    (article 003's tip; Salimans et al. 2016), and keeps its updated batch statistics; the
    generator's are dropped, it is not being trained.
    """
    key_fake, key_loss = jax.random.split(key)
    real, condition = _condition(real)
    z = spec.sample_latent(key_fake, real.shape[0])
    generator = bind(spec.generator, state.generator, condition=condition)
    if spec.encoder is None:
        fake = jax.lax.stop_gradient(generator(z))
    else:  # an AAE's critic tells the codes of the data (fake) from draws of the prior (real)
        fake, real = jax.lax.stop_gradient(generator.method(spec.encoder.method, real)), z
    if spec.instance_noise is not None:
        # A key of its own (fold_in), so runs without noise keep their random stream.
        key_real_noise, key_fake_noise = jax.random.split(jax.random.fold_in(key, 1))
        std = spec.instance_noise.std_at(state.step)
        real = real + std * jax.random.normal(key_real_noise, real.shape, real.dtype)
        fake = fake + std * jax.random.normal(key_fake_noise, fake.shape, fake.dtype)

    def objective(params):
        critic = bind(spec.critic, state.critic, params, condition)
        loss, metrics = spec.game.critic_loss(critic, real, fake, key_loss)
        return loss, (metrics, critic.collections)

    (loss, (metrics, collections)), grads = jax.value_and_grad(objective, has_aux=True)(state.critic.params)
    critic = apply_gradients(spec.critic, state.critic, grads).replace(collections=collections)
    metrics = {**metrics, "critic_loss": loss, "critic_grad_norm": optax.tree.norm(grads)}
    return state.replace(critic=critic), metrics


def generator_step(spec: GANSpec, state: GANState, real: RealBatch, key: jax.Array):
    """One generator update against the current critic; the critic is fixed.

    Args:
      real: a real batch; its size sets the generated batch's, and losses such as feature
        matching compare against it.
      key: PRNG key for the latent codes.

    The generator keeps its updated batch statistics; the critic's are dropped.
    """
    real, condition = _condition(real)
    z = spec.sample_latent(key, real.shape[0])

    def objective(params):
        generator = bind(spec.generator, state.generator, params, condition)
        fake = generator(z) if spec.encoder is None else generator.method(spec.encoder.method, real)
        inputs = GeneratorInputs(latents=z, real=real, generator=generator)
        loss, metrics = spec.game.generator_loss(bind(spec.critic, state.critic, condition=condition), fake, inputs)
        return loss, (metrics, generator.collections)

    (loss, (metrics, collections)), grads = jax.value_and_grad(objective, has_aux=True)(state.generator.params)
    metrics = {**metrics, "generator_loss": loss, "generator_grad_norm": optax.tree.norm(grads)}
    if spec.encoder is None:
        generator = apply_gradients(spec.generator, state.generator, grads).replace(collections=collections)
        state = state.replace(generator=generator)
    else:  # the regularisation phase, with the encoder's optimizer and state
        params, encoder_opt_state = optimizer_step(spec.encoder.tx, state.generator.params, state.encoder_opt_state,
                                                   grads)
        generator = state.generator.replace(params=params, collections=collections)
        state = state.replace(generator=generator, encoder_opt_state=encoder_opt_state)
    return _update_generator_average(spec, state), metrics


def _update_generator_average(spec: GANSpec, state: GANState) -> GANState:
    """m_t = β·m_{t−1} + (1 − β)·θ_t after a generator update, when the spec keeps an average."""
    if spec.generator_ema_decay is None:
        return state
    ema = optax.incremental_update(state.generator.params, state.generator_ema, step_size=1.0 - spec.generator_ema_decay)
    return state.replace(generator_ema=ema)


def reconstruction_step(spec: GANSpec, state: GANState, real: RealBatch, key: jax.Array):
    """One update of the generator player on `spec.reconstruction_loss` of a real batch, with the
    generator's own optimizer: an AAE's reconstruction phase, or a VAE's whole update.

    The generator keeps its updated batch statistics. With no game, this update is the
    generator's last of the iteration and the parameter average follows it.
    """
    real, condition = _condition(real)

    def objective(params):
        model = bind(spec.generator, state.generator, params, condition)
        loss, metrics = spec.reconstruction_loss(model, real, key)
        return loss, (metrics, model.collections)

    (loss, (metrics, collections)), grads = jax.value_and_grad(objective, has_aux=True)(state.generator.params)
    generator = apply_gradients(spec.generator, state.generator, grads).replace(collections=collections)
    state = state.replace(generator=generator)
    metrics = {**metrics, "reconstruction_loss": loss, "reconstruction_grad_norm": optax.tree.norm(grads)}
    return (_update_generator_average(spec, state) if spec.game is None else state), metrics


def train_step(spec: GANSpec, state: GANState, real: RealBatch) -> tuple[GANState, Metrics]:
    """One generator iteration: the reconstruction update if the spec has one, then `n_critic`
    critic updates (lax.scan) and one generator update if it has a game.

    Args:
      spec: the GAN.
      state: the current state.
      real: one real batch per critic update, shape (n_critic, batch, ...), or (1, batch, ...)
        for a one-player model; for a conditional GAN a LabelledBatch whose labels are
        (n_critic, batch). The reconstruction update takes the last batch, as the generator's does.

    Returns:
      The new state (step + 1) and metrics: the reconstruction update's, the last critic
      update's and the generator's.
    """
    n_batches, shape = spec.batches_per_iteration, _condition(real)[0].shape
    if shape[0] != n_batches:
        raise ValueError(
            f"train_step needs {n_batches} real batches (one per critic update) stacked on axis 0, got shape {shape}"
        )
    step_key = jax.random.fold_in(state.rng, state.step)
    last_batch = jax.tree.map(lambda r: r[-1], real)
    metrics = {}
    if spec.reconstruction_loss is not None:  # its own key, so GAN runs keep their random stream
        state, metrics = reconstruction_step(spec, state, last_batch, jax.random.fold_in(step_key, 2))
    if spec.game is not None:
        key_critic, key_generator = jax.random.split(step_key)

        def critic_update(state, batch_and_key):
            return critic_step(spec, state, *batch_and_key)

        critic_keys = jax.random.split(key_critic, n_batches)
        state, critic_metrics = _loop(critic_update, state, (real, critic_keys), spec.unroll_loops)
        state, generator_metrics = generator_step(spec, state, last_batch, key_generator)
        metrics.update(jax.tree.map(lambda m: m[-1], critic_metrics), **generator_metrics)
    return state.replace(step=state.step + 1), metrics


def train_steps(spec: GANSpec, state: GANState, real: RealBatch) -> tuple[GANState, Metrics]:
    """Several generator iterations in one program (lax.scan over `train_step`).

    Args:
      real: shape (iterations, n_critic, batch, ...), or a LabelledBatch of such arrays.

    Returns:
      The state after all iterations and each metric averaged over them (a NaN or inf in any
      iteration makes the average non-finite, so checking the average is enough).
    """
    state, metrics = _loop(lambda s, r: train_step(spec, s, r), state, real, spec.unroll_loops)
    return state, jax.tree.map(jnp.mean, metrics)


def _loop(body, state, xs, unroll: bool):
    """`lax.scan(body, state, xs)`, or the same loop written out when `unroll` (see GANSpec)."""
    if not unroll:
        return jax.lax.scan(body, state, xs)
    outputs = []
    for i in range(jax.tree.leaves(xs)[0].shape[0]):
        state, output = body(state, jax.tree.map(lambda x: x[i], xs))
        outputs.append(output)
    return state, jax.tree.map(lambda *values: jnp.stack(values), *outputs)


def make_train_step(spec: GANSpec, mesh: Mesh | None = None) -> Callable[[GANState, jax.Array], tuple[GANState, Metrics]]:
    """`train_steps` for `spec`, jitted once, with the input state's buffers donated.

    The returned function takes `(state, real)` with `real` shaped
    (iterations, n_critic, batch, ...) and compiles once per distinct shape. With a `mesh`
    (see `jaxgan.parallel`), the batch axis of `real` is split over the mesh's `data` axis and
    the state is replicated; XLA reduces the gradients across devices, so the result is the
    single-device computation on the global batch.
    """
    step = functools.partial(train_steps, spec)
    if mesh is None:
        return jax.jit(step, donate_argnums=0)
    state_sharding = parallel.replicated(mesh)
    return jax.jit(step, in_shardings=(state_sharding, parallel.batch_sharding(mesh, batch_axis=2)),
                   out_shardings=(state_sharding, state_sharding), donate_argnums=0)


def make_multi_seed_train_step(spec: GANSpec) -> Callable[[GANState, jax.Array], tuple[GANState, Metrics]]:
    """`train_steps` vmapped over independent runs, one program for all of them.

    Takes states stacked on a leading axis (`init_states`) and real data shaped
    (runs, iterations, n_critic, batch, ...); returns the stacked states and per-run metrics.
    """
    return jax.jit(jax.vmap(functools.partial(train_steps, spec)), donate_argnums=0)


def init_states(spec: GANSpec, keys: jax.Array, example_real: RealBatch) -> GANState:
    """`init_state` for each key, stacked on a leading axis (one independent run per key)."""
    return jax.vmap(lambda key: init_state(spec, key, example_real))(keys)
