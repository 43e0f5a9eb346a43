"""mmcv 1.x's runner API on runnerkit: ``runnerkit.compat.mmcv.runner``, ``.engine``, ``.parallel``.

Call :func:`install` once, before importing mmcv, and code written for ``mmcv.runner`` runs
unchanged on runnerkit's runners, hooks and checkpoint files::

    import runnerkit.compat.mmcv
    runnerkit.compat.mmcv.install()

    from mmcv.runner import HOOKS, Hook, build_runner, load_checkpoint  # served by runnerkit

docs/migration.md lists what differs from mmcv 1.7.2 and why.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from runnerkit.compat.mmcv._finder import ALIASED, MmcvFinder, installed_mmcv_version

__all__ = ["install", "installed_mmcv_version", "uninstall"]


def install(stand_ins: Mapping[str, str] | None = None) -> MmcvFinder:
    """Put the layer's finder at the front of ``sys.meta_path`` (idempotent) and return it.

    Afterwards ``import mmcv.runner`` (and ``mmcv.engine``, ``mmcv.parallel`` and their submodules)
    gives this layer unless mmcv 1.x itself is installed; without any mmcv a minimal ``mmcv``
    package is provided; with mmcv 2.x its own subpackages keep working. Install before the first
    ``import mmcv.runner``: a module already imported is not replaced.

    Args:
        stand_ins: modules that serve other subpackages of the stand-in ``mmcv`` when no mmcv is
            installed, e.g. ``{"cnn": "myproject.mmcv_cnn"}`` for ``import mmcv.cnn`` (and its
            submodules, ``mmcv.cnn.bricks`` -> ``myproject.mmcv_cnn.bricks``). Added to those given before.

    Raises:
        TypeError: ``stand_ins`` is not a mapping of subpackage names to module names.

    Example:
        >>> import runnerkit.compat.mmcv
        >>> finder = runnerkit.compat.mmcv.install()
        >>> import mmcv.runner
        >>> mmcv.runner.HOOKS.name
        'hook'
    """
    extra = dict(stand_ins or {})
    for name, module in extra.items():
        if not (isinstance(name, str) and name.isidentifier() and isinstance(module, str) and module):
            raise TypeError(f"stand_ins maps an mmcv subpackage name to a module name, as {{'cnn': 'myproject.mmcv_cnn'}}; "
                            f"got {name!r}: {module!r}")
        if name in ALIASED:
            raise TypeError(f"mmcv.{name} is provided by the layer itself; it cannot be stood in")
    for finder in list(sys.meta_path):
        if isinstance(finder, MmcvFinder):
            sys.meta_path.remove(finder)
            sys.meta_path.insert(0, finder)
            finder.stand_ins.update(extra)
            return finder
    finder = MmcvFinder(extra)
    sys.meta_path.insert(0, finder)
    return finder


def uninstall() -> None:
    """Remove the finder and forget the ``mmcv`` modules it served (for tests and notebooks)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, MmcvFinder)]
    stand_in = getattr(sys.modules.get("mmcv"), "__runnerkit_compat__", False)
    for name in list(sys.modules):
        parts = name.split(".")
        if parts[0] != "mmcv":
            continue
        served = len(parts) > 1 and parts[1] in ALIASED and sys.modules[name].__name__.startswith("runnerkit.")
        if served or stand_in:
            del sys.modules[name]
    real = sys.modules.get("mmcv")
    if real is not None and not stand_in:
        for sub in ALIASED:
            module = getattr(real, sub, None)
            if module is not None and getattr(module, "__name__", "").startswith("runnerkit."):
                delattr(real, sub)
