"""Benchmarks: WGAN-GP generator iterations per second.

    python -m jaxgan.bench [torch] [--iters 200] [--repeats 3]   jaxgan against PyTorch eager
    python -m jaxgan.bench seeds [--runs 8]                       K seeds vmapped against K runs in turn
    python -m jaxgan.bench scaling [--max-devices 8]              1, 2, 4, 8 devices (fake CPU devices here)
    python -m jaxgan.bench dcgan [--iters 20]                     a DCGAN step at 28 × 28 against PyTorch eager
    python -m jaxgan.bench cifar [--iters 10 --per-call 5]        the CIFAR-10 recipes' iterations as configured

`torch`: both sides train the WGAN-GP toy setting (Gulrajani et al. 2017): ReLU MLPs for generator and
critic, 2-D data and latent, Adam(1e-4, β = (0.5, 0.9)), λ = 0.1, 5 critic updates per generator
update, on the same pre-drawn 8-Gaussian batches. Sizes: the reference (512 × 3, batch 256) and a
small one (128 × 3, batch 64). PyTorch is optional (`pip install torch`); without it only jaxgan's
figures print. `seeds` and `scaling` use the same setting at both sizes. `dcgan`: one
DCGAN iteration (one critic and one generator update, non-saturating loss, Adam 2e-4, β₁ = 0.5)
on 28 × 28 × 1 batches of 64, with `models.DCGANGenerator(28, 1)` and `models.DCGANCritic(28)`
(both upsampling formulations, loops written out, and once with the loops left in lax.scan)
against the same networks in PyTorch; then the iteration's floating-point work (XLA's cost
analysis) against this device's float32 matmul peak, the floor no formulation can beat. `cifar`:
the spec of each CIFAR-10 experiment (`sngan_cifar10`, ...) built from its config, networks,
batch, n_critic and all, trained on made-up 32 × 32 × 3 images, with the time its configured
number of iterations would take at that rate; on a CPU with the loops written out
(`train.unroll_loops=auto`, many times faster there), elsewhere as configured. Timings exclude
compilation and warm-up; each figure is the median of `--repeats` timings of `--iters`
iterations, all in this one process.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import jax
import numpy as np
import optax

from jaxgan import configs, games, parallel
from jaxgan.data import images, toy
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


def _real_data(iterations: int, batch: int) -> np.ndarray:
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
    data = _real_data(iterations, batch).reshape(iterations // per_call, per_call, N_CRITIC, batch, 2)
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
    data = _real_data(iterations, batch).reshape(iterations // per_call, per_call, N_CRITIC, batch, 2)
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


def torch_rate(
    width: int,
    depth: int,
    batch: int,
    iterations: int,
    repeats: int,
    precision: str = "float32",
    compiled: bool = False,
) -> float | None:
    """The same training in PyTorch, written as the WGAN-GP authors' toy code (eager, or under
    `torch.compile` when `compiled`; None when it does not compile)."""
    import torch

    def mlp(out_features):
        layers, in_features = [], 2
        for _ in range(depth):
            layers += [torch.nn.Linear(in_features, width), torch.nn.ReLU()]
            in_features = width
        return torch.nn.Sequential(*layers, torch.nn.Linear(in_features, out_features))

    torch.manual_seed(0)
    device = _torch_device(torch)
    generator, critic = _torch_players(torch, mlp(2), mlp(1), compiled)
    generator_opt = torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE, betas=BETAS)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=LEARNING_RATE, betas=BETAS)
    data = torch.from_numpy(_real_data(iterations, batch)).to(device)

    def iteration(real_batches):
        for p in critic.parameters():
            p.requires_grad_(True)
        for real in real_batches:
            critic_opt.zero_grad()
            with torch.no_grad():
                fake = generator(torch.randn(batch, 2, device=device))
            eps = torch.rand(batch, 1, device=device)
            interpolates = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grads,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
            penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
            loss = critic(fake).mean() - critic(real).mean() + PENALTY_WEIGHT * penalty
            loss.backward()
            critic_opt.step()
        for p in critic.parameters():
            p.requires_grad_(False)
        generator_opt.zero_grad()
        (-critic(generator(torch.randn(batch, 2, device=device))).mean()).backward()
        generator_opt.step()

    return _torch_median_rate(torch, iteration, data, precision, iterations, repeats, compiled)


def _torch_players(torch, generator, critic, compiled: bool):
    """Both networks on PyTorch's device, wrapped by `torch.compile` when `compiled`."""
    device = _torch_device(torch)
    generator, critic = generator.to(device), critic.to(device)
    return (torch.compile(generator), torch.compile(critic)) if compiled else (generator, critic)


