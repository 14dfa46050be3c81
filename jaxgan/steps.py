"""Pure training transitions and the one place where they are jitted.

One iteration is a sequence of phases (`kinds.Phase`): each trains one player on one loss with
one optimizer state, and one generic function (`_run_phase`) runs them all. What a model is
(its phases, players, initial state and samples) comes from its kind (`jaxgan.kinds`: GAN,
VAE, AAE, energy-based model), through the protocol `kinds.ModelKind` and nothing else; the
kinds are re-exported here.

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

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from jaxgan import parallel
from jaxgan.games import Metrics
from jaxgan.kinds import AAESpec, EBMSpec, GANSpec, InstanceNoise, LabelledBatch, ModelKind, Phase, RealBatch, VAESpec
from jaxgan.kinds.base import (
    STANDING_STATISTICS_CODES,
    InitKeys,
    LatentSampler,
    samples_and_condition,
    standard_normal_latent,
    truncated_normal_latent,
)
from jaxgan.kinds.gan import pack
from jaxgan.state import TrainState, Variables, optimizer_step

__all__ = [  # the kinds and their pieces, re-exported beside the step's own names
    "AAESpec",
    "EBMSpec",
    "GANSpec",
    "InstanceNoise",
    "LabelledBatch",
    "LatentSampler",
    "RealBatch",
    "STANDING_STATISTICS_CODES",
    "VAESpec",
    "pack",
    "standard_normal_latent",
    "truncated_normal_latent",
    "PRECISIONS",
    "TrainSpec",
    "TrainStep",
    "averaged_generator_params",
    "check_real_chunk",
    "critic_step",
    "evaluated_generator",
    "generate",
    "generator_step",
    "in_precision",
    "init_state",
    "init_states",
    "make_multi_seed_train_step",
    "make_train_step",
    "phase_metrics",
    "reconstruction_step",
    "train_step",
    "train_steps",
    "unroll_loops",
]

TrainSpec = ModelKind  # any kind of model (`jaxgan.kinds`)

# Compute dtypes by config name (train.precision): parameters and optimizer states stay float32.
PRECISIONS = types.MappingProxyType({"float32": jnp.float32, "bfloat16": jnp.bfloat16})


def in_precision(spec: TrainSpec, precision: str) -> TrainSpec:
    """`spec` with every player computing in the dtype `precision` names (`PRECISIONS`; mixed
    precision, `state.mixed_precision`).

    Raises:
      ValueError: `precision` is not a name in PRECISIONS.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return spec
    computing = {name: player.in_precision(PRECISIONS[precision]) for name, player in spec.players.items()}
    return dataclasses.replace(spec, **computing)


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
    fields = {"generator": None, "critic": None, "generator_ema": None, "phase_opt_states": None}
    fields.update(spec.init_fields(InitKeys(key_generator, key_critic, key_latent), example_real))
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        rng=base,
        example=jax.tree.map(lambda batch: (tuple(batch.shape[1:]), jnp.dtype(batch.dtype).name), example_real),
        **fields,
    )


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
    """n samples in evaluation mode (batch norm uses its running statistics), at `variables`
    (`evaluated_generator`'s, say) or else the live ones: G(z) of z drawn from the latent
    prior, G(z, y) for a conditional generator with the n given `labels`; with `truncation` ψ,
    z is drawn from the standard normal prior truncated to [−ψ, ψ] (`truncated_normal_latent`,
    the truncation trick). An energy-based model's samples are its Langevin chains from fresh
    noise. Each kind says how (`kinds.base.ModelKind.sample`)."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"generate: n is the number of samples, a positive int, got {n!r}")
    if labels is not None and labels.shape[0] != n:
        raise ValueError(f"generate: {n} samples asked for but {labels.shape[0]} labels given")
    return spec.sample(state, key, n, labels=labels, variables=variables, truncation=truncation)


def evaluated_generator(spec: TrainSpec, state: TrainState) -> Variables:
    """The variables that evaluation samples with: the live generator's, or its average with
    batch-norm statistics of its own when the spec keeps one (`kinds.base.WithGenerator`); an
    energy-based model's energy."""
    return spec.evaluated_variables(state)


def averaged_generator_params(spec: TrainSpec, state: TrainState):
    """The debiased average m_t / (1 − β^t); the live parameters before the first update."""
    return spec.averaged_params(state)


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
        params, opt_state = optimizer_step(spec.players[phase.player].tx, player.params, player.opt_state, grads)
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


def _stream_key(step_key: jax.Array, stream: int) -> jax.Array:
    """The iteration's key for a phase's stream (see `Phase.stream`)."""
    return jax.random.split(step_key)[stream] if stream < 2 else jax.random.fold_in(step_key, stream)


def train_step(spec: TrainSpec, state: TrainState, real: RealBatch, *, unroll: bool = False):
    """One iteration: the spec's phases in order, then what the spec does after them (the
    generator average's update).

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
    n_batches, shape = spec.batches_per_iteration, samples_and_condition(real)[0].shape
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
    return spec.after_iteration(state).replace(step=state.step + 1), metrics


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
    not split into the critic's packs (`check_real` of the kind).

    Raises:
      ValueError: naming the problem and the expected layout.
    """
    layout = f"(iterations, {spec.batches_per_iteration} batches per iteration, batch, *example)"
    samples, condition = samples_and_condition(real)
    for name, array in (("real", samples), *(("labels", labels) for labels in condition)):
        if not hasattr(array, "shape") or not hasattr(array, "dtype"):
            raise ValueError(f"{name} must be a numpy or JAX array shaped {layout}, got {type(array).__name__}")
    if samples.ndim < 3 or min(samples.shape[:3]) < 1 or samples.shape[1] != spec.batches_per_iteration:
        raise ValueError(f"real must be shaped {layout} with every axis non-empty, got {samples.shape}")
    if not jnp.issubdtype(samples.dtype, jnp.floating):
        raise ValueError(f"real samples must be floating point (images scaled to [−1, 1]), got {samples.dtype}")
    spec.check_real(samples, condition)
    for labels in condition:
        if labels.shape != samples.shape[:3] or not jnp.issubdtype(labels.dtype, jnp.integer):
            raise ValueError(
                f"labels must be integers shaped {samples.shape[:3]}, got {labels.dtype} {tuple(labels.shape)}"
            )
    if state.example is not None:
        labelled = isinstance(state.example, LabelledBatch)
        expected = samples_and_condition(state.example)[0] if labelled else state.example
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
