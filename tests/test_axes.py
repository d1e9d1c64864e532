"""The grid's axes beyond the paper: the hemispheres' cell type and the non-dominant loss."""

import json

import pandas as pd
import pytest

from bilateral.cli import main
from bilateral.grid import GridSpec, RunSpec, run_grid
from bilateral.methods.distal import Objective, TrainConfig
from bilateral.report import report


def test_unknown_cells_and_losses_are_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"cell must be one of \['dense', 'gru'\], got 'lstm'"):
        TrainConfig(cell="lstm").validated()
    with pytest.raises(ValueError, match=r"nondominant must be one of \['paper', 'impedance'\]"):
        TrainConfig(nondominant="stiff").validated()
    with pytest.raises(ValueError, match="unknown cells"):
        GridSpec(cells=("dense", "lstm"))


def test_the_non_dominant_loss_replaces_only_the_non_dominant_one():
    assert TrainConfig(variant="bi-spec", nondominant="impedance").loss_presets == ("dominant", "impedance")
    assert TrainConfig(variant="uni-nondom", nondominant="impedance").loss_presets == ("impedance",)
    assert TrainConfig(variant="uni-dom", nondominant="impedance").loss_presets == ("dominant",)
    assert TrainConfig(variant="bi-spec").loss_presets == ("dominant", "non-dominant")
    impedance = Objective(TrainConfig(variant="uni-nondom", nondominant="impedance")).weights[0]
    assert impedance["hand_speed"] > 0 and impedance.get("excitation", 0.0) == 0.0


@pytest.mark.parametrize(
    ("spec", "folder"),
    [
        (RunSpec("distal", "hold", "bi-spec", 3), "bi-spec"),
        (RunSpec("distal", "hold", "bi-spec", 3, cell="gru"), "bi-spec+gru"),
        (RunSpec("distal", "reach", "uni-nondom", 0, nondominant="impedance"), "uni-nondom+impedance"),
        (RunSpec("distal", "reach", "bi-spec-cc", 1, cell="gru", nondominant="impedance"), "bi-spec-cc+gru+impedance"),
    ],
)
def test_run_folders_name_what_differs_from_the_paper_and_read_back(tmp_path, spec, folder):
    path = spec.directory(tmp_path)
    assert path.parent.name == folder
    assert RunSpec.from_directory(path) == spec


def test_a_folder_with_an_unknown_axis_is_not_a_run():
    with pytest.raises(ValueError, match="VARIANT"):
        RunSpec.from_directory("runs/distal/hold/bi+lstm/seed0")


def test_the_grid_crosses_cells_and_trains_the_impedance_loss_where_it_applies():
    grid = GridSpec(budget="tiny", seeds=1, tasks=("hold",), cells=("dense", "gru"), nondominant=("paper", "impedance"))
    runs = grid.runs()
    folders = {r.folder for r in runs}
    assert len(runs) == 2 * (7 + 3)  # per cell: every variant, and the three with a non-dominant loss again
    assert {"uni-nondom+impedance", "bi-spec+gru+impedance", "bi+gru"} <= folders
    assert "uni-dom+impedance" not in folders and "bi-cc+gru+impedance" not in folders


