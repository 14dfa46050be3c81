"""The benchmarks' JAX side: the workloads (the WGAN-GP toy setting, DCGAN at 28 px, the
CIFAR-10 recipes, scoring samples in each feature network), their iterations (or images) per
second, their floating-point work, and the matmul peak."""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import configs, games, parallel
from jaxgan.data import images, toy
from jaxgan.metrics.classifier import ConvClassifier, TrainedClassifier
from jaxgan.metrics.dinov2 import DINOv2Scorer, DINOv2ViT
from jaxgan.metrics.inception import FIDInception, InceptionScorer
from jaxgan.metrics.scoring import SCORING_BATCH, ImageBatches, stream_features
from jaxgan.models import MLP, DCGANCritic, DCGANGenerator
from jaxgan.runs.images import build_gan
from jaxgan.state import PlayerSpec
from jaxgan.steps import (
    PRECISIONS,
    GANSpec,
    LabelledBatch,
    critic_step,
    generator_step,
    in_precision,
    init_state,
    init_states,
    make_multi_seed_train_step,
    make_train_step,
    standard_normal_latent,
    unroll_loops,
)

N_CRITIC, PENALTY_WEIGHT, LEARNING_RATE, BETAS = 5, 0.1, 1e-4, (0.5, 0.9)


SIZES = {"reference": (512, 3, 256), "small": (128, 3, 64)}  # width, depth, batch


def toy_data(iterations: int, batch: int) -> np.ndarray:
    """(iterations, N_CRITIC, batch, 2) samples of the 8-Gaussian ring."""
    return toy.batches_for_step(toy.make_toy("8gaussians"), 0, 0, (iterations, N_CRITIC, batch))


def _median_rate(run_iterations, iterations: int, repeats: int) -> float:
    """Median iterations per second of `run_iterations(iterations)` over `repeats` timings."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_iterations(iterations)
        rates.append(iterations / (time.perf_counter() - start))
    return statistics.median(rates)


def toy_spec(width: int, depth: int, precision: str = "float32") -> GANSpec:
    """The benchmarked WGAN-GP: ReLU MLPs of `depth` × `width`, 2-D data and latent, computing
    in `precision` (`steps.in_precision`)."""
    hidden = (width,) * depth
    adam = optax.adam(LEARNING_RATE, *BETAS)
    spec = GANSpec(
        game=games.wgan_gp(PENALTY_WEIGHT, N_CRITIC),
        generator=PlayerSpec.from_linen(MLP(hidden, 2), adam),
        critic=PlayerSpec.from_linen(MLP(hidden, 1), adam),
        sample_latent=standard_normal_latent(2),
    )
    return in_precision(spec, precision)


def _timed_loop(train, state, chunks):
    """run(n): train over the first n chunks, waiting for the result."""

    def run(n):
        nonlocal state
        for chunk in chunks[:n]:
            state, metrics = train(state, chunk)
        jax.block_until_ready(metrics)

    return run


def jaxgan_rate(
    width: int,
    depth: int,
    batch: int,
    iterations: int,
    repeats: int,
    per_call: int,
    devices: int | None = None,
    precision: str = "float32",
) -> float:
    """jaxgan's generator iterations per second, `per_call` iterations per jitted call.

    With `devices`, the batch is split over a mesh of that many devices.
    """
    spec = toy_spec(width, depth, precision)
    data = toy_data(iterations, batch).reshape(iterations // per_call, per_call, N_CRITIC, batch, 2)
    state = init_state(spec, jax.random.PRNGKey(0), data[0, 0, 0])
    if devices is None:
        train, chunks = make_train_step(spec), list(data)
    else:
        mesh = parallel.make_mesh(devices)
        train = make_train_step(spec, mesh)
        state = parallel.put_global(state, parallel.replicated(mesh))
        chunks = [parallel.put_global(chunk, parallel.batch_sharding(mesh, batch_axis=2)) for chunk in data]
    run = _timed_loop(train, state, chunks)
    run(2)  # compile and warm up
    return _median_rate(lambda n: run(n // per_call), iterations, repeats)


def seeds_rates(width: int, depth: int, batch: int, runs: int, iterations: int, repeats: int, per_call: int):
    """Iterations per second summed over `runs` seeds: vmapped in one program, and one run after another."""
    spec = toy_spec(width, depth)
    data = toy_data(iterations, batch).reshape(iterations // per_call, per_call, N_CRITIC, batch, 2)
    keys = jax.random.split(jax.random.PRNGKey(0), runs)
    stacked = np.broadcast_to(data[:, None], (data.shape[0], runs, *data.shape[1:]))
    vmapped = _timed_loop(make_multi_seed_train_step(spec), init_states(spec, keys, data[0, 0, 0]), list(stacked))
    vmapped(2)
    train = make_train_step(spec)
    loops = [_timed_loop(train, init_state(spec, key, data[0, 0, 0]), list(data)) for key in keys]
    loops[0](2)

    def in_turn(n):
        for loop in loops:
            loop(n)

    together = runs * _median_rate(lambda n: vmapped(n // per_call), iterations, repeats)
    one_by_one = runs * _median_rate(lambda n: in_turn(n // per_call), iterations, repeats)
    return together, one_by_one


DCGAN_BATCH, DCGAN_LATENT = 64, 100


def dcgan_spec(upsampling: str, precision: str = "float32") -> GANSpec:
    """The benchmarked DCGAN: 28 × 28 grey images, batch norm in both players, computing in
    `precision`."""
    adam = optax.adam(2e-4, 0.5, 0.999)
    spec = GANSpec(
        game=games.gan(non_saturating=True),
        generator=PlayerSpec.from_linen(DCGANGenerator(28, 1, upsampling=upsampling), adam, mutable=["batch_stats"]),
        critic=PlayerSpec.from_linen(DCGANCritic(28), adam, mutable=["batch_stats"]),
        sample_latent=standard_normal_latent(DCGAN_LATENT),
    )
    return in_precision(spec, precision)


def dcgan_data(iterations: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (iterations, 1, DCGAN_BATCH, 28, 28, 1)).astype(np.float32)


def _dcgan_setup(upsampling: str, unroll: bool, iterations: int, precision: str = "float32"):
    """(jitted train step, initial state, one real batch per iteration) for the benchmarked DCGAN."""
    spec = dcgan_spec(upsampling, precision)
    data = dcgan_data(iterations)
    return (
        make_train_step(spec, unroll=unroll),
        init_state(spec, jax.random.PRNGKey(0), data[0, 0]),
        list(data[:, None]),
    )


def jaxgan_dcgan_rate(
    upsampling: str, unroll: bool, iterations: int, repeats: int, precision: str = "float32"
) -> float:
    """jaxgan's DCGAN iterations per second, one iteration per jitted call."""
    run = _timed_loop(*_dcgan_setup(upsampling, unroll, iterations, precision))
    run(2)
    return _median_rate(run, iterations, repeats)


