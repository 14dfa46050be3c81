"""Layers for the training techniques of Salimans et al. 2016, "Improved Techniques for
Training GANs" (article 004): minibatch discrimination and virtual batch normalisation;
spectral normalisation (Miyato et al. 2018) and SAGAN's self-attention (Zhang et al. 2019)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan.state import SPECTRAL_COLLECTION


class MinibatchDiscrimination(nn.Module):
    """Features that tell the critic how close each example is to the others of its batch (§3.2).

    With f(x_i) ∈ R^A and a learned tensor T ∈ R^{A×B×C}: M_i = f(x_i)·T ∈ R^{B×C},
    c_b(x_i, x_j) = exp(−‖M_{i,b} − M_{j,b}‖₁) and o(x_i)_b = Σ_{j≠i} c_b(x_i, x_j). The output is
    [f(x_i), o(x_i)], shape (batch, A + B): a collapsed generator's batch has large o, which the
    critic can see. (The sum leaves out j = i, whose term is always 1, as the paper's code does.)

    Attributes:
      kernels: B, the number of closeness features.
      kernel_dim: C, the width of each kernel's projection.
    """

    kernels: int
    kernel_dim: int

    @nn.compact
    def __call__(self, features: jax.Array) -> jax.Array:
        projections = nn.DenseGeneral((self.kernels, self.kernel_dim), use_bias=False, name="T")(features)
        distances = jnp.sum(jnp.abs(projections[:, None] - projections[None, :]), axis=-1)  # (n, n, B)
        closeness = jnp.sum(jnp.exp(-distances), axis=1) - 1.0
        return jnp.concatenate([features, closeness], axis=-1)


class VirtualBatchNorm(nn.Module):
    """Normalise each example by a fixed reference batch together with itself (§3.5).

    The caller stacks the reference batch's activations r_1..r_N in front of the batch's; each
    row h_i (reference rows included) is normalised per feature by
      μ_i = (N·mean_k r_k + h_i) / (N + 1),  σ²_i = (N·mean_k r_k² + h_i²) / (N + 1) − μ_i²,
      out_i = γ·(h_i − μ_i) / √(σ²_i + ε) + β,
    so, unlike batch norm, an example's output does not depend on the rest of its batch. For
    inputs with spatial axes, means run over them too (one statistic per channel).

    Attributes:
      n_reference: N, the number of leading rows that form the reference batch.
      epsilon: ε.
    """

    n_reference: int
    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        spatial = tuple(range(1, h.ndim - 1))
        weight = 1.0 / (self.n_reference + 1)

        def combined(values):  # (N·mean over the reference + the example's own) / (N + 1)
            own = jnp.mean(values, axis=spatial, keepdims=True)
            return weight * own + (1.0 - weight) * jnp.mean(
                values[: self.n_reference], axis=(0, *spatial), keepdims=True
            )

        mean = combined(h)
        variance = jnp.maximum(combined(h**2) - mean**2, 0.0)
        broadcast = (1,) * (h.ndim - 1) + (h.shape[-1],)
        scale = self.param("scale", nn.initializers.ones, (h.shape[-1],)).reshape(broadcast)
        bias = self.param("bias", nn.initializers.zeros, (h.shape[-1],)).reshape(broadcast)
        return (h - mean) * jax.lax.rsqrt(variance + self.epsilon) * scale + bias


class SpectralNormalized(nn.Module):
    """`layer` with its weight divided by an estimate of its largest singular value, W / σ(W)
    (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks").

    A kernel of any rank is read as the matrix (fan-in, out features), as SNGAN does for
    convolutions; vectors (biases) are left alone. σ(W) = vᵀWu comes from one power iteration
    per call, v ← Wu/‖Wu‖, u ← Wᵀv/‖Wᵀv‖, started from the u kept in the `spectral` collection
    and not differentiated through (`flax.linen.SpectralNorm`). The iteration's u is stored only
    while that collection is mutable, that is in training (`state.PlayerSpec.mutable`);
    evaluation iterates from the stored u without storing the result, so it never changes the
    network's state. This is SNGAN's own code (`W_bar` in pfnet-research/sngan_projection: one
    `max_singular_value` step at every call, u kept only under `chainer.config.train`);
    PyTorch's `spectral_norm` in eval mode instead reuses the stored u and v, so its σ lags
    ours by one power step. Because u is a property of the weights alone, the layer keeps each
    example's output a function of that example.
    """

    layer: nn.Module

    @nn.compact
    def __call__(self, *inputs: jax.Array) -> jax.Array:
        training = self.is_mutable_collection(SPECTRAL_COLLECTION)
        return nn.SpectralNorm(self.layer, collection_name=SPECTRAL_COLLECTION)(*inputs, update_stats=training)


def spectral_normalized(layer: nn.Module, enabled: bool) -> nn.Module:
    """`SpectralNormalized(layer)` when `enabled`, else `layer` itself."""
    return SpectralNormalized(layer) if enabled else layer


class SelfAttention(nn.Module):
    """SAGAN's self-attention block (Zhang et al. 2019), o = x + γ·Σ_j softmax_j(f(x_i)·g(x_j)) h(x_j).

    f and g are 1 × 1 convolutions to C/8 channels, h one to C; γ starts at 0, so the block
    starts as the identity and learns how much non-local evidence to mix in. `spectral_norm`
    normalises the three convolutions, as SAGAN and BigGAN (Brock et al. 2019) do in both players;
    `kernel_init` initialises them (BigGAN: orthogonal).
    """

    spectral_norm: bool = False
    kernel_init: nn.initializers.Initializer = nn.linear.default_kernel_init

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        n, height, width, channels = x.shape
        reduced = max(channels // 8, 1)

        def project(features: int, name: str) -> jax.Array:
            conv = nn.Conv(features, (1, 1), kernel_init=self.kernel_init, name=name)
            return spectral_normalized(conv, self.spectral_norm)(x).reshape(n, height * width, features)

        queries, keys, values = project(reduced, "query"), project(reduced, "key"), project(channels, "value")
        attention = jax.nn.softmax(jnp.einsum("nik,njk->nij", queries, keys), axis=-1)
        mixed = jnp.einsum("nij,njc->nic", attention, values).reshape(x.shape)
        return x + self.param("gamma", nn.initializers.zeros, ()) * mixed


def class_labels(labels: jax.Array | None, num_classes: int) -> jax.Array | None:
    """The labels a model conditional on `num_classes` > 0 classes must be called with, or
    None for an unconditional model (num_classes = 0), which must be called without.

    Raises:
      ValueError: labels missing for a conditional model, or given to an unconditional one.
    """
    if not num_classes:
        if labels is not None:
            raise ValueError("labels given to an unconditional model; set num_classes to condition on them")
        return None
    if labels is None:
        raise ValueError(f"this model is conditional on {num_classes} classes: call it with labels")
    return labels
