"""Movement metrics of one trial (DESIGN §6): coordination of reaches, stability of holds.

Every function takes one trial's time series: hand positions ``(T, 2)`` in metres, or a hand speed
``(T,)`` in m/s, sampled at ``fs`` Hz (the arm's control rate is 100 Hz), targets in metres,
excitations ``(T, 6)``. Lower is better for errors, times, drift, jitter and effort; for the two
smoothness measures (SPARC, log dimensionless jerk) higher (closer to zero) is smoother.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

__all__ = [
    "censored",
    "cocontraction",
    "effort",
    "endpoint_error",
    "hold_drift",
    "jitter",
    "log_dimensionless_jerk",
    "movement_segment",
    "movement_time",
    "path_length",
    "path_length_ratio",
    "peak_speed",
    "push_recovery",
    "rms_deviation",
    "settling_time",
    "sparc",
    "speed",
    "time_to_target",
]


def _positions(positions) -> np.ndarray:
    p = np.asarray(positions, dtype=float)
    if p.ndim != 2 or len(p) < 2:
        raise ValueError(f"positions must be (T >= 2, dims), got shape {p.shape}")
    return p


def speed(positions, fs: float) -> np.ndarray:
    """Hand speed (m/s) from positions (T, 2) m sampled at ``fs`` Hz: central differences (NumPy's
    ``gradient``), one value per sample."""
    return np.linalg.norm(np.gradient(_positions(positions), 1.0 / fs, axis=0, edge_order=2), axis=1)


def endpoint_error(positions, target) -> float:
    """Distance (m) from the hand's last position to the target."""
    return float(np.linalg.norm(_positions(positions)[-1] - np.asarray(target, dtype=float)))


def peak_speed(positions, fs: float) -> float:
    """Largest hand speed (m/s) over the trial."""
    return float(speed(positions, fs).max())


def movement_segment(speed_profile, threshold: float = 0.1) -> slice:
    """The samples from movement onset to offset: the first and last at which the speed is at least
    ``threshold`` of its peak (a common kinematic criterion, e.g. 5-10 % of peak speed)."""
    v = np.asarray(speed_profile, dtype=float)
    if v.max() <= 0:
        return slice(0, len(v))
    moving = np.nonzero(v >= threshold * v.max())[0]
    return slice(int(moving[0]), int(moving[-1]) + 1)


def movement_time(positions, fs: float, threshold: float = 0.1) -> float:
    """Time (s) from movement onset to offset (see ``movement_segment``); 0 when the hand does not move."""
    v = speed(positions, fs)
    if v.max() <= 0:
        return 0.0
    segment = movement_segment(v, threshold)
    return float((segment.stop - 1 - segment.start) / fs)


def censored(samples: int, fs: float) -> float:
    """The time (s) a trial's event that never happens counts as: one sample past the trial's end,
    longer than any time it can happen at, so that it weighs against a controller and is told apart."""
    return float(samples / fs)


def time_to_target(positions, target, fs: float, tolerance: float = 0.02) -> float:
    """Time (s) from the start until the hand first comes within ``tolerance`` m of the target;
    ``censored`` if it never does."""
    distance = np.linalg.norm(_positions(positions) - np.asarray(target, dtype=float), axis=1)
    inside = np.nonzero(distance <= tolerance)[0]
    return float(inside[0] / fs) if len(inside) else censored(len(distance), fs)


def path_length(positions) -> float:
    """Length (m) of the hand's path."""
    return float(np.linalg.norm(np.diff(_positions(positions), axis=0), axis=1).sum())


def path_length_ratio(positions, target) -> float:
    """Path length over the straight-line distance from the start to the target: 1 for a straight
    reach that arrives, more for a detour or an overshoot, less for a hand that stops short (a short
    straight move that misses does not score a perfect 1). NaN when the start is on the target."""
    p = _positions(positions)
    straight = np.linalg.norm(np.asarray(target, dtype=float) - p[0])
    return float(path_length(p) / straight) if straight > 0 else float("nan")


