"""Command line: python -m jaxgan.run --exp NAME [--steps N] [--seed S] [--workdir DIR]
[--set dotted.key=value ...] [--resume] [--list]

Exit status: 0 done, 1 training diverged, 2 bad usage (nothing written), 128 + signal number
when stopped by SIGINT/SIGTERM (a checkpoint is saved first).
"""

from __future__ import annotations

import argparse
import os
import sys

from jaxgan import configs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jaxgan.run", description="Train and evaluate a named jaxgan experiment."
    )
    parser.add_argument("--exp", help="experiment name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--steps", type=int, help="training steps in total (train.steps, or steps)")
    parser.add_argument("--seed", type=int, help="random seed (seed)")
    parser.add_argument("--workdir", help="run directory (default: runs/EXP)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set model.critic_hidden=128,128")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in the workdir")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--devices", type=int, help="devices to split the batch over, 0 for all (parallel.devices)")
    cluster = parser.add_argument_group("multi-process runs (one command per process; see README)")
    cluster.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0")
    cluster.add_argument("--num-processes", type=int, help="number of processes")
    cluster.add_argument("--process-id", type=int, help="this process's rank, 0 .. num-processes - 1")
    return parser


def resolve_config(args: argparse.Namespace):
    """The experiment's config with the command line's overrides; raises on any bad part."""
    config = configs.get_config(args.exp)
    overrides = list(args.overrides)
    if args.steps is not None:  # GAN runs keep it in train.steps, theory experiments in steps
        overrides.append(f"{'train.steps' if 'train' in config else 'steps'}={args.steps}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.devices is not None:
        overrides.append(f"parallel.devices={args.devices}")
    configs.apply_overrides(config, overrides)
    return config


TRAINING_RUNNERS = ("gan", "image_gan", "autoencoder")  # run by jaxgan.train; other runners are theory experiments
_SCORES = ("held_out_elbo", "held_out_iwae", "held_out_reconstruction_nats", "classifier_fid", "classifier_kid",
           "classifier_inception_score", "stacked_modes", "stacked_kl_to_uniform", "wasserstein", "reconstruction_loss",
           "critic_loss", "generator_loss", "regularisation_loss")


def format_summary(summary: dict) -> str:
    """The end-of-run summary, one screen."""
    if "gen_iters_per_s" not in summary:  # a theory experiment: its figures as they are
        shown = {key: value for key, value in summary.items() if key not in ("experiment", "run_dir", "rows")}
        lines = [f"{summary['experiment']}:"] + [f"  {key:<24} {value}" for key, value in shown.items()]
        return "\n".join([*lines, f"  {'run directory':<24} {summary['run_dir']}"])
    lines = [f"{summary['experiment']}: {summary['steps']} generator iterations in {summary['wall_s']} s "
             f"({summary['gen_iters_per_s']} it/s after compilation)"]
    if summary.get("modes") is not None:
        lines.append(f"  modes captured    {summary['modes']} / {summary['modes_total']}")
        lines.append(f"  high quality      {100 * summary['high_quality']:.1f} %")
    if "w1_to_data" in summary:
        lines.append(f"  W1 to data        {summary['w1_to_data']}")
    for key in _SCORES:
        if summary.get(key) is not None:
            lines.append(f"  {key:<28} {summary[key]:.5g}")
    lines.append(f"  run directory     {summary['run_dir']}")
    return "\n".join(lines)


def _runner(config):
    """The function that runs `config`: the training loop or a theory experiment."""
    if config.runner in TRAINING_RUNNERS:
        from jaxgan import train

        return train.train_and_evaluate
    from jaxgan import theory

    return theory.run


def _usage_error(message: str) -> int:
    """A bad experiment, key, value or option: one line on stderr, exit status 2."""
    print(f"python -m jaxgan.run: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        for name, description in configs.list_experiments().items():
            print(f"{name:<22} {description}")
        return 0
    if not args.exp:
        return _usage_error(f"--exp is required; valid experiments: {', '.join(configs.list_experiments())}")
    try:
        config = resolve_config(args)
    except (KeyError, configs.ConfigError) as error:
        return _usage_error(error.args[0])
    cluster = (args.coordinator, args.num_processes, args.process_id)
    if any(value is not None for value in cluster):
        if any(value is None for value in cluster):
            return _usage_error("a multi-process run needs --coordinator, --num-processes and --process-id together")
        from jaxgan import parallel

        try:
            parallel.initialize_distributed(*cluster)
        except ValueError as error:
            return _usage_error(str(error))
    # Imported here so that --list and usage errors answer without loading JAX.
    from jaxgan.train import TrainingDiverged, TrainingInterrupted

    workdir = args.workdir or os.path.join("runs", args.exp)
    try:
        summary = _runner(config)(config, workdir, resume=args.resume, progress=not args.no_progress)
    except configs.ConfigError as error:
        return _usage_error(str(error))
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except TrainingInterrupted as error:
        print(f"{error}", file=sys.stderr)
        return 128 + error.signum
    print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
