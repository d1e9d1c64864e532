"""Speed of the environments against bare MuJoCo, measured side by side in one run.

    python benchmarks/env_step.py [--seconds 2]

Prints, for the reach task: the Gymnasium env's ``step()`` rate (as ``gymnasium.make`` returns it,
wrappers included, and unwrapped), the bare ``mujoco.mj_step`` rate on the same model in a Python
loop, their ratio, the batch stepper's trial-steps per second for N = 64, and the native vector
environment's (``gymnasium.make_vec(..., num_envs=64)``: rewards, terms and infos included) against a
plain loop of 64 ``mj_step`` calls on the same model. For reference, the single-environment ratio
of Gymnasium's own Reacher-v5 when its MuJoCo environments are importable.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import mujoco
import numpy as np

import bilateral_envs

TRIAL = 50


def best_rate(run, seconds: float, repeats: int = 5) -> float:
    """The best of ``repeats`` rates (calls per second) of ``run(n) -> elapsed seconds``."""
    n = 200
    while run(n) < 0.05:  # calibrate
        n *= 2
    n = max(TRIAL, int(n * seconds / repeats / 0.05))
    return max(n / run(n) for _ in range(repeats))


def env_rate(env, seconds: float) -> float:
    actions = np.random.default_rng(0).uniform(0, 1, (TRIAL, *env.action_space.shape)).astype(np.float32)

    def run(n):
        env.reset(seed=0)
        elapsed, k = 0.0, 0
        while k < n:  # whole trials; resets are not timed
            start = time.perf_counter()
            for t in range(TRIAL):
                env.step(actions[t])
            elapsed += time.perf_counter() - start
            k += TRIAL
            env.reset()
        return elapsed * n / k

    return best_rate(run, seconds)


def mj_step_rate(model: mujoco.MjModel, seconds: float) -> float:
    data = mujoco.MjData(model)
    data.ctrl[:] = 0.3 if model.nu else 0.0
    step = mujoco.mj_step

    def run(n):
        mujoco.mj_resetData(model, data)
        start = time.perf_counter()
        for _ in range(n):
            step(model, data)
        return time.perf_counter() - start

    return best_rate(run, seconds)


def batch_rate(n_arms: int, seconds: float, threads: int = 1) -> float:
    task = bilateral_envs.RandomReach()
    batch = bilateral_envs.ArmBatch(task, n_arms, threads=threads)
    u = np.random.default_rng(0).uniform(0, 1, (TRIAL, n_arms, 6))
    trials = task.draw(np.random.default_rng(0), n_arms, TRIAL)

    def run(n):  # n trial-steps
        elapsed, k = 0.0, 0
        while k < n:
            batch.reset(trials)
            start = time.perf_counter()
            for t in range(TRIAL):
                batch.step(u[t])
            elapsed += time.perf_counter() - start
            k += TRIAL * n_arms
        return elapsed * n / k

    rate = best_rate(run, seconds)
    batch.close()
    return rate


def vector_rate(n_envs: int, seconds: float) -> float:
    """Arm-steps per second of ``gymnasium.make_vec`` with ``n_envs`` arms (sampled actions, autoreset
    included: its trials end and restart as a user's would)."""
    venv = gym.make_vec(bilateral_envs.ENV_IDS["reach"], num_envs=n_envs, vectorization_mode="vector_entry_point")
    actions = np.random.default_rng(0).uniform(0, 1, (TRIAL, n_envs, 6)).astype(np.float32)
    venv.reset(seed=0)

    def run(n):  # n arm-steps
        start = time.perf_counter()
        for k in range(max(1, n // n_envs)):
            venv.step(actions[k % TRIAL])
        return time.perf_counter() - start

    rate = best_rate(run, seconds)
    venv.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per measurement")
    args = parser.parse_args()

    env = gym.make(bilateral_envs.ENV_IDS["reach"])
    ours = env_rate(env, args.seconds)
    ours_unwrapped = env_rate(env.unwrapped, args.seconds)
    bare = mj_step_rate(env.unwrapped.batch.model, args.seconds)
    env.close()
    batch64 = batch_rate(64, args.seconds)
    vector64 = vector_rate(64, args.seconds)
    print(f"{bilateral_envs.ENV_IDS['reach'] + ' step():':38s}{ours:10.0f} /s  (unwrapped {ours_unwrapped:.0f} /s)")
    print(f"mujoco.mj_step, same model:           {bare:10.0f} /s")
    print(f"ratio env / mj_step:                  {ours / bare:10.3f}  (unwrapped {ours_unwrapped / bare:.3f})")
    print(f"ArmBatch N=64 trial-steps:            {batch64:10.0f} /s")
    print(f"make_vec N=64 arm-steps:              {vector64:10.0f} /s")
    print(f"ratio make_vec / mj_step loop:        {vector64 / bare:10.3f}")
    try:
        reacher = gym.make("Reacher-v5")
        r_env = env_rate(reacher, args.seconds)
        r_bare = mj_step_rate(reacher.unwrapped.model, args.seconds)
        print(
            f"reference Reacher-v5 step():          {r_env:10.0f} /s, mj_step {r_bare:.0f} /s, "
            f"ratio {r_env / r_bare:.3f}"
        )
        reacher.close()
    except Exception as error:  # Gymnasium's MuJoCo environments are optional here
        print(f"reference Reacher-v5 not measured: {error}")
    print(
        json.dumps(
            {
                "env_steps_per_s": round(ours, 1),
                "mj_steps_per_s": round(bare, 1),
                "ratio": round(ours / bare, 4),
                "batch64_trial_steps_per_s": round(batch64, 1),
                "vector64_arm_steps_per_s": round(vector64, 1),
                "vector_ratio": round(vector64 / bare, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
