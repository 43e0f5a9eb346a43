"""mmcv's ``BaseModule``, ``Sequential``, ``ModuleList`` and ``ModuleDict``: ``nn.Module`` with ``init_cfg``.

``init_weights()`` initializes the module by its ``init_cfg`` (:mod:`runnerkit.compat.mmcv.cnn_init`),
then calls ``init_weights`` of each child, once; the top-level call then logs, for every
parameter, what initialized it — to the file handler(s) of the first logger
:func:`mmcv.utils.get_logger` set up (mmdet's/mmseg's root logger), else printed through that
logger (``mmcv`` when there is none) — as mmcv 1.7.2 does.
"""

from __future__ import annotations

import copy
import warnings
from abc import ABCMeta
from collections import defaultdict
from collections.abc import Iterable, Mapping
from logging import FileHandler
from typing import Any

from torch import nn

from runnerkit.compat.mmcv.runner.dist_utils import master_only
from runnerkit.compat.mmcv.utils import logging as mmcv_logging
from runnerkit.compat.mmcv.utils.logging import get_logger, print_log

__all__ = ["BaseModule", "ModuleDict", "ModuleList", "Sequential"]


class BaseModule(nn.Module, metaclass=ABCMeta):
    """``nn.Module`` whose ``init_weights`` follows ``init_cfg`` (mmcv 1.7.2).

    Args:
        init_cfg: an initializer config (``dict(type="Kaiming", layer="Conv2d")``) or a list of them.

    Example:
        >>> class Head(BaseModule):
        ...     def __init__(self):
        ...         super().__init__(init_cfg=dict(type="Constant", layer="Linear", val=0.5))
        ...         self.fc = nn.Linear(2, 1)
        >>> head = Head(); head.init_weights()  # doctest: +SKIP
    """

    def __init__(self, init_cfg: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self) -> bool:
        return self._is_init

    def init_weights(self) -> None:
        """Initialize by ``init_cfg``, then each child's own ``init_weights``; log what set each parameter."""
        from runnerkit.compat.mmcv.cnn_init import initialize, update_init_info

        top_level = not hasattr(self, "_params_init_info")
        if top_level:
            info: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
            for param in self.parameters():
                info[param]["init_info"] = (f"The value is the same before and after calling `init_weights` "
                                            f"of {type(self).__name__} ")
                info[param]["tmp_mean_value"] = param.data.mean()
            for module in self.modules():
                module._params_init_info = info  # type: ignore[assignment]
        logger_name = next(iter(mmcv_logging.logger_initialized), "mmcv")
        name = type(self).__name__
        if not self._is_init:
            if self.init_cfg:
                print_log(f"initialize {name} with init_cfg {self.init_cfg}", logger=logger_name)
                initialize(self, self.init_cfg)
                if isinstance(self.init_cfg, dict) and self.init_cfg["type"] == "Pretrained":
                    return  # the checkpoint holds the children's weights too
            for child in self.children():
                if hasattr(child, "init_weights"):
                    child.init_weights()  # type: ignore[operator]
                    update_init_info(child, init_info=f"Initialized by user-defined `init_weights` in "
                                                      f"{type(child).__name__} ")
            self._is_init = True
        else:
            warnings.warn(f"init_weights of {name} has been called more than once.", stacklevel=2)
        if top_level:
            self._dump_init_info(logger_name)
            for module in self.modules():
                del module._params_init_info

    @master_only
    def _dump_init_info(self, logger_name: str) -> None:
        """Write each parameter's initialization to the logger's log files, or log it when it has none."""
        logger = get_logger(logger_name)
        info: Any = self.__dict__["_params_init_info"]
        files = [h for h in logger.handlers if isinstance(h, FileHandler)]
        for handler in files:
            stream: Any = handler.stream
            stream.write("Name of parameter - Initialization information\n")
            for pname, param in self.named_parameters():
                stream.write(f"\n{pname} - {param.shape}: \n{info[param]['init_info']} \n")
            stream.flush()
        if not files:
            for pname, param in self.named_parameters():
                print_log(f"\n{pname} - {param.shape}: \n{info[param]['init_info']} \n ", logger=logger_name)

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.init_cfg:
            text += f"\ninit_cfg={self.init_cfg}"
        return text


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` with ``init_cfg``."""

    def __init__(self, *args: nn.Module, init_cfg: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` with ``init_cfg``."""

    def __init__(self, modules: Iterable[nn.Module] | None = None,
                 init_cfg: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` with ``init_cfg``."""

    def __init__(self, modules: Mapping[str, nn.Module] | None = None,
                 init_cfg: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)
