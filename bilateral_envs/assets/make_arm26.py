"""Build ``arm26.xml``: the planar two-joint, six-muscle arm of MotorNet's RigidTendonArm26 in MuJoCo.

Run from the repository root::

    python bilateral_envs/assets/make_arm26.py            # write arm26.xml from the pulley geometry below
    python bilateral_envs/assets/make_arm26.py --fit      # refit the pulleys first (needs scipy, ~10 min)

How the MuJoCo arm matches MotorNet's RigidTendonArm26
-----------------------------------------------------
*Skeleton.* Two hinge joints about +z at the shoulder (world origin) and the elbow; the segments,
masses, centres of mass and inertias are MotorNet's (DESIGN §2). Gravity is off: the arm moves in
a horizontal plane. Joint ranges 0-135 deg (shoulder) and 0-155 deg (elbow) are MuJoCo limit
constraints.

*Moment arms.* MotorNet gives each muscle a musculotendon length that is a polynomial of the
joint angles (Nijhof & Kouwenhoven 2000), so its moment arm is ``a1 + 2 a2 q'`` with
``q' = q - (90 deg, 0)``: constant 3 cm at the shoulder, varying linearly with the elbow angle.
In MuJoCo the muscles are spatial tendons whose moment arms come from geometry:

- at the shoulder every muscle wraps a cylinder of radius 3 cm centred on the joint axis, so its
  moment arm is exactly +-3 cm while the wrap is engaged, and the origin and via sites are placed
  so that it stays engaged over the whole 0-135 deg range;
- at the elbow every muscle wraps an *eccentric* pulley (a cylinder fixed to the forearm, off the
  joint axis), whose moment arm ``r + e sin(q + psi)`` approximates MotorNet's linear one. Origin,
  insertion, centre and radius were fitted by least squares (``--fit``) to MotorNet's moment arm
  over the elbow range, subject to the wrap staying engaged (arc >= 10 deg) everywhere.

The tests (``tests/test_arm_model.py``) check the signs at several postures and the magnitudes
against MotorNet's polynomials over the whole range (sub-millimetre at the elbow).

*Muscle lengths.* The spatial-tendon length differs from MotorNet's musculotendon length by a
constant per muscle (plus the fit residual). That constant is folded into an effective tendon slack
length, so that the normalised fibre length ``(tendon length - slack) / optimal fibre length`` that
MuJoCo's muscle model uses (through ``lengthrange`` and ``gainprm[0:2]``) equals MotorNet's.

*Muscle force.* MuJoCo's muscle model (``<general dyntype/gaintype/biastype="muscle">``): peak force
and optimal fibre length from DESIGN §2; active force-length zero outside 0.34-1.66 optimal lengths
(where MotorNet's parabola ``1 - (l - 1)^2 / 0.66^2`` vanishes); maximum shortening velocity 10
optimal lengths per second. MuJoCo's own passive force starts at one optimal length, MotorNet's at
1.4, so it is switched off (``fpmax = 0``) and the passive force is a tendon spring with a dead band
that starts at 1.4 optimal lengths and reaches the muscle's peak force at 1.66, as MotorNet's does.
Within the joint ranges no muscle gets that long (longest: 1.36), so it only acts if a limit is
overrun.

*Activation.* MuJoCo's muscle activation dynamics, time constants 15 ms / 50 ms (DESIGN §2). With
Euler at 10 ms, a full excitation from rest would push activation past 1 in one step
(``tau_act (0.5 + 1.5 a) = 7.5 ms < dt``); like MotorNet, activation is clamped to [0.001, 1]
(``actlimited``), which keeps one physics step per control step. The switch between activation and
deactivation time constants is smoothed over 0.05 excitation units (``tausmooth``) so that finite
differences across it stay well-behaved. Controls are limited to [0, 1] (``ctrllimited``).

*Loads.* A jointless ``hand`` body at the end of the forearm carries the hand site; an endpoint force
written to its ``xfrc_applied`` acts exactly at the hand (a body's applied force acts at its centre
of mass, which for ``hand`` is the hand point), and MuJoCo maps it through the posture-dependent
Jacobian, so finite-difference derivatives see the load's dependence on posture.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

HERE = Path(__file__).resolve().parent
XML_PATH = HERE / "arm26.xml"

# --- MotorNet RigidTendonArm26 (DESIGN §2) -------------------------------------------------------
UPPER_ARM_LENGTH = 0.309  # m
FOREARM_LENGTH = 0.333  # m, forearm + hand
MUSCLES = ("pectoralis", "deltoid", "brachioradialis", "triceps_lateral", "biceps", "triceps_long")
MAX_ISOMETRIC_FORCE = (838.0, 1207.0, 1422.0, 1549.0, 414.0, 603.0)  # N
TENDON_SLACK_LENGTH = (0.039, 0.066, 0.172, 0.187, 0.204, 0.217)  # m
OPTIMAL_FIBRE_LENGTH = (0.134, 0.140, 0.092, 0.093, 0.137, 0.127)  # m
# musculotendon length l(q) = a0 + sum_j (a1_j q'_j + a2_j q'_j^2), q' = q - (pi/2, 0), metres
MOTORNET_A0 = (0.151, 0.2322, 0.2859, 0.2355, 0.3329, 0.2989)
MOTORNET_A1 = ((-0.03, 0.03, 0.0, 0.0, -0.03, 0.03), (0.0, 0.0, -0.014, 0.025, -0.016, 0.03))
MOTORNET_A2 = ((0.0, 0.0, 0.0, 0.0, 0.0, 0.0), (0.0, 0.0, -0.004, -0.0022, -0.0057, -0.0032))
MOTORNET_Q_OFFSET = (np.pi / 2, 0.0)
JOINT_NAMES = ("shoulder", "elbow")
JOINT_RANGE_DEG = ((0.0, 135.0), (0.0, 155.0))

SHOULDER_PULLEY_RADIUS = 0.03  # m, = |a1| of every muscle crossing the shoulder
PASSIVE_ONSET = 1.4  # optimal fibre lengths
PASSIVE_FULL = 1.66  # optimal fibre lengths at which the passive force equals the peak force


@dataclass(frozen=True)
class Pulley:
    """A wrap around a cylinder: origin -> cylinder -> insertion, in the plane.

    ``side`` is +1 when the path runs counter-clockwise around the cylinder from origin to
    insertion, -1 when clockwise. Coordinates in metres; ``origin`` in the proximal body's frame
    relative to the joint, ``insertion`` and ``centre`` in the distal body's frame (relative to the
    joint), except for the shoulder, whose cylinder is fixed to the world.
    """

    side: int
    origin: tuple[float, float]
    insertion: tuple[float, float]
    centre: tuple[float, float]
    radius: float


# Pulley paths fitted by ``--fit`` (paste its output here).
# Shoulder: a pulley concentric with the joint; origins on the trunk, via sites on the upper arm.
SHOULDER = {
    "pectoralis": Pulley(-1, (-0.039, 0.0005), (0.0275, -0.0277), (0.0, 0.0), SHOULDER_PULLEY_RADIUS),
    "deltoid": Pulley(+1, (-0.0479, 0.0023), (0.043, -0.0614), (0.0, 0.0), SHOULDER_PULLEY_RADIUS),
    "biceps": Pulley(-1, (-0.039, 0.0005), (0.0275, -0.0277), (0.0, 0.0), SHOULDER_PULLEY_RADIUS),
    "triceps_long": Pulley(+1, (-0.0479, 0.0023), (0.043, -0.0614), (0.0, 0.0), SHOULDER_PULLEY_RADIUS),
}
# Elbow: eccentric pulleys fixed to the forearm.
ELBOW = {
    "brachioradialis": Pulley(-1, (-0.0296, -0.0245), (0.0261, -0.0412), (0.0124, -0.0003), 0.0257),
    "triceps_lateral": Pulley(+1, (-0.0667, -0.0334), (0.0661, 0.011), (0.0023, -0.005), 0.0191),
    "biceps": Pulley(-1, (-0.0447, -0.0245), (0.0553, -0.03), (0.0174, -0.0046), 0.0328),
    "triceps_long": Pulley(+1, (-0.0197, -0.0254), (0.1761, 0.0429), (0.0044, -0.0088), 0.022),
}


# Where each muscle is drawn from and to, beyond its pulley paths: (body, (x, y) m) or None.
ATTACHMENTS = {
    "pectoralis": (("trunk", (-0.17, 0.0)), ("upper_arm", (0.12, -0.025))),
    "deltoid": (("trunk", (-0.12, -0.09)), ("upper_arm", (0.13, -0.045))),
    "brachioradialis": (("upper_arm", (0.17, -0.025)), ("forearm", (0.22, -0.02))),
    "triceps_lateral": (("upper_arm", (0.12, -0.035)), None),
    "biceps": (None, ("forearm", (0.1, -0.02))),
    "triceps_long": (("trunk", (-0.08, -0.08)), None),
}


def motornet_length(q: np.ndarray) -> np.ndarray:
    """MotorNet's musculotendon lengths (m), shape (..., 6), at joint angles ``q`` (rad), (..., 2)."""
    qp = np.asarray(q)[..., :, None] - np.asarray(MOTORNET_Q_OFFSET)[:, None]
    a1, a2 = np.asarray(MOTORNET_A1), np.asarray(MOTORNET_A2)
    return np.asarray(MOTORNET_A0) + ((a1 + a2 * qp) * qp).sum(axis=-2)


