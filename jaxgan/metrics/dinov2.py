"""DINOv2's ViT-L/14 (Oquab et al. 2023) in Flax, the feature space of FD-DINOv2, from a local file.

Stein et al. (NeurIPS 2023, "Exposing flaws of generative model evaluation metrics", dgm-eval)
found that Inception-v3's features misrank modern generative models and recommend the
Fréchet distance in the features of DINOv2's ViT-L/14 (FD-DINOv2), with precision, recall,
density and coverage in the same space. The network here computes what the official
`dinov2_vitl14` (the model without registers that dgm-eval loads) computes:

- images in [−1, 1] resized to 224 × 224 (`metrics.inception.RESIZE_MODES`: `clean`, PIL's
  antialiased bicubic as dgm-eval's `clean_resize`, is the default here) and normalised by
  ImageNet's channel means and standard deviations;
- 14 × 14 patches embedded by a convolution, a class token, and the checkpoint's learned
  positions of a 37 × 37 grid interpolated to 16 × 16 as DINOv2 does
  (`position_interpolation`);
- 24 pre-norm blocks x + γ₁·Attn(LN(x)), x + γ₂·MLP(LN(x)) (16 heads of 64, an MLP of 4,096
  with the exact GELU, LayerScale γ, LayerNorm ε = 1e-6);
- the class token after the last LayerNorm: 1,024 features per image.

Nothing is downloaded. The weights come from the file the user gives: the official checkpoint
`dinov2_vitl14_pretrain.pth` (read with torch, if installed), or the .npz of its state dict
that `python -m jaxgan.metrics.dinov2 PTH NPZ` writes once (with torch), read without torch.
"""

from __future__ import annotations

import functools
import math
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.metrics.inception import RESIZE_MODES, colour_batches, convert_state_dict_command, load_state_dict

INPUT_SIDE = 224
PATCH = 14
CHECKPOINT_GRID = 37  # the checkpoint's positions: 518-px images of 37 × 37 patches
INTERPOLATION_OFFSET = 0.1  # DINOv2's scale factor (grid + 0.1) / 37 (facebookresearch/dino issue 8)
LAYER_NORM_EPSILON = 1e-6
HEAD_WIDTH = 64
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def torch_bicubic_weights(in_size: int, scale_factor: float) -> np.ndarray:
    """(out, in) weights of `torch.nn.functional.interpolate(mode="bicubic",
    align_corners=False)` along one axis when it is given `scale_factor`: floor(in·scale_factor)
    outputs, output i read at source position (i + ½)/scale_factor − ½ (the factor as given,
    not in/out), Keys' cubic kernel with a = −0.75 on the 4 nearest inputs, indices clamped
    to the border, no antialiasing."""
    out_size = math.floor(in_size * scale_factor)
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        source = (i + 0.5) / scale_factor - 0.5
        left = math.floor(source)
        for tap in range(-1, 3):
            weights[i, min(max(left + tap, 0), in_size - 1)] += _keys_cubic(source - (left + tap))
    return weights


def _keys_cubic(x: float, a: float = -0.75) -> float:
    x = abs(x)
    if x <= 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def position_interpolation(grid: int) -> np.ndarray:
    """(grid, CHECKPOINT_GRID): the checkpoint's positions resampled to `grid` × `grid` patches
    as DINOv2's `interpolate_pos_encoding` does, bicubic at scale (grid + 0.1)/37."""
    return torch_bicubic_weights(CHECKPOINT_GRID, (grid + INTERPOLATION_OFFSET) / CHECKPOINT_GRID)