def _torch_median_rate(
    torch, iteration, batches, precision: str, iterations: int, repeats: int, compiled: bool
) -> float | None:
    """Median iterations per second of PyTorch's `iteration(batch)` over `batches`, under
    autocast to bfloat16 when `precision` says so (PyTorch's mixed precision), after two warm-up
    iterations; None, with the reason printed, when they fail under `torch.compile` (which
    refuses the double backward of a gradient penalty, for one)."""
    device = _torch_device(torch)

    def run(n):
        with torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            for batch in batches[:n]:
                iteration(batch)
        _torch_wait(torch, device)

    try:
        run(2)
    except Exception as error:
        if not compiled:
            raise
        print(f"  (torch.compile failed: {str(error).splitlines()[0][:100]})")
        return None
    return _median_rate(run, iterations, repeats)


def _torch_device(torch) -> str:
    """PyTorch's side runs where JAX's does: on the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() and jax.default_backend() == "gpu" else "cpu"


def _torch_wait(torch, device: str) -> None:
    """Wait for PyTorch's queued GPU work, so that a timing covers it (eager launches asynchronously)."""
    if device == "cuda":
        torch.cuda.synchronize()


def _torch_description(torch) -> str:
    device = _torch_device(torch)
    where = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    return f"torch {torch.__version__} eager on {where}"


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


def _dcgan_data(iterations: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (iterations, 1, DCGAN_BATCH, 28, 28, 1)).astype(np.float32)


def _dcgan_setup(upsampling: str, unroll: bool, iterations: int, precision: str = "float32"):
    """(jitted train step, initial state, one real batch per iteration) for the benchmarked DCGAN."""
    spec = dcgan_spec(upsampling, precision)
    data = _dcgan_data(iterations)
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
    return gflop_per_iteration(toy_spec(width, depth), _real_data(1, batch)[0, 0])


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