def motornet_moment_arm(q: np.ndarray) -> np.ndarray:
    """MotorNet's moment arms d(length)/dq (m), shape (..., 2, 6): row 0 shoulder, row 1 elbow."""
    qp = np.asarray(q)[..., :, None] - np.asarray(MOTORNET_Q_OFFSET)[:, None]
    return np.asarray(MOTORNET_A1) + 2 * np.asarray(MOTORNET_A2) * qp


# --- planar wrap geometry, used by the fit ---------------------------------------------------------
def _rotate(angle: np.ndarray, p: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * p[0] - s * p[1], s * p[0] + c * p[1]])


def wrap_length(a, b, c, radius, side):
    """Length (m) and wrapped arc (rad) of the path a -> circle(c, radius) -> b, wrapping on ``side``."""
    da, db = a - c, b - c
    ra, rb = np.hypot(*da), np.hypot(*db)
    separation = np.mod(side * (np.arctan2(db[1], db[0]) - np.arctan2(da[1], da[0])), 2 * np.pi)
    tangent = np.arccos(np.clip(radius / ra, -1, 1)) + np.arccos(np.clip(radius / rb, -1, 1))
    arc = separation - tangent
    straight = np.sqrt(np.maximum(ra**2 - radius**2, 0)) + np.sqrt(np.maximum(rb**2 - radius**2, 0))
    return straight + radius * arc, arc


