"""Benchmarks: WGAN-GP generator iterations per second.

    python -m jaxgan.bench [torch] [--iters 200] [--repeats 3]   jaxgan against PyTorch eager
    python -m jaxgan.bench seeds [--runs 8]                       K seeds vmapped against K runs in turn
    python -m jaxgan.bench scaling [--max-devices 8]              1, 2, 4, 8 devices (fake CPU devices here)
    python -m jaxgan.bench dcgan [--iters 20]                     a DCGAN step at 28 × 28 against PyTorch eager
    python -m jaxgan.bench cifar [--iters 10 --per-call 5]        the CIFAR-10 recipes' iterations as configured
                                 [--recipes r3gan_cifar10]
    python -m jaxgan.bench scoring [--samples 10000]               samples scored per second in each feature network

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
number of iterations would take at that rate (a batch whose call XLA says needs more than the
share `workloads.MEMORY_HEADROOM` of the free memory, as R3GAN's 512 on a CPU, is halved until
one fits, and the run's time taken at its images per second); on a CPU with the loops written
out (`train.unroll_loops=auto`, many times faster there), elsewhere as configured. Timings exclude
compilation and warm-up; each figure is the median of `--repeats` timings of `--iters`
iterations, all in this one process. `scoring`: made-up 32 × 32 × 3 samples scored as a run
scores them (500 at a time, streamed) in jaxgan's classifier, FID's Inception-v3 and DINOv2
ViT-L/14, each on random weights at its real shapes: the first batch's time (compilation
included), then images per second over `--samples` of them (`--dinov2-samples` for the ViT,
which takes seconds an image on a CPU) and the time 10,000 samples take at that rate.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from jaxgan import configs, parallel
from jaxgan.bench.torch_reference import torch_dcgan_rate, torch_description, torch_rate, torch_resnet_rate
from jaxgan.bench.workloads import (
    CIFAR10_RECIPES,
    DCGAN_BATCH,
    N_CRITIC,
    RESNET_RECIPE,
    SCORING_NETWORKS,
    SIZES,
    cifar_recipe_rate,
    cifar_recipe_spec,
    dcgan_data,
    dcgan_gflop_per_iteration,
    dcgan_spec,
    gflop_per_iteration,
    jaxgan_dcgan_rate,
    jaxgan_rate,
    matmul_peak_gflops,
    scorer_with_random_weights,
    scoring_rate,
    seeds_rates,
    toy_data,
    toy_gflop_per_iteration,
    toy_spec,
)
from jaxgan.metrics.scoring import SCORING_BATCH
from jaxgan.steps import PRECISIONS


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
        rates[torch_description(torch)] = torch_dcgan_rate(args.iters, args.repeats)
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


def compare_cifar_recipes(args) -> None:
    """Each CIFAR-10 recipe's iterations per second here, and its whole run at that rate."""
    loops = "loops written out" if jax.default_backend() == "cpu" else "loops as configured"
    print(
        f"CIFAR-10 recipes on made-up 32x32x3 data, {loops}; jax {jax.__version__} on {jax.devices()[0].device_kind}, "
        f"float32 matmul peak {matmul_peak_gflops():.0f} GFLOP/s"
    )
    print(f"{'recipe':<26} {'batch':>6} {'it/s':>9} {'s/it':>9} {'images/s':>9} {'the run':>22}")
    for experiment in args.recipes.split(","):
        timed = cifar_recipe_rate(experiment, args.iters, args.repeats, args.per_call)
        config = configs.get_config(experiment).train
        images_per_second = timed.per_second * timed.batch
        hours = config.steps * config.batch_size / images_per_second / 3600
        print(
            f"{experiment:<26} {timed.batch:>6} {timed.per_second:9.3g} {1 / timed.per_second:9.2f} "
            f"{images_per_second:9.3g} {f'{config.steps:,} x {config.batch_size}: {hours:,.1f} h':>22}"
        )
        if timed.needed is not None:
            print(
                f"  {experiment}: a call at its batch of {config.batch_size} needs {timed.needed / 2**30:.1f} GiB, "
                f"by XLA's account, over the bench's share of the memory free here; timed at batch {timed.batch}, "
                f"its run's hours at that many images a second"
            )


