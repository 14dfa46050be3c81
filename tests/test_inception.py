"""FID's Inception-v3 in Flax: the resizing and the pooling against numpy, the whole network
against pytorch-fid's with the same random weights (skipped without torch and pytorch-fid),
and the weights file's conversion."""

import json
import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_dinov2_state_dict, write_cifar10_batches

from jaxgan import eval as jaxgan_eval
from jaxgan.data import images
from jaxgan.metrics import inception


def _bilinear_by_definition(x: np.ndarray, side: int) -> np.ndarray:
    """torch's bilinear resize with align_corners=False: output pixel i reads the input at
    (i + ½)·in/out − ½, clamped at 0, from its two neighbours (the last one repeated)."""

    def along(values: np.ndarray, axis: int) -> np.ndarray:
        size = values.shape[axis]
        source = np.maximum((np.arange(side) + 0.5) * size / side - 0.5, 0.0)
        low = np.minimum(np.floor(source).astype(int), size - 1)
        high = np.minimum(low + 1, size - 1)
        weight = (source - low).reshape([-1 if a == axis else 1 for a in range(values.ndim)])
        return np.take(values, low, axis) * (1 - weight) + np.take(values, high, axis) * weight

    return along(along(x, 1), 2)


@pytest.mark.parametrize("size, side", [(7, 11), (13, 5), (32, 299)], ids=["up", "down", "cifar"])
def test_resizing_is_half_pixel_bilinear_without_antialiasing(size, side):
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    np.testing.assert_allclose(
        inception.resize_bilinear(jnp.asarray(x), side), _bilinear_by_definition(x, side), atol=1e-5
    )


def test_resizing_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 40, 40)).astype(np.float32)
    for side in (299, 17):
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(x), size=(side, side), mode="bilinear", align_corners=False
        )
        ours = inception.resize_bilinear(jnp.asarray(x.transpose(0, 2, 3, 1)), side)
        np.testing.assert_allclose(ours, expected.numpy().transpose(0, 2, 3, 1), atol=1e-5)


