"""Gradient penalty against closed forms; weight clipping bounds."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import penalties


@pytest.mark.parametrize("w", [[0.0, 0.0], [0.6, 0.8], [3.0, -4.0], [0.1, 0.2]])
def test_gradient_penalty_of_linear_critic_is_closed_form(w):
    # f(x) = w·x has ∇f = w everywhere, so the penalty is (‖w‖ − 1)² exactly.
    w = jnp.asarray(w)
    key_real, key_fake, key = jax.random.split(jax.random.PRNGKey(0), 3)
    real, fake = jax.random.normal(key_real, (64, 2)), jax.random.normal(key_fake, (64, 2))
    penalty = penalties.gradient_penalty(lambda x: x @ w, real, fake, key)
    np.testing.assert_allclose(penalty, (jnp.linalg.norm(w) - 1.0) ** 2, rtol=1e-6, atol=1e-7)


def test_gradient_penalty_on_images_uses_the_whole_example_gradient():
    # f(x) = Σ w ⊙ x over (h, w, c): the per-example gradient is w, of norm ‖w‖_F.
    w = jax.random.normal(jax.random.PRNGKey(1), (4, 4, 3))
    real, fake = jnp.ones((5, 4, 4, 3)), jnp.zeros((5, 4, 4, 3))
    penalty = penalties.gradient_penalty(
        lambda x: jnp.sum(x * w[None], axis=(1, 2, 3)), real, fake, jax.random.PRNGKey(2)
    )
    np.testing.assert_allclose(penalty, (jnp.linalg.norm(w) - 1.0) ** 2, rtol=1e-5)


def test_gradient_penalty_has_finite_gradient_where_critic_gradient_vanishes():
    # A zero critic: ‖∇f‖ = 0, penalty 1; the penalty's own gradient must not be NaN.
    def penalty_of(scale):
        return penalties.gradient_penalty(
            lambda x: scale * jnp.sum(x, axis=1), jnp.ones((4, 2)), jnp.zeros((4, 2)), jax.random.PRNGKey(0)
        )

    value, grad = jax.value_and_grad(penalty_of)(0.0)
    np.testing.assert_allclose(value, 1.0)
    assert np.isfinite(grad)


def test_interpolates_use_one_weight_per_example():
    # x̂ − x̃ = ε (x − x̃) with a single ε per example: the ratio is the same in every coordinate.
    key_real, key_fake, key = jax.random.split(jax.random.PRNGKey(3), 3)
    real, fake = jax.random.normal(key_real, (32, 3, 5)), jax.random.normal(key_fake, (32, 3, 5))
    interpolates = penalties.random_interpolates(key, real, fake)
    chex.assert_shape(interpolates, real.shape)
    ratios = (interpolates - fake) / (real - fake)
    per_example = ratios.reshape(32, -1)
    np.testing.assert_allclose(per_example, per_example[:, :1] * np.ones((1, 15)), rtol=1e-4, atol=1e-4)
    assert np.all((per_example >= 0) & (per_example <= 1))
    assert np.std(per_example[:, 0]) > 0.1  # different examples draw different ε


def test_gradient_penalty_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="one shape"):
        penalties.gradient_penalty(lambda x: x[:, 0], jnp.ones((4, 2)), jnp.ones((3, 2)), jax.random.PRNGKey(0))


def test_clip_weights_keeps_parameters_in_the_box():
    limit = 0.01
    tx = optax.chain(optax.sgd(1.0), penalties.clip_weights(limit))
    params = {"w": jnp.array([0.5, -0.5, 0.003, -0.004]), "b": jnp.array([[0.0, 2.0]])}
    grads = {"w": jnp.array([-10.0, 10.0, 0.001, 0.0]), "b": jnp.array([[1e6, -1e6]])}
    state = tx.init(params)
    updates, _ = tx.update(grads, state, params)
    new = optax.apply_updates(params, updates)
    for leaf in jax.tree.leaves(new):
        # clip(p + u) − p, added back to p, lands on the box up to float32 rounding.
        assert np.all(np.abs(leaf) <= limit * (1 + 1e-6))
    np.testing.assert_allclose(new["w"], [limit, -limit, 0.002, -0.004], rtol=1e-6)
    np.testing.assert_allclose(new["b"], [[-limit, limit]], rtol=1e-6)


def test_clip_weights_needs_params_and_a_positive_limit():
    tx = penalties.clip_weights(0.01)
    with pytest.raises(ValueError, match="needs the parameters"):
        tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.ones(2)}))
    with pytest.raises(ValueError, match="positive"):
        penalties.clip_weights(0.0)


def test_historical_averaging_adds_the_gradient_of_the_distance_to_the_running_mean():
    weight = 0.3
    tx = penalties.historical_averaging(weight)
    trajectory = [jnp.array([1.0, -2.0]), jnp.array([3.0, 0.0]), jnp.array([-1.0, 4.0])]
    state = tx.init(trajectory[0])
    for t, params in enumerate(trajectory, start=1):
        grads = jnp.array([0.5, 0.5])
        updates, state = tx.update(grads, state, params)
        mean = sum(trajectory[:t]) / t
        np.testing.assert_allclose(updates, grads + 2 * weight * (params - mean), rtol=1e-6)
    assert int(state.count) == 3
    with pytest.raises(ValueError, match="needs the parameters"):
        tx.update(jnp.ones(2), state)
    with pytest.raises(ValueError, match="non-negative"):
        penalties.historical_averaging(-1.0)


def test_data_gradient_penalty_is_the_mean_squared_gradient_norm():
    # f(x) = Σ x²: ∇f(x) = 2x, so E‖∇f‖² = 4·E‖x‖², over images as over vectors.
    x = jax.random.normal(jax.random.PRNGKey(0), (6, 3, 2))
    critic = lambda x: jnp.sum(x**2, axis=(1, 2))  # noqa: E731
    expected = 4.0 * np.mean(np.sum(np.asarray(x) ** 2, axis=(1, 2)))
    np.testing.assert_allclose(penalties.data_gradient_penalty(critic, x), expected, rtol=1e-5)
