"""Scoring streamed a batch at a time (`metrics.scoring`): the same statistics as of the whole
set at once, memory bounded by one batch and the kept features, and a progress bar."""

import tracemalloc

import numpy as np
import pytest

from jaxgan.data import images
from jaxgan.metrics import images as metrics
from jaxgan.metrics import scoring
from jaxgan.metrics.scoring import FeatureStream, ImageBatches, even_batch_size, stream_features


def projection_network(features: int, classes: int = 10, seed: int = 0):
    """A made-up feature network: images (n, h, w, c) -> (a fixed random projection of their
    pixels, softmax of another), recording the largest batch it was given."""
    rng = np.random.default_rng(seed)
    weights = {}
    largest = [0]

    def network(batch):
        flat = batch.reshape(len(batch), -1).astype(np.float64)
        if "features" not in weights:
            weights["features"] = rng.normal(size=(flat.shape[1], features))
            weights["logits"] = rng.normal(size=(flat.shape[1], classes))
        largest[0] = max(largest[0], len(batch))
        logits = flat @ weights["logits"]
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        return 3.0 + flat @ weights["features"], probabilities / probabilities.sum(axis=1, keepdims=True)

    network.largest = largest
    return network


def test_features_streamed_in_uneven_batches_give_the_statistics_of_the_whole_set():
    rng = np.random.default_rng(0)
    pictures = rng.uniform(-1, 1, size=(103, 4, 4, 1)).astype(np.float32)
    network = projection_network(features=6)
    features, probabilities = network(pictures)
    stream = FeatureStream(kept=40)
    for batch in ImageBatches.of(pictures, largest_batch=7):
        stream.add(*network(batch))
    assert stream.count == 103
    np.testing.assert_allclose(stream.mean, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stream.covariance, np.cov(features, rowvar=False), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(stream.features, features[:40].astype(np.float32))
    assert stream.inception_score() == pytest.approx(metrics.inception_score(probabilities), rel=1e-12)
    without_classes = FeatureStream()
    without_classes.add(features)
    assert without_classes.inception_score() is None


def test_images_go_in_even_batches_of_at_most_the_largest():
    """510 images as 255 + 255 (no generated image thrown away, one batch shape to compile), a
    multiple of the largest batch in batches of it, as every committed figure was scored."""
    sizes = {n: even_batch_size(n, 500) for n in (1, 40, 500, 501, 510, 10_000, 26_000)}
    assert sizes == {1: 1, 40: 40, 500: 500, 501: 251, 510: 255, 10_000: 500, 26_000: 500}
    pictures = np.zeros((510, 2, 2, 1), np.float32)
    assert [len(batch) for batch in ImageBatches.of(pictures)] == [255, 255]


def test_image_batches_hand_uint8_images_over_in_the_model_range_batch_by_batch():
    pixels = np.random.default_rng(1).integers(0, 256, size=(11, 3, 3, 1), dtype=np.uint8)
    batches = ImageBatches.of(pixels, largest_batch=4)
    first, second = list(batches), list(batches)
    assert [len(batch) for batch in first] == [4, 4, 3] and batches.count == 11
    np.testing.assert_array_equal(np.concatenate(first), images.to_model_range(pixels))
    np.testing.assert_array_equal(np.concatenate(second), np.concatenate(first))  # every pass sees the same


def test_scoring_fifty_thousand_samples_holds_one_batch_and_the_kept_features():
    """50,000 made-up samples generated as they are read, through a network of 256 features:
    all of them at once would be 102 MB of float64 features; the stream holds one batch, its
    moments and the first KEPT_FEATURES features (10 MB), and its FID equals the one computed
    from every feature at once (to 1e-7 relative: the two sum in different orders, and the
    summary rounds FID to 4 decimals)."""
    n, batch_size, width = 50_000, scoring.SCORING_BATCH, 256
    network = projection_network(features=width)

    def generated():
        for start in range(0, n, batch_size):
            yield np.random.default_rng(start).uniform(-1, 1, size=(batch_size, 4, 4, 1)).astype(np.float32)

    tracemalloc.start()
    try:
        stream = stream_features(network, ImageBatches(n, generated), "made-up samples")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    all_features = n * width * 8
    assert stream.count == n and network.largest[0] == batch_size
    assert stream.features.shape == (scoring.KEPT_FEATURES, width)
    assert peak < all_features / 4, f"peak {peak / 1e6:.1f} MB against {all_features / 1e6:.0f} MB of features"
    features = np.concatenate([network(batch)[0] for batch in generated()])
    reference = np.random.default_rng(2).normal(3.0, 1.0, size=(500, width))
    mean_r, cov_r = reference.mean(axis=0), np.cov(reference, rowvar=False)
    assert metrics.frechet_distance(stream.mean, stream.covariance, mean_r, cov_r) == pytest.approx(
        metrics.frechet_distance(features.mean(axis=0), np.cov(features, rowvar=False), mean_r, cov_r), rel=1e-7
    )


def test_long_scoring_shows_a_progress_bar(monkeypatch, capsys):
    monkeypatch.setattr(scoring, "PROGRESS_DELAY_S", 0.0)
    pictures = np.zeros((1200, 2, 2, 1), np.float32)
    stream_features(projection_network(features=3), ImageBatches.of(pictures), "made-up features", progress=True)
    err = capsys.readouterr().err
    assert "made-up features" in err and "1200/1200" in err
    stream_features(projection_network(features=3), ImageBatches.of(pictures), "made-up features")
    assert capsys.readouterr().err == ""  # not a terminal: no bar