def pulley_curve(p: Pulley, q: np.ndarray, fixed_centre: bool = False, h: float = 1e-6):
    """Moment arm (m), length (m) and wrapped arc (rad) of a pulley path at joint angles ``q`` (rad).

    The insertion rotates with the distal body; so does the cylinder unless ``fixed_centre``
    (the shoulder pulley is fixed to the trunk, concentric with the joint).
    """

    def length(angle):
        a = np.asarray(p.origin)[:, None] * np.ones_like(angle)
        b = _rotate(angle, np.asarray(p.insertion))
        c = (
            np.asarray(p.centre)[:, None] * np.ones_like(angle)
            if fixed_centre
            else _rotate(angle, np.asarray(p.centre))
        )
        return wrap_length(a, b, c, p.radius, p.side)

    length0, arc = length(q)
    length1, _ = length(q + h)
    return (length1 - length0) / h, length0, arc


# MuJoCo wraps a cylinder only while the two straight parts of the path do not cross, which holds
# for arcs below 180 deg; the fit keeps every arc inside this band over the whole joint range.
MIN_ARC, MAX_ARC = np.deg2rad(10.0), np.deg2rad(170.0)


def fit_pulley(joint: int, muscle: int, restarts: int = 300) -> Pulley:
    """Fit a pulley path to MotorNet's moment arm of ``muscle`` (index) about ``joint`` (0 or 1).

    Shoulder (joint 0): the cylinder is fixed, concentric with the joint, of radius 3 cm, so only the
    origin and via site are fitted, to keep the wrap engaged. Elbow (joint 1): origin, insertion,
    eccentric centre and radius are all fitted.
    """
    from scipy.optimize import least_squares

    q = np.linspace(*np.deg2rad(JOINT_RANGE_DEG[joint]), 64)
    target = MOTORNET_A1[joint][muscle] + 2 * MOTORNET_A2[joint][muscle] * (q - MOTORNET_Q_OFFSET[joint])
    shoulder = joint == 0
    if shoulder:  # origin (trunk) and via site (upper arm), 3-7 cm from the joint
        lower, upper = [-0.07, -0.07, 0.0, -0.07], [0.07, 0.07, 0.07, 0.07]
    else:  # origin (upper arm), insertion (forearm), centre (forearm), radius
        lower = [-0.25, -0.05, -0.08, -0.05, -0.04, -0.04, 0.005]
        upper = [-0.01, 0.05, 0.2, 0.05, 0.04, 0.04, 0.05]

    def pulley(x, side):
        if shoulder:
            return Pulley(side, (x[0], x[1]), (x[2], x[3]), (0.0, 0.0), SHOULDER_PULLEY_RADIUS)
        return Pulley(side, (x[0], x[1]), (x[2], x[3]), (x[4], x[5]), x[6])

    def residual(x, side):
        p = pulley(x, side)
        ma, _, arc = pulley_curve(p, q, fixed_centre=shoulder)
        centre = np.asarray(p.centre)[:, None] if shoulder else _rotate(q, np.asarray(p.centre))
        ra = np.hypot(*(np.asarray(p.origin)[:, None] - centre))
        rb = np.hypot(*(np.asarray(p.insertion) - np.asarray(p.centre)))
        penalty = np.concatenate(
            [
                np.maximum(0, MIN_ARC - arc),
                np.maximum(0, arc - MAX_ARC),
                np.maximum(0, 1.3 * p.radius - ra),
                [max(0.0, 1.3 * p.radius - rb)],
            ]
        )
        return np.concatenate([ma - target, 0.2 * penalty])

    best = None
    for side in (+1, -1):
        for k in range(restarts):
            x0 = np.random.default_rng(k).uniform(lower, upper)
            x = np.round(least_squares(residual, x0, bounds=(lower, upper), args=(side,)).x, 4)
            r = residual(x, side)
            if np.abs(r[len(q) :]).max() > 1e-9:
                continue  # the wrap comes off or the path crosses itself somewhere: not admissible
            error = np.abs(r[: len(q)]).max()
            if best is None or error < best[0]:
                best = (error, pulley(x.tolist(), side))
    if best is None:
        raise RuntimeError(f"no admissible pulley found for {MUSCLES[muscle]} at joint {joint}")
    return best[1]


