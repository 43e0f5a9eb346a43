"""mmcv parity tests run as an mmcv user would: ``install()`` then ``import mmcv.runner``.

Where mmcv 1.x itself is installed (e.g. a benchmark environment built with
``benchmarks/install_mmcv.sh``), the layer steps aside by design and ``import mmcv.runner`` is
mmcv's own: these tests, which check the layer, are skipped there with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import runnerkit.compat.mmcv
from runnerkit.compat.mmcv._finder import installed_mmcv_version

_REAL = installed_mmcv_version()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _REAL is None or not _REAL.startswith("1."):
        return
    skip = pytest.mark.skip(reason=f"mmcv {_REAL} is installed: `import mmcv.runner` is mmcv's own, not the layer")
    for item in items:
        if "mmcv_parity" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="module")
def _mmcv_installed() -> Iterator[None]:
    runnerkit.compat.mmcv.install()
    yield
    runnerkit.compat.mmcv.uninstall()
