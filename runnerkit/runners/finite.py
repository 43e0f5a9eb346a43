"""Stopping a run whose loss became NaN or infinite, before it can overwrite good checkpoints.

Nothing is checked per iteration: the logged values stay on their device in the runner's
:class:`~runnerkit.log_buffer.LogBuffer` until a logger averages them at its interval, and the
averages it reads back anyway are checked then (an average over an interval is finite only when
every value in it is); values a logger clears without averaging them (at an epoch's start) are
kept aside, unread, and checked with the next log line or checkpoint. Before a checkpoint is written, every loss value still in the buffer and
every parameter of the model are checked on their device with one read-back, so a checkpoint with
non-finite weights is never written, and checkpoint rotation never pushes the last good ones out.
A sharded model (FSDP2: ``DTensor`` parameters, saved by every rank together) is checked on each
rank's local shards and the ranks agree with one all-reduce of the flags, so all of them stop
together.

A loss is a ``log_vars`` key containing ``"loss"`` (mmcv's convention: ``loss``, ``loss_cls``,
...). Buffers are not checked (a mask buffer may rightly hold ``-inf``). The check is on unless
``runner.check_finite`` is False (the ``check_finite`` config key).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from runnerkit._errors import NonFiniteLossError
from runnerkit.dist import unwrap_model
from runnerkit.parallel_fsdp import local_part

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["FiniteGuard", "is_loss_key"]

_HINT = ("Lower the learning rate, clip gradients (`optimizer_config=dict(grad_clip=dict(max_norm=...))`) or check "
         "the data; to train on regardless, set the config key `check_finite=False` (`runner.check_finite = False`).")


def is_loss_key(key: str) -> bool:
    """Whether a ``log_vars`` key is a loss the guard watches (it contains ``"loss"``)."""
    return "loss" in key


class FiniteGuard:
    """The runner's non-finite loss check (one per runner, ``runner.finite_guard``).

    Args:
        runner: the runner whose ``log_buffer``, ``model`` and counters are checked.

    Attributes:
        verified_iter: the last iteration whose logged losses are known to be finite.
    """

    __slots__ = ("deferred", "runner", "verified_iter")

    def __init__(self, runner: BaseRunner) -> None:
        self.runner = runner
        self.verified_iter = 0
        #: loss values a clear dropped before any log line read them; checked at the next log line or save
        self.deferred: dict[str, list[Any]] = {}

    def after_average(self, output: dict[str, Any], count: int) -> None:
        """Check the averages a logger just read back (``LogBuffer.average`` calls it).

        Args:
            output: the averaged values, on the host.
            count: how many of the latest values per key were averaged (0: all of them).
        """
        runner = self.runner
        if not runner.check_finite or runner.mode != "train":
            return
        bad = {k: float(v) for k, v in output.items()
               if is_loss_key(k) and isinstance(v, (int, float)) and not math.isfinite(v)}
        now = runner.completed_iters
        if bad:
            count = count or max((len(runner.log_buffer.val_history.get(k, ())) for k in bad), default=1)
            self._raise_loss(bad, max(self.verified_iter + 1, now - count + 1), now)
        if self.deferred:  # values cleared unread at an epoch start: read them now, with the log line's own read
            self._check(saving=False)
        self.verified_iter = now

    def before_clear(self) -> None:
        """Keep the loss values a clear would drop unchecked (``LogBuffer.clear`` calls it: once an epoch).

        Nothing is read back here: the values wait, on their device, for the next log line or checkpoint.
        """
        runner = self.runner
        if runner.check_finite and self.verified_iter < runner.completed_iters:  # else a log line just checked them
            for key, values in runner.log_buffer.val_history.items():
                if values and is_loss_key(key):
                    self.deferred.setdefault(key, []).extend(values)

    def check_before_save(self) -> None:
        """Raise :class:`~runnerkit.NonFiniteLossError` unless every buffered loss and parameter is finite.

        One read-back to the host, at checkpoint time only.
        """
        if self.runner.check_finite:
            self._check(saving=True)

    def _check(self, saving: bool) -> None:
        runner = self.runner
        now = runner.completed_iters
        history = runner.log_buffer.val_history
        losses = {k: list(v) for k, v in self.deferred.items()}
        for k, v in history.items():
            if is_loss_key(k) and v:
                losses.setdefault(k, []).extend(v)
        params: list[tuple[str, torch.Tensor]] = []
        if saving:
            params = [(n, p) for n, p in unwrap_model(runner.model).named_parameters() if p.is_floating_point()]
        sharded = any(local_part(p) is not p for _, p in params)
        flags = [_all_finite(values) for values in losses.values()]
        flags += [torch.isfinite(local_part(p).detach()).all() for _, p in params]
        if not flags:
            return
        finite = _read_flags(flags)
        self.deferred.clear()
        if sharded:  # every rank saves its shards: all ranks must agree, in one all-reduce
            others_ok, finite[len(losses):] = _agree(all(finite[:len(losses)]), finite[len(losses):])
            if not others_ok and all(finite[:len(losses)]):
                raise NonFiniteLossError(
                    f"Training stopped at iteration {now}: another rank's loss became NaN or infinite, so no "
                    f"checkpoint was written and the earlier ones are kept (that rank's log names it). {_HINT}",
                    first_iter=self.verified_iter + 1, last_iter=now,
                )
        bad_losses = [k for k, ok in zip(losses, finite) if not ok]
        if bad_losses:
            values = {k: _first_non_finite(losses[k]) for k in bad_losses}
            count = max(len(losses[k]) for k in bad_losses)
            self._raise_loss(values, max(self.verified_iter + 1, now - count + 1), now, saving=saving)
        bad_params = [name for (name, _), ok in zip(params, finite[len(losses):]) if not ok]
        if bad_params:
            shown = ", ".join(f"`{n}`" for n in bad_params[:5]) + (f" and {len(bad_params) - 5} more" if len(bad_params) > 5 else "")
            raise NonFiniteLossError(
                f"Training stopped at iteration {now}: the model's parameters hold NaN or infinite values ({shown}), "
                f"so no checkpoint was written and the earlier ones are kept. {_HINT}",
                first_iter=self.verified_iter + 1, last_iter=now, parameters=bad_params,
            )
        self.verified_iter = now

    def _raise_loss(self, values: dict[str, float], first: int, last: int, saving: bool = False) -> None:
        shown = ", ".join(f"`{k}` = {v}" for k, v in values.items())
        when = f"iterations {first}-{last}" if first < last else f"iteration {last}"
        saved = ("the checkpoint due now was not written" if saving else "no checkpoint was written after it")
        raise NonFiniteLossError(
            f"Training stopped: the loss became NaN or infinite in {when} ({shown}); {saved}, so the last "
            f"checkpoint in the work dir holds finite weights. {_HINT}",
            first_iter=first, last_iter=last, values=values,
        )


def _all_finite(values: list[Any]) -> torch.Tensor:
    """A 0-dim bool tensor: every value (tensors or numbers) is finite. Computed on the values' device."""
    tensors = [v.detach().reshape(-1).float() for v in values if isinstance(v, torch.Tensor)]
    numbers_ok = all(math.isfinite(float(v)) for v in values if not isinstance(v, torch.Tensor))
    if not tensors:
        return torch.tensor(numbers_ok)
    device = tensors[0].device
    flag = torch.isfinite(torch.cat([t.to(device) for t in tensors])).all()
    return flag if numbers_ok else torch.zeros((), dtype=torch.bool, device=device)


