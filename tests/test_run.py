"""The command line and the run directory: smoke runs, errors, resume, NaN, signals."""

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

import jax
import numpy as np
import optax
import pytest
from conftest import TINY_TOY_RUN

from jaxgan import configs, parallel, run, steps, train
from jaxgan import eval as jaxgan_eval
from jaxgan import sample as jaxgan_sample
from jaxgan.checkpoint import Checkpointer
from jaxgan.data import toy
from jaxgan.runs import builders

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)

TINY = [*TINY_TOY_RUN, "--set", "eval.every=4", "--no-progress"]
# R3GAN's players in an image recipe: they take no normalisation layers.
R3GAN_PLAYERS = [
    "--set",
    "model.architecture=r3gan",
    "--set",
    "model.generator_norm=none",
    "--set",
    "model.critic_norm=none",
]


def _run(argv):
    return run.main([*argv])


GAN_EXPERIMENTS = sorted(name for name in configs.list_experiments() if configs.get_config(name).runner == "gan")


@pytest.mark.parametrize("experiment", GAN_EXPERIMENTS)
def test_each_gan_experiment_runs_end_to_end(experiment, tmp_path, capsys, config_reads):
    workdir = tmp_path / experiment
    assert _run(["--exp", experiment, "--steps", "4", "--workdir", str(workdir), *TINY]) == 0
    assert config_reads() == []
    summary = json.loads((workdir / "summary.json").read_text())
    for key in (
        "steps",
        "wall_s",
        "gen_iters_per_s",
        "modes",
        "high_quality",
        "w1_to_data",
        "reverse_kl",
        "critic_loss",
        "generator_loss",
    ):
        assert key in summary, key
    assert ("wasserstein" in summary) == configs.get_config(experiment).game.name.startswith("wgan")
    assert summary["steps"] == 4 and summary["modes_total"] == 8 and 0 <= summary["modes"] <= 8
    assert parallel.describe_machine().items() <= summary.items()
    for name in ("config.json", "metrics.jsonl", "samples.png", "losses.png"):
        assert (workdir / name).stat().st_size > 0
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [2, 4]
    assert "modes" not in rows[0] and 0 <= rows[1]["modes"] <= 8 and 0 <= rows[1]["high_quality"] <= 1
    assert Checkpointer(str(workdir), save_every=1).all_steps() == [2, 4]
    assert "modes captured" in capsys.readouterr().out


# biggan_fashion_mnist is biggan_cifar10's code on the data of the other fashion_mnist runs, all
# run below; r3gan_stacked_mnist and r3gan_fashion_mnist are r3gan_cifar10's at 28 px on the data
# of dcgan_stacked_mnist and the fashion_mnist runs. test_configs builds their players (50 s of
# compiling saved for each).
BUILT_ONLY = ("biggan_fashion_mnist", "r3gan_stacked_mnist", "r3gan_fashion_mnist")
IMAGE_EXPERIMENTS = sorted(
    name
    for name in configs.list_experiments()
    if configs.get_config(name).runner == "image_gan" and name not in BUILT_ONLY
)
TINY_IMAGES = [
    "--set",
    "model.generator_width=4",
    "--set",
    "model.critic_width=4",
    "--set",
    "train.batch_size=8",
    "--set",
    "train.steps_per_call=2",
    "--set",
    "train.checkpoint_every=2",
    "--set",
    "eval.every=2",
    "--set",
    "eval.grid_columns=4",
    "--set",
    "eval.samples=40",
    "--set",
    "eval.classifier_steps=5",
    "--set",
    "model.cardinality=2",  # R3GAN's grouped convolutions, in 4 × 2 channels
    "--no-progress",
]


# These two split their batches over the session's 8 devices (batch norm's statistics and the
# labels sharded with the images); the others run on one, as XLA compiles a program for 8
# devices more slowly (biggan_cifar10 end to end: 101 s on 8, 77 s on 1).
SHARDED_IMAGE_EXPERIMENTS = ("dcgan_mnist", "cgan_mnist")
# jaxgan.sample and jaxgan.eval --samples are checked on one run of each generator and of each
# thing they treat apart (the others share these code paths; every run is still restored and
# re-scored by jaxgan.eval): DCGAN's with an average on 8 devices, labels, Stacked MNIST,
# the ResNet with projection, BigGAN's truncation, R3GAN's linear output.
SAMPLED_IMAGE_EXPERIMENTS = (
    "dcgan_mnist",
    "cgan_mnist",
    "dcgan_stacked_mnist",
    "sngan_projection_cifar10",
    "biggan_cifar10",
    "r3gan_cifar10",
)

# The default --out, a grid in the run directory, differs between generators only by the rows
# of a conditional one: checked on one of each (every run's own grids are drawn by the same
# plots.plot_image_grid).
SAMPLED_AS_A_GRID = ("dcgan_mnist", "cgan_mnist")


def test_the_sampled_image_experiments_exist():
    assert set(SAMPLED_AS_A_GRID) <= set(SAMPLED_IMAGE_EXPERIMENTS) <= set(IMAGE_EXPERIMENTS)


