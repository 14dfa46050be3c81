"""Image metrics against closed forms and direct computations; the classifier's cache."""

import importlib.util
import os
import pathlib
import shutil

import numpy as np
import pytest
import scipy.linalg

from jaxgan.data import images
from jaxgan.data.images import ImageSet
from jaxgan.metrics import classifier
from jaxgan.metrics import images as metrics


def test_frechet_distance_matches_closed_forms_and_scipy_sqrtm():
    rng = np.random.default_rng(0)
    mean_a, mean_b = rng.normal(size=4), rng.normal(size=4)
    std_a, std_b = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 2, 4)
    # Diagonal covariances: ‖Δμ‖² + Σ (σ_a − σ_b)².
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((std_a - std_b) ** 2)
    np.testing.assert_allclose(
        metrics.frechet_distance(mean_a, np.diag(std_a**2), mean_b, np.diag(std_b**2)), expected, rtol=1e-10
    )
    # Full covariances: Heusel et al.'s formula with scipy's general matrix square root.
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    cov_a, cov_b = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    reference = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    np.testing.assert_allclose(metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b), reference, rtol=1e-8)
    np.testing.assert_allclose(metrics.frechet_distance(mean_a, cov_a, mean_a, cov_a), 0.0, atol=1e-10)


def test_kernel_distance_is_the_unbiased_polynomial_mmd():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 3)), rng.normal(1.0, 1.0, size=(6, 3))
    k = lambda x, y: (x @ y / 3 + 1) ** 3  # noqa: E731
    within = sum(k(a[i], a[j]) + k(b[i], b[j]) for i in range(6) for j in range(6) if i != j) / 30
    across = sum(k(a[i], b[j]) for i in range(6) for j in range(6)) / 36
    mean, std = metrics.kernel_distance(a, b, subsets=3, subset_size=6)
    np.testing.assert_allclose(mean, within - 2 * across, rtol=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)  # every subset is the whole set
    # Unbiased: near 0 (within its spread) for one distribution, far above it after a shift.
    same, spread = metrics.kernel_distance(rng.normal(size=(1000, 3)), rng.normal(size=(1000, 3)), subset_size=500)
    shifted, _ = metrics.kernel_distance(rng.normal(size=(1000, 3)), rng.normal(0.5, 1, (1000, 3)), subset_size=500)
    assert abs(same) < 3 * spread and shifted > 50 * spread


def test_inception_score_ranges_from_one_to_the_number_of_classes():
    confident_and_balanced = np.eye(5)[np.arange(100) % 5]
    np.testing.assert_allclose(metrics.inception_score(confident_and_balanced), 5.0, rtol=1e-6)
    np.testing.assert_allclose(metrics.inception_score(np.full((100, 5), 0.2)), 1.0, rtol=1e-9)
    np.testing.assert_allclose(metrics.inception_score(np.eye(5)[np.zeros(100, int)]), 1.0, rtol=1e-6)


def _prdc_by_definition(real, fake, k):
    """Precision, recall, density and coverage written from the papers' formulas, a point on a
    ball's edge outside it (the reference code's strict <), with distances taken as norms of
    differences, so that every tie is exact."""

    def distances(a, b):
        return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)

    real_radii = np.sort(distances(real, real), axis=1)[:, k]  # column 0: the point itself
    fake_radii = np.sort(distances(fake, fake), axis=1)[:, k]
    fake_to_real = distances(fake, real)  # (M, N)
    inside = fake_to_real < real_radii[None, :]
    return {
        "precision": np.mean(inside.any(axis=1)),
        "recall": np.mean((fake_to_real < fake_radii[:, None]).any(axis=0)),
        "density": inside.sum() / (k * len(fake)),
        "coverage": np.mean(fake_to_real.min(axis=0) < real_radii),
    }


