"""The per-step loss terms of DESIGN §4 that a task can compute, defined once.

The environments' rewards and the trainers' losses call these same functions; they work on NumPy
arrays and on torch tensors alike (only operators and ``.sum(-1)`` are used), reducing over the last
axis only, so a batch of trials, or a batch of whole trials over time, keeps its leading axes.
The trainers average the result over trials and steps. (A mean is written as a sum over the last
axis divided by its length: on the environments' tiny arrays NumPy's ``mean`` costs twice as much.)
"""

from __future__ import annotations

TASK_TERMS = ("position_l1", "position_mse10", "excitation")


def position_l1(hand, target):
    """Mean absolute hand-target error over x and y (m). Shapes (..., 2) -> (...)."""
    return abs(hand - target).sum(-1) / hand.shape[-1]


def position_mse10(hand, target):
    """``mean((10 (p - p*))^2) / 10`` over x and y (m^2 x 10): a squared error in decimetres, /10."""
    error = hand - target
    return (error * error).sum(-1) * (100.0 / 10.0 / error.shape[-1])


def excitation(u):
    """Mean squared muscle excitation over the six muscles (dimensionless). Shape (..., 6) -> (...)."""
    return (u * u).sum(-1) / u.shape[-1]


def compute_terms(hand, target, u) -> dict:
    """Every term for one step (or a batch of steps), keyed by the names in ``TASK_TERMS``."""
    return {
        "position_l1": position_l1(hand, target),
        "position_mse10": position_mse10(hand, target),
        "excitation": excitation(u),
    }


def check_weights(weights: dict) -> dict:
    """``weights`` as floats, or a ValueError naming the terms that do not exist."""
    unknown = set(weights) - set(TASK_TERMS)
    if unknown:
        raise ValueError(f"unknown loss terms {sorted(unknown)}; the tasks compute {list(TASK_TERMS)}")
    return {name: float(w) for name, w in weights.items()}


def weighted_sum(terms: dict, weights: dict):
    """``sum(weights[k] * terms[k])`` over the weights given (checked by ``check_weights``)."""
    total = 0.0
    for name, w in weights.items():
        if w:
            total = total + w * terms[name]
    return total