def test_rl_methods_take_dense_cells_and_say_so(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    with pytest.raises(ValueError, match="not recurrent"):
        GridSpec(methods=("ppo",), variants=("uni",), cells=("gru",))
    mixed = GridSpec(methods=("distal", "ppo"), variants=("uni",), tasks=("reach",), seeds=1, cells=("dense", "gru"))
    assert {(r.method, r.cell) for r in mixed.runs()} == {("distal", "dense"), ("distal", "gru"), ("ppo", "dense")}
    with pytest.raises(SystemExit) as exit:
        main(["train", "--method", "ppo", "--variant", "uni", "--cell", "gru", "--out", str(tmp_path / "ppo")])
    assert exit.value.code == 2 and "not recurrent" in capsys.readouterr().err


def test_reports_judge_each_combination_and_checkpoints_record_it(tmp_path):
    grid = GridSpec(
        budget="tiny", seeds=2, tasks=("hold",), variants=("uni-dom", "uni-nondom"), nondominant=("paper", "impedance")
    )
    assert run_grid(grid, tmp_path, workers=1, progress=False)["finished"] == 6
    config = json.loads((tmp_path / "runs/distal/hold/uni-nondom+impedance/seed0/config.json").read_text())
    assert config["nondominant"] == "impedance" and config["cell"] == "dense"
    report(tmp_path, videos=False)
    summary = pd.read_csv(tmp_path / "summary.csv")
    headline = summary[summary["metric"] == "rms_deviation_m"]
    assert sorted(map(tuple, headline[["variant", "nondominant"]].to_numpy())) == [
        ("uni-dom", "paper"),
        ("uni-nondom", "impedance"),
        ("uni-nondom", "paper"),
    ]
    claims = (tmp_path / "claims.md").read_text()
    assert claims.count("# Claims of the paper") == 2
    assert "with dense hemispheres, impedance non-dominant loss" in claims
    impedance = claims[claims.index("impedance non-dominant loss") :]
    assert "`uni-nondom`" in impedance and "`uni-dom`" in impedance  # uni-dom is shared by both
    assert (tmp_path / "figures/hold_metrics.png").exists()
    assert (tmp_path / "figures/hold_metrics_impedance.png").exists()
    assert (tmp_path / "figures/hold_deviation_impedance.png").exists()


def test_a_loss_grid_trains_the_variants_whose_loss_it_changes_and_names_them():
    from bilateral.grid.settings import BUDGETS
    from bilateral.methods.distal import DISTAL

    grid = GridSpec(
        budget="tiny",
        seeds=1,
        tasks=("hold",),
        variants=("uni-dom", "uni-nondom", "bi-spec"),
        loss_grid=("error=l1,mse10", "effort=0,2"),
    )
    runs = grid.runs()
    folders = sorted(r.folder for r in runs)
    assert folders.count("uni-dom") == 1  # its loss is not the non-dominant one: run once, shared
    assert "uni-nondom+error=l1,effort=0" in folders and "bi-spec+error=mse10,effort=2" in folders
    assert "uni-nondom" not in folders and len(runs) == 1 + 4 + 4
    spec = next(r for r in runs if r.folder == "uni-nondom+error=l1,effort=0")
    assert RunSpec.from_directory(spec.directory("/g")) == spec
    config = DISTAL.config(spec, BUDGETS["tiny"])
    assert config.loss_overrides == {"non-dominant": {"position_l1": 5.0, "position_mse10": 0.0, "excitation": 0.0}}
    specialised = DISTAL.config(next(r for r in runs if r.folder == "bi-spec+error=mse10,effort=2"), BUDGETS["tiny"])
    assert set(specialised.loss_overrides) == {"non-dominant"}  # the dominant hemisphere's loss is left alone
    with pytest.raises(ValueError, match="NAME=VALUE"):
        GridSpec(loss_grid=("effort",)).runs()
    with pytest.raises(ValueError, match="must be a number"):
        GridSpec(loss_grid=("effort=lots",)).runs()


def test_sizing_by_parameters_matches_the_bilateral_models_within_five_percent():
    from bilateral.controllers import controller_for, parameter_count

    for width, depth, cell in ((64, 2, "dense"), (10, 2, "dense"), (20, 1, "gru")):
        uni = controller_for(TrainConfig(variant="uni-dom", width=width, depth=depth, cell=cell, sizing="parameters"))
        bi = controller_for(TrainConfig(variant="bi", width=width, depth=depth, cell=cell))
        count = sum(p.numel() for p in uni.parameters())
        assert abs(count - sum(p.numel() for p in bi.parameters())) <= 0.05 * count
        assert count < parameter_count("unilateral", width, depth, cell)  # by units it would have more
    runs = GridSpec(seeds=1, tasks=("reach",), variants=("uni", "bi"), sizings=("units", "parameters")).runs()
    assert sorted(r.folder for r in runs) == ["bi", "uni", "uni+parameters"]  # the bilateral one is shared


def test_a_loss_grid_is_the_distal_teachers_and_names_presets_whole():
    from bilateral.losses import loss_label_overrides

    pytest.importorskip("stable_baselines3")
    runs = GridSpec(
        seeds=1, tasks=("hold",), variants=("uni-nondom",), methods=("distal", "ppo"), loss_grid=("effort=0,2",)
    ).runs()
    assert sorted((r.method, r.loss) for r in runs) == [("distal", "effort=0"), ("distal", "effort=2"), ("ppo", "")]
    assert loss_label_overrides("dominant.hidden.left.0=0.1", ("dominant",)) == {"dominant": {"hidden.left.0": 0.1}}