def sparc(speed_profile, fs: float, fc: float = 10.0, amp_th: float = 0.05, padlevel: int = 4) -> float:
    """Spectral arc length of a speed profile (Balasubramanian, Melendez-Calderon, Roby-Brami &
    Burdet 2015, J NeuroEng Rehabil 12:112).

    The arc length of the normalised magnitude spectrum ``|V(f)| / |V(0)|``, with frequency
    normalised by the cut-off, over [0, fc_adaptive]: the spectrum is zero-padded (``padlevel``),
    cut at ``fc`` Hz (default 10), and the cut-off tightened to the last frequency whose magnitude
    is at least ``amp_th`` (default 0.05). Negative; closer to 0 is smoother. Independent of the
    profile's amplitude, and (nearly) of its duration for the same shape. NaN when fewer than two
    frequency bins pass the threshold (no arc to measure; not 0, the best score).
    """
    v = np.asarray(speed_profile, dtype=float)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError("a speed profile is a 1-D series of at least two samples")
    n_fft = int(2 ** (np.ceil(np.log2(len(v))) + padlevel))
    magnitude = np.abs(np.fft.rfft(v, n_fft))
    if magnitude.max() == 0:
        return float("nan")
    magnitude = magnitude / magnitude.max()
    freq = np.fft.rfftfreq(n_fft, 1.0 / fs)
    keep = freq <= fc
    freq, magnitude = freq[keep], magnitude[keep]
    above = np.nonzero(magnitude >= amp_th)[0]
    freq, magnitude = freq[above[0] : above[-1] + 1], magnitude[above[0] : above[-1] + 1]
    if len(freq) < 2:
        return float("nan")
    df = np.diff(freq) / (freq[-1] - freq[0])
    return float(-np.sum(np.sqrt(df**2 + np.diff(magnitude) ** 2)))


def log_dimensionless_jerk(speed_profile, fs: float) -> float:
    """Log dimensionless jerk of a movement's speed profile (Hogan & Sternad 2009, J Mot Behav 41:529;
    the speed-based form of Balasubramanian et al. 2015): ``-ln(T^3 / v_peak^2 * sum((d2v/dt2)^2) dt)``
    with the second derivative of speed by second differences and T the profile's duration. Pass the
    movement itself (onset to offset, ``movement_segment``): rest before or after it changes T.
    Negative; closer to 0 is smoother (a minimum-jerk reach scores -ln(204.8) = -5.32). Invariant to
    amplitude and duration.
    """
    v = np.asarray(speed_profile, dtype=float)
    if v.ndim != 1 or len(v) < 3:
        raise ValueError("a speed profile is a 1-D series of at least three samples")
    dt = 1.0 / fs
    duration = (len(v) - 1) * dt
    v_peak = np.abs(v).max()
    if v_peak == 0:
        return float("nan")
    jerk = np.diff(v, 2) / dt**2
    return float(-np.log(duration**3 / v_peak**2 * np.sum(jerk**2) * dt))


def rms_deviation(positions, target) -> float:
    """Root-mean-square distance (m) of the hand from the target over the trial."""
    distance = np.linalg.norm(_positions(positions) - np.asarray(target, dtype=float), axis=1)
    return float(np.sqrt(np.mean(distance**2)))


def hold_drift(positions, target, statistic: str = "max") -> float:
    """How far (m) the hand drifts from the target while holding: the ``max`` (default) or ``mean``
    distance over the trial."""
    distance = np.linalg.norm(_positions(positions) - np.asarray(target, dtype=float), axis=1)
    if statistic == "max":
        return float(distance.max())
    if statistic == "mean":
        return float(distance.mean())
    raise ValueError(f"statistic must be 'max' or 'mean', got {statistic!r}")


def settling_time(positions, target, fs: float, tolerance: float = 0.01) -> float:
    """Time (s) of the first sample from which the hand stays within ``tolerance`` m of the target to
    the end (a hold that comes within it at the last samples has settled, then); ``censored`` if it
    is outside at the end, so that a controller that never settles is not averaged as if it did."""
    distance = np.linalg.norm(_positions(positions) - np.asarray(target, dtype=float), axis=1)
    outside = np.nonzero(distance > tolerance)[0]
    if len(outside) == 0:
        return 0.0
    if outside[-1] == len(distance) - 1:
        return censored(len(distance), fs)
    return float((outside[-1] + 1) / fs)


