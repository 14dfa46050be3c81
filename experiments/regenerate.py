"""Regenerate the committed results that the README quotes: each run's summary.json and figures.

    python experiments/regenerate.py                  every run below, then the mode-coverage study
    python experiments/regenerate.py wgan_mlp vae_mnist    only these runs
    python experiments/regenerate.py --list           the runs and what each one commits

Each run is the experiment's default config (`python -m jaxgan.run --exp NAME`, seed 0), in
`runs/regenerate/NAME`; its summary.json goes to `experiments/results/NAME_summary.json` and its
figures to `experiments/results/NAME_FIGURE.png` (the theory experiments' own figure keeps its
name). The image runs share one classifier cache. `tests/test_readme.py` checks that the
README's tables equal these summaries. The mode-coverage study (`experiments/mode_coverage.py
--seeds 5`) takes hours on two cores; it runs last, and only when no run is named.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
WORKDIR = os.path.join("runs", "regenerate")
CLASSIFIERS = os.path.join(WORKDIR, "classifiers")

# experiment -> (extra overrides, figures committed as NAME_FIGURE.png)
RUNS = {
    "wgan_mlp": ((), ("samples",)),
    "wgan_paper_mlp": ((), ("samples",)),
    "wgangp_mlp": ((), ("samples",)),
    "gmmn_mlp": ((), ("samples",)),
    "dcgan_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "wgangp_dcgan_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "cgan_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "dcgan_stacked_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "r3gan_stacked_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "dcgan_fashion_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "cgan_fashion_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "wgangp_dcgan_fashion_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "biggan_fashion_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "r3gan_fashion_mnist": ((f"eval.classifier_dir={CLASSIFIERS}",), ("samples",)),
    "vae_mnist": ((), ("reconstructions", "samples")),
    "vae_mnist_2d": ((), ("latent_map", "latent_grid")),
    "vae_fashion_mnist": ((), ("reconstructions", "samples")),
    "aae_mnist": ((), ("latent_map", "samples")),
    "optimal_discriminator": ((), ()),
    "critic_1d": ((), ()),
    "parallel_lines": ((), ()),
    "bilinear_game": ((), ()),
    "adversarial_examples": ((), ()),
}
THEORY_FIGURE = ("optimal_discriminator", "critic_1d", "parallel_lines", "bilinear_game", "adversarial_examples")


def regenerate(name: str) -> None:
    """Run experiment `name` afresh and copy its summary and figures into experiments/results/."""
    overrides, figures = RUNS[name]
    run_dir = os.path.join(WORKDIR, name)
    shutil.rmtree(run_dir, ignore_errors=True)
    command = [sys.executable, "-m", "jaxgan.run", "--exp", name, "--workdir", run_dir, "--no-progress"]
    command += [argument for override in overrides for argument in ("--set", override)]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    summary["run_dir"] = os.path.join("runs", name)  # not this machine's path
    with open(os.path.join(RESULTS, f"{name}_summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    copies = [(f"{name}.png", f"{name}.png")] if name in THEORY_FIGURE else []
    copies += [(f"{figure}.png", f"{name}_{figure}.png") for figure in figures]
    for source, target in copies:
        shutil.copyfile(os.path.join(run_dir, source), os.path.join(RESULTS, target))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="runs to regenerate (default: all, then the mode-coverage study)")
    parser.add_argument("--list", action="store_true", help="list the runs and what each one commits")
    args = parser.parse_args(argv)
    if args.list:
        for name, (overrides, figures) in RUNS.items():
            print(f"{name:<22} summary + {', '.join(figures) or name + '.png'}  {' '.join(overrides)}")
        return
    unknown = sorted(set(args.names) - set(RUNS))
    if unknown:
        parser.error(f"unknown runs {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    for name in args.names or RUNS:
        regenerate(name)
    if not args.names:
        study = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mode_coverage.py")
        subprocess.run([sys.executable, study, "--seeds", "5"], check=True)


if __name__ == "__main__":
    main()
