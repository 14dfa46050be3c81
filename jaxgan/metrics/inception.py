"""The Inception-v3 network of FID (Heusel et al. 2017), in Flax, from a local weights file.

It computes what pytorch-fid's `InceptionV3` computes (the TensorFlow graph of 2015-12-05 that
FID, KID and the inception score were defined with): images in [−1, 1] resized to 299 × 299,
the stem, the Mixed_5b .. Mixed_7c blocks with
pytorch-fid's patches (average pools that leave the padding out of the mean, and a max pool in
Mixed_7c's pool branch), then the average over positions: the 2,048 pool features of FID and
KID. Its last layer's 1,008 logits give the inception score's class probabilities.

Nothing is downloaded. The weights come from the file the user gives: pytorch-fid's
`pt_inception-2015-12-05-*.pth` (read with torch, if installed), or the .npz of its state dict
that `python -m jaxgan.metrics.inception PTH NPZ` writes once (with torch), which jaxgan reads
without torch.

Two resize modes (`RESIZE_MODES`), since the filter alone moves FID by several points (Parmar
et al. 2022, "On Aliased Resizing and Surprising Subtleties in GAN Evaluation"):

- `legacy`: bilinear with half-pixel centres and no antialiasing,
  `torch.nn.functional.interpolate(..., mode="bilinear", align_corners=False)`, what
  pytorch-fid and the tables computed with it use (`resize_bilinear`);
- `clean`: PIL's bicubic with antialiasing, each channel resized as 32-bit floats and clipped
  to the input range, what clean-fid's "clean" mode uses (`resize_clean`).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Iterator

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

INPUT_SIDE = 299
BATCH_NORM_EPSILON = 1e-3


def resize_bilinear(images: jax.Array, side: int = INPUT_SIDE) -> jax.Array:
    """(n, h, w, c) -> (n, side, side, c): bilinear with half-pixel centres and no antialiasing,
    so each output pixel mixes the 2 × 2 input pixels around its centre, as
    `F.interpolate(mode="bilinear", align_corners=False)` does when it shrinks as when it grows."""
    shape = (images.shape[0], side, side, images.shape[3])
    return jax.image.resize(images, shape, method="bilinear", antialias=False)


def pil_bicubic_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) weights of PIL's bicubic resampling of one axis (Pillow's
    `Resample.c`, `precompute_coeffs`): output pixel i is centred at s·(i + ½) with
    s = in_size / out_size; the cubic kernel (a = −½) is stretched by max(s, 1), so shrinking
    averages over the pixels it covers (antialiasing); each row's weights are normalised to 1."""
    scale = in_size / out_size
    stretch = max(scale, 1.0)
    support = 2.0 * stretch
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        centre = (i + 0.5) * scale
        low, high = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), in_size)
        taps = _bicubic((np.arange(low, high) - centre + 0.5) / stretch)
        weights[i, low:high] = taps / taps.sum()
    return weights


def _bicubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel with PIL's a = −½."""
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def resize_clean(images: jax.Array, side: int = INPUT_SIDE) -> jax.Array:
    """(n, h, w, c) -> (n, side, side, c) by PIL's antialiased bicubic (`pil_bicubic_weights`,
    rows then columns), clipped to [−1, 1] as clean-fid clips to [0, 255]."""
    rows = jnp.asarray(pil_bicubic_weights(images.shape[1], side), images.dtype)
    columns = jnp.asarray(pil_bicubic_weights(images.shape[2], side), images.dtype)
    resized = jnp.einsum("oh,nhwc,pw->nopc", rows, images, columns, precision=jax.lax.Precision.HIGHEST)
    return jnp.clip(resized, -1.0, 1.0)


RESIZE_MODES = {"legacy": resize_bilinear, "clean": resize_clean}


def _average_pool_3x3(x: jax.Array) -> jax.Array:
    """3 × 3 average at stride 1 over the positions inside x (zero padding left out of the mean,
    `count_include_pad=False`)."""

    def window_sum(values: jax.Array) -> jax.Array:
        padding = ((0, 0), (1, 1), (1, 1), (0, 0))
        return jax.lax.reduce_window(values, 0.0, jax.lax.add, (1, 3, 3, 1), (1, 1, 1, 1), padding)

    counts = window_sum(jnp.ones((1, *x.shape[1:3], 1), x.dtype))
    return window_sum(x) / counts