def gflop_per_iteration(spec: GANSpec, real) -> float:
    """The work of one generator iteration of `spec` on the real batch `real`, in GFLOP: its
    n_critic critic updates and one generator update, each counted on its own (the cost
    analysis of a `lax.scan` counts its body once, so the iteration's own program would hide
    the loop's trips). XLA's cost analysis of the lowered programs, before compilation: a GPU
    compiler hands convolutions to its library and leaves them out of the compiled count."""
    state, key = init_state(spec, jax.random.PRNGKey(0), real), jax.random.PRNGKey(1)

    def gflop(step) -> float:
        cost = jax.jit(functools.partial(step, spec)).lower(state, real, key).cost_analysis()
        return (cost[0] if isinstance(cost, list) else cost)["flops"] / 1e9

    return spec.game.n_critic * gflop(critic_step) + gflop(generator_step)


def toy_gflop_per_iteration(width: int, depth: int, batch: int) -> float:
    """The work of one WGAN-GP toy iteration (`gflop_per_iteration`)."""
    return gflop_per_iteration(toy_spec(width, depth), toy_data(1, batch)[0, 0])


def dcgan_gflop_per_iteration(upsampling: str = "matmul") -> float:
    """XLA's count of the floating-point work in one compiled DCGAN iteration, in GFLOP."""
    train, state, chunks = _dcgan_setup(upsampling, True, 1)
    cost = train.lower(state, chunks[0]).compile().cost_analysis()
    return (cost[0] if isinstance(cost, list) else cost)["flops"] / 1e9


