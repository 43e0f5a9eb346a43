"""``install(stand_ins={"cnn": ...})``: a project's own module serves ``mmcv.cnn`` (the layer has no
``mmcv.cnn``), submodules included, as an attribute of ``mmcv`` like any subpackage."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import runnerkit.compat.mmcv


@pytest.fixture()
def cnn_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    pkg = tmp_path / "rk_parity_cnn"
    (pkg / "utils").mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from runnerkit.compat.mmcv.cnn_init import INITIALIZERS, constant_init, initialize\n"
        "from torch.nn import Conv2d as ConvModule\n"
    )
    (pkg / "utils" / "__init__.py").write_text("from runnerkit.compat.mmcv.cnn_init import *  # noqa: F403\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = runnerkit.compat.mmcv.install(stand_ins={"cnn": "rk_parity_cnn"})
    try:
        yield "rk_parity_cnn"
    finally:
        finder.stand_ins.pop("cnn", None)
        for name in [n for n in sys.modules if n == "mmcv.cnn" or n.startswith(("mmcv.cnn.", "rk_parity_cnn"))]:
            del sys.modules[name]
        if hasattr(sys.modules.get("mmcv"), "cnn"):
            delattr(sys.modules["mmcv"], "cnn")


def test_a_stand_in_serves_mmcv_cnn_and_its_submodules(cnn_stand_in: str) -> None:
    import mmcv
    import mmcv.cnn
    from mmcv.cnn import ConvModule, initialize
    from mmcv.cnn.utils import kaiming_init

    assert mmcv.cnn is sys.modules[cnn_stand_in] and mmcv.cnn.ConvModule is ConvModule
    assert initialize is runnerkit.compat.mmcv.cnn_init.initialize
    assert kaiming_init is runnerkit.compat.mmcv.cnn_init.kaiming_init


def test_stand_ins_are_checked() -> None:
    with pytest.raises(TypeError, match=r"mmcv\.runner is provided by the layer itself"):
        runnerkit.compat.mmcv.install(stand_ins={"runner": "x"})
    with pytest.raises(TypeError, match=r"stand_ins maps an mmcv subpackage name to a module name"):
        runnerkit.compat.mmcv.install(stand_ins={"cnn": 3})  # type: ignore[dict-item]


def test_without_a_stand_in_mmcv_cnn_is_missing() -> None:
    with pytest.raises(ModuleNotFoundError, match=r"mmcv\.cnn"):
        __import__("mmcv.cnn")
