"""Movement metrics against cases with answers derived by hand."""

import numpy as np
import pytest

from bilateral.metrics import (
    effort,
    endpoint_error,
    hold_drift,
    jitter,
    log_dimensionless_jerk,
    movement_segment,
    movement_time,
    path_length_ratio,
    peak_speed,
    push_recovery,
    rms_deviation,
    settling_time,
    sparc,
    speed,
    time_to_target,
)

FS = 1000.0


def minimum_jerk(distance, duration, fs=FS, direction=(0.6, 0.8), start=(0.1, 0.2)):
    """x(t) = D (10 s^3 - 15 s^4 + 6 s^5), s = t / T, along a unit direction (Flash & Hogan 1985)."""
    s = np.arange(0, duration + 0.5 / fs, 1 / fs) / duration
    x = distance * (10 * s**3 - 15 * s**4 + 6 * s**5)
    return np.asarray(start) + x[:, None] * np.asarray(direction)


def test_straight_line_at_constant_speed():
    t = np.arange(0, 0.5, 0.01)
    p = np.stack([0.2 * t, -0.1 * t], axis=1)  # 0.2236 m/s
    assert path_length_ratio(p, p[-1]) == pytest.approx(1.0)
    assert peak_speed(p, 100) == pytest.approx(np.hypot(0.2, 0.1))
    np.testing.assert_allclose(speed(p, 100), np.hypot(0.2, 0.1))
    assert endpoint_error(p, p[-1] + [0.03, 0.04]) == pytest.approx(0.05)
    assert movement_time(p, 100) == pytest.approx(0.49)  # moving from the first sample to the last


def test_a_detour_lengthens_the_path():
    p = np.array([[0.0, 0.0], [0.3, 0.4], [0.6, 0.0]])  # 0.5 + 0.5 m for 0.6 m straight
    assert path_length_ratio(p, [0.6, 0.0]) == pytest.approx(1.0 / 0.6)


def test_path_length_ratio_is_against_the_target():
    """A short straight move that misses does not score 1, a hand pinned at a limit not thousands."""
    short = np.array([[0.0, 0.0], [0.05, 0.0], [0.1, 0.0]])  # 10 cm straight, toward a target 40 cm away
    assert path_length_ratio(short, [0.4, 0.0]) == pytest.approx(0.25)
    pinned = np.array([[0.3, 0.2], [0.3, 0.2 + 1e-7], [0.3, 0.2]])  # start and end coincide
    assert path_length_ratio(pinned, [0.1, 0.4]) == pytest.approx(2e-7 / np.hypot(0.2, 0.2))
    overshoot = np.array([[0.0, 0.0], [0.5, 0.0], [0.4, 0.0]])
    assert path_length_ratio(overshoot, [0.4, 0.0]) == pytest.approx(0.6 / 0.4)
    assert np.isnan(path_length_ratio(short, short[0]))


@pytest.mark.parametrize("distance, duration", [(0.1, 1.0), (0.3, 0.6)])
def test_minimum_jerk_reach(distance, duration):
    p = minimum_jerk(distance, duration)
    # peak speed 15/8 D/T at mid-movement
    assert peak_speed(p, FS) == pytest.approx(1.875 * distance / duration, rel=1e-4)
    # speed >= 10 % of peak while 16 s^2 (1-s)^2 >= 0.1: s in (1 -+ sqrt(1 - sqrt(0.1)/1)) / 2 -> 0.8268 T
    expected = np.sqrt(1 - 4 * np.sqrt(0.1 / 16)) * duration
    assert movement_time(p, FS, threshold=0.1) == pytest.approx(expected, abs=2 / FS)
    assert path_length_ratio(p, p[-1]) == pytest.approx(1.0)
    # dimensionless jerk of the minimum-jerk speed profile: 720 / (15/8)^2 = 204.8 (derivation in
    # the function's docstring); sampled derivatives at 1 kHz get within 0.2 %
    assert log_dimensionless_jerk(speed(p, FS), FS) == pytest.approx(-np.log(204.8), rel=2e-3)


