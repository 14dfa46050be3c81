"""Command line: python -m jaxgan.run --exp NAME [--steps N] [--seed S] [--workdir DIR]
[--set dotted.key=value ...] [--resume [--allow-change KEY ...]] [--list] [--print-config]
[--no-compilation-cache]

Compiled programs are kept in the cache directory and reused by later runs (`jaxgan.cache`).

Exit status: 0 done, 1 training diverged or the disk filled up (the last good checkpoint is
kept), 2 bad usage (nothing written), 128 + signal number when stopped by SIGINT/SIGTERM (once
training has started, a checkpoint of the current step is saved first).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys

from jaxgan import configs, signals
from jaxgan.cli import OneLineParser


class _Once(argparse.Action):
    """An option that may be given once: a repeat is refused, not silently overwritten."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest) is not None:
            parser.error(f"{option_string} is given twice; give it once")
        setattr(namespace, self.dest, values)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m jaxgan.run", description="Train and evaluate a named jaxgan experiment.")
    parser.register("action", "once", _Once)
    parser.add_argument("--exp", action="once", help="experiment name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the experiment's config with every override applied, as JSON, and exit without running",
    )
    parser.add_argument("--steps", type=int, action="once", help="training steps in total (train.steps, or steps)")
    parser.add_argument("--seed", type=int, action="once", help="random seed (seed)")
    parser.add_argument("--workdir", action="once", help="run directory (default: runs/EXP)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set model.critic_hidden=128,128",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the newest good checkpoint in the workdir")
    parser.add_argument(
        "--allow-change",
        dest="allow_changes",
        action="append",
        default=[],
        metavar="KEY",
        help="with --resume: let config key KEY differ from the run's (recorded in config_changes.jsonl)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-compilation-cache",
        action="store_true",
        help="compile afresh instead of reusing compiled programs from the cache directory (see jaxgan.cache)",
    )
    parser.add_argument(
        "--devices", type=int, action="once", help="devices to split the batch over, 0 for all (parallel.devices)"
    )
    cluster = parser.add_argument_group("multi-process runs (one command per process; see README)")
    cluster.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0")
    cluster.add_argument("--num-processes", type=int, help="number of processes")
    cluster.add_argument("--process-id", type=int, help="this process's rank, 0 .. num-processes - 1")
    return parser


def resolve_config(args: argparse.Namespace):
    """The experiment's config with the command line's overrides; raises on any bad part."""
    config = configs.get_config(args.exp)
    overrides = list(args.overrides)
    shortcuts = {  # GAN runs keep the step count in train.steps, theory experiments in steps
        "train.steps" if "train" in config else "steps": args.steps,
        "seed": args.seed,
        "parallel.devices": args.devices,
    }
    overrides += [f"{key}={value}" for key, value in shortcuts.items() if value is not None]
    configs.apply_overrides(config, overrides)  # refuses a key set twice, e.g. by --steps and --set
    return config


def format_summary(config, summary: dict) -> str:
    """The end-of-run summary, one screen, as the config's family writes it."""
    from jaxgan import runs

    return "\n".join(runs.family_of(config).summary_lines(summary))


def _run(config, workdir: str, args: argparse.Namespace) -> dict:
    """Train `config` with `jaxgan.train`'s loop, or run a standalone (theory) experiment."""
    from jaxgan import runs, train

    family = runs.family_of(config)
    if isinstance(family, runs.TrainedFamily):
        return train.train_and_evaluate(
            config, workdir, resume=args.resume, progress=not args.no_progress, allow_changes=tuple(args.allow_changes)
        )
    if args.resume or args.allow_changes:
        raise configs.ConfigError(f"{config.experiment} keeps no checkpoints; run it again without --resume")
    return family.run(config, workdir)


def _usage_error(message: str) -> int:
    """A bad experiment, key, value or option: one line on stderr, exit status 2."""
    print(f"python -m jaxgan.run: error: {message}", file=sys.stderr)
    return 2


_WRITE_FAILURE_LOGGERS = ("absl", "asyncio")


def _silence_write_failures() -> None:
    """Silence what Orbax prints as a write fails: absl logs every failed write of its background
    threads with a traceback, asyncio each abandoned write's error as its future is collected,
    and TensorStore's last writes call back into Orbax's closed event loops (unraisable
    `RuntimeError: Event loop is closed`). The failure itself reaches `main` as one exception."""
    for name in _WRITE_FAILURE_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    unraisable_hook = sys.unraisablehook

    def skip_closed_event_loops(unraisable) -> None:
        closed = isinstance(unraisable.exc_value, RuntimeError) and str(unraisable.exc_value) == "Event loop is closed"
        if not closed:
            unraisable_hook(unraisable)

    sys.unraisablehook = skip_closed_event_loops


@contextlib.contextmanager
def _failures_in_one_line():
    """`_silence_write_failures` for the block (`main` called from Python). At its end the
    abandoned writes are collected while still silenced (a failure's traceback held them until
    the block's handler let it go); then the loggers and the hook are put back."""
    loggers = [logging.getLogger(name) for name in _WRITE_FAILURE_LOGGERS]
    levels, unraisable_hook = [logger.level for logger in loggers], sys.unraisablehook
    _silence_write_failures()
    try:
        yield
    finally:
        gc.collect()
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        sys.unraisablehook = unraisable_hook


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (128 + signal when SIGINT or SIGTERM stops it)."""
    return signals.stops_on_signals(lambda: _main(argv), where="before training started; nothing was written")


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or a malformed option (one line, status 2)
        return exit_request.code
    if args.list and args.exp:
        return _usage_error("--list lists every experiment; give it without --exp")
    if args.list:
        experiments = configs.list_experiments()
        width = max(map(len, experiments))
        for name, description in experiments.items():
            print(f"{name:<{width}}  {description}")
        return 0
    if not args.exp:
        return _usage_error(f"--exp is required; valid experiments: {', '.join(configs.list_experiments())}")
    try:
        config = resolve_config(args)
    except (KeyError, configs.ConfigError) as error:
        return _usage_error(error.args[0])
    if args.print_config:
        print(config.to_json(indent=2))
        return 0
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
    signals.import_jax_holding_signals()
    from jaxgan import cache
    from jaxgan.storage import DiskFull, RunStateError
    from jaxgan.train import TrainingDiverged

    if not args.no_compilation_cache:
        cache.enable_compilation_cache()
    workdir = args.workdir or os.path.join("runs", args.exp)
    with _failures_in_one_line():
        try:
            summary = _run(config, workdir, args)
        except (configs.ConfigError, RunStateError) as error:
            return _usage_error(str(error))
        except (TrainingDiverged, DiskFull) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(format_summary(config, summary))
    return 0


def console_script() -> None:
    """`jaxgan-run`, the installed command: `python -m jaxgan.run` under another name. Its process
    keeps write failures silenced to its end: a failed save's last writes (TensorStore's, in
    threads of its own) may still report after the one line, as the process exits."""
    _silence_write_failures()
    signals.end_process(main())


if __name__ == "__main__":
    console_script()
