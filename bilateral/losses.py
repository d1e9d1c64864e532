"""The paper's losses (DESIGN §4): the loss presets, per-term functions, and a whole trial's loss.

The position and excitation terms are the tasks' own (``bilateral_envs.terms``, shared with the
environments' rewards); the ``hidden`` term belongs to the controllers and is defined here.

The hidden-activity term follows the authors' public example (``bilateral-motor-control``,
``tasks.py``: one ``L2xDxRegularizer`` registered per layer name): it is a sum over the hidden layers
(per hemisphere) of each layer's own ``mean(h^2) + 0.05 mean((dh/dt)^2)``, each with its own
weight. A preset's ``"hidden"`` weight applies to every layer; ``"hidden.<layer>"`` (a layer name
``left.0``, ``right.1``, ``unilateral.0``: stack and layer index) sets one layer's. The example's
specialised weights (``loss_weights1``/``loss_weights2`` of ``example.ipynb``) change only the left
hemisphere's first layer and leave every other layer at the task's default 0.01, in both losses:
that is why the dominant preset below has 0.02 on ``left.0`` and 0.01 elsewhere, and the
non-dominant one, which DESIGN §4's table gives no hidden term, has 0.01 on every layer but
``left.0``. (DESIGN §4's table writes the term as one mean over all units; with four equal layers the
example's per-layer sum is about four times that at the same weight.) Noticed and left alone: as the
example's Keras models return no hidden states, Keras may pair these regularisers with other outputs
of the model (its multi-output losses are matched to outputs by sorted name); we follow what the
example writes, a regulariser of hidden activity, as the paper describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bilateral_envs.tasks import DT
from bilateral_envs.terms import NON_SPECIALISED, TASK_TERMS, compute_terms, weighted_sum

if TYPE_CHECKING:  # torch is imported where a loss is computed: configurations read the presets only
    import torch

# The loss presets (DESIGN §4, the authors' example): the weight of each term.
# The hidden-activity term is one per layer and hemisphere; "hidden" weights every layer,
# "hidden.<layer>" one layer (the module docstring says why the specialised presets read as they do).
# "impedance" is beyond the paper: a non-dominant loss after the dynamic-dominance account of
# handedness (Sainburg 2002, 2005: the non-dominant arm specialises in impedance control, position
# stability), pricing the hand's motion while the target is still rather than muscle effort, which
# holding against a load needs (co-contraction); its hidden terms are the non-dominant preset's.
LOSS_PRESETS: dict[str, dict[str, float]] = {
    "non-specialised": {**NON_SPECIALISED, "hidden": 0.01},
    "dominant": {"position_l1": 5.0, "hidden": 0.01, "hidden.left.0": 0.02},
    "non-dominant": {"position_mse10": 5.0, "excitation": 2.0, "hidden": 0.01, "hidden.left.0": 0.0},
    "impedance": {
        "position_mse10": 5.0,
        "hand_speed": 1.0,
        "hand_acceleration": 1e-3,
        "hidden": 0.01,
        "hidden.left.0": 0.0,
    },
}
NONDOMINANT_LOSSES = {"paper": "non-dominant", "impedance": "impedance"}  # a run's non-dominant loss -> preset
DEFAULT_NONDOMINANT = next(iter(NONDOMINANT_LOSSES))  # the paper's


def run_presets(variant_losses: tuple[str, ...], nondominant: str = DEFAULT_NONDOMINANT) -> tuple[str, ...]:
    """The loss presets a run trains with: its variant's (``Variant.losses``), the non-dominant one as the
    run chooses (``NONDOMINANT_LOSSES``)."""
    return tuple(NONDOMINANT_LOSSES[nondominant] if p == "non-dominant" else p for p in variant_losses)


LOSS_TERMS = (*TASK_TERMS, "hidden")
LAYER_WEIGHT = re.compile(r"hidden\.(left|right|unilateral)\.\d+")  # one layer's hidden-term weight


def hidden_activity(h: torch.Tensor, dt: float = DT) -> torch.Tensor:
    """``mean(h^2) + 0.05 mean((dh/dt)^2)`` of one layer's activity ``h`` (T, B, units), dt in s.

    Penalises strong and fast-changing hidden activity; the derivative is taken over steps of ``dt``.
    """
    rate = (h[1:] - h[:-1]) / dt
    return (h * h).mean() + 0.05 * (rate * rate).mean()


def check_term(name: str) -> None:
    if name not in LOSS_TERMS and not LAYER_WEIGHT.fullmatch(name):
        raise ValueError(
            f"unknown loss term {name!r}; the terms are {list(LOSS_TERMS)}, and 'hidden.<layer>' "
            "(e.g. 'hidden.left.0') weights one hidden layer"
        )


def loss_weights(preset: str, overrides: dict[str, float] | None = None) -> dict[str, float]:
    """A preset's term weights (``LOSS_PRESETS``), with optional overrides
    (``{"hidden": 0.0}``, ...)."""
    try:
        weights = dict(LOSS_PRESETS[preset])
    except KeyError:
        raise ValueError(f"unknown loss preset {preset!r}; choose one of {sorted(LOSS_PRESETS)}") from None
    for name, value in (overrides or {}).items():
        check_term(name)
        weights[name] = float(value)
    return weights


@dataclass
class TrialTerms:
    """Every term of a batch of trials, each averaged over trials and steps (0-d tensors).

    ``hidden`` is the unweighted sum of the per-layer terms ``layers`` (for logging); weights apply
    per layer (see the module docstring).
    """

    position_l1: torch.Tensor
    position_mse10: torch.Tensor
    excitation: torch.Tensor
    hand_speed: torch.Tensor
    hand_acceleration: torch.Tensor
    hidden: torch.Tensor
    layers: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def compute(cls, trajectory) -> TrialTerms:
        """From a ``Trajectory``: hand positions after each step (x_1..x_T, with those before them for
        the motion terms; the trial starts at rest), targets, excitations and each hidden layer's activity."""
        import torch

        hand = trajectory.hand  # x_0 .. x_T
        before = torch.cat([hand[:1], hand[:-2]])  # x_0, x_0, x_1, ..., x_{T-2}
        steps = compute_terms(hand[1:], trajectory.target, trajectory.excitation.double(), hand[:-1], before)
        layers = {name: hidden_activity(h.double()) for name, h in trajectory.layers.items()}
        return cls(
            **{name: value.mean() for name, value in steps.items()},
            hidden=sum(layers.values()),
            layers=layers,
        )

    def weighted(self, weights: dict[str, float]) -> torch.Tensor:
        """``sum(weights[k] * term_k)``, hidden layers each by its own weight; a 0-d tensor."""
        task = {k: v for k, v in weights.items() if k in TASK_TERMS}
        total = self.position_l1.new_zeros(()) + weighted_sum(vars(self), task)
        default = weights.get("hidden", 0.0)
        for name, term in self.layers.items():
            w = weights.get(f"hidden.{name}", default)
            if w:
                total = total + w * term
        return total

    def as_floats(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in LOSS_TERMS}


