"""The generic step: shapes, player isolation, compilation, reproducibility."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import BATCH, DIM, N_CRITIC, fresh_state, real_batches, tiny_spec

import jaxgan
from jaxgan import games, penalties


def test_state_and_metric_shapes(gp_spec, gp_train):
    state = fresh_state(gp_spec)
    new_state, metrics = gp_train(fresh_state(gp_spec), real_batches(0, iterations=3))
    chex.assert_trees_all_equal_shapes_and_dtypes(new_state, state)
    assert int(new_state.step) == 3
    assert set(metrics) == {"critic_loss", "generator_loss", "wasserstein", "gradient_penalty",
                            "critic_grad_norm", "generator_grad_norm"}
    chex.assert_rank(list(metrics.values()), 0)
    chex.assert_shape(jaxgan.generate(gp_spec, new_state, jax.random.PRNGKey(1), 7), (7, DIM))


def test_critic_step_leaves_generator_bit_identical(gp_spec):
    state = fresh_state(gp_spec)
    new_state, _ = jax.jit(lambda s, r, k: jaxgan.critic_step(gp_spec, s, r, k))(
        state, real_batches(1)[0, 0], jax.random.PRNGKey(0))
    chex.assert_trees_all_equal(new_state.generator, state.generator)
    assert not _trees_equal(new_state.critic.params, state.critic.params)


def test_generator_step_leaves_critic_bit_identical(gp_spec):
    state = fresh_state(gp_spec)
    new_state, _ = jax.jit(lambda s, k: jaxgan.generator_step(gp_spec, s, BATCH, k))(state, jax.random.PRNGKey(0))
    chex.assert_trees_all_equal(new_state.critic, state.critic)
    assert not _trees_equal(new_state.generator.params, state.generator.params)


def test_second_call_does_not_recompile(gp_spec, gp_train):
    state = fresh_state(gp_spec)
    state, _ = gp_train(state, real_batches(2, iterations=2))
    compiled = gp_train._cache_size()
    state, _ = gp_train(state, real_batches(3, iterations=2))
    assert gp_train._cache_size() == compiled


def test_same_seed_same_result_and_other_seed_differs(gp_spec, gp_train):
    data = real_batches(4, iterations=2)
    first, _ = gp_train(fresh_state(gp_spec, seed=0), data)
    second, _ = gp_train(fresh_state(gp_spec, seed=0), data)
    other, _ = gp_train(fresh_state(gp_spec, seed=1), data)
    chex.assert_trees_all_equal(first, second)
    assert not _trees_equal(first.generator.params, other.generator.params)


def test_chunked_steps_equal_single_steps(gp_spec, gp_train):
    # Keys derive from (rng, step), so two calls of one iteration equal one call of two.
    data = real_batches(5, iterations=2)
    together, _ = gp_train(fresh_state(gp_spec), data)
    one_by_one = fresh_state(gp_spec)
    for i in range(2):
        one_by_one, _ = gp_train(one_by_one, data[i : i + 1])
    chex.assert_trees_all_equal(together, one_by_one)


def test_wrong_number_of_real_batches_is_a_clear_error(gp_spec):
    with pytest.raises(ValueError, match=f"needs {N_CRITIC} real batches"):
        jaxgan.train_step(gp_spec, fresh_state(gp_spec), real_batches(0)[0, :1])


def test_wgan_critic_stays_clipped_through_training():
    limit = 0.01
    spec = tiny_spec(jaxgan.wgan(n_critic=N_CRITIC), optax.chain(optax.rmsprop(1e-2), penalties.clip_weights(limit)))
    state, _ = jaxgan.make_train_step(spec)(fresh_state(spec), real_batches(6, iterations=3))
    for leaf in jax.tree.leaves(state.critic.params):
        assert np.all(np.abs(leaf) <= limit * (1 + 1e-6))


def test_wasserstein_losses_match_their_definitions():
    critic = lambda x: 2.0 * x[:, 0] + 1.0  # noqa: E731
    real, fake = jnp.array([[1.0, 0.0], [3.0, 5.0]]), jnp.array([[0.0, 0.0], [-1.0, 2.0]])
    loss, metrics = games.wasserstein_critic_loss(critic, real, fake, jax.random.PRNGKey(0))
    # E f(real) = 5, E f(fake) = 0: the critic minimises E f(fake) − E f(real) = −5.
    np.testing.assert_allclose(metrics["wasserstein"], 5.0)
    np.testing.assert_allclose(loss, -5.0)
    generator_loss, _ = games.wasserstein_generator_loss(critic, fake)
    np.testing.assert_allclose(generator_loss, 0.0)


def test_game_arguments_are_checked():
    with pytest.raises(ValueError, match="n_critic"):
        jaxgan.wgan(n_critic=0)
    with pytest.raises(ValueError, match="penalty_weight"):
        jaxgan.wgan_gp(penalty_weight=-1.0)


def _trees_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_generator_average_follows_its_recursion():
    decay = 0.9
    spec = tiny_spec(jaxgan.wgan_gp(0.1, N_CRITIC))
    spec = jaxgan.GANSpec(spec.game, spec.generator, spec.critic, spec.sample_latent, generator_ema_decay=decay)
    state = fresh_state(spec)
    chex.assert_trees_all_equal(jaxgan.averaged_generator_params(spec, state), state.generator.params)
    trajectory = []
    for i in range(3):
        state, _ = jaxgan.train_step(spec, state, real_batches(7 + i)[0])
        trajectory.append(state.generator.params)
    # m_3 / (1 − β³) with m_t = β m_{t−1} + (1 − β) θ_t: weights ∝ β², β, 1 on θ_1, θ_2, θ_3.
    weights = np.array([decay**2, decay, 1.0]) / (1 + decay + decay**2)
    expected = jax.tree.map(lambda *thetas: sum(w * t for w, t in zip(weights, thetas)), *trajectory)
    chex.assert_trees_all_close(jaxgan.averaged_generator_params(spec, state), expected, rtol=1e-5, atol=1e-6)
    new_state = state
    averaged = jaxgan.generate(spec, new_state, jax.random.PRNGKey(0), 5, use_ema=True)
    live = jaxgan.generate(spec, new_state, jax.random.PRNGKey(0), 5)
    assert not np.allclose(averaged, live)


def test_generating_from_a_missing_average_is_a_clear_error(gp_spec):
    with pytest.raises(ValueError, match="keeps no generator average"):
        jaxgan.generate(gp_spec, fresh_state(gp_spec), jax.random.PRNGKey(0), 3, use_ema=True)
    with pytest.raises(ValueError, match=r"generator_ema_decay must be in \[0, 1\)"):
        jaxgan.GANSpec(gp_spec.game, gp_spec.generator, gp_spec.critic, gp_spec.sample_latent, generator_ema_decay=1.0)


def test_benchmark_functions_run_at_a_tiny_size():
    from jaxgan import bench

    assert bench.jaxgan_rate(width=8, depth=1, batch=4, iterations=2, repeats=1, per_call=1) > 0
    pytest.importorskip("torch")
    assert bench.torch_rate(width=8, depth=1, batch=4, iterations=2, repeats=1) > 0


def test_minimax_losses_match_the_value_function():
    logits = lambda x: x[:, 0]  # noqa: E731  D(x) = σ(x₀)
    real, fake = jnp.array([[2.0], [0.5]]), jnp.array([[-1.0], [0.3]])
    d_real, d_fake = jax.nn.sigmoid(real[:, 0]), jax.nn.sigmoid(fake[:, 0])
    value = jnp.mean(jnp.log(d_real)) + jnp.mean(jnp.log(1 - d_fake))
    loss, metrics = games.minimax_critic_loss(logits, real, fake, jax.random.PRNGKey(0))
    np.testing.assert_allclose(loss, -value, rtol=1e-6)
    np.testing.assert_allclose(metrics["value"], value, rtol=1e-6)
    saturating, _ = games.minimax_generator_loss(logits, fake)
    np.testing.assert_allclose(saturating, jnp.mean(jnp.log(1 - d_fake)), rtol=1e-6)
    non_saturating, _ = games.non_saturating_generator_loss(logits, fake)
    np.testing.assert_allclose(non_saturating, -jnp.mean(jnp.log(d_fake)), rtol=1e-6)
    assert jaxgan.gan(non_saturating=False).generator_loss is games.minimax_generator_loss


def test_least_squares_and_hinge_losses_match_their_definitions():
    critic = lambda x: x[:, 0]  # noqa: E731
    real, fake = jnp.array([[2.0], [0.5]]), jnp.array([[-1.5], [0.3]])
    loss, _ = games.least_squares_critic_loss(critic, real, fake, jax.random.PRNGKey(0))
    np.testing.assert_allclose(loss, 0.5 * np.mean([1.0, 0.25]) + 0.5 * np.mean([2.25, 0.09]), rtol=1e-6)
    np.testing.assert_allclose(games.least_squares_generator_loss(critic, fake)[0], 0.5 * np.mean([6.25, 0.49]), rtol=1e-6)
    # relu(1 − D(x)) = (0, 0.5); relu(1 + D(G(z))) = (0, 1.3).
    np.testing.assert_allclose(games.hinge_critic_loss(critic, real, fake, jax.random.PRNGKey(0))[0], 0.25 + 0.65, rtol=1e-6)
    assert jaxgan.games.hinge().generator_loss is games.wasserstein_generator_loss


def test_ebgan_losses_and_pull_away_term():
    from jaxgan.models import AutoencoderEnergy

    energy = lambda x: x[:, 0] ** 2  # noqa: E731
    real, fake = jnp.array([[0.5], [1.0]]), jnp.array([[0.2], [2.0]])
    loss, metrics = games.energy_critic_loss(energy, real, fake, jax.random.PRNGKey(0), margin=1.0)
    # E[D(x)] = 0.625; [m − D(G(z))]⁺ = (0.96, 0) -> 0.48.
    np.testing.assert_allclose(loss, 0.625 + 0.48, rtol=1e-6)
    np.testing.assert_allclose(metrics["energy_fake"], 2.02, rtol=1e-6)
    # Orthogonal codes: PT = 0; identical codes: PT = 1.
    np.testing.assert_allclose(games.pull_away(jnp.eye(4)), 0.0, atol=1e-7)
    np.testing.assert_allclose(games.pull_away(jnp.ones((4, 3))), 1.0, rtol=1e-6)
    module = AutoencoderEnergy((8,), 2, 3)
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 3))
    variables = module.init(jax.random.PRNGKey(1), x)
    critic = games.BoundCritic(module.apply, variables)
    chex.assert_shape(critic(x), (5,))
    chex.assert_shape(critic.method("codes", x), (5, 2))
    loss, metrics = games.energy_generator_loss(critic, x, pull_away_weight=0.1)
    np.testing.assert_allclose(loss, jnp.mean(critic(x)) + 0.1 * games.pull_away(critic.method("codes", x)), rtol=1e-6)
    with pytest.raises(ValueError, match="margin > 0"):
        jaxgan.ebgan(margin=0.0)


def test_one_sided_label_smoothing_moves_the_optimum_to_alpha_d_star():
    # A single point x where p_data(x) = p, p_g(x) = q: minimise the expected loss over the logit.
    p, q, alpha = 0.3, 0.5, 0.9
    game = jaxgan.gan(real_label=alpha)

    def expected_loss(logit):
        critic = lambda x: jnp.full(x.shape[0], logit)  # noqa: E731
        real_part, _ = game.critic_loss(critic, jnp.ones((1, 1)), jnp.full((1, 1), jnp.nan), jax.random.PRNGKey(0))
        fake_part = jax.nn.softplus(logit)  # −log(1 − D)
        # critic_loss averages real and fake terms; weight them by the densities at x instead.
        return p * (real_part - jax.nn.softplus(logit)) + q * fake_part

    logits = jnp.linspace(-5, 5, 20001)
    best = logits[jnp.argmin(jax.vmap(expected_loss)(logits))]
    np.testing.assert_allclose(jax.nn.sigmoid(best), alpha * p / (p + q), atol=1e-3)
    with pytest.raises(ValueError, match="real_label"):
        jaxgan.gan(real_label=0.3)
