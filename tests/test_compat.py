"""Earlier results stay readable: every committed result folder, and files in the older formats,
read through ``bilateral.compat`` into the current format."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from bilateral.compat import LEGACY, upgrade_config, upgrade_grid_definition, upgrade_results
from bilateral.controllers import Unilateral
from bilateral.grid import read_definition
from bilateral.grid.settings import BUDGETS, Budget
from bilateral.methods import load_trained
from bilateral.methods.distal import TrainConfig
from bilateral.methods.rl import RLConfig
from bilateral.report.statistics import summarize

RESULTS = Path(__file__).parent.parent / "docs" / "results"
FOLDERS = sorted(p.parent for p in RESULTS.glob("*/grid.json"))


@pytest.mark.parametrize("root", FOLDERS, ids=lambda p: p.name)
def test_every_committed_result_folder_reads(root):
    definition = read_definition(root)
    assert Budget.from_dict(definition["budget"]).name in BUDGETS
    assert set(definition) >= {"cells", "nondominant", "tasks", "variants", "methods", "seeds"}
    seeds = upgrade_results(pd.read_csv(root / "seeds.csv"))
    assert not summarize(seeds[seeds["lesion"] == "none"]).empty
    for model in sorted(root.glob("models/*/model.pt")):
        trained = load_trained(model)
        assert (trained.config.task, trained.config.variant) == tuple(model.parent.name.split("_"))
        assert trained.model(torch.zeros(3, 16)).excitation.shape == (3, 6)


def test_configurations_of_earlier_versions_take_what_the_code_did_then():
    old = {"task": "hold", "variant": "uni"}  # written before the delay and the paper preset's settings existed
    config = TrainConfig.from_dict(old)
    assert (config.proprioception_delay, config.init, config.validation_loss) == (1, "torch", "variant")
    assert RLConfig.from_dict({"variant": "uni", "method": "ppo"}).scale_rewards is False
    assert upgrade_config("TrainConfig", {"init": "glorot"})["init"] == "glorot"  # what a file says stands
    assert set(LEGACY) >= {"TrainConfig", "RLConfig"}


def test_grid_definitions_that_name_their_budget_and_lack_axes():
    budgets = {name: b.to_dict() for name, b in BUDGETS.items()}
    upgraded = upgrade_grid_definition({"budget": "paper", "seeds": 3, "tasks": ["reach"]}, budgets)
    assert Budget.from_dict(upgraded["budget"]) == BUDGETS["paper"]
    assert (upgraded["cells"], upgraded["nondominant"]) == (["dense"], ["paper"])
    assert json.dumps(upgraded)  # still plain data


def test_results_tables_without_the_axes_columns_and_weights_saved_as_hidden():
    table = upgrade_results(pd.DataFrame({"variant": ["uni"], "seed": [0]}))
    assert list(table.columns) == ["variant", "cell", "nondominant", "sizing", "loss", "seed"]
    model = Unilateral(8, 2)
    renamed = {k.replace("stack.", "hidden.", 1): v for k, v in model.state_dict().items()}
    again = Unilateral(8, 2)
    again.load_state_dict(renamed)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True))
