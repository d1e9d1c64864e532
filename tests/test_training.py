"""The distal-teacher trainer: it learns, it is repeatable, and it survives being killed."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from bilateral import checkpoint
from bilateral.cli import main
from bilateral.methods.distal import TrainConfig, Trainer, load_controller, train

TINY = {
    "width": 16,
    "depth": 2,
    "batch_size": 8,
    "trial_steps": 12,
    "batches_per_epoch": 4,
    "validation_trials": 8,
    "learning_rate": 3e-3,
    "checkpoint_every": 2,
    "threads": 1,
}


def tiny(**overrides):
    return TrainConfig.from_preset("paper", **{**TINY, **overrides})


def losses(run_dir, kind="train"):
    metrics = pd.read_csv(run_dir / "metrics.csv")
    return metrics[metrics.kind == kind]["loss"].to_numpy()


def test_a_short_run_lowers_the_loss(tmp_path):
    config = tiny(task="reach", variant="bi", total_batches=24, batch_size=16, trial_steps=20, learning_rate=1e-2)
    summary = train(config, tmp_path, progress=False)
    validation = losses(tmp_path, "validation")
    assert len(validation) == 6
    assert validation[-1] < 0.9 * validation[0], validation
    assert summary["finished"] and summary["batches"] == 24
    for name in ("config.json", "metrics.csv", "checkpoint.pt", "model.pt", "summary.json"):
        assert (tmp_path / name).is_file()
    assert list((tmp_path / "tensorboard").glob("events.*"))
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert {"position_l1", "position_mse10", "excitation", "hidden", "w_left", "w_right"} <= set(metrics.columns)
    assert metrics["w_left"].notna().all()


def test_the_same_seed_gives_the_same_curve_and_another_seed_does_not(tmp_path):
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        train(tiny(variant="bi-spec-cc", task="hold", seed=seed, total_batches=6), tmp_path / name, progress=False)
        runs[name] = losses(tmp_path / name)
    assert (runs["a"] == runs["b"]).all()
    assert not (runs["a"] == runs["c"]).all()
    metrics = pd.read_csv(tmp_path / "a" / "metrics.csv")
    train_rows = metrics[metrics.kind == "train"]
    assert train_rows["left_loss"].notna().all() and train_rows["right_loss"].notna().all()


KILLED_RUN = """
import os, signal, sys
from bilateral.methods.distal import TrainConfig
from bilateral.methods.distal import Trainer

class KilledMidRun(Trainer):
    def _write_row(self, row):
        super()._write_row(row)
        if row["batch"] == int(sys.argv[2]):  # SIGKILL: no clean-up, no flushing, nothing
            os.kill(os.getpid(), signal.SIGKILL)

