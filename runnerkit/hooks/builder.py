"""Building hooks from ``dict(type=..., **args)`` through the component container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnerkit import requires
from runnerkit._args import model_of, runtime_fields, validate_args
from runnerkit._build import current_container, require_type
from runnerkit._container import Container
from runnerkit.hooks.hook import Hook

__all__ = ["build_hook"]


def build_hook(cfg: Mapping[str, Any] | Hook, container: Container | None = None) -> Hook:
    """A hook instance from a config dict (``type`` names a hook component) or a hook itself.

    The arguments are checked against the hook's argument model first (:func:`runnerkit.args_model`).

    Raises:
        pydantic.ValidationError: an argument the hook does not take, or of the wrong type.
    """
    if isinstance(cfg, Hook):
        return cfg
    if not isinstance(cfg, Mapping):
        raise TypeError(f"A hook config must be a dict with `type` or a Hook, got {type(cfg).__name__} `{cfg!r:.80}`.")
    args = dict(cfg)
    hook_type = require_type(args, "hook")
    del args["type"]
    args.pop("priority", None)
    cls = (container or current_container()).get("hook", hook_type)
    requires.check(cls)  # before building: a missing optional package is named with its install command
    model = model_of(cls, "hook")
    validate_args(model, args, getattr(cls, "__name__", str(hook_type)), supplied=runtime_fields(model))
    try:
        return cls(**args)  # type: ignore[no-any-return]
    except TypeError as err:
        raise TypeError(f"Cannot build hook `{hook_type}` with arguments {sorted(args)}: {err}") from err
