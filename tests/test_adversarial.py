"""FGSM and PGD on a linear classifier, where the worst L∞ perturbation has a closed form."""

import jax.numpy as jnp
import numpy as np

from jaxgan import adversarial


def test_on_a_linear_classifier_both_attacks_reach_the_closed_form_worst_case():
    """Two classes with logits (0, w·x + b): for label 1 the loss grows as the margin w·x + b
    falls, and over ‖δ‖∞ ≤ ε the margin is lowest at δ = −ε·sign(w), where it is
    w·x + b − ε‖w‖₁. FGSM steps there at once; PGD's steps of 2.5ε/k reach the corner and stay."""
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=6).astype(np.float32), np.float32(0.3)
    x = rng.uniform(-0.5, 0.5, (5, 6)).astype(np.float32)
    labels = jnp.ones(5, jnp.int32)

    def logits(images):
        margin = images @ w + b
        return jnp.stack([jnp.zeros_like(margin), margin], axis=-1)

    epsilon = 0.1
    worst = x - epsilon * np.sign(w)
    for attack in (adversarial.fgsm(logits, x, labels, epsilon), adversarial.pgd(logits, x, labels, epsilon, steps=8)):
        np.testing.assert_allclose(attack, worst, atol=1e-6)
        np.testing.assert_allclose(attack @ w + b, x @ w + b - epsilon * np.abs(w).sum(), rtol=1e-5, atol=1e-5)


def test_attacks_stay_in_the_ball_and_the_pixel_range():
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(16, 3)).astype(np.float32)
    x = rng.uniform(-1, 1, (8, 16)).astype(np.float32)
    labels = jnp.asarray(rng.integers(0, 3, 8))
    for attack in (adversarial.fgsm, adversarial.pgd):
        moved = np.asarray(attack(lambda images: images @ weights, x, labels, 0.3))
        assert np.abs(moved - x).max() <= 0.3 + 1e-6 and np.abs(moved).max() <= 1.0
