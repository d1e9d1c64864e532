"""Running a grid's runs as Ray tasks, on one machine or a cluster (the ``ray`` extra).

Why Ray *tasks* rather than Ray Tune: a grid is a fixed list of independent runs with known
configurations — no search space, no scheduler, no early stopping across runs — and each run already
writes, checkpoints and resumes itself in its own folder. A task per run maps onto that directly
(resources per run, retries when a worker dies) without a second experiment layout beside ours.

Each task calls ``bilateral.grid.run.run_reporting``. Where its results go:

- ``shared`` (default): workers write straight into the grid directory, which every node must see
  at the same path (NFS, a mounted bucket, or a single machine). Runs keep their checkpoints there,
  so a retried run resumes where the dead worker left it.
- ``object-store``: workers run in a local scratch directory and return the finished run folder
  as an archive through Ray's object store; the driver unpacks it into the grid directory (into a
  temporary folder, then renamed into place). Nothing is shared; a retried run starts again.

A worker that dies (killed, out of memory, node lost) loses only its own run: Ray retries the task
(``max_retries``), and if it keeps dying the run is reported as failed while the grid goes on. An
error inside a run (a bad configuration, say) is not retried: it is reported with its message.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from bilateral.grid.local import Tally
from bilateral.grid.run import run_reporting, test_set_path, test_sets_of
from bilateral.grid.settings import TRANSFERS, Budget
from bilateral.grid.spec import RunSpec
from bilateral.io import give_default_mode


def _task(spec: RunSpec, root: str, budget: Budget, transfer: str, test_sets: dict | None) -> dict:
    """One run on a Ray worker (see the module docstring for ``transfer``; ``test_sets``: the run's test
    sets by name, for ``object-store``)."""
    if transfer == "shared":
        return run_reporting(spec, root, budget)
    with tempfile.TemporaryDirectory(prefix="bilateral-run-") as scratch:
        for name, content in test_sets.items():
            path = test_set_path(Path(scratch), name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        result = run_reporting(spec, scratch, budget)
        if result["status"] == "finished":
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                tar.add(spec.directory(scratch), arcname=".")
            result["archive"] = buffer.getvalue()
        return result


def _unpack(archive: bytes, destination: Path) -> None:
    """Extract a run folder beside ``destination``, then rename it into place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = tar.getmembers()
            for member in members:  # only plain files and folders inside the run folder
                if (
                    not (member.isfile() or member.isdir())
                    or Path(member.name).is_absolute()
                    or ".." in Path(member.name).parts
                ):
                    raise ValueError(f"unexpected entry {member.name!r} in a run archive")
            tar.extractall(staging, members=members)
        give_default_mode(staging)
        if destination.exists():
            shutil.rmtree(destination)  # an unfinished local attempt: the worker's result replaces it
        os.replace(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_with_ray(
    specs: list[RunSpec],
    root: Path,
    budget: Budget,
    tally: Tally,
    *,
    address: str | None = None,
    cpus_per_run: float = 1.0,
    transfer: str = "shared",
    max_retries: int = 2,
) -> None:
    """Run ``specs`` as Ray tasks, recording one result per run in ``tally`` as each ends.

    ``address``: None joins the cluster this machine belongs to if there is one (``ray start --head``
    on the head node), else starts Ray here; "auto" requires a running cluster; "ray://host:10001"
    reaches a remote one through Ray Client; "local" always starts Ray here. If Ray is already
    initialised in this process it is used as it is. ``max_retries``: how often a run whose worker
    died is tried again. The workers get this process's ``MUJOCO_GL`` and ``BILATERAL_METHODS``.
    """
    try:
        import ray
    except ImportError:
        raise ValueError("the ray backend needs the ray extra: pip install -e '.[ray]'") from None

    if transfer not in TRANSFERS:
        raise ValueError(f"transfer must be one of {TRANSFERS}, got {transfer!r}")
    started_here = not ray.is_initialized()
    if started_here:
        env_vars = {"MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
        if os.environ.get("BILATERAL_METHODS"):
            env_vars["BILATERAL_METHODS"] = os.environ["BILATERAL_METHODS"]
        ray.init(
            address=None if address == "local" else address, log_to_driver=False, runtime_env={"env_vars": env_vars}
        )
    remote = ray.remote(num_cpus=cpus_per_run, max_retries=max_retries)(_task)
    test_sets = {}
    if transfer == "object-store":  # one copy of each test set in the object store, shared by the tasks
        test_sets = {
            task: ray.put({name: test_set_path(root, name).read_bytes() for name in test_sets_of(task)})
            for task in {s.task for s in specs}
        }
    pending = {remote.remote(spec, str(root), budget, transfer, test_sets.get(spec.task)): spec for spec in specs}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                spec = pending.pop(ref)
                try:
                    result = ray.get(ref)
                    archive = result.pop("archive", None)
                    if archive is not None:
                        _unpack(archive, spec.directory(root))
                except Exception as error:  # the worker died too often, or its folder could not be unpacked
                    result = {"key": spec.key, "status": "failed", "error": f"{type(error).__name__}: {error}"}
                tally.record(result, running=len(pending))
    finally:
        if started_here:
            ray.shutdown()
