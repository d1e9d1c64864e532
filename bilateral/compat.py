"""Keeping earlier results readable: every upgrade of an older file's format, in one place.

The rest of the code sees one, current, format. Results written by earlier versions lack what was
added since, or name things otherwise; on reading, they are upgraded here:

- configurations (``config.json``, and the configuration inside checkpoints): a field added later
  takes what the code did before it existed (``LEGACY``), not its current default;
- controller weights: ``Unilateral.stack`` was called ``hidden`` (``renamed_unilateral_stack``);
- grid definitions (``grid.json``): budgets recorded by name, and no cell or non-dominant-loss axes
  (``upgrade_grid_definition``);
- results tables (``evaluation.parquet``, ``seeds.csv``): no ``cell``, ``nondominant``, ``sizing`` or
  ``loss`` columns
  (``upgrade_results``).

``tests/test_compat.py`` reads every committed result folder (``docs/results/*``) through these.
"""

from __future__ import annotations

from bilateral.losses import DEFAULT_NONDOMINANT
from bilateral.variants import DEFAULT_CELL, DEFAULT_SIZING

# per configuration class: the value of each field that files written before it existed were made with
LEGACY: dict[str, dict[str, object]] = {
    "TrainConfig": {
        "proprioception_delay": 1,  # the first environments saw the state of one step before
        "vision_delay": 1,
        "init": "torch",
        "hemisphere_weights": "softplus",
        "grad_clip_mode": "global",
        "training_trials": None,
        "validation_loss": "variant",
    },
    "RLConfig": {"proprioception_delay": 1, "vision_delay": 1, "scale_rewards": False},
    "BilateralPPO": {"scale_rewards": False},  # a model saved by SB3 before the setting existed
}
# grid axes added after the first grids, with the value those grids ran
AXES = {"cells": [DEFAULT_CELL], "nondominant": [DEFAULT_NONDOMINANT], "sizings": [DEFAULT_SIZING], "loss_grid": []}
RESULT_COLUMNS = {"cell": DEFAULT_CELL, "nondominant": DEFAULT_NONDOMINANT, "sizing": DEFAULT_SIZING, "loss": ""}


def upgrade_config(kind: str, values: dict) -> dict:
    """A configuration of class ``kind`` read from a file, with the fields it lacks set as ``LEGACY``
    says (the rest keep their defaults)."""
    return {**{k: v for k, v in LEGACY.get(kind, {}).items() if k not in values}, **values}


def renamed_unilateral_stack(module, state_dict, prefix, *args) -> None:
    """A ``load_state_dict`` pre-hook of ``Unilateral``: weights saved when its stack was called
    ``hidden`` (``hidden.layers.0.weight``) load as ``stack.layers.0.weight``."""
    for key in [k for k in state_dict if k.startswith(f"{prefix}hidden.")]:
        state_dict[f"{prefix}stack." + key[len(prefix) + len("hidden.") :]] = state_dict.pop(key)


def upgrade_grid_definition(definition: dict, budgets: dict) -> dict:
    """A ``grid.json`` as the current code writes it: the budget as a whole record (older grids name
    one of ``budgets``, the named budgets as dicts), and every axis."""
    definition = dict(definition)
    budget = definition.get("budget")
    if isinstance(budget, str):
        definition["budget"] = (
            budgets[budget] if not definition.get("extra") and budget in budgets else {"name": budget}
        )
    for axis, value in AXES.items():
        definition.setdefault(axis, list(value))
    return definition


def upgrade_results(table):
    """A per-trial results table (pandas) with every column the current code writes: tables written
    before the cell, non-dominant-loss, sizing and loss-grid axes were the paper's."""
    for k, (column, default) in enumerate(RESULT_COLUMNS.items()):
        if column not in table:
            table.insert(table.columns.get_loc("variant") + 1 + k, column, default)
        table[column] = table[column].astype(object).fillna(default)  # a column read back empty is float NaN
    return table
