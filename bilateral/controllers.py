"""Unilateral and bilateral (two-hemisphere) controllers, the corpus callosum, and lesions.

A controller maps the 16 observations of a step to 6 muscle excitations in (0, 1). Its hidden
layers are dense ``tanh`` layers (the paper) or GRU layers (``cell="gru"``: memory, so that a
controller can integrate an error, e.g. hold against a steady load without a standing offset); its
output layer is a dense sigmoid layer of 6 units. A recurrent controller's state is its layers'
activity of the step before (``ControllerOutput.layers``, passed back as ``state``), zero at a
trial's start; a dense controller ignores ``state``.

- ``Unilateral``: one stack of hidden layers (the whole width).
- ``Bilateral``: two hemispheres (``left``, ``right``), each half the width, read the same input;
  ``out = w_L h_L + w_R h_R`` with two trainable non-negative weights (initialised 0.5), then a
  shared output layer. Optionally a corpus callosum lets activity cross between hemispheres.

Parameter ownership (what gradient routing goes by): everything under ``left.`` belongs to the left
hemisphere, under ``right.`` to the right; the hemisphere weights and the output layer are shared.
A learned callosum's weights belong to the hemisphere that *receives* the activity.
"""

from __future__ import annotations

import functools
import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from bilateral.compat import renamed_unilateral_stack
from bilateral.settings import check_choice
from bilateral.variants import CALLOSUM_KINDS, CELLS, HEMISPHERE_WEIGHTS, INITIALISATIONS, LESIONS, get_variant
from bilateral_envs.arm import N_MUSCLES
from bilateral_envs.batch import N_OBS  # the observations the controllers read


@dataclass
class ControllerOutput:
    """One step of a controller: excitations (B, 6) and the hidden activity of each stack.

    ``layers`` maps ``"left"``/``"right"`` (bilateral) or ``"unilateral"`` to the list of that stack's
    layer activations, each (B, width): a recurrent controller's state for its next step.
    """

    excitation: torch.Tensor
    layers: dict[str, list[torch.Tensor]] = field(default_factory=dict)

    @property
    def hidden(self) -> torch.Tensor:
        """All hidden activations side by side, (B, total hidden units)."""
        return torch.cat([h for stack in self.layers.values() for h in stack], dim=-1)


def paper_callosum(other: torch.Tensor) -> torch.Tensor:
    """The paper's parameter-free callosum: max-pool the other hemisphere's activity with pool size 2
    (stride 2) and zero-pad it on the left back to its width. (B, w) -> (B, w)."""
    width = other.shape[-1]
    pooled = F.max_pool1d(other.unsqueeze(1), kernel_size=2, stride=2).squeeze(1)
    return F.pad(pooled, (width - pooled.shape[-1], 0))


class Hemisphere(nn.Module):
    """A stack of ``depth`` layers of ``width`` units (one hemisphere, or a unilateral net): dense tanh
    layers, or GRU layers (``cell="gru"``) whose hidden state is their activity.

    With a learned callosum, ``callosum[k]`` maps the other hemisphere's layer ``k`` activity into
    this hemisphere's layer ``k + 1`` input (owned by this, the receiving, hemisphere).
    """

    def __init__(self, width: int, depth: int, learned_callosum: bool = False, cell: str = "dense") -> None:
        super().__init__()
        check_choice("cell", cell, CELLS)
        self.cell = cell
        widths = [N_OBS] + [width] * depth
        kind = nn.Linear if cell == "dense" else nn.GRUCell
        self.layers = nn.ModuleList(kind(a, b) for a, b in itertools.pairwise(widths))
        self.callosum = (
            nn.ModuleList(nn.Linear(width, width, bias=False) for _ in range(depth - 1)) if learned_callosum else None
        )
        if self.callosum is not None:
            for layer in self.callosum:
                nn.init.zeros_(layer.weight)  # starts as no crossing; training opens it

    def layer(self, k: int, x: torch.Tensor, previous: torch.Tensor | None = None) -> torch.Tensor:
        """Layer ``k``'s activity: ``tanh(W_k x + b_k)``, or a GRU's new state from input ``x`` and its
        ``previous`` state (None: zero). ``F.linear``: a module call costs more than the product on
        these tiny layers, and the controller runs once per step of every trial."""
        layer = self.layers[k]
        if self.cell == "gru":
            return layer(x, previous)
        return torch.tanh(F.linear(x, layer.weight, layer.bias))

    @property
    def width(self) -> int:
        return self.layers[0].hidden_size if self.cell == "gru" else self.layers[0].out_features

    @property
    def depth(self) -> int:
        return len(self.layers)


