"""A config's values as ``.py`` source (``Config.pretty_text``): mmcv's ``dict(...)`` style, no yapf needed."""

from __future__ import annotations

import keyword
from typing import Any

__all__ = ["format_config"]

WIDTH = 100
INDENT = "    "


def format_config(cfg: dict[str, Any]) -> str:
    """``key = value`` lines that, executed, give back ``cfg`` (strings, numbers, containers, None, bools)."""
    return "".join(f"{key} = {_format(value, 0, len(key) + 3)}\n" for key, value in cfg.items())


def _format(value: Any, level: int, used: int) -> str:
    flat = _flat(value)
    if used + len(flat) <= WIDTH or not isinstance(value, (dict, list, tuple)) or not value:
        return flat
    inner = INDENT * (level + 1)
    if isinstance(value, dict):
        if _keywords_ok(value):
            items = [f"{inner}{k}={_format(v, level + 1, len(inner) + len(k) + 1)}" for k, v in value.items()]
            return "dict(\n" + ",\n".join(items) + ")"
        items = [f"{inner}{k!r}: {_format(v, level + 1, len(inner) + len(repr(k)) + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "}"
    items = [f"{inner}{_format(v, level + 1, len(inner))}" for v in value]
    if isinstance(value, tuple):
        return "(\n" + ",\n".join(items) + ",)"
    return "[\n" + ",\n".join(items) + "]"


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        if _keywords_ok(value):
            return "dict(" + ", ".join(f"{k}={_flat(v)}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{k!r}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return "(" + ", ".join(_flat(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    return repr(value)


def _keywords_ok(value: dict[Any, Any]) -> bool:
    """Whether every key can be a keyword argument (``dict(a=1)``), else ``{'a-b': 1}`` is written."""
    return all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in value)
