"""The MuJoCo arm against MotorNet's RigidTendonArm26 (DESIGN §2)."""

import mujoco
import numpy as np
import pytest

from bilateral_envs.arm import MUSCLES, default_arm

# MotorNet's musculotendon geometry (Nijhof & Kouwenhoven 2000), q' = q - (90 deg, 0)
A0 = np.array([0.151, 0.2322, 0.2859, 0.2355, 0.3329, 0.2989])
A1 = np.array([[-0.03, 0.03, 0, 0, -0.03, 0.03], [0, 0, -0.014, 0.025, -0.016, 0.03]])
A2 = np.array([[0, 0, 0, 0, 0, 0], [0, 0, -0.004, -0.0022, -0.0057, -0.0032]])
SLACK = np.array([0.039, 0.066, 0.172, 0.187, 0.204, 0.217])
OPTIMAL = np.array([0.134, 0.140, 0.092, 0.093, 0.137, 0.127])
FORCE = np.array([838, 1207, 1422, 1549, 414, 603])
# -1 flexes (shortens as the angle grows), +1 extends, 0 does not cross the joint (DESIGN §2)
SIGNS = np.array([[-1, 1, 0, 0, -1, 1], [0, 0, -1, 1, -1, 1]])


def motornet_moment_arm(q):
    return A1 + 2 * A2 * (q - np.array([np.pi / 2, 0.0]))[:, None]


def motornet_fibre_length(q):
    qp = (q - np.array([np.pi / 2, 0.0]))[:, None]
    return (A0 + ((A1 + A2 * qp) * qp).sum(0) - SLACK) / OPTIMAL


def grid(n):
    arm = default_arm()
    q1 = np.linspace(*arm.joint_range[0], n)
    q2 = np.linspace(*arm.joint_range[1], n)
    return np.stack(np.meshgrid(q1, q2, indexing="ij"), -1).reshape(-1, 2)


def mujoco_moment_arm(model, data, q, h=1e-7):
    """d(tendon length)/dq by central differences, (2, 6) m."""
    out = np.zeros((2, model.ntendon))
    for j in range(2):
        lengths = []
        for s in (-h, h):
            data.qpos[:] = q
            data.qpos[j] += s
            mujoco.mj_kinematics(model, data)
            mujoco.mj_tendon(model, data)
            lengths.append(data.ten_length.copy())
        out[j] = (lengths[1] - lengths[0]) / (2 * h)
    return out


@pytest.fixture(scope="module")
def arm():
    return default_arm()


def test_names_and_segments(arm):
    m = arm.model
    names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_ACTUATOR, i) for i in range(m.nu)]
    assert names == list(MUSCLES)
    for name in ("upper_arm", "forearm", "hand", "target"):
        assert mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, name) >= 0
    assert arm.upper_arm_length == pytest.approx(0.309)
    assert arm.forearm_length == pytest.approx(0.333)
    np.testing.assert_allclose(np.rad2deg(arm.joint_range), [[0, 135], [0, 155]])
    upper = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "upper_arm")
    forearm = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "forearm")
    assert m.body_mass[upper] == pytest.approx(1.82)
    assert m.body_mass[forearm] == pytest.approx(1.43)
    assert m.body_inertia[upper][2] == pytest.approx(0.051)
    assert m.body_inertia[forearm][2] == pytest.approx(0.057)
    assert m.body_ipos[upper][0] == pytest.approx(0.135)
    assert m.body_ipos[forearm][0] == pytest.approx(0.165)
    assert m.opt.timestep == pytest.approx(0.01)
    assert m.opt.integrator == mujoco.mjtIntegrator.mjINT_EULER
    np.testing.assert_allclose(m.actuator_gainprm[:, 2], FORCE)
    np.testing.assert_allclose(arm.optimal_fibre_length, OPTIMAL, rtol=1e-6)
    np.testing.assert_allclose(m.actuator_dynprm[:, :2], np.tile([0.015, 0.05], (6, 1)))
    np.testing.assert_allclose(m.actuator_actrange, np.tile([0.001, 1.0], (6, 1)))
    np.testing.assert_allclose(m.actuator_ctrlrange, np.tile([0.0, 1.0], (6, 1)))


@pytest.mark.parametrize("posture_deg", [(10, 10), (45, 90), (90, 30), (120, 150), (0, 0), (135, 155)])
def test_moment_arm_signs(arm, posture_deg):
    data = mujoco.MjData(arm.model)
    ma = mujoco_moment_arm(arm.model, data, np.deg2rad(posture_deg))
    crossing = SIGNS != 0
    np.testing.assert_array_equal(np.sign(ma[crossing]), SIGNS[crossing])
    np.testing.assert_allclose(ma[~crossing], 0, atol=1e-6)  # finite-difference round-off
    # a few centimetres
    assert np.all((np.abs(ma[crossing]) > 0.008) & (np.abs(ma[crossing]) < 0.05))


def test_moment_arms_match_motornet_over_the_range(arm):
    data = mujoco.MjData(arm.model)
    errors = np.array([mujoco_moment_arm(arm.model, data, q) - motornet_moment_arm(q) for q in grid(12)])
    # shoulder: concentric pulleys of MotorNet's radius -> exact
    assert np.abs(errors[:, 0]).max() < 1e-6
    # elbow: eccentric pulleys fitted to the linear moment arms
    assert np.abs(errors[:, 1]).max() < 1.5e-3


def test_every_wrap_stays_engaged(arm):
    m = arm.model
    data = mujoco.MjData(m)
    expected = []  # when every pulley is wrapped: the path's sites plus two tangent points per pulley
    for t in range(m.ntendon):
        kinds = m.wrap_type[m.tendon_adr[t] : m.tendon_adr[t] + m.tendon_num[t]]
        expected.append(
            np.sum(kinds == mujoco.mjtWrap.mjWRAP_SITE) + 2 * np.sum(kinds == mujoco.mjtWrap.mjWRAP_CYLINDER)
        )
    for q in grid(15):
        data.qpos[:] = q
        mujoco.mj_kinematics(arm.model, data)
        mujoco.mj_tendon(arm.model, data)
        np.testing.assert_array_equal(data.ten_wrapnum, expected, err_msg=f"at {np.rad2deg(q)} deg")


def test_normalised_fibre_lengths_match_motornet(arm):
    data = mujoco.MjData(arm.model)
    for q in grid(9):
        data.qpos[:] = q
        mujoco.mj_forward(arm.model, data)
        ours = data.actuator_length * arm.fibre_length_scale + arm.fibre_length_offset
        np.testing.assert_allclose(ours, motornet_fibre_length(q), atol=0.03)


def test_hand_position_formula_matches_the_model(arm):
    data = mujoco.MjData(arm.model)
    for q in grid(5):
        data.qpos[:] = q
        mujoco.mj_kinematics(arm.model, data)
        np.testing.assert_allclose(arm.hand_position(q), data.site_xpos[arm.hand_site, :2], atol=1e-12)
