"""BigGAN's pieces (Brock et al. 2019): conditional batch norm, hierarchical latents with a
shared embedding, the orthogonal penalty, truncated sampling and standing statistics."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats

import jaxgan
from jaxgan import penalties
from jaxgan.models import ResNetCritic, ResNetGenerator
from jaxgan.models.resnet import ConditionalBatchNorm, bottom_side_and_blocks

EPSILON = 1e-5  # flax.linen.BatchNorm's


def _normalized(x: np.ndarray) -> np.ndarray:
    """x̂ = (x − mean) / √(var + ε) over the batch and positions, per channel (float64)."""
    x = np.asarray(x, np.float64)
    return (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + EPSILON)


def test_conditional_batch_norm_follows_its_formula():
    """(1 + γ(c)) · x̂ + β(c): γ, β linear in a condition vector (BigGAN) or rows of a class
    embedding (SNGAN's projection generator)."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(2.0, 3.0, (6, 4, 4, 5)), jnp.float32)
    condition = jnp.asarray(rng.normal(size=(6, 7)), jnp.float32)
    linear = ConditionalBatchNorm(linear=True)
    variables = linear.init(jax.random.PRNGKey(0), x, condition)
    output, _ = linear.apply(variables, x, condition, mutable=["batch_stats"])
    kernel = np.asarray(variables["params"]["Dense_0"]["kernel"], np.float64)
    gain, bias = np.split(np.asarray(condition, np.float64) @ kernel, 2, axis=-1)
    expected = (1 + gain[:, None, None, :]) * _normalized(x) + bias[:, None, None, :]
    np.testing.assert_allclose(output, expected, atol=2e-5)

    labels = jnp.asarray([0, 1, 2, 0, 1, 2])
    by_class = ConditionalBatchNorm(num_classes=3)
    variables = by_class.init(jax.random.PRNGKey(0), x, labels)
    table = rng.normal(size=(3, 10)).astype(np.float32)  # its zero start would hide the formula
    variables = {**variables, "params": {"Embed_0": {"embedding": jnp.asarray(table)}}}
    output, _ = by_class.apply(variables, x, labels, mutable=["batch_stats"])
    gain, bias = np.split(table[np.asarray(labels)].astype(np.float64), 2, axis=-1)
    np.testing.assert_allclose(
        output, (1 + gain[:, None, None, :]) * _normalized(x) + bias[:, None, None, :], atol=2e-5
    )


def test_orthogonal_penalty_is_the_off_diagonal_gram_norm():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)
    w = kernel.reshape(36, 5).astype(np.float64)
    gram = w.T @ w
    expected = np.sum((gram * (1 - np.eye(5))) ** 2)
    assert float(penalties.orthogonal_penalty(jnp.asarray(kernel))) == pytest.approx(expected, rel=1e-5)
    # Orthogonal columns of any lengths cost nothing: the norms are free, only angles count.
    q = np.linalg.qr(rng.normal(size=(36, 5)))[0] * np.array([0.5, 1, 2, 3, 4])
    assert float(penalties.orthogonal_penalty(jnp.asarray(q, jnp.float32))) == pytest.approx(0, abs=1e-9)


def test_orthogonal_regularization_adds_its_gradient_to_kernels_only():
    """β · 4W(WᵀW ⊙ (1 − I)) is added to each kernel's gradient (the closed form of the
    penalty's gradient); biases and embeddings pass unchanged."""
    rng = np.random.default_rng(2)
    params = {
        "Dense_0": {"kernel": jnp.asarray(rng.normal(size=(6, 4)), jnp.float32), "bias": jnp.ones(4)},
        "Embed_0": {"embedding": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)},
    }
    grads = jax.tree.map(jnp.ones_like, params)
    weight = 1e-2
    tx = penalties.orthogonal_regularization(weight)
    updates, _ = tx.update(grads, tx.init(params), params)
    w = np.asarray(params["Dense_0"]["kernel"], np.float64)
    closed_form = 4 * w @ ((w.T @ w) * (1 - np.eye(4)))
    np.testing.assert_allclose(updates["Dense_0"]["kernel"], 1 + weight * closed_form, rtol=1e-5)
    chex.assert_trees_all_equal(updates["Dense_0"]["bias"], grads["Dense_0"]["bias"])
    chex.assert_trees_all_equal(updates["Embed_0"], grads["Embed_0"])
    with pytest.raises(ValueError, match="needs the parameters"):
        tx.update(grads, tx.init(params))


@pytest.mark.parametrize("psi", [0.5, 1.0, 2.0])
def test_truncated_codes_stay_within_psi_and_have_the_truncated_normal_moments(psi):
    z = np.asarray(jaxgan.truncated_normal_latent(50, psi)(jax.random.PRNGKey(3), 4000), np.float64).ravel()
    assert np.abs(z).max() <= psi
    law = scipy.stats.truncnorm(-psi, psi)
    n = z.size  # 200,000 draws: each moment within 4 standard errors of its exact value
    assert abs(z.mean()) <= 4 * law.std() / np.sqrt(n)
    assert abs(z.var() - law.var()) <= 4 * np.sqrt((law.moment(4) - law.var() ** 2) / n)
    assert law.var() < 1  # truncation narrows the prior


