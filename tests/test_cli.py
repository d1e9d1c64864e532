"""The command line: every subcommand's help renders and every option it documents parses; each
training method has its own options, with the values the chosen preset will use."""

import argparse
import json

import pytest

from bilateral.cli import build_parser, main
from bilateral.methods import METHODS
from bilateral.methods.distal import TRAINING_PRESETS

COMMANDS = ("demo", "train", "evaluate", "grid", "report", "render")
CASES = [(m, "paper") for m in METHODS] + [("distal", p) for p in TRAINING_PRESETS if p != "paper"]


def help_text(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit:
        main([*argv, "--help"])
    assert exit.value.code == 0
    return capsys.readouterr().out


def subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def sample(action: argparse.Action) -> list[str]:
    """A value the option accepts."""
    if action.nargs == 0:
        return []
    if action.choices:
        return [str(next(iter(action.choices)))]
    kind = getattr(action.type, "__name__", "")
    value = {"int": "2", "float": "0.5", "loads": "{}", "_boolean": "true", "_positive": "2", "<lambda>": "none"}.get(
        kind, "x"
    )
    return [value]


@pytest.mark.parametrize(("method", "preset"), CASES)
def test_every_train_option_parses_and_its_help_renders(method, preset, capsys):
    argv = ["train", "--method", method] + (["--preset", preset] if method == "distal" else [])
    text = help_text(argv, capsys)
    assert "{'" not in text and "%(" not in text  # no argparse dict or unformatted placeholder
    parser = subparser(build_parser(method, preset), "train")
    for action in parser._actions:
        if action.option_strings and action.dest not in ("help",):
            option = action.option_strings[0]
            args = build_parser(method, preset).parse_args([*argv, "--out", "x", option, *sample(action)])
            assert args.command == "train", option


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "train"])
def test_every_other_subcommand_renders_its_help_and_parses_its_options(command, capsys):
    text = help_text([command], capsys)
    assert "{'" not in text
    parser = subparser(build_parser(), command)
    positional = ["dir"] if any(a.dest in ("checkpoint", "dir") for a in parser._actions) else []
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            argv = [command, *positional, action.option_strings[0], *sample(action)]
            if action.dest != "out" and any(a.dest == "out" and a.required for a in parser._actions):
                argv += ["--out", "x"]
            assert build_parser().parse_args(argv).command == command


def test_help_shows_the_values_the_chosen_preset_will_use(capsys):
    assert "Adam's learning rate (default: 0.01)" in " ".join(
        help_text(["train", "--preset", "strong"], capsys).split()
    )
    assert "Adam's learning rate (default: 0.001)" in " ".join(help_text(["train"], capsys).split())
    rl = " ".join(help_text(["train", "--method", "ppo"], capsys).split())
    assert "learning rate (the start of a linear schedule) (default: 0.0003)" in rl
    assert "--total-batches" not in rl and "--preset" not in rl


def test_an_rl_method_takes_its_own_learning_rate_schedule(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    argv = ["train", "--method", "ppo", "--variant", "uni", "--lr-schedule", "linear", "--total-steps", "128"]
    argv += ["--n-envs", "2", "--n-steps", "32", "--batch-size", "32", "--n-epochs", "1", "--eval-every", "128"]
    argv += ["--eval-trials", "2", "--trial-steps", "10", "--out", str(tmp_path / "ppo"), "--quiet"]
    assert main(argv) == 0
    config = json.loads((tmp_path / "ppo" / "config.json").read_text())
    assert (config["method"], config["lr_schedule"]) == ("ppo", "linear")
    assert (tmp_path / "ppo" / "training.png").exists()  # drawn by the command line from the run's logs


def error_of(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    return capsys.readouterr().err


def test_mistakes_are_one_clear_line(tmp_path, capsys):
    err = error_of(["train", "--variant", "nope", "--out", str(tmp_path)], capsys)
    assert err.splitlines() == [
        "bilateral train: error: argument --variant: invalid choice: 'nope' (choose from 'uni', 'uni-dom', "
        "'uni-nondom', 'bi', 'bi-cc', 'bi-spec', 'bi-spec-cc')",
        "(see bilateral train --help)",
    ]
    err = error_of(["train", "--out", str(tmp_path / "typo"), "--resume"], capsys)
    assert err == (
        f"bilateral train: error: --resume: {tmp_path / 'typo'} holds no run to resume (no checkpoint.pt); check "
        "the directory, or leave out --resume to start a new run there\n"
    )
    assert not (tmp_path / "typo").exists()
    err = error_of(["train", "--learning-rate", "-1", "--out", str(tmp_path / "lr")], capsys)
    assert err == "bilateral train: error: learning_rate must be > 0, got -1.0\n"


def test_print_config_shows_the_resolved_settings(capsys):
    assert main(["train", "--preset", "strong", "--variant", "bi", "--print-config"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert (config["learning_rate"], config["width"], config["variant"]) == (0.01, 64, "bi")


def test_evaluate_an_unfinished_run_or_with_a_lesion_it_lacks(tmp_path, capsys):
    from bilateral.methods.distal import TrainConfig, Trainer

    tiny = {"batch_size": 4, "trial_steps": 5, "validation_trials": 4, "batches_per_epoch": 2, "width": 4}
    Trainer(
        TrainConfig.from_preset("paper", variant="bi", total_batches=4, **tiny), tmp_path / "half", progress=False
    ).run(stop_after=2)
    err = error_of(["evaluate", str(tmp_path / "half")], capsys)
    assert err == (
        f"bilateral evaluate: error: {tmp_path / 'half'} holds an unfinished run (2 batches trained; checkpoint.pt, "
        f"no model.pt yet): finish it with `bilateral train --out {tmp_path / 'half'} --resume` and the options it "
        "was started with, then evaluate it\n"
    )
    assert (
        main(
            ["train", "--variant", "bi", "--total-batches", "4", "--out", str(tmp_path / "half"), "--resume", "--quiet"]
            + [f"--{k.replace('_', '-')}={v}" for k, v in tiny.items()]
        )
        == 0
    )
    capsys.readouterr()
    err = error_of(["evaluate", str(tmp_path / "half"), "--lesion", "cc"], capsys)
    assert err == (
        "bilateral evaluate: error: a Bilateral controller without a callosum takes the lesions ['high-left', "
        "'high-right', 'low-left', 'low-right'], not 'cc'\n"
    )
    assert (
        main(["evaluate", str(tmp_path / "half"), "--lesion", "low-left", "--metrics", "--trials", "4", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["lesion"] == "low-left" and {"endpoint_error_m", "peak_speed_m_s", "cocontraction"} <= set(result)


def test_options_are_taken_by_their_whole_names(tmp_path, capsys):
    err = error_of(["train", "--meth", "ppo", "--variant", "uni", "--out", str(tmp_path)], capsys)
    assert err.startswith("bilateral train: error: unrecognized arguments: --meth ppo")


def test_a_run_killed_before_its_first_checkpoint_can_be_resumed(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")  # what a run writes before its first batch
    argv = ["train", "--variant", "uni", "--total-batches", "2", "--batch-size", "4", "--trial-steps", "5"]
    argv += ["--validation-trials", "4", "--batches-per-epoch", "2", "--width", "4", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "run"), "--resume"]) == 0
    assert (tmp_path / "run" / "model.pt").exists()
