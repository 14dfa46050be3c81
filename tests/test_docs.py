"""The README and docs/ tell the truth: their result tables equal the committed summaries
(`experiments/regenerate.py` writes them), every command they show parses against the CLI,
every link stays inside the repository, and every Python example runs as written."""

import json
import pathlib
import re
import shlex

import numpy as np
import pytest
from conftest import mode_coverage_study

from jaxgan import configs

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}
PAGES = {"README.md": README, **{f"docs/{name}": text for name, text in DOCS.items()}}
RESULTS = ROOT / "experiments" / "results"


def _summary(name: str) -> dict:
    return json.loads((RESULTS / f"{name}_summary.json").read_text())


def _section(heading: str, page: str = "docs/results.md") -> str:
    """The text of `page` from `## heading` to the next `## ` heading."""
    text = PAGES[page]
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _row(section: str, name: str, page: str = "docs/results.md") -> list[str]:
    """The cells of the table row in `section` of `page` whose first cell names experiment
    `name` (in backticks) or is `name`."""
    for line in _section(section, page).splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if line.startswith("|") and (f"`{name}`" in cells[0] or cells[0] == name):
            return cells[1:]
    raise AssertionError(f"no row for {name} in {page}'s {section} section")


def _signed(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}".replace("-", "−")


