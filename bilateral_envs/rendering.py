"""Drawing the arm: a top-down view of the whole workspace, muscles coloured by activation, the target,
the hand's fading trail, and the forces on the hand.

Off-screen rendering needs an OpenGL back end; on a machine without a display set
``MUJOCO_GL=egl`` (``bilateral_envs`` does so when neither ``MUJOCO_GL`` nor ``DISPLAY`` is set).
"""

from __future__ import annotations

import os

import mujoco
import numpy as np

REST_RGBA = np.array([0.96, 0.88, 0.86, 1.0], dtype=np.float32)  # a muscle at zero activation: pale
ACTIVE_RGBA = np.array([0.72, 0.0, 0.05, 1.0], dtype=np.float32)  # ... at full activation: saturated
LOAD_RGBA = np.array([0.2, 0.3, 0.9, 0.9], dtype=np.float32)  # the steady load: blue
PUSH_RGBA = np.array([0.95, 0.55, 0.0, 0.95], dtype=np.float32)  # a push while it acts: orange
TARGET_RGBA = np.array([0.1, 0.7, 0.2, 0.35], dtype=np.float32)  # a disc around the target sphere
TRAIL_RGBA = np.array([0.15, 0.35, 0.8, 0.8], dtype=np.float32)  # the hand's trail, fading with age
ARROW_METRES_PER_NEWTON = 0.01  # a 10 N load is drawn 10 cm long
TARGET_RADIUS = 0.03  # m: the disc drawn around the target
# The scene the view frames (m): the hand reaches x -0.55..0.64, y -0.11..0.64 over the joint ranges
# (shoulder at the origin, upper arm and forearm 0.64 m together); the trunk and the muscles' origins
# reach y -0.12. A margin of 5 cm all round.
WORKSPACE_CENTRE = np.array([0.045, 0.265, 0.0])
WORKSPACE_HALF = np.array([0.645, 0.43])  # half width (x), half height (y)


def colour_muscles(scene: mujoco.MjvScene, model: mujoco.MjModel, data: mujoco.MjData) -> None:
    """Colour each muscle's drawn tendon from pale (activation 0) to deep red (activation 1)."""
    activation = np.zeros(model.ntendon)
    activation[model.actuator_trnid[:, 0]] = data.act
    for k in range(scene.ngeom):
        geom = scene.geoms[k]
        if geom.objtype == mujoco.mjtObj.mjOBJ_TENDON:
            a = activation[geom.objid]
            geom.rgba = (1 - a) * REST_RGBA + a * ACTIVE_RGBA


def _add_arrow(scene: mujoco.MjvScene, start: np.ndarray, force: np.ndarray, rgba: np.ndarray) -> None:
    if scene.ngeom >= scene.maxgeom or not np.any(force):
        return
    geom = scene.geoms[scene.ngeom]
    mujoco.mjv_initGeom(geom, mujoco.mjtGeom.mjGEOM_ARROW, np.zeros(3), np.zeros(3), np.zeros(9), rgba)
    tip = start + np.array([*force * ARROW_METRES_PER_NEWTON, 0.0])
    mujoco.mjv_connector(geom, mujoco.mjtGeom.mjGEOM_ARROW, 0.008, start, tip)
    scene.ngeom += 1


def _add_geom(scene: mujoco.MjvScene, kind, size, pos, rgba) -> None:
    if scene.ngeom >= scene.maxgeom:
        return
    mujoco.mjv_initGeom(
        scene.geoms[scene.ngeom], kind, np.asarray(size, float), np.asarray(pos, float), np.eye(3).ravel(), rgba
    )
    scene.ngeom += 1


def _add_trail(scene: mujoco.MjvScene, trail: np.ndarray, z: float) -> None:
    """The hand's recent path (k, 2) m, oldest first, as segments fading from clear to ``TRAIL_RGBA``."""
    k = len(trail)
    for i in range(1, k):
        if scene.ngeom >= scene.maxgeom:
            return
        rgba = TRAIL_RGBA.copy()
        rgba[3] *= i / (k - 1)
        start, end = np.array([*trail[i - 1], z]), np.array([*trail[i], z])
        if np.allclose(start, end):
            continue
        geom = scene.geoms[scene.ngeom]
        mujoco.mjv_initGeom(geom, mujoco.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), np.zeros(3), np.zeros(9), rgba)
        mujoco.mjv_connector(geom, mujoco.mjtGeom.mjGEOM_CAPSULE, 0.003, start, end)
        scene.ngeom += 1


def workspace_camera(width: int, height: int, fovy_deg: float) -> mujoco.MjvCamera:
    """A top-down camera over ``WORKSPACE_CENTRE`` from far enough that the whole workspace
    (``WORKSPACE_HALF`` each side) fits a ``width`` x ``height`` frame (x to the right, y up)."""
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    camera.lookat[:] = WORKSPACE_CENTRE
    camera.azimuth, camera.elevation = 90.0, -90.0
    half_height = max(WORKSPACE_HALF[1], WORKSPACE_HALF[0] * height / width)  # the frame's, in metres
    camera.distance = half_height / np.tan(np.deg2rad(fovy_deg) / 2)
    return camera


class ArmRenderer:
    """Renders frames of one arm (an ``MjData``), top-down, the whole workspace in view.

    ``render(data, load, push, trail)`` returns an RGB image (height, width, 3) uint8: the muscles
    coloured by activation, the target ringed by a disc, the hand's recent path ``trail`` (k, 2) m as a
    fading line, the endpoint load as a blue arrow and a push, while it acts, as an orange one (arrows
    start at the hand, 1 cm per newton). ``camera`` names a camera of the model to use instead.
    """

    def __init__(self, model: mujoco.MjModel, width: int = 640, height: int = 480, camera: str | None = None):
        self.model = model
        self.camera = camera if camera is not None else workspace_camera(width, height, model.vis.global_.fovy)
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self._hand_site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, "hand")

    def render(self, data: mujoco.MjData, load=None, push=None, trail=None) -> np.ndarray:
        self._renderer.update_scene(data, camera=self.camera)
        scene = self._renderer.scene
        colour_muscles(scene, self.model, data)
        target = data.mocap_pos[0].copy()
        _add_geom(scene, mujoco.mjtGeom.mjGEOM_CYLINDER, [TARGET_RADIUS, 0.001, 0], target, TARGET_RGBA)
        hand = data.site_xpos[self._hand_site].copy()
        hand[2] += 0.03  # above the arm
        if trail is not None and len(trail) > 1:
            _add_trail(scene, np.asarray(trail, dtype=float), hand[2])
        for force, rgba in ((load, LOAD_RGBA), (push, PUSH_RGBA)):
            if force is not None:
                _add_arrow(scene, hand, np.asarray(force, dtype=float), rgba)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


class ArmViewer:
    """An interactive window (``render_mode="human"``), MuJoCo's passive viewer on the top camera."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData):
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            raise RuntimeError(
                'render_mode="human" opens a window and needs a display; on a headless machine use '
                'render_mode="rgb_array" (with MUJOCO_GL=egl)'
            )
        import mujoco.viewer

        self._viewer = mujoco.viewer.launch_passive(model, data, show_left_ui=False, show_right_ui=False)
        self._viewer.cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._viewer.cam.fixedcamid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, "top")

    def render(self) -> None:
        if self._viewer.is_running():
            self._viewer.sync()

    def close(self) -> None:
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None
