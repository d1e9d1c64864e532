"""Bilateral (two-hemisphere) neural-network motor controllers for the MuJoCo six-muscle arm.

What a user imports (each name is loaded when first used, so ``import bilateral`` stays light)::

    import bilateral

    config = bilateral.TrainConfig.from_preset("strong", task="reach", variant="bi-spec-cc", seed=0)
    bilateral.train(config, "runs/one")              # the distal teacher (an RLConfig: reinforcement learning)
    trained = bilateral.load("runs/one")              # the model, its config, how it acts
    table = bilateral.evaluate(trained, trials=64)    # per-trial metrics on the fixed test set, every lesion
    bilateral.run_grid(bilateral.GridSpec(budget="quick", seeds=2), "runs/quick")
    bilateral.write_report("runs/quick")              # summary.csv, claims.md, figures

The environments are ``bilateral_envs`` (``gymnasium.make("bilateral/RandomReach-v1")``).
"""

from __future__ import annotations

from bilateral.lazy import lazy_attributes

__version__ = "0.1.0"

_PUBLIC = {
    "TrainConfig": "bilateral.methods.distal.config",
    "TRAINING_PRESETS": "bilateral.methods.distal.config",
    "RLConfig": "bilateral.methods.rl.config",
    "GridSpec": "bilateral.grid.spec",
    "Budget": "bilateral.grid.settings",
    "BUDGETS": "bilateral.grid.settings",
    "Execution": "bilateral.grid.settings",
    "run_grid": "bilateral.grid",
    "VARIANTS": "bilateral.variants",
    "LESIONS": "bilateral.variants",
    "Trained": "bilateral.methods",
}

__getattr__ = lazy_attributes(__name__, _PUBLIC)


def train(config, out, *, resume: bool = False, progress: bool = True) -> dict:
    """Train ``config`` into the run directory ``out``: a ``TrainConfig`` with the distal teacher, an
    ``RLConfig`` with its RL method. ``resume`` continues a run cut short. Returns the run's summary."""
    from bilateral import methods

    return methods.get(getattr(config, "method", "distal")).train(config, out, resume=resume, progress=progress)


def write_report(root, *, videos: bool = True) -> dict:
    """Tables (``summary.csv``, ``seeds.csv``), the claims (``claims.md``), figures and videos of the
    finished runs of grid directory ``root`` (``bilateral.report.report``)."""
    from bilateral.report import report

    return report(root, videos=videos)


def load(path):
    """A trained run (its directory or ``model.pt``), whatever trained it: a ``Trained`` with ``model``,
    ``config`` and ``act``."""
    from bilateral.methods import load_trained

    return load_trained(path)


def evaluate(trained, *, trials: int = 256, lesions: list[str | None] | None = None):
    """Per-trial metrics (a pandas table, one row per trial and lesion) of ``trained`` (a ``Trained``,
    or a run directory) on the fixed test set of its task: ``trials`` trials, intact and under each of
    ``lesions`` (default: every lesion the model supports; ``[None]``: intact only). Hold runs also
    meet the pushes of the hold test (``push_*`` columns)."""
    from bilateral.evaluation import PUSH_TEST, evaluate, make_push_test_set, make_test_set

    trained = load(trained) if not hasattr(trained, "model") else trained
    config = trained.config
    test = make_test_set(config.task, trials, config.trial_steps)
    pushed = make_push_test_set(trials, config.trial_steps, PUSH_TEST) if config.task == "hold" else None
    result = evaluate(
        trained.model, config, test, push_trials=pushed, lesions=lesions, act=trained.act, method=trained.method
    )
    return result.table


__all__ = ["__version__", "evaluate", "load", "train", "write_report", *_PUBLIC]
