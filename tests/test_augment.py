"""DiffAugment (Zhao et al. 2020): each transformation against a direct numpy computation, the
draws' ranges, gradients through it, and the critic seeing T(x) in both players' updates."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxgan
from jaxgan.augment import DiffAugment, adjust_colour, cut_out, translate

BATCH, SIZE = 8, 32


def _images(seed: int = 0, shape=(BATCH, SIZE, SIZE, 3)) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def test_colour_is_brightness_then_saturation_then_contrast():
    x, rng = _images(), np.random.default_rng(1)
    b, s, c = (rng.uniform(size=BATCH).astype(np.float32) for _ in range(3))
    expected = x.astype(np.float64) + (b - 0.5)[:, None, None, None]
    channel_mean = expected.mean(-1, keepdims=True)
    expected = (expected - channel_mean) * 2 * s[:, None, None, None] + channel_mean
    image_mean = expected.mean((1, 2, 3), keepdims=True)
    expected = (expected - image_mean) * (c + 0.5)[:, None, None, None] + image_mean
    np.testing.assert_allclose(adjust_colour(jnp.asarray(x), b, s, c), expected, rtol=1e-5, atol=1e-5)


def test_translation_moves_each_image_by_its_shift_and_fills_with_zeros():
    x = _images(2, (4, 6, 5, 2))
    shifts = np.array([[0, 0], [2, -1], [-3, 4], [6, 0]])  # the last moves the whole image out
    expected = np.zeros_like(x)
    for n, (di, dj) in enumerate(shifts):
        for i in range(6):
            for j in range(5):
                if 0 <= i + di < 6 and 0 <= j + dj < 5:
                    expected[n, i, j] = x[n, i + di, j + dj]
    np.testing.assert_array_equal(translate(jnp.asarray(x), jnp.asarray(shifts)), expected)


def test_cutout_zeroes_a_square_clipped_to_the_image():
    x = _images(3, (3, 8, 8, 1))
    centres = np.array([[4, 4], [0, 7], [8, 1]])
    side = 4
    expected = x.copy()
    for n, (ci, cj) in enumerate(centres):
        expected[n, max(ci - 2, 0) : ci + 2, max(cj - 2, 0) : cj + 2] = 0
    np.testing.assert_array_equal(cut_out(jnp.asarray(x), jnp.asarray(centres), side), expected)


@pytest.mark.parametrize("size, shift, side", [(32, 4, 16), (28, 3, 14)])
def test_random_draws_stay_within_the_reference_codes_ranges(size, shift, side):
    """A shift is at most ⌊size/8⌋ pixels each way (4 at 32 px, 3 at 28 px, as the current
    DiffAugment_pytorch.py; the first release's rounding gave 4 at 28 px), and every shift
    occurs; a cutout is a ⌊size/2⌋-pixel square clipped to the image, at least its quarter."""
    centre = size // 2
    marker = np.zeros((512, size, size, 1), np.float32)
    marker[:, centre, centre] = 1.0
    moved = np.asarray(DiffAugment(("translation",))(jax.random.PRNGKey(0), jnp.asarray(marker)))
    rows, columns = np.nonzero(moved[..., 0].max(axis=2))[1], np.nonzero(moved[..., 0].max(axis=1))[1]
    shifts = set(range(-shift, shift + 1))
    assert set(centre - rows) == shifts and set(centre - columns) == shifts

    cut = np.asarray(DiffAugment(("cutout",))(jax.random.PRNGKey(1), jnp.ones((512, size, size, 1))))
    zeroed_rows, zeroed_columns = (cut[..., 0] == 0).any(axis=2).sum(1), (cut[..., 0] == 0).any(axis=1).sum(1)
    assert (cut[..., 0] == 0).sum((1, 2)).tolist() == (zeroed_rows * zeroed_columns).tolist()  # a rectangle
    assert zeroed_rows.min() == side // 2 and zeroed_rows.max() == side and zeroed_columns.min() == side // 2


def test_gradients_flow_through_the_augmentation():
    """T is affine in x at a fixed draw, so its VJP must be the adjoint of its JVP
    (⟨w, J·u⟩ = ⟨Jᵀ·w, u⟩); with cutout alone the gradient is the mask itself."""
    augment, key, x = DiffAugment(), jax.random.PRNGKey(2), jnp.asarray(_images(4))
    u, w = jnp.asarray(_images(5)), jnp.asarray(_images(6))
    _, forward = jax.jvp(lambda x: augment(key, x), (x,), (u,))
    backward = jax.grad(lambda x: jnp.sum(w * augment(key, x)))(x)
    assert float(jnp.abs(backward).sum()) > 0
    np.testing.assert_allclose(jnp.vdot(w, forward), jnp.vdot(backward, u), rtol=1e-4)
    cutout = DiffAugment(("cutout",))
    mask = jax.grad(lambda x: jnp.sum(cutout(key, x)))(x)
    np.testing.assert_array_equal(mask, (cutout(key, jnp.ones_like(x)) != 0).astype(np.float32))


def test_unknown_transformations_are_refused():
    with pytest.raises(ValueError, match="name one or more of color, translation, cutout"):
        DiffAugment.from_text("color,flip")


class _MeanCritic:
    """A critic scoring each image by its mean pixel: D(x) = mean(x)."""

    @staticmethod
    def player() -> jaxgan.PlayerSpec:
        return jaxgan.PlayerSpec(
            apply=lambda variables, x: variables["params"]["scale"] * x.mean((1, 2, 3))[:, None],
            init=lambda key, x: {"params": {"scale": jnp.ones(())}},
            tx=optax.sgd(0.0),
        )


def _ones_generator() -> jaxgan.PlayerSpec:
    return jaxgan.PlayerSpec(
        apply=lambda variables, z: jnp.ones((z.shape[0], SIZE, SIZE, 1)) * variables["params"]["value"],
        init=lambda key, z: {"params": {"value": jnp.ones(())}},
        tx=optax.sgd(0.0),
    )


@pytest.mark.parametrize("augment", [None, DiffAugment(("cutout",))])
def test_the_critic_scores_augmented_images_in_both_players_updates(augment):
    """Real and generated images are all ones and D is the mean pixel. Cutout removes between
    64 and 256 of 1,024 pixels from each image, so D∘T scores 0.75 to 0.9375 where D scores 1,
    in the critic's update and the generator's; real and generated batches draw apart."""
    spec = jaxgan.GANSpec(
        jaxgan.wgan(n_critic=1),
        _ones_generator(),
        _MeanCritic.player(),
        jaxgan.standard_normal_latent(2),
        augment=augment,
    )
    real = jnp.ones((BATCH, SIZE, SIZE, 1))
    state = jaxgan.init_state(spec, jax.random.PRNGKey(0), real)
    after_critic, critic_metrics = jaxgan.critic_step(spec, state, real, jax.random.PRNGKey(1))
    _, generator_metrics = jaxgan.generator_step(spec, after_critic, real, jax.random.PRNGKey(2))
    fake_score = -float(generator_metrics["generator_loss"])
    if augment is None:
        assert fake_score == 1.0 and float(critic_metrics["critic_loss"]) == 0.0
    else:
        assert 0.75 <= fake_score <= 0.9375
        assert float(critic_metrics["critic_loss"]) != 0.0