@pytest.mark.parametrize("experiment", IMAGE_EXPERIMENTS)
def test_each_image_experiment_runs_end_to_end(
    experiment, tmp_path, capsys, config_reads, offline_fashion_mnist, offline_cifar10
):
    workdir = tmp_path / experiment
    config = configs.get_config(experiment)
    extra = ["--set", "data.stacked_size=64"] if config.data.stacked else []
    extra += {"fashion_mnist": offline_fashion_mnist, "cifar10": offline_cifar10}.get(config.data.name, [])
    if experiment not in SHARDED_IMAGE_EXPERIMENTS:
        extra += ["--set", "parallel.devices=1"]
    if config.game.n_critic > 1:
        # n critic updates written out compile n copies of the critic (a third of a minute for
        # the ResNets); the recipes with one keep the CPU's written-out loop under test.
        extra += ["--set", "train.unroll_loops=false"]
    classifiers = ["--set", f"eval.classifier_dir={tmp_path / 'classifiers'}"]
    assert (
        _run(["--exp", experiment, "--steps", "2", "--workdir", str(workdir), *TINY_IMAGES, *extra, *classifiers]) == 0
    )
    assert config_reads() == []
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["steps"] == 2 and np.isfinite(summary["critic_loss"]) and np.isfinite(summary["generator_loss"])
    held_out = int(summary["reference_images"].split()[0])
    # At most 10 samples per image they are compared with (Stacked MNIST counts modes on all 40).
    assert summary["evaluated_samples"] == (40 if config.data.stacked else min(40, 10 * held_out))
    assert 0 <= summary["classifier_accuracy"] <= 1
    if "stacked" in experiment:
        assert 0 <= summary["stacked_confident_share"] <= 1
        assert 0 <= summary["stacked_modes"] <= summary["stacked_modes_any_confidence"] <= 40
        # the floor: 40 real images stacked from the held-out digits
        assert 0 <= summary["stacked_confident_share_real_images"] <= 1
        assert 0 <= summary["stacked_modes_real_images"] <= 40
    else:
        assert summary["classifier_fid"] >= 0 and 1 <= summary["classifier_inception_score"] <= 10
        assert summary["inception_v3"].startswith("none: set eval.inception_weights=PATH")
        assert summary["dinov2"].startswith("none: set eval.dinov2_weights=PATH")
        assert summary["classifier_prdc_samples"] == min(40, held_out)
        for score in ("precision", "recall", "coverage"):
            assert 0 <= summary[f"classifier_{score}"] <= 1
        assert summary["classifier_density"] >= 0
        assert 0 <= summary["classifier_fid_real_images"]
        if config.train.generator_ema is None and config.train.generator_ema_half_life is None:
            assert "classifier_fid_live_generator" not in summary
        else:
            assert summary["classifier_fid_live_generator"] >= 0
    for name in ("config.json", "metrics.jsonl", "samples.png", "samples_000002.png", "losses.png"):
        assert (workdir / name).stat().st_size > 0
    assert Checkpointer(str(workdir), save_every=1).all_steps() == [2]
    notices = {"fashion_mnist": "using Debian's copy", "mnist": "using the 5,000 offline MNIST digits"}
    assert notices.get(config.data.name, "") in capsys.readouterr().err
    # python -m jaxgan.eval RUN_DIR restores the last checkpoint and reproduces the run's own scores.
    assert jaxgan_eval.main([str(workdir)]) == 0
    again = json.loads((workdir / "summary.json").read_text())
    score = "stacked_modes_any_confidence" if "stacked" in experiment else "classifier_fid"
    assert again[score] == summary[score] and again["steps"] == 2
    if experiment not in SAMPLED_IMAGE_EXPERIMENTS:
        return
    # python -m jaxgan.sample RUN_DIR draws from the averaged generator, a row per class if conditional.
    assert jaxgan_sample.main([str(workdir), "--n", "20", "--out", str(workdir / "drawn.npz")]) == 0
    with np.load(workdir / "drawn.npz") as drawn:
        side, channels = (32, 3) if config.data.name == "cifar10" else (28, 3 if config.data.stacked else 1)
        assert drawn["samples"].shape == (20, side, side, channels)
        assert np.abs(drawn["samples"]).max() <= 1  # R3GAN's linear output clipped, as for scoring
        conditional = config.model.conditional
        assert drawn["labels"].tolist() == [k % 10 for k in range(20)] if conditional else "labels" not in drawn
    if experiment in SAMPLED_AS_A_GRID:
        assert jaxgan_sample.main([str(workdir), "--n", "20"]) == 0 and (workdir / "sampled.png").stat().st_size > 0
    if config.model.shared_embedding:  # BigGAN's truncation trick: the same seed's codes, truncated
        truncated = workdir / "truncated.npz"
        assert jaxgan_sample.main([str(workdir), "--n", "20", "--truncation", "0.5", "--out", str(truncated)]) == 0
        with np.load(truncated) as drawn_truncated, np.load(workdir / "drawn.npz") as drawn_full:
            assert not np.allclose(drawn_truncated["samples"], drawn_full["samples"])
        assert jaxgan_sample.main([str(workdir), "--truncation", "0"]) == 2
        assert "--truncation: the truncation ψ must be a finite number above 0" in capsys.readouterr().err
    # python -m jaxgan.eval --samples scores those samples as the run scores its own, by the same classifier.
    capsys.readouterr()
    settings = [arg for arg in TINY_IMAGES if arg != "--no-progress"]
    drawn = ["--samples", str(workdir / "drawn.npz"), "--exp", experiment, *settings, *extra, *classifiers]
    assert jaxgan_eval.main(drawn) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["evaluated_samples"] == 20 and scored["classifier_id"] == summary["classifier_id"]
    assert scored["reference_images"] == summary["reference_images"] and scored["samples_from"].endswith("drawn.npz")


def test_eval_of_samples_refuses_images_unlike_the_data_and_a_toy_experiment(tmp_path, capsys):
    np.savez(tmp_path / "wide.npz", samples=np.zeros((8, 32, 32, 3), np.float32))
    classifiers = ["--set", f"eval.classifier_dir={tmp_path}", "--set", "eval.classifier_steps=5"]
    assert jaxgan_eval.main(["--samples", str(tmp_path / "wide.npz"), "--exp", "dcgan_mnist", *classifiers]) == 2
    assert "are (32, 32, 3) images, the data's are (28, 28, 1)" in capsys.readouterr().err
    assert jaxgan_eval.main(["--samples", str(tmp_path / "wide.npz"), "--exp", "wgan_mlp"]) == 2
    assert "wgan_mlp scores no image files (its evaluators: point_scores, point_samples)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        jaxgan_eval.main(["--samples", str(tmp_path / "wide.npz")])
    assert "give either RUN_DIR, or --samples PATH with --exp EXPERIMENT" in capsys.readouterr().err