class Controller(nn.Module):
    """Common parts: the output layer, its initialisation, lesions and the ownership of parameters."""

    def __init__(self, output_width: int, output_bias: float) -> None:
        super().__init__()
        self.output = nn.Linear(output_width, N_MUSCLES)
        with torch.no_grad():
            self.output.bias.fill_(output_bias)
        self._lesion: str | None = None

    def forward(self, obs: torch.Tensor, state: dict[str, list[torch.Tensor]] | None = None) -> ControllerOutput:
        """One step: excitations from observations ``obs`` (B, 16), and the state of the step before
        (a recurrent controller's; None at a trial's start)."""
        raise NotImplementedError

    @property
    def recurrent(self) -> bool:
        """Whether the controller has memory (GRU layers): its steps depend on the ones before."""
        return any(isinstance(m, Hemisphere) and m.cell == "gru" for m in self.modules())

    def _excitation(self, h: torch.Tensor) -> torch.Tensor:
        """The sigmoid output layer."""
        return torch.sigmoid(F.linear(h, self.output.weight, self.output.bias))

    @property
    def lesion(self) -> str | None:
        """The lesion applied at evaluation (``None`` = intact); the weights are never touched."""
        return self._lesion

    @lesion.setter
    def lesion(self, name: str | None) -> None:
        if name is not None and name not in self.supported_lesions:
            without = " without a callosum" if getattr(self, "callosum", "") is None else ""
            supported = f"the lesions {list(self.supported_lesions)}" if self.supported_lesions else "no lesions"
            raise ValueError(f"a {type(self).__name__} controller{without} takes {supported}, not {name!r}")
        self._lesion = name

    @property
    def supported_lesions(self) -> tuple[str, ...]:
        """The lesions this controller can take (a callosum cut only where there is one)."""
        return ()

    @contextmanager
    def lesioned(self, name: str | None):
        """Apply lesion ``name`` inside a ``with`` block."""
        previous, self.lesion = self.lesion, name
        try:
            yield self
        finally:
            self.lesion = previous

    def owner(self, parameter_name: str) -> str:
        """``"left"``, ``"right"`` or ``"shared"``: which hemisphere a parameter belongs to."""
        head = parameter_name.split(".", 1)[0]
        return head if head in ("left", "right") else "shared"

    def initialise(self, init: str) -> None:
        """Re-draw the dense layers' weights as ``init`` says: ``"torch"`` leaves PyTorch's default;
        ``"glorot"`` is Keras's (the authors' example): Glorot-uniform weights and zero biases. The
        output bias, a learned callosum and GRU layers keep their starting values."""
        if init not in INITIALISATIONS:
            raise ValueError(f"init must be one of {INITIALISATIONS}, got {init!r}")
        if init == "torch":
            return
        with torch.no_grad():
            for name, module in self.named_modules():
                if isinstance(module, nn.Linear) and ".callosum." not in f".{name}.":
                    nn.init.xavier_uniform_(module.weight)
                    if module is not self.output:
                        nn.init.zeros_(module.bias)

    def constrain_(self) -> None:
        """Project the parameters back into their allowed range after an update (nothing to do here)."""


class Unilateral(Controller):
    """One stack of ``depth`` tanh layers of ``width`` units, then the sigmoid output layer."""

    def __init__(self, width: int = 10, depth: int = 2, output_bias: float = -3.0, cell: str = "dense") -> None:
        super().__init__(width, output_bias)
        self.stack = Hemisphere(width, depth, cell=cell)
        self.register_load_state_dict_pre_hook(renamed_unilateral_stack)  # weights of earlier versions load

    def forward(self, obs: torch.Tensor, state: dict[str, list[torch.Tensor]] | None = None) -> ControllerOutput:
        h, layers = obs, []
        for k in range(self.stack.depth):
            h = self.stack.layer(k, h, None if state is None else state["unilateral"][k])
            layers.append(h)
        return ControllerOutput(self._excitation(h), {"unilateral": layers})


