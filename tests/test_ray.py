"""The grid on Ray: a local Ray instance runs a tiny grid with a bad run and a dying worker."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from grid_support import plan_deaths  # noqa: E402

from bilateral.grid import GridSpec, finished_runs, run_grid  # noqa: E402
from bilateral.grid.settings import BUDGETS  # noqa: E402

# bilateral runs fail on purpose: a bilateral model needs an even width
ODD = BUDGETS["tiny"].replace(name="tiny-odd", train={**BUDGETS["tiny"].train, "width": 11})
GRID = {"budget": ODD, "seeds": 2, "tasks": ("reach",), "variants": ("uni", "uni-dom", "bi"), "methods": ("dying",)}
DYING = "dying/reach/uni/seed1"


@pytest.fixture(scope="module")
def markers(tmp_path_factory):
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def local_ray(markers):
    """A local Ray whose workers know the ``dying`` method (tests/grid_support.py)."""
    tests = str(Path(__file__).parent)
    env = {
        "BILATERAL_METHODS": "dying=grid_support:DYING",
        "BILATERAL_TEST_MARKERS": str(markers),
        "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the driver resolves the method too
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield
    ray.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def tables(root: Path) -> dict[str, pd.DataFrame]:
    return {str(run.relative_to(root)): pd.read_parquet(run / "evaluation.parquet") for run in finished_runs(root)}


@pytest.mark.parametrize("transfer", ["shared", "object-store"])
def test_grid_on_ray_survives_a_bad_run_and_a_dying_worker(local_ray, markers, tmp_path, transfer):
    plan_deaths(markers, "reach/uni/seed1", times=1)
    counts = run_grid(GridSpec(**GRID), tmp_path / "ray", backend="ray", transfer=transfer, progress=False)
    assert counts == {"finished": 4, "skipped": 0, "failed": 2}
    assert len(list(markers.glob("attempt-*"))) == 1  # the dying run was retried once, and finished
    failures = json.loads((tmp_path / "ray" / "failures.json").read_text())
    assert sorted(failures) == ["dying/reach/bi/seed0", "dying/reach/bi/seed1"]
    assert all("even width" in f["error"] for f in failures.values())
    assert not list((tmp_path / "ray").rglob(".*tmp*"))

    # the same grid on the local backend: the same results, bit for bit
    assert run_grid(GridSpec(**GRID), tmp_path / "local", workers=1, progress=False)["finished"] == 4
    ray_tables, local_tables = tables(tmp_path / "ray"), tables(tmp_path / "local")
    assert sorted(ray_tables) == sorted(local_tables) and len(ray_tables) == 4
    for key, table in ray_tables.items():
        pd.testing.assert_frame_equal(table, local_tables[key])

    # and a second pass on Ray skips the finished runs, retrying only the failed ones
    again = run_grid(GridSpec(**GRID), tmp_path / "ray", backend="ray", transfer=transfer, progress=False)
    assert again == {"finished": 0, "skipped": 4, "failed": 2}


def test_a_worker_that_keeps_dying_is_reported_and_the_grid_goes_on(local_ray, markers, tmp_path):
    plan_deaths(markers, "reach/uni/seed1", times=99)
    grid = GridSpec(budget="tiny", seeds=2, tasks=("reach",), variants=("uni",), methods=("dying",))
    counts = run_grid(grid, tmp_path / "grid", backend="ray", progress=False)
    assert counts == {"finished": 1, "skipped": 0, "failed": 1}
    failures = json.loads((tmp_path / "grid" / "failures.json").read_text())
    assert list(failures) == [DYING]
    assert "Worker" in failures[DYING]["error"] or "died" in failures[DYING]["error"].lower()
    assert len(list(markers.glob("attempt-*"))) == 3  # the first attempt and max_retries=2 retries
