"""Gradient routing for specialised bilateral models (DESIGN §4).

Left-hemisphere parameters receive only the gradient of the left (dominant) loss, right-hemisphere
parameters only that of the right (non-dominant) loss, and shared parameters (hemisphere weights,
output layer) half of each. Activity still crosses through the callosum and through the arm; the
routing goes by who owns a weight (``Controller.owner``).
"""

from __future__ import annotations

import torch

from bilateral.controllers import Controller


def routed_backward(model: Controller, left_loss: torch.Tensor, right_loss: torch.Tensor) -> None:
    """Write the routed gradients into ``p.grad`` of every trainable parameter of ``model``.

    Two backward passes through the same graph (the first keeps it): one per loss, each asked only
    for the parameters that loss is routed to.
    """
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    owners = [model.owner(name) for name, _ in named]
    wanted = {
        side: [p for (_, p), owner in zip(named, owners, strict=True) if owner in (side, "shared")]
        for side in ("left", "right")
    }
    grads = {}
    for side, loss, keep in (("left", left_loss, True), ("right", right_loss, False)):
        computed = torch.autograd.grad(loss, wanted[side], retain_graph=keep, allow_unused=True)
        grads[side] = {id(p): g for p, g in zip(wanted[side], computed, strict=True)}
    for (_, p), owner in zip(named, owners, strict=True):
        if owner == "shared":
            parts = [grads[side][id(p)] for side in ("left", "right")]
            parts = [torch.zeros_like(p) if g is None else g for g in parts]
            g = 0.5 * (parts[0] + parts[1])
        else:
            g = grads[owner][id(p)]
            g = torch.zeros_like(p) if g is None else g
        p.grad = g.detach().clone() if p.grad is None else p.grad + g.detach()
