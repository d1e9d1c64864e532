"""Reinforcement learning: BilateralPolicy, BilateralPPO's routing, the SB3 baselines, saving and loading."""

import json
import os
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from bilateral import checkpoint
from bilateral.cli import main
from bilateral.controllers import Bilateral, Unilateral
from bilateral.methods.rl import BilateralPolicy, RLConfig, load_policy, train_rl
from bilateral.methods.rl.policy import BetaDistribution
from bilateral.methods.rl.training import (
    build_algorithm,
    make_env,
    objectives,
    restore_state,
    save_policy,
    score,
    validation_trials,
)
from bilateral.report.figures import read_progress, rl_training_figure

SMALL = {
    "total_steps": 512,
    "n_envs": 4,
    "n_steps": 64,
    "batch_size": 64,
    "n_epochs": 2,
    "trial_steps": 20,
    "learning_starts": 128,
    "buffer_size": 2000,
    "sac_batch_size": 64,
}


def observations(n=32, seed=0):
    env = make_env(RLConfig(**{**SMALL, "n_envs": 1}), n_envs=1)
    obs = np.stack([env.observation_space.sample() for _ in range(n)])
    env.close()
    return np.clip(obs, -2, 2).astype(np.float32)


def test_beta_distribution_peaks_at_the_controller():
    mode = torch.tensor([[0.05, 0.5, 0.9, 0.2, 0.3, 0.7]])
    dist = BetaDistribution(6).proba_distribution(mode, torch.full((6,), np.log(20.0)))
    torch.testing.assert_close(dist.mode(), mode)
    alpha, beta = dist.distribution.concentration1, dist.distribution.concentration0
    torch.testing.assert_close((alpha - 1) / (alpha + beta - 2), mode)  # the Beta's own mode
    samples = torch.stack([dist.sample() for _ in range(200)])
    assert ((samples >= 0) & (samples <= 1)).all()
    reference = torch.distributions.Beta(1 + mode * 20, 1 + (1 - mode) * 20).log_prob(samples[0]).sum(-1)
    torch.testing.assert_close(dist.log_prob(samples[0]), reference)


@pytest.mark.parametrize("kappa", [10.0, 1.5, 0.1])
def test_beta_distribution_stays_bounded_for_a_resting_muscle(kappa):
    """A resting muscle's excitation (0.05) with any concentration: no peak of the density at 0 and no
    samples piled at 0 (the mean-parameterised form put 44 % of them below 1e-5 at kappa = 1.5)."""
    torch.manual_seed(0)
    mode = torch.full((4096, 6), 0.05)
    dist = BetaDistribution(6).proba_distribution(mode, torch.full((6,), float(np.log(kappa))))
    samples = dist.sample()
    assert (samples < 1e-5).float().mean() < 0.001
    at = BetaDistribution(6).proba_distribution(mode[:2], torch.full((6,), float(np.log(kappa))))
    assert (at.log_prob(torch.full((2, 6), 1e-6)) <= at.log_prob(mode[:2])).all()  # no peak at 0


@pytest.mark.parametrize("variant", ["uni", "bi", "bi-spec-cc"])
def test_bilateral_policy_actor_is_the_controller(variant):
    config = RLConfig(**SMALL, variant=variant)
    env = make_env(config, n_envs=1)
    policy = build_algorithm(config, env).policy
    env.close()
    assert isinstance(policy, BilateralPolicy)
    controller = policy.controller
    assert isinstance(controller, Unilateral if variant == "uni" else Bilateral)
    if variant != "uni":
        assert (controller.callosum == "paper") == (variant == "bi-spec-cc")
    obs = torch.from_numpy(observations())
    actions, _ = policy.predict(obs.numpy(), deterministic=True)
    np.testing.assert_allclose(actions, controller(obs).excitation.detach().numpy(), atol=1e-6)
    assert policy.value_net.out_features == (2 if variant == "bi-spec-cc" else 1)
    owners = {policy.owner(name) for name, _ in policy.named_parameters()}
    assert owners == ({"left", "right", "shared", "critic"} if variant != "uni" else {"shared", "critic"})


