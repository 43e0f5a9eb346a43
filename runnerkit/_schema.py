"""``runnerkit.args_schema(name)``: the JSON Schema of a runner's arguments."""

from __future__ import annotations

from typing import Any

from runnerkit._build import current_container


def args_schema(name: Any) -> dict[str, Any]:
    """The JSON Schema of the arguments of runner ``name`` (a name or a runner class).

    Objects that only exist at run time (model, optimizer, logger, ...) carry
    ``"x-runtime-only": true``.

    Example:
        >>> schema = runnerkit.args_schema("IterBasedRunner")
        >>> sorted(schema["properties"])[:3]
        ['batch_processor', 'logger', 'max_epochs']
    """
    runner_cls = current_container().get("runner", name)
    schema: dict[str, Any] = runner_cls.args_model.model_json_schema()
    schema.setdefault("title", f"{runner_cls.__name__} arguments")
    return schema
