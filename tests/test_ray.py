"""The grid on Ray: a local Ray instance runs a tiny grid with a bad run and a dying worker."""

import json
import os
import signal
from pathlib import Path

import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from bilateral.grid import GridSpec, _run_in_worker, finished_runs, run_grid  # noqa: E402

# bilateral runs fail on purpose: a bilateral model needs an even width
GRID = {
    "budget": "tiny",
    "seeds": 2,
    "tasks": ("reach",),
    "variants": ("uni", "uni-dom", "bi"),
    "extra": {"train": {"width": 11}},
}
DYING = "distal/reach/uni/seed1"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def worker_that_dies(markers: str, times: int):
    """A task body that SIGKILLs its own worker process the first ``times`` times it runs DYING."""

    def worker(spec, root, budget):
        if spec.key == DYING:
            marker = Path(markers) / f"attempts-{os.getpid()}"
            attempts = len(list(Path(markers).glob("attempts-*")))
            if attempts < times:
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-run
        return _run_in_worker(spec, root, budget)

    return worker


def tables(root: Path) -> dict[str, pd.DataFrame]:
    return {str(run.relative_to(root)): pd.read_parquet(run / "evaluation.parquet") for run in finished_runs(root)}


@pytest.mark.parametrize("transfer", ["shared", "object-store"])
def test_grid_on_ray_survives_a_bad_run_and_a_dying_worker(local_ray, tmp_path, transfer):
    markers = tmp_path / "markers"
    markers.mkdir()
    counts = run_grid(
        GridSpec(**GRID),
        tmp_path / "ray",
        backend="ray",
        transfer=transfer,
        progress=False,
        worker=worker_that_dies(str(markers), times=1),
    )
    assert counts == {"finished": 4, "skipped": 0, "failed": 2}
    assert len(list(markers.iterdir())) == 1  # the dying run was retried once, and finished
    failures = json.loads((tmp_path / "ray" / "failures.json").read_text())
    assert sorted(failures) == ["distal/reach/bi/seed0", "distal/reach/bi/seed1"]
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


def test_a_worker_that_keeps_dying_is_reported_and_the_grid_goes_on(local_ray, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    grid = GridSpec(budget="tiny", seeds=2, tasks=("reach",), variants=("uni",))
    counts = run_grid(
        grid, tmp_path / "grid", backend="ray", progress=False, worker=worker_that_dies(str(markers), times=99)
    )
    assert counts == {"finished": 1, "skipped": 0, "failed": 1}
    failures = json.loads((tmp_path / "grid" / "failures.json").read_text())
    assert list(failures) == [DYING]
    assert "Worker" in failures[DYING]["error"] or "died" in failures[DYING]["error"].lower()
    assert len(list(markers.iterdir())) == 3  # the first attempt and max_retries=2 retries