def matmul_peak_gflops(size: int = 2048, repeats: int = 10, precision: str = "float32") -> float:
    """GFLOP/s of a size × size matrix product in XLA on the default device, in `precision`: the
    roofline."""
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), PRECISIONS[precision])
    product = jax.jit(lambda a: a @ a)
    product(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        product(a).block_until_ready()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


RESNET_RECIPE = "sngan_cifar10"  # the ResNet-32 of `gpu`: SNGAN's players, hinge loss, n_critic = 5


CIFAR10_RECIPES = (
    "dcgan_cifar10",
    "sngan_cifar10",
    "sngan_projection_cifar10",
    "wgangp_resnet_cifar10",
    "r3gan_cifar10",
)


def cifar_recipe_spec(experiment: str, precision: str = "float32") -> GANSpec:
    """The spec of a CIFAR-10 experiment as `build_gan` makes it from its config, computing in
    `precision`."""
    made_up = images.ImageSet(np.zeros((1, 32, 32, 3), np.uint8), np.zeros(1, np.int32), 10, name="made-up CIFAR-10")
    return in_precision(build_gan(configs.get_config(experiment), made_up), precision)


# The share of the free memory a timed call may need by XLA's account. XLA:CPU's account runs
# short: r3gan_cifar10's call at batch 64 needs 20.0 GiB by it, which fits the 21.8 GiB free on a
# 24 GiB machine, yet the bench grew to 22.4 GiB resident there and was killed for memory
# (2026-12-04), 12 % past the account.
MEMORY_HEADROOM = 0.8


class RecipeRate(NamedTuple):
    """A recipe timed: generator iterations per second at `batch` images, the recipe's own batch
    or, where one call of it needs more than MEMORY_HEADROOM of the memory the device has free
    (`needed` bytes at the recipe's batch), the largest halving of it that fits."""

    per_second: float
    batch: int
    needed: int | None = None


def cifar_recipe_rate(
    experiment: str, iterations: int, repeats: int, per_call: int, precision: str = "float32"
) -> RecipeRate:
    """Generator iterations per second of the CIFAR-10 experiment's own spec
    (`cifar_recipe_spec`), `per_call` iterations per jitted call, on made-up images; on a CPU
    the loops are written out (`make_train_step(unroll=True)`). A batch whose call XLA says
    needs more than MEMORY_HEADROOM of the memory the device has free (`parallel.program_memory`)
    is halved until one fits, as R3GAN's 512 on a CPU."""
    config = configs.get_config(experiment)
    spec = cifar_recipe_spec(experiment, precision)
    train = make_train_step(spec, unroll=unroll_loops(config.train.unroll_loops, convolutional=True))
    batch, needed = config.train.batch_size, None
    while True:
        chunks = _made_up_chunks(config, iterations // per_call, per_call, batch)
        example = jax.tree.map(lambda r: r[0, 0], chunks[0])
        shapes = jax.eval_shape(lambda: init_state(spec, jax.random.PRNGKey(0), example))  # noqa: B023
        call = parallel.program_memory(train.lower(shapes, chunks[0]).compile())
        free = parallel.free_memory(jax.devices()[0])
        if call is None or free is None or call <= MEMORY_HEADROOM * free or batch == 1:
            break
        needed = needed or call
        batch //= 2
    run = _timed_loop(train, init_state(spec, jax.random.PRNGKey(0), example), chunks)
    run(1)  # warm up
    return RecipeRate(_median_rate(lambda n: run(n // per_call), iterations, repeats), batch, needed)


def _made_up_chunks(config, calls: int, per_call: int, batch: int) -> list:
    """`calls` chunks of (per_call, n_critic, batch) made-up 32 × 32 × 3 images in [−1, 1],
    labelled where the recipe is conditional."""
    rng = np.random.default_rng(0)
    shape = (calls, per_call, config.game.n_critic, batch)
    real = rng.uniform(-1, 1, (*shape, 32, 32, 3)).astype(np.float32)
    if not config.model.conditional:
        return list(real)
    labels = rng.integers(0, 10, shape).astype(np.int32)
    return [LabelledBatch(samples, y) for samples, y in zip(real, labels, strict=True)]


# The pretrained feature networks, by the name `bench scoring` gives them: (scorer, network).
PRETRAINED_NETWORKS = {"inception-v3": (InceptionScorer, FIDInception), "dinov2-vit-l14": (DINOv2Scorer, DINOv2ViT)}
SCORING_NETWORKS = ("classifier", *PRETRAINED_NETWORKS)


def scorer_with_random_weights(name: str) -> Callable:
    """A feature network jaxgan scores with (one of SCORING_NETWORKS), as its scorer feeds it
    (`features_and_probabilities`), on random weights at its real shapes, since a timing needs
    no weights file: jaxgan's classifier of 32 × 32 × 3 images in 10 classes, FID's
    Inception-v3 (pytorch-fid's resize) or DINOv2 ViT-L/14 (clean resize)."""
    key, probe = jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3))
    if name == "classifier":
        module = ConvClassifier(10)
        return TrainedClassifier(module, jax.jit(module.init)(key, probe)["params"], 0.0).features_and_probabilities
    scorer, network = PRETRAINED_NETWORKS[name]
    return scorer("random", variables=jax.jit(network().init)(key, probe)).features_and_probabilities


def scoring_rate(network: Callable, samples: int, shape=(32, 32, 3)) -> tuple[float, float]:
    """(seconds for a first batch of min(samples, SCORING_BATCH) images, compilation included;
    images per second of `samples` more after them) of scoring made-up images as a run scores
    its samples: SCORING_BATCH at a time, their features summed up as they come
    (`metrics.scoring.stream_features`)."""
    rng = np.random.default_rng(0)

    def made_up(n: int) -> ImageBatches:
        sizes = [min(SCORING_BATCH, n - start) for start in range(0, n, SCORING_BATCH)]
        return ImageBatches(n, lambda: (rng.uniform(-1, 1, (size, *shape)).astype(np.float32) for size in sizes))

    start = time.perf_counter()
    stream_features(network, made_up(min(samples, SCORING_BATCH)), "compiling")
    first = time.perf_counter() - start
    start = time.perf_counter()
    stream_features(network, made_up(samples), f"{samples:,} made-up samples")
    return first, samples / (time.perf_counter() - start)