@pytest.mark.parametrize("size, side", [((32, 32), 299), ((28, 28), 299), ((64, 48), 17), ((40, 40), 29)])
def test_clean_resizing_is_pillows_antialiased_bicubic(size, side):
    """clean-fid's clean mode: each channel as a 32-bit float image resized by Pillow's BICUBIC
    (antialiased when it shrinks), clipped to the range; ours within 1e-3 of 255 (the issue asks
    1/255 of the range, 1 here) on images with smooth shading, edges and noise."""
    from PIL import Image

    rng = np.random.default_rng(4)
    rows, columns = np.mgrid[0 : size[0], 0 : size[1]]
    shading = 127.5 + 100 * np.sin(rows / 5.0) * np.cos(columns / 7.0)
    edges = 60.0 * ((rows // 8 + columns // 8) % 2)
    x = np.clip(shading + edges + rng.normal(0, 20, (3, *size)), 0, 255).astype(np.float32)  # (c, h, w)
    expected = np.stack(
        [np.asarray(Image.fromarray(channel, mode="F").resize((side, side), resample=Image.BICUBIC)) for channel in x]
    )
    ours = inception.resize_clean(jnp.asarray(x.transpose(1, 2, 0)[None] / 127.5 - 1), side)
    np.testing.assert_allclose(
        (np.asarray(ours[0]) + 1) * 127.5, np.clip(expected, 0, 255).transpose(1, 2, 0), atol=1e-3
    )


def test_average_pool_leaves_the_padding_out_of_the_mean():
    x = np.random.default_rng(2).normal(size=(1, 4, 5, 2)).astype(np.float32)
    expected = np.zeros_like(x)
    for i in range(4):
        for j in range(5):
            expected[0, i, j] = x[0, max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].mean(axis=(0, 1))
    np.testing.assert_allclose(inception._average_pool_3x3(jnp.asarray(x)), expected, rtol=1e-6, atol=1e-6)  # noqa: SLF001


def _state_dict_of(variables) -> dict[str, np.ndarray]:
    """The inverse of `variables_from_state_dict`: torch's names and layouts."""
    names = {"scale": "weight", "mean": "running_mean", "var": "running_var"}
    state_dict = {}
    for collection in ("params", "batch_stats"):
        for path, value in jax.tree_util.tree_leaves_with_path(variables[collection]):
            *modules, leaf = (key.key for key in path)
            value = np.asarray(value)
            if leaf == "kernel":
                value = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
                leaf = "weight"
            state_dict[".".join([*modules, names.get(leaf, leaf)])] = value
    return state_dict


@pytest.fixture(scope="module")
def random_weights():
    """FIDInception's variables at random, batch-norm statistics included: kernels drawn from
    N(0, 1/fan-in) (LeCun's, Flax's default, so activations stay of order one through the
    network), scales 1 and offsets 0, running means and variances near 0 and 1. Only the shapes
    come from the network, traced, not run: initialised op by op, Inception-v3 takes a minute of
    small compilations."""
    shapes = jax.eval_shape(inception.FIDInception().init, jax.random.PRNGKey(0), jnp.zeros((1, 75, 75, 3)))
    rng = np.random.default_rng(3)

    def draw(path, leaf):
        name = path[-1].key
        if name == "kernel":
            return (rng.standard_normal(leaf.shape) / np.sqrt(np.prod(leaf.shape[:-1]))).astype(np.float32)
        if name in ("scale", "bias"):  # as Flax initialises them
            return np.full(leaf.shape, 1.0 if name == "scale" else 0.0, np.float32)
        return rng.uniform(*((0.5, 1.5) if name == "var" else (-0.2, 0.2)), leaf.shape).astype(np.float32)

    return {
        collection: jax.tree_util.tree_map_with_path(draw, shapes[collection])
        for collection in ("params", "batch_stats")
    }


def test_weights_read_back_from_npz_and_bad_files_are_refused(random_weights, tmp_path):
    np.savez(tmp_path / "inception.npz", **_state_dict_of(random_weights))
    read = inception.read_weights(str(tmp_path / "inception.npz"))
    jax.tree.map(np.testing.assert_array_equal, read, jax.tree.map(np.asarray, random_weights))
    truncated = {k: v for k, v in _state_dict_of(random_weights).items() if not k.startswith("Mixed_7c")}
    np.savez(tmp_path / "truncated.npz", **truncated)
    with pytest.raises(ValueError, match="not shaped as pytorch-fid's Inception-v3"):
        inception.read_weights(str(tmp_path / "truncated.npz"))
    np.savez(tmp_path / "other.npz", **{"encoder.weight": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="encoder.weight is not a weight of pytorch-fid's Inception-v3"):
        inception.read_weights(str(tmp_path / "other.npz"))
    with pytest.raises(FileNotFoundError, match="no Inception weights at"):
        inception.read_weights(str(tmp_path / "missing.pth"))


def test_the_network_computes_what_pytorch_fids_inception_computes(monkeypatch, tmp_path):
    """pytorch-fid's InceptionV3 with random weights (its download replaced by nothing), those
    weights transplanted into the Flax network through a .pth file: the 2,048 pool features
    agree to 1e-4 of their scale, and the 1,008 logits of the last layer with them."""
    torch = pytest.importorskip("torch")
    fid = pytest.importorskip("pytorch_fid.inception")
    built = []
    original_build, original_load = fid.fid_inception_v3, torch.nn.Module.load_state_dict
    monkeypatch.setattr(fid, "load_state_dict_from_url", lambda *args, **kwargs: None)
    monkeypatch.setattr(
        torch.nn.Module,
        "load_state_dict",
        lambda self, sd, *a, **k: None if sd is None else original_load(self, sd, *a, **k),
    )
    monkeypatch.setattr(fid, "fid_inception_v3", lambda: built.append(original_build()) or built[-1])
    torch.manual_seed(0)
    network = fid.InceptionV3([fid.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    with torch.no_grad():
        for module in built[0].modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    torch.save(built[0].state_dict(), tmp_path / "pt_inception-random.pth")
    images = np.random.default_rng(4).uniform(0, 1, (2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = network(torch.from_numpy(images))[0].reshape(2, 2048)
        expected_logits = built[0].fc(expected).numpy()
    scorer_variables = inception.read_weights(str(tmp_path / "pt_inception-random.pth"))
    features, logits = inception.FIDInception().apply(
        scorer_variables, jnp.asarray(2 * images.transpose(0, 2, 3, 1) - 1)
    )
    expected = expected.numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-4, atol=1e-4 * np.abs(expected_logits).max())


def test_fid_of_two_folders_equals_pytorch_fids_with_the_same_weights(random_weights, tmp_path, monkeypatch, capsys):
    """pytorch-fid's own `calculate_fid_given_paths` (what `python -m pytorch_fid A B` runs) on
    two folders of PNGs, its Inception-v3 given the random weights of a .pth file in place of
    its download, against `python -m jaxgan.fid A B --weights` that .pth: the same FID to 1e-3
    relative. Skipped without torch and pytorch-fid (as in CI); its output is
    experiments/results/pytorch_fid_reference.txt."""
    torch = pytest.importorskip("torch")
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    pytorch_inception = pytest.importorskip("pytorch_fid.inception")
    from jaxgan import fid

    weights = tmp_path / "pt_inception-random.pth"
    # He's scale (kernels of N(0, 2/fan-in)), so that features after ~90 ReLU layers still tell
    # dark images from bright ones: at LeCun's, both sets' features nearly coincide (FID 1e-4)
    he = jax.tree_util.tree_map_with_path(
        lambda path, leaf: leaf * np.sqrt(2.0) if path[-1].key == "kernel" else leaf, random_weights
    )
    torch.save({name: torch.from_numpy(value) for name, value in _state_dict_of(he).items()}, weights)
    monkeypatch.setattr(
        pytorch_inception, "load_state_dict_from_url", lambda *args, **kwargs: torch.load(weights, weights_only=True)
    )
    rng = np.random.default_rng(6)
    _write_folder(tmp_path / "a", rng.integers(0, 120, (20, 32, 32, 3), dtype=np.uint8))  # dark noise
    _write_folder(tmp_path / "b", rng.integers(100, 256, (20, 32, 32, 3), dtype=np.uint8))  # bright noise
    with warnings.catch_warnings():  # scipy's deprecated `disp`, which pytorch-fid passes; 20 images: singular Σ
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", pytest.importorskip("scipy.linalg").LinAlgWarning)
        expected = fid_score.calculate_fid_given_paths(
            [str(tmp_path / "a"), str(tmp_path / "b")], batch_size=10, device="cpu", dims=2048, num_workers=0
        )
    assert fid.main([str(tmp_path / "a"), str(tmp_path / "b"), "--weights", str(weights)]) == 0
    ours = float(capsys.readouterr().out.split()[1])
    print(
        f"pytorch-fid {expected:.6f}, jaxgan.fid {ours:.6f}, relative difference {abs(ours - expected) / expected:.2e}"
    )
    assert ours == pytest.approx(expected, rel=1e-3)


@pytest.mark.standard_dtype_promotion  # the classifier trains with optax's Adam
def test_samples_are_scored_in_inception_space_against_the_training_images(random_weights, tmp_path, capsys):
    """eval.inception_weights adds FID, KID, IS and precision/recall/density/coverage in the
    Inception-v3's space, and says what they were measured against."""
    np.savez(tmp_path / "inception.npz", **_state_dict_of(random_weights))
    write_cifar10_batches(tmp_path / "cifar10", per_batch=6)  # 30 training images: Inception at 299 px is the cost
    samples = np.random.default_rng(5).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
    np.savez(tmp_path / "samples.npz", samples=samples)
    settings = [
        *("--set", f"data.path={tmp_path / 'cifar10'}"),
        *("--set", f"eval.inception_weights={tmp_path / 'inception.npz'}"),
        *("--set", f"eval.classifier_dir={tmp_path}", "--set", "eval.classifier_steps=5"),
    ]
    assert jaxgan_eval.main(["--samples", str(tmp_path / "samples.npz"), "--exp", "sngan_cifar10", *settings]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["inception_v3"] == "FID's Inception-v3 (inception.npz) against 30 training images"
    assert summary["inception_v3_resize"] == "legacy"
    assert os.path.isfile(summary["inception_v3_reference_statistics"])  # the training images', cached
    assert summary["inception_v3_fid"] >= 0 and summary["inception_v3_kid_std"] >= 0
    assert 1 <= summary["inception_v3_inception_score"] <= 1008
    assert 0 <= summary["inception_v3_precision"] <= 1 and 0 <= summary["inception_v3_coverage"] <= 1
    settings[3] = f"eval.inception_weights={tmp_path / 'missing.npz'}"
    assert jaxgan_eval.main(["--samples", str(tmp_path / "samples.npz"), "--exp", "sngan_cifar10", *settings]) == 2
    assert "eval.inception_weights: no Inception weights at" in capsys.readouterr().err


def _write_folder(folder, images: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir()
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{index:03d}.png")


def _frechet_distance_by_scipy(a: np.ndarray, b: np.ndarray) -> float:
    """FID of two feature sets as pytorch-fid writes it: scipy's sqrtm of Σ_a Σ_b."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # a dozen images: singular covariances, as pytorch-fid meets them
        warnings.simplefilter("ignore", scipy_linalg.LinAlgWarning)
        covmean = scipy_linalg.sqrtm(sigma_a @ sigma_b).real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a + sigma_b - 2 * covmean))


def test_fid_cli_scores_folders_npz_and_statistics_files_alike(tmp_path, capsys):
    """python -m jaxgan.fid A B: FID of two folders equals scipy's on the same features; the same
    sets as an .npz or as statistics files (`stats`) give the same FID; KID and PRDC print a line
    each; different feature spaces are refused in one line. The features are a small DINOv2 ViT's
    (the command's mechanics are the extractor's business only through `--extractor`; Inception's
    path is scored end to end above and against pytorch-fid below)."""
    from jaxgan import fid

    weights = tmp_path / "vit.npz"
    np.savez(weights, **random_dinov2_state_dict(width=64, depth=1))
    rng = np.random.default_rng(7)
    real = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    fake = np.clip(real.astype(int) + rng.integers(-60, 60, real.shape), 0, 255).astype(np.uint8)
    _write_folder(tmp_path / "real", real)
    _write_folder(tmp_path / "fake", fake)
    np.savez(tmp_path / "fake.npz", images=fake)
    extractor = ["--extractor", "dinov2", "--weights", str(weights)]
    assert fid.main([str(tmp_path / "real"), str(tmp_path / "fake"), *extractor, "--kid", "--prdc"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["FID", "KID", "precision", "recall", "density", "coverage"]
    printed = float(lines[0].split()[1])
    assert "12 vs 12 images, dinov2-vit-w64-d1" in lines[0]
    for name in ("real", "fake"):
        out = str(tmp_path / f"{name}_stats.npz")
        assert fid.main(["stats", str(tmp_path / name), "--out", out, *extractor]) == 0
    assert "μ, Σ of 12 images" in capsys.readouterr().out
    features = [fid.read_statistics(str(tmp_path / f"{name}_stats.npz")).features for name in ("real", "fake")]
    assert printed == pytest.approx(_frechet_distance_by_scipy(*features), rel=1e-4, abs=1e-4)
    for pair in (("real_stats.npz", "fake_stats.npz"), ("real_stats.npz", "fake.npz"), ("real", "fake_stats.npz")):
        assert fid.main([str(tmp_path / pair[0]), str(tmp_path / pair[1]), *extractor]) == 0
        assert float(capsys.readouterr().out.split()[1]) == pytest.approx(printed, rel=1e-6, abs=1e-6)
    with np.load(tmp_path / "fake_stats.npz") as arrays:  # the same statistics, said to be resized bilinearly
        np.savez(tmp_path / "legacy_stats.npz", **{**arrays, "resize": np.asarray("legacy")})
    assert fid.main([str(tmp_path / "real_stats.npz"), str(tmp_path / "legacy_stats.npz")]) == 2
    assert "different feature spaces" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["{tmp}/nowhere", "{tmp}/nowhere"], "no folder or file"),
        (["{tmp}/images.npz", "{tmp}/images.npz"], "holds images: give --weights PATH"),
        (["{tmp}/partial.npz", "{tmp}/partial.npz"], "has μ but not sigma"),
        (["{tmp}/truncated.npz", "{tmp}/partial.npz"], "File is not a zip file"),
        (["{tmp}/images.npz", "{tmp}/images.npz", "--weights", "{tmp}/missing.npz"], "no Inception weights at"),
        (["{tmp}/images.npz", "{tmp}/images.npz", "--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_fid_cli_bad_input_is_one_line_and_status_2(arguments, message, tmp_path, capsys):
    from jaxgan import fid

    np.savez(tmp_path / "images.npz", images=np.zeros((8, 8, 8, 3), np.uint8))
    np.savez(tmp_path / "partial.npz", mu=np.zeros(3))
    (tmp_path / "truncated.npz").write_bytes((tmp_path / "partial.npz").read_bytes()[:50])
    assert fid.main([argument.format(tmp=tmp_path) for argument in arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m jaxgan.fid: error: ") and message in error and error.count("\n") == 1


class _CountingScorer:
    """A stand-in for InceptionScorer: the first six pixels as features, its calls counted."""

    extractor = "inception-v3"

    def __init__(self, weights_path, resize="legacy"):
        self.weights_path, self.resize, self.calls = weights_path, resize, 0

    def features_and_probabilities(self, images):
        self.calls += 1
        return np.asarray(images, np.float64).reshape(len(images), -1)[:, :6], None


def test_reference_statistics_are_computed_once_per_images_weights_and_resize(tmp_path):
    from jaxgan import fid

    (tmp_path / "weights.npz").write_bytes(b"some weights")
    pixels = np.random.default_rng(0).integers(0, 256, (20, 4, 4, 1), dtype=np.uint8)
    scorer = _CountingScorer(str(tmp_path / "weights.npz"))
    first, path = fid.reference_statistics(pixels, scorer, str(tmp_path / "statistics"))
    again, same_path = fid.reference_statistics(pixels, scorer, str(tmp_path / "statistics"))
    assert scorer.calls == 1 and same_path == path and path.endswith(".npz")
    features = images.to_model_range(pixels).reshape(20, -1)[:, :6]
    np.testing.assert_allclose(again.mu, features.mean(0), rtol=1e-6)
    np.testing.assert_allclose(again.sigma, np.cov(features, rowvar=False), rtol=1e-6, atol=1e-12)
    assert (again.count, again.extractor, again.resize) == (20, "inception-v3", "legacy")
    assert fid.scores(first, again, kid=True, prdc=True)["fid"] == pytest.approx(0.0, abs=1e-9)
    # Other images, or another resize mode, are another file.
    assert fid.reference_statistics(pixels[:10], scorer, str(tmp_path / "statistics"))[1] != path
    clean = _CountingScorer(str(tmp_path / "weights.npz"), "clean")
    assert fid.reference_statistics(pixels, clean, str(tmp_path / "statistics"))[1] != path and clean.calls == 1


def test_a_damaged_reference_statistics_file_is_computed_again_with_one_line(tmp_path, capsys):
    from jaxgan import fid

    (tmp_path / "weights.npz").write_bytes(b"some weights")
    pixels = np.random.default_rng(0).integers(0, 256, (20, 4, 4, 1), dtype=np.uint8)
    scorer = _CountingScorer(str(tmp_path / "weights.npz"))
    expected, path = fid.reference_statistics(pixels, scorer, str(tmp_path))
    with open(path, "r+b") as f:
        f.truncate(100)
    again, _ = fid.reference_statistics(pixels, scorer, str(tmp_path))
    assert scorer.calls == 2 and capsys.readouterr().err.count("does not read back") == 1
    np.testing.assert_array_equal(again.mu, expected.mu)
    assert fid.reference_statistics(pixels, scorer, str(tmp_path))[0].count == 20 and scorer.calls == 2
