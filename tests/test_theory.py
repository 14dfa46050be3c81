"""The articles' identities, checked in closed form, and the theory experiments' runs."""

import json

import jax
import numpy as np
import pytest

from jaxgan import parallel, run, theory

GRID = np.linspace(-12.0, 12.0, 24001)
DX = GRID[1] - GRID[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_at_the_optimal_discriminator_is_two_js_minus_log4(seed):
    rng = np.random.default_rng(seed)
    p = theory.Mixture1D(tuple(rng.normal(size=2)), tuple(rng.uniform(0.3, 1.5, 2)), (0.3, 0.7))
    q = theory.Mixture1D(tuple(rng.normal(size=3)), tuple(rng.uniform(0.3, 1.5, 3)), (0.2, 0.5, 0.3))
    p_density, q_density = p.pdf(GRID), q.pdf(GRID)
    optimum = theory.optimal_logits(p_density, q_density)
    value = theory.gan_value(p_density, q_density, optimum, DX)
    np.testing.assert_allclose(value, 2 * theory.js_on_grid(p_density, q_density, DX) - np.log(4), atol=1e-6)
    # D* maximises V: other discriminators do worse.
    for shift in (-0.3, 0.3):
        assert theory.gan_value(p_density, q_density, optimum + shift, DX) < value
    assert value >= -np.log(4) - 1e-6  # the global minimum over G


def test_equal_distributions_give_one_half_and_minus_log4():
    p = theory.Mixture1D((0.0, 2.0), (0.5, 1.0), (0.5, 0.5))
    density = p.pdf(GRID)
    np.testing.assert_allclose(theory.gan_value(density, density, np.zeros_like(GRID), DX), -np.log(4), atol=1e-6)
    np.testing.assert_allclose(theory.js_on_grid(density, density, DX), 0.0, atol=1e-12)


def test_mixture_samples_follow_its_density():
    p = theory.Mixture1D((-1.0, 2.0), (0.5, 0.3), (0.25, 0.75))

    samples = np.asarray(p.sample(jax.random.PRNGKey(0), 200_000))[:, 0]
    np.testing.assert_allclose(samples.mean(), 0.25 * -1 + 0.75 * 2, atol=0.02)
    np.testing.assert_allclose(np.trapezoid(p.pdf(GRID), GRID), 1.0, rtol=1e-6)


def test_parallel_lines_analytic_values():
    assert theory.parallel_lines_divergences(0.3) == {"kl": np.inf, "js": np.log(2), "w": 0.3}
    assert theory.parallel_lines_divergences(0.0) == {"kl": 0.0, "js": 0.0, "w": 0.0}


def test_bilinear_game_dynamics():
    eta, steps = 0.1, 200
    radius = lambda path: np.linalg.norm(path, axis=1)  # noqa: E731
    simultaneous = radius(theory.bilinear_trajectory("simultaneous", 1.0, 1.0, eta, steps))
    # Each simultaneous step multiplies the distance by √(1 + η²).
    np.testing.assert_allclose(simultaneous, np.sqrt(2) * (1 + eta**2) ** (np.arange(steps + 1) / 2), rtol=1e-4)
    alternating = radius(theory.bilinear_trajectory("alternating", 1.0, 1.0, eta, steps))
    assert alternating.max() < 1.2 * np.sqrt(2) and alternating.min() > 0.8 * np.sqrt(2)  # a bounded cycle
    for method in ("optimistic", "extragradient"):
        assert radius(theory.bilinear_trajectory(method, 1.0, 1.0, eta, 500))[-1] < 0.15 * np.sqrt(2), method


def _optimal_discriminator_checks(summary):
    for case in ("distinct", "equal"):  # V(D*) = 2·JS − log 4, and a trained D close to D*
        figures = summary[case]
        assert figures["value_at_D_star"] == pytest.approx(figures["two_js_minus_log4"], abs=1e-5)
        assert figures["value_trained"] == pytest.approx(figures["value_at_D_star"], abs=5e-3)
        assert figures["mean_abs_error_D"] < 0.02 and figures["max_abs_error_D"] < 0.1
    assert summary["equal"]["minus_log4"] == pytest.approx(-np.log(4), abs=1e-5)


def _critic_1d_checks(summary):
    assert summary["discriminator_relative_gradient_at_fake"] < 1e-6  # saturated: the gradient vanishes
    assert summary["critic_relative_gradient_at_fake"] > 0.3  # the critic's does not
    assert summary["critic_linear_r2_between_modes"] > 0.98


def _parallel_lines_checks(summary):
    assert summary["kl_infinite_share_apart"] == 1.0  # KL = +inf for every θ ≠ 0
    assert summary["max_abs_js_error_apart"] < 1e-5  # JS = log 2
    assert summary["max_abs_w_error"] < 0.05  # W = |θ|, up to sampling noise


def _bilinear_game_checks(summary):
    final = summary["final_distance"]
    assert final["simultaneous"] == pytest.approx(summary["simultaneous_closed_form"], rel=1e-5)
    assert final["alternating"] == pytest.approx(summary["initial_distance"], abs=0.05)  # a cycle
    assert final["optimistic"] < 0.15 and final["extragradient"] < 0.15


def _adversarial_examples_checks(summary):
    fgsm, pgd = np.array(summary["accuracy_fgsm"]), np.array(summary["accuracy_pgd"])
    assert summary["clean_accuracy"] > 0.9 and fgsm[0] == pgd[0] == summary["clean_accuracy"]  # ε = 0
    assert np.all(np.diff(pgd) <= 0) and np.all(pgd <= fgsm + 0.01)  # PGD is the stronger attack
    assert pgd[-1] < 0.05  # at ε = 0.6 (0.3 in [0, 1] pixels) almost nothing survives


# The README's claims for each theory experiment at its default config, with their tolerances.
README_CLAIMS = {
    "optimal_discriminator": _optimal_discriminator_checks,
    "critic_1d": _critic_1d_checks,
    "parallel_lines": _parallel_lines_checks,
    "bilinear_game": _bilinear_game_checks,
    "adversarial_examples": _adversarial_examples_checks,
}


@pytest.mark.parametrize("experiment", sorted(README_CLAIMS))
@pytest.mark.standard_dtype_promotion  # its training runs optax's Adam
def test_theory_experiment_at_its_defaults_shows_what_the_readme_says(experiment, tmp_path, capsys, config_reads):
    workdir = tmp_path / experiment
    assert run.main(["--exp", experiment, "--workdir", str(workdir)]) == 0
    assert config_reads() == []
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["experiment"] == experiment and experiment in capsys.readouterr().out
    assert parallel.describe_machine().items() <= summary.items()
    assert (workdir / f"{experiment}.png").stat().st_size > 0
    README_CLAIMS[experiment](summary)


def test_parallel_lines_estimates_reproduce_the_example(tmp_path):
    summary = theory.parallel_lines(_config("parallel_lines", thetas=11, samples=300), str(tmp_path))
    assert summary["kl_infinite_share_apart"] == 1.0  # disjoint supports: KL = +inf
    assert summary["max_abs_js_error_apart"] < 1e-5  # JS = log 2
    assert summary["max_abs_w_error"] < 0.06  # W = |θ|, up to sampling noise in y


def test_theory_usage_errors_exit_2(tmp_path, capsys):
    assert run.main(["--exp", "bilinear_game", "--resume", "--workdir", str(tmp_path / "a")]) == 2
    assert "keeps no checkpoints" in capsys.readouterr().err
    assert run.main(["--exp", "optimal_discriminator", "--set", "p_g.stds=-1.0", "--workdir", str(tmp_path / "b")]) == 2
    assert "positive stds" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _config(name, **overrides):
    from jaxgan import configs

    config = configs.get_config(name)
    config.update(overrides)
    return config


def test_every_theory_experiment_has_a_smoke_run():
    from jaxgan import configs, runs

    names = {
        name for name in configs.list_experiments() if runs.family_of(configs.get_config(name)) is runs.theory.FAMILY
    }
    assert names == set(README_CLAIMS) == set(theory.EXPERIMENTS)
