"""The per-step loss terms of DESIGN §4 that a task can compute, defined once.

The environments' rewards and the trainers' losses call these same functions; they work on NumPy
arrays and on torch tensors alike (only operators and ``.sum(-1)`` are used), reducing over the last
axis only, so a batch of trials, or a batch of whole trials over time, keeps its leading axes.
The trainers average the result over trials and steps. (A mean is written as a sum over the last
axis divided by its length: on the environments' tiny arrays NumPy's ``mean`` costs twice as much.)

The motion terms (``hand_speed``, ``hand_acceleration``) measure how the hand moves while the target
stays where it is (it does, in both tasks): they are the impedance loss's (DESIGN §4), which prices
motion rather than muscle effort. They read the hand's earlier positions: a trial starts at rest, so
before its first state the hand is where it starts.
"""

from __future__ import annotations

from bilateral_envs.tasks import DT

TASK_TERMS = ("position_l1", "position_mse10", "excitation", "hand_speed", "hand_acceleration")
# The paper's non-specialised weights of these terms (DESIGN §4): the environments' default reward,
# and, with a hidden-activity term, the non-specialised loss (bilateral.losses.LOSS_PRESETS).
NON_SPECIALISED = {"excitation": 1.0, "position_l1": 2.5, "position_mse10": 2.5}


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


def hand_speed(hand, previous):
    """Mean squared hand velocity over x and y, (m/s)^2, from the hand positions (m) after this step
    and before it: ``mean(((p - p') / dt)^2)``. Shapes (..., 2) -> (...)."""
    velocity = (hand - previous) * (1.0 / DT)
    return (velocity * velocity).sum(-1) / velocity.shape[-1]


def hand_acceleration(hand, previous, before_previous):
    """Mean squared change of the hand's velocity per second over x and y, (m/s^2)^2, from its last
    three positions (m): ``mean(((p - 2 p' + p'') / dt^2)^2)``. Shapes (..., 2) -> (...)."""
    change = (hand - 2 * previous + before_previous) * (1.0 / (DT * DT))
    return (change * change).sum(-1) / change.shape[-1]


def compute_terms(hand, target, u, previous=None, before_previous=None) -> dict:
    """Every term for one step (or a batch of steps), keyed by the names in ``TASK_TERMS``: the hand's
    position (m) after the step, ``previous`` before it, ``before_previous`` before that (each
    defaults to the later one: a hand at rest)."""
    previous = hand if previous is None else previous
    before_previous = previous if before_previous is None else before_previous
    return {
        "position_l1": position_l1(hand, target),
        "position_mse10": position_mse10(hand, target),
        "excitation": excitation(u),
        "hand_speed": hand_speed(hand, previous),
        "hand_acceleration": hand_acceleration(hand, previous, before_previous),
    }


def check_weights(weights: dict) -> dict:
    """``weights`` as floats, or a ValueError naming the terms that do not exist."""
    unknown = set(weights) - set(TASK_TERMS)
    if unknown:
        raise ValueError(f"unknown loss terms {sorted(unknown)}; the tasks compute {list(TASK_TERMS)}")
    return {name: float(w) for name, w in weights.items()}


def reward_weights(
    position_l1: float, position_mse10: float, excitation: float, hand_speed: float, hand_acceleration: float
) -> dict:
    """An environment's reward weights of the five terms (its ``*_weight`` arguments), checked."""
    return check_weights(
        {
            "position_l1": position_l1,
            "position_mse10": position_mse10,
            "excitation": excitation,
            "hand_speed": hand_speed,
            "hand_acceleration": hand_acceleration,
        }
    )


def weighted_sum(terms: dict, weights: dict):
    """``sum(weights[k] * terms[k])`` over the weights given (checked by ``check_weights``)."""
    total = 0.0
    for name, w in weights.items():
        if w:
            total = total + w * terms[name]
    return total
