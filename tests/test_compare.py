"""python -m jaxgan.compare: a table of finished runs, refused across classifiers."""

import json

import pytest

from jaxgan import compare


def _run(tmp_path, name: str, summary: dict, config: dict) -> str:
    run_dir = tmp_path / name
    run_dir.mkdir()
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "config.json").write_text(json.dumps(config))
    return str(run_dir)


def _image_run(tmp_path, name: str, fid: float, classifier_id: str, decay: float) -> str:
    summary = {"steps": 2000, "classifier_id": classifier_id, "classifier_fid": fid, "classifier_kid": 12.5}
    config = {"experiment": "dcgan_mnist", "seed": 0, "train": {"steps": 2000, "generator_ema": decay}}
    return _run(tmp_path, name, summary, config)


def test_the_table_has_a_row_per_run_with_what_sets_it_apart(tmp_path, capsys):
    first = _image_run(tmp_path, "a", 134.31, "c1", 0.99)
    second = _image_run(tmp_path, "b", 164.1284, "c1", 0.999)
    assert compare.main([first, second]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| run | differs by | steps | classifier_fid | classifier_kid |"
    assert lines[2] == f"| {first} | train.generator_ema=0.99 | 2000 | 134.3 | 12.5 |"
    assert lines[3] == f"| {second} | train.generator_ema=0.999 | 2000 | 164.1 | 12.5 |"


def test_runs_scored_by_different_classifiers_are_refused_in_one_line(tmp_path, capsys):
    first = _image_run(tmp_path, "a", 134.31, "c1", 0.99)
    second = _image_run(tmp_path, "b", 164.1284, "c2", 0.99)
    assert compare.main([first, second]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "scored by different classifiers" in error and f"{second} (c2)" in error
    assert "same eval.classifier_steps" in error
    with pytest.raises(compare.configs.ConfigError):
        compare.read_runs([first, second])


def test_toy_runs_compare_without_a_classifier_and_an_unfinished_run_is_named(tmp_path, capsys):
    toy = _run(tmp_path, "toy", {"steps": 10, "modes": 8, "w1_to_data": 0.2364}, {"seed": 1})
    image = _image_run(tmp_path, "image", 134.31, "c1", 0.99)
    assert compare.main([toy, image]) == 0
    assert "| 8 |" in capsys.readouterr().out
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    assert compare.main([toy, str(unfinished)]) == 2
    assert f"{unfinished} has no summary.json" in capsys.readouterr().err