class Bilateral(Controller):
    """Two hemispheres of ``width // 2`` units and ``depth`` layers, their outputs combined by
    non-negative weights ``w_L``, ``w_R``, then a shared sigmoid output layer.

    ``callosum``: ``None``, ``"paper"`` (parameter-free: max-pool 2 and left zero-pad) or
    ``"learned"`` (a dense map from the other hemisphere's previous layer, initialised at zero).
    ``hemisphere_weights``: ``"softplus"`` (w = softplus(raw), smooth and positive) or ``"clamp"``
    (w = raw, clamped at 0 after every update by ``constrain_``: the Keras constraint of the authors'
    example). Both start at w = 0.5.
    """

    @property
    def supported_lesions(self) -> tuple[str, ...]:
        return tuple(name for name in LESIONS if name != "cc" or self.callosum is not None)

    def __init__(
        self,
        width: int = 10,
        depth: int = 2,
        callosum: str | None = None,
        output_bias: float = -3.0,
        hemisphere_weights: str = "softplus",
        cell: str = "dense",
    ) -> None:
        if width % 2:
            raise ValueError(
                f"a bilateral model splits its width between two hemispheres: width must be even, got {width}"
            )
        if callosum is not None and callosum not in CALLOSUM_KINDS:
            raise ValueError(f"callosum must be None or one of {CALLOSUM_KINDS}, got {callosum!r}")
        if hemisphere_weights not in HEMISPHERE_WEIGHTS:
            raise ValueError(f"hemisphere_weights must be one of {HEMISPHERE_WEIGHTS}, got {hemisphere_weights!r}")
        half = width // 2
        super().__init__(half, output_bias)
        self.callosum = callosum
        self.left = Hemisphere(half, depth, learned_callosum=callosum == "learned", cell=cell)
        self.right = Hemisphere(half, depth, learned_callosum=callosum == "learned", cell=cell)
        self.weighting = hemisphere_weights
        start = math.log(math.expm1(0.5)) if hemisphere_weights == "softplus" else 0.5
        self.raw_hemisphere_weights = nn.Parameter(torch.full((2,), start))

    @property
    def hemisphere_weights(self) -> torch.Tensor:
        """(w_L, w_R), both >= 0."""
        if self.weighting == "softplus":
            return F.softplus(self.raw_hemisphere_weights)
        return self.raw_hemisphere_weights

    def constrain_(self) -> None:
        if self.weighting == "clamp":
            with torch.no_grad():
                self.raw_hemisphere_weights.clamp_(min=0.0)

    def _cross(self, receiver: Hemisphere, k: int, other: torch.Tensor) -> torch.Tensor:
        if self.callosum == "paper":
            return paper_callosum(other)
        return receiver.callosum[k](other)

    def forward(self, obs: torch.Tensor, state: dict[str, list[torch.Tensor]] | None = None) -> ControllerOutput:
        lesion = self.lesion
        x_left = torch.zeros_like(obs) if lesion == "high-left" else obs
        x_right = torch.zeros_like(obs) if lesion == "high-right" else obs
        crossing = self.callosum is not None and lesion != "cc"
        left, right = [], []
        h_l, h_r = x_left, x_right
        for k in range(self.left.depth):
            in_l, in_r = h_l, h_r
            if k > 0 and crossing:
                in_l = h_l + self._cross(self.left, k - 1, h_r)
                in_r = h_r + self._cross(self.right, k - 1, h_l)
            h_l = self.left.layer(k, in_l, None if state is None else state["left"][k])
            h_r = self.right.layer(k, in_r, None if state is None else state["right"][k])
            left.append(h_l)
            right.append(h_r)
        w = self.hemisphere_weights
        out_l = torch.zeros_like(h_l) if lesion == "low-left" else w[0] * h_l
        out_r = torch.zeros_like(h_r) if lesion == "low-right" else w[1] * h_r
        return ControllerOutput(self._excitation(out_l + out_r), {"left": left, "right": right})


def build_controller(
    structure: str,
    width: int,
    depth: int,
    callosum: str | None = None,
    output_bias: float = -3.0,
    *,
    init: str = "torch",
    hemisphere_weights: str = "softplus",
    cell: str = "dense",
) -> Controller:
    """A ``Unilateral`` or ``Bilateral`` controller (``structure`` names which) of ``cell`` layers,
    initialised by ``init`` (see ``Controller.initialise``) from torch's current random state."""
    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be >= 1, got width={width}, depth={depth}")
    if structure == "unilateral":
        if callosum is not None:
            raise ValueError("a unilateral controller has no callosum")
        model = Unilateral(width, depth, output_bias, cell)
    elif structure == "bilateral":
        model = Bilateral(width, depth, callosum, output_bias, hemisphere_weights, cell)
    else:
        raise ValueError(f"structure must be 'unilateral' or 'bilateral', got {structure!r}")
    model.initialise(init)
    return model


def parameter_count(structure: str, width: int, depth: int, cell: str = "dense") -> int:
    """Trainable parameters of a controller without a learned callosum (the paper's callosum has none)."""
    with torch.random.fork_rng():
        return sum(p.numel() for p in build_controller(structure, width, depth, cell=cell).parameters())


@functools.cache
def matched_width(width: int, depth: int, cell: str = "dense") -> int:
    """The unilateral width whose parameter count is nearest the bilateral model's of ``width`` (total
    units) and ``depth``; a ValueError if no width comes within 5 %."""
    target = parameter_count("bilateral", width, depth, cell)
    best = min(range(1, 2 * width + 1), key=lambda w: abs(parameter_count("unilateral", w, depth, cell) - target))
    if abs(parameter_count("unilateral", best, depth, cell) - target) > 0.05 * target:
        raise ValueError(f"no unilateral width matches the {target} parameters of a bilateral width {width} within 5 %")
    return best


def controller_arguments(config) -> dict:
    """``build_controller``'s arguments for a run's configuration (a ``TrainConfig`` or an ``RLConfig``):
    the variant's structure and callosum, and the configuration's sizes, cell and initialisation. A
    unilateral controller sized by ``parameters`` gets ``matched_width``; by ``units``, ``width``."""
    variant = get_variant(config.variant)
    matched = variant.structure == "unilateral" and config.sizing == "parameters"
    return {
        "structure": variant.structure,
        "width": matched_width(config.width, config.depth, config.cell) if matched else config.width,
        "depth": config.depth,
        "callosum": config.callosum_kind if variant.callosum else None,
        "output_bias": config.output_bias,
        "init": config.init,
        "hemisphere_weights": config.hemisphere_weights,
        "cell": config.cell,
    }


def controller_for(config) -> Controller:
    """The controller of ``config``'s variant, initialised from ``config.seed`` (the caller's random
    generator is left as it was)."""
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        return build_controller(**controller_arguments(config))