# -- a grid axis over a loss's weights (the sensitivity of the claims to them) ---------------------
# ``error=l1|mse10`` puts a preset's whole position-error weight on one form of the error; ``effort=w``
# is the excitation term's weight; any term of ``LOSS_TERMS`` is set by its name. An item names the
# preset it changes (``dominant.effort=0.2``); without one it changes the non-dominant loss a run trains
# with (the paper's ``non-dominant`` or ``impedance``).
ERROR_FORMS = {"l1": "position_l1", "mse10": "position_mse10"}


def loss_axis(values: tuple[str, ...]) -> list[str]:
    """The labels of a loss grid: ``("error=l1,mse10", "effort=0,2")`` -> ``["error=l1,effort=0", ...]``,
    every combination of the values given (a ValueError for an item that is not ``name=v1,v2``)."""
    import itertools

    axes = []
    for item in values:
        name, equals, listed = item.partition("=")
        choices = [v for v in listed.split(",") if v]
        if not equals or not name or not choices:
            raise ValueError(f"a loss grid item is NAME=VALUE[,VALUE...], e.g. effort=0,0.2,2; got {item!r}")
        for value in choices:
            loss_item(name, value)  # refuse what cannot be applied, before any run starts
        axes.append([f"{name}={value}" for value in choices])
    return [",".join(combination) for combination in itertools.product(*axes)]


def loss_item(name: str, value: str) -> tuple[str | None, str, float | str]:
    """``(preset or None, term or 'error', value)`` of one loss grid item, checked."""
    preset, _, term = name.partition(".") if name.split(".")[0] in LOSS_PRESETS else ("", "", name)
    if term == "error":
        if value not in ERROR_FORMS:
            raise ValueError(f"error takes one of {list(ERROR_FORMS)}, got {value!r}")
        return preset or None, "error", value
    term = "excitation" if term == "effort" else term
    check_term(term)
    try:
        return preset or None, term, float(value)
    except ValueError:
        raise ValueError(f"the weight of {term} must be a number, got {value!r}") from None


def loss_label_overrides(label: str, presets: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """The term weights (``TrainConfig.loss_overrides``) that loss grid label ``label`` sets, for a run
    that trains with ``presets``: each item changes the preset it names, else the run's non-dominant
    loss. Empty when the label changes no preset the run trains with."""
    overrides: dict[str, dict[str, float]] = {}
    for item in filter(None, label.split(",")):
        name, _, value = item.partition("=")
        preset, term, weight = loss_item(name, value)
        preset = preset or next((p for p in presets if p in NONDOMINANT_LOSSES.values()), None)
        if preset not in presets:
            continue
        changed = overrides.setdefault(preset, {})
        if term == "error":
            base = {**LOSS_PRESETS[preset], **changed}
            total = sum(base.get(t, 0.0) for t in ERROR_FORMS.values())
            changed.update({t: (total if form == weight else 0.0) for form, t in ERROR_FORMS.items()})
        else:
            changed[term] = weight
    return overrides
