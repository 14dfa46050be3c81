"""The README's first figure, composed from committed results (nothing is trained):

    python experiments/front_figure.py

WGAN-GP's ring and grid from the mode-coverage study, the class-conditional Fashion-MNIST grid
and the Stacked MNIST grid, side by side in experiments/results/front.png.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PANELS = (
    (
        "mode_coverage_wgangp_decay_10k/mode_coverage.png",
        "WGAN-GP on the 25-Gaussian grid and the ring\n(samples blue, modes orange)",
    ),
    ("cgan_fashion_mnist_samples.png", "conditional DCGAN on Fashion-MNIST\n(a row per class)"),
    ("dcgan_stacked_mnist_samples.png", "DCGAN on Stacked MNIST\n(a digit per colour channel)"),
)


def main() -> None:
    images = [plt.imread(os.path.join(RESULTS, path)) for path, _ in PANELS]
    widths = [image.shape[1] / image.shape[0] for image in images]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(3.2 * sum(widths), 3.6), width_ratios=widths)
    for ax, image, (_, title) in zip(axes, images, PANELS, strict=True):
        ax.imshow(image)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.savefig(os.path.join(RESULTS, "front.png"), dpi=130, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main()
