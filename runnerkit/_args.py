"""One pydantic model of the arguments of every component: runner, constructor, hook, model, dataset, optimizer.

A runner declares its model (``args_model``, see :mod:`runnerkit.runners.args`); every other
component gets one derived from its ``__init__`` signature: each named parameter becomes a field
typed by its annotation (``Any`` where there is none), required when it has no default, described
by the class docstring's ``Args:`` section. ``**kwargs`` that a class passes on to ``super().__init__``
bring the parameters of the next ``__init__`` in the MRO; a class whose ``**kwargs`` go elsewhere
says where with a :class:`Forwards` in ``forwards_kwargs``. Values are checked strictly (a config's
``'3'`` is not an int), except that a list is accepted where a tuple is annotated (JSON and YAML have
no tuples). Types that have no JSON form (a data loader, a callable) are run-time-only: the schema
marks them ``"x-runtime-only": true`` and never requires them.

The same model serves building, ``validate``, ``run``, ``runnerkit show``, ``runnerkit schema`` and the
generated reference.

Example:
    >>> from runnerkit._args import derive_model
    >>> class Scale:
    ...     def __init__(self, factor: float, bias: float = 0.0) -> None: ...
    >>> sorted(derive_model(Scale).model_fields)
    ['bias', 'factor']
"""

from __future__ import annotations

import dataclasses
import dis
import functools
import importlib
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Annotated, Any, TypeVar, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from runnerkit._suggest import closest, suggestion

__all__ = [
    "Forwards",
    "Fraction",
    "PositiveIntOrNever",
    "checked",
    "derive_model",
    "model_of",
    "runtime_fields",
    "validate_args",
]

_STRICT = ConfigDict(strict=True, arbitrary_types_allowed=True)
F = TypeVar("F", bound=Callable[..., Any])

#: A positive int, or -1 for "never" / "all" (``CheckpointHook(interval=-1)``, ``max_keep_ckpts=-1``).
def _positive_or_minus_one(value: int) -> int:
    if value == 0 or value < -1:
        raise ValueError(f"expected a positive int or -1, got {value}")
    return value


PositiveIntOrNever = Annotated[int, AfterValidator(_positive_or_minus_one), WithJsonSchema(
    {"anyOf": [{"const": -1}, {"type": "integer", "exclusiveMinimum": 0}]})]
#: A number strictly between 0 and 1.
Fraction = Annotated[float, Field(gt=0, lt=1)]


@dataclasses.dataclass(frozen=True)
class Forwards:
    """Where a component's ``**kwargs`` go: the keyword arguments of ``target`` less ``exclude``.

    Attributes:
        target: ``"module:Qual.name"`` of a function (``"runnerkit.runners.base:BaseRunner.save_checkpoint"``),
            or ``"dataset.evaluate"``: the ``evaluate`` method of the dataset it is given, which only a
            whole-config check knows.
        exclude: parameters of ``target`` the component fills in itself.
    """

    target: str
    exclude: tuple[str, ...] = ()


# -- annotations to field types --------------------------------------------------------------------


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
            schema = {**schema, "x-python-type": _type_name(annotation)}
        return schema
    try:
        schema = TypeAdapter(annotation, config=_STRICT).json_schema()
    except Exception:
        return None
    text = repr(schema)
    if "$ref" in text or "$defs" in text:
        return None
    return schema


_DUCK_TYPES = (typing.IO, typing.TextIO, typing.BinaryIO)


def _type_name(annotation: Any) -> str:
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


def _field_type(annotation: Any) -> Any:
    """``annotation`` as a pydantic field type with the JSON Schema that describes it."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return Any
    members = typing.get_args(annotation) if typing.get_origin(annotation) in (Union, types.UnionType) else ()
    if any(_is_iterable_type(a) for a in (annotation, *members)):
        # pydantic checks an Iterable by calling iter() on it: that would start a DataLoader's pass
        # (drawing from the RNG, starting workers) just to validate. Check the protocol only.
        optional = type(None) in members
        return Annotated[Any, AfterValidator(_can_iterate_or_none if optional else _can_iterate),
                         WithJsonSchema({"x-runtime-only": True, "x-python-type": _type_name(annotation)})]
    if any(a in _DUCK_TYPES for a in (annotation, *typing.get_args(annotation))):
        # typing's IO classes are not real base classes of files: nothing to check, a run-time object
        return Annotated[Any, WithJsonSchema({"x-runtime-only": True, "x-python-type": _type_name(annotation)})]
    try:
        TypeAdapter(annotation, config=_STRICT)
    except Exception:
        return Annotated[Any, WithJsonSchema({"x-python-type": _type_name(annotation)})]
    schema = _json_schema(annotation)
    if schema is None:
        schema = {"x-runtime-only": True, "x-python-type": _type_name(annotation)}
    field_type: Any = Annotated[annotation, WithJsonSchema(schema)]
    if _mentions_tuple(annotation):
        field_type = Annotated[field_type, BeforeValidator(_lists_as_tuples)]
    return field_type


def _hints(func: Any) -> dict[str, Any]:
    """``func``'s annotations, each evaluated on its own (one unresolvable name spoils only its own)."""
    raw = getattr(func, "__annotations__", None) or {}
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    namespace = dict(vars(module)) if module is not None else {}
    hints: dict[str, Any] = {}
    for name, annotation in raw.items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)
            except Exception:
                annotation = inspect.Parameter.empty
        hints[name] = annotation
    return hints


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


