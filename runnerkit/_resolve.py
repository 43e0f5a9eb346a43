"""What a config's ``type`` may name: one resolution, under the config rules, for every component kind.

A config's ``type`` (``runner.type``, ``model.type``, ``optimizer.type``, ...) is a registered
component's name, a qualified ``dist:Name``, a ``module:attr`` path or (from Python) a class;
:func:`resolve` turns it into the class, looking names up in the :class:`~runnerkit.Container`
and optimizers in ``torch.optim``, and refuses what a config may not name (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from runnerkit._container import Container
from runnerkit._errors import ComponentTypeError, ConfigError
from runnerkit._kinds import object_problem
from runnerkit._records import ComponentRecord

__all__ = ["resolve"]


def resolve(kind: str, spec: Any, key: str, container: Container | None = None) -> Any:
    """The class ``spec`` names as a component of ``kind``, under the config rules (docs/security.md).

    ``spec`` is an installed or run-time plugin component's name, a qualified ``"dist:Name"``, a
    ``"module:attr"`` import path (only a class of the expected kind, checked before anything is
    called), or a class given directly. Components declared by installed packages may be
    factories (for ``constructor``, ``model`` and ``dataset``); nothing else may.

    Args:
        kind: ``runner``, ``constructor``, ``hook``, ``model``, ``dataset`` or ``optimizer``
            (an optimizer's bare name is looked up in ``torch.optim``).
        spec: what the config gives.
        key: the config key it came from (``model.type``), for messages.
        container: where names are looked up (default: the current container).

    Raises:
        ConfigError: the spec is not of the expected kind (the message names ``key`` and the rule).
        ComponentTypeError: an instance was given instead of a class (a ``TypeError``).
        UnknownComponentError, AmbiguousComponentError, PluginLoadError: as :meth:`Container.get`.

    Example:
        >>> resolve("optimizer", "SGD", "optimizer.type").__name__
        'SGD'
        >>> resolve("model", "os:system", "model.type")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        runnerkit._errors.ConfigError: `model.type`: `os:system` cannot be used as a model: ...
    """
    if kind == "optimizer":
        return _optimizer(spec, key)
    if container is None:
        from runnerkit._build import current_container

        container = current_container()
    return container.get(kind, spec, key=key)


def _optimizer(spec: Any, key: str) -> Any:
    import torch

    from runnerkit._suggest import did_you_mean

    if not isinstance(spec, str):
        refused = object_problem("optimizer", spec)
        if refused is not None:
            error, problem = refused
            raise (ComponentTypeError if error is TypeError else ConfigError)(
                f"`{key}`: {problem}. An optimizer is named by a `torch.optim` name, a `module:attr` path or its class."
            )
        return spec
    from runnerkit.optim.registry import registered_optimizers

    registered = registered_optimizers().get(spec)
    if registered is not None:  # registered by code (mmcv's `@OPTIMIZERS.register_module()`)
        return registered
    if ":" in spec:
        record = ComponentRecord(kind="optimizer", name=spec, target=spec, distribution=None, version=None,
                                 source="import", provider=spec.partition(":")[0])
        return Container._load_import_path(record, key)
    names = sorted(
        n for n, v in vars(torch.optim).items()
        if isinstance(v, type) and issubclass(v, torch.optim.Optimizer) and v is not torch.optim.Optimizer
    )
    if spec not in names:
        hint = did_you_mean(spec, names, cutoff=0.5)
        hint = f" {hint}" if hint else ""
        raise ConfigError(
            f"`{key}`: `{spec}` is not an optimizer in `torch.optim`.{hint} "
            f"Known: {', '.join(names)}; or give `\"module:attr\"` for another optimizer class."
        )
    return getattr(torch.optim, spec)
