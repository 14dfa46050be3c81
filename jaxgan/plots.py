"""Figures written into a run directory (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_samples_2d(
    path: str,
    real: np.ndarray,
    fake: np.ndarray,
    critic: Callable[[np.ndarray], np.ndarray] | None = None,
    title: str = "",
    resolution: int = 128,
    contour_label: str = "critic",
) -> None:
    """Real and generated 2-D samples over the contour map of the critic (or of what
    `contour_label` names, an energy, say)."""
    both = np.concatenate([real, fake])
    low, high = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    margin = 0.15 * (high - low).max()
    low, high = low - margin, high + margin
    fig, ax = plt.subplots(figsize=(6, 6))
    if critic is not None:
        xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
        scores = np.asarray(critic(grid)).reshape(resolution, resolution)
        contour = ax.contourf(xs, ys, scores, levels=20, cmap="viridis", alpha=0.6)
        fig.colorbar(contour, ax=ax, fraction=0.046, label=contour_label)
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c="tab:blue", alpha=0.5, label="generated")
    ax.scatter(real[:, 0], real[:, 1], s=3, c="tab:orange", alpha=0.5, label="data")
    ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), aspect="equal", title=title)
    ax.legend(loc="upper right", markerscale=4)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_curves(path: str, rows: Sequence[dict], keys: Sequence[str], title: str = "") -> None:
    """One panel per metric key against the step, from metrics.jsonl rows."""
    keys = [key for key in keys if any(key in row for row in rows)]
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.2 * len(keys)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys, strict=True):
        steps = [row["step"] for row in rows if key in row]
        ax.plot(steps, [row[key] for row in rows if key in row], lw=1)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("generator iteration")
    axes[0, 0].set_title(title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_image_grid(path: str, images: np.ndarray, columns: int, title: str = "") -> None:
    """uint8 images (n, h, w, 1 | 3) tiled in rows of `columns`, one pixel of white between."""
    n, height, width, channels = images.shape
    rows = -(-n // columns)
    canvas = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, channels), 255, np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        canvas[
            1 + row * (height + 1) : (row + 1) * (height + 1), 1 + column * (width + 1) : (column + 1) * (width + 1)
        ] = image
    fig, ax = plt.subplots(figsize=(columns * 0.6, rows * 0.6 + 0.4))
    ax.imshow(canvas[..., 0] if channels == 1 else canvas, cmap="gray" if channels == 1 else None, vmin=0, vmax=255)
    ax.set(xticks=[], yticks=[], title=title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_latent_scatter(
    path: str, codes: np.ndarray, labels: np.ndarray | None, prior: np.ndarray | None = None, title: str = ""
) -> None:
    """2-D codes coloured by class label, over draws of the prior in grey."""
    fig, ax = plt.subplots(figsize=(6.5, 6))
    if prior is not None:
        ax.scatter(prior[:, 0], prior[:, 1], s=2, c="0.75", alpha=0.5, label="prior")
    points = ax.scatter(codes[:, 0], codes[:, 1], s=4, c=labels, cmap="tab10" if labels is not None else None)
    if labels is not None:
        fig.colorbar(points, ax=ax, fraction=0.046, label="label", ticks=np.unique(labels))
    if prior is not None:
        ax.legend(loc="upper right", markerscale=4)
    ax.set(aspect="equal", title=title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
