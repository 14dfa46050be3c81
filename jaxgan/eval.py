"""Evaluate a finished run, or score samples from anywhere.

    python -m jaxgan.eval RUN_DIR [--set eval.key=value ...]
    python -m jaxgan.eval --samples PATH --exp EXPERIMENT [--set key=value ...]

The first restores the run's latest checkpoint and computes what the end of training computes,
its config's evaluators (`eval.evaluators`: for image runs the classifier-based FID, KID,
inception score, precision, recall, density and coverage, or Stacked MNIST's modes; for toy
runs modes, high-quality share and W1), then updates RUN_DIR/summary.json; `--set` changes
eval.* settings only (`eval.samples=50000`, `eval.inception_weights=PATH`), and the summary
lists them. The second scores
the images at PATH (an .npz of `samples` in [−1, 1] or `images` of uint8, or a folder of PNG or
JPEG files) with the image-scoring evaluators of EXPERIMENT, exactly as a run of it on its data
would be scored, and prints the scores.
"""

from __future__ import annotations

import json
import sys

from jaxgan import configs, signals
from jaxgan.cli import OneLineParser
from jaxgan.storage import RunStateError


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (128 + signal when SIGINT or SIGTERM stops it)."""
    return signals.stops_on_signals(lambda: _main(argv), where="during the evaluation; summary.json is as it was")


def _main(argv: list[str] | None) -> int:
    parser = OneLineParser(prog="python -m jaxgan.eval", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", help="the directory of a run (holds config.json and checkpoints/)")
    parser.add_argument("--samples", metavar="PATH", help="score these images instead (.npz or a folder)")
    parser.add_argument("--exp", help="with --samples: the image experiment whose data and scores to use")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an override (repeatable): with RUN_DIR of eval.* settings only, with --samples of any",
    )
    args = parser.parse_args(argv)
    if (args.run_dir is None) == (args.samples is None) or (args.samples is not None) != (args.exp is not None):
        parser.error("give either RUN_DIR, or --samples PATH with --exp EXPERIMENT")
    # Imported after argument parsing, so --help answers without loading JAX.
    signals.import_jax_holding_signals()
    from jaxgan import evaluators, runs, train

    try:
        if args.samples is None:
            summary = train.evaluate_run(args.run_dir, tuple(args.set))
        else:
            config = _config(args.exp, args.set)
            summary = evaluators.score_sample_files(config, runs.family_of(config), args.samples)
    except (configs.ConfigError, RunStateError) as error:
        print(f"python -m jaxgan.eval: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


def _config(experiment: str, overrides: list[str]):
    """The config of `experiment` with `overrides` applied."""
    try:
        config = configs.get_config(experiment)
    except KeyError as error:
        raise configs.ConfigError(error.args[0]) from None
    configs.apply_overrides(config, overrides)
    return config


if __name__ == "__main__":
    signals.end_process(main())
