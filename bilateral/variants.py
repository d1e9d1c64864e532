"""The seven controllers compared in the study (DESIGN §1): structure, callosum and losses by name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """A compared controller.

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


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose one of {list(VARIANTS)}") from None
