"""``MODULE_WRAPPERS`` and ``is_module_wrapper`` (mmcv 1.x)."""

from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["MODULE_WRAPPERS", "is_module_wrapper"]


class _ModuleWrappers:
    """The classes that wrap a model in ``.module`` (mmcv's ``MODULE_WRAPPERS`` registry).

    Example:
        >>> @MODULE_WRAPPERS.register_module()
        ... class MyWrapper(nn.Module):
        ...     def __init__(self, module):
        ...         super().__init__()
        ...         self.module = module
        >>> is_module_wrapper(MyWrapper(nn.Linear(1, 1)))
        True
    """

    def __init__(self) -> None:
        self._module_dict: dict[str, type] = {}

    @property
    def name(self) -> str:
        return "module wrapper"

    @property
    def module_dict(self) -> dict[str, type]:
        return dict(self._module_dict)

    def get(self, key: str) -> type | None:
        return self._module_dict.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._module_dict

    def __len__(self) -> int:
        return len(self._module_dict)

    def register_module(self, name: str | None = None, force: bool = False, module: type | None = None) -> Any:
        """Register a wrapper class (decorator, or ``module=Cls``)."""

        def add(cls: type) -> type:
            if not isinstance(cls, type):
                raise TypeError(f"module must be a class, but got {type(cls)}")
            key = name or cls.__name__
            if key in self._module_dict and not force:
                raise KeyError(f"{key} is already registered in module wrapper")
            self._module_dict[key] = cls
            return cls

        return add(module) if module is not None else add


MODULE_WRAPPERS = _ModuleWrappers()
MODULE_WRAPPERS.register_module(module=nn.DataParallel)
MODULE_WRAPPERS.register_module(module=nn.parallel.DistributedDataParallel)


def is_module_wrapper(module: Any) -> bool:
    """Whether ``module`` is an instance of a registered wrapper class (or of a subclass)."""
    return isinstance(module, tuple(MODULE_WRAPPERS.module_dict.values()))