def torch_dcgan_rate(iterations: int, repeats: int, precision: str = "float32", compiled: bool = False) -> float | None:
    """The same DCGAN iteration in PyTorch (eager, or under `torch.compile`): a critic update
    on a real and a fresh generated batch (separate batch-norm batches), then a generator update
    on fresh codes."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    device = _torch_device(torch)
    generator = nn.Sequential(
        nn.Linear(DCGAN_LATENT, 7 * 7 * 128),
        nn.Unflatten(1, (128, 7, 7)),
        nn.BatchNorm2d(128),
        nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Tanh(),
    )
    critic = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1),
        nn.BatchNorm2d(128),
        nn.LeakyReLU(0.2),
        nn.Conv2d(128, 1, 7),
        nn.Flatten(),
    )
    generator, critic = _torch_players(torch, generator, critic, compiled)
    generator_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    critic_opt = torch.optim.Adam(critic.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = torch.from_numpy(_dcgan_data(iterations)[:, 0].transpose(0, 1, 4, 2, 3).copy()).to(device)
    softplus = nn.functional.softplus

    def iteration(real):
        critic_opt.zero_grad()
        with torch.no_grad():
            fake = generator(torch.randn(DCGAN_BATCH, DCGAN_LATENT, device=device))
        (softplus(-critic(real)).mean() + softplus(critic(fake)).mean()).backward()
        critic_opt.step()
        generator_opt.zero_grad()
        softplus(-critic(generator(torch.randn(DCGAN_BATCH, DCGAN_LATENT, device=device)))).mean().backward()
        generator_opt.step()

    return _torch_median_rate(torch, iteration, data, precision, iterations, repeats, compiled)


RESNET_RECIPE = "sngan_cifar10"  # the ResNet-32 of `gpu`: SNGAN's players, hinge loss, n_critic = 5


def _torch_sngan_players(torch, generator_width: int = 256, critic_width: int = 128, latent: int = 128):
    """SNGAN's 32 × 32 ResNet players in PyTorch, as `models.ResNetGenerator` and
    `models.ResNetCritic` (spectral norm on every critic layer) build them."""
    from torch import nn

    normalized = nn.utils.parametrizations.spectral_norm

    def conv(c_in, c_out, size):
        return normalized(nn.Conv2d(c_in, c_out, size, padding=size // 2))

    class GeneratorBlock(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.residual = nn.Sequential(
                nn.BatchNorm2d(width), nn.ReLU(), nn.Upsample(scale_factor=2), nn.Conv2d(width, width, 3, padding=1),
                nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1),
            )  # fmt: skip
            self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(width, width, 1))

        def forward(self, x):
            return self.residual(x) + self.shortcut(x)

    class Summed(nn.Module):
        def forward(self, x):
            return x.sum(2)

    class CriticBlock(nn.Module):
        def __init__(self, c_in, width, downsample, first):
            super().__init__()
            layers = [conv(c_in, width, 3), nn.ReLU(), conv(width, width, 3)] + [nn.AvgPool2d(2)] * downsample
            self.residual = nn.Sequential(*([] if first else [nn.ReLU()]), *layers)
            shortcut = [nn.AvgPool2d(2), conv(c_in, width, 1)] if first else [conv(c_in, width, 1), nn.AvgPool2d(2)]
            self.shortcut = nn.Sequential(*shortcut) if downsample else nn.Identity()

        def forward(self, x):
            return self.residual(x) + self.shortcut(x)

    w = generator_width
    generator = nn.Sequential(
        nn.Linear(latent, 4 * 4 * w), nn.Unflatten(1, (w, 4, 4)), *[GeneratorBlock(w) for _ in range(3)],
        nn.BatchNorm2d(w), nn.ReLU(), nn.Conv2d(w, 3, 3, padding=1), nn.Tanh(),
    )  # fmt: skip
    w = critic_width
    critic = nn.Sequential(
        CriticBlock(3, w, True, True), CriticBlock(w, w, True, False), CriticBlock(w, w, False, False),
        CriticBlock(w, w, False, False), nn.ReLU(), nn.Flatten(2), Summed(), normalized(nn.Linear(w, 1)),
    )  # fmt: skip
    return generator, critic


def torch_resnet_rate(
    iterations: int, repeats: int, precision: str = "float32", compiled: bool = False
) -> float | None:
    """SNGAN's CIFAR-10 iteration in PyTorch (eager, or under `torch.compile`): five critic
    updates with the hinge loss, each on a real batch and a fresh generated one, then one
    generator update, Adam(2e-4, β = (0, 0.9)), batch 64, on made-up 32 × 32 × 3 images."""
    import torch

    torch.manual_seed(0)
    device, batch, latent, n_critic = _torch_device(torch), 64, 128, 5
    generator, critic = _torch_players(torch, *_torch_sngan_players(torch, latent=latent), compiled)
    generator_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.0, 0.9))
    critic_opt = torch.optim.Adam(critic.parameters(), lr=2e-4, betas=(0.0, 0.9))
    real = torch.rand(iterations, n_critic, batch, 3, 32, 32, device=device) * 2 - 1
    relu = torch.nn.functional.relu

    def iteration(real_batches):
        for real_batch in real_batches:
            critic_opt.zero_grad()
            with torch.no_grad():
                fake = generator(torch.randn(batch, latent, device=device))
            (relu(1 - critic(real_batch)).mean() + relu(1 + critic(fake)).mean()).backward()
            critic_opt.step()
        generator_opt.zero_grad()
        (-critic(generator(torch.randn(batch, latent, device=device))).mean()).backward()
        generator_opt.step()

    return _torch_median_rate(torch, iteration, real, precision, iterations, repeats, compiled)


def compare_dcgan(args) -> None:
    """A DCGAN iteration at 28 × 28, batch 64: jaxgan (both upsamplings) against PyTorch eager."""
    try:
        import torch
    except ImportError:
        torch = None
    variants = {
        "jaxgan (matmul)": ("matmul", True),
        "jaxgan (transpose)": ("transpose", True),
        "jaxgan (matmul, loops in lax.scan)": ("matmul", False),
    }
    rates = {name: jaxgan_dcgan_rate(*variant, args.iters, args.repeats) for name, variant in variants.items()}
    if torch:
        rates[_torch_description(torch)] = torch_dcgan_rate(args.iters, args.repeats)
    print(
        f"DCGAN 28x28x1, batch {DCGAN_BATCH}, one critic + one generator update; jax {jax.__version__} on "
        f"{jax.devices()[0].platform}"
    )
    reference = list(rates.values())[-1] if torch else None
    for name, rate in rates.items():
        ratio = f"{rate / reference:5.2f}x torch" if reference else ""
        print(f"{name:<40} {rate:8.2f} it/s  {1000 / rate:8.1f} ms/it  {ratio}")
    work, peak = dcgan_gflop_per_iteration(), matmul_peak_gflops()
    matmul_rate = rates["jaxgan (matmul)"]
    print(
        f"work per iteration (XLA cost analysis): {work:.2f} GFLOP, run at {work * matmul_rate:.0f} GFLOP/s; "
        f"float32 matmul peak here: {peak:.0f} GFLOP/s, so at least {1000 * work / peak:.1f} ms/it"
    )


CIFAR10_RECIPES = ("dcgan_cifar10", "sngan_cifar10", "sngan_projection_cifar10", "wgangp_resnet_cifar10")


def cifar_recipe_spec(experiment: str, precision: str = "float32") -> GANSpec:
    """The spec of a CIFAR-10 experiment as `build_gan` makes it from its config, computing in
    `precision`."""
    made_up = images.ImageSet(np.zeros((1, 32, 32, 3), np.uint8), np.zeros(1, np.int32), 10, name="made-up CIFAR-10")
    return in_precision(build_gan(configs.get_config(experiment), made_up), precision)


def cifar_recipe_rate(
    experiment: str, iterations: int, repeats: int, per_call: int, precision: str = "float32"
) -> float:
    """Generator iterations per second of the CIFAR-10 experiment's own spec
    (`cifar_recipe_spec`), `per_call` iterations per jitted call, on made-up images; on a CPU
    the loops are written out (`make_train_step(unroll=True)`)."""
    config = configs.get_config(experiment)
    rng = np.random.default_rng(0)
    n_critic, batch = config.game.n_critic, config.train.batch_size
    shape = (iterations // per_call, per_call, n_critic, batch)
    spec = cifar_recipe_spec(experiment, precision)
    real = rng.uniform(-1, 1, (*shape, 32, 32, 3)).astype(np.float32)
    if config.model.conditional:
        labels = rng.integers(0, 10, shape).astype(np.int32)
        chunks = [LabelledBatch(samples, y) for samples, y in zip(real, labels, strict=True)]
    else:
        chunks = list(real)
    state = init_state(spec, jax.random.PRNGKey(0), jax.tree.map(lambda r: r[0, 0], chunks[0]))
    unroll = unroll_loops(config.train.unroll_loops, convolutional=True)
    run = _timed_loop(make_train_step(spec, unroll=unroll), state, chunks)
    run(1)  # compile and warm up
    return _median_rate(lambda n: run(n // per_call), iterations, repeats)


def compare_cifar_recipes(args) -> None:
    """Each CIFAR-10 recipe's iterations per second here, and its whole run at that rate."""
    loops = "loops written out" if jax.default_backend() == "cpu" else "loops as configured"
    print(f"CIFAR-10 recipes on made-up 32x32x3 data, {loops}; jax {jax.__version__} on {jax.devices()[0].device_kind}")
    for experiment in CIFAR10_RECIPES:
        rate = cifar_recipe_rate(experiment, args.iters, args.repeats, args.per_call)
        steps = configs.get_config(experiment).train.steps
        print(
            f"{experiment:<26} {rate:8.3f} it/s  {1000 / rate:9.1f} ms/it  "
            f"{steps:,} iterations: {steps / rate / 3600:8.1f} h"
        )


