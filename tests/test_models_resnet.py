"""SNGAN's ResNet players: their layer list (parameter counts), shapes, conditional batch
norm, the projection critic, and per-example scores under spectral norm."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models import ResNetCritic, ResNetGenerator
from jaxgan.state import SPECTRAL_COLLECTION


def _parameters(variables) -> int:
    return sum(leaf.size for leaf in jax.tree.leaves(variables["params"]))


def _conv(k: int, n_in: int, n_out: int) -> int:
    return k * k * n_in * n_out + n_out


def test_parameter_counts_follow_the_papers_layer_lists():
    """SNGAN's CIFAR-10 ResNet (Miyato et al. 2018's appendix, mimicry's sngan_32): G has a Dense to 4 × 4 × 256, three
    up-blocks (two batch norms, two 3 × 3 and a 1 × 1 shortcut convolution each), a batch norm
    and a 3 × 3 convolution to RGB, 4.28M parameters; D has four blocks of 128 channels (the
    first two with 1 × 1 shortcuts) and a Dense to one score, 1.05M."""
    width = 256
    block = 2 * (2 * width) + 2 * _conv(3, width, width) + _conv(1, width, width)
    expected_generator = (128 * 16 * width + 16 * width) + 3 * block + 2 * width + _conv(3, width, 3)
    first = _conv(3, 3, 128) + _conv(3, 128, 128) + _conv(1, 3, 128)
    expected_critic = first + (2 * _conv(3, 128, 128) + _conv(1, 128, 128)) + 2 * (2 * _conv(3, 128, 128)) + 129
    z, x = jnp.zeros((2, 128)), jnp.zeros((2, 32, 32, 3))
    generator = ResNetGenerator().init(jax.random.PRNGKey(0), z)
    critic = ResNetCritic().init(jax.random.PRNGKey(1), x)
    assert (_parameters(generator), _parameters(critic)) == (expected_generator, expected_critic)
    assert (expected_generator, expected_critic) == (4_276_739, 1_053_825)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_shapes_range_and_sizes(size):
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 16))
    generator = ResNetGenerator(size, 3, width=8)
    variables = generator.init(jax.random.PRNGKey(1), z)
    images, updates = generator.apply(variables, z, mutable=["batch_stats"])
    chex.assert_shape(images, (3, size, size, 3))
    assert float(jnp.abs(images).max()) <= 1.0 and "batch_stats" in updates
    critic = ResNetCritic(size, width=8)
    critic_variables = critic.init(jax.random.PRNGKey(2), images)
    chex.assert_shape(critic.apply(critic_variables, images), (3, 1))
    with pytest.raises(ValueError, match="b·2\\^k pixels, 4 ≤ b ≤ 7 .* got 30"):
        ResNetGenerator(30).init(jax.random.PRNGKey(0), z)


def test_conditional_batch_norm_starts_plain_and_then_depends_on_the_class():
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 16))
    generator = ResNetGenerator(32, 3, width=8, num_classes=10)
    variables = generator.init(jax.random.PRNGKey(1), z, jnp.zeros(4, jnp.int32))
    sample = lambda v, y: generator.apply(v, z, jnp.full(4, y), mutable=["batch_stats"])[0]  # noqa: E731
    np.testing.assert_array_equal(sample(variables, 3), sample(variables, 7))
    # Give class 3 a scale and a shift in the first block's first batch norm.
    params = jax.tree.map(lambda p: p, variables["params"])
    embedding = params["_GeneratorBlock_0"]["ConditionalBatchNorm_0"]["Embed_0"]["embedding"]
    params["_GeneratorBlock_0"]["ConditionalBatchNorm_0"]["Embed_0"]["embedding"] = embedding.at[3].set(0.5)
    moved = {**variables, "params": params}
    assert not np.allclose(sample(moved, 3), sample(moved, 7))
    np.testing.assert_array_equal(sample(moved, 7), sample(variables, 7))


def test_projection_adds_the_class_embedding_inner_product_with_the_features():
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 32, 32, 3))
    critic = ResNetCritic(32, width=8, num_classes=4, spectral_norm=False)
    variables = critic.init(jax.random.PRNGKey(1), x, jnp.zeros(5, jnp.int32))
    features = critic.apply(variables, x, method="features")
    embedding = variables["params"]["projection"]["embedding"]
    difference = critic.apply(variables, x, jnp.full(5, 1)) - critic.apply(variables, x, jnp.full(5, 2))
    np.testing.assert_allclose(difference[:, 0], features @ (embedding[1] - embedding[2]), rtol=1e-4, atol=1e-4)


def test_spectral_norm_critic_scores_each_image_on_its_own():
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 32, 32, 3))
    critic = ResNetCritic(32, width=8)
    variables = critic.init(jax.random.PRNGKey(1), x)
    assert set(variables) == {"params", SPECTRAL_COLLECTION}
    together = critic.apply(variables, x, mutable=[SPECTRAL_COLLECTION])[0]
    one_by_one = jnp.concatenate(
        [critic.apply(variables, x[i : i + 1], mutable=[SPECTRAL_COLLECTION])[0] for i in range(4)]
    )
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-5)
