"""A differentiable MuJoCo step: torch autograd through the arm, by MuJoCo's own Jacobians.

MuJoCo is not written for automatic differentiation, but it differentiates its own step by
finite differences (``mujoco.mjd_transitionFD``): for state ``x = (qpos, qvel, act)`` and controls
``u``, ``A = dx'/dx``, ``B = dx'/du`` and the sensor Jacobian ``C = ds/dx`` (DESIGN §5). The
functions here run a batch of arms (``envs.ArmBatch``) forward and, in the backward pass, return
the vector-Jacobian products ``A^T g`` and ``B^T g`` (+ ``C^T g_s``), so a loss on hand positions and
excitations backpropagates through whole trials (backpropagation through time).
"""

from __future__ import annotations

import torch

from envs.batch import ArmBatch, Jacobians


class MuJoCoStep(torch.autograd.Function):
    """``x_{t+1}, s_t = step(x_t, u_t)`` for every arm of an ``ArmBatch``.

    ``state`` (N, 10) must hold the arms' current MuJoCo state (it carries the autograd graph; the
    values come from the ``ArmBatch``), ``excitation`` (N, 6) in [0, 1]. Returns the next state
    (N, 10) and the sensors of the state stepped from, ``s_t = h(x_t)`` (N, 15), both float64.
    """

    @staticmethod
    def forward(ctx, state, excitation, batch: ArmBatch, jac: Jacobians):
        sensors = batch.step_differentiable(excitation.detach().to(torch.float64).cpu().numpy(), jac)
        ctx.save_for_backward(torch.from_numpy(jac.A), torch.from_numpy(jac.B), torch.from_numpy(jac.C))
        ctx.excitation_dtype = excitation.dtype
        return torch.from_numpy(batch.state.copy()), torch.from_numpy(sensors)

    @staticmethod
    def backward(ctx, grad_next, grad_sensors):
        A, B, C = ctx.saved_tensors
        grad_state = grad_excitation = None
        if grad_next is not None:
            g = grad_next.unsqueeze(-1)
            grad_state = (A.transpose(1, 2) @ g).squeeze(-1)
            grad_excitation = (B.transpose(1, 2) @ g).squeeze(-1)
        if grad_sensors is not None:
            from_sensors = (C.transpose(1, 2) @ grad_sensors.unsqueeze(-1)).squeeze(-1)
            grad_state = from_sensors if grad_state is None else grad_state + from_sensors
        if grad_excitation is not None:
            grad_excitation = grad_excitation.to(ctx.excitation_dtype)
        return grad_state, grad_excitation, None, None


class MuJoCoSense(torch.autograd.Function):
    """``s = h(x)``: the sensors (N, 15) of the arms' current state ``state`` (N, 10)."""

    @staticmethod
    def forward(ctx, state, batch: ArmBatch, jac: Jacobians):
        sensors = batch.sense(jac)
        ctx.save_for_backward(torch.from_numpy(jac.C))
        return torch.from_numpy(sensors)

    @staticmethod
    def backward(ctx, grad_sensors):
        (C,) = ctx.saved_tensors
        return (C.transpose(1, 2) @ grad_sensors.unsqueeze(-1)).squeeze(-1), None, None


def mujoco_step(state: torch.Tensor, excitation: torch.Tensor, batch: ArmBatch, eps: float = 1e-6):
    """Step every arm of ``batch`` with ``excitation``; see ``MuJoCoStep``.

    Returns ``(next_state, sensors, jacobians)``; ``jacobians.nudged`` tells which arms were beside
    a joint limit.
    """
    jac = Jacobians.empty(batch.n, eps=eps)
    next_state, sensors = MuJoCoStep.apply(state, excitation, batch, jac)
    return next_state, sensors, jac


def mujoco_sense(state: torch.Tensor, batch: ArmBatch, eps: float = 1e-6) -> torch.Tensor:
    """The sensors of ``batch``'s current state, differentiable w.r.t. ``state``; see ``MuJoCoSense``."""
    return MuJoCoSense.apply(state, batch, Jacobians.empty(batch.n, eps=eps))
