"""Samples from a run's checkpoint: python -m jaxgan.sample RUN_DIR [--n N] [--seed S]
[--labels 0,1,...] [--step STEP] [--out FILE.png | FILE.npz]

Restores the newest checkpoint that verifies (or the one of --step) and draws from the averaged
generator when the run kept one, as the run's own evaluation does. Images go to a grid PNG (one
row per class for a conditional model), 2-D points to a scatter over fresh data, and either to
an .npz of `samples` (images in [−1, 1], or points) and `labels`. From Python, `sample_run`
returns the samples as an array.

Exit status: 0 done, 2 bad usage or nothing to sample from (one line, nothing written).
"""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

from jaxgan import configs, signals
from jaxgan.cli import OneLineParser
from jaxgan.storage import RunStateError, replaced_at_once

SAMPLE_BATCH = 4096  # samples drawn per call; a larger --n is drawn in several


def sample_run(
    run_dir: str,
    n: int = 64,
    *,
    seed: int = 0,
    labels=None,
    step: int | None = None,
    truncation: float | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(samples, labels) drawn from the GAN trained in `run_dir`.

    Args:
      n: how many samples.
      seed: seeds the latent codes.
      labels: the class of each sample for a conditional model (n integers); by default the
        classes in turn (0, 1, ..., 0, 1, ...). Refused for an unconditional one.
      step: the checkpoint to read; by default the newest that restores and verifies.
      truncation: ψ of the truncation trick (z from the prior truncated to [−ψ, ψ]); by default
        the run's eval.truncation, else the full prior.

    Returns:
      The samples as numpy (images (n, h, w, c) in [−1, 1], or points (n, d)), and the labels
      used (None for an unconditional model). Images of a generator with a linear output
      (R3GAN's) are clipped to [−1, 1], as for scoring (`evaluators.base.generated_batches`).

    Raises:
      ConfigError: `run_dir` is a run whose samples this does not draw (an autoencoder's), or
        the arguments do not fit it.
      RunStateError: `run_dir` holds no good checkpoint.
    """
    import jax

    from jaxgan import runs, steps, train

    if not isinstance(n, int) or n < 1:
        raise configs.ConfigError(f"n is the number of samples, a positive int, got {n!r}")
    if truncation is not None:
        try:
            steps.truncated_normal_latent(1, truncation)  # checks ψ before the run is read
        except ValueError as error:
            raise configs.ConfigError(f"--truncation: {error}") from None
    run = train.restore_run(run_dir, step)
    if not runs.family_of(run.config).draws_samples:
        raise configs.ConfigError(
            f"{run_dir} trained an {run.config.runner}, whose samples jaxgan.sample does not draw; "
            "its samples.png shows them"
        )
    labels = _labels(run.config, run.built.source, n, labels)
    spec = run.built.spec
    if truncation is None:
        truncation = run.config.get("eval", {}).get("truncation")

    @functools.partial(jax.jit, static_argnums=2)
    def draw(state, key, count, labels):
        variables = steps.evaluated_generator(spec, state)
        return steps.generate(spec, state, key, count, labels=labels, variables=variables, truncation=truncation)

    key = jax.random.PRNGKey(seed)
    shape = jax.eval_shape(lambda: draw(run.state, key, 1, None if labels is None else labels[:1])).shape[1:]
    samples = _host_array_for(n, shape)
    for start in range(0, n, SAMPLE_BATCH):
        count = min(SAMPLE_BATCH, n - start)
        part = None if labels is None else labels[start : start + count]
        chunk_key = key if start == 0 else jax.random.fold_in(key, start // SAMPLE_BATCH)
        samples[start : start + count] = jax.device_get(draw(run.state, chunk_key, count, part))
    if samples.ndim == 4:
        np.clip(samples, -1.0, 1.0, out=samples)
    return samples, None if labels is None else np.asarray(labels)


def _host_array_for(n: int, shape: tuple[int, ...]) -> np.ndarray:
    """An empty float32 array for n samples of `shape`, refused in one line when it would not fit
    in the memory the machine has available."""
    from jaxgan import parallel

    needed, free = n * int(np.prod(shape)) * 4, parallel.host_free_memory()
    if free is not None and needed > free:
        raise configs.ConfigError(
            f"--n {n}: {n:,} samples of shape {shape} need {needed / 2**30:.1f} GiB, and this machine has "
            f"{free / 2**30:.1f} GiB available; ask for fewer (several runs of sample with other --seed values)"
        )
    return np.empty((n, *shape), np.float32)


def _labels(config, source, n: int, labels):
    """The labels of a conditional model's samples, checked; None for an unconditional one."""
    conditional = bool(config.get("model", {}).get("conditional", False))
    if not conditional:
        if labels is not None:
            raise configs.ConfigError("--labels: this run's model is unconditional; leave them out")
        return None
    num_classes = source.num_classes
    labels = np.arange(n) % num_classes if labels is None else np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise configs.ConfigError(f"--labels: give {n} integers, one per sample, got {labels.shape[0]}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise configs.ConfigError(f"--labels: classes are 0 .. {num_classes - 1}, got {labels.min()} .. {labels.max()}")
    return labels.astype(np.int32)


def write_samples(path: str, samples: np.ndarray, labels: np.ndarray | None, run_dir: str) -> None:
    """An .npz of the samples (and labels), or a figure: an image grid or a 2-D scatter; written
    whole or not at all (`storage.replaced_at_once`)."""
    from jaxgan import plots
    from jaxgan.data.images import to_uint8

    if not path.endswith(".npz") and samples.ndim == 2 and samples.shape[1] != 2:
        raise configs.ConfigError(f"--out {path}: {samples.shape[1]}-D points go to an .npz, not a figure")
    with replaced_at_once(path) as temporary:
        if path.endswith(".npz"):
            np.savez(temporary, samples=samples, **({} if labels is None else {"labels": labels}))
        elif samples.ndim == 4:
            columns = int(np.bincount(labels).max()) if labels is not None else int(np.ceil(np.sqrt(len(samples))))
            order = np.argsort(labels, kind="stable") if labels is not None else np.arange(len(samples))
            plots.plot_image_grid(temporary, to_uint8(samples[order]), columns, title=f"{run_dir}")
        else:
            plots.plot_samples_2d(temporary, np.empty((0, 2), np.float32), samples, title=f"{run_dir}")


def _check_out(out: str) -> None:
    """Refuse an --out that cannot be written: not .png or .npz, a directory, in a missing or
    unwritable folder."""
    if os.path.isdir(out):
        raise configs.ConfigError(f"--out {out} is a directory; give a file path ending in .png or .npz")
    if not out.endswith((".png", ".npz")):
        raise configs.ConfigError(f"--out {out}: give a .png or an .npz file")
    folder = os.path.dirname(out) or "."
    if not os.path.isdir(folder):
        raise configs.ConfigError(f"--out {out}: the folder {folder} does not exist; create it or choose another path")
    if not os.access(folder, os.W_OK):
        raise configs.ConfigError(
            f"--out {out}: the folder {folder} is not writable; give --out a path you can write to"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (128 + signal when SIGINT or SIGTERM stops it)."""
    return signals.stops_on_signals(lambda: _main(argv), where="while sampling; nothing was written")


def _main(argv: list[str] | None) -> int:
    parser = OneLineParser(prog="python -m jaxgan.sample", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="the directory of a GAN run (holds config.json and checkpoints/)")
    parser.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the latent codes (default 0)")
    parser.add_argument("--labels", help="a conditional model's classes, comma-separated, one per sample")
    parser.add_argument("--step", type=int, help="the checkpoint to read (default: the newest good one)")
    parser.add_argument(
        "--truncation", type=float, metavar="PSI", help="draw z from the prior truncated to [-PSI, PSI] (BigGAN)"
    )
    parser.add_argument("--out", help="FILE.png (a grid or scatter) or FILE.npz (default RUN_DIR/sampled.png)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return exit_request.code
    out = args.out or os.path.join(args.run_dir, "sampled.png")
    try:
        labels = None if args.labels is None else [int(label) for label in args.labels.split(",")]
        if not 0 <= args.seed < 2**32:
            raise configs.ConfigError(f"--seed must be an integer in 0 .. {2**32 - 1}, got {args.seed}")
        if args.out is not None or os.path.isdir(args.run_dir):  # else: sample_run says there is no run
            _check_out(out)
        signals.import_jax_holding_signals()
        samples, labels = sample_run(
            args.run_dir, args.n, seed=args.seed, labels=labels, step=args.step, truncation=args.truncation
        )
        write_samples(out, samples, labels, args.run_dir)
    except (ValueError, RunStateError) as error:  # ConfigError, --labels that are not integers, the run's state
        print(f"python -m jaxgan.sample: error: {error}", file=sys.stderr)
        return 2
    print(f"{len(samples)} samples from {args.run_dir} written to {out}")
    return 0


if __name__ == "__main__":
    signals.end_process(main())