GPU_MODELS = ("toy_small", "toy_reference", "dcgan", "resnet32")


def _gpu_rates(model: str, precision: str, iterations: int, repeats: int):
    """(jaxgan's rate, its GFLOP per iteration, a function of `compiled` giving PyTorch's rate)
    for one of GPU_MODELS in `precision`. jaxgan keeps its loops in `lax.scan` (10 toy
    iterations per call) except on a CPU, where the image models' loops are written out."""
    on_cpu = jax.default_backend() == "cpu"
    if model.startswith("toy"):
        width, depth, batch = SIZES[model.removeprefix("toy_")]
        rate = jaxgan_rate(width, depth, batch, iterations, repeats, 10, precision=precision)
        work = gflop_per_iteration(toy_spec(width, depth, precision), _real_data(1, batch)[0, 0])
        return rate, work, lambda compiled: torch_rate(width, depth, batch, iterations, repeats, precision, compiled)
    if model == "dcgan":
        rate = jaxgan_dcgan_rate("matmul", on_cpu, iterations, repeats, precision)
        work = gflop_per_iteration(dcgan_spec("matmul", precision), _dcgan_data(1)[0, 0])
        return rate, work, lambda compiled: torch_dcgan_rate(iterations, repeats, precision, compiled)
    rate = cifar_recipe_rate(RESNET_RECIPE, iterations, repeats, 1, precision)
    work = gflop_per_iteration(cifar_recipe_spec(RESNET_RECIPE, precision), np.zeros((64, 32, 32, 3), np.float32))
    return rate, work, lambda compiled: torch_resnet_rate(iterations, repeats, precision, compiled)


