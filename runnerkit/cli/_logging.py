"""Logging set-up of the command line: the ``runnerkit`` logger to stdout, and the run's log file."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["job_logging", "log_file"]


@contextlib.contextmanager
def job_logging(logger: logging.Logger | None = None, stream: Any = None, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send ``logger`` (default ``runnerkit``) records of ``level`` and above to ``stream`` (default stdout) inside the block."""
    logger = logger or logging.getLogger("runnerkit")
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


@contextlib.contextmanager
def log_file(logger: logging.Logger, path: str) -> Iterator[None]:
    """Also write ``logger``'s records to ``path`` inside the block (mmcv's ``<timestamp>.log``)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
