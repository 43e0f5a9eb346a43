"""mmcv 1.7.2's ``IterBasedRunner`` with its standard hooks (not installable by ``pip`` alone).

Install it with ``benchmarks/install_mmcv.sh`` (a pure-Python wheel built from the sdist with
``MMCV_WITH_OPS=0`` and ``setuptools<70``). mmcv's ``LogBuffer`` averages with numpy, so its
models hand it Python floats: ``train_step`` calls ``loss.item()`` every iteration, as mmdet's
``_parse_losses`` does. ``run`` ends with ``time.sleep(1)``; the clock stops at the last batch's
fetch, so the per-iteration figure does not include it.

``mmcv.runner`` imports torchvision (only to list model-zoo URLs). Where torchvision cannot be
imported (no build matching this torch), a placeholder module stands in; nothing here uses it.
"""

from __future__ import annotations

import logging
import sys
import types
import warnings

import torch
from workload import Batches, Workload

from peers._model import StepModel

TITLE = "mmcv IterBasedRunner"
SAME_WORK = True


def _import_runner() -> type:
    try:
        import torchvision  # noqa: F401
    except Exception:  # not installed, or built for another torch (fails registering its ops)
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        placeholder = types.ModuleType("torchvision")
        placeholder.__version__ = "0.0.0"  # type: ignore[attr-defined]
        sys.modules["torchvision"] = placeholder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mmcv 1.x announces 2.0 on import
        from mmcv.runner import IterBasedRunner
    return IterBasedRunner  # type: ignore[no-any-return]


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    runner_cls = _import_runner()
    model = StepModel(net, item=True)
    runner = runner_cls(model, optimizer=work.make_optimizer(model.parameters()), work_dir=work_dir, logger=log,
                        max_iters=work.iters)
    runner.register_training_hooks(
        lr_config={"policy": "step", "step": [work.milestone], "gamma": work.gamma},
        optimizer_config={"grad_clip": None},
        checkpoint_config={"interval": work.iters * 10, "save_last": False},
        log_config={"interval": work.log_interval, "hooks": [{"type": "TextLoggerHook"}]},
    )
    runner.run([data], [("train", 1)])