# --- MJCF ---------------------------------------------------------------------------------------
def _fmt(*values: float) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def _side_site(p: Pulley, angle: float) -> tuple[float, float]:
    """A point just outside the cylinder, in direction ``angle`` (rad) from its centre."""
    d = p.radius + 0.01
    return (p.centre[0] + d * np.cos(angle), p.centre[1] + d * np.sin(angle))


SIDE_CANDIDATES = np.deg2rad(np.arange(0, 360, 5))


def choose_side_angles(shoulder: dict[str, Pulley], elbow: dict[str, Pulley]) -> dict[tuple[str, int], float]:
    """The direction of each wrap's side site (which tells MuJoCo which way round to wrap).

    MuJoCo picks the way round whose tangent points lie towards the side site, and wraps only while
    the path would otherwise cut the cylinder or pass it on the far side. Every candidate direction
    is tried; the one kept is the middle of the widest band of directions for which MuJoCo's moment
    arm equals the planar pulley model's over the whole joint range.
    """
    angles0 = {(name, j): 0.0 for j, pulleys in enumerate((shoulder, elbow)) for name in pulleys}
    model = mujoco.MjModel.from_xml_string(_model_xml(shoulder, elbow, angles0, calibration=None))
    data = mujoco.MjData(model)
    chosen = {}
    for joint, pulleys in enumerate((shoulder, elbow)):
        q = np.linspace(*np.deg2rad(JOINT_RANGE_DEG[joint]), 40)
        for name, p in pulleys.items():
            site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, f"{name}_{JOINT_NAMES[joint]}_side")
            tendon = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_TENDON, name)
            expected, _, _ = pulley_curve(p, q, fixed_centre=joint == 0)
            good = []
            for angle in SIDE_CANDIDATES:
                model.site_pos[site, :2] = _side_site(p, angle)
                ma = _mujoco_moment_arm(model, data, tendon, joint, q)
                good.append(np.abs(ma - expected).max() < 1e-5)
            chosen[name, joint] = _middle_of_widest_run(np.array(good), name, joint)
    return chosen


