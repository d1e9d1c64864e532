"""A method for the grid tests: the distal teacher, whose worker process dies on one chosen run.

Grids find it by name through ``BILATERAL_METHODS=dying=grid_support:DYING`` (workers inherit the
variable, and the tests directory is on their path). ``BILATERAL_TEST_MARKERS`` names a folder whose
``dying.json`` says which run dies (``"run": "task/variant/seedN"``) and how many times (``"times"``);
each death leaves a marker file there, so the attempts can be counted across processes.
"""

import json
import os
import signal
from pathlib import Path

from bilateral.methods.distal import Distal


class Dying(Distal):
    name = "dying"

    @staticmethod
    def train(config, directory, *, resume: bool = True, progress: bool = False) -> dict:
        markers = Path(os.environ["BILATERAL_TEST_MARKERS"])
        plan = json.loads((markers / "dying.json").read_text()) if (markers / "dying.json").exists() else {}
        if f"{config.task}/{config.variant}/seed{config.seed}" == plan.get("run"):
            if len(list(markers.glob("attempt-*"))) < plan.get("times", 1):
                (markers / f"attempt-{os.getpid()}").touch()
                os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-run: no clean-up, nothing
        return Distal.train(config, directory, resume=resume, progress=progress)


DYING = Dying()


def plan_deaths(markers: Path, run: str | None, times: int = 1) -> None:
    """Make ``run`` die ``times`` times (None: no run dies), forgetting earlier attempts."""
    markers.mkdir(parents=True, exist_ok=True)
    for old in markers.glob("attempt-*"):
        old.unlink()
    (markers / "dying.json").write_text(json.dumps({"run": run, "times": times}))
