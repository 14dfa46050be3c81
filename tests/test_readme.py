"""The README tells the truth: its result tables equal the committed summaries
(`experiments/regenerate.py` writes them), and its library example runs as written."""

import json
import pathlib
import re

import pytest

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
    """The cells of the table row in `section` whose first cell names experiment `name`."""
    for line in _section(section).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and f"`{name}`" in cells[0]:
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


@pytest.mark.parametrize("name", ["dcgan_mnist", "wgangp_dcgan_mnist", "cgan_mnist"])
def test_image_results_table(name):
    s = _summary(name)
    assert _row("Image results", name) == [
        f"{s['wall_s']:,.0f}",
        f"{s['classifier_fid']:.1f}",
        f"{s['classifier_kid']:,.0f} ± {s['classifier_kid_std']:,.0f}",
        f"{s['classifier_inception_score']:.2f}",
    ]


def test_stacked_mnist_row():
    s = _summary("dcgan_stacked_mnist")
    assert _row("Image results", "dcgan_stacked_mnist") == [
        f"{s['stacked_modes']:,}",
        f"{s['stacked_kl_to_uniform']:.3f}",
    ]


@pytest.mark.parametrize("name", ["vae_mnist", "vae_mnist_2d"])
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
    }
    section = _section("The articles' identities")
    for name, figures in quoted.items():
        rows = " ".join(line for line in section.splitlines() if line.startswith(f"| `{name}`"))
        for figure in figures:
            assert figure in rows, (name, figure)


@pytest.mark.standard_dtype_promotion  # it trains with optax's Adam
def test_library_example_runs_as_written(capsys):
    code = re.search(r"## Using the library\n\n```python\n(.*?)```", README, re.S).group(1)
    exec(compile(code, "README.md: Using the library", "exec"), {})
    assert re.fullmatch(r"10 \(1000, 2\) -?\d+\.\d+\n", capsys.readouterr().out)


def test_mode_coverage_table_is_the_study_output():
    study = (RESULTS / "mode_coverage.md").read_text().splitlines()[2:]
    assert study and all(row in _section("Mode coverage across methods and seeds") for row in study)
