"""The notebooks are committed executed, with their plots, and run top to bottom, headless, on the
tiny budget they are parameterised for (into a temporary copy: the committed ones are never rewritten)."""

import base64
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bilateral.report import publish

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
MAX_IMAGE_BYTES = 200_000  # a committed plot; a notebook stays readable on a repository page
MAX_NOTEBOOK_BYTES = 2_000_000


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"quickstart", "paper_comparison", "lesions_and_hemispheres"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_with_its_plots(path):
    """A reader on the repository page sees the plots: every code cell ran, in order, without errors."""
    assert path.stat().st_size <= MAX_NOTEBOOK_BYTES
    book = nbformat.read(path, as_version=4)
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "run it top to bottom"
    outputs = [o for cell in code for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o.data["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert images, "commit it executed, with its plots"
    assert all(len(base64.b64decode(image)) <= MAX_IMAGE_BYTES for image in images)
    if path.stem in ("paper_comparison", "lesions_and_hemispheres"):  # shown on the committed strong grid
        assert "docs/results/strong" in "".join(o.get("text", "") for o in code[0].outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    book = fresh(path)
    monkeypatch.setenv("BILATERAL_BUDGET", "ci")
    monkeypatch.setenv("BILATERAL_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    execute(book, tmp_path)
    if path.stem == "paper_comparison":  # and it reads a published grid (docs/results/...) as it is
        publish(tmp_path / "out" / "grid", tmp_path / "published")
        monkeypatch.setenv("BILATERAL_BUDGET", "full")
        monkeypatch.setenv("BILATERAL_GRID", str(tmp_path / "published"))
        execute(fresh(path), tmp_path)
        assert not (tmp_path / "published" / "runs").exists()  # read, not re-run


def fresh(path: Path):
    """The notebook at ``path`` without its committed outputs (so that what is checked is what ran)."""
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return book


def execute(book, directory: Path) -> None:
    """Run a notebook in ``directory``; no cell may fail."""
    NotebookClient(book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(directory)}}).execute()
    produced = [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in produced if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in produced)  # it shows its plots
