"""Each method's losses against their definitions and closed-form optima."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan
from jaxgan import divergences, games
from jaxgan.state import BoundModel


def test_wasserstein_losses_match_their_definitions():
    critic = lambda x: 2.0 * x[:, 0] + 1.0  # noqa: E731
    real, fake = jnp.array([[1.0, 0.0], [3.0, 5.0]]), jnp.array([[0.0, 0.0], [-1.0, 2.0]])
    loss, metrics = games.wasserstein_critic_loss(critic, real, fake, jax.random.PRNGKey(0))
    # E f(real) = 5, E f(fake) = 0: the critic minimises E f(fake) − E f(real) = −5.
    np.testing.assert_allclose(metrics["wasserstein"], 5.0)
    np.testing.assert_allclose(loss, -5.0)
    generator_loss, _ = games.wasserstein_generator_loss(critic, fake, None)
    np.testing.assert_allclose(generator_loss, 0.0)


def test_game_arguments_are_checked():
    with pytest.raises(ValueError, match="n_critic"):
        jaxgan.wgan(n_critic=0)
    with pytest.raises(ValueError, match="penalty_weight"):
        jaxgan.wgan_gp(penalty_weight=-1.0)


def test_minimax_losses_match_the_value_function():
    logits = lambda x: x[:, 0]  # noqa: E731  D(x) = σ(x₀)
    real, fake = jnp.array([[2.0], [0.5]]), jnp.array([[-1.0], [0.3]])
    d_real, d_fake = jax.nn.sigmoid(real[:, 0]), jax.nn.sigmoid(fake[:, 0])
    value = jnp.mean(jnp.log(d_real)) + jnp.mean(jnp.log(1 - d_fake))
    loss, metrics = games.minimax_critic_loss(logits, real, fake, jax.random.PRNGKey(0))
    np.testing.assert_allclose(loss, -value, rtol=1e-6)
    np.testing.assert_allclose(metrics["value"], value, rtol=1e-6)
    saturating, _ = games.minimax_generator_loss(logits, fake, None)
    np.testing.assert_allclose(saturating, jnp.mean(jnp.log(1 - d_fake)), rtol=1e-6)
    non_saturating, _ = games.non_saturating_generator_loss(logits, fake, None)
    np.testing.assert_allclose(non_saturating, -jnp.mean(jnp.log(d_fake)), rtol=1e-6)
    assert jaxgan.gan(non_saturating=False).generator_loss is games.minimax_generator_loss


def test_least_squares_and_hinge_losses_match_their_definitions():
    critic = lambda x: x[:, 0]  # noqa: E731
    real, fake = jnp.array([[2.0], [0.5]]), jnp.array([[-1.5], [0.3]])
    loss, _ = games.least_squares_critic_loss(critic, real, fake, jax.random.PRNGKey(0))
    np.testing.assert_allclose(loss, 0.5 * np.mean([1.0, 0.25]) + 0.5 * np.mean([2.25, 0.09]), rtol=1e-6)
    np.testing.assert_allclose(
        games.least_squares_generator_loss(critic, fake, None)[0], 0.5 * np.mean([6.25, 0.49]), rtol=1e-6
    )
    # relu(1 − D(x)) = (0, 0.5); relu(1 + D(G(z))) = (0, 1.3).
    np.testing.assert_allclose(
        games.hinge_critic_loss(critic, real, fake, jax.random.PRNGKey(0))[0], 0.25 + 0.65, rtol=1e-6
    )
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
    critic = BoundModel(jaxgan.PlayerSpec.from_linen(module, optax.sgd(0.1)), variables)
    chex.assert_shape(critic(x), (5,))
    chex.assert_shape(critic.method("encode", x), (5, 2))
    loss, metrics = games.energy_generator_loss(critic, x, None, pull_away_weight=0.1)
    np.testing.assert_allclose(loss, jnp.mean(critic(x)) + 0.1 * games.pull_away(critic.method("encode", x)), rtol=1e-6)
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


def test_jsd_mutual_information_at_the_optimal_statistics_is_2_js_minus_log_4():
    # p(x, z) on {0, 1}²: 3/8 on the diagonal, 1/8 off it; p(x)p(z) = 1/4 everywhere.
    joint = np.array([[3, 1], [1, 3]]) / 8.0
    product = np.full((2, 2), 0.25)
    optimal = np.log(joint / product)  # T* = log p(x, z) / (p(x) p(z))
    # Samples in exact proportion, so the sample means are the expectations.
    joint_samples = np.repeat(optimal.ravel(), (joint.ravel() * 8).astype(int))
    product_samples = optimal.ravel()
    estimate = games.jsd_mutual_information(jnp.asarray(joint_samples), jnp.asarray(product_samples))
    expected = 2 * divergences.js(jnp.asarray(joint.ravel()), jnp.asarray(product.ravel())) - np.log(4)
    np.testing.assert_allclose(estimate, expected, rtol=1e-6)
    # Any other T gives less: the estimate is a lower bound maximised at T*.
    assert games.jsd_mutual_information(jnp.asarray(joint_samples) + 0.3, jnp.asarray(product_samples) + 0.3) < estimate


def test_meg_losses_match_their_definitions():
    from jaxgan.models import MLP, MaxEntropyGenerator

    energy = lambda x: jnp.sum(x**2, axis=1)  # noqa: E731  ∇E(x) = 2x
    real, fake = jnp.array([[1.0, 0.0], [0.0, 2.0]]), jnp.array([[3.0, 0.0], [0.0, 0.0]])
    loss, metrics = games.energy_difference_critic_loss(energy, real, fake, jax.random.PRNGKey(0), penalty_weight=0.5)
    # E_data E = 2.5, E_fake E = 4.5, E_data ‖2x‖² = 4·2.5 = 10.
    np.testing.assert_allclose(loss, 2.5 - 4.5 + 0.5 * 10.0, rtol=1e-6)
    np.testing.assert_allclose(metrics["gradient_penalty"], 10.0, rtol=1e-6)

    module = MaxEntropyGenerator(MLP((8,), 2), MLP((8,), 1))
    z = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
    spec = jaxgan.PlayerSpec.from_linen(module, optax.sgd(0.1))
    generator = BoundModel(spec, module.init(jax.random.PRNGKey(2), z))
    x = generator(z)
    inputs = games.GeneratorInputs(latents=z, real=real, generator=generator)
    loss, metrics = games.max_entropy_generator_loss(energy, x, inputs, entropy_weight=2.0)
    statistics = lambda codes: generator.method("statistics", x, codes)  # noqa: E731
    shuffled = z[jnp.array([3, 0, 1, 2])]  # each x_i paired with another example's code
    information = games.jsd_mutual_information(statistics(z), statistics(shuffled))
    np.testing.assert_allclose(metrics["mutual_information"], information, rtol=1e-6)
    np.testing.assert_allclose(loss, jnp.mean(energy(x)) - 2.0 * information, rtol=1e-6)
    with pytest.raises(ValueError, match="entropy_weight >= 0"):
        jaxgan.games.meg(10.0, entropy_weight=-1.0)


def test_feature_matching_compares_mean_critic_features():
    from jaxgan.models import MLP

    module = MLP((8, 4), 1)
    real = jax.random.normal(jax.random.PRNGKey(0), (6, 2))
    fake = real + jnp.array([[1.0, -0.5]])
    critic = BoundModel(jaxgan.PlayerSpec.from_linen(module, optax.sgd(0.1)), module.init(jax.random.PRNGKey(1), real))
    inputs = games.GeneratorInputs(latents=None, real=real, generator=None)
    loss, _ = games.feature_matching_generator_loss(critic, fake, inputs)
    gap = np.mean(critic.method("features", real), axis=0) - np.mean(critic.method("features", fake), axis=0)
    np.testing.assert_allclose(loss, np.sum(gap**2), rtol=1e-5)
    assert loss > 0
    np.testing.assert_allclose(games.feature_matching_generator_loss(critic, real, inputs)[0], 0.0, atol=1e-12)
    base = jaxgan.gan()
    game = games.with_feature_matching(base)
    assert game.generator_loss is games.feature_matching_generator_loss and game.critic_loss is base.critic_loss


def test_r1_and_r2_add_half_gamma_times_the_squared_input_gradient_on_real_and_generated():
    # D(x) = Σ x²: ∇D = 2x, so R1 = E‖2x‖² on the real batch and R2 = E‖2x̃‖² on the generated one.
    real = jax.random.normal(jax.random.PRNGKey(0), (6, 3))
    fake = 3.0 * jax.random.normal(jax.random.PRNGKey(1), (6, 3))

    def critic(x):
        return jnp.sum(x**2, axis=1)

    base = jaxgan.gan()  # non-saturating
    base_loss, _ = base.critic_loss(critic, real, fake, None)
    r1, r2 = 4.0 * np.mean(np.sum(real**2, 1)), 4.0 * np.mean(np.sum(fake**2, 1))
    for gammas, penalty in (((10.0, None), 5.0 * r1), ((None, 0.5), 0.25 * r2), ((10.0, 0.5), 5.0 * r1 + 0.25 * r2)):
        game = games.with_zero_centred_penalties(base, *gammas)
        loss, metrics = game.critic_loss(critic, real, fake, None)
        np.testing.assert_allclose(loss - base_loss, penalty, rtol=1e-5)
        assert game.critic_needs.per_example_scores and game.generator_loss is base.generator_loss
    np.testing.assert_allclose(metrics["r1_penalty"], r1, rtol=1e-5)
    np.testing.assert_allclose(metrics["r2_penalty"], r2, rtol=1e-5)
    assert game.name == "nsgan+r1+r2"
    assert games.with_zero_centred_penalties(base) is base
    with pytest.raises(ValueError, match=r"game.r1_gamma must be above 0 \(none turns it off\), got 0.0"):
        games.with_zero_centred_penalties(base, r1=0.0)


def test_r1_and_r2_weights_burn_in_along_a_half_cosine_then_stay():
    """R3GAN's γ burn-in: at iteration t both weights are s(t)·γ, s falling from 1 to f along
    (1 + cos(πt/T))/2 over T iterations; the loss equals the unscheduled one at weight s(t)·γ."""
    real = jax.random.normal(jax.random.PRNGKey(0), (6, 3))
    fake = 3.0 * jax.random.normal(jax.random.PRNGKey(1), (6, 3))

    def critic(x):
        return jnp.sum(x**2, axis=1)

    base, gamma, fraction, iterations = jaxgan.gan(), 0.05, 0.1, 10
    game = games.with_zero_centred_penalties(base, gamma, gamma, games.penalty_burn_in(fraction, iterations))
    assert game.critic_needs.iteration and not games.with_zero_centred_penalties(base, gamma).critic_needs.iteration
    for t in (0, 3, 5, 10, 25):
        scale = fraction + (1 - fraction) * 0.5 * (1 + np.cos(np.pi * min(t, iterations) / iterations))
        fixed = games.with_zero_centred_penalties(base, gamma * scale, gamma * scale)
        np.testing.assert_allclose(
            game.critic_loss(critic, real, fake, None, iteration=jnp.int32(t))[0],
            fixed.critic_loss(critic, real, fake, None)[0],
            rtol=1e-6,
        )
    with pytest.raises(ValueError, match=r"game.penalty_decay must be in \(0, 1\]"):
        games.penalty_burn_in(0.0, 10)


def test_r1_is_a_config_switch_that_refuses_a_batch_norm_critic():
    from jaxgan import configs
    from jaxgan.runs import builders

    config = configs.get_config("hinge_mlp")
    configs.apply_overrides(config, ["game.r1_gamma=10"])
    assert builders.build_game(config).name == "hinge+r1"
    image = configs.get_config("dcgan_mnist")  # a batch-norm critic
    configs.apply_overrides(image, ["game.r2_gamma=1", "data.name=npz", "data.path=/nonexistent.npz"])
    with pytest.raises(ValueError, match="per example|batch"):
        jaxgan.GANSpec(
            builders.build_game(image),
            jaxgan.PlayerSpec.from_linen(jaxgan.models.MLP((4,), 2), optax.adam(1e-3)),
            jaxgan.PlayerSpec.from_linen(
                jaxgan.models.MLP((4,), 1, "batch"), optax.adam(1e-3), mutable=("batch_stats",)
            ),
            jaxgan.standard_normal_latent(2),
        )
