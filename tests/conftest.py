"""Shared fixtures: every test gets its own discovery cache and work directory."""

from __future__ import annotations

import fcntl
import itertools
import os
import tempfile
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


@pytest.fixture(scope="session", autouse=True)
def _inductor_cache_per_worker() -> Iterator[None]:
    """Give this test process (each xdist worker) an Inductor cache no other process uses, before anything compiles.

    Two processes sharing one cache race on its files (``CppCompileError ... precompiled_headers ... No
    such file``). The caches are slots under the temporary directory, each held with an exclusive lock
    for the whole session: a later run reuses a warm slot (a cold one costs a minute of C++ builds), a
    concurrent run takes another. Subprocesses the tests start (torchrun jobs) inherit the variable.
    """
    root = Path(tempfile.gettempdir()) / f"runnerkit-tests-inductor-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    for slot in itertools.count():
        lock = (root / f"{slot}.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(root / str(slot))
        with lock:
            yield
        return


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """A fresh work directory for a runner."""
    path = tmp_path / "work"
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-bench", action="store_true", default=False,
                     help="also run the `bench` tests: benchmark runs that take minutes (see benchmarks/README.md)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``bench`` tests unless ``--run-bench`` is given, and ``cuda`` tests cleanly on machines without a GPU."""
    if not config.getoption("--run-bench"):
        skip_bench = pytest.mark.skip(reason="a benchmark run (minutes): `python -m pytest --run-bench -m bench`")
        for item in items:
            if "bench" in item.keywords:
                item.add_marker(skip_bench)
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


os.environ.setdefault("PYTHONHASHSEED", "0")
