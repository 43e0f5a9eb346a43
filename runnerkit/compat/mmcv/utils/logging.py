"""mmcv's ``get_logger`` and ``print_log``: a named logger with a console and (rank 0) a file handler."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["get_logger", "logger_initialized", "print_log"]

#: names of the loggers :func:`get_logger` has set up (mmcv's module-level dict)
logger_initialized: dict[str, bool] = {}


def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_logger(name: str, log_file: str | Path | None = None, log_level: int = logging.INFO,
               file_mode: str = "w") -> logging.Logger:
    """The logger ``name``, set up once as mmcv does.

    The first call adds a console handler and, on rank 0 with ``log_file``, a file handler
    (``file_mode``), both at ``log_level`` with mmcv's format; other ranks log only errors. A
    logger whose name starts with an initialized one's is returned as it is (its records reach
    the parent's handlers). Console handlers of the root logger are raised to ERROR so that
    messages are not printed twice.

    Example:
        >>> logger = get_logger("mmdet")
        >>> logger.level == logging.INFO
        True
    """
    logger = logging.getLogger(name)
    if name in logger_initialized or any(name.startswith(known) for known in logger_initialized):
        return logger
    for handler in logger.root.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.ERROR)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    rank = _rank()
    if rank == 0 and log_file is not None:
        handlers.append(logging.FileHandler(log_file, file_mode))
    formatter = logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(log_level)
        logger.addHandler(handler)
    logger.setLevel(log_level if rank == 0 else logging.ERROR)
    logger_initialized[name] = True
    return logger


def print_log(msg: Any, logger: logging.Logger | str | None = None, level: int = logging.INFO) -> None:
    """Print ``msg`` (``logger=None``), log it to a logger (or the one :func:`get_logger` gives for a
    name), or drop it (``"silent"``).

    Raises:
        TypeError: ``logger`` is none of these.
    """
    if logger is None:
        print(msg)
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger == "silent":
        return
    elif isinstance(logger, str):
        get_logger(logger).log(level, msg)
    else:
        raise TypeError(
            f'logger should be either a logging.Logger object, str, "silent" or None, but got {type(logger)}'
        )
