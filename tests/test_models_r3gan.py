"""R3GAN's players (models.r3gan) against the official code's layers (brownvc/R3GAN,
R3GAN/Networks.py) for the paper's CIFAR-10 config, and the resampling and initialisation they
rest on."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import traverse_util

from jaxgan.models.r3gan import (
    ACTIVATION_GAIN,
    GroupedConv,
    R3GANCritic,
    R3GANGenerator,
    ResidualBlock,
    downsample,
    upsample,
)

# The paper's CIFAR-10 config (R3GAN's train.py preset): four stages of width 768 from 4 × 4 to
# 32 × 32, two blocks each, cardinality 96, expansion 2, z of 64 numbers and a class embedding
# of 64 in the generator, of 768 in the critic. The paper reports G 20.78 M, D 21.28 M.
CIFAR10 = {"width": 768, "blocks_per_stage": 2, "cardinality": 96, "expansion": 2, "num_classes": 10}
BLOCKS = 8


def _official_block(channels=768, expanded=1536, group=16, kernel=3):
    """One ResidualBlock's tensors as torch names and shapes them (Conv2d weights OIHW)."""
    return [(expanded, channels, 1, 1), (expanded, group, kernel, kernel), (channels, expanded, 1, 1)] + [
        (expanded,)
    ] * 2


# Every tensor of the official networks for the CIFAR-10 config, in torch's shapes.
OFFICIAL_GENERATOR = [(64, 10), (768, 4, 4), (768, 128)] + _official_block() * BLOCKS + [(3, 768, 1, 1)]
OFFICIAL_CRITIC = [(768, 3, 1, 1)] + _official_block() * BLOCKS + [(768, 1, 4, 4), (768, 768), (768, 10)]


def _torch_shape(path, shape):
    """A Flax parameter's shape in torch's layout: Dense (in, out) -> (out, in); Conv HWIO -> OIHW."""
    if len(shape) == 4:
        return (shape[3], shape[2], shape[0], shape[1])
    if len(shape) == 2 and path[-1] == "kernel":
        return (shape[1], shape[0])
    if path[-1] == "basis" and len(shape) == 3:  # the generator's learned 4 × 4 basis, (h, w, c)
        return (shape[2], shape[0], shape[1])
    return shape


def _shapes(module, *inputs):
    variables = jax.eval_shape(lambda: module.init(jax.random.PRNGKey(0), *inputs))
    flat = traverse_util.flatten_dict(variables["params"])
    return sorted(_torch_shape(path, leaf.shape) for path, leaf in flat.items())


def test_cifar10_players_have_the_official_layers_and_the_papers_parameter_counts():
    labels = jnp.zeros((2,), jnp.int32)
    generator = _shapes(R3GANGenerator(**CIFAR10), jnp.zeros((2, 64)), labels)
    critic = _shapes(R3GANCritic(**CIFAR10), jnp.zeros((2, 32, 32, 3)), labels)
    assert generator == sorted(OFFICIAL_GENERATOR)
    assert critic == sorted(OFFICIAL_CRITIC)
    counts = [sum(math.prod(shape) for shape in shapes) for shapes in (generator, critic)]
    assert counts == [20_781_952, 21_280_512]  # 20.78 M and 21.28 M


def test_resampling_is_bilinear_inside_and_down_is_the_adjoint_of_up_over_four():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 3))
    up = upsample(x)
    bilinear = jax.image.resize(x, (2, 16, 16, 3), "linear")  # half-pixel centres
    assert up.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(up[:, 1:-1, 1:-1], bilinear[:, 1:-1, 1:-1], atol=1e-5)
    y = jax.random.normal(jax.random.PRNGKey(1), (2, 16, 16, 3))
    assert downsample(y).shape == (2, 8, 8, 3)
    np.testing.assert_allclose(jnp.vdot(up, y), 4 * jnp.vdot(x, downsample(y)), rtol=1e-5)
    constant = jnp.ones((1, 8, 8, 1))
    np.testing.assert_allclose(downsample(upsample(constant))[:, 1:-1, 1:-1], 1.0, atol=1e-6)


def test_each_block_starts_as_the_identity_with_fixup_scaled_weights():
    block = ResidualBlock(cardinality=4, expansion=2, kernel_size=3, blocks_in_network=16)
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 8, 8, 64))
    variables = block.init(jax.random.PRNGKey(1), x)
    np.testing.assert_array_equal(block.apply(variables, x), x)
    params = variables["params"]
    gain = ACTIVATION_GAIN * 16 ** (-1 / 4)
    for name, fan_in in (("Conv_0", 64), ("GroupedConv_0", 9 * 128 // 4)):
        assert np.std(params[name]["kernel"]) == pytest.approx(gain / math.sqrt(fan_in), rel=0.05)
    assert not np.any(params["Conv_1"]["kernel"]) and not np.any(params["BiasedActivation_0"]["bias"])
    moved = jax.tree.map(lambda a: a + 0.01, variables)
    assert not np.allclose(block.apply(moved, x), x)


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 3)])
def test_players_shapes_and_conditioning(size, channels):
    small = {"width": 8, "blocks_per_stage": 1, "cardinality": 2, "expansion": 2}
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 16))
    images = jax.random.normal(jax.random.PRNGKey(1), (4, size, size, channels))
    generator = R3GANGenerator(size, channels=channels, num_classes=10, **small)
    critic = R3GANCritic(size, num_classes=10, **small)
    labels = jnp.arange(4)
    g_variables = generator.init(jax.random.PRNGKey(2), z, labels)
    d_variables = critic.init(jax.random.PRNGKey(3), images, labels)
    assert generator.apply(g_variables, z, labels).shape == (4, size, size, channels)
    assert critic.apply(d_variables, images, labels).shape == (4,)
    other = (labels + 1) % 10
    assert not np.allclose(generator.apply(g_variables, z, labels), generator.apply(g_variables, z, other))
    assert not np.allclose(critic.apply(d_variables, images, labels), critic.apply(d_variables, images, other))
    plain = R3GANCritic(size, **small)
    with pytest.raises(ValueError, match="labels given to an unconditional model"):
        plain.init(jax.random.PRNGKey(0), images, labels)


def test_grouped_convolution_on_a_cpu_is_the_grouped_convolution():
    """GroupedConv's dense block-diagonal form (its CPU path) against lax's grouped convolution
    with the same kernel: outputs and both gradients to float32 rounding."""
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 6, 12))
    layer = GroupedConv(8, 3, 4, jax.nn.initializers.normal(0.3))
    variables = layer.init(jax.random.PRNGKey(1), x)

    def grouped(params, x):
        return jax.lax.conv_general_dilated(
            x, params["kernel"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=4
        )

    assert variables["params"]["kernel"].shape == (3, 3, 3, 8)
    np.testing.assert_allclose(layer.apply(variables, x), grouped(variables["params"], x), rtol=1e-5, atol=1e-5)
    for argnums in (0, 1):
        ours = jax.grad(lambda p, x: jnp.sum(layer.apply({"params": p}, x) ** 2), argnums)(variables["params"], x)
        theirs = jax.grad(lambda p, x: jnp.sum(grouped(p, x) ** 2), argnums)(variables["params"], x)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), ours, theirs)
