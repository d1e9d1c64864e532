"""The native vector environments: what N single environments stepped side by side give, in one call;
Gymnasium's autoreset modes and per-environment seeding; the same batch as an SB3 VecEnv."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import bilateral_envs
from bilateral_envs import ENV_IDS

KWARGS = {"proprioception_noise": 0.01, "vision_noise": 0.002, "proprioception_delay": 2, "trial_steps": 8}
HOLD = {"push_magnitude": 15.0, "push_rate": 20.0}


def vector(env_id, n, **kwargs):
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)


def singles(env_id, n, **kwargs):
    return [gym.make(env_id, max_episode_steps=kwargs["trial_steps"], **kwargs) for _ in range(n)]


@pytest.mark.parametrize("task", ["reach", "hold"])
def test_a_vector_env_is_n_single_envs_stepped_side_by_side(task):
    """Observations, rewards, terms, truncations and the next trials after an autoreset (NEXT_STEP):
    environment i is the single environment seeded with seed + i."""
    env_id, n = ENV_IDS[task], 3
    kwargs = {**KWARGS, **(HOLD if task == "hold" else {})}
    venv, envs = vector(env_id, n, **kwargs), singles(env_id, n, **kwargs)
    assert isinstance(venv.unwrapped, bilateral_envs.ArmVectorEnv)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, info = venv.reset(seed=11)
    first = [env.reset(seed=11 + i) for i, env in enumerate(envs)]
    np.testing.assert_array_equal(obs, np.stack([o for o, _ in first]))
    np.testing.assert_array_equal(info["target"], np.stack([i["target"] for _, i in first]))
    rng = np.random.default_rng(0)
    for step in range(2 * 8 + 1):  # two trials, and the step that starts the third
        actions = rng.uniform(0, 1, (n, 6)).astype(np.float32)
        obs, rewards, terminated, truncated, info = venv.step(actions)
        if step == 8:  # NEXT_STEP: the step after the trials ended starts new ones, with reward 0
            expected = [env.reset() for env in envs]
            np.testing.assert_array_equal(obs, np.stack([o for o, _ in expected]))
            assert not truncated.any() and (rewards == 0).all()
            np.testing.assert_array_equal(info["target"], np.stack([i["target"] for _, i in expected]))
            continue
        results = [env.step(a) for env, a in zip(envs, actions, strict=True)]
        np.testing.assert_array_equal(obs, np.stack([r[0] for r in results]))
        np.testing.assert_array_equal(rewards, [r[1] for r in results])
        np.testing.assert_array_equal(truncated, [r[3] for r in results])
        assert not terminated.any()
        for name in info["terms"]:
            if not name.startswith("_"):
                np.testing.assert_array_equal(info["terms"][name], [r[4]["terms"][name] for r in results])
        np.testing.assert_allclose(info["push"], np.stack([r[4]["push"] for r in results]))
    venv.close()
    for env in envs:
        env.close()


def test_every_environment_draws_its_own_trials_and_a_seed_replays_them():
    venv = vector(ENV_IDS["reach"], 8, trial_steps=5)
    _, info = venv.reset(seed=0)
    targets = info["target"]
    assert len({tuple(t) for t in targets.round(9)}) == 8  # no two environments alike
    _, again = venv.reset(seed=0)
    np.testing.assert_array_equal(again["target"], targets)
    _, other = venv.reset(seed=[100 + i for i in range(8)])
    assert not np.allclose(other["target"], targets)
    venv.close()


def test_a_reset_mask_starts_only_the_masked_environments():
    venv = vector(ENV_IDS["hold"], 4, **KWARGS)
    obs, info = venv.reset(seed=1)
    for _ in range(3):
        obs, *_, info = venv.step(np.full((4, 6), 0.2, dtype=np.float32))
    mask = np.array([True, False, True, False])
    again, reset_info = venv.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(again[~mask], obs[~mask])  # the others go on where they were
    assert not np.allclose(reset_info["target"][mask], info["target"][mask])
    np.testing.assert_array_equal(reset_info["_target"], mask)
    steps = venv.unwrapped.batch.steps
    assert steps.tolist() == [0, 3, 0, 3]
    with pytest.raises(ValueError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.zeros(4, dtype=bool)})
    venv.close()


def test_same_step_and_disabled_autoreset():
    same = vector(ENV_IDS["reach"], 2, trial_steps=3, autoreset_mode="SameStep")
    assert same.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    same.reset(seed=5)
    for _ in range(3):
        obs, _, _, truncated, info = same.step(np.zeros((2, 6), dtype=np.float32))
    assert truncated.all() and info["_final_obs"].all()
    assert not np.allclose(info["final_obs"], obs)  # the last observation kept, the new trial's returned
    assert same.unwrapped.batch.steps.tolist() == [0, 0]
    same.close()
    disabled = vector(ENV_IDS["reach"], 2, trial_steps=2, autoreset_mode=AutoresetMode.DISABLED)
    disabled.reset(seed=5)
    for _ in range(2):
        disabled.step(np.zeros((2, 6), dtype=np.float32))
    with pytest.raises(RuntimeError, match="reset them"):
        disabled.step(np.zeros((2, 6), dtype=np.float32))
    disabled.reset(options={"reset_mask": np.array([True, True])})
    disabled.step(np.zeros((2, 6), dtype=np.float32))
    disabled.close()


def test_a_step_before_reset_is_a_clear_error():
    venv = vector(ENV_IDS["reach"], 2)
    with pytest.raises(RuntimeError, match=r"step\(\) before reset\(\)"):
        venv.step(np.zeros((2, 6), dtype=np.float32))
    venv.close()


def test_the_sb3_vec_env_is_dummy_vec_env_over_single_envs():
    """SB3's convention (reset in the same step, terminal observations in the infos) on one batch gives
    what SB3's DummyVecEnv over single environments gives, and passes SB3's NaN check."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, VecCheckNan

    from bilateral_envs.sb3 import ArmVecEnv

    kwargs = {**KWARGS, **HOLD}
    ours = VecCheckNan(
        ArmVecEnv(bilateral_envs.HoldPositionVectorEnv(3, autoreset_mode="SameStep", **kwargs)), raise_exception=True
    )
    theirs = make_vec_env(
        ENV_IDS["hold"],
        n_envs=3,
        vec_env_cls=DummyVecEnv,
        env_kwargs={**kwargs, "max_episode_steps": kwargs["trial_steps"]},
    )
    ours.seed(7)
    theirs.seed(7)
    np.testing.assert_array_equal(ours.reset(), theirs.reset())
    rng = np.random.default_rng(1)
    for _ in range(2 * 8):
        actions = rng.uniform(0, 1, (3, 6)).astype(np.float32)
        a, b = ours.step(actions), theirs.step(actions)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
        np.testing.assert_array_equal(a[2], b[2])
        for ia, ib in zip(a[3], b[3], strict=True):
            assert ("terminal_observation" in ia) == ("terminal_observation" in ib)
            if "terminal_observation" in ia:
                np.testing.assert_array_equal(ia["terminal_observation"], ib["terminal_observation"])
                assert ia["TimeLimit.truncated"] and ib["TimeLimit.truncated"]
            assert ia["terms"]["position_l1"] == ib["terms"]["position_l1"]
    assert ours.env_is_wrapped(object) == [False] * 3 and ours.get_attr("render_mode") == [None] * 3
    ours.close()
    theirs.close()


def test_a_seeded_masked_reset_reseeds_only_the_masked_environments_noise_included():
    venv = vector(ENV_IDS["hold"], 3, **KWARGS)
    venv.reset(seed=1)
    before = [g.bit_generator.state for g in venv.unwrapped.generators]
    obs, _ = venv.reset(seed=40, options={"reset_mask": np.array([False, True, False])})
    single = gym.make(ENV_IDS["hold"], max_episode_steps=KWARGS["trial_steps"], **KWARGS)
    expected, _ = single.reset(seed=41)  # environment 1 of seed 40
    np.testing.assert_array_equal(obs[1], expected)  # its trial and its noise, from its own generator
    after = [g.bit_generator.state for g in venv.unwrapped.generators]
    assert after[0] == before[0] and after[2] == before[2]  # the others' generators untouched
    single.close()
    venv.close()
