"""mmcv's small type and import helpers (``is_list_of``, ``is_str``, ``import_modules_from_strings``, ...)."""

from __future__ import annotations

import functools
import importlib
import shutil
import warnings
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

__all__ = [
    "check_prerequisites", "concat_list", "deprecated_api_warning", "has_method", "import_modules_from_strings",
    "is_list_of", "is_method_overridden", "is_seq_of", "is_str", "is_tuple_of", "iter_cast", "list_cast",
    "requires_executable", "requires_package", "slice_list", "to_1tuple", "to_2tuple", "to_3tuple", "to_4tuple",
    "to_ntuple", "tuple_cast",
]


def is_str(x: Any) -> bool:
    """Whether ``x`` is a str."""
    return isinstance(x, str)


def import_modules_from_strings(imports: str | list[str] | None, allow_failed_imports: bool = False) -> Any:
    """Import the modules named in ``imports`` (a config's ``custom_imports``) and return them.

    A failed import raises, or with ``allow_failed_imports`` warns and gives None for it.
    """
    if not imports:
        return None
    single = isinstance(imports, str)
    names = [imports] if isinstance(imports, str) else imports
    if not isinstance(names, list):
        raise TypeError(f"custom_imports must be a list but got type {type(imports)}")
    modules: list[Any] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{name} is of type {type(name)} and cannot be imported.")
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            if not allow_failed_imports:
                raise
            warnings.warn(f"{name} failed to import and is ignored.", UserWarning, stacklevel=2)
            modules.append(None)
    return modules[0] if single else modules


def iter_cast(inputs: Iterable[Any], dst_type: type, return_type: type | None = None) -> Any:
    """Each item of ``inputs`` cast to ``dst_type`` (an iterator, or ``return_type`` of them)."""
    if not isinstance(inputs, Iterable):
        raise TypeError("inputs must be an iterable object")
    if not isinstance(dst_type, type):
        raise TypeError('"dst_type" must be a valid type')
    out = map(dst_type, inputs)  # type: ignore[call-overload]
    return out if return_type is None else return_type(out)


def list_cast(inputs: Iterable[Any], dst_type: type) -> list[Any]:
    return iter_cast(inputs, dst_type, return_type=list)  # type: ignore[no-any-return]


def tuple_cast(inputs: Iterable[Any], dst_type: type) -> tuple[Any, ...]:
    return iter_cast(inputs, dst_type, return_type=tuple)  # type: ignore[no-any-return]


def is_seq_of(seq: Any, expected_type: type | tuple[type, ...], seq_type: type | None = None) -> bool:
    """Whether ``seq`` is a sequence (of ``seq_type``) whose items are all ``expected_type``."""
    if not isinstance(seq, Sequence if seq_type is None else seq_type):
        return False
    return all(isinstance(item, expected_type) for item in iter(seq))  # type: ignore[call-overload]


def is_list_of(seq: Any, expected_type: type | tuple[type, ...]) -> bool:
    return is_seq_of(seq, expected_type, seq_type=list)


def is_tuple_of(seq: Any, expected_type: type | tuple[type, ...]) -> bool:
    return is_seq_of(seq, expected_type, seq_type=tuple)


def slice_list(in_list: list[Any], lens: int | list[int]) -> list[list[Any]]:
    """``in_list`` cut into consecutive slices of the given lengths (which must add up to its length)."""
    if isinstance(lens, int):
        if len(in_list) % lens != 0:
            raise ValueError(f"the length {len(in_list)} of the list is not a multiple of {lens}")
        lens = [lens] * (len(in_list) // lens)
    if not isinstance(lens, list):
        raise TypeError('"indices" must be an integer or a list of integers')
    if sum(lens) != len(in_list):
        raise ValueError(f"sum of lens and list length does not match: {sum(lens)} != {len(in_list)}")
    out, idx = [], 0
    for n in lens:
        out.append(in_list[idx:idx + n])
        idx += n
    return out


def concat_list(in_list: Iterable[Iterable[Any]]) -> list[Any]:
    """The lists in ``in_list`` joined into one."""
    return list(chain(*in_list))


def check_prerequisites(prerequisites: str | list[str], checker: Callable[[str], bool],
                        msg_tmpl: str = 'Prerequisites "{}" are required in method "{}" but not found, '
                                        "please install them first.") -> Callable[..., Any]:
    """Decorator: the function raises ``RuntimeError`` when a prerequisite is missing (by ``checker``)."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            needed = [prerequisites] if isinstance(prerequisites, str) else prerequisites
            missing = [item for item in needed if not checker(item)]
            if missing:
                print(msg_tmpl.format(", ".join(missing), func.__name__))
                raise RuntimeError("Prerequisites not meet.")
            return func(*args, **kwargs)

        return wrapped

    return wrap


def _package_ok(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def requires_package(prerequisites: str | list[str]) -> Callable[..., Any]:
    """Decorator: the function needs these importable packages."""
    return check_prerequisites(prerequisites, checker=_package_ok)


def requires_executable(prerequisites: str | list[str]) -> Callable[..., Any]:
    """Decorator: the function needs these executables on ``PATH``."""
    return check_prerequisites(prerequisites, checker=lambda cmd: shutil.which(cmd) is not None)


def deprecated_api_warning(name_dict: dict[str, str], cls_name: str | None = None) -> Callable[..., Any]:
    """Decorator: keyword arguments renamed in ``name_dict`` (old -> new) still work, with a ``DeprecationWarning``."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            name = f"{cls_name}.{func.__name__}" if cls_name else func.__name__
            for old, new in name_dict.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f'The "{old}" and "{new}" arguments of {name} cannot both be given; '
                                        f'"{old}" is deprecated, use "{new}".')
                    warnings.warn(f'"{old}" is deprecated in `{name}`, please use "{new}" instead',
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapped

    return wrap


def is_method_overridden(method: str, base_class: type, derived_class: type | Any) -> bool:
    """Whether ``derived_class`` (or an instance's class) overrides ``base_class.method``."""
    if not isinstance(base_class, type):
        raise TypeError("base_class doesn't accept instance, Please pass class instead.")
    if not isinstance(derived_class, type):
        derived_class = type(derived_class)
    return getattr(derived_class, method) is not getattr(base_class, method)


def has_method(obj: object, method: str) -> bool:
    """Whether ``obj`` has a callable attribute ``method``."""
    return hasattr(obj, method) and callable(getattr(obj, method))


def to_ntuple(n: int) -> Callable[[Any], tuple[Any, ...]]:
    """A function that returns an iterable (not a str) as a tuple and repeats anything else ``n`` times."""

    def parse(x: Any) -> tuple[Any, ...]:
        if isinstance(x, Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple([x] * n)

    return parse


to_1tuple = to_ntuple(1)
to_2tuple = to_ntuple(2)
to_3tuple = to_ntuple(3)
to_4tuple = to_ntuple(4)
