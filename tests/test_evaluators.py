"""Evaluators as data: the config names what a run measures (`jaxgan.evaluators`)."""

import json

import numpy as np
import pytest
from conftest import TINY_TOY_RUN

from jaxgan import configs, evaluators, run, train
from jaxgan.evaluators import EVALUATORS, Evaluator, register_evaluator
from jaxgan.evaluators.base import evaluated_batches, generated_batches

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)

TINY = [*TINY_TOY_RUN, "--set", "eval.every=2", "--no-progress", "--steps", "4"]


def _one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    "experiment, evaluators_set, message",
    [
        ("wgan_mlp", "point_score", "no evaluator 'point_score' (did you mean 'point_scores'?)"),
        ("wgan_mlp", "point_scores,point_scores", "names an evaluator twice: point_scores, point_scores"),
        ("aae_mnist", "likelihood_bounds", "likelihood_bounds bounds a VAE's likelihood, and model.kind=aae"),
        ("vae_mnist", "reconstruction_error", "reconstruction_error reads an AAE's deterministic reconstruction"),
        ("dcgan_mnist", "stacked_mnist_modes", "stacked_mnist_modes counts Stacked MNIST's modes; set data.stacked"),
        ("dcgan_stacked_mnist", "classifier_scores", "classifier_scores reads grey digits"),
    ],
)
def test_an_evaluator_the_config_cannot_use_is_one_line_before_anything_runs(
    experiment, evaluators_set, message, tmp_path, capsys
):
    workdir = tmp_path / "run"
    argv = ["--exp", experiment, "--workdir", str(workdir), "--set", f"eval.evaluators={evaluators_set}"]
    assert run.main([*argv, "--set", "parallel.devices=1"]) == 2  # the tests fake 8 devices
    assert message in _one_line(capsys)
    assert not workdir.exists()


def test_the_config_chooses_what_a_run_measures(tmp_path):
    """With point_scores alone a toy run scores its samples and draws no figure of them; with
    point_samples alone it draws the figure and scores nothing."""
    scores_only, figure_only = tmp_path / "scores", tmp_path / "figure"
    assert (
        run.main(["--exp", "wgan_mlp", "--workdir", str(scores_only), *TINY, "--set", "eval.evaluators=point_scores"])
        == 0
    )
    summary = json.loads((scores_only / "summary.json").read_text())
    assert summary["modes_total"] == 8 and "w1_to_data" in summary and not (scores_only / "samples.png").exists()
    logged = [json.loads(line) for line in (scores_only / "metrics.jsonl").read_text().splitlines()]
    assert any("high_quality" in record for record in logged)  # during training, every eval.every steps
    assert (
        run.main(["--exp", "wgan_mlp", "--workdir", str(figure_only), *TINY, "--set", "eval.evaluators=point_samples"])
        == 0
    )
    summary = json.loads((figure_only / "summary.json").read_text())
    assert "modes" not in summary and "w1_to_data" not in summary and (figure_only / "samples.png").exists()


class _Counting(Evaluator):
    """Counts its calls: the loop asks it every eval.every iterations and once at the end."""

    def during_training(self, state, step):
        return {"counted_steps": step}

    def at_end(self, state):
        return {"counted_at_end": int(state.step), "counted_experiment": self.context.config.experiment}


def test_a_registered_evaluator_is_run_by_the_loop_when_a_config_names_it(tmp_path):
    register_evaluator("counting")(_Counting)
    try:
        with pytest.raises(ValueError, match="registered already"):
            register_evaluator("counting")(_Counting)
        workdir = tmp_path / "run"
        assert (
            run.main(["--exp", "wgan_mlp", "--workdir", str(workdir), *TINY, "--set", "eval.evaluators=counting"]) == 0
        )
    finally:
        del EVALUATORS["counting"]
    summary = json.loads((workdir / "summary.json").read_text())
    assert (summary["counted_at_end"], summary["counted_experiment"]) == (4, "wgan_mlp")
    logged = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [record["counted_steps"] for record in logged if "counted_steps" in record] == [2, 4]


def test_a_run_written_before_evaluators_were_named_reads_as_its_experiments_default(tmp_path):
    """config.json of a run from before eval.evaluators existed takes the experiment's default,
    so resuming it is no change of config."""
    config = configs.get_config("wgan_mlp").to_dict()
    del config["eval"]["evaluators"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config, "experiment": "wgan_mlp"}))
    assert tuple(configs.read_run_config(str(path)).eval.evaluators) == ("point_scores", "point_samples")


def test_every_shipped_experiment_names_registered_evaluators_it_can_use():
    for name in configs.list_experiments():
        config = configs.get_config(name)
        if "evaluators" in config.get("eval", {}):
            evaluators.check_evaluators(config)


def test_generated_batches_share_one_program_per_run_and_follow_the_truncation():
    """Every image evaluator's samples come from one compiled program per run: the averaged and
    the live generator share it (their variables have one structure), and the truncation ψ is
    a static argument, so changing eval.truncation (the truncation curve) compiles afresh."""
    config = configs.get_config("dcgan_mnist")
    tiny = ["model.generator_width=4", "model.critic_width=4", "train.batch_size=8", "parallel.devices=1"]
    configs.apply_overrides(config, tiny)
    family, built, mesh = train.build_run(config)
    state = train.initial_state(config, family, built, mesh)
    context = evaluators.Context(config, family, built, None)
    assert built.spec.generator_ema_decay is not None  # an averaged generator beside the live one

    def live_images() -> np.ndarray:
        return np.concatenate(list(generated_batches(context, state, 12, state.generator.variables())))

    live = live_images()
    assert live.shape == (12, 28, 28, 1) and np.abs(live).max() <= 1
    averaged = np.concatenate(list(evaluated_batches(context, state, 12)))
    compiled = context.shared["generated_batch"]
    assert averaged.shape == live.shape and compiled._cache_size() == 1
    np.testing.assert_array_equal(live_images(), live)  # the same codes on every call
    config.eval.truncation = 0.5
    truncated = live_images()
    assert compiled._cache_size() == 2 and not np.allclose(truncated, live)
    in_fives = generated_batches(context, state, 12, state.generator.variables(), largest_batch=5)
    assert [len(batch) for batch in in_fives] == [4, 4, 4]  # even batches: none made to be thrown away