# -- deriving models ---------------------------------------------------------------------------------


def _resolve(target: str) -> Any:
    module, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _parameters(obj: Any, context: Mapping[str, Any]) -> tuple[list[tuple[inspect.Parameter, Any, Any]], bool]:
    """``(parameter, annotation, owner)`` for every argument ``obj`` takes, and whether it takes any other keyword."""
    chain: list[tuple[Any, Any]] = []  # (function, owner)
    if isinstance(obj, type):
        for klass in obj.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            if klass is object:
                break
            chain.append((init, klass))
            if not (_takes_var_keyword(init) and _calls_super(init)) or klass.__dict__.get("forwards_kwargs") is not None:
                break
    else:
        chain.append((obj, obj))
    params: dict[str, tuple[inspect.Parameter, Any, Any]] = {}
    open_ended = False
    for n, (func, owner) in enumerate(chain):
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError):  # no signature (a builtin): anything goes
            return list(params.values()), True
        hints = _hints(func)
        items = list(signature.parameters.values())
        if items and (isinstance(obj, type) or items[0].name == "self") and items[0].kind is not items[0].VAR_KEYWORD:
            items = items[1:]  # self
        for p in items:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in params:
                params[p.name] = (p, hints.get(p.name, inspect.Parameter.empty), owner)
        last = n == len(chain) - 1
        if last and _takes_var_keyword(func):
            forwards = getattr(owner, "forwards_kwargs", None) if isinstance(owner, type) else None
            if isinstance(forwards, Forwards):
                extra, open_ended = _forwarded(forwards, context)
                for p, hint, where in extra:
                    params.setdefault(p.name, (p, hint, where))
            elif isinstance(obj, type) and _calls_super(func) and _reads_var_keyword(func):
                open_ended = not _ends_in_object(obj, owner)  # closed when only `object.__init__` is left
            else:  # kept, or passed somewhere we cannot see: any keyword goes
                open_ended = True
    return list(params.values()), open_ended


def _takes_var_keyword(func: Any) -> bool:
    try:
        return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return True


def _reads_var_keyword(func: Any) -> bool:
    """Whether ``func`` reads its ``**kwargs`` at all; one that never does accepts and drops any keyword (mmcv's
    ``def __init__(self, info, *args, **kwargs): super().__init__()``)."""
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    name = next((p.name for p in inspect.signature(func).parameters.values() if p.kind is p.VAR_KEYWORD), None)
    if code is None or name is None or name in code.co_cellvars:
        return True
    for ins in dis.get_instructions(code):
        if ins.opname.startswith("LOAD_") and (ins.argval == name or (isinstance(ins.argval, tuple) and name in ins.argval)):
            return True
    return False


def _calls_super(func: Any) -> bool:
    """Whether ``func`` calls ``super()`` (so that its ``**kwargs`` may go to the next ``__init__``)."""
    code = getattr(inspect.unwrap(func), "__code__", None)
    return code is None or "__class__" in code.co_freevars or "super" in code.co_names


def _ends_in_object(cls: type, owner: Any) -> bool:
    """Whether ``owner``'s ``**kwargs`` reach only ``object.__init__`` (or an ``__init__`` that takes nothing named)."""
    mro = cls.__mro__
    rest = mro[mro.index(owner) + 1:] if owner in mro else ()
    for klass in rest:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is object:
            return True
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return False
        named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if len(named) > 1:  # more than `self`
            return False
    return True


def _forwarded(forwards: Forwards, context: Mapping[str, Any]) -> tuple[list[tuple[inspect.Parameter, Any, Any]], bool]:
    if forwards.target == "dataset.evaluate":
        dataset = context.get("dataset")
        target = getattr(dataset, "evaluate", None) if dataset is not None else None
        if dataset is None:
            return [], True  # not known here: the whole-config check knows the dataset
        if target is None:
            return [], False
    else:
        try:
            target = _resolve(forwards.target)
        except (ImportError, AttributeError):
            return [], True
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return [], True
    hints = _hints(target)
    skip = {"self", *forwards.exclude}
    params = [
        (p, hints.get(p.name, inspect.Parameter.empty), target)
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in skip
    ]
    return params, any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())


_cache: dict[tuple[Any, ...], type[BaseModel]] = {}


