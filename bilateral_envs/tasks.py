"""The two tasks of the study: how a trial starts, where the target is, and what pushes the hand.

A task draws *trials*: everything needed to replay a trial exactly (start posture, target,
endpoint load, pushes). The Gymnasium environments and the batch stepper both run trials drawn
here, so a set of test trials can be saved and replayed by either.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from bilateral_envs.arm import Arm, default_arm

DT = 0.01  # s, control period = physics time step


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass
class Trials:
    """N trials of at most ``n_steps`` steps (arrays, first axis = trial).

    Attributes:
        start_qpos: (N, 2) rad, shoulder and elbow angles at the start.
        target: (N, 2) m, target hand position.
        load: (N, 2) newtons, constant force on the hand during the whole trial.
        pushes: (N, n_steps, 2) newtons, extra force on the hand at each step (zero when there are none).
    """

    start_qpos: np.ndarray
    target: np.ndarray
    load: np.ndarray
    pushes: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.start_qpos)
        for f in fields(self):
            value = np.ascontiguousarray(getattr(self, f.name), dtype=np.float64)
            setattr(self, f.name, value)
            if len(value) != n or not np.all(np.isfinite(value)):
                raise ValueError(f"trials.{f.name} must hold {n} finite rows, got shape {value.shape}")
        for name in ("start_qpos", "target", "load"):
            if getattr(self, name).shape != (n, 2):
                raise ValueError(f"trials.{name} must have shape ({n}, 2), got {getattr(self, name).shape}")
        if self.pushes.ndim != 3 or self.pushes.shape[2] != 2:
            raise ValueError(f"trials.pushes must have shape ({n}, n_steps, 2), got {self.pushes.shape}")

    def __len__(self) -> int:
        return len(self.start_qpos)

    @property
    def n_steps(self) -> int:
        return self.pushes.shape[1]

    def __getitem__(self, index) -> Trials:
        """A subset of the trials (``index`` is an int, slice or index array)."""
        index = np.atleast_1d(np.arange(len(self))[index])
        return Trials(*(getattr(self, f.name)[index] for f in fields(self)))

    def to_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def save(self, path) -> Path:
        """Write the trials to a ``.npz`` file, atomically: beside it, then renamed into place, so a
        reader never sees half of one (``Trials.from_file`` reads them back)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"trials are saved as .npz files, not {path.name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **self.to_dict())
            os.chmod(tmp, 0o666 & ~_umask())  # the mode open() would give, not mkstemp's private one
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return path

    @classmethod
    def from_file(cls, path) -> Trials:
        with np.load(path, allow_pickle=False) as f:
            return cls(**{name.name: f[name.name] for name in fields(cls)})


@dataclass(frozen=True)
class Task:
    """What every task has: a name and the arm it runs on."""

    name: str = "task"
    arm: Arm = field(default_factory=default_arm, repr=False, compare=False)

    def draw(self, rng: np.random.Generator, n: int, n_steps: int) -> Trials:
        raise NotImplementedError

    def override(self, trials: Trials, start_qpos=None, target=None, load=None, pushes=None) -> Trials:
        """``trials`` with the parts the caller fixes replaced (what ``reset(options=...)`` accepts).

        Each given part is broadcast to every trial. On a task whose target is the start position
        (hold), a new start moves the target with it unless a target is given too.
        """
        n, n_steps = len(trials), trials.n_steps
        parts = trials.to_dict()
        if start_qpos is not None:
            parts["start_qpos"] = np.tile(self.arm.check_posture(start_qpos), (n, 1))
            if self.target_is_start and target is None:
                parts["target"] = self.arm.hand_position(parts["start_qpos"])
        if target is not None:
            parts["target"] = np.tile(np.asarray(target, float).reshape(2), (n, 1))
        if load is not None:
            parts["load"] = np.tile(np.asarray(load, float).reshape(2), (n, 1))
        if pushes is not None:
            given = np.asarray(pushes, float)
            if given.ndim != 2 or given.shape[1] != 2 or len(given) > n_steps:
                raise ValueError(f"pushes must have shape (steps <= {n_steps}, 2) in newtons, got {given.shape}")
            parts["pushes"] = np.zeros((n, n_steps, 2))
            parts["pushes"][:, : len(given)] = given
        return Trials(**parts)

    target_is_start = False

    def _uniform_posture(self, rng: np.random.Generator, n: int) -> np.ndarray:
        low, high = self.arm.joint_range[:, 0], self.arm.joint_range[:, 1]
        return rng.uniform(low, high, size=(n, 2))


