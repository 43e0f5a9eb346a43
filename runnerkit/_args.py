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
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)

from runnerkit._arg_errors import validate_args
from runnerkit._arg_types import docstring_args
from runnerkit._arg_types import field_type as _field_type
from runnerkit._arg_types import hints as _hints
from runnerkit._arg_types import type_name as _type_name

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
    runtime = {"optimizer": ("params",), "optimizer_constructor": ("optimizer_cfg",)}.get(kind or "", ())
    return derive_model(obj, name=f"{getattr(obj, '__name__', 'component')}Args", context=context, runtime=runtime)


def runtime_fields(model: type[BaseModel]) -> set[str]:
    """The fields of ``model`` that only exist at run time (a config never gives them)."""
    props = model.model_json_schema().get("properties", {})
    return {n for n, p in props.items() if isinstance(p, dict) and p.get("x-runtime-only")}


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