def _max_pool_3x3(x: jax.Array, stride: int, padding: int = 0) -> jax.Array:
    return nn.max_pool(x, (3, 3), strides=(stride, stride), padding=((padding, padding), (padding, padding)))


class BasicConv(nn.Module):
    """Convolution without bias, batch norm at its stored statistics (ε = 1e-3), ReLU."""

    features: int
    kernel: tuple[int, int]
    stride: int = 1
    padding: tuple[int, int] = (0, 0)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        padding = tuple((p, p) for p in self.padding)
        x = nn.Conv(self.features, self.kernel, (self.stride, self.stride), padding, use_bias=False, name="conv")(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=BATCH_NORM_EPSILON, name="bn")(x)
        return nn.relu(x)


def _same(features: int, kernel: int | tuple[int, int], name: str) -> BasicConv:
    """A stride-1 BasicConv padded to keep the size: (k − 1)/2 on each side of each axis."""
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    return BasicConv(features, kernel, padding=((kernel[0] - 1) // 2, (kernel[1] - 1) // 2), name=name)


def _valid(features: int, size: int, name: str, stride: int = 1) -> BasicConv:
    """An unpadded size × size BasicConv."""
    return BasicConv(features, (size, size), stride, name=name)


class InceptionA(nn.Module):
    """Mixed_5b/c/d: 1 × 1, 5 × 5, double 3 × 3 and average-pool branches."""

    pool_features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        branch5x5 = _same(64, 5, "branch5x5_2")(_same(48, 1, "branch5x5_1")(x))
        branch3x3dbl = _same(96, 3, "branch3x3dbl_2")(_same(64, 1, "branch3x3dbl_1")(x))
        branch3x3dbl = _same(96, 3, "branch3x3dbl_3")(branch3x3dbl)
        pool = _same(self.pool_features, 1, "branch_pool")(_average_pool_3x3(x))
        return jnp.concatenate([_same(64, 1, "branch1x1")(x), branch5x5, branch3x3dbl, pool], axis=-1)


class InceptionB(nn.Module):
    """Mixed_6a: a grid reduction to 17 × 17."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        branch3x3 = _valid(384, 3, "branch3x3", stride=2)(x)
        branch3x3dbl = _same(96, 3, "branch3x3dbl_2")(_same(64, 1, "branch3x3dbl_1")(x))
        branch3x3dbl = _valid(96, 3, "branch3x3dbl_3", stride=2)(branch3x3dbl)
        return jnp.concatenate([branch3x3, branch3x3dbl, _max_pool_3x3(x, 2)], axis=-1)


class InceptionC(nn.Module):
    """Mixed_6b/c/d/e: 7 × 7 branches factorised into 1 × 7 and 7 × 1 convolutions of
    `channels_7x7` channels."""

    channels_7x7: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c = self.channels_7x7
        branch7x7 = _same(c, (1, 7), "branch7x7_2")(_same(c, 1, "branch7x7_1")(x))
        branch7x7 = _same(192, (7, 1), "branch7x7_3")(branch7x7)
        double = _same(c, 1, "branch7x7dbl_1")(x)
        for index, kernel in enumerate(((7, 1), (1, 7), (7, 1)), start=2):
            double = _same(c, kernel, f"branch7x7dbl_{index}")(double)
        double = _same(192, (1, 7), "branch7x7dbl_5")(double)
        pool = _same(192, 1, "branch_pool")(_average_pool_3x3(x))
        return jnp.concatenate([_same(192, 1, "branch1x1")(x), branch7x7, double, pool], axis=-1)


class InceptionD(nn.Module):
    """Mixed_7a: a grid reduction to 8 × 8."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        branch3x3 = _valid(320, 3, "branch3x3_2", stride=2)(_same(192, 1, "branch3x3_1")(x))
        branch7x7x3 = _same(192, (1, 7), "branch7x7x3_2")(_same(192, 1, "branch7x7x3_1")(x))
        branch7x7x3 = _same(192, (7, 1), "branch7x7x3_3")(branch7x7x3)
        branch7x7x3 = _valid(192, 3, "branch7x7x3_4", stride=2)(branch7x7x3)
        return jnp.concatenate([branch3x3, branch7x7x3, _max_pool_3x3(x, 2)], axis=-1)


class InceptionE(nn.Module):
    """Mixed_7b and Mixed_7c: branches split into 1 × 3 and 3 × 1 halves; the pool branch
    averages (Mixed_7b) or, in pytorch-fid's patch of Mixed_7c, takes the maximum."""

    max_pool: bool

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        def split(h: jax.Array, prefix: str) -> jax.Array:
            return jnp.concatenate([_same(384, (1, 3), f"{prefix}a")(h), _same(384, (3, 1), f"{prefix}b")(h)], axis=-1)

        branch3x3 = split(_same(384, 1, "branch3x3_1")(x), "branch3x3_2")
        double = _same(384, 3, "branch3x3dbl_2")(_same(448, 1, "branch3x3dbl_1")(x))
        branch3x3dbl = split(double, "branch3x3dbl_3")
        pooled = _max_pool_3x3(x, 1, padding=1) if self.max_pool else _average_pool_3x3(x)
        pool = _same(192, 1, "branch_pool")(pooled)
        return jnp.concatenate([_same(320, 1, "branch1x1")(x), branch3x3, branch3x3dbl, pool], axis=-1)


class FIDInception(nn.Module):
    """images in [−1, 1], (n, h, w, 3) -> (pool features (n, 2048), logits (n, 1008)), resized
    to 299 × 299 in the mode `resize` (`RESIZE_MODES`)."""

    resize: str = "legacy"

    @nn.compact
    def __call__(self, images: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = RESIZE_MODES[self.resize](images)
        x = _valid(32, 3, "Conv2d_1a_3x3", stride=2)(x)
        x = _valid(32, 3, "Conv2d_2a_3x3")(x)
        x = _max_pool_3x3(_same(64, 3, "Conv2d_2b_3x3")(x), 2)
        x = _same(80, 1, "Conv2d_3b_1x1")(x)
        x = _max_pool_3x3(_valid(192, 3, "Conv2d_4a_3x3")(x), 2)
        for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
            x = InceptionA(pool_features, name=name)(x)
        x = InceptionB(name="Mixed_6a")(x)
        for name, channels in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
            x = InceptionC(channels, name=name)(x)
        x = InceptionD(name="Mixed_7a")(x)
        x = InceptionE(max_pool=False, name="Mixed_7b")(x)
        x = InceptionE(max_pool=True, name="Mixed_7c")(x)
        features = x.mean(axis=(1, 2))
        return features, nn.Dense(1008, name="fc")(features)


def variables_from_state_dict(state_dict: dict[str, np.ndarray]) -> dict:
    """FIDInception's Flax variables from pytorch-fid's state dict (name -> array).

    Convolution kernels go from torch's (out, in, h, w) to (h, w, in, out) and the last
    layer's weight is transposed; batch norm's weight, bias, running mean and running variance
    become `scale` and `bias` (params) and `mean` and `var` (batch_stats).

    Raises:
      ValueError: a name or shape that is not pytorch-fid's Inception-v3.
    """
    params, batch_stats = {}, {}
    renamed = {"weight": "scale", "running_mean": "mean", "running_var": "var"}
    for name, value in state_dict.items():
        *path, leaf = name.split(".")
        value = np.asarray(value, np.float32)
        if leaf == "num_batches_tracked":
            continue
        if path[-1:] == ["conv"] and leaf == "weight":
            tree, leaf, value = params, "kernel", value.transpose(2, 3, 1, 0)
        elif path[-1:] == ["bn"]:
            tree, leaf = (batch_stats if leaf.startswith("running") else params), renamed.get(leaf, leaf)
        elif path == ["fc"]:
            tree, leaf, value = (
                params,
                ("kernel" if leaf == "weight" else leaf),
                (value.T if leaf == "weight" else value),
            )
        else:
            raise ValueError(f"{name} is not a weight of pytorch-fid's Inception-v3")
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    expected = jax.eval_shape(FIDInception().init, jax.random.PRNGKey(0), jnp.zeros((1, 75, 75, 3)))
    given = {"params": params, "batch_stats": batch_stats}
    if jax.tree.map(np.shape, given) != jax.tree.map(lambda leaf: leaf.shape, dict(expected)):
        raise ValueError("the weights are not shaped as pytorch-fid's Inception-v3 (FID's 2015-12-05 network)")
    return given


def read_weights(path: str) -> dict:
    """FIDInception's variables from pytorch-fid's .pth (needs torch) or its .npz conversion.

    Raises:
      FileNotFoundError: nothing at `path`.
      ValueError: a file that is not those weights, or a .pth without torch to read it.
    """
    state_dict = load_state_dict(path, "Inception", "pytorch-fid's pt_inception-2015-12-05-*.pth", "inception")
    return variables_from_state_dict(state_dict)


def load_state_dict(path: str, network: str, original: str, module: str) -> dict[str, np.ndarray]:
    """The state dict (name -> array) of a network's weights file: a PyTorch file read with
    torch, or the .npz that `python -m jaxgan.metrics.{module} PTH NPZ` wrote from one.

    Raises:
      FileNotFoundError: nothing at `path` (the line names `original`, the file to give).
      ValueError: a PyTorch file and no torch to read it.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {network} weights at {path!r}; give {original} or its .npz")
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as arrays:
            return dict(arrays)
    try:
        import torch
    except ImportError:
        raise ValueError(
            f"{path} is a PyTorch file and torch is not installed: convert it once where torch is, with "
            f"python -m jaxgan.metrics.{module} PTH NPZ, and give the .npz"
        ) from None
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    return {name: tensor.numpy() for name, tensor in state_dict.items()}


@functools.cache
def _compiled_network(resize: str):
    """FIDInception's apply, jitted once per resize mode for the whole process: every scorer
    (a run's evaluator, each set `jaxgan.fid` reads) shares its compiled programs."""
    return jax.jit(FIDInception(resize).apply)


def colour_batches(images: np.ndarray, batch_size: int) -> Iterator[jax.Array]:
    """Images (n, h, w, c) as device arrays of `batch_size` (the last one shorter), grey images
    repeated over three channels: what a pretrained network's scorer feeds it."""
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    for start in range(0, len(images), batch_size):
        yield jnp.asarray(images[start : start + batch_size])


class InceptionScorer:
    """Pool features and class probabilities of FID's Inception-v3, in batches, jitted once."""

    extractor, name = "inception-v3", "FID's Inception-v3"

    def __init__(self, weights_path: str, batch_size: int = 200, resize: str = "legacy", variables: dict | None = None):
        """`variables`: FIDInception's, when already in hand (random ones, to time it:
        `python -m jaxgan.bench scoring`); otherwise read from weights_path (`read_weights`)."""
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize mode {resize!r}: choose one of {', '.join(RESIZE_MODES)}")
        self.variables = read_weights(weights_path) if variables is None else variables
        self.batch_size = batch_size
        self.weights_path, self.resize = weights_path, resize
        self._apply = _compiled_network(resize)

    def features_and_probabilities(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pool features (n, 2048), softmax of the 1,008 logits) of images in [−1, 1]; grey
        images are repeated over three channels."""
        features, probabilities = [], []
        for batch in colour_batches(images, self.batch_size):
            pooled, logits = self._apply(self.variables, batch)
            features.append(np.asarray(pooled, np.float64))
            probabilities.append(np.asarray(jax.nn.softmax(logits), np.float64))
        return np.concatenate(features), np.concatenate(probabilities)


def convert_state_dict_command(
    prog: str, description: str, original: str, check: Callable[[dict], object], argv: list[str] | None
) -> int:
    """`prog PTH NPZ`: a PyTorch weights file (`original`) read with torch, checked by `check`
    (which raises ValueError for anything but those weights), written as an .npz of its state
    dict that jaxgan reads without torch. Bad input is one line and status 2."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("pth", help=original)
    parser.add_argument("npz", help="where to write the .npz")
    args = parser.parse_args(argv)
    try:
        if args.pth.endswith(".npz"):
            raise ValueError(f"{args.pth} is already an .npz: give the PyTorch file {original}")
        state_dict = load_state_dict(args.pth, "PyTorch", original, prog.split(".")[-1])
        check(state_dict)
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    np.savez(args.npz, **state_dict)
    print(f"wrote {args.npz}: {len(state_dict)} arrays")
    return 0


def main(argv: list[str] | None = None) -> int:
    return convert_state_dict_command(
        "python -m jaxgan.metrics.inception",
        "Convert pytorch-fid's Inception weights (.pth, read with torch) to an .npz read without torch.",
        "pt_inception-2015-12-05-*.pth",
        variables_from_state_dict,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
