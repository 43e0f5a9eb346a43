"""Annotations as pydantic field types, and argument descriptions from docstrings.

How :mod:`runnerkit._args` turns one ``__init__`` parameter into a model field: the annotation
becomes a strictly checked type with the JSON Schema a config editor sees (``x-runtime-only`` for
objects a config cannot give, such as a data loader), and the ``Args:`` section of the docstring
gives its description.
"""

from __future__ import annotations

import inspect
import re
import sys
import types
import typing
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BeforeValidator, ConfigDict, TypeAdapter, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = ["STRICT", "docstring_args", "field_type", "hints", "type_name"]

#: how every argument model checks values: a config's ``'3'`` is not an int.
STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)


def _lists_as_tuples(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _mentions_tuple(annotation: Any) -> bool:
    if annotation is tuple or typing.get_origin(annotation) is tuple:
        return True
    return any(_mentions_tuple(a) for a in typing.get_args(annotation) if not isinstance(a, (str, int, float)))


def _json_schema(annotation: Any) -> dict[str, Any] | None:
    """``annotation``'s JSON Schema without references, or None when it has no JSON form."""
    if typing.get_origin(annotation) in (Iterable, Iterator) or annotation in (Iterable, Iterator):
        return None  # a data loader, a generator: objects, not config values
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [_json_schema(a) for a in typing.get_args(annotation)]
        usable = [m for m in members if m is not None]
        if not usable:
            return None
        schema = usable[0] if len(usable) == 1 else {"anyOf": usable}
        if len(usable) < len(members):  # a config can give only some of the types code can
            schema = {**schema, "x-python-type": type_name(annotation)}
        return schema
    try:
        schema = TypeAdapter(annotation, config=STRICT).json_schema()
    except Exception:
        return None
    text = repr(schema)
    if "$ref" in text or "$defs" in text:
        return None
    return schema


_DUCK_TYPES = (typing.IO, typing.TextIO, typing.BinaryIO)


def type_name(annotation: Any) -> str:
    """``annotation`` as a reader writes it: ``Callable[[Module], Sequence[Any]] | None``."""
    text = annotation.__qualname__ if isinstance(annotation, type) else str(annotation)
    return re.sub(r"\b(?:[a-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", text)


def _can_iterate(value: Any) -> Any:
    if not hasattr(value, "__iter__"):
        raise PydanticCustomError("iterable_type", "Input should be iterable")  # pydantic's own wording
    return value


def _can_iterate_or_none(value: Any) -> Any:
    return value if value is None else _can_iterate(value)


def _is_iterable_type(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Iterable, Iterator) or annotation in (Iterable, Iterator)


def field_type(annotation: Any) -> Any:
    """``annotation`` as a pydantic field type with the JSON Schema that describes it."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return Any
    members = typing.get_args(annotation) if typing.get_origin(annotation) in (Union, types.UnionType) else ()
    if any(_is_iterable_type(a) for a in (annotation, *members)):
        # pydantic checks an Iterable by calling iter() on it: that would start a DataLoader's pass
        # (drawing from the RNG, starting workers) just to validate. Check the protocol only.
        optional = type(None) in members
        return Annotated[Any, AfterValidator(_can_iterate_or_none if optional else _can_iterate),
                         WithJsonSchema({"x-runtime-only": True, "x-python-type": type_name(annotation)})]
    if any(a in _DUCK_TYPES for a in (annotation, *typing.get_args(annotation))):
        # typing's IO classes are not real base classes of files: nothing to check, a run-time object
        return Annotated[Any, WithJsonSchema({"x-runtime-only": True, "x-python-type": type_name(annotation)})]
    try:
        TypeAdapter(annotation, config=STRICT)
    except Exception:
        return Annotated[Any, WithJsonSchema({"x-python-type": type_name(annotation)})]
    schema = _json_schema(annotation)
    if schema is None:
        schema = {"x-runtime-only": True, "x-python-type": type_name(annotation)}
    field_type: Any = Annotated[annotation, WithJsonSchema(schema)]
    if _mentions_tuple(annotation):
        field_type = Annotated[field_type, BeforeValidator(_lists_as_tuples)]
    return field_type


def hints(func: Any) -> dict[str, Any]:
    """``func``'s annotations, each evaluated on its own (one unresolvable name spoils only its own)."""
    raw = getattr(func, "__annotations__", None) or {}
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    namespace = dict(vars(module)) if module is not None else {}
    found: dict[str, Any] = {}
    for name, annotation in raw.items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)
            except Exception:
                annotation = inspect.Parameter.empty
        found[name] = annotation
    return found


_ARG_LINE = re.compile(r"^(\s*)(\*{0,2}[A-Za-z_][\w, *]*?)(?:\s*\([^)]*\))?:\s*(.*)$")


def docstring_args(obj: Any) -> dict[str, str]:
    """``name -> description`` from the ``Args:`` sections of ``obj``'s and its ``__init__``'s docstrings."""
    found: dict[str, str] = {}
    for doc in (inspect.getdoc(getattr(obj, "__init__", None)), inspect.getdoc(obj)):
        if not doc or "Args:" not in doc:
            continue
        lines = doc.split("Args:", 1)[1].splitlines()[1:]
        indent: int | None = None
        names: list[str] = []
        for line in lines:
            if not line.strip():
                continue
            width = len(line) - len(line.lstrip())
            if indent is None:
                indent = width
            if width < indent:
                break
            match = _ARG_LINE.match(line)
            if width == indent and match:
                names = [n.strip().lstrip("*") for n in match.group(2).split(",")]
                for name in names:
                    found.setdefault(name, match.group(3).strip())
            elif names:
                for name in names:
                    found[name] = (found[name] + " " + line.strip()).strip()
    return found
