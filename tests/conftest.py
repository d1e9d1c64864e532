"""Test set-up: headless rendering and quiet, deterministic torch."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