def test_bilateral_ppo_routes_each_objective_to_its_hemisphere():
    config = RLConfig(**SMALL, variant="bi-spec-cc")
    env = make_env(config)
    algo = build_algorithm(config, env)
    algo.learn(total_timesteps=config.n_steps * config.n_envs)  # fills the rollout buffer once
    assert algo.objectives == objectives("bi-spec-cc") and len(algo.objectives) == 2
    batch = next(algo.rollout_buffer.get(64))
    assert batch.advantages.shape == (64, 2) and batch.returns.shape == (64, 2)
    policy = algo.policy
    named = list(policy.named_parameters())

    def grads_of(key):
        policy.zero_grad()
        algo.losses(batch, 0.2)[key].backward()
        return {n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for n, p in named}

    separately = {key: grads_of(key) for key in ("left", "right", "value")}
    separately["value"] = {n: algo.vf_coef * g for n, g in separately["value"].items()}
    policy.zero_grad()
    algo.backward(algo.losses(batch, 0.2))
    for name, p in named:
        owner = policy.owner(name)
        expected = {
            "left": separately["left"][name],
            "right": separately["right"][name],
            "critic": separately["value"][name],
            "shared": 0.5 * (separately["left"][name] + separately["right"][name]),
        }[owner]
        torch.testing.assert_close(p.grad, expected, rtol=1e-5, atol=1e-8, msg=name)
    left_weight = "mlp_extractor.controller.left.layers.0.weight"
    assert separately["right"][left_weight].abs().sum() > 0  # the right objective does reach left weights,
    env.close()  # so routing changes what they learn


@pytest.mark.parametrize(("method", "variant"), [("bilateral-ppo", "bi-spec"), ("ppo", "uni-dom"), ("sac", "uni")])
def test_training_runs_and_saved_models_act_identically(tmp_path, method, variant):
    config = RLConfig(**SMALL, method=method, variant=variant, task="hold")
    summary = train_rl(config, tmp_path / "run", progress=False)
    assert summary["finished"] and summary["steps"] >= config.total_steps
    assert (tmp_path / "run" / "progress.csv").exists()
    model, loaded_config, act = load_policy(tmp_path / "run" / "model.pt")
    assert loaded_config == config
    obs = observations()
    if method == "bilateral-ppo":
        assert act is None and isinstance(model, Bilateral)
        first = model(torch.from_numpy(obs)).excitation.detach().numpy()
    else:
        first = act(obs)
    # a second save/load round trip of the same weights gives the same actions, bit for bit
    env = make_env(config, n_envs=1)
    algo = build_algorithm(config, env)
    env.close()
    algo.policy.load_state_dict(torch.load(tmp_path / "run" / "model.pt", weights_only=True)["policy"])
    save_policy(tmp_path / "again.pt", config, algo.policy)
    model2, _, act2 = load_policy(tmp_path / "again.pt")
    second = model2(torch.from_numpy(obs)).excitation.detach().numpy() if act2 is None else act2(obs)
    np.testing.assert_array_equal(first, second)
    assert ((first >= 0) & (first <= 1)).all()
    # a finished run is not trained again
    assert train_rl(config, tmp_path / "run", progress=False) == summary


@pytest.mark.parametrize(("method", "variant"), [("bilateral-ppo", "bi-spec"), ("sac", "uni")])
def test_runs_keep_their_best_policy_and_use_it(tmp_path, method, variant):
    config = RLConfig(**SMALL, method=method, variant=variant, task="reach", eval_every=128, eval_trials=4)
    summary = train_rl(config, tmp_path / "run", progress=False)
    validation = np.loadtxt(tmp_path / "run" / "validation.csv", delimiter=",", skiprows=1)
    assert validation[:, 0].tolist() == [128, 256, 384, 512]
    best = validation[np.argmin(validation[:, 1])]
    assert (summary["best_steps"], summary["best_validation_m"]) == (best[0], best[1])
    assert summary["last_validation_m"] == validation[-1, 1]
    figure = rl_training_figure(tmp_path / "run", tmp_path / "training.png")  # its curves, from its logs
    assert figure.stat().st_size > 10_000 and not (tmp_path / "run" / "training.png").exists()
    *_, source = load_policy(tmp_path / "run", describe_it=True)
    assert source.startswith("best.pt: the best on validation") and f"{int(best[0]):,} steps" in source
    # the kept weights are the ones that scored best: scored again, they give the same number
    env = make_env(config, n_envs=1)
    algorithm = build_algorithm(config, env)
    env.close()
    algorithm.policy.load_state_dict(torch.load(tmp_path / "run" / "best.pt", weights_only=True)["policy"])
    assert score(algorithm.policy, config, validation_trials(config)) == pytest.approx(best[1], rel=1e-9)