@pytest.mark.parametrize("name", ["wgan_mlp", "wgan_paper_mlp", "wgangp_mlp"])
def test_toy_results_table(name):
    s = _summary(name)
    assert _row("Toy results", name) == [
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
        "r3gan_fashion_mnist",
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


def _stacked_mnist_cells(s: dict, suffix: str = "") -> list[str]:
    """Modes and KL of every sample (the published protocol), then the clear samples' share,
    modes and KL, of a summary's generated (suffix "") or real ("_real_images") images."""
    return [
        f"{s['stacked_modes_any_confidence' + suffix]:,}",
        f"{s['stacked_kl_to_uniform_any_confidence' + suffix]:.3f}",
        f"{100 * s['stacked_confident_share' + suffix]:.1f} %",
        f"{s['stacked_modes' + suffix]:,}",
        f"{s['stacked_kl_to_uniform' + suffix]:.3f}",
    ]


STACKED_MNIST_RUNS = ("dcgan_stacked_mnist", "r3gan_stacked_mnist")


@pytest.mark.parametrize("name", STACKED_MNIST_RUNS)
def test_stacked_mnist_row(name):
    s = _summary(name)
    assert _row("Image results", name) == [f"{s['steps']:,}", *_stacked_mnist_cells(s)]
    floor = _row("Image results", "real images, held-out digits (the floor)")
    assert floor == ["", *_stacked_mnist_cells(s, "_real_images")]


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


def test_every_experiment_is_in_the_readmes_experiments_table():
    listed = re.findall(r"^\| `(\w+)` \|", _section("Experiments", "README.md"), re.M)
    assert sorted(listed) == sorted(configs.list_experiments())


@pytest.mark.standard_dtype_promotion  # they train with optax's Adam
@pytest.mark.parametrize(
    "page, printed",
    [
        ("README.md", r"10 \(1000, 2\) -?\d+\.\d+\n"),
        ("docs/library.md", r"5 \['critic_grad_norm', 'critic_loss', 'generator_grad_norm', 'generator_loss'\]\n"),
    ],
)
def test_python_examples_run_as_written(page, printed, capsys):
    blocks = re.findall(r"```python\n(.*?)```", PAGES[page], re.S)
    assert blocks, page
    for number, code in enumerate(blocks):
        exec(compile(code, f"{page}: example {number + 1}", "exec"), {})
    assert re.fullmatch(printed, capsys.readouterr().out)


@pytest.mark.parametrize(
    "table, section",
    [
        ("mode_coverage.md", "Mode coverage across methods and seeds"),
        ("mode_coverage_ebm/mode_coverage.md", "Mode coverage across methods and seeds"),
        ("mode_coverage_gmmn/mode_coverage.md", "Mode coverage across methods and seeds"),
        ("mode_coverage_wgangp_decay/mode_coverage.md", "Mode coverage across methods and seeds"),
        ("mode_coverage_wgangp_decay_10k/mode_coverage.md", "Mode coverage across methods and seeds"),
        ("mode_coverage_wgangp_ring/mode_coverage.md", "Mode coverage across methods and seeds"),
        ("mode_coverage_wgangp_ring_grid/mode_coverage.md", "Mode coverage across methods and seeds"),
        ("mode_coverage_wgan/mode_coverage.md", "Toy results"),
    ],
)
def test_mode_coverage_tables_are_the_study_outputs(table, section):
    study = (RESULTS / table).read_text().splitlines()[2:]
    assert study and all(row in _section(section) for row in study)


def test_generator_average_table_is_the_compare_output():
    table = (RESULTS / "generator_average.md").read_text().splitlines()
    assert len(table) > 2 and all(row in _section("Image results") for row in table)


def test_truncation_table_is_the_curves_json_of_the_committed_biggan_run():
    """docs/results.md's truncation table, row by row, is experiments/truncation_curve.py's
    output, and its "none" row is the committed biggan_fashion_mnist run's own scores."""
    curve = json.loads((RESULTS / "truncation_curve.json").read_text())
    summary = _summary(curve["run"])
    for point in curve["points"]:
        psi = "none" if point["truncation"] is None else f"{point['truncation']:g}"
        assert _row("Image results", psi) == [
            _fid(point["classifier_fid"]),
            f"{point['classifier_inception_score']:.2f}",
            f"{point['classifier_precision']:.3f}",
            f"{point['classifier_recall']:.3f}",
        ], psi
    untruncated = curve["points"][-1]
    assert untruncated["truncation"] is None
    for score in ("fid", "inception_score", "precision", "recall"):
        assert untruncated[f"classifier_{score}"] == summary[f"classifier_{score}"], score


def _commands(page: str) -> list[list[str]]:
    """The commands of `page`'s bash blocks: continuation lines joined, comments dropped, each
    `&&`-joined command on its own without its environment assignments, as argument lists."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", PAGES[page], re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                end = words.index("&&") if "&&" in words else len(words)
                command = words[:end]
                while command and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", command[0]):  # the environment
                    command = command[1:]
                commands.append(command)
                words = words[end + 1 :]
    return commands


COMMANDS = [(page, command) for page in PAGES for command in _commands(page)]
OTHER_PROGRAMS = {("python3", "-m", "venv"), (".",), ("tensorboard",), ("python", "-c"), ("python", "-m", "pytest")}


def _check_jaxgan_run(argv: list[str]) -> None:
    """Parse as `python -m jaxgan.run` does, resolving the experiment and every --set key."""
    from jaxgan import run

    args = run._parser().parse_args(argv)  # noqa: SLF001 (the CLI's own parser)
    if args.exp:
        run.resolve_config(args)


def _check_flags(program: str, argv: list[str]) -> None:
    """Every flag in `argv` is one that the program's source (a path below the repository) declares."""
    source = (ROOT / program).read_text()
    for flag in (word.split("=")[0] for word in argv if word.startswith("--")):
        assert f'"{flag}"' in source, f"{program} has no {flag}"


def _check_module_flags(module: str, argv: list[str]) -> None:
    """Every flag is one the module's parser declares; a named experiment and its --set keys exist."""
    _check_flags(f"jaxgan/{module.replace('.', '/')}.py", argv)
    if "--exp" in argv:
        config = configs.get_config(argv[argv.index("--exp") + 1])
        configs.apply_overrides(config, [argv[i + 1] for i, word in enumerate(argv) if word == "--set"])


@pytest.mark.parametrize("page, command", COMMANDS, ids=[f"{page}: {' '.join(c)[:60]}" for page, c in COMMANDS])
def test_every_command_in_the_docs_parses_against_the_cli(page, command):
    if command[:2] == ["python", "-m"] and command[2].startswith("jaxgan."):
        module = command[2].removeprefix("jaxgan.")
        if module == "run":
            _check_jaxgan_run(command[3:])
        else:
            _check_module_flags(module, command[3:])
    elif command[0] == "jaxgan-run":
        _check_jaxgan_run(command[1:])
    elif command[0] == "python" and command[1].startswith("experiments/"):
        _check_flags(command[1], command[2:])
        methods = command[command.index("--methods") + 1 :] if "--methods" in command else []
        for method in methods[: next((i for i, w in enumerate(methods) if w.startswith("--")), len(methods))]:
            configs.get_config(method)
    elif command[:2] == ["pip", "install"]:
        extras = re.findall(r"\.\[(.*)\]", " ".join(command))
        declared = (ROOT / "pyproject.toml").read_text()
        for extra in ",".join(extras).split(",") if extras else []:
            assert re.search(rf"^{extra} = \[", declared, re.M), f"pyproject.toml has no extra {extra}"
    else:
        assert any(tuple(command[: len(p)]) == p for p in OTHER_PROGRAMS), f"{page}: unchecked command {command}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


LINKS = [(page, target) for page, text in PAGES.items() for target in re.findall(r"\]\(([^)\s]+)\)", text)]


@pytest.mark.parametrize("page, target", LINKS, ids=[f"{page} -> {target}" for page, target in LINKS])
def test_every_link_stays_inside_the_repository_and_resolves(page, target):
    assert "://" not in target, f"{page} links outside the repository: {target}"
    path, _, anchor = target.partition("#")
    resolved = ((ROOT / page).parent / path).resolve() if path else ROOT / page
    assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{page}: {target} does not resolve"
    if anchor:
        headings = re.findall(r"^#+ (.*)$", resolved.read_text(), re.M)
        assert anchor in {_anchor(heading) for heading in headings}, f"{page}: no heading for #{anchor} in {path}"


def test_the_readme_is_a_front_door():
    assert len(README.splitlines()) <= 250


def _minutes(summary: dict) -> str:
    minutes = summary["wall_s"] / 60
    return f"{minutes:.1f}" if minutes < 10 else f"{minutes:,.0f}"


def _machine(summary: dict) -> str:
    """The README's name for the machine a committed summary was made on."""
    for word, name in (("Intel", "Intel CPU"), ("EPYC", "EPYC CPU"), ("H200", "H200")):
        if word in summary["hardware"]:
            return name
    raise AssertionError(f"no README name for the hardware {summary['hardware']!r}")


def _headline(name: str, s: dict) -> str:
    """What the README's experiments table says of a run, from its summary."""
    if "high_quality" in s:
        quality = f"{100 * s['high_quality']:.1f} % high quality"
        return f"{s['modes']} / {s['modes_total']} modes, {quality}, W1 {s['w1_to_data']:.3f}"
    if "stacked_modes" in s:
        modes, kl = s["stacked_modes_any_confidence"], s["stacked_kl_to_uniform_any_confidence"]
        return f"{modes:,} modes, KL {kl:.3f} (every sample, as published)"
    if "classifier_fid" in s:
        return f"classifier FID {_fid(s['classifier_fid'])} (floor {_fid(s['classifier_fid_real_images'])})"
    if "held_out_iwae" in s:
        return f"held-out IWAE bound {_signed(s['held_out_iwae'], 2)} nats"
    if "held_out_reconstruction_nats" in s:
        return f"held-out reconstruction {s['held_out_reconstruction_nats']:.1f} nats"
    return f"V(D*) = 2·JS − log 4 = {_signed(s['distinct']['value_at_D_star'], 5)}"


SUMMARISED = sorted(path.name.removesuffix("_summary.json") for path in RESULTS.glob("*_summary.json"))


@pytest.mark.parametrize("name", [name for name in SUMMARISED if name in configs.list_experiments()])
def test_readme_experiments_table_quotes_the_committed_summaries(name):
    s = _summary(name)
    minutes, where, headline = _row("Experiments", name, "README.md")[1:]
    if "wall_s" in s and not where.startswith("H200"):
        assert minutes == _minutes(s)
    if "hardware" in s:
        assert where.startswith(f"{_machine(s)}, "), (where, s["hardware"])
    if name not in ("critic_1d", "parallel_lines", "bilinear_game", "adversarial_examples"):
        assert headline == _headline(name, s)


def _study_rows() -> dict[str, dict]:
    """The ring results of every committed mode-coverage study, by method."""
    rows = {}
    for path in RESULTS.glob("**/mode_coverage.json"):
        for result in json.loads(path.read_text()):
            if result["dataset"] == "8gaussians" and not result.get("overrides"):
                rows[result["method"]] = result
    return rows


@pytest.mark.parametrize(
    "name", ["gan_mlp", "nsgan_mlp", "lsgan_mlp", "hinge_mlp", "rasgan_mlp", "rpgan_mlp", "ebgan_mlp", "meg_mlp"]
)
def test_readme_experiments_table_quotes_the_mode_coverage_studies(name):
    assert _row("Experiments", name, "README.md")[-1] == _ring_headline(_study_rows()[name]["per_seed"])


def _ring_headline(per_seed: list[dict]) -> str:
    """The README's headline of a study on the ring: modes and high quality, means over seeds."""
    modes = sum(r["modes"] for r in per_seed) / len(per_seed)
    quality = 100 * sum(r["high_quality"] for r in per_seed) / len(per_seed)
    return f"ring: {modes:.1f} / 8 modes, {quality:.1f} % high quality"


@pytest.mark.parametrize(
    "name, study", [("wgangp_decay_mlp", "wgangp_decay_10k"), ("wgangp_decay_ring_mlp", "wgangp_ring")]
)
def test_readme_experiments_table_quotes_the_wgangp_recipes_studies(name, study):
    """The WGAN-GP recipes' rows quote the studies of their settings at their budgets."""
    results = mode_coverage_study(study)
    per_seed = next(result for result in results if result["dataset"] == "8gaussians")["per_seed"]
    assert _row("Experiments", name, "README.md")[-1] == _ring_headline(per_seed)


@pytest.mark.parametrize(
    "name, studies",
    [
        ("wgangp_decay_mlp", ["wgangp_decay_10k"]),
        ("wgangp_decay_ring_mlp", ["wgangp_ring", "wgangp_ring_grid"]),
        ("rpgan_mlp", ["rpgan"]),
        ("gmmn_mlp", ["gmmn"]),
    ],
)
def test_frontier_toy_rows_are_the_studies(name, studies):
    """Each toy row of the frontier: its seeds (ring / grid where they differ), then modes and
    high quality on each set as mean ± standard error over those seeds (blank for a set the
    studies did not run)."""
    results = mode_coverage_study(*studies)
    cells, seeds = [], []
    for dataset in ("8gaussians", "25gaussians"):
        studied = [result for result in results if result["dataset"] == dataset]
        if not studied:
            cells += ["", ""]
            continue
        per_seed = studied[0]["per_seed"]
        seeds.append(str(len(per_seed)))
        for values in ([r["modes"] for r in per_seed], [100 * r["high_quality"] for r in per_seed]):
            cells.append(f"{np.mean(values):.1f} ± {np.std(values, ddof=1) / np.sqrt(len(values)):.1f}")
    assert _row("The frontier", name) == [" / ".join(dict.fromkeys(seeds)), *cells, "jaxgan, below"]


@pytest.mark.parametrize("name", STACKED_MNIST_RUNS)
def test_frontier_stacked_mnist_rows_are_the_summary(name):
    s = _summary(name)
    for row, suffix in ((name, ""), ("real images, held-out digits (the floor)", "_real_images")):
        modes, kl = s[f"stacked_modes_any_confidence{suffix}"], s[f"stacked_kl_to_uniform_any_confidence{suffix}"]
        assert _row("The frontier", row) == [f"{modes:,}", f"{kl:.3f}", "jaxgan, below"]
