"""mmcv 1.x's ``EvalHook`` and ``DistEvalHook``: runnerkit's, testing the model the way mmcv does.

The only change from :class:`runnerkit.hooks.EvalHook` is the default ``test_fn``: mmcv's
:func:`~runnerkit.compat.mmcv.engine.single_gpu_test`, which calls ``model(return_loss=False,
**data)`` and collects one result per sample for ``dataset.evaluate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from runnerkit.compat.mmcv.engine.test import single_gpu_test
from runnerkit.hooks import evaluation as _evaluation
from runnerkit.hooks.eval_results import TestFn

__all__ = ["DistEvalHook", "EvalHook"]


def _no_file_client(file_client_args: Mapping[str, Any] | None) -> None:
    if file_client_args is not None:
        raise ValueError(
            f"`file_client_args` ({dict(file_client_args)!r}) is not supported: runnerkit writes the best "
            "checkpoint to a local `out_dir` only (see docs/migration.md, 'Checkpoints on remote storage')."
        )


class EvalHook(_evaluation.EvalHook):
    """:class:`runnerkit.hooks.EvalHook` with mmcv's default test function (``single_gpu_test``).

    Takes the arguments of :class:`runnerkit.hooks.EvalHook`, and mmcv's ``file_client_args``
    (refused unless None: the best checkpoint is written locally).

    Example:
        >>> hook = EvalHook([{"img": None}], save_best="mAP")
        >>> hook.rule
        'greater'
    """

    default_test_fn: ClassVar[TestFn] = staticmethod(single_gpu_test)

    def __init__(self, dataloader: Iterable[Any], *args: Any, file_client_args: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        _no_file_client(file_client_args)
        super().__init__(dataloader, *args, **kwargs)


class DistEvalHook(_evaluation.DistEvalHook):
    """:class:`runnerkit.hooks.DistEvalHook` with mmcv's per-rank ``single_gpu_test``; results gathered in memory.

    Takes the arguments of :class:`runnerkit.hooks.DistEvalHook`, and mmcv's ``file_client_args``
    (refused unless None).
    """

    default_test_fn: ClassVar[TestFn] = staticmethod(single_gpu_test)

    def __init__(self, dataloader: Iterable[Any], *args: Any, file_client_args: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        _no_file_client(file_client_args)
        super().__init__(dataloader, *args, **kwargs)
