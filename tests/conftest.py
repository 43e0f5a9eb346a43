"""Shared fixtures: every test gets its own discovery cache and work directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the discovery cache and plugin switches out of the user's home and environment."""
    monkeypatch.setenv("RUNNERKIT_CACHE_DIR", str(tmp_path_factory.mktemp("rk-cache")))
    monkeypatch.delenv("RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("RUNNERKIT_DISABLE_PLUGINS", raising=False)
    yield


@pytest.fixture(autouse=True)
def _restored_environment() -> Iterator[None]:
    """Undo environment changes a test's code under test makes (launchers set ``RANK``, ``WORLD_SIZE``...).

    A leaked ``WORLD_SIZE`` would make every later in-process ``runnerkit run`` wait for a process group.
    """
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A fresh work directory for a runner."""
    path = tmp_path / "work"
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``cuda`` tests cleanly on machines without a GPU."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


os.environ.setdefault("PYTHONHASHSEED", "0")
