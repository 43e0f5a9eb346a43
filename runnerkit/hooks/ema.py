"""``EMAHook``: an exponential moving average of the model's weights (mmcv 1.x ``EMAHook``).

The average is kept in the hook (not as extra buffers on the model, as mmcv did), and saved in the
hook's ``state_dict``, so checkpoints keep the model's ``state_dict`` unchanged and a resumed run
continues with exactly the same average. Updates are in-place tensor operations with Python-float
coefficients: nothing is read back to the host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pydantic import NonNegativeInt, PositiveInt

from runnerkit._args import Fraction, checked
from runnerkit.dist import unwrap_model
from runnerkit.hooks.hook import Hook, keeps_train_mode
from runnerkit.parallel_fsdp import copy_whole_, whole

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["EMAHook"]


class EMAHook(Hook):
    r"""Exponential moving average of the parameters (and floating-point buffers) of the model.

    Every ``interval`` iterations, after the optimizer step::

        m = min(momentum ** interval, (1 + t) / (warm_up + t))      # t = runner.iter (0-based)
        ema = (1 - m) * ema + m * weight

    exactly as mmcv 1.x computes it (including its ``momentum ** interval``). At the end of each
    training epoch the model's weights and the averages are swapped, so that evaluation, the
    validation phase and epoch checkpoints see the averaged weights; the training weights come
    back before the next training epoch (or iteration). Which of the two the model holds is part
    of the hook's state, so a checkpoint taken at any point resumes exactly.

    With ``IterBasedRunner`` the whole run is one training epoch: the averages are swapped in only
    when it ends, so iteration-interval evaluations (``evaluation=dict(interval=N)``) and iteration
    checkpoints (``iter_N.pth``, the last one included) hold the training weights, not the
    averages; after the run the model holds the averages, and every checkpoint keeps them in the
    hook's state (restored on resume). Evaluate the averages with ``EpochBasedRunner``.

    Args:
        momentum: the weight of the newest value, in (0, 1).
        interval: update every ``interval`` iterations.
        warm_up: iterations over which the momentum is capped by ``(1 + t) / (warm_up + t)``.
        resume_from: a checkpoint to resume from at ``before_run`` (mmcv's argument; prefer
            ``runner.resume``, which restores this hook's state too).
        skip_buffers: average only the parameters (mmcv) and leave buffers such as BatchNorm
            statistics out.

    Example:
        >>> hook = EMAHook(momentum=0.001, warm_up=10)
        >>> hook.momentum
        0.001
    """

    #: after the optimizer step (ABOVE_NORMAL) and before CheckpointHook and EvalHook (mmcv: "EMAHook
    #: takes priority over EvalHook and CheckpointHook"; mmdet configs use 49).
    priority: ClassVar[int | str] = 49

    @checked
    def __init__(
        self,
        momentum: Fraction = 0.0002,
        interval: PositiveInt = 1,
        warm_up: NonNegativeInt = 100,
        resume_from: str | None = None,
        skip_buffers: bool = False,
    ) -> None:
        self.momentum = float(momentum)
        self.interval = interval
        self.warm_up = warm_up
        self.checkpoint = resume_from
        self.skip_buffers = skip_buffers
        #: the model's tensors that are averaged, by name (set at ``before_run``).
        self._weights: dict[str, torch.Tensor] = {}
        #: the other copy: the averages, or the training weights while ``_swapped``.
        self._shadow: dict[str, torch.Tensor] = {}
        self._swapped = False
        self._pending: dict[str, Any] | None = None
        #: the last iteration whose update is in the averages (-1: none).
        self._step = -1
        self._resumed = False  # a state was loaded (so `_step` is the checkpoint's)
        self._groups: list[tuple[list[torch.Tensor], list[torch.Tensor]]] | None = None  # for `_update`

    # -- the average ---------------------------------------------------------------------------

    def coefficient(self, step: int) -> float:
        """The momentum ``m`` used at 0-based iteration ``step`` (mmcv's formula)."""
        ramp = (1 + step) / (self.warm_up + step) if self.warm_up + step > 0 else 1.0
        return min(self.momentum**self.interval, ramp)

    def averages(self) -> dict[str, torch.Tensor]:
        """The current averages by parameter/buffer name (live tensors; do not modify)."""
        return self._weights if self._swapped else self._shadow

    def _collect(self, runner: BaseRunner) -> dict[str, torch.Tensor]:
        model = unwrap_model(runner.model)
        found: dict[str, torch.Tensor] = dict(model.named_parameters())
        if not self.skip_buffers:
            found.update((name, b) for name, b in model.named_buffers() if b.dtype.is_floating_point)
        return found

    @torch.no_grad()
    def _update(self, momentum: float) -> None:
        groups = self._groups
        if groups is None:
            groups = self._groups = self._grouped()
        for shadow, weights in groups:
            torch._foreach_mul_(shadow, 1.0 - momentum)
            torch._foreach_add_(shadow, weights, alpha=momentum)

    def _grouped(self) -> list[tuple[list[torch.Tensor], list[torch.Tensor]]]:
        """``(averages, weights)`` lists by tensor class: a sharded model's DTensor parameters and its plain
        buffers cannot share one ``_foreach`` call."""
        groups: dict[type, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
        for name, weight in self._weights.items():
            shadow, weights = groups.setdefault(type(self._shadow[name]), ([], []))
            shadow.append(self._shadow[name])
            weights.append(weight.detach())
        return list(groups.values())

    @torch.no_grad()
    def _swap(self) -> None:
        for name, weight in self._weights.items():
            shadow = self._shadow[name]
            saved = weight.detach().clone()
            weight.detach().copy_(shadow)
            shadow.copy_(saved)
        self._swapped = not self._swapped

    # -- stages --------------------------------------------------------------------------------

    def before_run(self, runner: BaseRunner) -> None:
        weights = self._collect(runner)
        same_model = weights.keys() == self._weights.keys() and all(weights[k] is self._weights[k] for k in weights)
        if not (same_model and self._shadow):  # a second `run` of the same model keeps its averages
            self._weights = weights
            self._shadow = {name: w.detach().clone() for name, w in weights.items()}
            self._swapped = False
        self._groups = None
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.load_state_dict(pending)
        if self.checkpoint is not None:
            runner.resume(self.checkpoint)
        self._catch_up(runner)

    def _catch_up(self, runner: BaseRunner) -> None:
        """Apply the update a checkpoint missed because it was saved before this hook's turn.

        A checkpoint written by a hook that runs before this one in ``after_train_iter`` holds the
        weights after the optimizer step of iteration ``runner.iter - 1`` but averages without that
        step; those weights are in the model now, so the update can be made exactly.
        """
        last = runner.iter - 1
        if self._resumed and self._step < last and last >= 0 and last % self.interval == 0 and not self._swapped:
            self._update(self.coefficient(last))
            self._step = last

    @keeps_train_mode
    def after_train_iter(self, runner: BaseRunner) -> None:
        step = runner.iter
        if step % self.interval != 0:
            return
        self._update(self.coefficient(step))
        self._step = step

    def after_train_epoch(self, runner: BaseRunner) -> None:
        """Put the averages into the model for evaluation, validation and epoch checkpoints."""
        if not self._swapped:
            self._swap()

    def before_train_epoch(self, runner: BaseRunner) -> None:
        """Put the training weights back."""
        if self._swapped:
            self._swap()

    @keeps_train_mode
    def before_train_iter(self, runner: BaseRunner) -> None:
        if self._swapped:  # a loop that ends an epoch without starting the next one
            self._swap()

    # -- checkpointed state --------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The copy of the weights the model does not hold (``shadow``), whether the model holds the
        averages (``swapped``) and the last iteration averaged in (``step``)."""
        if self._pending is not None:
            return self._pending
        # a sharded model's averages are saved whole (gathered: every rank calls this), so that they
        # load at any world size
        return {"shadow": {k: whole(v) for k, v in self._shadow.items()}, "swapped": self._swapped, "step": self._step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the averages; before ``before_run`` they are kept until the model is known."""
        if not isinstance(state, dict) or not isinstance(state.get("shadow"), dict):
            raise ValueError(
                "An EMAHook state must be a dict with `shadow` (name -> tensor) and `swapped`, "
                f"got `{state!r:.80}`; was it saved by another hook?"
            )
        if not self._weights:
            self._pending = state
            return
        shadow: dict[str, torch.Tensor] = state["shadow"]
        missing = sorted(set(self._weights) - set(shadow))
        unexpected = sorted(set(shadow) - set(self._weights))
        if missing or unexpected:
            raise ValueError(
                "The EMA state does not match the model: "
                f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}. "
                "Resume with the model (and `skip_buffers` setting) the checkpoint was saved with."
            )
        with torch.no_grad():
            for name, weight in self._weights.items():
                if shadow[name].shape != weight.shape:
                    raise ValueError(
                        f"The EMA of `{name}` has shape {tuple(shadow[name].shape)} but the model's is "
                        f"{tuple(weight.shape)}; resume with the model the checkpoint was saved with."
                    )
                copy_whole_(self._shadow[name], shadow[name])
        self._swapped = bool(state.get("swapped", False))
        self._step = int(state.get("step", -1))
        self._resumed = True
