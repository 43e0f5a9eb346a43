"""``runnerkit.build(cfg, default_args)``: the one door from a config to a runner."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

from runnerkit._container import Container, default_container
from runnerkit._errors import ComponentTypeError, ConfigError

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


#: how deep configs may nest (dicts and lists); deeper is refused as malformed.
MAX_DEPTH = 64


def copy_plain(value: Any, key: str = "config", max_items: int | None = None) -> Any:
    """Copy dicts, lists and tuples recursively; pass every other object (models!) through.

    Args:
        value: what to copy.
        key: where it sits in the config, for messages.
        max_items: refuse a value holding more dicts, lists and values than this (a YAML file
            whose aliases expand a few lines into billions of values).

    Raises:
        ConfigError: the value nests deeper than :data:`MAX_DEPTH`, contains itself, or holds
            more than ``max_items`` values (the message names the key where it happens).
    """
    if max_items is not None:
        size = _expanded_size(value, (key,), 0, set(), {})
        if size > max_items:
            raise ConfigError(
                f"`{key}` expands to {size} values (more than {max_items}); YAML aliases that expand without end?"
            )
    return _copy(value, (key,), 0, set())


def _container_kind(value: Any) -> int:
    """1: a mapping, 2: a list or plain tuple, 0: anything else (copied by reference)."""
    if isinstance(value, Mapping):
        return 1
    if isinstance(value, list) or (isinstance(value, tuple) and not hasattr(value, "_fields")):
        return 2
    return 0


def _where(path: tuple[Any, ...]) -> str:
    """``("runner", "meta", [0])`` -> ``runner.meta[0]`` (formatted only for a message)."""
    out = ""
    for part in path:
        if isinstance(part, list):
            out += f"[{part[0]}]"
        else:
            try:
                text = str(part)
            except Exception:
                text = f"<{type(part).__name__}>"
            out += f".{text}" if out else text
    return out


def _enter(value: Any, path: tuple[Any, ...], depth: int, active: set[int]) -> None:
    if id(value) in active:
        raise ConfigError(f"`{_where(path)}` contains itself (a cyclic reference); a config must be a tree of plain values.")
    if depth >= MAX_DEPTH:
        raise ConfigError(f"`{_where(path)}` nests deeper than {MAX_DEPTH} levels; a config cannot be this deep.")


def _expanded_size(value: Any, path: tuple[Any, ...], depth: int, active: set[int], memo: dict[int, int]) -> int:
    """How many values ``value`` holds once shared parts (YAML aliases) are expanded; linear in its distinct parts."""
    kind = _container_kind(value)
    if not kind:
        return 1
    if id(value) in memo:
        return memo[id(value)]
    _enter(value, path, depth, active)
    active.add(id(value))
    try:
        if kind == 1:
            size = 1 + sum(_expanded_size(v, (*path, k), depth + 1, active, memo) for k, v in value.items())
        else:
            size = 1 + sum(_expanded_size(v, (*path, [i]), depth + 1, active, memo) for i, v in enumerate(value))
    finally:
        active.discard(id(value))
    memo[id(value)] = size
    return size


def _copy(value: Any, path: tuple[Any, ...], depth: int, active: set[int]) -> Any:
    kind = _container_kind(value)
    if not kind:
        return value
    _enter(value, path, depth, active)
    active.add(id(value))
    try:
        if kind == 1:
            return {k: _copy(v, (*path, k), depth + 1, active) for k, v in value.items()}
        items = [_copy(v, (*path, [i]), depth + 1, active) for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    finally:
        active.discard(id(value))


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def check_argument_names(kwargs: Mapping[Any, Any], section: str) -> None:
    """Refuse keys that cannot be keyword arguments: non-strings and ``self`` (other unknown keys are the argument model's).

    Raises:
        ConfigError: naming the first such key.
    """
    for name in kwargs:
        if not isinstance(name, str):
            raise ConfigError(
                f"`{section}`: the key `{name!r:.60}` is {_article(type(name).__name__)} {type(name).__name__}, not a string; "
                f"argument names are strings."
            )
        if name == "self":
            raise ConfigError(
                f"`{section}`: `self` cannot be an argument name (`self` is the object being built); remove the key `self`."
            )


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
    runner_cfg = copy_plain(cfg, "runner")
    if "compile" in runner_cfg:  # the mapping is data: only the safe `torch.compile` options (docs/security.md)
        from runnerkit._compile_rules import refuse_unsafe_compile

        refuse_unsafe_compile(runner_cfg["compile"])
    ctor_spec = runner_cfg.pop("constructor", DEFAULT_CONSTRUCTOR)
    container = container or current_container()
    with using(container):
        ctor = container.get("constructor", ctor_spec, key="constructor")
        name = ctor_spec if isinstance(ctor_spec, str) else getattr(ctor_spec, "__qualname__", repr(ctor_spec))
        runner_constructor = ctor(runner_cfg, dict(default_args) if default_args is not None else None)
        if not callable(runner_constructor):
            raise ComponentTypeError(
                f"The constructor `{name}` returned {type(runner_constructor).__name__}, which is not callable; a "
                f"constructor's result must build the runner when called with no argument."
            )
        runner = runner_constructor()
        from runnerkit.runners.base import BaseRunner

        if not isinstance(runner, BaseRunner):
            raise ComponentTypeError(
                f"The constructor `{name}` built {type(runner).__name__} `{runner!r:.60}`, not a runner; it must "
                f"return an instance of a `runnerkit.BaseRunner` subclass."
            )
        return runner


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
        self.runner_cfg = copy_plain(runner_cfg, "runner")
        self.default_args = dict(default_args or {})
        self.container = current_container()

    def __call__(self) -> Any:
        cfg = dict(self.runner_cfg)
        runner_type = require_type(cfg, "runner")
        del cfg["type"]
        cfg.pop("constructor", None)
        runner_cls = self.container.get("runner", runner_type, key="type")
        check_argument_names(cfg, "runner")
        check_argument_names(self.default_args, "default_args")
        kwargs = {**self.default_args, **cfg}
        with using(self.container):
            return runner_cls(**kwargs)