def test_smoothness_is_invariant_to_amplitude_and_duration():
    reference = minimum_jerk(0.1, 1.0)
    v0 = speed(reference, FS)
    for distance, duration in ((0.4, 1.0), (0.1, 0.5), (0.25, 2.0)):
        v = speed(minimum_jerk(distance, duration), FS)
        assert sparc(v, FS) == pytest.approx(sparc(v0, FS), rel=1e-3)
        assert log_dimensionless_jerk(v, FS) == pytest.approx(log_dimensionless_jerk(v0, FS), rel=5e-3)
    assert sparc(v0, FS) < 0


def test_a_shaky_reach_is_less_smooth():
    p = minimum_jerk(0.2, 1.0)
    shaky = p + 0.002 * np.sin(2 * np.pi * 8 * np.arange(len(p)) / FS)[:, None]
    v, v_shaky = speed(p, FS), speed(shaky, FS)
    assert sparc(v_shaky, FS) < sparc(v, FS)
    assert log_dimensionless_jerk(v_shaky, FS) < log_dimensionless_jerk(v, FS)


def test_holding_with_a_constant_offset():
    target = np.array([0.2, 0.3])
    p = np.tile(target + [0.003, -0.004], (50, 1))  # 5 mm off, still
    assert rms_deviation(p, target) == pytest.approx(0.005)
    assert hold_drift(p, target) == pytest.approx(0.005)
    assert hold_drift(p, target, "mean") == pytest.approx(0.005)
    assert jitter(p, 100) == pytest.approx(0.0, abs=1e-12)
    assert settling_time(p, target, 100, tolerance=0.004) == pytest.approx(0.50)  # never within 4 mm: censored
    assert settling_time(p, target, 100, tolerance=0.006) == 0.0  # always within 6 mm


def test_settling_after_a_disturbance():
    target = np.zeros(2)
    distance = np.concatenate([np.full(20, 0.03), np.full(30, 0.001)])  # 3 cm off for 0.2 s
    p = np.stack([distance, np.zeros(50)], axis=1)
    assert settling_time(p, target, 100, tolerance=0.01) == pytest.approx(0.2)
    # coming within tolerance at the last-but-one, or the last, sample is settling, and is told apart
    # from never settling (censored one sample past the trial's end, 0.50 s)
    late = np.stack([np.concatenate([np.full(48, 0.03), np.full(2, 0.001)]), np.zeros(50)], axis=1)
    assert settling_time(late, target, 100, tolerance=0.01) == pytest.approx(0.48)
    last = np.stack([np.concatenate([np.full(49, 0.03), [0.001]]), np.zeros(50)], axis=1)
    assert settling_time(last, target, 100, tolerance=0.01) == pytest.approx(0.49)
    assert hold_drift(p, target) == pytest.approx(0.03)
    assert hold_drift(p, target, "mean") == pytest.approx((20 * 0.03 + 30 * 0.001) / 50)


def test_time_to_target_and_the_movement_segment():
    p = minimum_jerk(0.3, 1.0, direction=(1.0, 0.0), start=(0.0, 0.0))
    target = np.array([0.3, 0.0])
    # x(s) = 0.3 - 0.02 at s where 10 s^3 - 15 s^4 + 6 s^5 = 0.28 / 0.3
    s = np.linspace(0, 1, 100001)
    crossing = s[np.argmax(0.3 * (10 * s**3 - 15 * s**4 + 6 * s**5) >= 0.28)]
    assert time_to_target(p, target, FS, tolerance=0.02) == pytest.approx(crossing, abs=2 / FS)
    assert time_to_target(p, target + [0.0, 1.0], FS) == pytest.approx(1.001)  # never reached: censored
    still = np.concatenate([np.zeros(100), speed(p, FS), np.zeros(100)])
    segment = movement_segment(still, 0.1)
    assert segment.stop - segment.start == pytest.approx(0.8268 * FS, abs=3)
    # smoothness on the movement itself does not change when rest is added around it
    assert log_dimensionless_jerk(still[segment], FS) == pytest.approx(
        log_dimensionless_jerk(speed(p, FS)[movement_segment(speed(p, FS), 0.1)], FS), rel=1e-3
    )


