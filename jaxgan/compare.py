"""Compare finished runs: python -m jaxgan.compare RUN_DIR [RUN_DIR ...]

Prints one markdown table row per run (its experiment, seed, steps and the scores in its
summary.json), with the overrides that set the runs apart. Scores measured with jaxgan's
classifier (`classifier_*`, Stacked MNIST's `stacked_*`) mean something only between runs scored
by the same classifier: runs whose summaries name different classifiers (their `classifier_id`,
a digest of its training data and settings) are refused.
"""

from __future__ import annotations

import json
import os
import sys

from jaxgan import configs
from jaxgan.cli import OneLineParser
from jaxgan.storage import RunStateError

# The scores a row shows, in this order, when any of the runs has them.
SCORES = (
    "classifier_fid",
    "classifier_fid_live_generator",
    "classifier_fid_real_images",
    "classifier_kid",
    "classifier_inception_score",
    "classifier_precision",
    "classifier_recall",
    "classifier_density",
    "classifier_coverage",
    "inception_v3_fid",
    "inception_v3_kid",
    "inception_v3_inception_score",
    "inception_v3_precision",
    "inception_v3_recall",
    "stacked_confident_share",
    "stacked_modes",
    "stacked_kl_to_uniform",
    "stacked_confident_share_real_images",
    "stacked_kl_to_uniform_real_images",
    "modes",
    "high_quality",
    "w1_to_data",
    "held_out_elbo",
    "held_out_iwae",
)
CLASSIFIER_SCORES = ("classifier_", "stacked_")


def read_runs(run_dirs: list[str]) -> list[dict]:
    """Each run's summary with its config, checked to be comparable.

    Raises:
      ConfigError: a run has no summary (unfinished or not evaluated), or the runs' classifier
        scores come from different classifiers.
    """
    runs = []
    for run_dir in run_dirs:
        summary_path = os.path.join(run_dir, "summary.json")
        if not os.path.exists(summary_path):
            raise RunStateError(f"{run_dir} has no summary.json; finish it (--resume) or evaluate it first")
        summary = configs.read_json_object(summary_path, f"evaluate the run again: python -m jaxgan.eval {run_dir}")
        runs.append({"run_dir": run_dir, "summary": summary, "config": _config(run_dir)})
    _check_one_classifier(runs)
    return runs


def _config(run_dir: str) -> dict:
    path = os.path.join(run_dir, "config.json")
    return configs.read_run_config(path).to_dict() if os.path.exists(path) else {}


def _check_one_classifier(runs: list[dict]) -> None:
    """Classifier scores of runs scored by different classifiers are refused, in one line."""
    scored = [run for run in runs if any(key.startswith(CLASSIFIER_SCORES) for key in run["summary"])]
    identities = {run["summary"].get("classifier_id") for run in scored}
    if len(identities) > 1:
        names = ", ".join(f"{run['run_dir']} ({run['summary'].get('classifier_id') or 'no id'})" for run in scored)
        raise configs.ConfigError(
            f"these runs were scored by different classifiers: {names}; their classifier scores do not "
            "compare: score them on the same data with the same eval.classifier_steps"
        )


def differences(runs: list[dict]) -> list[str]:
    """For each run, the config keys whose values differ between the runs, as key=value."""
    flat = [_flatten(run["config"]) for run in runs]
    keys = sorted({key for config in flat for key in config})
    varying = [key for key in keys if len({json.dumps(config.get(key)) for config in flat}) > 1]
    ignored = ("workdir", "run_dir", "classifier_dir")  # where files went; the classifier's id is checked
    return [
        " ".join(f"{key}={config.get(key)}" for key in varying if not key.endswith(ignored)) or "-" for config in flat
    ]


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def table(runs: list[dict]) -> str:
    """The runs as a markdown table: run, what sets it apart, steps, then each score any run has."""
    scores = [key for key in SCORES if any(key in run["summary"] for run in runs)]
    header = ["run", "differs by", "steps", *scores]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for run, difference in zip(runs, differences(runs), strict=True):
        summary = run["summary"]
        cells = [run["run_dir"], difference, str(summary.get("steps", "")), *(_cell(summary.get(k)) for k in scores)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m jaxgan.compare", description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="finished runs (each holds summary.json)")
    args = parser.parse_args(argv)
    try:
        print(table(read_runs(args.run_dirs)))
    except (configs.ConfigError, RunStateError) as error:
        print(f"python -m jaxgan.compare: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
