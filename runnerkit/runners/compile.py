"""The ``compile`` runner argument: compiling the model in place with ``torch.compile``.

``compile=True`` (or a dict of :func:`torch.compile` options) calls ``nn.Module.compile`` on the
model inside any DDP/DataParallel wrapper. That compiles the module's ``__call__`` (``forward``
with its hooks) and keeps the module itself, so ``state_dict`` keys stay those of the eager
model: eager checkpoints load into compiled runs and back. What runs compiled:

* every ``self(...)`` call inside ``train_step``/``val_step``; in mmcv-style models, whose
  ``forward`` returns the losses, that is the whole computation;
* the rest of ``train_step`` (``_parse_losses``, ``.item()``, ``dist.all_reduce``) runs eagerly
  for a plain model; under DDP the runner calls ``train_step`` through DDP's ``forward``, so there
  the whole step runs inside the compiled call (Dynamo splits the graph where it must).

Example:
    >>> from runnerkit.runners.compile import compile_options
    >>> compile_options(True), compile_options(False), compile_options({"mode": "max-autotune"})
    ({}, None, {'mode': 'max-autotune'})
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import torch

from runnerkit._suggest import did_you_mean
from runnerkit.dist import get_dist_info, unwrap_model

__all__ = ["COMPILE_DESCRIPTION", "compile_model", "compile_options", "torch_compile_keys"]

#: the help text of the ``compile`` runner argument and config key.
COMPILE_DESCRIPTION = (
    "`false` (default); `true` to compile the model in place with `nn.Module.compile` (its `__call__`: every "
    "`self(...)` in `train_step`/`val_step`; checkpoint keys unchanged); or a dict of `torch.compile` options, "
    "e.g. `{\"mode\": \"max-autotune\", \"dynamic\": false}`."
)

#: the JSON Schema of the value: a boolean or an object of options.
COMPILE_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "boolean"}, {"type": "object", "propertyNames": {"type": "string"}}],
    "default": False,
}


def torch_compile_keys() -> list[str]:
    """The keyword options ``torch.compile`` accepts (``fullgraph``, ``dynamic``, ``backend``, ``mode``, ...)."""
    params = inspect.signature(torch.compile).parameters
    return [name for name, p in params.items() if name != "model" and p.kind is not inspect.Parameter.VAR_KEYWORD]


def compile_options(value: Any) -> dict[str, Any] | None:
    """Check a ``compile`` value and return the ``torch.compile`` options it means (None: off).

    Args:
        value: ``False``/``None`` (off), ``True`` (``torch.compile``'s defaults) or a dict of
            ``torch.compile`` keyword options.

    Returns:
        None when compiling is off, else the options (``{}`` for ``True``).

    Raises:
        ValueError: for any other value, a dict with a key that is not a string, a key that is
            not a ``torch.compile`` option (with the closest accepted names), or both ``mode`` and
            ``options``. (What a *data* config may set is narrower: :mod:`runnerkit._compile_rules`.)
    """
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if not isinstance(value, dict):
        raise ValueError(
            f"expected `false`, `true` or a dict of `torch.compile` options, got {type(value).__name__} "
            f"`{value!r:.40}`; e.g. `compile=True` or `compile=dict(mode=\"max-autotune\")`"
        )
    accepted = torch_compile_keys()
    for key in value:
        if not isinstance(key, str):
            raise ValueError(
                f"the keys of a `compile` dict are `torch.compile` option names (strings), got "
                f"{type(key).__name__} `{key!r:.40}`; accepted: {', '.join(accepted)}"
            )
        if key not in accepted:
            hint = did_you_mean(key, accepted, cutoff=0.5)
            hint = f"{hint[0].lower()}{hint[1:]} " if hint else ""
            raise ValueError(
                f"`{key}` is not a `torch.compile` option; {hint}accepted options are: {', '.join(accepted)}"
            )
    if value.get("mode") is not None and value.get("options") is not None:
        raise ValueError(
            "give `mode` or `options`, not both (`torch.compile` refuses the pair); e.g. "
            "`compile=dict(options={\"max_autotune\": True})` instead of `mode=\"max-autotune\"`"
        )
    return dict(value)


def compile_model(model: torch.nn.Module, value: Any, logger: logging.Logger) -> bool:
    """Compile ``model`` (the module inside a DDP/DataParallel wrapper) in place, when ``value`` asks.

    The module keeps its identity, parameters and ``state_dict`` keys; ``nn.Module.compile``
    makes its ``__call__`` run ``torch.compile(options)`` of the eager call. Logs one INFO line
    with the options when it compiles (on rank 0 only: every rank compiles alike).

    Args:
        model: the runner's model, possibly wrapped.
        value: the ``compile`` argument (see :func:`compile_options`).
        logger: where the INFO line goes.

    Returns:
        Whether the model was compiled.
    """
    options = compile_options(value)
    if options is None:
        return False
    inner = unwrap_model(model)
    inner.compile(**options)
    shown = ", ".join(f"{k}={v!r}" for k, v in options.items()) or "torch defaults"
    where = f" inside {type(model).__name__}" if inner is not model else ""
    if get_dist_info()[0] == 0:
        logger.info("compile: on, %s%s compiled in place (torch.compile: %s)", type(inner).__name__, where, shown)
    return True