@dataclass(frozen=True)
class RandomReach(Task):
    """Reach from a random posture to the hand position of another random posture (DESIGN §2)."""

    name: str = "reach"

    def draw(self, rng: np.random.Generator, n: int, n_steps: int) -> Trials:
        start = self._uniform_posture(rng, n)
        target = self.arm.hand_position(self._uniform_posture(rng, n))
        return Trials(start, target, np.zeros((n, 2)), np.zeros((n, n_steps, 2)))


@dataclass(frozen=True)
class HoldPosition(Task):
    """Hold the hand where it starts against a constant endpoint load, and optionally pushes.

    Attributes:
        endpoint_load_bounds: (low, high) N; each axis of the load is drawn uniformly in it.
        push_magnitude: N, force of a push (0 = no pushes).
        push_duration: s, how long a push lasts (rounded to whole steps, at least one).
        push_rate: pushes per second; a push starts at each step with probability ``rate * dt``,
            in a uniformly random direction.
    """

    name: str = "hold"
    target_is_start = True
    endpoint_load_bounds: tuple[float, float] = (-10.0, 10.0)
    push_magnitude: float = 0.0
    push_duration: float = 0.05
    push_rate: float = 0.0

    def __post_init__(self) -> None:
        low, high = self.endpoint_load_bounds
        if not low <= high:
            raise ValueError(f"endpoint_load_bounds must be (low, high) with low <= high, got {(low, high)}")
        if self.push_magnitude < 0 or self.push_duration <= 0 or self.push_rate < 0:
            raise ValueError("push_magnitude and push_rate must be >= 0 and push_duration > 0")

    @property
    def pushes_enabled(self) -> bool:
        return self.push_magnitude > 0 and self.push_rate > 0

    def draw(self, rng: np.random.Generator, n: int, n_steps: int) -> Trials:
        start = self._uniform_posture(rng, n)
        load = rng.uniform(*self.endpoint_load_bounds, size=(n, 2))
        pushes = np.zeros((n, n_steps, 2))
        if self.pushes_enabled:
            starts = rng.random((n, n_steps)) < self.push_rate * DT
            angle = rng.uniform(0, 2 * np.pi, size=(n, n_steps))
            kick = starts[..., None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1) * self.push_magnitude
            for lag in range(max(1, round(self.push_duration / DT))):
                pushes[:, lag:] += kick[:, : n_steps - lag]
        return Trials(start, self.arm.hand_position(start), load, pushes)


@dataclass(frozen=True)
class PushSchedule:
    """Brief force pulses on the hand at seeded times: the hold task's test of stability under
    perturbation (DESIGN §6).

    Attributes:
        magnitude: N, force of each push, in a uniformly random direction.
        duration: s, how long a push lasts (whole steps).
        count: pushes per trial.
        earliest: s, no push starts before this.
        settle: s, time left after each push before the next one may start (or the trial ends).

    The time from ``earliest`` to the trial's end is cut into ``count`` equal slots; each push starts
    at a step drawn uniformly among those of its slot that leave ``duration + settle`` inside it.
    """

    magnitude: float = 20.0
    duration: float = 0.05
    count: int = 2
    earliest: float = 0.1
    settle: float = 0.1

    def draw(self, rng: np.random.Generator, n: int, n_steps: int) -> np.ndarray:
        """Push forces (n, n_steps, 2) N: the force acting during each step of each trial."""
        first, length, settle = (round(x / DT) for x in (self.earliest, self.duration, self.settle))
        slot = (n_steps - first) // self.count
        if self.count < 1 or length < 1 or slot < length + settle + 1:
            raise ValueError(
                f"{self.count} pushes of {self.duration} s with {self.settle} s to settle after each do not fit "
                f"between {self.earliest} s and the end of a {n_steps * DT:.2f} s trial"
            )
        onsets = (
            first + slot * np.arange(self.count) + rng.integers(0, slot - length - settle + 1, size=(n, self.count))
        )
        angle = rng.uniform(0, 2 * np.pi, size=(n, self.count))
        pushes = np.zeros((n, n_steps, 2))
        for k in range(self.count):
            for lag in range(length):
                pushes[np.arange(n), onsets[:, k] + lag] = self.magnitude * np.stack(
                    [np.cos(angle[:, k]), np.sin(angle[:, k])], -1
                )
        return pushes


TASKS = {"reach": RandomReach, "hold": HoldPosition}
TASK_NAMES = tuple(TASKS)


def make_task(name: str, **kwargs) -> Task:
    """The task called ``name`` (``reach`` or ``hold``), with its arguments."""
    try:
        return TASKS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted(TASKS)}") from None