class Attention(nn.Module):
    """Multi-head self-attention with one qkv projection (with bias) and an output projection."""

    heads: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        n, tokens, width = x.shape
        qkv = nn.Dense(3 * width, name="qkv")(x).reshape(n, tokens, 3, self.heads, width // self.heads)
        q, k, v = (qkv[:, :, index] for index in range(3))
        logits = jnp.einsum("nqhd,nkhd->nhqk", q * (width // self.heads) ** -0.5, k)
        mixed = jnp.einsum("nhqk,nkhd->nqhd", jax.nn.softmax(logits, axis=-1), v)
        return nn.Dense(width, name="proj")(mixed.reshape(n, tokens, width))


class Block(nn.Module):
    """x + γ₁·Attn(LN(x)), then x + γ₂·MLP(LN(x)), with LayerScale's γ (`ls1`, `ls2`)."""

    heads: int
    mlp_ratio: int = 4

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        width = x.shape[-1]
        gamma_attention = self.param("ls1", nn.initializers.ones, (width,)).reshape(1, 1, width)
        gamma_mlp = self.param("ls2", nn.initializers.ones, (width,)).reshape(1, 1, width)
        x = x + gamma_attention * Attention(self.heads, name="attn")(_layer_norm("norm1")(x))
        hidden = nn.Dense(self.mlp_ratio * width, name="fc1")(_layer_norm("norm2")(x))
        return x + gamma_mlp * nn.Dense(width, name="fc2")(nn.gelu(hidden, approximate=False))


def _layer_norm(name: str) -> nn.LayerNorm:
    return nn.LayerNorm(epsilon=LAYER_NORM_EPSILON, name=name)


class DINOv2ViT(nn.Module):
    """images in [−1, 1], (n, h, w, 3) -> the class token's features (n, width), resized to
    `input_side` in the mode `resize`. The defaults are ViT-L/14; smaller widths and depths
    build the same architecture for tests."""

    width: int = 1024
    depth: int = 24
    heads: int = 16
    input_side: int = INPUT_SIDE
    resize: str = "clean"

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        x = (RESIZE_MODES[self.resize](images, self.input_side) + 1.0) / 2.0
        x = (x - jnp.asarray(IMAGENET_MEAN).reshape(1, 1, 1, 3)) / jnp.asarray(IMAGENET_STD).reshape(1, 1, 1, 3)
        patches = nn.Conv(self.width, (PATCH, PATCH), strides=(PATCH, PATCH), padding="VALID", name="patch_embed")(x)
        n, grid = patches.shape[0], patches.shape[1]
        cls_token = self.param("cls_token", nn.initializers.normal(1e-6), (1, 1, self.width))
        positions = self.param("pos_embed", nn.initializers.normal(0.02), (1, 1 + CHECKPOINT_GRID**2, self.width))
        x = jnp.concatenate([jnp.broadcast_to(cls_token, (n, 1, self.width)), patches.reshape(n, -1, self.width)], 1)
        x = x + self._interpolated(positions, grid)
        for index in range(self.depth):
            x = Block(self.heads, name=f"blocks_{index}")(x)
        return _layer_norm("norm")(x)[:, 0]

    def _interpolated(self, positions: jax.Array, grid: int) -> jax.Array:
        """The class token's position, then the 37 × 37 grid resampled to `grid` × `grid`."""
        resample = jnp.asarray(position_interpolation(grid), positions.dtype)
        square = positions[0, 1:].reshape(CHECKPOINT_GRID, CHECKPOINT_GRID, self.width)
        resampled = jnp.einsum("ih,hwc,jw->ijc", resample, square, resample, precision=jax.lax.Precision.HIGHEST)
        return jnp.concatenate([positions[:, :1], resampled.reshape(1, grid * grid, self.width)], 1)


def network_for(state_dict: dict[str, np.ndarray], resize: str = "clean") -> DINOv2ViT:
    """The DINOv2 ViT a state dict describes: its width (the class token's), its depth (its
    blocks) and heads of HEAD_WIDTH, as every DINOv2 ViT has (S/14 6 heads, B/14 12, L/14 16)."""
    if "cls_token" not in state_dict:
        raise ValueError("the weights have no cls_token: they are not a DINOv2 ViT's (give dinov2_vitl14_pretrain.pth)")
    width = int(np.shape(state_dict["cls_token"])[-1])
    depth = len({name.split(".")[1] for name in state_dict if name.startswith("blocks.")})
    return _vit(width, depth, resize)


def network_of_variables(variables: dict, resize: str = "clean") -> DINOv2ViT:
    """The DINOv2 ViT whose Flax variables these are (as `network_for` reads a state dict)."""
    params = variables["params"]
    return _vit(int(np.shape(params["cls_token"])[-1]), sum(name.startswith("blocks_") for name in params), resize)


def _vit(width: int, depth: int, resize: str) -> DINOv2ViT:
    return DINOv2ViT(width=width, depth=depth, heads=max(width // HEAD_WIDTH, 1), resize=resize)


def variables_from_state_dict(state_dict: dict[str, np.ndarray], network: DINOv2ViT | None = None) -> dict:
    """DINOv2ViT's Flax variables from an official checkpoint's state dict (name -> array):
    linear weights transposed, the patch convolution's from (out, in, h, w) to (h, w, in, out),
    LayerNorm's weight as `scale`, LayerScale's gamma as `ls1`/`ls2`; `mask_token` (used only
    in training) is left out. `network` defaults to the one the shapes describe (`network_for`).

    Raises:
      ValueError: a name or shape that is not an official DINOv2 ViT's (without registers).
    """
    network = network or network_for(state_dict)
    params: dict = {}
    for name, value in state_dict.items():
        value = np.asarray(value, np.float32)
        path = _flax_path(name, value)
        if path is None:
            continue
        *parents, leaf = path
        node = params
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value if leaf != "kernel" else (value.T if value.ndim == 2 else value.transpose(2, 3, 1, 0))
    side = PATCH * 2
    expected = jax.eval_shape(network.init, jax.random.PRNGKey(0), jnp.zeros((1, side, side, 3)))["params"]
    if jax.tree.map(np.shape, params) != jax.tree.map(lambda leaf: leaf.shape, expected):
        raise ValueError(
            f"the weights are not shaped as DINOv2's ViT (width {network.width}, depth {network.depth}, "
            f"patch {PATCH}, {CHECKPOINT_GRID} × {CHECKPOINT_GRID} positions, no registers): "
            "give dinov2_vitl14_pretrain.pth"
        )
    return {"params": params}


def _flax_path(name: str, value: np.ndarray) -> tuple[str, ...] | None:
    """Where the official checkpoint's `name` goes in DINOv2ViT's params (None: not used)."""
    parts = name.split(".")
    if name == "mask_token":
        return None
    if name in ("cls_token", "pos_embed"):
        return (name,)
    if parts[:2] == ["patch_embed", "proj"] or parts[0] == "norm":
        return (parts[0], _leaf(parts[-1], value))
    if parts[0] == "blocks" and len(parts) >= 4:
        block = f"blocks_{parts[1]}"
        if parts[2] in ("ls1", "ls2") and parts[3] == "gamma":
            return (block, parts[2])
        if parts[2] in ("norm1", "norm2"):
            return (block, parts[2], _leaf(parts[3], value))
        if parts[2] == "attn":
            return (block, "attn", parts[3], _leaf(parts[4], value))
        if parts[2] == "mlp" and parts[3] in ("fc1", "fc2"):  # ViT-g/14's SwiGLU (w12, w3) is not built
            return (block, parts[3], _leaf(parts[4], value))
    raise ValueError(f"{name} is not a weight of DINOv2's ViT-S/B/L (without registers)")


def _leaf(torch_name: str, value: np.ndarray) -> str:
    """torch's `weight` is a kernel (2-D or 4-D) or a LayerNorm's scale (1-D); `bias` stays."""
    if torch_name == "weight":
        return "scale" if value.ndim == 1 else "kernel"
    return torch_name


# DINOv2's released ViTs by (width, depth): the feature space's short name, the network's name.
RELEASED_VITS = {(384, 12): ("s14", "ViT-S/14"), (768, 12): ("b14", "ViT-B/14"), (1024, 24): ("l14", "ViT-L/14")}


def extractor_name(network: DINOv2ViT) -> str:
    """The feature space's name: dinov2-vit-l14 for ViT-L/14, the sizes for another ViT."""
    short = RELEASED_VITS.get((network.width, network.depth), (f"w{network.width}-d{network.depth}",))[0]
    return f"dinov2-vit-{short}"


def network_name(network: DINOv2ViT) -> str:
    """What a summary calls the network: DINOv2 ViT-L/14, or the sizes of another ViT."""
    released = RELEASED_VITS.get((network.width, network.depth))
    return f"DINOv2 {released[1]}" if released else f"DINOv2 ViT of width {network.width}, depth {network.depth}"


@functools.cache
def _compiled_network(width: int, depth: int, heads: int, resize: str):
    """A DINOv2ViT's apply, jitted once per architecture and resize mode for the whole process."""
    return jax.jit(DINOv2ViT(width, depth, heads, resize=resize).apply)


class DINOv2Scorer:
    """A DINOv2 ViT's class-token features of images, in batches, jitted once; there are no
    class probabilities (no inception score in its space).

    Args:
      weights_path: the official checkpoint (dinov2_vitl14_pretrain.pth, read with torch) or
        its .npz (`python -m jaxgan.metrics.dinov2 PTH NPZ`).
      batch_size: images per call of the network.
      resize: how images reach 224 px (`metrics.inception.RESIZE_MODES`).
      variables: the ViT's Flax variables, when already in hand (random ones, to time it:
        `python -m jaxgan.bench scoring`); weights_path then only names them.

    Raises:
      FileNotFoundError, ValueError: no file there, or not a DINOv2 ViT's weights.
    """

    def __init__(self, weights_path: str, batch_size: int = 50, resize: str = "clean", variables: dict | None = None):
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize mode {resize!r}: choose one of {', '.join(RESIZE_MODES)}")
        if variables is None:
            state_dict = load_state_dict(weights_path, "DINOv2", "dinov2_vitl14_pretrain.pth", "dinov2")
            network = network_for(state_dict, resize)
            variables = variables_from_state_dict(state_dict, network)
        else:
            network = network_of_variables(variables, resize)
        self.variables = variables
        self.extractor, self.name, self.batch_size = extractor_name(network), network_name(network), batch_size
        self.weights_path, self.resize = weights_path, resize
        self._apply = _compiled_network(network.width, network.depth, network.heads, resize)

    def features_and_probabilities(self, images: np.ndarray) -> tuple[np.ndarray, None]:
        """(class-token features (n, width), None) of images in [−1, 1]; grey images are
        repeated over three channels."""
        features = [
            np.asarray(self._apply(self.variables, batch), np.float64)
            for batch in colour_batches(images, self.batch_size)
        ]
        return np.concatenate(features), None


def main(argv: list[str] | None = None) -> int:
    return convert_state_dict_command(
        "python -m jaxgan.metrics.dinov2",
        "Convert DINOv2's official ViT-L/14 weights (dinov2_vitl14_pretrain.pth, read with torch) to an .npz "
        "read without torch.",
        "dinov2_vitl14_pretrain.pth",
        variables_from_state_dict,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
