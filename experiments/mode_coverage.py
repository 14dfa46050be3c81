"""Mode coverage of each method on the 8-Gaussian ring and the 25-Gaussian grid, over seeds.

    python experiments/mode_coverage.py [--seeds 5] [--steps N] [--methods wgangp_mlp ...]
                                        [--datasets 8gaussians 25gaussians] [--out experiments/results]
                                        [--resume] [--set KEY=VALUE ...]
    python experiments/mode_coverage.py --table-only [--out DIR]

Each method is a named experiment (its config gives the model, optimizers and budget): a GAN,
or the energy-based model `ebm_langevin_mlp`, whose samples are its Langevin chains, or the
moment-matching network `gmmn_mlp`. `--set`
applies config overrides to every method and is recorded with the results. For each (method,
dataset), all seeds train at once: the states and the step are vmapped over seeds, one program.
Seed s uses the same initialisation and data as `python -m jaxgan.run --exp METHOD --seed s`.
Evaluation follows VEEGAN: 2,500 samples (from the generator average where the config keeps
one), high quality within 3 std of the nearest centre, modes captured, and the reverse KL of the
mode histogram (`jaxgan.metrics.mode_coverage`). Writes mode_coverage.md (mean ± standard error
over seeds), mode_coverage.json and mode_coverage.png (seed 0's samples) into --out. The JSON
and the samples (mode_coverage_samples.npz) are rewritten after each (method, dataset), so with
--resume an interrupted study reuses the pairs it finished with the same budget and overrides,
keeps the saved pairs it is not asked for, and extends a pair saved with fewer seeds:
`--seeds 10 --resume` over a 5-seed study trains seeds 5-9 alone, in a program of their own, and
adds them, so a study too long for one sitting can grow by seeds and by datasets (a resume never
drops trained seeds). --table-only rewrites mode_coverage.md from the JSON in --out, training
nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxgan import configs, train  # noqa: E402
from jaxgan.data import toy  # noqa: E402
from jaxgan.evaluators.base import evaluation_samples  # noqa: E402
from jaxgan.metrics import mode_coverage  # noqa: E402
from jaxgan.steps import init_states, make_multi_seed_train_step  # noqa: E402

METHODS = (
    "wgangp_mlp",
    "meg_mlp",
    "wgan_mlp",
    "wgan_paper_mlp",
    "gan_mlp",
    "nsgan_mlp",
    "lsgan_mlp",
    "hinge_mlp",
    "rasgan_mlp",
    "rpgan_mlp",
    "ebgan_mlp",
    "ebm_langevin_mlp",
    "gmmn_mlp",
)
DATASETS = ("8gaussians", "25gaussians")
METRICS = ("modes", "high_quality", "reverse_kl")


def run_seeds(method: str, dataset: str, seeds: list[int], steps: int | None, overrides: list[str] = ()) -> dict:
    """Train `method` on `dataset` for every seed in one vmapped program; evaluate each seed.
    `overrides` (KEY=VALUE, as `jaxgan.run --set`) apply to the method's config first."""
    config = configs.get_config(method)
    configs.apply_overrides(
        config,
        [*overrides, f"data.name={dataset}", "parallel.devices=1"] + ([f"train.steps={steps}"] if steps else []),
    )
    _, built, _ = train.build_run(config)
    source, spec = built.source, built.spec
    per_call, shape = config.train.steps_per_call, (spec.batches_per_iteration, config.train.batch_size)

    def chunk(start: int) -> np.ndarray:
        count = min(per_call, config.train.steps - start)
        return np.stack([toy.batches_for_steps(source, seed, start, count, shape) for seed in seeds])

    started = time.perf_counter()
    keys = np.stack([jax.random.PRNGKey(seed) for seed in seeds])
    states = init_states(spec, keys, chunk(0)[0, 0, 0])
    step_all = make_multi_seed_train_step(spec)
    for start in range(0, config.train.steps, per_call):
        states, metrics = step_all(states, chunk(start))
    sample = jax.vmap(lambda state: evaluation_samples(spec, state, config.eval.samples))
    fakes = np.asarray(sample(states))
    seconds = time.perf_counter() - started
    results = [mode_coverage(fake, source.centres, source.std, config.eval.n_std) for fake in fakes]
    return {
        "method": method,
        "dataset": dataset,
        "steps": config.train.steps,
        "overrides": list(overrides),
        "seeds": seeds,
        "seconds": round(seconds, 1),
        "modes_total": len(source.centres),
        "per_seed": results,
        "finite_losses": bool(np.all([np.all(np.isfinite(v)) for v in jax.tree.leaves(metrics)])),
        "samples_seed0": fakes[0],
        "data": source.sample(np.random.default_rng(0), config.eval.samples),
    }