def test_rl_training_never_deletes_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(ValueError, match="not empty"):
        train_rl(RLConfig(**SMALL, method="ppo", variant="uni"), tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_bilateral_ppo_saves_and_loads_with_sb3(tmp_path):
    from bilateral.methods.rl import BilateralPPO

    config = RLConfig(**SMALL, variant="bi-spec")
    env = make_env(config)
    algo = build_algorithm(config, env)
    algo.save(tmp_path / "model.zip")
    algo.learn(256)  # the reward scale has statistics to keep
    algo.save(tmp_path / "model.zip")
    loaded = BilateralPPO.load(tmp_path / "model.zip", env=env)
    assert loaded.objectives == algo.objectives and loaded.scale_rewards
    np.testing.assert_array_equal(loaded.return_rms.var, algo.return_rms.var)
    obs = observations()
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], algo.predict(obs, deterministic=True)[0])
    env.close()
    fewer = make_env(config, n_envs=1)  # loaded onto another number of environments, it trains on
    BilateralPPO.load(tmp_path / "model.zip", env=fewer, n_steps=64).learn(64)
    fewer.close()


def test_stock_baselines_refuse_bilateral_variants():
    with pytest.raises(ValueError, match="bilateral-ppo trains all seven"):
        RLConfig(method="sac", variant="bi").validated()


