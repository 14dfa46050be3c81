"""DINOv2's ViT (metrics.dinov2): the official checkpoint's layout, and features equal to timm's
DINOv2 ViT and positions equal to DINOv2's own interpolation (torch), with random weights."""

import json
import os

import jax
import numpy as np
import pytest
from conftest import official_dinov2_shapes, random_dinov2_state_dict, write_cifar10_batches, write_idx_folder

from jaxgan import eval as jaxgan_eval
from jaxgan import fid
from jaxgan.metrics import dinov2


def test_the_official_vitl14_checkpoint_layout_loads_and_others_are_refused():
    zeros = {name: np.zeros(shape, np.float32) for name, shape in official_dinov2_shapes().items()}
    network = dinov2.network_for(zeros)
    assert (network.width, network.depth, network.heads) == (1024, 24, 16)
    assert dinov2.extractor_name(network) == "dinov2-vit-l14"
    params = dinov2.variables_from_state_dict(zeros)["params"]
    count = sum(leaf.size for leaf in jax.tree.leaves(params))
    # every tensor but the mask token (training only): DINOv2's paper gives ViT-L/14 300 M
    assert count == sum(np.prod(shape) for name, shape in official_dinov2_shapes().items() if name != "mask_token")
    assert 300e6 < count < 310e6
    shorter = dict(zeros, **{"blocks.0.mlp.fc1.weight": np.zeros((4095, 1024), np.float32)})
    with pytest.raises(ValueError, match="not shaped as DINOv2's ViT"):
        dinov2.variables_from_state_dict(shorter)
    with pytest.raises(ValueError, match="not a weight of DINOv2's ViT"):
        dinov2.variables_from_state_dict(dict(zeros, **{"blocks.0.mlp.w12.weight": np.zeros(3)}))  # ViT-g's SwiGLU


def test_interpolated_positions_keep_constants_and_read_four_neighbours():
    weights = dinov2.position_interpolation(16)
    assert weights.shape == (16, 37)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)  # a constant grid stays constant
    # output i reads the 4 inputs around (i + ½)·37/16.1 − ½ (the factor as given, not 37/16)
    centres = (np.arange(16) + 0.5) * 37 / 16.1 - 0.5
    for row, centre in zip(weights, centres, strict=True):
        assert set(np.flatnonzero(row)) <= set(range(int(np.floor(centre)) - 1, int(np.floor(centre)) + 3))


def test_the_fid_command_scores_in_dinov2_space(tmp_path, capsys):
    """jaxgan.fid --extractor dinov2 with a small DINOv2 ViT's weights: statistics name the
    space, the same images are at FD 0, and Inception's statistics are refused beside them."""
    np.savez(tmp_path / "vit.npz", **random_dinov2_state_dict(width=64, depth=2))
    rng = np.random.default_rng(1)
    for name in ("a", "b"):
        np.savez(tmp_path / f"{name}.npz", images=rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8))
    command = ["--extractor", "dinov2", "--weights", str(tmp_path / "vit.npz"), "--batch-size", "5"]
    assert fid.main(["stats", str(tmp_path / "a.npz"), "--out", str(tmp_path / "a_stats.npz"), *command]) == 0
    statistics = fid.read_statistics(str(tmp_path / "a_stats.npz"))
    assert (statistics.extractor, statistics.resize, statistics.mu.shape) == ("dinov2-vit-w64-d2", "clean", (64,))
    assert fid.main([str(tmp_path / "a_stats.npz"), str(tmp_path / "a.npz"), *command]) == 0
    assert abs(float(capsys.readouterr().out.splitlines()[-1].split()[1])) < 1e-4
    assert fid.main([str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), *command, "--kid", "--prdc"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["FID", "KID", "precision", "recall", "density", "coverage"]
    assert float(lines[0].split()[1]) > 0 and "dinov2-vit-w64-d2" in lines[0]
    relabelled = dict(np.load(tmp_path / "a_stats.npz"))
    relabelled["extractor"] = np.asarray("inception-v3")
    np.savez(tmp_path / "inception_stats.npz", **relabelled)
    assert fid.main([str(tmp_path / "inception_stats.npz"), str(tmp_path / "a.npz"), *command]) == 2
    assert "different feature spaces" in capsys.readouterr().err


@pytest.mark.parametrize("grid", [2, 16, 37])
def test_positions_are_interpolated_as_dinov2_does(grid):
    """DINOv2's `interpolate_pos_encoding` (interpolate_offset 0.1, no antialiasing), called in
    torch on random positions, against the resampling matrices."""
    torch = pytest.importorskip("torch")
    positions = np.random.default_rng(0).normal(size=(1, 8, 37, 37))  # float64: torch's positions exact too
    scale = (grid + 0.1) / 37
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(positions), scale_factor=(scale, scale), mode="bicubic", antialias=False
    ).numpy()
    weights = dinov2.position_interpolation(grid)
    ours = np.einsum("ih,nchw,jw->ncij", weights, positions, weights)
    print(f"{grid} x {grid} patches: max |jaxgan - torch| = {np.abs(ours - expected).max():.1e}")
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def _timm_features(state_dict, images: np.ndarray, width: int, depth: int, side: int) -> np.ndarray:
    """timm's VisionTransformer in DINOv2's configuration (LayerScale, LayerNorm ε 1e-6, the
    class token after the last norm), its positions DINOv2's own interpolation of the 37 × 37
    grid (torch), on images already at its input size."""
    torch = pytest.importorskip("torch")
    timm = pytest.importorskip("timm")
    model = timm.models.vision_transformer.VisionTransformer(
        img_size=side, patch_size=14, embed_dim=width, depth=depth, num_heads=width // 64, mlp_ratio=4,
        init_values=1.0, num_classes=0, global_pool="token",
    ).eval()  # fmt: skip
    grid, weights = side // 14, {name: torch.from_numpy(value) for name, value in state_dict.items()}
    square = weights["pos_embed"][:, 1:].reshape(1, 37, 37, width).permute(0, 3, 1, 2)
    scale = (grid + 0.1) / 37
    resampled = torch.nn.functional.interpolate(square, scale_factor=(scale, scale), mode="bicubic", antialias=False)
    weights["pos_embed"] = torch.cat(
        [weights["pos_embed"][:, :1], resampled.permute(0, 2, 3, 1).reshape(1, -1, width)], 1
    )
    del weights["mask_token"]
    model.load_state_dict(weights)
    unit = (images + 1.0) / 2.0
    normalised = (unit - np.asarray(dinov2.IMAGENET_MEAN)) / np.asarray(dinov2.IMAGENET_STD)
    with torch.no_grad():
        return model(torch.from_numpy(normalised.transpose(0, 3, 1, 2).astype(np.float32))).numpy()


