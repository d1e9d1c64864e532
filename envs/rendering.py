"""Drawing the arm: a fixed top-down camera, muscles coloured by activation, target and hand forces.

Off-screen rendering needs an OpenGL back end; on a machine without a display set
``MUJOCO_GL=egl`` (``envs`` does so when neither ``MUJOCO_GL`` nor ``DISPLAY`` is set).
"""

from __future__ import annotations

import os

import mujoco
import numpy as np

REST_RGBA = np.array([0.93, 0.75, 0.75, 1.0], dtype=np.float32)  # a muscle at zero activation
ACTIVE_RGBA = np.array([0.75, 0.0, 0.05, 1.0], dtype=np.float32)  # ... at full activation
LOAD_RGBA = np.array([0.9, 0.15, 0.1, 0.9], dtype=np.float32)
PUSH_RGBA = np.array([0.95, 0.6, 0.0, 0.9], dtype=np.float32)
ARROW_METRES_PER_NEWTON = 0.01  # a 10 N load is drawn 10 cm long


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
    mujoco.mjv_connector(geom, mujoco.mjtGeom.mjGEOM_ARROW, 0.006, start, tip)
    scene.ngeom += 1


class ArmRenderer:
    """Renders frames of one arm (an ``MjData``) from the model's ``top`` camera.

    ``render(data, load, push)`` returns an RGB image (height, width, 3) uint8, with the endpoint
    load drawn as a red arrow and a push as an orange one (arrows start at the hand).
    """

    def __init__(self, model: mujoco.MjModel, width: int = 640, height: int = 480, camera: str = "top"):
        self.model = model
        self.camera = camera
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self._hand_site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, "hand")

    def render(self, data: mujoco.MjData, load=None, push=None) -> np.ndarray:
        self._renderer.update_scene(data, camera=self.camera)
        colour_muscles(self._renderer.scene, self.model, data)
        hand = data.site_xpos[self._hand_site].copy()
        hand[2] += 0.03  # above the arm
        for force, rgba in ((load, LOAD_RGBA), (push, PUSH_RGBA)):
            if force is not None:
                _add_arrow(self._renderer.scene, hand, np.asarray(force, dtype=float), rgba)
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