def compare_scoring(args) -> None:
    """Samples scored per second in each feature network, and 10,000 samples' time."""
    peak = matmul_peak_gflops()
    print(
        f"Scoring made-up 32x32x3 samples, {SCORING_BATCH} at a time; jax {jax.__version__} on "
        f"{jax.devices()[0].device_kind}, float32 matmul peak {peak:.0f} GFLOP/s"
    )
    print(f"{'feature network':<22} {'first batch':>12} {'timed on':>9} {'images/s':>9} {'10,000 samples':>15}")
    for name in args.networks.split(","):
        samples = args.dinov2_samples if name.startswith("dinov2") and args.dinov2_samples else args.samples
        first, rate = scoring_rate(scorer_with_random_weights(name), samples)
        print(f"{name:<22} {first:10.1f} s {samples:>9,} {rate:9.1f} {_duration(10_000 / rate):>15}", flush=True)


def _duration(seconds: float) -> str:
    return (
        f"{seconds:.0f} s"
        if seconds < 120
        else f"{seconds / 60:.1f} min"
        if seconds < 7200
        else f"{seconds / 3600:.1f} h"
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
        work = gflop_per_iteration(toy_spec(width, depth, precision), toy_data(1, batch)[0, 0])
        return rate, work, lambda compiled: torch_rate(width, depth, batch, iterations, repeats, precision, compiled)
    if model == "dcgan":
        rate = jaxgan_dcgan_rate("matmul", on_cpu, iterations, repeats, precision)
        work = gflop_per_iteration(dcgan_spec("matmul", precision), dcgan_data(1)[0, 0])
        return rate, work, lambda compiled: torch_dcgan_rate(iterations, repeats, precision, compiled)
    rate = cifar_recipe_rate(RESNET_RECIPE, iterations, repeats, 1, precision).per_second
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
        f"jax {jax.__version__} on {device.device_kind} ({where})" + (f"; {torch_description(torch)}" if torch else "")
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
        f"{jax.devices()[0].platform}" + (f", {torch_description(torch)}" if torch else ", torch not installed")
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
        "what", nargs="?", default="torch", choices=("torch", "seeds", "scaling", "dcgan", "cifar", "gpu", "scoring")
    )
    parser.add_argument("--iters", type=int, default=200, help="generator iterations per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (the median is printed)")
    parser.add_argument("--per-call", type=int, default=10, help="iterations per jitted call (lax.scan)")
    parser.add_argument("--runs", type=int, default=8, help="seeds for `seeds`")
    parser.add_argument("--max-devices", type=int, default=8, help="largest device count for `scaling`")
    parser.add_argument("--samples", type=int, default=10_000, help="samples timed per network for `scoring`")
    parser.add_argument("--dinov2-samples", type=int, help="for `scoring`: DINOv2's own count (default --samples)")
    parser.add_argument(
        "--networks", default=",".join(SCORING_NETWORKS), help=f"for `scoring`: some of {', '.join(SCORING_NETWORKS)}"
    )
    parser.add_argument("--models", default=",".join(GPU_MODELS), help=f"for `gpu`: some of {', '.join(GPU_MODELS)}")
    parser.add_argument(
        "--recipes", default=",".join(CIFAR10_RECIPES), help=f"for `cifar`: some of {', '.join(CIFAR10_RECIPES)}"
    )
    args = parser.parse_args(argv)
    if args.iters % args.per_call:
        parser.error(f"--iters ({args.iters}) must be a multiple of --per-call ({args.per_call})")
    for option, choices in (("networks", SCORING_NETWORKS), ("models", GPU_MODELS), ("recipes", CIFAR10_RECIPES)):
        unknown = set(getattr(args, option).split(",")) - set(choices)
        if unknown:
            parser.error(f"--{option}: no {', '.join(sorted(unknown))}; choose from {', '.join(choices)}")
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
        "scoring": compare_scoring,
    }
    commands[args.what](args)