def compare_on_gpu(args) -> None:
    """Every model in float32 and bfloat16: jaxgan against PyTorch eager and `torch.compile`,
    with jaxgan's share of the device's matmul peak in that precision."""
    try:
        import torch
    except ImportError:
        torch = None
    device = jax.devices()[0]
    where = "a GPU" if device.platform == "gpu" else f"NO GPU HERE: these are {device.platform.upper()} figures"
    print(
        f"jax {jax.__version__} on {device.device_kind} ({where})" + (f"; {_torch_description(torch)}" if torch else "")
    )
    peaks = {precision: matmul_peak_gflops(precision=precision) for precision in PRECISIONS}
    print("matmul peak: " + ", ".join(f"{precision} {peak:.0f} GFLOP/s" for precision, peak in peaks.items()))
    print(
        f"{'model':<14} {'precision':<9} {'jaxgan':>10} {'torch eager':>12} {'torch.compile':>14} "
        f"{'vs eager':>8} {'vs compile':>10} {'GFLOP/it':>9} {'of peak':>8}"
    )
    for model in args.models.split(","):
        iterations = args.iters if model.startswith("toy") else max(args.iters // (4 if model == "dcgan" else 20), 2)
        for precision in PRECISIONS:
            rate, work, torch_rate_of = _gpu_rates(model, precision, iterations, args.repeats)
            eager, compiled = (torch_rate_of(False), torch_rate_of(True)) if torch else (None, None)
            print(
                f"{model:<14} {precision:<9} {rate:8.1f}/s {_rate_text(eager):>12} {_rate_text(compiled):>14} "
                f"{_ratio_text(rate, eager):>8} {_ratio_text(rate, compiled):>10} {work:9.2f} "
                f"{100 * work * rate / peaks[precision]:7.1f}%"
            )
    print(
        "GFLOP/it: XLA's cost analysis of the lowered critic and generator updates (n_critic + 1); "
        "of peak: jaxgan's rate times that work against the matmul peak in that precision; "
        "'-': no PyTorch, or it did not compile"
    )


def _rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1f}/s"


def _ratio_text(rate: float, reference: float | None) -> str:
    return "-" if reference is None else f"{rate / reference:.2f}x"