def derive_model(obj: Any, *, name: str | None = None, context: Mapping[str, Any] | None = None,
                 runtime: tuple[str, ...] = ()) -> type[BaseModel]:
    """The pydantic model of the arguments ``obj`` (a class or a function) takes.

    Args:
        obj: the component.
        name: the model's name (default ``<obj name>Args``).
        context: what the component's ``**kwargs`` may depend on (``{"dataset": cls}``).
        runtime: parameters supplied by code, never by a config (an optimizer's ``params``).
    """
    context = context or {}
    key = (obj, name, tuple(sorted((k, id(v)) for k, v in context.items())), runtime)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    params, open_ended = _parameters(obj, context)
    docs: dict[Any, dict[str, str]] = {}
    fields: dict[str, Any] = {}
    for param, annotation, owner in params:
        described = docs.setdefault(owner, docstring_args(owner))
        if param.name not in described and isinstance(obj, type):  # a subclass repeating its parent's arguments
            described = next((d for d in map(docstring_args, obj.__mro__) if param.name in d), described)
        field_type = _field_type(annotation)
        if param.name in runtime:
            field_type = Annotated[Any, WithJsonSchema({"x-runtime-only": True, "x-python-type": _type_name(annotation)})]
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (field_type, Field(default, description=described.get(param.name) or None))
    title = name or f"{getattr(obj, '__name__', 'component')}Args"
    config = ConfigDict(strict=True, arbitrary_types_allowed=True, extra="allow" if open_ended else "forbid",
                        title=title, protected_namespaces=())
    model: type[BaseModel] = create_model(title, __config__=config, __doc__=f"Arguments of `{getattr(obj, '__qualname__', obj)}`.",
                         **fields)
    _cache[key] = model
    return model


def model_of(obj: Any, kind: str | None = None, context: Mapping[str, Any] | None = None) -> type[BaseModel]:
    """The argument model of component ``obj``: its declared ``args_model``, else one derived from ``__init__``."""
    declared = getattr(obj, "args_model", None)
    if isinstance(declared, type) and issubclass(declared, BaseModel):
        return declared
    runtime = ("params",) if kind == "optimizer" else ()
    return derive_model(obj, name=f"{getattr(obj, '__name__', 'component')}Args", context=context, runtime=runtime)


def runtime_fields(model: type[BaseModel]) -> set[str]:
    """The fields of ``model`` that only exist at run time (a config never gives them)."""
    props = model.model_json_schema().get("properties", {})
    return {n for n, p in props.items() if isinstance(p, dict) and p.get("x-runtime-only")}


# -- validating -------------------------------------------------------------------------------------------


def unknown_argument_error(model: type[BaseModel], key: str, owner: str, value: Any = None) -> InitErrorDetails:
    """The error for an argument ``owner`` does not take, with the closest accepted names."""
    accepted = list(model.model_fields)
    hint = suggestion(closest(key, accepted))
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
    for loc, (kind, messages, value) in merged.items():
        if kind == "extra_forbidden":
            if len(loc) == 1:
                errors.append(unknown_argument_error(model, str(loc[0]), owner, value))
                continue
            inner = _owner(model, loc[:-1])
            accepted = list(inner.model_fields) if inner is not None else []
            hint = suggestion(closest(str(loc[-1]), accepted))
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
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        inner = [a for a in (annotation, *typing.get_args(annotation)) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = inner[0] if inner else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


_TAGS = {"str", "int", "float", "bool", "bytes", "list", "dict", "tuple", "set", "none", "callable", "any"}


def _is_union_tag(part: Any) -> bool:
    """Whether a location part names a union member (``constrained-int``, ``literal['a']``), not a key."""
    return isinstance(part, str) and ("[" in part or "-" in part or part in _TAGS)


def checked(init: F) -> F:
    """Check an ``__init__``'s arguments against its annotations before it runs.

    The function's own named parameters are checked (``**kwargs`` are left to the ``__init__``
    they go to); the values reach ``init`` unchanged. A wrong value raises
    ``pydantic.ValidationError`` (a ``ValueError``) naming every bad argument.

    Example:
        >>> class Every:
        ...     @checked
        ...     def __init__(self, interval: int = 1) -> None:
        ...         self.interval = interval
        >>> Every(interval="often")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Every
    """
    signature = inspect.signature(init)
    owner = init.__qualname__.rsplit(".", 1)[0]
    model_box: list[type[BaseModel]] = []

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        if not model_box:
            model_box.append(derive_model(init, name=owner))
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            validate_args(model_box[0], kwargs, type(self).__name__)  # names an unknown keyword, with the closest
            raise
        values = {k: v for k, v in bound.arguments.items()
                  if k != "self" and signature.parameters[k].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                                      inspect.Parameter.KEYWORD_ONLY)}
        validate_args(model_box[0], values, type(self).__name__)
        init(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
