"""Every notebook in notebooks/ runs from top to bottom (its cells assert what they show)."""

import pathlib

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_tutorials_are_all_found():
    """The parametrised test below would pass on an empty list; the tutorials are named here."""
    assert {path.stem for path in NOTEBOOKS} == {
        "divergences_and_optimal_discriminator",
        "elbo_and_vae",
        "gan_dynamics",
        "nnx_players",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
