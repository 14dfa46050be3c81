"""BigGAN's truncation trick on a trained run: fidelity against variety as ψ shrinks.

    python experiments/truncation_curve.py runs/regenerate/biggan_fashion_mnist

For each ψ the run's evaluated generator (its weight average with standing statistics) draws
eval.samples images, a class in turn, from codes truncated to [−ψ, ψ] (`eval.truncation`), and
they are scored exactly as the run scores its own samples (the `classifier_scores` evaluator: the
classifier's FID and inception score, and precision and recall against the held-out images);
"none" is the full prior. Brock et al. 2019 (§3.1, their Figure 2) trace the same curve, IS
against FID, on ImageNet. Writes experiments/results/truncation_curve.json and .png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import jax

from jaxgan.configs import ConfigError
from jaxgan.evaluators import Context
from jaxgan.evaluators.base import generated_batches
from jaxgan.evaluators.classifier_scores import ClassifierScores
from jaxgan.plots import plt
from jaxgan.steps import evaluated_generator
from jaxgan.storage import RunStateError
from jaxgan.train import restore_run

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PSIS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, None)  # None: the full prior
SCORES = {"fid": "FID", "inception_score": "inception score", "precision": "precision", "recall": "recall"}


def truncation_curve(run_dir: str, psis=PSIS) -> list[dict]:
    """[{"truncation": ψ, "classifier_fid": ..., ...}] for each ψ, from the run's newest checkpoint."""
    run = restore_run(run_dir)
    config, spec = run.config, run.built.spec
    context = Context(config, run.family, run.built, None)
    scorer = ClassifierScores(context)
    evaluated = jax.jit(lambda state: evaluated_generator(spec, state))(run.state)
    points = []
    for psi in psis:
        config.eval.truncation = psi
        samples = generated_batches(context, run.state, scorer.sample_count(), evaluated)
        scores = scorer.score(samples)
        points.append({"truncation": psi, **{f"classifier_{s}": scores[f"classifier_{s}"] for s in SCORES}})
        print(json.dumps(points[-1]), flush=True)
    return points


def plot(points: list[dict], path: str, title: str) -> None:
    """FID against the inception score, and precision against recall, each point labelled ψ."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (x, y) in zip(axes, (("inception_score", "fid"), ("recall", "precision")), strict=True):
        xs, ys = [p[f"classifier_{x}"] for p in points], [p[f"classifier_{y}"] for p in points]
        ax.plot(xs, ys, "o-")
        for p, px, py in zip(points, xs, ys, strict=True):
            ax.annotate("none" if p["truncation"] is None else f"ψ={p['truncation']:g}", (px, py), fontsize=8)
        ax.set_xlabel(f"classifier {SCORES[x]}")
        ax.set_ylabel(f"classifier {SCORES[y]}")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the script; returns the exit status (2, with one line, for a run it cannot read)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a finished BigGAN run (python -m jaxgan.run --exp biggan_fashion_mnist)")
    args = parser.parse_args(argv)
    try:
        points = truncation_curve(args.run_dir)
    except (ConfigError, RunStateError) as error:
        print(f"experiments/truncation_curve.py: error: {error}", file=sys.stderr)
        return 2
    name = os.path.basename(os.path.normpath(args.run_dir))
    with open(os.path.join(RESULTS, "truncation_curve.json"), "w") as f:
        json.dump({"run": name, "points": points}, f, indent=2)
    plot(points, os.path.join(RESULTS, "truncation_curve.png"), f"{name}: the truncation trick (ψ)")
    print(f"wrote {RESULTS}/truncation_curve.json and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