class _Replay(gym.Env):
    """Replays a given sequence of (reward, terminated): what VecNormalize scales, for a reference."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def __init__(self, rewards, ends):
        self.rewards, self.ends, self.t = rewards, ends, 0

    def reset(self, *, seed=None, options=None):
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, dtype=np.float32), float(self.rewards[self.t - 1]), bool(self.ends[self.t - 1]), False, {}


def test_bilateral_ppo_scales_each_objective_as_vec_normalize_does():
    """Each objective's rewards come out as SB3's VecNormalize(norm_reward=True, no clip) scales that
    objective's rewards alone: discounted returns that restart with each trial, their running std."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    config = RLConfig(**{**SMALL, "n_envs": 1}, variant="bi-spec", gamma=0.9)
    env = make_env(config)
    algo = build_algorithm(config, env)
    env.close()
    rng = np.random.default_rng(0)
    n = 300
    raw = np.stack([rng.normal(-100.0, 50.0, n), rng.normal(-1.0, 0.5, n)], axis=1)
    ends = rng.random(n) < 0.05
    ours = np.array([algo.scaled(raw[t][None], ends[t : t + 1])[0] for t in range(n)])
    for k in range(2):
        reference = VecNormalize(
            DummyVecEnv([lambda k=k: _Replay(raw[:, k], ends)]), norm_obs=False, clip_reward=np.inf, gamma=0.9
        )
        reference.reset()
        expected = np.array([reference.step(np.zeros((1, 1)))[1][0] for _ in range(n)])
        np.testing.assert_allclose(ours[:, k], expected, rtol=1e-5)
    spread = ours[n // 2 :].std(axis=0)  # raw spreads 100 apart, scaled ones alike: one scale for both
    assert spread.max() / spread.min() < 1.5
    algo.scale_rewards = False
    np.testing.assert_array_equal(algo.scaled(raw[:1], ends[:1]), raw[:1])


@pytest.mark.parametrize("method", ["bilateral-ppo", "ppo"])
def test_learning_rate_schedule_and_target_kl_reach_the_algorithm(method):
    config = RLConfig(**SMALL, method=method, variant="uni", lr_schedule="linear", target_kl=0.02)
    env = make_env(config, n_envs=1)
    algo = build_algorithm(config, env)
    env.close()
    assert algo.lr_schedule(1.0) == pytest.approx(config.learning_rate)
    assert algo.lr_schedule(0.25) == pytest.approx(config.learning_rate / 4)  # 3/4 of total_steps done
    assert algo.target_kl == 0.02
    with pytest.raises(ValueError, match="lr_schedule"):
        RLConfig(lr_schedule="cosine").validated()
    with pytest.raises(ValueError, match="target_kl must be > 0"):
        RLConfig(target_kl=0.0).validated()


def test_cli_trains_evaluates_and_renders_an_rl_policy(tmp_path, capsys):
    out = tmp_path / "ppo"
    assert (
        main(
            [
                "train",
                "--method",
                "bilateral-ppo",
                "--variant",
                "bi-cc",
                "--total-steps",
                "512",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(out), "--trials", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["method"] == "bilateral-ppo" and result["variant"] == "bi-cc" and "endpoint_error_m" in result
    assert result["model"].startswith("best.pt: the best on validation")  # the best is the default, and said
    video = tmp_path / "rollout.mp4"
    assert (
        main(
            [
                "render",
                str(out),
                "--out",
                str(video),
                "--trials",
                "1",
                "--steps",
                "5",
                "--width",
                "160",
                "--height",
                "120",
                "--lesion",
                "cc",
            ]
        )
        == 0
    )
    assert video.stat().st_size > 0
    with pytest.raises(SystemExit):
        main(["train", "--method", "ppo", "--variant", "bi", "--total-steps", "64", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):  # a distal-teacher setting given to an RL method
        main(["train", "--method", "ppo", "--total-batches", "3", "--variant", "uni", "--out", str(tmp_path / "y")])
    assert "unrecognized arguments: --total-batches 3: not an option of ppo" in capsys.readouterr().err


def test_grid_with_rl_methods(tmp_path):
    from bilateral.grid import GridSpec, finished_runs, load_results, run_grid

    grid = GridSpec(
        budget="tiny",
        seeds=1,
        tasks=("reach",),
        variants=("uni", "bi-spec"),
        methods=("distal", "ppo", "bilateral-ppo"),
    )
    counts = run_grid(grid, tmp_path, workers=1, progress=False)
    assert counts == {"finished": 5, "skipped": 0, "failed": 0}  # ppo trains uni only
    results = load_results(tmp_path)
    assert set(results["method"]) == {"distal", "ppo", "bilateral-ppo"}
    spec = results[(results["method"] == "bilateral-ppo") & (results["variant"] == "bi-spec")]
    assert {"high-left", "low-right"} <= set(spec["lesion"])  # an RL-trained controller is lesioned like any other
    assert len(finished_runs(tmp_path)) == 5


@pytest.mark.parametrize(
    ("method", "variant", "extra"), [("bilateral-ppo", "bi-spec", []), ("sac", "uni", ["--learning-starts", "128"])]
)
def test_a_killed_rl_run_resumes_and_ends_where_it_would_have(tmp_path, method, variant, extra):
    out = tmp_path / "run"
    args = ["train", "--method", method, "--variant", variant, "--task", "hold", "--total-steps", "2048"]
    args += ["--n-envs", "4", "--n-steps", "64", "--batch-size", "64", "--sac-batch-size", "64", "--trial-steps", "20"]
    args += ["--checkpoint-every", "256", "--eval-every", "512", "--eval-trials", "4", "--out", str(out), "--quiet"]
    args += extra
    run = subprocess.Popen(
        [sys.executable, "-m", "bilateral.cli", *args], env={**os.environ, "PYTHONPATH": os.getcwd()}
    )
    deadline = time.monotonic() + 300
    while not (out / "checkpoint.pt").exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.kill()  # SIGKILL: no clean-up
    run.wait()
    assert not (out / "summary.json").exists(), "the run ended before it could be killed"
    killed_at = checkpoint.load(out / "checkpoint.pt")["steps"]
    assert 256 <= killed_at < 2048
    with pytest.raises(SystemExit):  # an unfinished run is not overwritten by accident
        main(args)
    assert main([*args, "--resume"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2048 and summary["resumed_at_steps"] == killed_at
    validation = np.loadtxt(out / "validation.csv", delimiter=",", skiprows=1)
    assert validation[:, 0].tolist() == [512, 1024, 1536, 2048]  # none lost, none twice
    logged = read_progress(out)["time/total_timesteps"]  # SB3's log too: the part before the kill is kept
    assert logged.min() <= killed_at < logged.max() and logged.is_monotonic_increasing
    _, config, _ = load_policy(out)
    assert config.total_steps == 2048
    if method == "bilateral-ppo":  # the reward scale's statistics come back with the checkpoint
        state = checkpoint.load(out / "checkpoint.pt")
        env = make_env(config)
        algorithm = build_algorithm(config, env)
        restore_state(out, algorithm, state)
        env.close()
        assert algorithm.return_rms.count == state["reward_scale"]["count"] > 256
        np.testing.assert_array_equal(algorithm.return_rms.var, state["reward_scale"]["var"].numpy())
    if method == "sac":  # the replay buffer comes back with the checkpoint: a row per vectorised step
        state = checkpoint.load(out / "checkpoint.pt")
        env = make_env(config)
        algorithm = build_algorithm(config, env)
        restore_state(out, algorithm, state)
        env.close()
        buffer = algorithm.replay_buffer
        assert buffer.pos == state["steps"] // 4 and not buffer.full
        assert np.abs(buffer.observations[: buffer.pos]).min(axis=-1).max() > 0  # real observations
        assert not buffer.observations[buffer.pos :].any()


def test_a_resumed_run_does_not_forget_a_best_kept_after_its_checkpoint(tmp_path):
    """best.pt written between the last checkpoint and the kill stays the best to beat."""
    from bilateral.methods.rl.training import _Validation

    config = RLConfig(**SMALL, method="bilateral-ppo", variant="bi", eval_trials=4)
    env = make_env(config, n_envs=1)
    policy = build_algorithm(config, env).policy
    env.close()
    save_policy(tmp_path / "best.pt", config, policy, steps=2048, validation_m=0.30)
    state = {"rows": [[512, 0.40], [1024, 0.35]], "best": [1024, 0.35], "next_at": 1536}
    assert _Validation(config, tmp_path, state).best == (2048, 0.30)
    worse = {**state, "best": [1024, 0.25]}
    assert _Validation(config, tmp_path, worse).best == (1024, 0.25)


def test_a_run_from_before_the_fix_is_not_resumed_under_it(tmp_path):
    """A bilateral-ppo checkpoint written before reward scaling (its config has no scale_rewards: it
    ran without) or before the Beta changed form is refused with the reason, not continued."""
    from bilateral.methods.rl.training import _resumable_state, save_state

    config = RLConfig(**SMALL, method="bilateral-ppo", variant="bi")
    env = make_env(config)
    algorithm = build_algorithm(config, env)
    env.close()

    class NoValidation:
        def state(self):
            return {}

    save_state(tmp_path, config, algorithm, NoValidation())
    assert _resumable_state(tmp_path, config)["steps"] == 0
    saved = checkpoint.load(tmp_path / "checkpoint.pt")
    older = {**saved, "config": {k: v for k, v in saved["config"].items() if k != "scale_rewards"}}
    checkpoint.save(tmp_path / "checkpoint.pt", older)
    with pytest.raises(checkpoint.RunStateError, match="scale_rewards"):
        _resumable_state(tmp_path, config)
    checkpoint.save(tmp_path / "checkpoint.pt", {**saved, "action_distribution": None})
    with pytest.raises(checkpoint.RunStateError, match="Beta distribution changed form"):
        _resumable_state(tmp_path, config)
