"""The loops ``bench_loop.py`` compares, one module each, all doing :class:`workload.Workload`'s work.

Each module defines ``TITLE`` (the table's row name), ``SAME_WORK`` (False where the loop leaves
part of the work out on purpose, so its final weights are not compared) and
``run(work, net, data, work_dir, log)``, which trains ``net`` in place on ``data``. A loop whose
framework is not installed here is left out of the table, with a note saying why.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from types import ModuleType

__all__ = ["LOOPS", "Loop", "find"]


@dataclass(frozen=True)
class Loop:
    """A row of the table: ``module`` under ``peers/`` and the import that says it is installed."""

    name: str
    module: str
    dist: str | None = None  # the distribution that must be installed; its version goes in the table
    major: str = ""  # the version it must start with (mmcv 1.x has the runner, 2.x does not)
    cuda_only: bool = False

    def load(self) -> ModuleType:
        return importlib.import_module(f"peers.{self.module}")

    def version(self) -> str:
        """The installed version of ``dist`` ("" for a loop that needs none, None when missing)."""
        if self.dist is None:
            return ""
        try:
            return importlib.metadata.version(self.dist)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    def missing(self, device: str) -> str | None:
        """Why this loop cannot run here, or None when it can."""
        if self.cuda_only and not device.startswith("cuda"):
            return "needs a CUDA device"
        version = self.version()
        if version == "-":
            return f"`{self.dist}` is not installed"
        if not version.startswith(self.major):
            return f"needs `{self.dist}` {self.major}x, found {version}"
        return None


LOOPS: tuple[Loop, ...] = (
    Loop("raw", "raw"),
    Loop("raw-graph", "raw_graph", cuda_only=True),
    Loop("runnerkit", "runnerkit_standard", dist="runnerkit"),
    Loop("runnerkit-opt", "runnerkit_optimizer_only", dist="runnerkit"),
    Loop("runnerkit-compile", "runnerkit_compiled", dist="runnerkit"),
    Loop("ignite", "ignite_engine", dist="pytorch-ignite"),
    Loop("mmengine", "mmengine_runner", dist="mmengine"),
    Loop("mmcv", "mmcv_runner", dist="mmcv", major="1."),
    Loop("lightning", "lightning_trainer", dist="lightning"),
)


def find(name: str) -> Loop:
    for loop in LOOPS:
        if loop.name == name:
            return loop
    if name.startswith("tmp_"):  # a throwaway variant under peers/ (git ignores them), for experiments
        return Loop(name, name)
    raise SystemExit(f"Unknown loop `{name}`; expected one of {', '.join(lp.name for lp in LOOPS)}.")
