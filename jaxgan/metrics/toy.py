"""Mode coverage on Gaussian mixtures, by the rule of VEEGAN (Srivastava et al. 2017, §5.1).

A sample is high quality if it lies within `n_std` standard deviations of its nearest mixture
centre; a mode is captured if it is the nearest centre of at least one high-quality sample.
The protocol draws 2,500 samples and uses 3 std. `reverse_kl` is KL(q ‖ uniform) for q the
share of samples whose nearest centre is each mode, the mode-histogram KL of PacGAN (Lin et
al. 2018) applied to every sample: 0 for a perfect balance, log(modes) for total collapse.
"""

from __future__ import annotations

import numpy as np

from jaxgan import divergences


def mode_coverage(samples: np.ndarray, centres: np.ndarray, std: float, n_std: float = 3.0) -> dict:
    """Modes captured and the share of high-quality samples.

    Args:
      samples: generated points, shape (n, dim).
      centres: the mixture's centres, shape (modes, dim).
      std: the mixture components' standard deviation.
      n_std: the high-quality radius in units of `std`.

    Returns:
      {"modes": captured modes (int), "high_quality": share of high-quality samples in [0, 1],
       "reverse_kl": KL(mode histogram ‖ uniform) in nats}.
    """
    samples, centres = np.asarray(samples, np.float64), np.asarray(centres, np.float64)
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples (n, dim) and centres (modes, dim) must agree in dim, got {samples.shape} and {centres.shape}"
        )
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] <= n_std * std
    histogram = np.bincount(nearest, minlength=len(centres)) / len(samples)
    uniform = np.full(len(centres), 1.0 / len(centres))
    return {
        "modes": int(np.unique(nearest[high_quality]).size),
        "high_quality": float(high_quality.mean()),
        "reverse_kl": float(divergences.kl(histogram, uniform)),
    }