def _read_flags(flags: list[torch.Tensor]) -> list[bool]:
    """The flags on the host: one stack and one read-back per device (usually one)."""
    by_device: dict[torch.device, list[int]] = {}
    for i, flag in enumerate(flags):
        by_device.setdefault(flag.device, []).append(i)
    result = [True] * len(flags)
    for indices in by_device.values():
        for i, ok in zip(indices, torch.stack([flags[i] for i in indices]).cpu().tolist()):
            result[i] = bool(ok)
    return result


def _agree(losses_ok: bool, params_ok: list[bool]) -> tuple[bool, list[bool]]:
    """Every rank's verdict: (all ranks' losses finite, each parameter finite on all ranks); one all-reduce."""
    import torch.distributed as torch_dist

    from runnerkit.dist import collective_device, is_distributed

    if not is_distributed():
        return losses_ok, params_ok
    flags = torch.tensor([losses_ok, *params_ok], dtype=torch.int32, device=collective_device())
    torch_dist.all_reduce(flags, op=torch_dist.ReduceOp.MIN)
    values = [bool(v) for v in flags.tolist()]
    return values[0], values[1:]


def _first_non_finite(values: list[Any]) -> float:
    """The first non-finite value (of a non-finite tensor: its first non-finite element)."""
    for value in values:
        if isinstance(value, torch.Tensor):
            flat = value.detach().float().reshape(-1)
            bad = flat[~torch.isfinite(flat)]
            if bad.numel():
                return float(bad[0])
        elif not math.isfinite(float(value)):
            return float(value)
    return math.nan
