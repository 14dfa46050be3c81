"""DCGAN's networks: the matmul upsampling equals the transposed convolution, shapes, modes."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.models import DCGANCritic, DCGANGenerator
from jaxgan.models.dcgan import MatmulConvTranspose, _Normalization, stride2_overlap_add, stride2_windows


def _transposed_conv_by_definition(x, kernel):
    """y[2i + t − 2] += K[t]·x[i] per axis (scatter form of ConvTranspose, stride 2, padding 2), numpy."""
    n, height, width, _ = x.shape
    full = np.zeros((n, 2 * height + 2, 2 * width + 2, kernel.shape[-1]))
    for i in range(height):
        for j in range(width):
            for t in range(4):
                for s in range(4):
                    full[:, 2 * i + 3 - t, 2 * j + 3 - s] += x[:, i, j] @ kernel[t, s]
    return full[:, 1:-1, 1:-1]


def test_matmul_layer_computes_the_transposed_convolution_of_its_parameters():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 6, 3))
    layer = MatmulConvTranspose(4)
    params = layer.init(jax.random.PRNGKey(1), x)
    params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.PRNGKey(2), p.shape), params)  # bias ≠ 0
    reference = nn.ConvTranspose(4, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)))
    ours, theirs = layer.apply(params, x), reference.apply(params, x)  # the very same parameter tree
    chex.assert_shape(ours, (2, 10, 12, 4))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    # And both equal the textbook definition, computed independently in numpy.
    kernel, bias = (np.asarray(params["params"][name], np.float64) for name in ("kernel", "bias"))
    by_definition = _transposed_conv_by_definition(np.asarray(x, np.float64), kernel) + bias
    np.testing.assert_allclose(ours, by_definition, rtol=1e-5, atol=1e-5)
    # Gradients agree too (the training step differentiates through the layer's own VJP), and so
    # do second derivatives (a penalty on ∂loss/∂x, differentiated in the parameters).
    loss = lambda module: lambda p, x: jnp.sum(jnp.sin(module.apply(p, x)))  # noqa: E731
    chex.assert_trees_all_close(
        jax.grad(loss(layer), argnums=(0, 1))(params, x),
        jax.grad(loss(reference), argnums=(0, 1))(params, x),
        rtol=1e-4,
        atol=1e-5,
    )
    penalty = lambda module: lambda p: jnp.sum(jax.grad(loss(module), argnums=1)(p, x) ** 2)  # noqa: E731
    chex.assert_trees_all_close(
        jax.grad(penalty(layer))(params), jax.grad(penalty(reference))(params), rtol=1e-4, atol=1e-5
    )


def test_window_extraction_and_overlap_add_are_adjoint():
    """⟨windows(x), c⟩ = ⟨x, overlap_add(c)⟩: the pair the layer's forward and backward pass rely on."""
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 8, 3))
    windows = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 4, 16 * 3))
    chex.assert_shape(stride2_windows(x), windows.shape)
    chex.assert_shape(stride2_overlap_add(windows), x.shape)
    np.testing.assert_allclose(
        jnp.vdot(stride2_windows(x), windows), jnp.vdot(x, stride2_overlap_add(windows)), rtol=1e-5
    )
    # A window holds x[2i + s − 1, 2j + t − 1] at tap (s, t), zero off the image.
    padded = np.pad(np.asarray(x), ((0, 0), (1, 1), (1, 1), (0, 0)))
    i, j, s, t = 1, 2, 3, 0
    np.testing.assert_array_equal(
        stride2_windows(x)[:, i, j].reshape(2, 4, 4, 3)[:, s, t], padded[:, 2 * i + s, 2 * j + t]
    )


@pytest.mark.parametrize("image_size, channels", [(28, 1), (32, 3), (64, 3)])
def test_dcgan_shapes_and_output_range(image_size, channels):
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 16))
    generator = DCGANGenerator(image_size, channels, width=8)
    variables = generator.init(jax.random.PRNGKey(1), z)
    images, _ = generator.apply(variables, z, mutable=["batch_stats"])
    chex.assert_shape(images, (3, image_size, image_size, channels))
    assert np.all(np.abs(images) <= 1.0)
    critic = DCGANCritic(image_size, width=8)
    critic_variables = critic.init(jax.random.PRNGKey(2), images)
    chex.assert_shape(critic.apply(critic_variables, images, mutable=["batch_stats"])[0], (3, 1))


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_generator_upsampling_choices_give_the_same_function(spectral_norm):
    z = jax.random.normal(jax.random.PRNGKey(0), (2, 8))
    matmul, transpose = (
        DCGANGenerator(28, 1, width=4, upsampling=kind, spectral_norm=spectral_norm) for kind in ("matmul", "transpose")
    )
    variables = matmul.init(jax.random.PRNGKey(1), z)
    assert ("spectral" in variables) == spectral_norm
    np.testing.assert_allclose(matmul.apply(variables, z), transpose.apply(variables, z), rtol=1e-5, atol=1e-6)