@pytest.mark.parametrize("psi", [0.0, -1.0, float("inf"), float("nan")])
def test_a_truncation_that_is_no_positive_number_is_refused(psi):
    with pytest.raises(ValueError, match="truncation ψ must be a finite number above 0"):
        jaxgan.truncated_normal_latent(4, psi)


def test_image_sides_of_the_resnet_players():
    assert [bottom_side_and_blocks(side) for side in (8, 28, 32, 56, 64)] == [(4, 1), (7, 2), (4, 3), (7, 3), (4, 4)]
    for side in (4, 30, 36):
        with pytest.raises(ValueError, match=r"square images of b·2\^k pixels"):
            bottom_side_and_blocks(side)


def _small_biggan_generator() -> ResNetGenerator:
    return ResNetGenerator(
        16, 1, width=8, num_classes=3, spectral_norm=True, shared_embedding=4, attention=True, orthogonal_init=True
    )


def test_biggan_generator_feeds_each_block_its_own_chunk_of_z():
    generator = _small_biggan_generator()  # 16 = 4·2²: two blocks, so z splits in three
    z, labels = jax.random.normal(jax.random.PRNGKey(0), (5, 12)), jnp.asarray([0, 1, 2, 0, 1])
    variables = generator.init(jax.random.PRNGKey(1), z, labels)
    images = generator.apply(variables, z, labels)
    chex.assert_shape(images, (5, 16, 16, 1))
    params = variables["params"]
    assert {"Embed_0", "SelfAttention_0"} <= set(params)  # the shared embedding; attention at 8 × 8
    # Each block's batch norms read [e(y), its chunk]: 4 + 4 inputs to γ and β of 8 channels each.
    first_norm = params["_GeneratorBlock_0"]["ConditionalBatchNorm_0"]
    assert first_norm["Dense_0"]["kernel"].shape == (8, 16)
    for chunk in range(3):  # every chunk changes the image
        moved = z.at[:, 4 * chunk : 4 * chunk + 4].add(1.0)
        assert not np.allclose(generator.apply(variables, moved, labels), images, atol=1e-4)
    # Orthogonal initialisation: the projection's kernel (12/3 = 4 inputs, 128 outputs) has
    # orthonormal rows, a 3 × 3 convolution's (72 × 8) orthonormal columns.
    projection = np.asarray(params["Dense_0"]["kernel"])
    np.testing.assert_allclose(projection @ projection.T, np.eye(4), atol=1e-5)
    conv = np.asarray(params["_GeneratorBlock_0"]["Conv_0"]["kernel"]).reshape(-1, 8)
    np.testing.assert_allclose(conv.T @ conv, np.eye(8), atol=1e-5)
    with pytest.raises(ValueError, match="its size \\(10\\) must be a multiple of 3"):
        generator.init(jax.random.PRNGKey(1), z[:, :10], labels)


def test_biggan_critic_scores_with_attention_and_projection():
    critic = ResNetCritic(16, width=8, num_classes=3, spectral_norm=True, attention=True, orthogonal_init=True)
    x, labels = jax.random.normal(jax.random.PRNGKey(0), (5, 16, 16, 1)), jnp.asarray([0, 1, 2, 0, 1])
    variables = critic.init(jax.random.PRNGKey(1), x, labels)
    assert "attention_block" in variables["params"]
    chex.assert_shape(critic.apply(variables, x, labels), (5, 1))


def test_standing_statistics_of_a_biggan_generator_are_its_batch_statistics():
    """At the standing statistics measured on (z, y), evaluation mode reproduces training mode on
    that batch, so every batch norm holds the batch's moments; the first one's are those of the
    projected first chunk of z, computed in numpy. (Without spectral norm, whose power iteration
    would only blur the numpy side.)"""
    generator = _small_biggan_generator().clone(spectral_norm=False)
    spec = jaxgan.PlayerSpec.from_linen(generator, optax.adam(1e-3), ("batch_stats",))
    z, labels = jax.random.normal(jax.random.PRNGKey(4), (64, 12)), jnp.asarray(np.arange(64) % 3)
    variables = spec.init(jax.random.PRNGKey(5), z, labels)
    standing = jaxgan.standing_statistics(spec, variables, z, labels)
    trained, _ = spec.apply(variables, z, labels, mutable=["batch_stats"])
    np.testing.assert_allclose(spec.apply(standing, z, labels), trained, atol=1e-5)
    assert not np.allclose(spec.apply(variables, z, labels), trained, atol=1e-2)
    dense = {name: np.asarray(value, np.float64) for name, value in standing["params"]["Dense_0"].items()}
    projected = (np.asarray(z[:, :4], np.float64) @ dense["kernel"] + dense["bias"]).reshape(64, 4, 4, 8)
    measured = standing["batch_stats"]["_GeneratorBlock_0"]["ConditionalBatchNorm_0"]["BatchNorm_0"]
    np.testing.assert_allclose(measured["mean"], projected.mean((0, 1, 2)), atol=1e-6)
    np.testing.assert_allclose(measured["var"], projected.var((0, 1, 2)), rtol=1e-5)
