"""The Gymnasium environments and the batch stepper they share."""

import os
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, env_render_passive_checker

import bilateral_envs
from bilateral_envs import ArmBatch, HoldPosition, PushSchedule, RandomReach, Trials
from bilateral_envs.terms import check_weights, compute_terms, weighted_sum

IDS = list(bilateral_envs.ENV_IDS.values())
ALL_IDS = IDS + list(bilateral_envs.V0_IDS.values())  # v1 (current state) and v0 (one step of sensory lag)


def make(env_id, **kwargs):
    return gym.make(env_id, **kwargs)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_gymnasium_check_env(env_id):
    env = make(env_id)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")
        # render modes are checked below: "human" needs a display
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_sb3_check_env(env_id):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb3_check_env(env.unwrapped, warn=False)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_rgb_array_frames_are_not_blank(env_id):
    env = make(env_id, render_mode="rgb_array", width=160, height=120)
    env.reset(seed=3)
    env_render_passive_checker(env.unwrapped)
    first = env.render()
    for _ in range(5):
        env.step(np.ones(6, dtype=np.float32))
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # an arm on a floor, not a flat image
    assert np.abs(frame.astype(int) - first.astype(int)).sum() > 0  # the arm moved
    env.close()
    env.close()  # closing twice is allowed


def test_human_mode_without_display_says_why(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    from bilateral_envs import RandomReachEnv

    with pytest.raises(ValueError, match=r"there is no display here .* render_mode='rgb_array'"):
        RandomReachEnv(render_mode="human")


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env_with_its_render_check_headless(env_id, monkeypatch):
    """Gymnasium's check_env makes the environment in every render mode it offers: headless, "human"
    is not offered (it cannot open a window), so the whole check passes."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        pytest.skip("a display is here: the headless case is CI's")
    env = make(env_id)
    assert env.metadata["render_modes"] == ["rgb_array"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")
        check_env(env.unwrapped)
    env.close()


def test_a_step_before_reset_says_so():
    env = make(IDS[0])
    with pytest.raises(RuntimeError, match=r"step\(\) before reset\(\)"):
        env.step(env.action_space.sample())
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trials_and_observations(env_id):
    def rollout(seed):
        env = make(env_id, proprioception_noise=0.01, vision_noise=0.002)
        env.action_space.seed(seed)
        obs, info = env.reset(seed=seed)
        out = [obs]
        for _ in range(20):
            obs, *_ = env.step(env.action_space.sample())
            out.append(obs)
        env.close()
        return np.array(out), info

    a, info_a = rollout(1)
    b, info_b = rollout(1)
    c, _ = rollout(2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(info_a["target"], info_b["target"])
    assert not np.allclose(a, c)


@pytest.mark.parametrize("env_id", IDS)
def test_reward_is_the_weighted_sum_of_its_terms(env_id):
    weights = {
        "position_l1_weight": 1.3,
        "position_mse10_weight": 0.7,
        "excitation_weight": 2.0,
        "hand_speed_weight": 0.5,
        "hand_acceleration_weight": 1e-3,
    }
    env = make(env_id, **weights)
    _, info = env.reset(seed=0)
    hands = [info["hand"]] * 2  # at rest before the trial
    rng = np.random.default_rng(0)
    for _ in range(10):
        _, reward, terminated, truncated, info = env.step(rng.uniform(0, 1, 6).astype(np.float32))
        t = info["terms"]
        assert set(t) == {"position_l1", "position_mse10", "excitation", "hand_speed", "hand_acceleration"}
        expected = -sum(w * t[name.removesuffix("_weight")] for name, w in weights.items())
        assert reward == pytest.approx(expected, rel=1e-12)
        assert t["position_l1"] == pytest.approx(np.abs(info["hand"] - info["target"]).mean())
        velocity = (info["hand"] - hands[-1]) / 0.01
        change = (info["hand"] - 2 * hands[-1] + hands[-2]) / 0.01**2
        assert t["hand_speed"] == pytest.approx(np.mean(velocity**2), rel=1e-9)
        assert t["hand_acceleration"] == pytest.approx(np.mean(change**2), rel=1e-9)
        hands.append(info["hand"])
        assert not terminated and not truncated
    assert t["hand_speed"] > 0
    env.close()


def test_motion_terms_know_their_answers():
    """A hand moving at 0.3 m/s along x: speed term 0.3^2 / 2 (mean over x, y); no acceleration; a hand
    speeding up by 0.5 m/s per 10 ms step: (0.5 / 0.01)^2 / 2."""
    p0, p1, p2 = np.array([0.0, 0.2]), np.array([0.003, 0.2]), np.array([0.006, 0.2])
    terms = compute_terms(p2, p2, np.zeros(6), p1, p0)
    assert terms["hand_speed"] == pytest.approx(0.3**2 / 2)
    assert terms["hand_acceleration"] == pytest.approx(0.0, abs=1e-18)
    faster = compute_terms(p1 + np.array([0.008, 0.0]), p2, np.zeros(6), p1, p0)
    assert faster["hand_acceleration"] == pytest.approx((0.5 / 0.01) ** 2 / 2)
    at_rest = compute_terms(p1, p2, np.zeros(6))  # no earlier positions: a hand at rest
    assert at_rest["hand_speed"] == at_rest["hand_acceleration"] == 0.0


def test_trials_end_after_max_episode_steps():
    env = make(IDS[0], max_episode_steps=7)
    env.reset(seed=0)
    for i in range(7):
        *_, terminated, truncated, _ = env.step(np.zeros(6, dtype=np.float32))
        assert truncated == (i == 6) and not terminated
    env.close()


def test_bad_actions():
    env = make(IDS[0]).unwrapped
    env.reset(seed=0)
    action = np.full(6, 0.2, dtype=np.float32)
    action[4] = np.nan
    with pytest.raises(ValueError, match=r"excitation\[4\]"):
        env.step(action)
    action[4] = np.inf
    with pytest.raises(ValueError, match=r"excitation\[4\]"):
        env.step(action)
    with pytest.raises(ValueError, match="6"):
        env.step(np.zeros(5))
    # out of range is clipped, as documented
    env.step(np.array([-3, 0.5, 7, 0.5, 0.5, 2]))
    np.testing.assert_array_equal(env.batch.excitation[0], [0, 0.5, 1, 0.5, 0.5, 1])
    env.close()


def test_reset_options_replay_a_trial():
    env = make(IDS[1]).unwrapped
    q = np.array([0.7, 1.1])
    _, info = env.reset(seed=5, options={"start_qpos": q, "load": [3.0, -2.0]})
    np.testing.assert_allclose(info["qpos"], q)
    np.testing.assert_allclose(info["target"], env.task.arm.hand_position(q))  # hold: target = start
    np.testing.assert_allclose(info["load"], [3.0, -2.0])
    with pytest.raises(ValueError, match="joint ranges"):
        env.reset(options={"start_qpos": [3.0, 0.0]})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"start": q})
    reach = make(IDS[0]).unwrapped
    _, info = reach.reset(seed=1, options={"start_qpos": q, "target": [0.1, 0.4]})
    np.testing.assert_allclose(info["target"], [0.1, 0.4])
    env.close()
    reach.close()


def test_hold_load_and_pushes_are_seeded_and_reported():
    kwargs = {"push_magnitude": 20.0, "push_duration": 0.03, "push_rate": 10.0}
    env = make(IDS[1], **kwargs)
    _, info = env.reset(seed=11)
    load = info["load"]
    assert np.all(np.abs(load) <= 10)
    pushes = []
    for _ in range(50):
        *_, info = env.step(np.zeros(6, dtype=np.float32))
        np.testing.assert_array_equal(info["load"], load)
        pushes.append(info["push"])
    pushes = np.array(pushes)
    magnitudes = np.linalg.norm(pushes, axis=1)
    assert magnitudes.max() >= 20.0 - 1e-9  # some push happened at 10 pushes/s over 0.5 s
    assert (magnitudes == 0).any()  # and pushes are brief
    env2 = make(IDS[1], **kwargs)
    env2.reset(seed=11)
    np.testing.assert_array_equal(env2.unwrapped.batch.trials.pushes[0], env.unwrapped.batch.trials.pushes[0])
    env.close()
    env2.close()


def test_env_and_batch_agree_step_for_step():
    """One implementation: a batch of arms replaying the env's trials gives the env's observations."""
    rng = np.random.default_rng(0)
    kwargs = {"proprioception_delay": 2, "vision_delay": 1}
    env_obs, trials, actions = [], [], rng.uniform(0, 1, (3, 30, 6))
    for k in range(3):
        env = make(IDS[1], push_magnitude=15.0, push_rate=8.0, **kwargs).unwrapped
        obs, _ = env.reset(seed=k)
        trials.append(env.batch.trials)
        rows = [obs]
        for t in range(30):
            rows.append(env.step(actions[k, t])[0])
        env_obs.append(rows)
        env.close()
    joined = Trials(*(np.concatenate([getattr(tr, f) for tr in trials]) for f in trials[0].to_dict()))
    batch = ArmBatch(HoldPosition(), 3, **kwargs)
    rows = [batch.reset(joined)]
    for t in range(30):
        rows.append(batch.step(actions[:, t]))
    np.testing.assert_allclose(np.array(rows).transpose(1, 0, 2), np.array(env_obs), rtol=0, atol=1e-6)


def test_batch_threads_give_the_same_result():
    task = RandomReach()
    trials = task.draw(np.random.default_rng(0), 8, 20)
    u = np.random.default_rng(1).uniform(0, 1, (20, 8, 6))
    results = []
    for threads in (1, 2):
        batch = ArmBatch(task, 8, threads=threads)
        obs = [batch.reset(trials)] + [batch.step(u[t]) for t in range(20)]
        results.append(np.array(obs))
        batch.close()
    np.testing.assert_array_equal(results[0], results[1])


def test_observation_layout_and_delay():
    """Delay 0 (the default, MotorNet's): the controller sees the current state; delay k: the state of
    k steps before, and the first state until there is one."""
    task = RandomReach()
    trials = task.draw(np.random.default_rng(3), 1, 10)
    hands, seen = {}, {}
    for delay in (0, 1, 2):
        batch = ArmBatch(task, 1, proprioception_delay=delay, vision_delay=delay)
        obs = [batch.reset(trials)]
        hand = [batch.hand.copy()]
        for _ in range(4):
            obs.append(batch.step(np.ones((1, 6))))
            hand.append(batch.hand.copy())
        hands[delay] = np.array(hand)[:, 0]
        obs = np.array(obs)[:, 0]
        np.testing.assert_allclose(obs[0, 12:14], task.arm.hand_position(trials.start_qpos)[0])
        np.testing.assert_allclose(obs[:, 14:16], np.tile(trials.target[0], (5, 1)))
        np.testing.assert_allclose(obs[0, 6:12], 0)
        for t in range(5):
            np.testing.assert_array_equal(obs[t, 12:14], hands[delay][max(t - delay, 0)])
        seen[delay] = obs
    for delay in (1, 2):  # proprioception lags as vision does
        np.testing.assert_array_equal(seen[delay][delay + 1 :, :12], seen[0][1 : 5 - delay, :12])
    assert not np.array_equal(hands[0][1], hands[0][0])  # the hand moved
    np.testing.assert_array_equal(hands[0], hands[2])  # delays change what is seen, not the physics


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1", None])
def test_bad_delays_are_refused_by_name(bad):
    with pytest.raises(ValueError, match="vision_delay"):
        ArmBatch(RandomReach(), 1, vision_delay=bad)
    with pytest.raises(ValueError, match="proprioception_delay"):
        make(IDS[0], proprioception_delay=bad)


def test_v0_ids_replay_one_step_of_lag():
    for task, v0 in bilateral_envs.V0_IDS.items():
        old, new = make(v0).unwrapped, make(bilateral_envs.ENV_IDS[task]).unwrapped
        assert (old.batch.proprioception_delay, old.batch.vision_delay) == (1, 1)
        assert (new.batch.proprioception_delay, new.batch.vision_delay) == (0, 0)
        old.reset(seed=0)
        new.reset(seed=0)
        action = np.ones(6, dtype=np.float32)
        a, b = old.step(action)[0], new.step(action)[0]
        assert not np.allclose(a[:14], b[:14])
        np.testing.assert_array_equal(a[14:], b[14:])
        old.close()
        new.close()


def test_terms_work_on_numpy_and_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    hand, target, u = rng.normal(size=(4, 2)), rng.normal(size=(4, 2)), rng.uniform(size=(4, 6))
    a = compute_terms(hand, target, u)
    b = compute_terms(torch.tensor(hand), torch.tensor(target), torch.tensor(u))
    for k in a:
        np.testing.assert_allclose(a[k], b[k].numpy())
    assert weighted_sum(a, {"excitation": 2.0}) == pytest.approx(2 * a["excitation"])
    with pytest.raises(ValueError, match="hidden"):
        check_weights({"hidden": 1.0})


def test_trials_save_and_replay(tmp_path):
    trials = HoldPosition(push_magnitude=5, push_rate=20).draw(np.random.default_rng(0), 4, 12)
    trials.save(tmp_path / "t.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "t.npz").stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any file, not private
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]  # no temporary file left
    again = Trials.from_file(tmp_path / "t.npz")
    for k, v in trials.to_dict().items():
        np.testing.assert_array_equal(v, getattr(again, k))
    assert len(trials[1:3]) == 2 and trials[2].n_steps == 12
    with pytest.raises(ValueError, match="start_qpos"):
        Trials(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 5, 2)))


def test_push_schedule_places_its_pushes_as_data_says():
    schedule = PushSchedule(magnitude=20.0, duration=0.05, count=2, earliest=0.1, settle=0.1)
    pushes = schedule.draw(np.random.default_rng(0), 200, 50)
    force = np.linalg.norm(pushes, axis=-1)
    np.testing.assert_allclose(force[force > 0], 20.0)
    assert (force[:, :10] == 0).all()  # none in the first 100 ms
    for trial in force > 0:
        edges = np.diff(np.concatenate([[0], trial.astype(int), [0]]))
        onsets, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        assert len(onsets) == 2 and (ends - onsets == 5).all()  # two pushes of 50 ms
        assert onsets[1] - ends[0] >= 10 and 50 - ends[1] >= 10  # 0.1 s to settle after each
    assert len({tuple(np.nonzero(t)[0]) for t in force > 0}) > 20  # at seeded, varied times
    np.testing.assert_array_equal(pushes, schedule.draw(np.random.default_rng(0), 200, 50))
    with pytest.raises(ValueError, match="do not fit"):
        schedule.draw(np.random.default_rng(0), 1, 20)
