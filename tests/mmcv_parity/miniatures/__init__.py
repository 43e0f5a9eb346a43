"""Miniatures of mmdet 2.x's and mmseg 0.x's training code, written against mmcv 1.x only.

``mmdet_mini`` follows mmdet 2.25's ``tools/train.py`` + ``mmdet/apis/train.py`` (EpochBasedRunner,
``paramwise_cfg``, an ``EvalHook`` subclass with ``save_best='auto'``, an exp-momentum EMA hook as
YOLOX's, ``NumClassCheckHook``/``CheckInvalidLossHook``-style custom hooks with priorities,
``resume_from``, ``load_from``, fp16); ``mmseg_mini`` follows mmseg 0.2x's ``train_segmentor``
(IterBasedRunner, poly lr, ``EvalHook(by_epoch=False, pre_eval=True)``, ``custom_keys``). They import
``mmcv`` only, never runnerkit: :func:`prepare` decides whose ``mmcv`` that is, so the SAME code runs
under real mmcv 1.7.2 (for the reference numbers) and under ``runnerkit.compat.mmcv.install()``.

Only ``mmcv.cnn`` is stood in (:mod:`.bricks`), under both, since the layer does not provide it and
mmcv's own needs compiled ops for some bricks; its initializers are those of the mmcv in use (mmcv's
``mmcv.cnn.utils.weight_init`` or the layer's ``cnn_init``), which ``BaseModule.init_weights`` calls.

    python -m tests.mmcv_parity.miniatures LAYER TOOL [ARGS...]   # LAYER: runnerkit | mmcv; TOOL: det | seg
"""

from __future__ import annotations

import sys
import types
import warnings

LAYERS = ("runnerkit", "mmcv")


def prepare(layer: str) -> None:
    """Make ``import mmcv`` give real mmcv 1.x (``"mmcv"``) or runnerkit's layer (``"runnerkit"``), with the stand-in ``mmcv.cnn``."""
    if layer not in LAYERS:
        raise ValueError(f"layer {layer!r} is not one of {LAYERS}")
    if layer == "runnerkit":
        import runnerkit.compat.mmcv

        runnerkit.compat.mmcv.install(stand_ins={"cnn": f"{__name__}.bricks"})
        import mmcv.cnn
        import mmcv.runner

        assert mmcv.runner.__name__.startswith("runnerkit."), f"mmcv.runner is {mmcv.runner.__name__}"
        from runnerkit.compat.mmcv import cnn_init as weight_init
    else:
        try:  # mmcv.runner imports torchvision only to list model-zoo URLs
            import torchvision  # noqa: F401
        except Exception:
            placeholder = types.ModuleType("torchvision")
            placeholder.__version__ = "0.0.0"  # type: ignore[attr-defined]
            sys.modules["torchvision"] = placeholder
        warnings.filterwarnings("ignore", message="On January 1, 2023, MMCV")
        import mmcv

        assert not getattr(mmcv, "__runnerkit_compat__", False), "real mmcv 1.x is not importable here"
        # mmcv's BaseModule imports its initializers from mmcv.cnn: import mmcv's own before standing in
        from mmcv.cnn.utils import weight_init  # type: ignore[no-redef]

        from tests.mmcv_parity.miniatures import bricks as stand_in

        sys.modules["mmcv.cnn"] = stand_in
        mmcv.cnn = stand_in
    from tests.mmcv_parity.miniatures import bricks

    for name in ("initialize", "constant_init", "normal_init", "kaiming_init", "xavier_init", "bias_init_with_prob"):
        setattr(bricks, name, getattr(weight_init, name))
    assert sys.modules["mmcv.cnn"] is bricks