def test_jitter_sees_fast_shaking_not_slow_drift():
    t = np.arange(0, 2.0, 0.01)
    amplitude = 0.002
    fast = np.stack([amplitude * np.sin(2 * np.pi * 20 * t), np.zeros_like(t)], axis=1)
    slow = np.stack([0.05 * np.sin(2 * np.pi * 0.5 * t), np.zeros_like(t)], axis=1)
    # a pure 20 Hz sine passes a 5 Hz high-pass almost whole: RMS = amplitude / sqrt(2)
    assert jitter(fast, 100) == pytest.approx(amplitude / np.sqrt(2), rel=0.05)
    assert jitter(slow, 100) < 0.01 * 0.05
    with pytest.raises(ValueError, match="Nyquist"):
        jitter(fast, 100, cutoff=60)


def test_sparc_without_a_spectrum_to_measure_is_nan():
    """Fewer than two frequency bins above the threshold: no arc, so NaN, not 0.0 (the best score)."""
    assert np.isnan(sparc(np.zeros(50), 100))  # no movement at all
    assert np.isnan(sparc(np.full(8, 0.3), 100, padlevel=0))  # a constant speed: only the zero-frequency bin


def test_push_recovery_known_answers():
    """Two pushes at steps 10-14 and 30-34 of a 50-step trial; the hand (states x_0..x_50) is pushed
    3 cm away and comes back within 1 cm 0.05 s after the first push's end, never after the second."""
    target = np.zeros(2)
    distance = np.full(51, 0.002)
    distance[11:15], distance[15:20] = 0.03, 0.02  # answering push 1: peak 3 cm, back within 1 cm at x_20
    distance[31:36], distance[36:] = 0.04, 0.015  # push 2: peak 4 cm, never back within 1 cm
    hand = np.stack([distance, np.zeros(51)], axis=1)
    pushes = np.zeros((50, 2))
    pushes[10:15], pushes[30:35] = [20.0, 0.0], [0.0, -20.0]
    result = push_recovery(hand, target, pushes, 100)
    assert result["peak_deviation_m"] == pytest.approx((0.03 + 0.04) / 2)
    # push 1 ends after step 14 (state x_15): back within at x_20, 0.05 s; push 2 ends at x_35 and
    # is censored one sample past its window (x_35 .. x_50: 16 samples)
    assert result["recovery_time_s"] == pytest.approx((0.05 + 0.16) / 2)
    assert result["end_deviation_m"] == pytest.approx(0.015)
    calm = push_recovery(hand, target, np.zeros((50, 2)), 100)
    assert np.isnan(calm["peak_deviation_m"]) and np.isnan(calm["recovery_time_s"])


def test_effort_is_mean_squared_excitation():
    u = np.zeros((10, 6))
    u[:, 0] = 1.0
    assert effort(u) == pytest.approx(1 / 6)


def test_bad_input():
    with pytest.raises(ValueError):
        speed(np.zeros(5), 100)
    with pytest.raises(ValueError):
        hold_drift(np.zeros((3, 2)), np.zeros(2), "median")


def test_cocontraction_is_the_excitation_antagonists_share():
    from bilateral.metrics import cocontraction
    from bilateral_envs.arm import ANTAGONIST_PAIRS

    alone = np.zeros((10, 6))
    alone[:, [0, 2, 4]] = 0.8  # the flexors only, hard
    assert cocontraction(alone, ANTAGONIST_PAIRS) == 0.0 and effort(alone) == pytest.approx(0.32)
    both = np.full((10, 6), 0.3)
    both[:, 1] = 0.5  # the shoulder's extensor more: the pair shares 0.3
    assert cocontraction(both, ANTAGONIST_PAIRS) == pytest.approx(0.3)
    assert cocontraction(np.ones((4, 6)), ANTAGONIST_PAIRS) == 1.0
