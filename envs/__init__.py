"""Deprecated name of ``bilateral_envs``, kept for one release: ``import envs`` still works and warns.

The environment package was renamed so that its name is the project's own (a top-level ``envs``
clashes with other installs). Import ``bilateral_envs`` instead.
"""

import importlib
import sys
import warnings

importlib.import_module("bilateral_envs")  # the environments themselves: registered, their modules aliased below

warnings.warn(
    "the package 'envs' is now 'bilateral_envs'; 'import envs' will stop working in the next release",
    DeprecationWarning,
    stacklevel=2,
)
# envs and envs.<module> are the very modules of bilateral_envs (not second copies with classes of their own)
for _name, _module in list(sys.modules.items()):
    if _name == "bilateral_envs" or _name.startswith("bilateral_envs."):
        sys.modules["envs" + _name[len("bilateral_envs") :]] = _module