def _mean_standard_error(values, decimals: int = 1) -> str:
    """mean ± s/√n, s the sample standard deviation (ddof 1) of the n seeds' values."""
    error = np.std(values, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return f"{np.mean(values):.{decimals}f} ± {error:.{decimals}f}"


def markdown_table(results: list[dict], datasets: list[str]) -> str:
    """One row per method: modes, high-quality % and reverse KL per dataset (mean ± standard
    error over seeds), a dash where the method has no result on a dataset."""
    header = (
        "| method | "
        + " | ".join(f"{d}: modes | {d}: high quality % | {d}: reverse KL" for d in datasets)
        + " | minutes |"
    )
    lines = [header, "|" + " --- |" * (1 + 3 * len(datasets) + 1)]
    by_key = {(r["method"], r["dataset"]): r for r in results}
    for method in dict.fromkeys(r["method"] for r in results):
        cells, minutes = [], 0.0
        for dataset in datasets:
            if (method, dataset) not in by_key:
                cells += ["–"] * 3
                continue
            result = by_key[(method, dataset)]
            per_seed = result["per_seed"]
            cells += [
                _mean_standard_error([r["modes"] for r in per_seed]) + f" / {result['modes_total']}",
                _mean_standard_error([100 * r["high_quality"] for r in per_seed]),
                _mean_standard_error([r["reverse_kl"] for r in per_seed], 3),
            ]
            minutes += result["seconds"] / 60
        overrides = next(r.get("overrides", []) for r in results if r["method"] == method)
        lines.append(f"| {_label(method, overrides)} | " + " | ".join(cells) + f" | {minutes:.1f} |")
    return "\n".join(lines)


def _label(method: str, overrides: list[str]) -> str:
    """The method's name in the table, with the overrides it ran under."""
    return f"`{method}`" + "".join(f" `{override}`" for override in overrides)


def sample_grid(path: str, results: list[dict], datasets: list[str]) -> None:
    """Seed 0's samples for each method (rows) and dataset (columns), over the data; a blank
    panel where the method has no result on a dataset."""
    methods = list(dict.fromkeys(r["method"] for r in results))
    by_key = {(r["method"], r["dataset"]): r for r in results}
    fig, axes = plt.subplots(
        len(methods), len(datasets), figsize=(3.2 * len(datasets), 3.2 * len(methods)), squeeze=False
    )
    for row, method in enumerate(methods):
        for col, dataset in enumerate(datasets):
            ax = axes[row, col]
            if (method, dataset) not in by_key:
                ax.axis("off")
                continue
            result = by_key[(method, dataset)]
            ax.scatter(*result["samples_seed0"].T, s=1, c="tab:blue", alpha=0.4)
            ax.scatter(*result["data"].T, s=1, c="tab:orange", alpha=0.4)
            coverage = result["per_seed"][0]
            ax.set_title(
                f"{method}, {dataset}\n{coverage['modes']}/{result['modes_total']} modes, "
                f"{100 * coverage['high_quality']:.0f} % HQ",
                fontsize=8,
            )
            ax.set(xlim=(-2.2, 2.2), ylim=(-2.2, 2.2), aspect="equal", xticks=[], yticks=[])
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _save(out: str, results: list[dict]) -> None:
    """The results so far: metrics as JSON, seed 0's samples and the data drawn beside them as npz."""
    with open(os.path.join(out, "mode_coverage.json"), "w") as f:
        json.dump([{k: v for k, v in r.items() if k not in ("samples_seed0", "data")} for r in results], f, indent=2)
    arrays = {f"{r['method']}/{r['dataset']}/{name}": r[name] for r in results for name in ("samples_seed0", "data")}
    np.savez_compressed(os.path.join(out, "mode_coverage_samples.npz"), **arrays)


def _load(out: str) -> dict[tuple[str, str], dict]:
    """Results saved by an earlier (possibly interrupted) study in `out`, by (method, dataset);
    none unless both its files are there (the figure needs the samples)."""
    path, samples = os.path.join(out, "mode_coverage.json"), os.path.join(out, "mode_coverage_samples.npz")
    if not (os.path.exists(path) and os.path.exists(samples)):
        return {}
    with open(path) as f, np.load(samples) as arrays:
        return {
            (r["method"], r["dataset"]): {
                **r,
                **{name: arrays[f"{r['method']}/{r['dataset']}/{name}"] for name in ("samples_seed0", "data")},
            }
            for r in json.load(f)
        }


def _reusable(earlier: dict | None, seeds: list[int], steps: int, overrides: list[str]) -> dict | None:
    """The pair an earlier study saved, where this one can keep it: the same budget and
    overrides, and its seeds the first of `seeds` or `seeds` its first (a resume never drops
    seeds trained already)."""
    if earlier is None or (earlier["steps"], earlier.get("overrides", [])) != (steps, overrides):
        return None
    shared = min(len(earlier["seeds"]), len(seeds))
    return earlier if earlier["seeds"][:shared] == seeds[:shared] else None


def _with_more_seeds(earlier: dict, later: dict) -> dict:
    """`earlier`'s pair with `later`'s seeds after its own: their results in seed order, the
    minutes of both programs added, `seed_groups` the seeds of each program; the figure keeps
    `earlier`'s seed 0."""
    return {
        **earlier,
        "seeds": earlier["seeds"] + later["seeds"],
        "seed_groups": earlier.get("seed_groups", [earlier["seeds"]]) + [later["seeds"]],
        "seconds": round(earlier["seconds"] + later["seconds"], 1),
        "per_seed": earlier["per_seed"] + later["per_seed"],
        "finite_losses": earlier["finite_losses"] and later["finite_losses"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, help="generator iterations (default: each experiment's own)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--out", default=os.path.join("experiments", "results"))
    parser.add_argument("--resume", action="store_true", help="reuse finished pairs saved in --out")
    parser.add_argument("--table-only", action="store_true", help="rewrite mode_coverage.md from --out's JSON")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every method",
    )
    args = parser.parse_args(argv)
    if args.table_only:
        with open(os.path.join(args.out, "mode_coverage.json")) as f:
            _write_table(args.out, json.load(f))
        return
    os.makedirs(args.out, exist_ok=True)
    seeds, saved = list(range(args.seeds)), _load(args.out) if args.resume else {}
    pairs = dict(saved)  # a resumed study keeps the saved pairs it is not asked for
    for method in args.methods:
        for dataset in args.datasets:
            steps = args.steps or configs.get_config(method).train.steps
            earlier = _reusable(saved.get((method, dataset)), seeds, steps, args.overrides)
            missing = seeds[len(earlier["seeds"]) :] if earlier else seeds
            if not missing:
                continue
            result = run_seeds(method, dataset, missing, args.steps, args.overrides)
            pair = pairs[(method, dataset)] = _with_more_seeds(earlier, result) if earlier else result
            _save(args.out, list(pairs.values()))
            coverage = pair["per_seed"]
            print(
                f"{method:<12} {dataset:<12} modes {[r['modes'] for r in coverage]} "
                f"HQ {[round(100 * r['high_quality']) for r in coverage]} ({pair['seconds']} s)",
                flush=True,
            )
    results = list(pairs.values())
    _save(args.out, results)
    _write_table(args.out, results)
    sample_grid(os.path.join(args.out, "mode_coverage.png"), results, _datasets(results))


def _datasets(results: list[dict]) -> list[str]:
    """The datasets `results` hold, in order of first appearance."""
    return list(dict.fromkeys(r["dataset"] for r in results))


def _write_table(out: str, results: list[dict]) -> None:
    """mode_coverage.md in `out`: the table of `results`, over the datasets they hold in order."""
    table = markdown_table(results, _datasets(results))
    with open(os.path.join(out, "mode_coverage.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
