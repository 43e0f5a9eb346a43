"""The ``sys.meta_path`` finder that serves ``mmcv.runner``, ``.engine``, ``.parallel``, ``.fileio`` and ``.utils``.

- mmcv 1.x installed: the finder stays out of the way (mmcv's own runner is used).
- mmcv 2.x installed: ``mmcv`` and its own subpackages (``mmcv.cnn``, ``mmcv.ops``, ``mmcv.utils``,
  ...) load as usual; only the subpackages mmcv 2.0 removed (``runner``, ``engine``,
  ``parallel``, ``fileio``) come from the layer.
- no mmcv: a stand-in ``mmcv`` package (:mod:`runnerkit.compat.mmcv._package`) holds them all,
  ``mmcv.utils`` included, with mmcv's top-level names.

An aliased module is the layer's module object itself (``mmcv.runner is
runnerkit.compat.mmcv.runner``), so classes and registries are shared, never duplicated.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import sys
import types
from collections.abc import Sequence

__all__ = ["ALIASED", "MmcvFinder", "installed_mmcv_version"]

#: mmcv's subpackages the layer provides
ALIASED = ("runner", "engine", "parallel", "fileio", "utils")
#: ... of which these only when no mmcv is installed (mmcv 2.x has its own, which its ops need)
STAND_IN_ONLY = ("utils",)
LAYER = "runnerkit.compat.mmcv"


def installed_mmcv_version() -> str | None:
    """The version of a real, installed mmcv (``mmcv``, ``mmcv-full`` or ``mmcv-lite``), or None."""
    loaded = sys.modules.get("mmcv")
    if loaded is not None and not getattr(loaded, "__runnerkit_compat__", False):
        version = getattr(loaded, "__version__", None)
        if isinstance(version, str):
            return version
    if importlib.machinery.PathFinder.find_spec("mmcv") is None:
        return None
    for dist in ("mmcv", "mmcv-full", "mmcv-lite"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"  # importable without metadata: treat it as a newer mmcv, keep its own modules


def _is_mmcv1(version: str | None) -> bool:
    return version is not None and version.split(".", 1)[0] == "1"


class _AliasLoader(importlib.abc.Loader):
    """Loads ``mmcv.<...>`` as the layer's module object of the same path."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: types.ModuleType) -> None:
        """The layer's module is already executed."""


class MmcvFinder(importlib.abc.MetaPathFinder):
    """Finds ``mmcv`` (when none is installed) and ``mmcv.{runner,engine,parallel,fileio,utils}[.*]`` (unless mmcv 1.x is).

    Args:
        stand_ins: other subpackages of the stand-in ``mmcv`` (no mmcv installed), as ``{"cnn":
            "myproject.mmcv_cnn"}``: ``mmcv.cnn`` (and ``mmcv.cnn.bricks``, ...) is that module.
    """

    def __init__(self, stand_ins: dict[str, str] | None = None) -> None:
        self.stand_ins: dict[str, str] = dict(stand_ins or {})

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "mmcv" and not fullname.startswith("mmcv."):
            return None
        version = installed_mmcv_version()
        if fullname == "mmcv":
            if version is not None:
                return None
            from runnerkit.compat.mmcv import _package

            return importlib.util.spec_from_file_location("mmcv", _package.__file__, submodule_search_locations=[])
        parts = fullname.split(".")
        if parts[1] in self.stand_ins and version is None:
            target_name = ".".join([self.stand_ins[parts[1]], *parts[2:]])
        elif parts[1] not in ALIASED or _is_mmcv1(version) or (parts[1] in STAND_IN_ONLY and version is not None):
            return None
        else:
            target_name = ".".join([LAYER, *parts[1:]])
        try:
            found = importlib.util.find_spec(target_name)
        except ModuleNotFoundError:
            return None
        if found is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(target_name),
                                              is_package=found.submodule_search_locations is not None)