def test_a_packed_critic_trains_and_draws_its_contours_on_repeated_points(tmp_path):
    workdir = tmp_path / "packed"
    assert _run(["--exp", "wgangp_mlp", "--steps", "2", "--workdir", str(workdir), *TINY, "--set", "game.pack=4"]) == 0
    summary = json.loads((workdir / "summary.json").read_text())
    assert np.isfinite(summary["critic_loss"]) and (workdir / "samples.png").stat().st_size > 0


def test_eval_refuses_a_directory_that_is_not_a_run(tmp_path, capsys):
    assert jaxgan_eval.main([str(tmp_path)]) == 2
    assert "has no config.json; give the directory of a jaxgan run" in capsys.readouterr().err


def test_eval_of_a_run_takes_eval_settings_and_refuses_the_ones_it_trained_under(tmp_path, capsys):
    """`python -m jaxgan.eval RUN_DIR --set eval.samples=N` scores N samples (the published
    protocol's 50,000 for an image run) and the summary says so; any other setting is what the
    run trained under and is refused in one line, as is an unknown key."""
    import pathlib

    run_dir = tmp_path / "run"
    shutil.copytree(pathlib.Path(__file__).parent / "data" / "run_before_model_kinds", run_dir)
    assert jaxgan_eval.main([str(run_dir)]) == 0
    at_fifty = json.loads((run_dir / "summary.json").read_text())  # its config's eval.samples=50
    assert "evaluated_with" not in at_fifty
    assert jaxgan_eval.main([str(run_dir), "--set", "eval.samples=400"]) == 0
    at_four_hundred = json.loads((run_dir / "summary.json").read_text())
    assert at_four_hundred["evaluated_with"] == ["eval.samples=400"]
    assert at_four_hundred["w1_to_data"] != at_fifty["w1_to_data"]  # other samples, other data points
    capsys.readouterr()
    for override, message in [
        ("model.latent_dim=3", "a finished run's evaluation can change eval.* settings only"),
        ("eval.sampels=5", "did you mean 'eval.samples'"),
    ]:
        assert jaxgan_eval.main([str(run_dir), "--set", override]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert json.loads((run_dir / "summary.json").read_text()) == at_four_hundred


def test_list_prints_every_experiment(capsys):
    assert _run(["--list"]) == 0
    out = capsys.readouterr().out
    for name, description in configs.list_experiments().items():
        assert name in out and description in out


def test_print_config_prints_the_resolved_config_and_runs_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run(["--exp", "wgan_mlp", "--steps", "7", "--set", "model.critic_hidden=8,4", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["experiment"] == "wgan_mlp" and printed["train"]["steps"] == 7
    assert printed["model"]["critic_hidden"] == [8, 4] and list(tmp_path.iterdir()) == []


def test_list_with_an_experiment_is_a_usage_error(capsys):
    assert _run(["--list", "--exp", "nope"]) == 2
    error = capsys.readouterr().err
    assert error == "python -m jaxgan.run: error: --list lists every experiment; give it without --exp\n"


def test_list_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-m", "jaxgan.run", "--list"], capture_output=True, text=True, check=True)
    assert "wgangp_mlp" in result.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--exp", "nope"],
            "unknown experiment 'nope'; valid experiments: aae_mnist, adversarial_examples, biggan_cifar10",
        ),
        (["--exp", "wgan_mpl"], "unknown experiment 'wgan_mpl' (did you mean 'wgan_mlp'?); valid experiments: "),
        (["--exp", "wgan_mlp", "--set", "train.stepz=3"], "unknown config key 'train.stepz'"),
        (["--exp", "wgan_mlp", "--set", "train.steps=abc"], "train.steps='abc': expected an int"),
        (["--exp", "wgan_mlp", "--set", "data.name=moons"], "unknown toy dataset 'moons'"),
        (["--exp", "wgan_mlp", "--set", "game.name=dcgan"], "game.name='dcgan': choose one of gan, nsgan"),
        (
            ["--exp", "wgangp_mlp", "--set", "game.name=hinge"],
            "game.penalty_weight is not an option of hinge (it takes n_critic)",
        ),
        (["--exp", "ebgan_mlp", "--set", "game.margin=none"], "ebgan needs game.margin; set it"),
        (["--exp", "nsgan_mlp", "--set", "game.margin=1.0"], "game.margin is not an option of nsgan"),
        (
            ["--exp", "nsgan_mlp", "--set", "train.instance_noise=0.1", "--set", "train.instance_noise_steps=0"],
            "train.instance_noise_steps must be at least 1, got 0",
        ),
        (["--exp", "wgan_mlp", "--set", "optim.critic.b1=0.5"], "optim.critic.b1 does not apply to rmsprop"),
        (
            ["--exp", "wgangp_mlp", "--set", "game.pack=3"],
            "game.pack=3 packs samples for the critic: train.batch_size (256) must be a multiple of it",
        ),
        (
            ["--exp", "cgan_mnist", "--set", "game.pack=2"],
            "game.pack packs unlabelled samples; a conditional model takes game.pack=1",
        ),
        (
            ["--exp", "wgangp_mlp", "--set", "model.critic_norm=instance"],
            "instance norm normalises each channel over an example's positions, and an MLP layer has none",
        ),
        (
            ["--exp", "sngan_cifar10", "--set", "model.conditioning=concat"],
            "model.conditioning='concat' is not a choice of the resnet players, which take "
            "model.conditioning='projection'",
        ),
        (
            ["--exp", "dcgan_mnist", "--set", "model.architecture=r3gan"],
            "model.generator_norm='batch' is not a choice of the r3gan players, which take model.generator_norm=None",
        ),
        (
            ["--exp", "dcgan_mnist", *R3GAN_PLAYERS, "--set", "model.cardinality=5"],
            "model.cardinality=5 does not divide the generator's bottleneck",
        ),
        (
            ["--exp", "dcgan_mnist", "--set", "data.path=/tmp", "--set", "data.data_dir=/tmp"],
            "data.path reads files and data.data_dir is where TFDS keeps prepared datasets: give one",
        ),
        (
            ["--exp", "dcgan_mnist", "--set", "model.shared_embedding=32"],
            "model.shared_embedding and model.orthogonal_init are BigGAN's choices for the ResNet players",
        ),
        (["--exp", "dcgan_mnist", "--set", "eval.truncation=0"], "eval.truncation must be a finite number above 0"),
        (
            ["--exp", "dcgan_mnist", "--set", "train.diff_augment=color,flip"],
            "train.diff_augment: DiffAugment policy 'color,flip': name one or more of color, translation, cutout",
        ),
        (
            ["--exp", "wgan_mlp", "--set", "train.checkpoint_every=15"],
            "must be a non-negative multiple of train.steps_per_call",
        ),
        (
            ["--exp", "wgan_mlp", "--set", "train.unroll_loops=yes"],
            "train.unroll_loops='yes': choose one of auto, true, false",
        ),
        (["--exp", "wgan_mlp", "--set", "eval.every=3"], "eval.every (3) must be a non-negative multiple"),
        (["--exp", "wgan_mlp", "--set", "train.precision=float16"], "train.precision='float16': choose one of float32"),
        (["--exp", "wgan_mlp", "--set", "train.generator_ema=1.5"], "generator_ema_decay must be in [0, 1)"),
        (["--exp", "wgan_mlp", "--set", "game.n_critic=0"], "n_critic must be at least 1"),
        (["--exp", "wgan_mlp", "--steps", "0"], "train.steps must be at least 1"),
        (["--exp", "wgangp_mlp", "--set", "game.penalty_weight=none"], "wgan_gp needs game.penalty_weight"),
        (
            ["--exp", "wgangp_mlp", "--set", "model.critic_norm=batch"],
            "wgan_gp penalises each example's input gradient",
        ),
        (["--exp", "meg_mlp", "--set", "model.minibatch_kernels=4"], "meg penalises each example's input gradient"),
        (["--exp", "nsgan_mlp", "--set", "model.generator_norm=group"], "model.generator_norm='group': choose none"),
        (
            ["--exp", "ebgan_mlp", "--set", "game.feature_matching=true"],
            "ebgan+feature_matching calls the critic's method 'features', which AutoencoderEnergy lacks",
        ),
        (["--exp", "ebgan_mlp", "--set", "model.critic_norm=layer"], "ebgan's auto-encoder critic takes no"),
        (["--exp", "wgangp_dcgan_mnist", "--set", "model.critic_norm=batch"], "wgan_gp penalises each example's"),
        (["--exp", "dcgan_mnist", "--set", "data.name=npz"], "data.name=npz needs data.path"),
        (
            ["--exp", "dcgan_mnist", "--set", "data.name=npz", "--set", "data.path=/nowhere.npz"],
            "no image file at '/nowhere.npz'",
        ),
        (["--exp", "dcgan_mnist", "--set", "game.name=ebgan"], "ebgan needs game.margin"),
        (
            ["--exp", "dcgan_mnist", "--set", "data.source=offline", "--set", "data.name=cifar10"],
            "only mnist and fashion_mnist have offline copies",
        ),
        ([], "--exp is required"),
        # Values out of range, refused where each is read.
        (
            ["--exp", "wgan_mlp", "--set", "optim.critic.learning_rate=-1"],
            "learning_rate must be a finite number of at least 0, got -1.0",
        ),
        (["--exp", "wgan_mlp", "--set", "optim.critic.learning_rate=nan"], "got nan"),
        (["--exp", "wgan_mlp", "--set", "optim.critic.clip=inf"], "optim.critic.clip must be a finite number above 0"),
        (["--exp", "wgangp_mlp", "--set", "optim.critic.b1=2"], "optim.critic.b1 must be in [0, 1), got 2.0"),
        (["--exp", "wgan_mlp", "--set", "data.std=-1"], "data: std must be a finite number of at least 0, got -1.0"),
        (["--exp", "wgangp_mlp", "--set", "data.radius=1e30"], "float32 training needs them within 1e+15"),
        (["--exp", "wgan_mlp", "--set", "data.name=swissroll", "--set", "data.scale=1e300"], "within 1e+15"),
        (["--exp", "wgan_mlp", "--set", "eval.n_std=-1"], "eval.n_std must be a finite number above 0"),
        (["--exp", "wgan_mlp", "--set", "model.critic_hidden="], "model.critic_hidden is empty: give at least one"),
        (["--exp", "wgan_mlp", "--seed", str(2**64)], "seed must be an integer in 0 .. 4294967295"),
        (["--exp", "critic_1d", "--seed", "-1"], "seed must be an integer in 0 .. 4294967295, got -1"),
        # Repeated or conflicting options.
        (["--exp", "wgan_mlp", "--steps", "10", "--set", "train.steps=30"], "train.steps is set twice"),
        (["--exp", "wgan_mlp", "--exp", "wgangp_mlp"], "--exp is given twice; give it once"),
        (["--exp", "wgan_mlp", "--set", "seed=1", "--set", "seed=2"], "seed is set twice (seed=1, seed=2)"),
        (["--exp", "wgan_mlp", "--allow-change", "seed"], "--allow-change applies to --resume only"),
        (["--exp", "wgan_mlp", "--steps", "x"], "argument --steps: invalid int value: 'x'"),
    ],
)
def test_bad_usage_exits_2_with_one_clear_line_and_writes_nothing(argv, message, tmp_path, capsys):
    workdir = tmp_path / "run"
    assert _run([*argv, "--workdir", str(workdir)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not workdir.exists()


def _checkpoint_leaves(workdir):
    """{path: array} of the latest checkpoint, read back without a template."""
    restored = Checkpointer(str(workdir), save_every=1).load()
    return {
        jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in jax.tree_util.tree_leaves_with_path(restored)
    }


def test_resumed_run_ends_exactly_where_an_uninterrupted_one_does(tmp_path):
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert _run(["--exp", "wgangp_mlp", "--steps", "8", "--workdir", str(whole), *TINY]) == 0
    assert _run(["--exp", "wgangp_mlp", "--steps", "4", "--workdir", str(halves), *TINY]) == 0
    assert _run(["--exp", "wgangp_mlp", "--steps", "8", "--workdir", str(halves), "--resume", *TINY]) == 0
    expected, resumed = _checkpoint_leaves(whole), _checkpoint_leaves(halves)
    assert expected.keys() == resumed.keys() and any("generator" in key for key in expected)
    for key in expected:
        np.testing.assert_array_equal(resumed[key], expected[key], err_msg=key)
    rows = [json.loads(line)["step"] for line in (halves / "metrics.jsonl").read_text().splitlines()]
    assert rows == [2, 4, 6, 8]


def test_existing_run_needs_resume_and_resume_needs_the_same_config(tmp_path, capsys):
    workdir = tmp_path / "run"
    assert _run(["--exp", "wgan_mlp", "--steps", "2", "--workdir", str(workdir), *TINY]) == 0
    assert _run(["--exp", "wgan_mlp", "--steps", "2", "--workdir", str(workdir), *TINY]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert _run(["--exp", "wgan_mlp", "--steps", "4", "--workdir", str(workdir), "--resume", *TINY, "--seed", "5"]) == 2
    assert "differs from the run's in seed" in capsys.readouterr().err
    assert _run(["--exp", "wgan_mlp", "--workdir", str(tmp_path / "empty"), "--resume", *TINY]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()


def test_nan_stops_training_and_names_the_last_good_checkpoint(tmp_path, capsys, toy_data_nan_from_step_3):
    workdir = tmp_path / "run"
    assert _run(["--exp", "wgangp_mlp", "--steps", "8", "--workdir", str(workdir), *TINY]) == 1
    err = capsys.readouterr().err
    assert re.search(r"non-finite [a-z_, ]*\bcritic_loss\b", err) and "generator iterations 3-4" in err
    assert f"last good checkpoint: {workdir / 'checkpoints' / '2'}" in err
    assert Checkpointer(str(workdir), save_every=1).all_steps() == [2]
    assert not (workdir / "summary.json").exists()


def test_sigterm_saves_a_checkpoint_then_resume_finishes(tmp_path):
    workdir = tmp_path / "run"
    argv = [
        sys.executable,
        "-m",
        "jaxgan.run",
        "--exp",
        "wgan_mlp",
        "--steps",
        "100000",
        "--workdir",
        str(workdir),
        *TINY,
    ]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    metrics = workdir / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count("\n") >= 2):
        assert process.poll() is None and time.monotonic() < deadline, "the run never started training"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err
    saved = Checkpointer(str(workdir), save_every=1).latest_step()
    assert f"checkpoint saved in {workdir / 'checkpoints' / str(saved)}" in err
    assert _run(["--exp", "wgan_mlp", "--steps", str(saved + 2), "--workdir", str(workdir), "--resume", *TINY]) == 0
    assert json.loads((workdir / "summary.json").read_text())["steps"] == saved + 2


def test_optimistic_optimizers_are_selectable_per_player():
    config = configs.get_config("nsgan_mlp")
    configs.apply_overrides(
        config,
        [
            "optim.generator.name=optimistic_gradient_descent",
            "optim.generator.b1=none",
            "optim.generator.b2=none",
            "optim.generator.learning_rate=0.1",
            "optim.critic.name=optimistic_adam",
        ],
    )
    tx = builders.build_optimizer(config, "generator")
    state = tx.init(np.zeros(1, np.float32))
    _, state = tx.update(np.array([1.0], np.float32), state)
    update, _ = tx.update(np.array([3.0], np.float32), state)
    np.testing.assert_allclose(update, [-0.1 * (2 * 3.0 - 1.0)], rtol=1e-6)  # −η(2g_t − g_{t−1})
    # The critic's optimistic Adam, with the config's rate and betas, is optax's.
    critic_tx, reference = builders.build_optimizer(config, "critic"), optax.optimistic_adam_v2(2e-4, b1=0.5, b2=0.999)
    grads = np.array([1.0, -2.0], np.float32)
    np.testing.assert_allclose(
        critic_tx.update(grads, critic_tx.init(grads))[0], reference.update(grads, reference.init(grads))[0], rtol=1e-6
    )


def test_historical_averaging_chains_before_the_optimizer():
    config = configs.get_config("nsgan_mlp")
    configs.apply_overrides(
        config,
        [
            "optim.critic.name=sgd",
            "optim.critic.b1=none",
            "optim.critic.b2=none",
            "optim.critic.learning_rate=1.0",
            "optim.critic.historical_averaging=0.5",
        ],
    )
    tx = builders.build_optimizer(config, "critic")
    params = np.array([2.0], np.float32)
    state = tx.init(params)
    _, state = tx.update(np.zeros(1, np.float32), state, params)  # θ̄ = 2: no pull yet
    update, _ = tx.update(np.zeros(1, np.float32), state, np.array([4.0], np.float32))
    # θ̄ = (2 + 4)/2 = 3; gradient 2·0.5·(4 − 3) = 1; sgd with rate 1 steps by −1.
    np.testing.assert_allclose(update, [-1.0], rtol=1e-6)


@pytest.mark.parametrize(
    "experiment, overrides, check",
    [
        ("nsgan_mlp", ["game.feature_matching=true"], lambda spec, state: spec.game.name == "nsgan+feature_matching"),
        (
            "nsgan_mlp",
            ["model.minibatch_kernels=3", "model.minibatch_kernel_dim=2"],
            lambda spec, state: state.critic.params["minibatch"]["T"]["kernel"].shape == (16, 3, 2),
        ),
        (
            "nsgan_mlp",
            ["model.critic_norm=batch", "model.generator_norm=batch"],
            lambda spec, state: (
                spec.critic.mutable == spec.generator.mutable == ("batch_stats",)
                and "batch_stats" in state.critic.collections
                and "batch_stats" in state.generator.collections
            ),
        ),
        (
            "nsgan_mlp",
            ["model.generator_norm=virtual_batch"],
            lambda spec, state: state.generator.collections["reference"]["body"]["inputs"].shape == (16, 2),
        ),
        ("wgangp_mlp", ["model.critic_norm=layer"], lambda spec, state: "LayerNorm_0" in state.critic.params["body"]),
        ("hinge_mlp", ["game.r1_gamma=10", "game.r2_gamma=1"], lambda spec, state: spec.game.name == "hinge+r1+r2"),
        (
            "nsgan_mlp",
            ["game.name=rpgan", "game.r1_gamma=0.05", "game.r2_gamma=0.05", "game.penalty_decay=0.1"],
            lambda spec, state: spec.game.name == "rpgan+r1+r2" and spec.game.critic_needs.iteration,
        ),
        (
            "nsgan_mlp",
            ["train.generator_ema=none", "train.generator_ema_half_life=2", "train.generator_ema_burn_in=2"],
            lambda spec, state: callable(spec.generator_ema_decay) and state.generator_ema is not None,
        ),
        (
            "wgangp_mlp",
            ["game.pack=4"],
            lambda spec, state: spec.pack == 4 and state.critic.params["body"]["Dense_0"]["kernel"].shape == (8, 16),
        ),
        ("ebgan_mlp", ["game.pack=2"], lambda spec, state: spec.pack == 2),
        (
            "wgangp_mlp",
            ["model.critic_spectral_norm=true"],
            lambda spec, state: spec.critic.mutable == ("spectral",) and "spectral" in state.critic.collections,
        ),
        (
            "meg_mlp",
            ["model.statistics_hidden=8"],
            lambda spec, state: set(state.generator.params) == {"generator", "statistics_network"},
        ),
    ],
)
def test_technique_switches_build_what_they_name_and_train(experiment, overrides, check):
    config = configs.get_config(experiment)
    configs.apply_overrides(
        config,
        [
            *overrides,
            "model.generator_hidden=16",
            "model.critic_hidden=16",
            "train.batch_size=16",
            "parallel.devices=1",
        ],
    )
    _, built, _ = train.build_run(config)
    spec = built.spec
    real = toy.batches_for_steps(built.source, 0, 0, 2, (spec.batches_per_iteration, 16))
    state = steps.init_state(spec, jax.random.PRNGKey(0), real[0, 0])
    assert check(spec, state)
    references = jax.tree.map(
        np.asarray, [state.generator.collections.get("reference"), state.critic.collections.get("reference")]
    )
    state, metrics = steps.make_train_step(spec)(state, real)
    assert int(state.step) == 2 and all(np.isfinite(float(value)) for value in metrics.values())
    # A virtual-batch-norm reference batch is fixed at the start and never trained.
    jax.tree.map(
        np.testing.assert_array_equal,
        references,
        [state.generator.collections.get("reference"), state.critic.collections.get("reference")],
    )


def _adam_steps_under(config, player: str, updates: int) -> np.ndarray:
    """The first `updates` steps of the player's built optimizer on a constant unit gradient: for
    Adam each is −lr_t · g/(|g| + ε), the learning rate of that update to within 1e-8."""
    tx = builders.build_optimizer(config, player)
    params, moves = np.zeros(()), []
    state = tx.init(params)
    for _ in range(updates):
        step, state = tx.update(np.ones(()), state, params)
        moves.append(-float(step))
    return np.array(moves)


@pytest.mark.standard_dtype_promotion  # optax's Adam
def test_learning_rate_schedules_follow_their_formulas():
    config = configs.get_config("wgangp_mlp")  # n_critic = 5, rates 1e-4
    configs.apply_overrides(
        config,
        [
            "train.steps=20",
            "optim.critic.schedule=linear",
            "optim.critic.warmup_iterations=4",
            "optim.generator.schedule=cosine",
        ],
    )
    rate, t = 1e-4, np.arange(100)
    # The critic: 100 updates in 20 iterations, 20 of them warming up from 0, then a line to 0.
    expected = np.where(t < 20, rate * t / 20, rate * (1 - (t - 20) / 80))
    np.testing.assert_allclose(_adam_steps_under(config, "critic", 100), expected, rtol=1e-6, atol=1e-11)
    # The generator: one update an iteration, half a cosine from the rate to 0.
    expected = rate * 0.5 * (1 + np.cos(np.pi * np.arange(20) / 20))
    np.testing.assert_allclose(_adam_steps_under(config, "generator", 20), expected, rtol=1e-6, atol=1e-11)
    # R3GAN's burn-ins: the rate along a half cosine to 2.5e-5 in 10 iterations, then held; β₂
    # from 0.9 to 0.99 the same way (the value each update used, read from the optimizer state).
    configs.apply_overrides(
        config,
        [
            "optim.generator.final_learning_rate=2.5e-5",
            "optim.generator.decay_iterations=10",
            "optim.generator.b2=0.9",
            "optim.generator.final_b2=0.99",
        ],
    )
    t = np.arange(20)
    ramp = 0.5 * (1 - np.cos(np.pi * np.minimum(t, 10) / 10))
    expected = rate + (2.5e-5 - rate) * ramp
    tx = builders.build_optimizer(config, "generator")
    params = np.zeros(())
    state, b2_used = tx.init(params), []
    for _ in t:
        _, state = tx.update(np.ones(()), state, params)
        b2_used.append(float(state.hyperparams["b2"]))  # the β₂ this update used
    np.testing.assert_allclose(b2_used, 0.9 + (0.99 - 0.9) * ramp, rtol=1e-6)
    configs.apply_overrides(config, ["optim.generator.final_b2=none"])
    np.testing.assert_allclose(_adam_steps_under(config, "generator", 20), expected, rtol=1e-6, atol=1e-11)
    # Constant without warm-up stays a plain rate: the optimizer state is optax.adam's own.
    plain = builders.build_optimizer(configs.get_config("wgangp_mlp"), "critic").init(np.zeros(()))
    assert jax.tree.structure(plain) == jax.tree.structure(optax.adam(1e-4).init(np.zeros(())))


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.critic.schedule=step", "optim.critic.schedule='step': choose one of constant, linear, cosine"),
        ("optim.generator.warmup_iterations=5000", "optim.generator.warmup_iterations must be in [0, train.steps"),
        ("optim.critic.decay_iterations=-1", "optim.critic.decay_iterations must be at least 0 (0: the whole run)"),
        ("optim.critic.final_learning_rate=-1", "optim.critic.final_learning_rate must be a finite number of at"),
        ("optim.critic.final_b2=1.5", "optim.critic.final_b2 ramps β₂ from optim.critic.b2: set b2, and final_b2"),
        ("game.penalty_decay=0.1", "game.penalty_decay scales the R1 and R2 penalties: set game.r1_gamma or"),
        ("train.generator_ema_half_life=100", "and so does train.generator_ema: set train.generator_ema=none with it"),
    ],
)
def test_bad_schedules_are_one_line(override, message):
    config = configs.get_config("wgangp_mlp")
    configs.apply_overrides(config, [override])
    with pytest.raises(configs.ConfigError, match=re.escape(message)):
        train.build_run(config)


def test_each_player_trains_at_its_own_learning_rate():
    # A zero rate for one player freezes it exactly while the other one moves.
    for frozen, moving in (("generator", "critic"), ("critic", "generator")):
        config = configs.get_config("nsgan_mlp")
        configs.apply_overrides(
            config,
            [
                f"optim.{frozen}.learning_rate=0",
                f"optim.{moving}.learning_rate=1e-3",
                "model.generator_hidden=8",
                "model.critic_hidden=8",
                "train.batch_size=8",
                "parallel.devices=1",
                "train.generator_ema=none",
            ],
        )
        _, built, _ = train.build_run(config)
        spec = built.spec
        real = toy.batches_for_steps(built.source, 0, 0, 1, (1, 8))
        before = steps.init_state(spec, jax.random.PRNGKey(0), real[0, 0])
        after, _ = steps.train_step(spec, before, real[0])
        jax.tree.map(np.testing.assert_array_equal, getattr(after, frozen).params, getattr(before, frozen).params)
        assert any(
            not np.array_equal(a, b)
            for a, b in zip(
                jax.tree.leaves(getattr(after, moving).params),
                jax.tree.leaves(getattr(before, moving).params),
                strict=True,
            )
        )


def test_a_workdir_that_is_a_file_is_one_line(tmp_path, capsys):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert _run(["--exp", "wgan_mlp", "--workdir", str(a_file), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"python -m jaxgan.run: error: --workdir {a_file} is a file; give a directory for the run"
    assert a_file.read_text() == "mine"


def test_a_model_too_large_for_memory_is_refused_with_its_size(tmp_path, capsys):
    wide = ["--set", "model.critic_hidden=200000,200000", "--set", "model.generator_hidden=16,16"]
    assert _run(["--exp", "wgan_mlp", "--workdir", str(tmp_path / "run"), "--no-progress", *wide]) == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(
        r"python -m jaxgan.run: error: the training state \(parameters, optimizer states, averages\) needs "
        r"\d+\.\d GiB but cpu memory has \d+\.\d GiB free; make the model smaller",
        err,
    ), err
    assert not (tmp_path / "run").exists()


def test_a_second_run_loads_its_compiled_programs_from_the_cache(tmp_path):
    """The same run in three fresh processes: with --no-compilation-cache it writes no entry; then
    the first with the cache fills it, and the second adds nothing (all hits)."""
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "JAXGAN_CACHE_DIR": str(cache_dir)}

    def run_in_a_fresh_process(workdir, *extra):
        command = [sys.executable, "-m", "jaxgan.run", "--exp", "wgan_mlp", "--steps", "2", "--workdir", str(workdir)]
        result = subprocess.run([*command, *TINY, *extra], capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        return sorted(path.name for path in (cache_dir / "xla").iterdir()) if (cache_dir / "xla").exists() else []

    assert run_in_a_fresh_process(tmp_path / "off", "--no-compilation-cache") == []
    first = run_in_a_fresh_process(tmp_path / "first")
    assert len(first) >= 3  # the training step, the sampler, the evaluation
    assert run_in_a_fresh_process(tmp_path / "second") == first


def test_sample_draws_reproducibly_from_a_toy_run_and_refuses_what_does_not_fit(tmp_path, capsys):
    workdir = tmp_path / "run"
    assert _run(["--exp", "wgan_mlp", "--steps", "4", "--workdir", str(workdir), *TINY]) == 0
    first, labels = jaxgan_sample.sample_run(str(workdir), 50, seed=1)
    again, _ = jaxgan_sample.sample_run(str(workdir), 50, seed=1)
    other, _ = jaxgan_sample.sample_run(str(workdir), 50, seed=2, step=2)
    assert first.shape == (50, 2) and labels is None and np.isfinite(first).all()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert jaxgan_sample.main([str(workdir), "--out", str(tmp_path / "points.png")]) == 0
    assert (tmp_path / "points.png").stat().st_size > 0
    capsys.readouterr()
    for argv, message in [
        ([str(workdir), "--labels", "1,2"], "this run's model is unconditional; leave them out"),
        ([str(workdir), "--n", "0"], "n is the number of samples, a positive int, got 0"),
        ([str(workdir), "--step", "3"], "no checkpoint in"),
        ([str(workdir), "--out", "x.jpg"], "--out x.jpg: give a .png or an .npz file"),
        ([str(tmp_path)], "has no config.json; give the directory of a jaxgan run"),
        ([str(workdir), "--n", str(10**13), "--out", str(tmp_path / "many.npz")], "ask for fewer"),
    ]:
        assert jaxgan_sample.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "many.npz").exists()


def test_sample_draws_a_large_n_in_bounded_calls(tmp_path, monkeypatch):
    """Issue 31, item 6: --n beyond SAMPLE_BATCH is drawn SAMPLE_BATCH at a time into one array;
    the first call's samples are those of a single call of that size."""
    workdir = tmp_path / "run"
    assert _run(["--exp", "wgan_mlp", "--steps", "4", "--workdir", str(workdir), *TINY]) == 0
    whole, _ = jaxgan_sample.sample_run(str(workdir), 7, seed=3)
    monkeypatch.setattr(jaxgan_sample, "SAMPLE_BATCH", 7)
    chunked, _ = jaxgan_sample.sample_run(str(workdir), 20, seed=3)
    assert chunked.shape == (20, 2) and np.isfinite(chunked).all()
    np.testing.assert_array_equal(chunked[:7], whole)
    assert len({tuple(row) for row in chunked}) == 20  # each call draws its own latent codes


def _tensorboard_events(folder):
    """Every Event in the TFRecord files of `folder`: [length u64][crc u32][Event][crc u32]."""
    from tensorboardX.proto import event_pb2

    for path in sorted(folder.glob("events.out.tfevents.*")):
        data, offset = path.read_bytes(), 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            yield event


def test_tensorboard_gets_the_metrics_the_config_and_the_figures(tmp_path):
    workdir = tmp_path / "run"
    assert _run(["--exp", "wgan_mlp", "--steps", "4", "--workdir", str(workdir), *TINY]) == 0
    scalars, images, texts = {}, set(), []
    for event in _tensorboard_events(workdir / "tensorboard"):
        for value in event.summary.value:
            if value.HasField("image"):
                images.add((value.tag, event.step))
            elif value.HasField("tensor"):
                texts.append(value.tensor.string_val[0].decode())
            else:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    logged = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [step for step, _ in scalars["critic_loss"]] == [row["step"] for row in logged] == [2, 4]
    np.testing.assert_allclose([value for _, value in scalars["critic_loss"]], [row["critic_loss"] for row in logged])
    assert images == {("samples", 4), ("losses", 4)}
    assert len(texts) == 1 and '"experiment": "wgan_mlp"' in texts[0]
    assert (
        _run(
            [
                "--exp",
                "wgan_mlp",
                "--steps",
                "2",
                "--workdir",
                str(tmp_path / "off"),
                *TINY,
                "--set",
                "train.tensorboard=false",
            ]
        )
        == 0
    )
    assert not (tmp_path / "off" / "tensorboard").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seed", "-1"], "--seed must be an integer in 0 .. 4294967295, got -1"),
        (["--seed", str(2**40)], f"--seed must be an integer in 0 .. 4294967295, got {2**40}"),
        (["--out", "{tmp}/missing/drawn.png"], "the folder {tmp}/missing does not exist; create it"),
        (["--out", "{tmp}"], "--out {tmp} is a directory; give a file path ending in .png or .npz"),
    ],
)
def test_sample_refuses_a_bad_seed_or_out_in_one_line_before_reading_the_run(argv, message, tmp_path, capsys):
    argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
    assert jaxgan_sample.main([str(tmp_path / "no_run"), *argv]) == 2
    err, message = capsys.readouterr().err, message.replace("{tmp}", str(tmp_path))
    assert err.startswith("python -m jaxgan.sample: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("module", ["eval", "sample", "compare"])
def test_usage_errors_of_every_command_are_one_line_and_exit_2(module):
    result = subprocess.run(
        [sys.executable, "-m", f"jaxgan.{module}", "--no-such-flag"], capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"python -m jaxgan.{module}: error: ") and result.stderr.count("\n") == 1


def test_eval_refuses_float_samples_in_zero_one_before_training_a_classifier(tmp_path, capsys):
    """Float samples are read in [−1, 1]; a file in [0, 1] would be scored as grey images."""
    samples = np.random.default_rng(0).uniform(0, 1, (20, 28, 28, 1)).astype(np.float32)
    np.savez(tmp_path / "unit.npz", samples=samples)
    classifiers = ["--set", f"eval.classifier_dir={tmp_path / 'classifiers'}"]
    assert jaxgan_eval.main(["--samples", str(tmp_path / "unit.npz"), "--exp", "dcgan_mnist", *classifiers]) == 2
    err = capsys.readouterr().err
    assert "'samples' lie in [0, 1] (no value below 0), but float samples are read in [−1, 1]" in err
    assert err.count("\n") == 1 and not (tmp_path / "classifiers").exists()


def test_eval_refuses_fewer_samples_than_the_metrics_need_naming_the_minimum(tmp_path, capsys):
    np.savez(tmp_path / "one.npz", samples=np.full((1, 28, 28, 1), -0.5, np.float32))
    classifiers = ["--set", f"eval.classifier_dir={tmp_path / 'classifiers'}"]
    assert jaxgan_eval.main(["--samples", str(tmp_path / "one.npz"), "--exp", "dcgan_mnist", *classifiers]) == 2
    err = capsys.readouterr().err
    assert "holds 1 image(s); scoring needs at least 6" in err and err.count("\n") == 1
    assert not (tmp_path / "classifiers").exists()
