"""The experiment scripts answer a bad run directory in one line, as the CLIs do."""

import importlib.util
import pathlib

EXPERIMENTS = pathlib.Path(__file__).parent.parent / "experiments"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_truncation_curve_of_a_missing_run_is_one_line_and_exit_2(tmp_path, capsys):
    missing = tmp_path / "runs" / "biggan_fashion_mnist"
    assert _script("truncation_curve").main([str(missing)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("experiments/truncation_curve.py: error: ") and error.count("\n") == 1
    assert str(missing) in error
