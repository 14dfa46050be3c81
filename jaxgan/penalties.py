"""Penalties and constraints on the players.

Weight clipping (Arjovsky et al. 2017, "Wasserstein GAN") is an optax transformation applied
after the critic's optimizer; the gradient penalty (Gulrajani et al. 2017, "Improved Training
of Wasserstein GANs") and the zero-centred penalty on data (R1, Mescheder et al. 2018) are
terms of the critic's loss; historical averaging (Salimans et al. 2016) is an optax
transformation applied before either player's optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


def gradient_penalty(
    critic: Callable[[jax.Array], jax.Array],
    real: jax.Array,
    fake: jax.Array,
    key: jax.Array,
) -> jax.Array:
    """WGAN-GP's two-sided penalty E_x̂[(‖∇_x̂ f(x̂)‖₂ − 1)²] (Gulrajani et al. 2017, eq. 3).

    x̂ = ε·x + (1 − ε)·x̃ with one ε ~ U[0, 1] per example (not per coordinate), so x̂ lies on
    the segment between a real and a generated sample.

    Args:
      critic: maps a batch of inputs to one score per example; each score must depend on its
        own example only (no batch norm), which is what makes ∇ of the summed scores the
        per-example input gradients.
      real: real samples, shape (batch, ...).
      fake: generated samples, same shape as `real`.
      key: PRNG key for ε.

    Returns:
      The scalar penalty, averaged over the batch.
    """
    grads = _input_gradients(critic, random_interpolates(key, real, fake))
    # safe_norm keeps the penalty's own gradient finite where ∇f(x̂) = 0.
    norms = optax.safe_norm(grads, 0.0, axis=1)
    return jnp.mean((norms - 1.0) ** 2)


def data_gradient_penalty(critic: Callable[[jax.Array], jax.Array], real: jax.Array) -> jax.Array:
    """The zero-centred penalty E[‖∇_x f(x)‖₂²] over a batch: on real samples, R1 of Mescheder
    et al. 2018 ("Which Training Methods for GANs do actually Converge?"); on generated ones,
    their R2 (`games.with_zero_centred_penalties` adds either to any game). MEG (Kumar et al.
    2019) adds it on data to the energy's loss. As in `gradient_penalty`, each score must
    depend on its own example only.
    """
    return jnp.mean(jnp.sum(_input_gradients(critic, real) ** 2, axis=1))


def _input_gradients(critic: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """∇_x f(x_i) for each example, flattened to (batch, features)."""
    grads = jax.grad(lambda x: jnp.sum(critic(x)))(x)
    return grads.reshape(grads.shape[0], -1)


def random_interpolates(key: jax.Array, real: jax.Array, fake: jax.Array) -> jax.Array:
    """x̂ = ε·x + (1 − ε)·x̃, one ε ~ U[0, 1] per example, broadcast over its features."""
    if real.shape != fake.shape:
        raise ValueError(f"real {real.shape} and fake {fake.shape} batches must have one shape")
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = jax.random.uniform(key, eps_shape, dtype=real.dtype)
    return eps * real + (1.0 - eps) * fake


def clip_weights(limit: float) -> optax.GradientTransformation:
    """Clip every parameter to [−limit, limit] after the update (WGAN, Algorithm 1: c = 0.01).

    Chain it after the optimizer, `optax.chain(optax.rmsprop(5e-5), clip_weights(0.01))`:
    it rewrites the updates to `clip(params + updates) − params`, so the parameters land in
    the box up to float rounding of that difference.
    """
    if limit <= 0:
        raise ValueError(f"clip_weights needs a positive limit, got {limit}")

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("clip_weights needs the parameters: call tx.update(grads, state, params)")
        clipped = jax.tree.map(lambda p, u: jnp.clip(p + u, -limit, limit) - p, params, updates)
        return clipped, state

    return optax.GradientTransformation(init_fn, update_fn)


class HistoricalAveragingState(NamedTuple):
    """How many parameter vectors have been averaged, and their running mean θ̄_t."""

    count: jax.Array
    mean: Any


def historical_averaging(weight: float) -> optax.GradientTransformation:
    """Add the gradient of λ‖θ − θ̄_t‖², θ̄_t = (1/t) Σ_{i≤t} θ_i (Salimans et al. 2016, §3.3).

    Chain it before the optimizer, `optax.chain(historical_averaging(λ), optax.adam(lr))`: at
    each update it folds the current parameters θ_t into the running mean and adds
    2λ(θ_t − θ̄_t) to the gradients, pulling each player towards its own history.
    """
    if weight < 0:
        raise ValueError(f"historical_averaging needs a non-negative weight, got {weight}")

    def init_fn(params):
        return HistoricalAveragingState(jnp.zeros((), jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("historical_averaging needs the parameters: call tx.update(grads, state, params)")
        count = state.count + 1
        mean = jax.tree.map(lambda m, p: m + (p - m) / count.astype(p.dtype), state.mean, params)
        updates = jax.tree.map(lambda g, p, m: g + 2.0 * weight * (p - m), updates, params, mean)
        return updates, HistoricalAveragingState(count, mean)

    return optax.GradientTransformation(init_fn, update_fn)


def orthogonal_penalty(kernel: jax.Array) -> jax.Array:
    """‖WᵀW ⊙ (1 − I)‖²_F, the off-diagonal orthogonal regularisation of BigGAN (Brock et al.
    2019, §3.1), for a kernel read as W of shape (fan-in, out features), as a convolution's
    (h, w, in, out) kernel reshaped: it pulls the filters (W's columns) towards mutual
    orthogonality and leaves their norms free."""
    w = kernel.reshape(-1, kernel.shape[-1])
    gram = w.T @ w
    return jnp.sum((gram * (1.0 - jnp.eye(gram.shape[0], dtype=gram.dtype))) ** 2)


def orthogonal_regularization(weight: float) -> optax.GradientTransformation:
    """Add the gradient of β Σ_W ‖WᵀW ⊙ (1 − I)‖²_F (`orthogonal_penalty`) over the kernels of
    dense and convolution layers (the leaves named `kernel`: not biases, batch-norm scales or
    embeddings, which BigGAN leaves out), as BigGAN's generator does with β = 1e-4.

    Chain it before the optimizer, `optax.chain(orthogonal_regularization(β), optax.adam(lr))`.
    """
    if weight < 0:
        raise ValueError(f"orthogonal_regularization needs a non-negative weight, got {weight}")

    def penalty(path, leaf):
        return orthogonal_penalty(leaf) if getattr(path[-1], "key", None) == "kernel" else jnp.zeros(())

    def regularization(params):
        return weight * sum(jax.tree.leaves(jax.tree_util.tree_map_with_path(penalty, params)))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("orthogonal_regularization needs the parameters: call tx.update(grads, state, params)")
        return jax.tree.map(jnp.add, updates, jax.grad(regularization)(params)), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)
