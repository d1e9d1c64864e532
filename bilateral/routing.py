"""Gradient routing for specialised bilateral models (DESIGN §4).

Left-hemisphere parameters receive only the gradient of the left (dominant) loss, right-hemisphere
parameters only that of the right (non-dominant) loss, and shared parameters (hemisphere weights,
output layer) half of each. Activity still crosses through the callosum and through the arm; the
routing goes by who owns a weight (``Controller.owner``). The distal teacher routes its two trial
losses; ``BilateralPPO`` routes its two policy-gradient losses the same way, with its critic
learning from its own loss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from bilateral.controllers import Controller


def route_gradients(
    named_parameters: Iterable[tuple[str, torch.nn.Parameter]],
    owner: Callable[[str], str],
    losses: dict[str, torch.Tensor],
) -> None:
    """Accumulate routed gradients into ``p.grad``.

    ``owner(name)`` says whose a parameter is: ``"left"``, ``"right"``, ``"shared"`` or any other key
    of ``losses`` (e.g. ``"critic"``). A parameter owned by a key of ``losses`` gets that loss's
    gradient; a ``"shared"`` one gets the mean of the ``"left"`` and ``"right"`` gradients. One
    backward pass per loss, each asked only for the parameters it reaches.
    """
    named = [(name, p) for name, p in named_parameters if p.requires_grad]
    owners = [owner(name) for name, _ in named]
    for who in set(owners) - set(losses) - {"shared"}:
        raise ValueError(f"parameters owned by {who!r} have no loss to learn from")
    if "shared" in owners and not {"left", "right"} <= set(losses):
        raise ValueError("shared parameters need both a left and a right loss")
    order = list(losses)
    grads: dict[int, list[torch.Tensor]] = {}
    for k, key in enumerate(order):
        wanted = [
            p
            for (_, p), who in zip(named, owners, strict=True)
            if who == key or (who == "shared" and key in ("left", "right"))
        ]
        if not wanted:
            continue
        computed = torch.autograd.grad(losses[key], wanted, retain_graph=k < len(order) - 1, allow_unused=True)
        for p, g in zip(wanted, computed, strict=True):
            grads.setdefault(id(p), []).append(torch.zeros_like(p) if g is None else g)
    for (_, p), who in zip(named, owners, strict=True):
        parts = grads[id(p)]
        g = 0.5 * (parts[0] + parts[1]) if who == "shared" else parts[0]
        p.grad = g.detach().clone() if p.grad is None else p.grad + g.detach()


def routed_backward(model: Controller, left_loss: torch.Tensor, right_loss: torch.Tensor) -> None:
    """Routed gradients of a controller's two losses into its parameters' ``.grad``."""
    route_gradients(model.named_parameters(), model.owner, {"left": left_loss, "right": right_loss})