KilledMidRun(TrainConfig.from_dict({config!r}), sys.argv[1], progress=False).run()
"""


@pytest.mark.parametrize("kill_at", [4, 9])
def test_killed_and_resumed_run_ends_like_an_uninterrupted_one(tmp_path, kill_at):
    config = tiny(variant="bi-cc", total_batches=16, checkpoint_every=3)
    whole = tmp_path / "whole"
    train(config, whole, progress=False)

    killed = tmp_path / "killed"
    from dataclasses import asdict

    script = KILLED_RUN.format(config=asdict(config))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run([sys.executable, "-c", script, str(killed), str(kill_at)], env=env, check=False)
    assert result.returncode == -signal.SIGKILL
    state = checkpoint.load(killed / "checkpoint.pt")["state"]
    assert state["next_batch"] < kill_at + 1 and not state["finished"]  # some batches were lost
    assert not (killed / "model.pt").exists()
    with pytest.raises(ValueError, match="--resume"):
        train(config, killed, progress=False)

    train(config, killed, resume=True, progress=False)
    a, _, _ = load_controller(whole)
    b, _, _ = load_controller(killed)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert (losses(whole) == losses(killed)).all()  # the log has no duplicated or missing batches
    assert (losses(whole, "validation") == losses(killed, "validation")).all()
    assert not list(killed.glob(".*tmp*"))


def test_resume_refuses_another_configuration_and_finished_runs_are_not_redone(tmp_path):
    config = tiny(total_batches=4)
    train(config, tmp_path, progress=False)
    modified = (tmp_path / "model.pt").stat().st_mtime_ns
    assert train(config, tmp_path, resume=True, progress=False)["finished"]
    assert (tmp_path / "model.pt").stat().st_mtime_ns == modified
    with pytest.raises(ValueError, match="different configuration"):
        train(tiny(total_batches=4, learning_rate=1e-2), tmp_path, resume=True, progress=False)


def test_resume_refuses_a_checkpoint_of_another_model_layout(tmp_path):
    config = tiny(total_batches=4)
    Trainer(config, tmp_path, progress=False).run(stop_after=2)
    payload = checkpoint.load(tmp_path / "checkpoint.pt")
    payload["model"] = {f"renamed.{key}": value for key, value in payload["model"].items()}
    checkpoint.save(tmp_path / "checkpoint.pt", {k: v for k, v in payload.items() if k != "format"})
    with pytest.raises(checkpoint.RunStateError, match="another layout"):  # a grid starts such a run again
        train(config, tmp_path, resume=True, progress=False)


def test_checkpoints_load_safely_and_damaged_ones_are_refused(tmp_path):
    config = tiny(total_batches=2)
    train(config, tmp_path, progress=False)
    payload = checkpoint.load(tmp_path / "checkpoint.pt")  # torch.load(weights_only=True)
    assert payload["state"]["finished"]
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes((tmp_path / "model.pt").read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        checkpoint.load(damaged)
    with pytest.raises(FileNotFoundError):
        load_controller(tmp_path / "missing.pt")


def test_cli_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "hold",
                "--variant",
                "uni-nondom",
                "--seed",
                "1",
                "--total-batches",
                "2",
                "--out",
                str(out),
                "--quiet",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["batches"] == 2 and summary["variant"] == "uni-nondom"
    assert main(["evaluate", str(out / "model.pt"), "--trials", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["task"] == "hold" and result["variant"] == "uni-nondom" and result["trials"] == 8
    assert 0 < result["rms_deviation_m"] < 0.5
    assert main(["evaluate", str(out), "--trials", "8"]) == 0
    assert "RMS deviation" in capsys.readouterr().out


def test_cli_refuses_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        main(["train", "--variant", "bi-sepc", "--out", str(tmp_path)])
    assert error.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as error:
        main(["evaluate", str(tmp_path / "nothing.pt")])
    assert error.value.code == 2
    assert "no checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--total-batches", "0", "--out", str(tmp_path)])


def test_an_option_given_as_none_sets_its_setting_to_none():
    from bilateral.cli import build_parser, training_config

    def parsed(*options):
        return training_config(build_parser().parse_args(["train", "--out", "x", *options]))

    assert parsed().training_trials == 6400  # the paper preset's fixed set
    assert parsed("--training-trials", "none").training_trials is None  # fresh trials every batch
    assert parsed("--training-trials", "null", "--total-batches", "7").total_batches == 7
    assert parsed("--preset", "strong", "--total-batches", "none").total_batches is None


def test_a_session_cut_short_keeps_its_batches(tmp_path):
    config = tiny(total_batches=10, checkpoint_every=100, batches_per_epoch=10)
    assert not train(config, tmp_path, progress=False, stop_after=3)["finished"]
    assert checkpoint.load(tmp_path / "checkpoint.pt")["state"]["next_batch"] == 3
    assert train(config, tmp_path, resume=True, progress=False, stop_after=2)["batches"] == 5
    assert len(losses(tmp_path)) == 5


def test_configurations_are_checked():
    with pytest.raises(ValueError, match="seed"):
        TrainConfig.from_preset("paper", seed=-1)
    with pytest.raises(ValueError, match="unknown variant"):
        TrainConfig.from_preset("paper", variant="tri")
    with pytest.raises(ValueError, match="unknown preset"):
        TrainConfig.from_preset("huge")
    with pytest.raises(ValueError, match="even width"):
        TrainConfig.from_preset("paper", width=11)
    with pytest.raises(ValueError, match="unknown loss term"):
        TrainConfig.from_preset("paper", loss_overrides={"dominant": {"jerk": 1.0}})
    assert TrainConfig.from_preset("paper").n_batches == 1000
    assert TrainConfig.from_preset("paper", total_batches=7).n_batches == 7


def test_trainer_refuses_a_directory_with_logs_but_no_checkpoint(tmp_path):
    (tmp_path / "metrics.csv").write_text("kind,batch\n")
    with pytest.raises(ValueError, match="already holds training logs"):
        Trainer(tiny(total_batches=1), tmp_path, progress=False).run()


def test_a_recurrent_impedance_run_learns_records_its_axes_and_reloads(tmp_path):
    """GRU hemispheres with the impedance non-dominant loss: the loss falls, the hidden term is that of
    the GRU states (activity and its change), and the checkpoint says what was trained."""
    from bilateral.losses import TrialTerms, hidden_activity
    from bilateral.rollout import run_trials
    from bilateral_envs.tasks import make_task

    config = tiny(
        task="hold", variant="bi-spec", cell="gru", nondominant="impedance", total_batches=12, learning_rate=1e-2
    )
    summary = train(config, tmp_path, progress=False)
    assert summary["finished"]
    validation = losses(tmp_path, "validation")
    assert validation[-1] < validation[0], validation
    model, loaded, _ = load_controller(tmp_path)
    assert (loaded.cell, loaded.nondominant) == ("gru", "impedance") and model.recurrent
    arms = config.make_arms(4)
    try:
        trials = make_task("hold").draw(np.random.default_rng(0), 4, 6)
        trajectory = run_trials(model, arms, trials, np.random.default_rng(1))
    finally:
        arms.close()
    terms = TrialTerms.compute(trajectory)
    assert set(terms.layers) == {"left.0", "left.1", "right.0", "right.1"}
    states = trajectory.layers["left.1"]
    assert terms.layers["left.1"] == hidden_activity(states.double())
    assert not torch.allclose(states[1], states[0])  # the GRU state moves from step to step


def test_a_finished_run_can_be_given_more_batches_not_fewer(tmp_path):
    train(tiny(total_batches=4), tmp_path, progress=False)
    longer = train(tiny(total_batches=6), tmp_path, resume=True, progress=False)
    assert longer["finished"] and longer["batches"] == 6
    log = pd.read_csv(tmp_path / "metrics.csv")
    assert log.loc[log["kind"] == "train", "batch"].tolist() == list(range(6))  # batches 4 and 5 added
    with pytest.raises(
        ValueError, match=r"has trained 6 of its 6 batches: a run can be given more batches, not fewer \(3 asked\)"
    ):
        train(tiny(total_batches=3), tmp_path, resume=True, progress=False)
