"""The MuJoCo six-muscle arm, its tasks and their Gymnasium environments.

Importing ``bilateral_envs`` registers ``bilateral/RandomReach-v1`` and ``bilateral/HoldPosition-v1`` (the
controller sees the current state: sensory delay 0, as MotorNet's default), and the earlier ``-v0``
ids, whose observations lag one step (delay 1), so that results made with them can be replayed;
``gymnasium.make_vec(id, num_envs=N)`` gives their native vector environments (``bilateral_envs.vector``).
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
from bilateral_envs.vector import ArmVectorEnv, HoldPositionVectorEnv, RandomReachVectorEnv

ENV_IDS = {"reach": "bilateral/RandomReach-v1", "hold": "bilateral/HoldPosition-v1"}
V0_IDS = {"reach": "bilateral/RandomReach-v0", "hold": "bilateral/HoldPosition-v0"}  # one step of sensory lag

_ENTRY_POINTS = {  # one environment; all of them stepped in one call (gymnasium.make_vec)
    "reach": ("bilateral_envs.gym_env:RandomReachEnv", "bilateral_envs.vector:RandomReachVectorEnv"),
    "hold": ("bilateral_envs.gym_env:HoldPositionEnv", "bilateral_envs.vector:HoldPositionVectorEnv"),
}
for _task, (_entry, _vector_entry) in _ENTRY_POINTS.items():
    for _id, _kwargs in ((ENV_IDS[_task], {}), (V0_IDS[_task], {"proprioception_delay": 1, "vision_delay": 1})):
        if _id not in registry:
            register(
                id=_id,
                entry_point=_entry,
                vector_entry_point=_vector_entry,
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
    "ArmVectorEnv",
    "HoldPosition",
    "HoldPositionEnv",
    "HoldPositionVectorEnv",
    "PushSchedule",
    "RandomReach",
    "RandomReachEnv",
    "RandomReachVectorEnv",
    "Task",
    "Trials",
    "default_arm",
    "make_task",
]
