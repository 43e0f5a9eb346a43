"""mmcv 1.x's ``EvalHook`` and ``DistEvalHook``: runnerkit's, testing the model the way mmcv does.

The only change from :class:`runnerkit.hooks.EvalHook` is the default ``test_fn``: mmcv's
:func:`~runnerkit.compat.mmcv.engine.single_gpu_test`, which calls ``model(return_loss=False,
**data)`` and collects one result per sample for ``dataset.evaluate``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

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

    Example:
        >>> hook = EvalHook([{"img": None}], save_best="mAP")
        >>> hook.rule
        'greater'
    """

    def __init__(
        self,
        dataloader: Iterable[Any],
        start: int | None = None,
        interval: int = 1,
        by_epoch: bool = True,
        save_best: str | None = None,
        rule: Literal["greater", "less"] | None = None,
        test_fn: TestFn | None = None,
        greater_keys: str | Sequence[str] | None = None,
        less_keys: str | Sequence[str] | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        file_client_args: Mapping[str, Any] | None = None,
        **eval_kwargs: Any,
    ) -> None:
        _no_file_client(file_client_args)
        super().__init__(
            dataloader, start=start, interval=interval, by_epoch=by_epoch, save_best=save_best, rule=rule,
            test_fn=test_fn or single_gpu_test, greater_keys=greater_keys, less_keys=less_keys, out_dir=out_dir,
            **eval_kwargs,
        )


class DistEvalHook(_evaluation.DistEvalHook):
    """:class:`runnerkit.hooks.DistEvalHook` with mmcv's per-rank ``single_gpu_test``; results gathered in memory."""

    def __init__(
        self,
        dataloader: Iterable[Any],
        start: int | None = None,
        interval: int = 1,
        by_epoch: bool = True,
        save_best: str | None = None,
        rule: Literal["greater", "less"] | None = None,
        test_fn: TestFn | None = None,
        greater_keys: str | Sequence[str] | None = None,
        less_keys: str | Sequence[str] | None = None,
        broadcast_bn_buffer: bool = True,
        tmpdir: str | None = None,
        gpu_collect: bool = False,
        out_dir: str | os.PathLike[str] | None = None,
        file_client_args: Mapping[str, Any] | None = None,
        **eval_kwargs: Any,
    ) -> None:
        _no_file_client(file_client_args)
        super().__init__(
            dataloader, start=start, interval=interval, by_epoch=by_epoch, save_best=save_best, rule=rule,
            test_fn=test_fn or single_gpu_test, greater_keys=greater_keys, less_keys=less_keys,
            broadcast_bn_buffer=broadcast_bn_buffer, tmpdir=tmpdir, gpu_collect=gpu_collect, out_dir=out_dir,
            **eval_kwargs,
        )
