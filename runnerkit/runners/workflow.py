"""Checking ``run(data_loaders, workflow)`` arguments and the deprecated ``max_*`` override."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

__all__ = ["check_workflow", "deprecated_max"]


def check_workflow(data_loaders: Any, workflow: Any, runner: Any) -> list[tuple[str, int]]:
    """``workflow`` as a list of ``(mode, count)``; clear errors for anything else."""
    if not isinstance(data_loaders, (list, tuple)):
        raise TypeError(f"`data_loaders` must be a list (one loader per workflow phase), got {type(data_loaders).__name__}.")
    if not isinstance(workflow, (list, tuple)) or not workflow:
        raise ValueError(f"`workflow` must be a non-empty list like [('train', 1)], got `{workflow!r}`.")
    flows: list[tuple[str, int]] = []
    for flow in workflow:
        if not (isinstance(flow, (list, tuple)) and len(flow) == 2 and isinstance(flow[0], str)
                and isinstance(flow[1], int) and not isinstance(flow[1], bool) and flow[1] > 0):
            raise ValueError(f"Each workflow phase must be (mode, positive int) like ('train', 1), got `{flow!r}`.")
        mode = flow[0]
        if not callable(getattr(runner, mode, None)) or mode.startswith("_"):
            raise ValueError(f"Unknown workflow mode `{mode}`: {type(runner).__name__} has no method `{mode}`; use 'train' or 'val'.")
        flows.append((mode, flow[1]))
    if len(data_loaders) != len(flows):
        raise ValueError(
            f"`data_loaders` has {len(data_loaders)} loader(s) but `workflow` has {len(flows)} phase(s); "
            f"give one loader per phase, in the same order."
        )
    for index, ((mode, _), loader) in enumerate(zip(flows, data_loaders)):
        _check_loader(loader, mode, index)
        if mode == "val":
            _check_val_step(runner, index)
    return flows


def _check_loader(loader: Any, mode: str, index: int) -> None:
    """Refuse a loader that yields no batch, before anything is trained or written."""
    where = f"The data loader of workflow phase {index} (`{mode}`, `data_loaders[{index}]`)"
    if isinstance(loader, (str, bytes)) or not hasattr(loader, "__iter__"):
        raise TypeError(f"{where} must be an iterable of batches such as a `DataLoader`, got {type(loader).__name__}.")
    try:
        size = len(loader)
    except TypeError:  # an iterable-style dataset: its length is unknown until it is iterated
        return
    if size == 0:
        dataset = getattr(loader, "dataset", None)
        detail = ""
        with contextlib.suppress(TypeError):
            if dataset is not None:
                detail = (f" (its dataset has {len(dataset)} sample(s), batch_size={getattr(loader, 'batch_size', None)}, "
                          f"drop_last={getattr(loader, 'drop_last', None)})")
        raise ValueError(
            f"{where} is empty: it yields no batch{detail}, so the `{mode}` phase could never run. "
            "Check the dataset's path and filters, or lower `batch_size` / set `drop_last=False`."
        )


def _check_val_step(runner: Any, index: int) -> None:
    """A `val` phase needs `model.val_step` (or the deprecated batch processor)."""
    if getattr(runner, "batch_processor", None) is not None:
        return
    model = getattr(runner, "model", None)
    inner = getattr(model, "module", model)
    if callable(getattr(inner, "val_step", None)) or callable(getattr(model, "val_step", None)):
        return
    raise TypeError(
        f"Workflow phase {index} is `val`, but the model ({type(inner).__name__}) has no "
        "`val_step(data_batch, optimizer, **kwargs)` method; define it (returning a dict with `log_vars`) "
        "or remove the `val` phase from the workflow."
    )


def deprecated_max(value: int | None, name: str, current: int | None) -> int | None:
    """mmcv's deprecated ``run(..., max_iters=N)`` / ``max_epochs=N`` override."""
    if value is None:
        return current
    warnings.warn(
        f"Setting `{name}` in `run()` is deprecated; pass it to the runner (e.g. `runner=dict(type=..., {name}=...)`).",
        DeprecationWarning,
        stacklevel=3,
    )
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int, got `{value!r}`.")
    return value


def empty_pass_error(passes: dict[int, Any], loader: Any, mode: str) -> ValueError:
    """The error for a loader (one without a length, so not caught by ``check_workflow``) whose pass yielded nothing."""
    index = next((i for i, it in passes.items() if it is loader), None)
    where = f"workflow phase {index} (`{mode}`, `data_loaders[{index}]`)" if index is not None else f"`{mode}` phase"
    return ValueError(
        f"The data loader of {where} yielded no batch in a whole pass, so the `{mode}` phase could never run. "
        "Check its dataset (an iterable-style dataset that yields nothing?) and `batch_size`/`drop_last`."
    )