@pytest.mark.parametrize(("width", "depth", "side"), [(128, 2, 28), (1024, 24, 224)], ids=["small", "vit-l14"])
def test_features_equal_timms_dinov2_vit_with_random_weights(width, depth, side):
    """The class-token features of the same random weights on the same images, jaxgan's and
    timm's, to 1e-5 of their largest magnitude (float32 through 24 blocks)."""
    pytest.importorskip("timm")
    state_dict = random_dinov2_state_dict(width, depth)
    images = np.random.default_rng(2).uniform(-1, 1, (2, side, side, 3)).astype(np.float32)
    expected = _timm_features(state_dict, images, width, depth, side)
    network = dinov2.network_for(state_dict)
    network = network.clone(input_side=side)
    features = np.asarray(network.apply(dinov2.variables_from_state_dict(state_dict, network), images))
    assert features.shape == (2, width)
    scale = np.abs(expected).max()
    difference = np.abs(features - expected).max()
    print(f"width {width}, depth {depth}, {side} px: max |jaxgan - timm| = {difference:.2e} at scale {scale:.3f}")
    np.testing.assert_allclose(features, expected, atol=1e-5 * scale, rtol=0)


def test_samples_are_scored_in_dinov2_space_against_the_training_images(tmp_path, capsys):
    """eval.dinov2_weights adds FD-DINOv2, KD and PRDC (no inception score: DINOv2 has no
    classes), says what they were measured against, and a missing file is one line."""
    np.savez(tmp_path / "vit.npz", **random_dinov2_state_dict(width=64, depth=1))
    write_cifar10_batches(tmp_path / "cifar10", per_batch=26)
    np.savez(
        tmp_path / "samples.npz", samples=np.random.default_rng(5).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
    )
    settings = [
        *("--set", f"data.path={tmp_path / 'cifar10'}"),
        *("--set", f"eval.dinov2_weights={tmp_path / 'vit.npz'}"),
        *("--set", "eval.evaluators=dinov2_scores"),
    ]
    assert jaxgan_eval.main(["--samples", str(tmp_path / "samples.npz"), "--exp", "sngan_cifar10", *settings]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dinov2"] == "DINOv2 ViT of width 64, depth 1 (vit.npz) against 130 training images"
    assert summary["dinov2_resize"] == "clean" and os.path.isfile(summary["dinov2_reference_statistics"])
    assert summary["dinov2_fid"] > 0 and summary["dinov2_kid_std"] >= 0 and "dinov2_inception_score" not in summary
    assert 0 <= summary["dinov2_precision"] <= 1 and 0 <= summary["dinov2_coverage"] <= 1
    settings[3] = f"eval.dinov2_weights={tmp_path / 'missing.npz'}"
    assert jaxgan_eval.main(["--samples", str(tmp_path / "samples.npz"), "--exp", "sngan_cifar10", *settings]) == 2
    assert "eval.dinov2_weights: no DINOv2 weights at" in capsys.readouterr().err


def test_statistics_of_idx_and_cifar_sources_and_of_an_experiments_training_images(tmp_path, capsys):
    """`jaxgan.fid stats` reads MNIST's IDX files and CIFAR-10's python batches by split, and
    `--exp` the experiment's training images: the same statistics as its data files' train split."""
    np.savez(tmp_path / "vit.npz", **random_dinov2_state_dict(width=64, depth=1))
    write_idx_folder(tmp_path / "idx", n_train=12, n_test=7)
    write_cifar10_batches(tmp_path / "cifar10", per_batch=3)
    command = ["--extractor", "dinov2", "--weights", str(tmp_path / "vit.npz")]

    def stats(*source: str) -> fid.FeatureStatistics:
        assert fid.main(["stats", *source, "--out", str(tmp_path / "stats.npz"), *command]) == 0
        return fid.read_statistics(str(tmp_path / "stats.npz"))

    assert stats(str(tmp_path / "idx")).count == 12 and stats(str(tmp_path / "idx"), "--split", "test").count == 7
    cifar = stats(str(tmp_path / "cifar10"))
    assert cifar.count == 15 and stats(str(tmp_path / "cifar10"), "--split", "test").count == 3
    experiment = stats("--exp", "sngan_cifar10", "--set", f"data.path={tmp_path / 'cifar10'}")
    np.testing.assert_allclose(experiment.mu, cifar.mu, rtol=1e-6)
    assert fid.main(["stats", str(tmp_path / "idx"), "--exp", "dcgan_mnist", "--out", "x.npz", *command]) == 2
    assert fid.main(["stats", "--exp", "wgan_mlp", "--out", "x.npz", *command]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert "not both" in errors[0] and "wgan_mlp is not an image experiment" in errors[1]
