"""The MuJoCo six-muscle arm, its tasks and their Gymnasium environments.

Importing ``envs`` registers ``bilateral/RandomReach-v0`` and ``bilateral/HoldPosition-v0``.
On a machine without a display it also selects MuJoCo's EGL back end for off-screen rendering
(unless ``MUJOCO_GL`` is already set).
"""

import os

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"

from gymnasium.envs.registration import register, registry

from envs.arm import MUSCLES, Arm, default_arm
from envs.batch import ArmBatch, Jacobians, observation
from envs.gym_env import DEFAULT_TRIAL_STEPS, HoldPositionEnv, RandomReachEnv
from envs.tasks import DT, HoldPosition, RandomReach, Task, Trials, make_task

ENV_IDS = {"reach": "bilateral/RandomReach-v0", "hold": "bilateral/HoldPosition-v0"}

for _id, _entry in (
    (ENV_IDS["reach"], "envs.gym_env:RandomReachEnv"),
    (ENV_IDS["hold"], "envs.gym_env:HoldPositionEnv"),
):
    if _id not in registry:
        register(id=_id, entry_point=_entry, max_episode_steps=DEFAULT_TRIAL_STEPS)

__all__ = [
    "DT",
    "ENV_IDS",
    "MUSCLES",
    "Arm",
    "ArmBatch",
    "HoldPosition",
    "HoldPositionEnv",
    "Jacobians",
    "RandomReach",
    "RandomReachEnv",
    "Task",
    "Trials",
    "default_arm",
    "make_task",
    "observation",
]
