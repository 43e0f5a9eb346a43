"""Checking arguments against their model, and errors that name each bad one once.

Unknown arguments and keys come with the closest accepted names; the alternatives of a union
are said in one line (``Input should be a valid integer or 'never'``), not one error per member.
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from runnerkit._suggest import MAX_HINTS, closest, suggestion

__all__ = ["plain_errors", "unknown_argument_error", "validate_args"]


def unknown_argument_error(model: type[BaseModel], key: str, owner: str, value: Any = None,
                           suggest: bool = True) -> InitErrorDetails:
    """The error for an argument ``owner`` does not take, with the closest accepted names (``suggest``)."""
    accepted = list(model.model_fields)
    hint = suggestion(closest(key, accepted)) if suggest else ""
    return InitErrorDetails(
        type=PydanticCustomError(
            "unknown_argument",
            "unknown argument `{key}` for `{owner}`. {hint}It takes: {accepted}",
            {"key": key, "owner": owner, "hint": f"{hint} " if hint else "", "accepted": ", ".join(accepted) or "nothing"},
        ),
        loc=(key,),
        input=value,
    )


def validate_args(model: type[BaseModel], args: Mapping[str, Any], owner: str, *, supplied: Collection[str] = ()) -> None:
    """Check ``args`` against ``model``; unknown arguments are named with the closest accepted ones.

    Args:
        model: the argument model.
        args: the arguments.
        owner: the component's name, for messages.
        supplied: arguments code supplies later (a hook's ``dataloader``): not missing when absent.

    Raises:
        pydantic.ValidationError: every bad argument at once.
    """
    try:
        model.model_validate(dict(args))
    except ValidationError as exc:
        errors = plain_errors(model, exc, owner, supplied)
        if errors:
            raise ValidationError.from_exception_data(owner, errors) from None


def plain_errors(model: type[BaseModel], exc: ValidationError, owner: str,
                 supplied: Collection[str] = ()) -> list[InitErrorDetails]:
    """``exc``'s errors, one per argument: unknown ones with the closest names, a union's alternatives in one line.

    ``missing`` errors of the ``supplied`` arguments are left out.
    """
    merged: dict[tuple[Any, ...], tuple[str, list[str], Any]] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc and loc[0] in supplied:
            continue
        if err["type"] == "extra_forbidden":
            merged[loc] = ("extra_forbidden", [], err.get("input"))
            continue
        # a union's members add their tags to the location (`interval.literal[-1]`); keep the field's
        top = tuple(part for part in loc if not _is_union_tag(part))
        message = str(err["msg"]).removeprefix("Value error, ")
        kind, messages, value = merged.setdefault(top, (err["type"], [], err.get("input")))
        if message not in messages:
            messages.append(message)
    errors: list[InitErrorDetails] = []
    unknown = 0
    for loc, (kind, messages, value) in merged.items():
        if kind == "extra_forbidden":
            unknown += 1
            if len(loc) == 1:
                errors.append(unknown_argument_error(model, str(loc[0]), owner, value, suggest=unknown <= MAX_HINTS))
                continue
            inner = _owner(model, loc[:-1])
            accepted = list(inner.model_fields) if inner is not None else []
            hint = suggestion(closest(str(loc[-1]), accepted)) if unknown <= MAX_HINTS else ""
            text = f"unknown key `{loc[-1]}`. {hint + ' ' if hint else ''}Accepted keys: {', '.join(accepted)}"
            errors.append(InitErrorDetails(type=PydanticCustomError("unknown_key", "{message}", {"message": text}),
                                           loc=loc, input=value))
            continue
        text = messages[0]
        if len(messages) > 1:
            text = "Input should be " + " or ".join(m.removeprefix("Input should be ") for m in messages)
        if "got " not in text and not isinstance(value, (Mapping, list, BaseModel)):
            text += f" (got `{value!r:.60}`)"
        errors.append(InitErrorDetails(type=PydanticCustomError(kind, "{message}", {"message": text}), loc=loc, input=value))
    return errors


def _owner(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The nested model that holds the value at ``loc`` inside ``model`` (for unknown-key hints)."""
    current: Any = model
    keyed = False  # the previous part was a `dict[str, Model]` field: this part is a key of it
    for part in loc:
        if keyed:
            keyed = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        members = [annotation, *typing.get_args(annotation)]
        keyed = any(typing.get_origin(a) is dict for a in members)
        members += [v for a in members if typing.get_origin(a) is dict for v in typing.get_args(a)[1:]]
        inner = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
        current = inner[0] if inner else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


_TAGS = {"str", "int", "float", "bool", "bytes", "list", "dict", "tuple", "set", "none", "callable", "any"}


def _is_union_tag(part: Any) -> bool:
    """Whether a location part names a union member (``constrained-int``, ``literal['a']``), not a key."""
    return isinstance(part, str) and ("[" in part or "-" in part or part in _TAGS)
