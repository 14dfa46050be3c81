"""The mode-coverage study script: vmapped seeds, its metrics, and its outputs."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

pytestmark = pytest.mark.standard_dtype_promotion  # optax's Adam runs here (tests/conftest.py)

SCRIPT = pathlib.Path(__file__).parent.parent / "experiments" / "mode_coverage.py"


def _study():
    spec = importlib.util.spec_from_file_location("mode_coverage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_study(out) -> list[str]:
    """Two seeds, two iterations, one method on both datasets, written to `out`."""
    return "--seeds 2 --steps 2 --methods nsgan_mlp --datasets 8gaussians 25gaussians --out".split() + [str(out)]


def test_study_writes_its_table_json_and_figure_and_resumes(tmp_path, monkeypatch):
    study = _study()
    study.main(_tiny_study(tmp_path))
    table = (tmp_path / "mode_coverage.md").read_text().splitlines()
    assert table[0].startswith("| method | 8gaussians: modes") and table[2].startswith("| `nsgan_mlp` |")
    results = json.loads((tmp_path / "mode_coverage.json").read_text())
    assert [(r["method"], r["dataset"], r["seeds"]) for r in results] == [
        ("nsgan_mlp", "8gaussians", [0, 1]),
        ("nsgan_mlp", "25gaussians", [0, 1]),
    ]
    for result in results:
        assert len(result["per_seed"]) == 2 and result["finite_losses"]
        for coverage in result["per_seed"]:
            assert 0 <= coverage["modes"] <= result["modes_total"] and 0 <= coverage["high_quality"] <= 1
            assert 0 <= coverage["reverse_kl"] <= np.log(result["modes_total"]) + 1e-6
    assert (tmp_path / "mode_coverage.png").stat().st_size > 0
    # --resume reuses the finished pairs (same seeds and budget) and trains only what is missing.
    trained = []

    def training_stub(method, dataset, *args):
        trained.append((method, dataset))
        raise InterruptedError

    monkeypatch.setattr(study, "run_seeds", training_stub)
    study.main([*_tiny_study(tmp_path), "--resume"])
    assert trained == [] and (tmp_path / "mode_coverage.md").read_text().splitlines() == table
    # --table-only writes the same table from the JSON alone.
    (tmp_path / "mode_coverage.md").unlink()
    study.main(["--table-only", "--out", str(tmp_path)])
    assert (tmp_path / "mode_coverage.md").read_text().splitlines() == table
    with pytest.raises(InterruptedError):  # a pair with another budget is trained again
        study.main(
            [
                "--seeds",
                "2",
                "--steps",
                "3",
                "--methods",
                "nsgan_mlp",
                "--datasets",
                "8gaussians",
                "--out",
                str(tmp_path),
                "--resume",
            ]
        )
    assert trained == [("nsgan_mlp", "8gaussians")]


def test_resume_with_more_seeds_trains_only_the_new_ones_and_adds_them(tmp_path, monkeypatch):
    """A 1-seed study resumed with --seeds 3 trains seeds 1 and 2 in one program and keeps seed 0's
    results and samples; resumed with fewer seeds it trains nothing and keeps all three, and
    resumed on another dataset it keeps the pair it was not asked for."""
    study = _study()
    study_in_tmp = "--steps 2 --methods nsgan_mlp --out".split() + [str(tmp_path)]
    argv = [*study_in_tmp, "--datasets", "8gaussians"]
    study.main(["--seeds", "1", *argv])
    (first,) = json.loads((tmp_path / "mode_coverage.json").read_text())
    with np.load(tmp_path / "mode_coverage_samples.npz") as arrays:
        seed0_samples = arrays["nsgan_mlp/8gaussians/samples_seed0"]
    run_seeds, trained = study.run_seeds, []

    def recording_run_seeds(method, dataset, seeds, *args):
        trained.append(seeds)
        return run_seeds(method, dataset, seeds, *args)

    monkeypatch.setattr(study, "run_seeds", recording_run_seeds)
    study.main(["--seeds", "3", *argv, "--resume"])
    (grown,) = json.loads((tmp_path / "mode_coverage.json").read_text())
    assert trained == [[1, 2]]
    assert grown["seeds"] == [0, 1, 2] and grown["seed_groups"] == [[0], [1, 2]]
    assert grown["per_seed"][0] == first["per_seed"][0] and len(grown["per_seed"]) == 3
    assert grown["seconds"] > first["seconds"] and grown["finite_losses"]
    with np.load(tmp_path / "mode_coverage_samples.npz") as arrays:
        np.testing.assert_array_equal(arrays["nsgan_mlp/8gaussians/samples_seed0"], seed0_samples)
    assert (tmp_path / "mode_coverage.md").read_text().splitlines()[2].startswith("| `nsgan_mlp` | ")
    study.main(["--seeds", "2", *argv, "--resume"])  # fewer seeds than saved: the 3 are kept
    assert trained == [[1, 2]] and json.loads((tmp_path / "mode_coverage.json").read_text()) == [grown]
    # Another dataset alone: it is trained, and the ring's saved pair stays in the study.
    study.main([*study_in_tmp, "--seeds", "1", "--datasets", "25gaussians", "--resume"])
    assert trained == [[1, 2], [0]]
    saved = json.loads((tmp_path / "mode_coverage.json").read_text())
    assert [(r["dataset"], r["seeds"]) for r in saved] == [("8gaussians", [0, 1, 2]), ("25gaussians", [0])]
    assert (tmp_path / "mode_coverage.md").read_text().splitlines()[0].count("modes") == 2


def test_table_reports_mean_and_standard_error_over_seeds():
    """s/√n with s the sample standard deviation: modes 8, 6, 7 give s = 1 and 1/√3 = 0.58."""
    study = _study()
    per_seed = [
        {"modes": 8, "high_quality": 0.9, "reverse_kl": 0.0},
        {"modes": 6, "high_quality": 0.5, "reverse_kl": 0.2},
        {"modes": 7, "high_quality": 0.7, "reverse_kl": 0.1},
    ]
    result = {"method": "m", "dataset": "d", "per_seed": per_seed, "modes_total": 8, "seconds": 120.0}
    row = study.markdown_table([result], ["d"]).splitlines()[2]
    assert row == "| `m` | 7.0 ± 0.6 / 8 | 70.0 ± 11.5 | 0.100 ± 0.058 | 2.0 |"


def test_table_gives_dashes_where_a_method_has_no_result_on_a_dataset():
    study = _study()
    per_seed = [{"modes": 8, "high_quality": 1.0, "reverse_kl": 0.0}]
    ring = {"method": "a", "dataset": "ring", "per_seed": per_seed, "modes_total": 8, "seconds": 60.0}
    rows = study.markdown_table([ring, {**ring, "method": "b", "dataset": "grid"}], ["ring", "grid"]).splitlines()
    assert rows[2] == "| `a` | 8.0 ± 0.0 / 8 | 100.0 ± 0.0 | 0.000 ± 0.000 | – | – | – | 1.0 |"
    assert rows[3] == "| `b` | – | – | – | 8.0 ± 0.0 / 8 | 100.0 ± 0.0 | 0.000 ± 0.000 | 1.0 |"


def test_study_trains_the_energy_model_under_overrides_and_retrains_when_they_change(tmp_path, monkeypatch):
    """The Langevin EBM runs in the vmapped study like the GANs; `--set` reaches every method's
    config, is recorded, and a resume under other overrides trains the pair again."""
    study = _study()
    small = ["--set", "model.critic_hidden=16,16", "--set", "ebm.langevin_steps=2"]
    argv = "--seeds 2 --steps 2 --methods ebm_langevin_mlp --datasets 8gaussians --out".split() + [str(tmp_path)]
    study.main([*argv, *small])
    (result,) = json.loads((tmp_path / "mode_coverage.json").read_text())
    assert result["overrides"] == ["model.critic_hidden=16,16", "ebm.langevin_steps=2"] and result["finite_losses"]
    assert [0 <= seed["modes"] <= 8 for seed in result["per_seed"]] == [True, True]
    row = (tmp_path / "mode_coverage.md").read_text().splitlines()[2]
    assert row.startswith("| `ebm_langevin_mlp` `model.critic_hidden=16,16` `ebm.langevin_steps=2` | ")
    trained = []

    def training_stub(method, dataset, *args):
        trained.append((method, dataset, args[-1]))
        raise InterruptedError

    monkeypatch.setattr(study, "run_seeds", training_stub)
    study.main([*argv, *small, "--resume"])
    assert trained == []
    with pytest.raises(InterruptedError):
        study.main([*argv, *small[:2], "--resume"])
    assert trained == [("ebm_langevin_mlp", "8gaussians", ["model.critic_hidden=16,16"])]