def compare_with_torch(args) -> None:
    """jaxgan against PyTorch eager at both sizes."""
    try:
        import torch
    except ImportError:
        torch = None
    print(
        f"WGAN-GP toy, {N_CRITIC} critic steps per generator iteration; jax {jax.__version__} on "
        f"{jax.devices()[0].platform}" + (f", {_torch_description(torch)}" if torch else ", torch not installed")
    )
    peak = matmul_peak_gflops()
    print(
        f"{'size':<10} {'MLP':<8} {'batch':>5} {'jaxgan 1/call':>14} {f'jaxgan {args.per_call}/call':>15} "
        f"{'torch eager':>12} {'ratio':>6} {'GFLOP/it':>9} {'of peak':>8}"
    )
    for name, (width, depth, batch) in SIZES.items():
        one = jaxgan_rate(width, depth, batch, args.iters, args.repeats, 1)
        many = jaxgan_rate(width, depth, batch, args.iters, args.repeats, args.per_call)
        reference = torch_rate(width, depth, batch, args.iters, args.repeats) if torch else None
        ratio = f"{max(one, many) / reference:5.2f}x" if reference else "-"
        reference_text = f"{reference:10.1f}/s" if reference else "-"
        work = toy_gflop_per_iteration(width, depth, batch)
        print(
            f"{name:<10} {f'{width}x{depth}':<8} {batch:>5} {one:12.1f}/s {many:13.1f}/s "
            f"{reference_text:>12} {ratio:>6} {work:9.2f} {100 * work * max(one, many) / peak:7.0f}%"
        )
    print(
        f"GFLOP/it: XLA's cost analysis of {N_CRITIC} critic updates and one generator update; of peak: the "
        f"faster jaxgan rate times that work, against the float32 matmul peak here ({peak:.0f} GFLOP/s)"
    )


def compare_seeds(args) -> None:
    """K seeds vmapped in one program against the same K runs one after another."""
    print(f"{args.runs} WGAN-GP runs, generator iterations per second summed over runs ({jax.devices()[0].platform})")
    print(f"{'size':<10} {'MLP':<8} {'batch':>5} {'vmapped':>10} {'in turn':>10} {'ratio':>6}")
    for name, (width, depth, batch) in SIZES.items():
        together, one_by_one = seeds_rates(width, depth, batch, args.runs, args.iters, args.repeats, args.per_call)
        print(
            f"{name:<10} {f'{width}x{depth}':<8} {batch:>5} {together:8.1f}/s {one_by_one:8.1f}/s "
            f"{together / one_by_one:5.2f}x"
        )


def compare_devices(args) -> None:
    """The same global batch split over 1, 2, 4, ... devices."""
    counts = [n for n in (1, 2, 4, 8, 16) if n <= min(args.max_devices, jax.device_count())]
    print(f"data parallel WGAN-GP, global batch fixed; {parallel.describe_devices()}")
    print(f"{'size':<10} {'MLP':<8} {'batch':>5} " + " ".join(f"{f'{n} dev':>9}" for n in counts))
    for name, (width, depth, batch) in SIZES.items():
        rates = [jaxgan_rate(width, depth, batch, args.iters, args.repeats, args.per_call, devices=n) for n in counts]
        print(f"{name:<10} {f'{width}x{depth}':<8} {batch:>5} " + " ".join(f"{rate:7.1f}/s" for rate in rates))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jaxgan.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "what", nargs="?", default="torch", choices=("torch", "seeds", "scaling", "dcgan", "cifar", "gpu")
    )
    parser.add_argument("--iters", type=int, default=200, help="generator iterations per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (the median is printed)")
    parser.add_argument("--per-call", type=int, default=10, help="iterations per jitted call (lax.scan)")
    parser.add_argument("--runs", type=int, default=8, help="seeds for `seeds`")
    parser.add_argument("--max-devices", type=int, default=8, help="largest device count for `scaling`")
    parser.add_argument("--models", default=",".join(GPU_MODELS), help=f"for `gpu`: some of {', '.join(GPU_MODELS)}")
    args = parser.parse_args(argv)
    if args.iters % args.per_call:
        parser.error(f"--iters ({args.iters}) must be a multiple of --per-call ({args.per_call})")
    if args.what == "scaling":
        # Fake CPU devices where there is no accelerator (it changes nothing on GPUs); it must be
        # set before JAX first looks at its devices.
        jax.config.update("jax_num_cpu_devices", args.max_devices)
    commands = {
        "torch": compare_with_torch,
        "seeds": compare_seeds,
        "scaling": compare_devices,
        "dcgan": compare_dcgan,
        "cifar": compare_cifar_recipes,
        "gpu": compare_on_gpu,
    }
    commands[args.what](args)


if __name__ == "__main__":
    main()
