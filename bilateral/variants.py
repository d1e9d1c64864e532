"""The compared controllers (DESIGN §1) and the names of their parts, as data.

A ``Variant`` says what a controller is (unilateral or bilateral, with or without a callosum) and
which loss preset(s) train it; ``bilateral.controllers.controller_for`` builds one for a
configuration. This module imports neither torch nor MuJoCo: configurations and the command line
read it.
"""

from __future__ import annotations

from dataclasses import dataclass

LESIONS = ("high-left", "high-right", "low-left", "low-right", "cc")
LESION_MEANINGS = {
    "high-left": "the left hemisphere's input zeroed",
    "high-right": "the right hemisphere's input zeroed",
    "low-left": "the left hemisphere's output zeroed before the two are combined",
    "low-right": "the right hemisphere's output zeroed before the two are combined",
    "cc": "the corpus callosum cut",
}
CALLOSUM_KINDS = ("paper", "learned")
INITIALISATIONS = ("torch", "glorot")  # PyTorch's default; Keras's (Glorot-uniform weights, zero biases)
HEMISPHERE_WEIGHTS = ("softplus", "clamp")  # how w_L, w_R are kept non-negative
CELLS = ("dense", "gru")  # the hemispheres' layers: feedforward (the paper) or recurrent (beyond it)
DEFAULT_CELL = CELLS[0]
# how a unilateral controller is sized against the bilateral ones: with as many hidden units (the paper,
# DESIGN §3), or with as many parameters (within 5 %)
SIZINGS = ("units", "parameters")
DEFAULT_SIZING = SIZINGS[0]


@dataclass(frozen=True)
class Variant:
    """A compared controller (DESIGN §1).

    ``losses`` names the loss preset(s): one for the whole model, or (left, right) for a specialised
    bilateral model, whose hemispheres then learn from their own loss only (gradient routing).
    """

    name: str
    structure: str  # "unilateral" or "bilateral"
    callosum: bool
    losses: tuple[str, ...]
    stands_for: str

    @property
    def specialised(self) -> bool:
        return len(self.losses) == 2

    @property
    def trains_nondominant(self) -> bool:
        """Whether a non-dominant loss trains it (so that the choice of non-dominant loss matters)."""
        return "non-dominant" in self.losses


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("uni", "unilateral", False, ("non-specialised",), "one generic controller"),
        Variant("uni-dom", "unilateral", False, ("dominant",), "the preferred hand for reach"),
        Variant("uni-nondom", "unilateral", False, ("non-dominant",), "the preferred hand for hold"),
        Variant("bi", "bilateral", False, ("non-specialised",), "bilateral without specialisation"),
        Variant("bi-cc", "bilateral", True, ("non-specialised",), "bilateral with callosum"),
        Variant("bi-spec", "bilateral", False, ("dominant", "non-dominant"), "specialised hemispheres"),
        Variant("bi-spec-cc", "bilateral", True, ("dominant", "non-dominant"), "specialised, with callosum"),
    )
}
UNILATERAL = tuple(name for name, v in VARIANTS.items() if v.structure == "unilateral")
BILATERAL = tuple(name for name, v in VARIANTS.items() if v.structure == "bilateral")


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose one of {list(VARIANTS)}") from None
