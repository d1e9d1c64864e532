"""The documentation: the site builds with warnings as errors, every Python example in it runs, every
"DESIGN §n" of the code resolves to a section of the design page, and README stays short."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").stat().st_size > 10_000  # the docstrings rendered


@pytest.mark.parametrize("page", [p for p in PAGES if "```python" in p.read_text()], ids=lambda p: p.name)
def test_every_python_example_of_a_page_runs(page, tmp_path):
    examples = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    env = {**os.environ, "MUJOCO_GL": "egl", "PYTHONPATH": str(ROOT)}
    code = "\n".join(examples)  # a page's examples in order, as a reader runs them
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_design_reference_resolves_to_a_section():
    sections = set(re.findall(r"(?m)^## (\d+)\. ", (ROOT / "docs" / "design.md").read_text()))
    cited = set()
    for path in ROOT.rglob("*"):
        if path.suffix in (".py", ".md", ".ipynb") and ".venv" not in path.parts and "site" not in path.parts:
            cited |= set(re.findall(r"DESIGN §(\d+)", path.read_text(errors="ignore")))
    assert cited and cited <= sections, sorted(cited - sections)


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) < 150