def test_layer_norm_critic_scores_each_image_on_its_own_and_bad_sizes_are_refused():
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 28, 28, 1))
    critic = DCGANCritic(28, width=4, normalization="layer")
    variables = critic.init(jax.random.PRNGKey(1), x)
    np.testing.assert_allclose(critic.apply(variables, x)[:1], critic.apply(variables, x[:1]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="image sizes 28, 32, 64, got 48"):
        DCGANGenerator(48, 1).init(jax.random.PRNGKey(0), jnp.zeros((1, 4)))


def test_instance_norm_normalises_each_images_channels_over_their_positions():
    """Ulyanov et al. 2016: (x − μ_nc)/√(σ²_nc + ε), scale 1 and shift 0 at initialisation; so a
    critic with it scores each image on its own, as WGAN-GP's penalty needs."""
    x = 2.0 + 3.0 * jax.random.normal(jax.random.PRNGKey(0), (3, 4, 5, 2))
    norm = _Normalization("instance")
    variables = norm.init(jax.random.PRNGKey(1), x)
    values = np.asarray(x, np.float64)
    mean, variance = values.mean(axis=(1, 2), keepdims=True), values.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(
        norm.apply(variables, x), (values - mean) / np.sqrt(variance + 1e-6), rtol=1e-4, atol=1e-5
    )
    images = jax.random.normal(jax.random.PRNGKey(2), (4, 28, 28, 1))
    critic = DCGANCritic(28, width=4, normalization="instance")
    critic_variables = critic.init(jax.random.PRNGKey(3), images)
    np.testing.assert_allclose(
        critic.apply(critic_variables, images)[:1], critic.apply(critic_variables, images[:1]), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("conditioning", ["projection", "concat"])
def test_conditional_models_use_the_labels(conditioning):
    z, labels = jax.random.normal(jax.random.PRNGKey(0), (4, 8)), jnp.array([0, 1, 2, 3])
    generator = DCGANGenerator(28, 1, width=4, num_classes=4, normalization=None)
    variables = generator.init(jax.random.PRNGKey(1), z, labels)
    images = generator.apply(variables, z, labels)
    assert not np.allclose(images, generator.apply(variables, z, labels[::-1]))
    critic = DCGANCritic(28, width=4, normalization=None, num_classes=4, conditioning=conditioning)
    critic_variables = critic.init(jax.random.PRNGKey(2), images, labels)
    # Make the label pathway non-trivial, then check that the score changes with the label.
    critic_variables = jax.tree.map(lambda p: p + 0.05, critic_variables)
    chex.assert_shape(critic.apply(critic_variables, images, labels), (4, 1))
    assert not np.allclose(
        critic.apply(critic_variables, images, labels), critic.apply(critic_variables, images, labels[::-1])
    )
    with pytest.raises(ValueError, match="conditional on 4 classes: call it with labels"):
        generator.apply(variables, z)
    with pytest.raises(ValueError, match="labels given to an unconditional model"):
        DCGANGenerator(28, 1, width=4).init(jax.random.PRNGKey(0), z, labels)


def test_self_attention_starts_as_the_identity_and_mixes_positions_once_gamma_moves():
    from jaxgan.models.dcgan import SelfAttention

    x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 5, 16))
    block = SelfAttention()
    variables = block.init(jax.random.PRNGKey(1), x)
    np.testing.assert_array_equal(block.apply(variables, x), x)  # γ = 0
    variables = {"params": {**variables["params"], "gamma": jnp.array(1.0)}}
    out = block.apply(variables, x)
    moved = x.at[:, 0, 0].add(1.0)  # changing one position changes the output at another
    assert not np.allclose(out[:, 4, 4], block.apply(variables, moved)[:, 4, 4])
    generator = DCGANGenerator(28, 1, width=8, attention=True)
    assert "SelfAttention_0" in generator.init(jax.random.PRNGKey(2), jnp.zeros((2, 4)))["params"]
