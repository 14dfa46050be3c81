"""jaxgan's precision, recall, density and coverage against the reference code, clovaai's `prdc`
(`pip install prdc`), on cases with ties on the balls' edges and without.

    python experiments/prdc_reference.py      writes experiments/results/prdc_reference.md

Both count a point on a k-NN ball's edge as outside it (a strict <). Without ties the choice
is invisible; with them (a collapsed generator, a dataset of repeated images, the fake set
equal to the real one) it decides the scores. tests/test_metrics_images.py checks the same
cases against `prdc`.
"""

from __future__ import annotations

import importlib.metadata
import os

import numpy as np

K = 5
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "prdc_reference.md")


def cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (real, fake) features."""
    rng = np.random.default_rng(0)
    normal = rng.standard_normal((500, 64))
    modes = rng.standard_normal((100, 16))
    jittered = modes[50:] + 1e-3 * rng.standard_normal((50, 16))
    return {
        "fake = real, 500 distinct points": (normal, normal.copy()),
        "100 points × 8 copies against 50 of them and 50 jittered": (
            np.repeat(modes, 8, axis=0),
            np.concatenate([modes[:50], jittered]),
        ),
        "a collapsed fake: 200 copies of one real point": (normal, np.repeat(normal[:1], 200, axis=0)),
        "no ties: 300 real, 200 shifted fake": (rng.standard_normal((300, 8)), rng.standard_normal((200, 8)) + 0.3),
        "no ties, float32 features": (
            rng.standard_normal((400, 32)).astype(np.float32),
            rng.standard_normal((300, 32)).astype(np.float32),
        ),
    }


def main() -> None:
    import prdc

    from jaxgan.metrics.images import precision_recall_density_coverage

    lines = [
        f"# PRDC: jaxgan against clovaai's `prdc` {importlib.metadata.version('prdc')}",
        "",
        f"k = {K}; made by `python experiments/prdc_reference.py`.",
        "",
        "| case | precision | recall | density | coverage |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (real, fake) in cases().items():
        ours = precision_recall_density_coverage(real, fake, k=K)
        theirs = prdc.compute_prdc(real, fake, nearest_k=K)
        cells = [f"{ours[metric]:.4f} / {float(theirs[metric]):.4f}" for metric in ours]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += ["", "Each cell: jaxgan / prdc."]
    with open(RESULTS, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
