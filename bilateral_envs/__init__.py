"""The MuJoCo six-muscle arm, its tasks and their Gymnasium environments.

Importing ``bilateral_envs`` registers ``bilateral/RandomReach-v1`` and ``bilateral/HoldPosition-v1`` (the
controller sees the current state: sensory delay 0, as MotorNet's default), and the earlier ``-v0``
ids, whose observations lag one step (delay 1), so that results made with them can be replayed.
On a machine without a display it also selects MuJoCo's EGL back end for off-screen rendering
(unless ``MUJOCO_GL`` is already set).
"""

import os

if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"

from gymnasium.envs.registration import register, registry

from bilateral_envs.arm import MUSCLES, Arm, default_arm
from bilateral_envs.batch import ArmBatch
from bilateral_envs.gym_env import DEFAULT_TRIAL_STEPS, HoldPositionEnv, RandomReachEnv
from bilateral_envs.tasks import DT, HoldPosition, PushSchedule, RandomReach, Task, Trials, make_task

ENV_IDS = {"reach": "bilateral/RandomReach-v1", "hold": "bilateral/HoldPosition-v1"}
V0_IDS = {"reach": "bilateral/RandomReach-v0", "hold": "bilateral/HoldPosition-v0"}  # one step of sensory lag

for _task, _entry in (
    ("reach", "bilateral_envs.gym_env:RandomReachEnv"),
    ("hold", "bilateral_envs.gym_env:HoldPositionEnv"),
):
    for _id, _kwargs in ((ENV_IDS[_task], {}), (V0_IDS[_task], {"proprioception_delay": 1, "vision_delay": 1})):
        if _id not in registry:
            register(
                id=_id,
                entry_point=_entry,
                max_episode_steps=DEFAULT_TRIAL_STEPS,
                kwargs=_kwargs,
                disable_env_checker=True,  # checked in the tests; the checker wraps every step
                order_enforce=False,  # ArmBatch itself refuses a step before a reset
            )

__all__ = [
    "DT",
    "ENV_IDS",
    "MUSCLES",
    "V0_IDS",
    "Arm",
    "ArmBatch",
    "HoldPosition",
    "HoldPositionEnv",
    "PushSchedule",
    "RandomReach",
    "RandomReachEnv",
    "Task",
    "Trials",
    "default_arm",
    "make_task",
]