def test_precision_recall_density_coverage_follow_their_definitions():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((70, 3))
    fake = 0.7 * rng.standard_normal((60, 3)) + np.array([0.8, 0.0, 0.0])  # narrower and shifted
    for k in (1, 3, 5):
        scores = metrics.precision_recall_density_coverage(real, fake, k=k, chunk=16)
        expected = _prdc_by_definition(real, fake, k)
        assert scores == pytest.approx(expected, rel=1e-12), k
    assert 0 < scores["precision"] < 1 and 0 < scores["recall"] < 1
    same = metrics.precision_recall_density_coverage(real, real, k=3)
    assert (same["precision"], same["recall"], same["coverage"]) == (1.0, 1.0, 1.0)
    apart = metrics.precision_recall_density_coverage(real, fake + 100.0, k=3)
    assert apart == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    with pytest.raises(ValueError, match="k = 5 nearest neighbours need more than 5"):
        metrics.precision_recall_density_coverage(real[:5], fake, k=5)


def _prdc_reference_cases() -> dict:
    path = os.path.join(os.path.dirname(__file__), os.pardir, "experiments", "prdc_reference.py")
    spec = importlib.util.spec_from_file_location("prdc_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases()


def test_precision_recall_density_coverage_break_ties_as_the_reference_code():
    """On experiments/prdc_reference.py's cases (duplicates, fake = real, a collapsed fake, and
    two without ties) the scores equal the definition with strict inequalities and, where it is
    installed (the test extra), clovaai's `prdc`; the committed table shows both."""
    for name, (real, fake) in _prdc_reference_cases().items():
        scores = metrics.precision_recall_density_coverage(real, fake, k=5, chunk=64)
        assert scores == pytest.approx(_prdc_by_definition(real, fake, 5), rel=1e-12), name
        assert scores == pytest.approx(_reference_prdc(real, fake, 5), rel=1e-12), name
    same = metrics.precision_recall_density_coverage(*_prdc_reference_cases()["fake = real, 500 distinct points"])
    assert same["density"] == 1.0  # each real ball holds its centre and k − 1 others strictly inside


def _reference_prdc(real, fake, k) -> dict:
    prdc = pytest.importorskip("prdc")
    return {name: float(value) for name, value in prdc.compute_prdc(real, fake, nearest_k=k).items()}


def _channel_probabilities(digits: np.ndarray, top: float) -> np.ndarray:
    """(..., 10) probabilities with `top` on each digit and the rest spread evenly."""
    probabilities = np.full((*digits.shape, 10), (1.0 - top) / 9)
    np.put_along_axis(probabilities, digits[..., None], top, axis=-1)
    return probabilities


def test_stacked_mnist_modes_and_kl_to_uniform():
    every_mode = np.stack([np.arange(1000) // 100, np.arange(1000) // 10 % 10, np.arange(1000) % 10], axis=1)
    assert metrics.stacked_mnist_modes(_channel_probabilities(every_mode, 0.95)) == {
        "confident_share": 1.0,
        "modes": 1000,
        "kl_to_uniform": 0.0,
        "channel_kl_to_uniform": [0.0, 0.0, 0.0],
        "modes_any_confidence": 1000,
        "kl_to_uniform_any_confidence": 0.0,
    }
    collapsed = metrics.stacked_mnist_modes(_channel_probabilities(np.tile([[3, 1, 4]], (50, 1)), 0.95))
    assert collapsed["modes"] == 1 and collapsed["kl_to_uniform"] == pytest.approx(np.log(1000))
    assert collapsed["channel_kl_to_uniform"] == pytest.approx([np.log(10)] * 3)


def test_stacked_mnist_modes_count_only_samples_whose_channels_are_all_confident():
    # 600 clear samples over modes 0..599 (one each), then 400 with one blurred channel.
    digits = np.stack([np.arange(1000) // 100, np.arange(1000) // 10 % 10, np.arange(1000) % 10], axis=1)
    probabilities = _channel_probabilities(digits, 0.95)
    probabilities[600:, 1] = _channel_probabilities(digits[600:, 1], 0.5)
    scores = metrics.stacked_mnist_modes(probabilities)
    assert scores["confident_share"] == pytest.approx(0.6)
    assert scores["modes"] == 600 and scores["modes_any_confidence"] == 1000
    assert scores["kl_to_uniform"] == pytest.approx(np.log(1000 / 600))  # uniform over 600 of 1,000
    # modes 0..599: the red digit is 0..5 (uniform over 6 of 10), green and blue are uniform
    assert scores["channel_kl_to_uniform"] == pytest.approx([np.log(10 / 6), 0.0, 0.0], abs=1e-12)
    assert metrics.stacked_mnist_modes(probabilities, confidence=0.0)["modes"] == 1000
    nothing_clear = metrics.stacked_mnist_modes(_channel_probabilities(digits, 0.5))
    assert nothing_clear["modes"] == 0 and nothing_clear["kl_to_uniform"] is None
    assert nothing_clear["channel_kl_to_uniform"] is None


def test_the_published_protocol_counts_every_sample_by_its_argmax():
    """VEEGAN's and PacGAN's KL: every sample's mode read by argmax, whatever the confidence.
    Here 1,000 blurred samples, two in each of modes 0..499: no confident sample, and over all
    of them KL = log(1000 / 500) = log 2; 10 confident samples in mode 999 change it to the KL of
    a histogram of 500 cells of 2/1010 and one of 10/1010."""
    digits = np.stack([np.arange(1000) // 2 // 100, np.arange(1000) // 2 // 10 % 10, np.arange(1000) // 2 % 10], 1)
    scores = metrics.stacked_mnist_modes(_channel_probabilities(digits, 0.5))
    assert scores["kl_to_uniform"] is None and scores["modes_any_confidence"] == 500
    assert scores["kl_to_uniform_any_confidence"] == pytest.approx(np.log(2))
    clear = _channel_probabilities(np.tile([[9, 9, 9]], (10, 1)), 0.95)
    scores = metrics.stacked_mnist_modes(np.concatenate([_channel_probabilities(digits, 0.5), clear]))
    expected = 500 * (2 / 1010) * np.log(2 / 1010 * 1000) + (10 / 1010) * np.log(10 / 1010 * 1000)
    assert scores["kl_to_uniform_any_confidence"] == pytest.approx(expected)
    assert (scores["modes"], scores["kl_to_uniform"]) == (1, pytest.approx(np.log(1000)))


def _separable_digits(n=300, seed=0):
    """Ten classes of 28 × 28 images: class c lights a horizontal band at rows 2c..2c+3, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.int32)
    pixels = rng.integers(0, 60, (n, 28, 28, 1))
    for i, c in enumerate(labels):
        pixels[i, 2 * c : 2 * c + 4] = 250
    return ImageSet(pixels.astype(np.uint8), labels, 10, name="bands")


@pytest.mark.standard_dtype_promotion  # its training runs optax's Adam
def test_classifier_learns_separable_classes_and_is_cached(tmp_path):
    train, held_out = images.held_out_split(_separable_digits())
    assert len(train) == 240 and len(held_out) == 60
    trained = classifier.cached_classifier(train, held_out, str(tmp_path), steps=60)
    assert trained.accuracy > 0.9
    again = classifier.cached_classifier(train, held_out, str(tmp_path), steps=60)  # read back, not retrained
    assert again.accuracy == trained.accuracy
    features, probabilities = again.features_and_probabilities(np.zeros((3, 28, 28, 1), np.float32))
    assert features.shape == (3, 128) and probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    original, _ = trained.features_and_probabilities(np.zeros((3, 28, 28, 1), np.float32))
    np.testing.assert_allclose(features, original, rtol=1e-6)


def _largest_file(folder: str) -> str:
    files = [os.path.join(root, name) for root, _, names in os.walk(folder) for name in names]
    return max(files, key=os.path.getsize)


def _flip_a_byte(path: str) -> None:
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))


CACHE_DAMAGES = {
    "info.json deleted (a kill between the writes, before this cache was atomic)": lambda entry: os.remove(
        os.path.join(entry, "info.json")
    ),
    "info.json garbled": lambda entry: pathlib.Path(entry, "info.json").write_text('{"accuracy": 0.9'),
    "info.json a list": lambda entry: pathlib.Path(entry, "info.json").write_text("[1, 2]"),
    "info.json of an older jaxgan, without a digest": lambda entry: pathlib.Path(entry, "info.json").write_text(
        '{"accuracy": 0.9}'
    ),
    "params/ deleted": lambda entry: shutil.rmtree(os.path.join(entry, "params")),
    "the parameters' data truncated": lambda entry: os.truncate(_largest_file(os.path.join(entry, "params")), 10),
    "a byte of the parameters flipped": lambda entry: _flip_a_byte(_largest_file(os.path.join(entry, "params"))),
}


@pytest.mark.standard_dtype_promotion  # its training runs optax's Adam
@pytest.mark.parametrize("damage", CACHE_DAMAGES)
def test_a_damaged_classifier_cache_entry_is_set_aside_and_trained_again(tmp_path, capsys, damage):
    """Issue 31, item 2: whatever is wrong with an entry, the next run says so in one line,
    moves it to damaged/ (kept, not deleted), trains afresh and caches a good entry, which the
    run after that reads back."""
    train, held_out = images.held_out_split(_separable_digits(n=80))
    first = classifier.cached_classifier(train, held_out, str(tmp_path), steps=8)
    entry = tmp_path / first.identity
    CACHE_DAMAGES[damage](str(entry))
    capsys.readouterr()
    again = classifier.cached_classifier(train, held_out, str(tmp_path), steps=8)
    notices = [line for line in capsys.readouterr().err.splitlines() if "cannot be trusted" in line]
    assert len(notices) == 1 and str(tmp_path / "damaged" / f"{first.identity}-0") in notices[0]
    assert (tmp_path / "damaged" / f"{first.identity}-0").is_dir()
    assert again.accuracy == first.accuracy  # trained again from the same seed
    read_back = classifier.cached_classifier(train, held_out, str(tmp_path), steps=8)
    assert "cannot be trusted" not in capsys.readouterr().err and read_back.accuracy == first.accuracy
    assert sorted(os.listdir(tmp_path)) == sorted([first.identity, "damaged"])  # no staging folder left


@pytest.mark.standard_dtype_promotion  # its training runs optax's Adam
def test_classifier_trains_on_fewer_images_than_a_batch():
    """A folder of 64 training images (a batch is 128): the batches are the whole training part."""
    train, held_out = images.held_out_split(_separable_digits(n=80))
    assert len(train) == 64
    assert classifier.train_classifier(train, held_out, steps=30, progress=False).accuracy > 0.5


def test_inception_score_splits_is_the_mean_and_std_of_each_splits_score():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(10, 0.3), size=1003)
    mean, std = metrics.inception_score_splits(probabilities, splits=10)
    scores = [metrics.inception_score(probabilities[k * 100 : (k + 1) * 100]) for k in range(10)]
    assert (mean, std) == pytest.approx((np.mean(scores), np.std(scores)), rel=1e-12)
    # Each split's own p(y) comes from fewer samples, so the split mean lies below the one-split score.
    assert mean < metrics.inception_score(probabilities)
    with pytest.raises(ValueError, match="at least one sample per split"):
        metrics.inception_score_splits(probabilities[:5], splits=10)


def test_a_small_training_set_trains_its_classifier_for_at_most_fifty_passes():
    """1,500 steps of 128 images: 3.2 passes over MNIST's 60,000, capped at 50 passes (81 steps)
    over a folder's 205 training images, and at 50 full-set steps below a batch."""
    assert classifier.training_steps(60_000, 1500) == 1500
    assert classifier.training_steps(205, 1500) == 81  # ceil(50 · 205 / 128)
    assert classifier.training_steps(64, 1500) == 50  # the batch is the whole set
    assert classifier.training_steps(205, 8) == 8


@pytest.mark.standard_dtype_promotion  # the classifier's training runs optax's Adam
def test_the_classifier_scores_no_more_samples_than_it_compares_them_with(tmp_path):
    """eval.samples (10,000) capped at 10 per held-out image (160 for the 16 held out of an
    80-image set without a test split), which the classifier scores are computed against."""
    from jaxgan import configs
    from jaxgan.evaluators import Context
    from jaxgan.evaluators.classifier_scores import ClassifierScores
    from jaxgan.runs import Built

    config = configs.get_config("dcgan_mnist")
    config.eval.classifier_dir, config.eval.classifier_steps = str(tmp_path), 5
    scores = ClassifierScores(Context(config, None, Built(_separable_digits(n=80), None), None))
    assert (config.eval.samples, len(scores.data.held_out)) == (10_000, 16)
    assert scores.sample_count() == 160
    config.eval.samples = 100
    assert scores.sample_count() == 100
