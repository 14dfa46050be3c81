"""Sample-quality metrics for images, computed on features and class probabilities of any
network: the classifier jaxgan trains on a run's data (`classifier.py`), FID's Inception-v3
(`inception.py`) or DINOv2 (`dinov2.py`), the last two from weights files the user gives.
Scores are named for their network ("FID with jaxgan's MNIST classifier"), and only scores of
one network compare.

- `frechet_distance`: ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) between Gaussians fitted to two
  feature sets (Heusel et al. 2017).
- `kernel_distance`: the unbiased MMD² with the cubic polynomial kernel (KID, Bińkowski et al.
  2018), averaged over subsets.
- `precision_recall_density_coverage`: the k-nearest-neighbour manifold metrics of
  Kynkäänniemi et al. 2019 and Naeem et al. 2020, in any feature space.
- `inception_score`: exp E_x KL(p(y|x) ‖ p(y)) (Salimans et al. 2016), one split (from its
  sums, batch by batch: `inception_score_of_sums`) or the
  10-split mean ± std of the papers (`inception_score_splits`).
- `stacked_mnist_modes`: modes captured of 1,000 and KL(mode histogram ‖ uniform), the
  protocol of VEEGAN and PacGAN (26,000 samples, each channel classified separately), counted
  on the samples whose three channels are each read with confidence ≥ 0.9, and on every
  sample as those papers count (`*_any_confidence`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

LOG_EPS = 1e-12  # added to probabilities under a log (the inception score)


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """The squared 2-Wasserstein distance between N(μ_a, Σ_a) and N(μ_b, Σ_b):

      ‖μ_a − μ_b‖² + Tr(Σ_a) + Tr(Σ_b) − 2·Tr((Σ_a^½ Σ_b Σ_a^½)^½),

    the last trace computed from the eigenvalues of the symmetric Σ_a^½ Σ_b Σ_a^½ (clipped at
    0), which equals Tr((Σ_a Σ_b)^½) and stays real for nearly singular covariances.
    """
    root_a = _symmetric_sqrt(cov_a)
    middle = _symmetric_sqrt(root_a @ cov_b @ root_a)
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(middle))


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = scipy.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def kernel_distance(
    features_a: np.ndarray, features_b: np.ndarray, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: the unbiased MMD² with k(x, y) = (xᵀy / d + 1)³, mean and std over random subsets.

    Each subset draws `subset_size` rows (or all, if fewer) from each set without replacement.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [
        _unbiased_mmd2(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _unbiased_mmd2(a: np.ndarray, b: np.ndarray) -> float:
    """(1/(m(m−1))) Σ_{i≠j} [k(a_i, a_j) + k(b_i, b_j)] − (2/m²) Σ_{i,j} k(a_i, b_j)."""
    m, dim = a.shape
    k_aa, k_bb, k_ab = ((x @ y.T / dim + 1.0) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    off_diagonal = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(off_diagonal - 2.0 * k_ab.mean())


PRDC_TIE_TOLERANCE = 1e-10
"""Squared distances within this fraction of ‖a‖² + ‖b‖² of a ball's squared radius count as on
its edge: far above the float64 rounding of ‖a‖² + ‖b‖² − 2a·b, far below any real gap."""


def precision_recall_density_coverage(
    real_features: np.ndarray, fake_features: np.ndarray, k: int = 5, chunk: int = 1024
) -> dict:
    """Precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020)
    of fake against real features, each set's manifold the union of open balls reaching every
    point's k-th nearest other point in its own set (radius r(x)):

      precision = (1/M) Σ_j 1[∃i: ‖y_j − x_i‖ < r(x_i)],  recall = (1/N) Σ_i 1[∃j: ‖x_i − y_j‖ < r(y_j)],
      density   = (1/(kM)) Σ_j Σ_i 1[‖y_j − x_i‖ < r(x_i)],  coverage = (1/N) Σ_i 1[min_j ‖x_i − y_j‖ < r(x_i)],

    for real x_1..x_N and fake y_1..y_M, in Euclidean distance. Precision and density measure
    how much of the fake lies where real data does, recall and coverage how much of the real
    data the fake reaches; density can exceed 1. The inequalities are strict, as in the
    reference code (clovaai's `prdc`), so a point on a ball's edge is outside it: a duplicate
    of a point whose balls have radius 0 (a collapsed generator, a dataset with repeated
    images), or the k-th neighbour itself when the fake set is the real one. Distances come
    `chunk` rows at a time from ‖a‖² + ‖b‖² − 2a·b, whose rounding can push such a tie either
    way, so a comparison within PRDC_TIE_TOLERANCE·(‖a‖² + ‖b‖²) counts as the tie it is.
    """
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"k = {k} nearest neighbours need more than {k} real and fake examples")
    real_radii, fake_radii = (
        _kth_neighbour_squared_distance(real, k, chunk),
        _kth_neighbour_squared_distance(fake, k, chunk),
    )
    balls_holding = np.empty(len(fake))  # per fake example: how many real balls hold it
    recalled, covered = np.zeros(len(real), bool), np.zeros(len(real), bool)
    for start in range(0, len(fake), chunk):
        squared, slack = _squared_distances(fake[start : start + chunk], real)  # (chunk, N)
        in_real_balls = squared < real_radii - slack
        balls_holding[start : start + chunk] = in_real_balls.sum(axis=1)
        covered |= in_real_balls.any(axis=0)
        recalled |= (squared < fake_radii[start : start + chunk, None] - slack).any(axis=0)
    return {
        "precision": float(np.mean(balls_holding > 0)),
        "recall": float(np.mean(recalled)),
        "density": float(balls_holding.sum() / (k * len(fake))),
        "coverage": float(np.mean(covered)),
    }


def _squared_distances(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared Euclidean distances between the rows of a and of b, (len(a), len(b)), and the
    tie tolerance PRDC_TIE_TOLERANCE·(‖a‖² + ‖b‖²) of each pair."""
    norms = np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :]
    return norms - 2.0 * a @ b.T, PRDC_TIE_TOLERANCE * norms


