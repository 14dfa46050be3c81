"""Adversarial examples (article 003: "given a trained classifier, can we make a sample that
fools it?"): images moved within an L∞ ball of radius ε so that a classifier's loss grows.

- `fgsm`: the fast gradient sign method (Goodfellow et al. 2015), one step
  x' = x + ε·sign(∇_x ℓ(f(x), y)), the corner of the ball where a linear model's loss is largest;
- `pgd`: projected gradient ascent (Madry et al. 2018), k steps
  x ← Π(x + α·sign(∇_x ℓ)), Π the projection onto the ball around the clean image intersected
  with the pixel range, α = 2.5·ε/k.

ℓ is the softmax cross-entropy of the classifier's logits with the true labels; images are in
[−1, 1] (jaxgan's range), so ε = 0.2 here is 0.1 in [0, 1] pixel units.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

Logits = Callable[[jax.Array], jax.Array]  # logits(images) -> (n, classes)


def _loss_gradient(logits: Logits, x: jax.Array, labels: jax.Array) -> jax.Array:
    """∇_x of the summed cross-entropy: each image's own loss gradient."""
    return jax.grad(lambda x: optax.softmax_cross_entropy_with_integer_labels(logits(x), labels).sum())(x)


def fgsm(logits: Logits, x: jax.Array, labels: jax.Array, epsilon: float, low: float = -1.0, high: float = 1.0):
    """x + ε·sign(∇_x ℓ), clipped to the pixel range [low, high]."""
    return jnp.clip(x + epsilon * jnp.sign(_loss_gradient(logits, x, labels)), low, high)


def pgd(
    logits: Logits,
    x: jax.Array,
    labels: jax.Array,
    epsilon: float,
    steps: int = 10,
    low: float = -1.0,
    high: float = 1.0,
) -> jax.Array:
    """`steps` projected sign-gradient steps of α = 2.5·ε/steps from the clean image, each
    projected back into {x' : ‖x' − x‖∞ ≤ ε, low ≤ x' ≤ high}."""
    alpha = 2.5 * epsilon / steps

    def step(_, adversarial):
        moved = adversarial + alpha * jnp.sign(_loss_gradient(logits, adversarial, labels))
        return jnp.clip(jnp.clip(moved, x - epsilon, x + epsilon), low, high)

    return jax.lax.fori_loop(0, steps, step, x)
