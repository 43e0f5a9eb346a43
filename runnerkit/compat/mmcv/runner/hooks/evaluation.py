"""mmcv 1.x's ``EvalHook`` and ``DistEvalHook``: runnerkit's, testing the model the way mmcv does.

Two changes from :class:`runnerkit.hooks.EvalHook`: the default ``test_fn`` is mmcv's
:func:`~runnerkit.compat.mmcv.engine.single_gpu_test`, which calls ``model(return_loss=False,
**data)`` and collects one result per sample for ``dataset.evaluate``; and evaluation draws from
torch's global RNG as under mmcv (``fork_rng = False``: each new ``DataLoader`` iterator draws its
base seed), so dropout and shuffled loaders after an evaluation continue as mmcv's and trained
weights and logged values equal mmcv's.
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
    """:class:`runnerkit.hooks.EvalHook` with mmcv's default test function (``single_gpu_test``), unforked RNG.

    Takes the arguments of :class:`runnerkit.hooks.EvalHook`, and mmcv's ``file_client_args``
    (refused unless None: the best checkpoint is written locally).

    Example:
        >>> hook = EvalHook([{"img": None}], save_best="mAP")
        >>> hook.rule
        'greater'
    """

    default_test_fn: ClassVar[TestFn] = staticmethod(single_gpu_test)
    fork_rng: ClassVar[bool] = False  # mmcv evaluates with the global generators

    def __init__(self, dataloader: Iterable[Any], *args: Any, file_client_args: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        _no_file_client(file_client_args)
        super().__init__(dataloader, *args, **kwargs)


class DistEvalHook(_evaluation.DistEvalHook):
    """:class:`runnerkit.hooks.DistEvalHook` with mmcv's per-rank ``single_gpu_test`` and unforked RNG.

    Takes the arguments of :class:`runnerkit.hooks.DistEvalHook`, and mmcv's ``file_client_args``
    (refused unless None).
    """

    default_test_fn: ClassVar[TestFn] = staticmethod(single_gpu_test)
    fork_rng: ClassVar[bool] = False  # mmcv evaluates with the global generators

    def __init__(self, dataloader: Iterable[Any], *args: Any, file_client_args: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        _no_file_client(file_client_args)
        super().__init__(dataloader, *args, **kwargs)
