"""README's Python examples run as written (in a fresh folder, with off-screen rendering), and use
only the names the package offers users."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bilateral

README = Path(__file__).parent.parent / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_a_python_example_of_the_public_api():
    example = next(e for e in EXAMPLES if "import bilateral\n" in e)
    used = set(re.findall(r"\bbilateral\.(\w+)", example))
    assert used and used <= set(bilateral.__all__), used - set(bilateral.__all__)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.splitlines()[0])
def test_readme_examples_run(example, tmp_path):
    env = {**os.environ, "MUJOCO_GL": "egl", "PYTHONPATH": str(README.parent)}
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
