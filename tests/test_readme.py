"""The README tells the truth: its result tables equal the committed summaries
(`experiments/regenerate.py` writes them), and its library example runs as written."""

import json
import pathlib
import re

import pytest

from jaxgan import configs

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RESULTS = ROOT / "experiments" / "results"


def _summary(name: str) -> dict:
    return json.loads((RESULTS / f"{name}_summary.json").read_text())


def _section(heading: str) -> str:
    """The README's text from `## heading` to the next `## ` heading."""
    start = README.index(f"## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else len(README)]


def _row(section: str, name: str) -> list[str]:
    """The cells of the table row in `section` whose first cell names experiment `name` (in
    backticks) or is `name`."""
    for line in _section(section).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and (f"`{name}`" in cells[0] or cells[0] == name):
            return cells[1:]
    raise AssertionError(f"no row for {name} in the README's {section} section")


def _signed(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}".replace("-", "−")


@pytest.mark.parametrize("name", ["wgan_mlp", "wgangp_mlp"])
def test_toy_results_table(name):
    s = _summary(name)
    assert _row("Results", name) == [
        f"{s['steps']:,}",
        f"{s['wall_s']:,.0f}",
        f"{s['gen_iters_per_s']:.1f}",
        f"{s['modes']} / {s['modes_total']}",
        f"{100 * s['high_quality']:.1f} %",
        f"{s['w1_to_data']:.3f}",
    ]


IMAGE_RUNS = {
    "mnist": ["dcgan_mnist", "cgan_mnist", "wgangp_dcgan_mnist"],
    "fashion_mnist": [
        "dcgan_fashion_mnist",
        "wgangp_dcgan_fashion_mnist",
        "cgan_fashion_mnist",
        "biggan_fashion_mnist",
    ],
}


@pytest.mark.parametrize("name", [name for names in IMAGE_RUNS.values() for name in names])
def test_image_results_table(name):
    s = _summary(name)
    assert _row("Image results", name) == [
        f"{s['steps']:,}",
        f"{s['wall_s']:,.0f}",
        _fid(s["classifier_fid"]),
        _fid(s["classifier_fid_live_generator"]),
        _fid(s["classifier_fid_real_images"]),
        f"{_kid(s['classifier_kid'], s['classifier_kid'])} ± {_kid(s['classifier_kid_std'], s['classifier_kid'])}",
        f"{s['classifier_inception_score']:.2f}",
    ]


def _fid(value: float) -> str:
    """FID as the image table prints it: one decimal from 10 up, two below (Fashion-MNIST's)."""
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def _kid(value: float, kid: float) -> str:
    """KID or its std as the image table prints them: whole units when KID is 100 or more,
    else three decimals."""
    return f"{value:,.0f}" if kid >= 100 else f"{value:.3f}"


@pytest.mark.parametrize("data", IMAGE_RUNS)
def test_image_rows_of_one_data_set_share_one_classifier(data):
    identities = {_summary(name)["classifier_id"] for name in IMAGE_RUNS[data]}
    assert len(identities) == 1, identities


def test_stacked_mnist_row():
    s = _summary("dcgan_stacked_mnist")
    assert _row("Image results", "dcgan_stacked_mnist") == [
        f"{s['steps']:,}",
        f"{100 * s['stacked_confident_share']:.1f} %",
        f"{s['stacked_modes']:,}",
        f"{s['stacked_kl_to_uniform']:.3f}",
        f"{s['stacked_modes_any_confidence']:,}",
    ]
    assert _row("Image results", "real images, held-out digits (the floor)") == [
        "",
        f"{100 * s['stacked_confident_share_real_images']:.1f} %",
        f"{s['stacked_modes_real_images']:,}",
        f"{s['stacked_kl_to_uniform_real_images']:.3f}",
        "",
    ]


@pytest.mark.parametrize("name", ["vae_mnist", "vae_mnist_2d", "vae_fashion_mnist"])
def test_autoencoder_results_table(name):
    s = _summary(name)
    assert _row("Autoencoders", name)[1:] == [
        f"{s['steps']:,}",
        f"{s['wall_s']:,.0f}",
        _signed(s["held_out_elbo"], 2),
        _signed(s["held_out_iwae"], 2),
    ]


def test_theory_table_quotes_the_summaries():
    optimal, critic = _summary("optimal_discriminator"), _summary("critic_1d")
    bilinear, lines = _summary("bilinear_game"), _summary("parallel_lines")
    attacked = _summary("adversarial_examples")
    quoted = {
        "optimal_discriminator": [
            _signed(optimal["distinct"][key], 5) for key in ("value_at_D_star", "two_js_minus_log4", "value_trained")
        ]
        + [
            f"{optimal['distinct']['mean_abs_error_D']:.3f}",
            f"{optimal['distinct']['max_abs_error_D']:.3f}",
            f"{optimal['equal']['max_abs_error_D']:.4f}",
            _signed(optimal["equal"]["value_trained"], 5),
        ],
        "critic_1d": [
            f"{critic['discriminator_relative_gradient_at_fake']:.1e}".replace("e-0", "e-"),
            f"{critic['critic_relative_gradient_at_fake']:.1f}",
            f"{critic['critic_linear_r2_between_modes']:.3f}",
        ],
        "parallel_lines": [f"{lines['max_abs_w_error']:.3f}"],
        "bilinear_game": [f"{bilinear['final_distance'][key]:.3f}" for key in bilinear["final_distance"]]
        + [f"{bilinear['simultaneous_closed_form']:.3f}"],
        "adversarial_examples": [f"{attacked['examples']:,}", f"{100 * attacked['clean_accuracy']:.1f} %"]
        + [f"{100 * attacked[f'accuracy_{name}'][i]:.1f} %" for name in ("fgsm", "pgd") for i in (3, -1)]
        + [f"ε = {attacked['epsilons'][3]}", f"ε = {attacked['epsilons'][-1]}"],
    }
    section = _section("The articles' identities")
    for name, figures in quoted.items():
        rows = " ".join(line for line in section.splitlines() if line.startswith(f"| `{name}`"))
        for figure in figures:
            assert figure in rows, (name, figure)


def test_every_experiment_is_in_the_experiments_table():
    listed = set(re.findall(r"^\| `(\w+)` \|", _section("Experiments"), re.M))
    assert listed == set(configs.list_experiments())


@pytest.mark.standard_dtype_promotion  # it trains with optax's Adam
def test_library_example_runs_as_written(capsys):
    code = re.search(r"## Using the library\n\n```python\n(.*?)```", README, re.S).group(1)
    exec(compile(code, "README.md: Using the library", "exec"), {})
    assert re.fullmatch(r"10 \(1000, 2\) -?\d+\.\d+\n", capsys.readouterr().out)


@pytest.mark.parametrize(
    "table", ["mode_coverage.md", "mode_coverage_ebm/mode_coverage.md", "mode_coverage_wgangp_decay/mode_coverage.md"]
)
def test_mode_coverage_tables_are_the_study_outputs(table):
    study = (RESULTS / table).read_text().splitlines()[2:]
    assert study and all(row in _section("Mode coverage across methods and seeds") for row in study)


def test_generator_average_table_is_the_compare_output():
    table = (RESULTS / "generator_average.md").read_text().splitlines()
    assert len(table) > 2 and all(row in _section("Image results") for row in table)
