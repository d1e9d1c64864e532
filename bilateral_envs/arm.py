"""The MuJoCo six-muscle arm: its model and named read-outs.

The model (``assets/arm26.xml``) is MotorNet's RigidTendonArm26 built from MuJoCo parts; how it was
matched is documented in ``assets/make_arm26.py``. This module loads it once and gives names to
what the tasks need: the muscles, the joint ranges, the hand, the target marker and the sensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import mujoco
import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "assets" / "arm26.xml"
MUSCLES = ("pectoralis", "deltoid", "brachioradialis", "triceps_lateral", "biceps", "triceps_long")
N_MUSCLES = len(MUSCLES)
# agonist-antagonist pairs (flexor, extensor), by index into MUSCLES: at the shoulder, at the elbow, and
# across both (the biarticular pair)
ANTAGONIST_PAIRS = ((0, 1), (2, 3), (4, 5))
JOINTS = ("shoulder", "elbow")
# the model's sensors by name, in groups: each group lies contiguously in ``MjData.sensordata``
SENSOR_GROUPS = {
    "muscle_lengths": tuple(f"{m}_length" for m in MUSCLES),  # m
    "muscle_velocities": tuple(f"{m}_velocity" for m in MUSCLES),  # m/s
    "hand": ("hand_position",),  # m, (x, y, z)
}
MAX_CONTRACTION_VELOCITY = 10.0  # optimal fibre lengths per second (DESIGN §2)


@cache
def compiled_model(path: str | Path = MODEL_PATH) -> mujoco.MjModel:
    """The compiled arm model. Cached: every arm of a process shares one read-only ``MjModel``."""
    return mujoco.MjModel.from_xml_path(str(path))


def sensor_slices(model: mujoco.MjModel) -> dict[str, slice]:
    """Where each of ``SENSOR_GROUPS`` lies in ``sensordata``, found by the sensors' names (a
    ValueError if one is missing or a group is not contiguous)."""
    slices = {}
    for group, names in SENSOR_GROUPS.items():
        ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, name) for name in names]
        if min(ids) < 0:
            raise ValueError(f"the model lacks the sensors {[n for n, i in zip(names, ids, strict=True) if i < 0]}")
        start = int(model.sensor_adr[ids[0]])
        stop = int(model.sensor_adr[ids[-1]] + model.sensor_dim[ids[-1]])
        if stop - start != sum(int(model.sensor_dim[i]) for i in ids) or list(ids) != sorted(ids):
            raise ValueError(f"the sensors of {group!r} must lie one after another, in the order {names}")
        slices[group] = slice(start, stop)
    return slices


@dataclass(frozen=True)
class Arm:
    """Named parts of the compiled arm model and the constants that turn sensors into observations.

    Sensor layout (``MjData.sensordata``, 15 values): muscle lengths (m, 6), muscle velocities
    (m/s, 6), hand position (m, 3).
    """

    model: mujoco.MjModel
    joint_range: np.ndarray  # (2, 2) rad, [joint, (low, high)]
    hand_body: int
    hand_site: int
    target_mocap: int
    upper_arm_length: float  # m
    forearm_length: float  # m, elbow to hand
    fibre_length_scale: np.ndarray  # (6,) 1/m: normalised fibre length = length * scale + offset
    fibre_length_offset: np.ndarray  # (6,)
    fibre_velocity_scale: np.ndarray  # (6,) s/m: normalised velocity = velocity * scale
    optimal_fibre_length: np.ndarray  # (6,) m
    # the same as one affine map from the 12 proprioceptive sensors to observations 0-11
    proprioception_scale: np.ndarray  # (12,)
    proprioception_offset: np.ndarray  # (12,)

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> Arm:
        m = compiled_model(path)
        if m.nu != N_MUSCLES or m.nsensordata != sum(s.stop - s.start for s in sensor_slices(m).values()):
            raise ValueError(f"{path} is not the six-muscle arm this package expects")
        for i, name in enumerate(MUSCLES):
            if mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_ACTUATOR, i) != name:
                raise ValueError(f"actuator {i} of {path} should be {name!r}")
        joint_ids = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, j) for j in JOINTS]
        hand_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "hand")
        forearm = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "forearm")
        target_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "target")
        # MuJoCo's muscle model normalises the actuator (tendon) length as
        #   L = range0 + (length - lengthrange0) / L0,  L0 = diff(lengthrange) / diff(range);
        # using the same numbers keeps observations and muscle forces on one definition.
        lr = m.actuator_lengthrange.copy()
        rng = m.actuator_gainprm[:, :2].copy()
        optimal = (lr[:, 1] - lr[:, 0]) / (rng[:, 1] - rng[:, 0])
        length_scale, length_offset = 1.0 / optimal, rng[:, 0] - lr[:, 0] / optimal
        velocity_scale = 1.0 / (optimal * MAX_CONTRACTION_VELOCITY)
        return cls(
            model=m,
            joint_range=m.jnt_range[joint_ids].copy(),
            hand_body=hand_body,
            hand_site=mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "hand"),
            target_mocap=int(m.body_mocapid[target_body]),
            upper_arm_length=float(m.body_pos[forearm, 0]),
            forearm_length=float(m.body_pos[hand_body, 0]),
            fibre_length_scale=length_scale,
            fibre_length_offset=length_offset,
            fibre_velocity_scale=velocity_scale,
            optimal_fibre_length=optimal,
            proprioception_scale=np.concatenate([length_scale, velocity_scale]),
            proprioception_offset=np.concatenate([length_offset, np.zeros(6)]),
        )

    def hand_position(self, qpos: np.ndarray) -> np.ndarray:
        """Hand position (m), shape (..., 2), at joint angles ``qpos`` (rad), shape (..., 2).

        ``(l1 cos q1 + l2 cos(q1 + q2), l1 sin q1 + l2 sin(q1 + q2))`` with the shoulder at the origin.
        """
        q = np.asarray(qpos, dtype=float)
        q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
        l1, l2 = self.upper_arm_length, self.forearm_length
        return np.stack([l1 * np.cos(q1) + l2 * np.cos(q12), l1 * np.sin(q1) + l2 * np.sin(q12)], axis=-1)

    def check_posture(self, qpos: np.ndarray) -> np.ndarray:
        """``qpos`` as a float array of shape (..., 2), or a ValueError if it leaves the joint ranges."""
        q = np.asarray(qpos, dtype=float)
        if q.shape[-1:] != (2,):
            raise ValueError(f"a posture is (shoulder, elbow) in radians, got shape {q.shape}")
        low, high = self.joint_range[:, 0], self.joint_range[:, 1]
        if not np.all(np.isfinite(q)) or np.any(q < low) or np.any(q > high):
            raise ValueError(
                f"posture {q.tolist()} rad is outside the joint ranges "
                f"shoulder [{low[0]:.3f}, {high[0]:.3f}], elbow [{low[1]:.3f}, {high[1]:.3f}] rad"
            )
        return q


@cache
def default_arm() -> Arm:
    """The arm of ``assets/arm26.xml``, loaded once per process."""
    return Arm.load()
