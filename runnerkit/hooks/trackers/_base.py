"""``TrackerHook``: the shared shape of the experiment-tracker logger hooks.

Each tracker hook imports its client library only when the run starts (rank 0 only), so a
config that names it can be checked, and the hook built, on a machine without the client.
A missing client is an ``ImportError`` that names the package to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.logger_base import LoggerHook
from runnerkit.requires import requirements

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner


def import_client(module: str, package: str, hook: str) -> ModuleType:
    """Import ``module`` for ``hook``, or raise an ImportError naming ``pip install <package>``.

    Example:
        >>> import_client("json", "json", "AnyHook").__name__
        'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{hook} needs the `{package}` package, which could not be imported ({err}). Install it with "
            f"`pip install {package}`, or remove `{hook}` from `log_config`."
        ) from err


class TrackerHook(LoggerHook):
    """A logger hook that talks to an experiment tracker from rank 0.

    Subclasses name their client in ``requires`` (its first :class:`~runnerkit.requires.Requirement`:
    the module imported at ``before_run`` and the pip package of the install hint), and implement
    :meth:`start` (open the run; the client module is passed in), :meth:`log` and :meth:`finish`.
    On other ranks the hook does nothing.
    """

    def import_client(self) -> ModuleType:
        """The client module (imported now), or an ImportError with the install command."""
        client = requirements(self)[0]
        return import_client(client.module, client.pip, type(self).__name__)

    def before_run(self, runner: BaseRunner) -> None:
        super().before_run(runner)
        if runner.rank == 0:
            self.start(runner, self.import_client())

    def after_run(self, runner: BaseRunner) -> None:
        if runner.rank == 0:
            self.finish(runner)

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        """Open the tracker's run (rank 0, at ``before_run``)."""

    def finish(self, runner: BaseRunner) -> None:
        """Close the tracker's run (rank 0, at ``after_run``)."""

    def log(self, runner: BaseRunner) -> None:
        if runner.rank == 0:
            tags = self.get_loggable_tags(runner)
            if tags:
                self.write(runner, tags)

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        """Send one set of tags (``train/loss``, ``learning_rate``, ...) to the tracker."""
        raise NotImplementedError