def push_recovery(positions, target, pushes, fs: float, tolerance: float = 0.01) -> dict[str, float]:
    """Stability under pushes of one hold trial (DESIGN §6).

    ``positions`` (T+1, 2) m of the states x_0..x_T, ``pushes`` (T, 2) N the push force acting during
    each step (a push is a run of steps with a force). For each push, from its onset until the next
    one's (or the trial's end): the peak distance (m) of the hand from the target, and the recovery
    time (s) from the push's end until the hand is back within ``tolerance`` m and stays within it,
    ``censored`` one sample past that window if it never is. Returns their means over the pushes
    (``peak_deviation_m``, ``recovery_time_s``) and ``end_deviation_m``, the distance at the last state;
    the two push metrics are NaN for a trial without pushes.
    """
    p = _positions(positions)
    distance = np.linalg.norm(p - np.asarray(target, dtype=float), axis=1)
    acting = np.linalg.norm(np.asarray(pushes, dtype=float), axis=1) > 0
    edges = np.diff(np.concatenate([[False], acting, [False]]).astype(int))
    onsets, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]  # steps; a push acts on [onset, end)
    windows = np.append(onsets[1:], len(distance) - 1)[: len(onsets)]  # the last state each push answers for
    peaks, recoveries = [], []
    for onset, end, last in zip(onsets, ends, windows, strict=True):
        peaks.append(distance[onset + 1 : last + 1].max())
        after = distance[end : last + 1]  # states from the first one after the push
        outside = np.nonzero(after > tolerance)[0]
        if len(outside) == 0:
            recoveries.append(0.0)
        elif outside[-1] == len(after) - 1:
            recoveries.append(censored(len(after), fs))
        else:
            recoveries.append((outside[-1] + 1) / fs)
    return {
        "peak_deviation_m": float(np.mean(peaks)) if peaks else float("nan"),
        "recovery_time_s": float(np.mean(recoveries)) if recoveries else float("nan"),
        "end_deviation_m": float(distance[-1]),
    }


def jitter(positions, fs: float, cutoff: float = 5.0) -> float:
    """High-frequency hand motion (m): RMS magnitude of the position above ``cutoff`` Hz (2nd-order
    Butterworth high-pass, forward and backward so without phase lag). Steady drift and slow
    corrections are below the cut-off; tremor-like shaking is above it."""
    p = _positions(positions)
    if not 0 < cutoff < fs / 2:
        raise ValueError(f"cutoff must be between 0 and the Nyquist frequency {fs / 2} Hz, got {cutoff}")
    b, a = signal.butter(2, cutoff, btype="highpass", fs=fs)
    high = signal.filtfilt(b, a, p, axis=0, padlen=min(3 * max(len(a), len(b)), len(p) - 1))
    return float(np.sqrt(np.mean(np.sum(high**2, axis=1))))


def effort(excitations) -> float:
    """Mean squared muscle excitation over the trial (dimensionless, 0-1)."""
    u = np.asarray(excitations, dtype=float)
    return float(np.mean(u**2))


def cocontraction(excitations, pairs) -> float:
    """Co-contraction (dimensionless, 0-1): the excitation an agonist and its antagonist share, the
    overlap ``min(u_flexor, u_extensor)`` of each pair of ``pairs`` (index pairs into the muscles),
    averaged over the pairs and the trial (the overlap form of co-contraction indices, e.g. Falconer &
    Winter 1985, Electromyogr Clin Neurophysiol 25:135). A muscle working alone scores 0 however hard it
    works, where ``effort`` grows; two antagonists fully on score 1."""
    u = np.asarray(excitations, dtype=float)
    pairs = np.asarray(pairs)
    return float(np.minimum(u[:, pairs[:, 0]], u[:, pairs[:, 1]]).mean())
