"""``runnerkit.build(cfg, default_args)``: the one door from a config to a runner."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

from runnerkit._container import Container, default_container
from runnerkit._errors import ConfigError

DEFAULT_CONSTRUCTOR = "DefaultRunnerConstructor"

_current: contextvars.ContextVar[Container | None] = contextvars.ContextVar("runnerkit_container", default=None)


def current_container() -> Container:
    """The container of the ``build`` call in progress, else the default one."""
    return _current.get() or default_container()


@contextlib.contextmanager
def using(container: Container) -> Iterator[Container]:
    """Make ``container`` serve name lookups (runners, hooks, ...) inside the ``with`` block."""
    token = _current.set(container)
    try:
        yield container
    finally:
        _current.reset(token)


def copy_plain(value: Any) -> Any:
    """Copy dicts, lists and tuples recursively; pass every other object (models!) through."""
    if isinstance(value, Mapping):
        return {k: copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_plain(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(copy_plain(v) for v in value)
    return value


def require_type(cfg: Mapping[str, Any], section: str) -> Any:
    """``cfg["type"]``, or a :class:`ConfigError` naming the section that lacks it."""
    if "type" not in cfg:
        keys = ", ".join(f"`{k}`" for k in cfg) or "no keys"
        raise ConfigError(
            f"The `{section}` config has no `type` key (it has {keys}); add `type=\"<Name>\"` naming "
            f"the {section} to build (`runnerkit list` shows the installed ones)."
        )
    return cfg["type"]


def build(cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None, *, container: Container | None = None) -> Any:
    """Build a runner from ``cfg`` (mmcv's ``build_runner``).

    ``cfg["constructor"]`` names the constructor (default ``DefaultRunnerConstructor``); the
    constructor receives the rest of ``cfg`` and ``default_args`` and builds ``cfg["type"]``.
    Values in ``cfg`` win over ``default_args``. Neither mapping is mutated; objects in
    ``default_args`` (model, optimizer, logger) are passed through, not copied.

    Args:
        cfg: ``dict(type="IterBasedRunner", max_iters=100, ...)``.
        default_args: e.g. ``dict(model=model, optimizer=optimizer, work_dir="work_dirs/x")``.
        container: the component container to use (default: the process-wide one).

    Example:
        >>> runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=100),
        ...                          default_args=dict(model=model, optimizer=optimizer))
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"`build` expects the runner config as a mapping, got {type(cfg).__name__} `{cfg!r:.80}`.")
    if default_args is not None and not isinstance(default_args, Mapping):
        raise TypeError(f"`default_args` must be a mapping or None, got {type(default_args).__name__}.")
    runner_cfg = copy_plain(cfg)
    ctor_spec = runner_cfg.pop("constructor", DEFAULT_CONSTRUCTOR)
    container = container or current_container()
    with using(container):
        ctor = container.get("constructor", ctor_spec)
        runner_constructor = ctor(runner_cfg, dict(default_args) if default_args is not None else None)
        return runner_constructor()


def build_runner(cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
    """mmcv's name for :func:`build`."""
    return build(cfg, default_args)


class DefaultRunnerConstructor:
    """Builds the runner named by ``runner_cfg["type"]`` with ``default_args`` underneath.

    Args:
        runner_cfg: the runner section (``type`` and the runner's own arguments).
        default_args: arguments supplied by code (model, optimizer, work_dir, logger, meta).

    Raises:
        TypeError: ``runner_cfg`` is not a mapping.

    Example:
        >>> runner = DefaultRunnerConstructor(dict(type="EpochBasedRunner", max_epochs=2),
        ...                                   dict(model=model))()
    """

    def __init__(self, runner_cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> None:
        if not isinstance(runner_cfg, Mapping):
            raise TypeError(f"runner_cfg should be a dict, got {type(runner_cfg).__name__} `{runner_cfg!r:.80}`.")
        if default_args is not None and not isinstance(default_args, Mapping):
            raise TypeError(f"default_args should be a dict or None, got {type(default_args).__name__}.")
        self.runner_cfg = copy_plain(runner_cfg)
        self.default_args = dict(default_args or {})
        self.container = current_container()

    def __call__(self) -> Any:
        cfg = dict(self.runner_cfg)
        runner_type = require_type(cfg, "runner")
        del cfg["type"]
        cfg.pop("constructor", None)
        runner_cls = self.container.get("runner", runner_type)
        kwargs = {**self.default_args, **cfg}
        with using(self.container):
            return runner_cls(**kwargs)
