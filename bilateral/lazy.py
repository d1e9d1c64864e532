"""Names a package offers without importing what defines them until they are first used (PEP 562), so
that importing the package stays light (no torch, pandas or stable-baselines3 for ``--help``)."""

from __future__ import annotations

import importlib


def lazy_attributes(package: str, where: dict[str, str]):
    """A module ``__getattr__`` for ``package``: ``where[name]`` is the module that defines ``name``."""

    def __getattr__(name: str):
        if name in where:
            return getattr(importlib.import_module(where[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