def _kth_neighbour_squared_distance(points: np.ndarray, k: int, chunk: int) -> np.ndarray:
    """Each point's squared distance to its k-th nearest other point of the same set."""
    radii = np.empty(len(points))
    for start in range(0, len(points), chunk):
        squared, _ = _squared_distances(points[start : start + chunk], points)
        radii[start : start + chunk] = np.partition(squared, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def inception_score(probabilities: np.ndarray, eps: float = LOG_EPS) -> float:
    """exp E_x KL(p(y|x) ‖ p(y)), p(y) the mean prediction: from 1 (all alike or all unsure) to
    the number of classes (confident and balanced).

    One split: the score of all the samples together, with p(y) their mean. Papers since
    Salimans et al. (2016) report the mean ± std over 10 equal splits of 50,000 samples,
    which `inception_score_splits` computes; on fewer samples each split's p(y) is noisier,
    so the split mean is lower than the one-split score."""
    p = np.asarray(probabilities, np.float64)
    return inception_score_of_sums(p.sum(axis=0), float(np.sum(p * np.log(p + eps))), len(p), eps)


def inception_score_of_sums(probability_sum: np.ndarray, plogp_sum: float, n: int, eps: float = LOG_EPS) -> float:
    """`inception_score` from sums over the n samples, which can be taken batch by batch:
    s = Σ_x p(y|x) and t = Σ_x Σ_y p(y|x)·log p(y|x). With p(y) = s/n,

      E_x KL(p(y|x) ‖ p(y)) = t/n − Σ_y p(y)·log p(y),

    (each log taken of its argument + eps)."""
    marginal = np.asarray(probability_sum, np.float64) / n
    return float(np.exp(plogp_sum / n - np.sum(marginal * np.log(marginal + eps))))


def inception_score_splits(probabilities: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of `inception_score` over `splits` consecutive equal parts of the samples
    (Salimans et al. 2016's convention, with 10 splits; the remainder is dropped)."""
    p = np.asarray(probabilities)
    size = len(p) // splits
    if splits < 1 or size < 1:
        raise ValueError(f"{splits} splits of {len(p)} samples: give at least one sample per split")
    scores = [inception_score(p[k * size : (k + 1) * size]) for k in range(splits)]
    return float(np.mean(scores)), float(np.std(scores))


def stacked_mnist_modes(channel_probabilities: np.ndarray, confidence: float = 0.9) -> dict:
    """Modes captured of 1,000 and KL(mode histogram ‖ uniform), counted on the samples whose
    three channels are all digits.

    A sample's mode is the triple of the digits the classifier reads in its red, green and blue
    channel. A channel whose top class probability is below `confidence` is no clear digit, and
    a sample with such a channel (a colour blend) belongs to no mode: it is left out of the
    histogram and of the KL, and `confident_share` says how many samples were kept.

    Args:
      channel_probabilities: (n, 3, classes) the classifier's probabilities for each channel.
      confidence: the top probability every channel must reach; 0 counts every sample.

    Returns:
      {"confident_share", "modes", "kl_to_uniform", "channel_kl_to_uniform",
      "modes_any_confidence", "kl_to_uniform_any_confidence"}: `channel_kl_to_uniform` is each
      channel's KL(digit histogram ‖ uniform over 10) on the same samples, the share of the KL
      that is each channel's digit balance (with independent channels the joint KL is their
      sum); those KLs are None when no sample is confident. The last two count every sample by
      its argmax digits, whatever the confidence: the published protocol (VEEGAN, PacGAN,
      R3GAN), comparable with their tables.
    """
    digits = channel_probabilities.argmax(axis=2)
    confident = (channel_probabilities.max(axis=2) >= confidence).all(axis=1)
    modes = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
    clear = confident.any()
    return {
        "confident_share": float(confident.mean()),
        "modes": len(np.unique(modes[confident])),
        "kl_to_uniform": _kl_to_uniform(modes[confident], 1000) if clear else None,
        "channel_kl_to_uniform": [_kl_to_uniform(digits[confident, k], 10) for k in range(3)] if clear else None,
        "modes_any_confidence": len(np.unique(modes)),
        "kl_to_uniform_any_confidence": _kl_to_uniform(modes, 1000),
    }


def _kl_to_uniform(labels: np.ndarray, classes: int) -> float:
    """KL(histogram of `labels` ‖ uniform over `classes`), empty cells contributing 0."""
    histogram = np.bincount(labels, minlength=classes) / len(labels)
    seen = histogram > 0
    return float(np.sum(histogram[seen] * np.log(histogram[seen] * classes)))