def _mujoco_moment_arm(model, data, tendon: int, joint: int, q: np.ndarray, h: float = 1e-7) -> np.ndarray:
    out = np.empty(len(q))
    for k, angle in enumerate(q):
        lengths = []
        for dq in (-h, h):
            data.qpos[:] = np.deg2rad([60.0, 80.0])  # the other joint anywhere: the parts are independent
            data.qpos[joint] = angle + dq
            mujoco.mj_kinematics(model, data)
            mujoco.mj_tendon(model, data)
            lengths.append(data.ten_length[tendon])
        out[k] = (lengths[1] - lengths[0]) / (2 * h)
    return out


def _middle_of_widest_run(good: np.ndarray, name: str, joint: int) -> float:
    if not good.any():
        raise RuntimeError(f"no side site makes MuJoCo wrap {name} at joint {joint} as the pulley model does")
    n = len(good)
    best_start, best_length = 0, 0
    for start in range(n):
        length = 0
        while length < n and good[(start + length) % n]:
            length += 1
        if length > best_length:
            best_start, best_length = start, length
    return float(SIDE_CANDIDATES[(best_start + best_length // 2) % n])


def _model_xml(
    shoulder: dict[str, Pulley],
    elbow: dict[str, Pulley],
    side_angles: dict[tuple[str, int], float],
    calibration: dict[str, tuple[float, float, float]] | None,
) -> str:
    l1, l2 = UPPER_ARM_LENGTH, FOREARM_LENGTH
    sh_sites, up_sites, fore_sites, fore_geoms, tendons, actuators = [], [], [], [], [], []
    colors = {
        "pectoralis": ".85 .35 .35 1",
        "deltoid": ".35 .45 .85 1",
        "brachioradialis": ".9 .55 .2 1",
        "triceps_lateral": ".3 .7 .75 1",
        "biceps": ".8 .3 .6 1",
        "triceps_long": ".45 .7 .35 1",
    }
    for name in MUSCLES:
        path = []
        if name in shoulder:
            p = shoulder[name]
            side = side_angles[name, 0]
            sh_sites.append(f'<site name="{name}_origin" pos="{_fmt(*p.origin, 0)}"/>')
            sh_sites.append(f'<site name="{name}_shoulder_side" class="side" pos="{_fmt(*_side_site(p, side), 0)}"/>')
            up_sites.append(f'<site name="{name}_shoulder_via" pos="{_fmt(*p.insertion, 0)}"/>')
            path += [
                f'<site site="{name}_origin"/>',
                f'<geom geom="shoulder_pulley" sidesite="{name}_shoulder_side"/>',
                f'<site site="{name}_shoulder_via"/>',
            ]
        if name in elbow:
            p = elbow[name]
            side = side_angles[name, 1]
            up_sites.append(f'<site name="{name}_elbow_via" pos="{_fmt(l1 + p.origin[0], p.origin[1], 0)}"/>')
            fore_geoms.append(
                f'<geom name="{name}_pulley" class="pulley" pos="{_fmt(*p.centre, 0)}" size="{_fmt(p.radius)} .012"/>'
            )
            fore_sites.append(f'<site name="{name}_elbow_side" class="side" pos="{_fmt(*_side_site(p, side), 0)}"/>')
            fore_sites.append(f'<site name="{name}_insertion" pos="{_fmt(*p.insertion, 0)}"/>')
            path += [
                f'<site site="{name}_elbow_via"/>',
                f'<geom geom="{name}_pulley" sidesite="{name}_elbow_side"/>',
                f'<site site="{name}_insertion"/>',
            ]
        # attachments away from the joints, on the same bodies as the path's ends: they add a constant
        # length (absorbed by the calibration) and draw the muscles along the bones
        start, end = ATTACHMENTS[name]
        if start is not None:
            body_sites = sh_sites if start[0] == "trunk" else up_sites
            body_sites.append(f'<site name="{name}_attachment_proximal" pos="{_fmt(*start[1], 0)}"/>')
            path.insert(0, f'<site site="{name}_attachment_proximal"/>')
        if end is not None:
            body_sites = up_sites if end[0] == "upper_arm" else fore_sites
            body_sites.append(f'<site name="{name}_attachment_distal" pos="{_fmt(*end[1], 0)}"/>')
            path.append(f'<site site="{name}_attachment_distal"/>')
        i = MUSCLES.index(name)
        force, lopt = MAX_ISOMETRIC_FORCE[i], OPTIMAL_FIBRE_LENGTH[i]
        spring = ""
        gain = ""
        lengthrange = ""
        if calibration is not None:
            slack, lr0, lr1 = calibration[name]
            onset = slack + PASSIVE_ONSET * lopt
            stiffness = force / ((PASSIVE_FULL - PASSIVE_ONSET) * lopt)
            spring = f' springlength="0 {onset:.6f}" stiffness="{stiffness:.6g}"'
            r0, r1 = (lr0 - slack) / lopt, (lr1 - slack) / lopt
            prm = f"{r0:.9f} {r1:.9f} {force:g} 1 0.34 1.66 10 1.3 1.4"
            gain = f' gainprm="{prm}"'
            lengthrange = f' lengthrange="{lr0:.9f} {lr1:.9f}"'
        tendons.append(
            f'<spatial name="{name}" rgba="{colors[name]}"{spring}>\n        '
            + "\n        ".join(path)
            + "\n      </spatial>"
        )
        if calibration is not None:
            actuators.append(f'<general name="{name}" tendon="{name}" class="muscle"{gain}{lengthrange}/>')

    nl = "\n        "
    return f"""<!-- Generated by bilateral_envs/assets/make_arm26.py: edit that file, not this one. -->
<mujoco model="arm26">
  <compiler angle="degree" autolimits="true">
    <lengthrange useexisting="true"/>
  </compiler>
  <option timestep="0.01" integrator="Euler" gravity="0 0 0">
    <flag contact="disable" energy="disable"/>
  </option>
  <visual>
    <global offwidth="1280" offheight="960"/>
    <headlight ambient=".45 .45 .45" diffuse=".55 .55 .55" specular="0 0 0"/>
  </visual>
  <default>
    <joint type="hinge" axis="0 0 1" limited="true" solreflimit="0.02 1" solimplimit="0.95 0.99 0.001"/>
    <geom contype="0" conaffinity="0"/>
    <site size="0.004" rgba=".2 .2 .2 1"/>
    <tendon width="0.006"/>
    <default class="bone">
      <geom type="capsule" size="0.022" rgba=".92 .88 .78 1"/>
    </default>
    <default class="pulley">
      <geom type="cylinder" rgba=".75 .75 .75 .35"/>
    </default>
    <default class="side">
      <site size="0.002" rgba="0 0 0 0"/>
    </default>
    <default class="muscle">
      <general dyntype="muscle" gaintype="muscle" biastype="none" dynprm="0.015 0.05 0.05"
               ctrllimited="true" ctrlrange="0 1" actlimited="true" actrange="0.001 1"/>
    </default>
  </default>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".97 .97 .97" rgb2=".92 .92 .92" width="256" height="256"/>
    <material name="grid" texture="grid" texrepeat="8 8"/>
  </asset>
  <worldbody>
    <geom name="floor" type="plane" pos="0.045 0.265 -0.05" size="0.8 0.6 0.01" material="grid"/>
    <camera name="top" pos="0.045 0.265 1.1" xyaxes="1 0 0 0 1 0" fovy="45"/>
    <geom name="trunk" type="box" pos="-0.13 -0.05 -0.02" size="0.11 0.06 0.02" rgba=".8 .8 .85 1"/>
    <geom name="shoulder_pulley" class="pulley" size="{_fmt(SHOULDER_PULLEY_RADIUS)} .012"/>
    {nl.join(sh_sites)}
    <body name="target" mocap="true">
      <geom name="target" type="sphere" size="0.012" rgba=".1 .75 .2 .8"/>
    </body>
    <body name="upper_arm">
      <joint name="shoulder" range="{_fmt(*JOINT_RANGE_DEG[0])}"/>
      <inertial pos="0.135 0 0" mass="1.82" diaginertia="0.0255 0.0255 0.051"/>
      <geom name="upper_arm" class="bone" fromto="0 0 0 {_fmt(l1)} 0 0"/>
      {nl.join(up_sites)}
      <body name="forearm" pos="{_fmt(l1)} 0 0">
        <joint name="elbow" range="{_fmt(*JOINT_RANGE_DEG[1])}"/>
        <inertial pos="0.165 0 0" mass="1.43" diaginertia="0.0285 0.0285 0.057"/>
        <geom name="forearm" class="bone" size="0.018" fromto="0 0 0 {_fmt(l2 - 0.03)} 0 0"/>
        {nl.join(fore_geoms)}
        {nl.join(fore_sites)}
        <body name="hand" pos="{_fmt(l2)} 0 0">
          <inertial pos="0 0 0" mass="1e-6" diaginertia="1e-9 1e-9 1e-9"/>
          <geom name="hand" type="sphere" size="0.024" rgba=".92 .88 .78 1"/>
          <site name="hand" size="0.006" rgba=".1 .1 .1 1"/>
        </body>
      </body>
    </body>
  </worldbody>
  <tendon>
      {(nl[:-2]).join(tendons)}
  </tendon>
{_actuators_and_sensors(actuators)}</mujoco>
"""


def _actuators_and_sensors(actuators: list[str]) -> str:
    if not actuators:
        return ""
    lengths = "\n    ".join(f'<actuatorpos name="{m}_length" actuator="{m}"/>' for m in MUSCLES)
    velocities = "\n    ".join(f'<actuatorvel name="{m}_velocity" actuator="{m}"/>' for m in MUSCLES)
    muscles = "\n    ".join(actuators)
    return f"""  <actuator>
    {muscles}
  </actuator>
  <sensor>
    {lengths}
    {velocities}
    <framepos name="hand_position" objtype="site" objname="hand"/>
  </sensor>
"""


def tendon_lengths(model: mujoco.MjModel, q: np.ndarray) -> np.ndarray:
    """Tendon lengths (m), shape (len(q), ntendon), at joint angles ``q`` (rad), shape (n, 2)."""
    data = mujoco.MjData(model)
    out = np.empty((len(q), model.ntendon))
    for i, qi in enumerate(q):
        data.qpos[:] = qi
        mujoco.mj_kinematics(model, data)
        mujoco.mj_tendon(model, data)
        out[i] = data.ten_length
    return out


def posture_grid(n: int = 41) -> np.ndarray:
    """Joint angles (rad), shape (n*n, 2), spanning both joint ranges."""
    q1 = np.linspace(*np.deg2rad(JOINT_RANGE_DEG[0]), n)
    q2 = np.linspace(*np.deg2rad(JOINT_RANGE_DEG[1]), n)
    return np.stack(np.meshgrid(q1, q2, indexing="ij"), axis=-1).reshape(-1, 2)


def build(shoulder: dict[str, Pulley], elbow: dict[str, Pulley]) -> str:
    """Compile the geometry, calibrate the muscle lengths against MotorNet's and return the MJCF."""
    # without calibration the model has tendons but no muscles: enough to measure tendon lengths
    side_angles = choose_side_angles(shoulder, elbow)
    model = mujoco.MjModel.from_xml_string(_model_xml(shoulder, elbow, side_angles, calibration=None))
    q = posture_grid()
    ours = tendon_lengths(model, q)
    theirs = motornet_length(q)
    calibration = {}
    for i, name in enumerate(MUSCLES):
        # effective slack: MotorNet's slack plus the mean difference between the two lengths
        slack = TENDON_SLACK_LENGTH[i] + float(np.mean(ours[:, i] - theirs[:, i]))
        calibration[name] = (slack, float(ours[:, i].min()), float(ours[:, i].max()))
    return _model_xml(shoulder, elbow, side_angles, calibration)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the pulleys (slow, needs scipy)")
    parser.add_argument("--out", type=Path, default=XML_PATH, help="where to write the MJCF")
    args = parser.parse_args()
    shoulder, elbow = dict(SHOULDER), dict(ELBOW)
    if args.fit:
        for joint, pulleys in enumerate((shoulder, elbow)):
            for name in pulleys:
                p = pulleys[name] = fit_pulley(joint, MUSCLES.index(name))
                numbers = ", ".join(f"({x:g}, {y:g})" for x, y in (p.origin, p.insertion, p.centre))
                print(f'    "{name}": Pulley({p.side:+d}, {numbers}, {p.radius:g}),', flush=True)
    args.out.write_text(build(shoulder, elbow))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
