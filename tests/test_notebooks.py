"""The notebooks run top to bottom, headless, on the tiny budget they are parameterised for."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bilateral.report import publish

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"quickstart", "paper_comparison", "lesions_and_hemispheres"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    book = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), "commit without outputs"
    monkeypatch.setenv("BILATERAL_BUDGET", "ci")
    monkeypatch.setenv("BILATERAL_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    execute(book, tmp_path)
    if path.stem == "paper_comparison":  # and it reads a published grid (docs/results/...) as it is
        publish(tmp_path / "out" / "grid", tmp_path / "published")
        monkeypatch.setenv("BILATERAL_BUDGET", "full")
        monkeypatch.setenv("BILATERAL_GRID", str(tmp_path / "published"))
        execute(nbformat.read(path, as_version=4), tmp_path)
        assert not (tmp_path / "published" / "runs").exists()  # read, not re-run


def execute(book, directory: Path) -> None:
    """Run a notebook in ``directory``; no cell may fail."""
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(directory)}}).execute()
    produced = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in produced if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in produced)  # it shows its plots
