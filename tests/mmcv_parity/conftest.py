"""mmcv parity tests run as an mmcv user would: ``install()`` then ``import mmcv.runner``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import runnerkit.compat.mmcv


@pytest.fixture(autouse=True, scope="module")
def _mmcv_installed() -> Iterator[None]:
    runnerkit.compat.mmcv.install()
    yield
    runnerkit.compat.mmcv.uninstall()
