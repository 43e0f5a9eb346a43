"""``runnerkit.args_model(kind, name)`` and ``runnerkit.args_schema(name)``: any component's arguments.

Both take a component of any kind: runner, constructor, hook, model, dataset, or optimizer (a
``torch.optim`` name, ``"module:attr"`` or a class). The model is the one :mod:`runnerkit._args`
gives (declared by a runner, derived from ``__init__`` otherwise), so building, ``validate``,
``show``, ``schema`` and the reference docs all use the same rules.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runnerkit._args import model_of
from runnerkit._build import current_container
from runnerkit._container import Container, resolve

__all__ = ["args_model", "args_schema", "component"]


def component(kind: str, name: Any, container: Container | None = None) -> Any:
    """The component object ``name`` names among ``kind`` (``optimizer``: a ``torch.optim`` class)."""
    return resolve(kind, name, f"{kind}.type", container or current_container())


def args_model(kind: str, name: Any, *, container: Container | None = None) -> type[BaseModel]:
    """The pydantic model of the arguments of component ``name`` of ``kind``.

    Args:
        kind: ``"runner"``, ``"constructor"``, ``"hook"``, ``"model"``, ``"dataset"`` or ``"optimizer"``.
        name: a name (bare or ``"distribution:Name"``), ``"module:attr"`` or the class itself.
        container: the component container (default: the current one).

    Example:
        >>> model = runnerkit.args_model("hook", "CheckpointHook")
        >>> model.model_validate({"interval": "often"})  # doctest: +SKIP
        pydantic_core._pydantic_core.ValidationError: 1 validation error for CheckpointHookArgs ...
    """
    return model_of(component(kind, name, container), kind)


def args_schema(name: Any, kind: str = "runner") -> dict[str, Any]:
    """The JSON Schema of the arguments of component ``name`` (a runner unless ``kind`` says otherwise).

    Objects that only exist at run time (model, optimizer, logger, ...) carry
    ``"x-runtime-only": true``.

    Example:
        >>> schema = runnerkit.args_schema("IterBasedRunner")
        >>> sorted(schema["properties"])[:3]
        ['batch_processor', 'logger', 'max_epochs']
    """
    obj = component(kind, name)
    schema: dict[str, Any] = model_of(obj, kind).model_json_schema()
    schema.setdefault("title", f"{getattr(obj, '__name__', name)} arguments")
    return schema
