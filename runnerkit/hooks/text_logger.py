"""``TextLoggerHook``: mmcv's console lines and ``<timestamp>.log.json`` (one JSON object per line)."""

from __future__ import annotations

import datetime
import json
import os
from typing import IO, TYPE_CHECKING, Any

import torch
from pydantic import PositiveInt

from runnerkit._args import checked
from runnerkit.hooks.logger_base import LoggerHook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["TextLoggerHook"]


_SKIP_IN_LINE = {"mode", "Epoch", "iter", "lr", "time", "data_time", "memory", "epoch"}
_PLAIN = (str, int)  # JSON values written as they are (no rounding to look into)


class TextLoggerHook(LoggerHook):
    """Log to ``runner.logger`` and to ``<out_dir>/<timestamp>.log.json``.

    Console line (train): ``Epoch [1][50/100]  lr: 1.000e-02, eta: 0:01:02, time: 0.105,
    data_time: 0.001, loss: 0.4321`` (``Iter [50/1000]`` when not by epoch). Each JSON line
    holds ``mode``, ``epoch``, ``iter``, ``lr``, ``time``, ``data_time``, the losses and, on a
    GPU, ``memory`` (MB). Only rank 0 writes.

    Args:
        by_epoch, interval, ignore_last, reset_flag: see :class:`LoggerHook`.
        interval_exp_name: repeat the experiment name in the log every this many iterations.
        out_dir: where the JSON log goes (default: the runner's ``work_dir``).
        out_suffix, keep_local, file_client_args: mmcv's options for uploading logs to other
            storage; accepted for mmcv configs and ignored (logs stay in ``out_dir``).
    """

    @checked
    def __init__(
        self,
        by_epoch: bool = True,
        interval: PositiveInt = 10,
        ignore_last: bool = True,
        reset_flag: bool = False,
        interval_exp_name: PositiveInt = 1000,
        out_dir: str | None = None,
        out_suffix: str | tuple[str, ...] = (".log.json", ".log", ".py"),
        keep_local: bool = True,
        file_client_args: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.interval_exp_name = interval_exp_name
        self.out_dir = out_dir
        self.time_sec_tot = 0.0
        self.start_iter = 0
        self.json_log_path: str | None = None
        self._pending_meta: dict[str, Any] | None = None  # written with the first record: no empty logs
        self._json_file: IO[str] | None = None  # opened at the first record, kept to the end of the run
        self._cuda = False

    def before_run(self, runner: BaseRunner) -> None:
        super().before_run(runner)
        self._close_json()
        self.start_iter = runner.iter
        self.time_sec_tot = 0.0
        self._cuda = torch.cuda.is_available()  # asked once per run, not per line
        out_dir = self.out_dir or runner.work_dir
        if out_dir is not None and runner.rank == 0:
            os.makedirs(out_dir, exist_ok=True)
            self.json_log_path = os.path.join(out_dir, f"{runner.timestamp}.log.json")
            self._pending_meta = {k: v for k, v in (runner.meta or {}).items() if _jsonable(v)}

    def after_run(self, runner: BaseRunner) -> None:
        self._close_json()

    def _close_json(self) -> None:
        if self._json_file is not None:
            self._json_file.close()
            self._json_file = None

    def _max_memory(self, runner: BaseRunner) -> int:
        device = getattr(runner.model, "output_device", None)
        mem = torch.cuda.max_memory_allocated(device=device)
        return int(mem / (1024 * 1024))

    def log(self, runner: BaseRunner) -> None:
        if runner.rank != 0:  # the values were averaged over the ranks; rank 0 writes them
            return
        mode = self.get_mode(runner)
        output = runner.log_buffer.output
        # an evaluation's record: `iter` is the number of batches evaluated (mmcv), not a training position
        evaluated = output.get("eval_iter_num")
        log_dict: dict[str, Any] = {
            "mode": mode,
            "epoch": self.get_epoch(runner),
            "iter": self.get_iter(runner, inner_iter=True) if evaluated is None else evaluated,
        }
        if runner.optimizer is not None:
            lrs = runner.current_lr()
            log_dict["lr"] = {k: v[0] for k, v in lrs.items()} if isinstance(lrs, dict) else lrs[0]
        if self._cuda and "time" in runner.log_buffer.output:
            log_dict["memory"] = self._max_memory(runner)
        log_dict.update(output)
        if evaluated is not None:
            del log_dict["eval_iter_num"]
        if self._pending_meta is not None and self.by_epoch and mode == "train":
            # `iter` restarts each epoch: readers (`runnerkit plot`) place the records with the real epoch length
            self._pending_meta["epoch_length"] = runner.epoch_length
        self._log_line(log_dict, runner)
        self._dump(log_dict)

    def _log_line(self, log_dict: dict[str, Any], runner: BaseRunner) -> None:
        if log_dict["mode"] == "train":
            lr = log_dict.get("lr")
            if isinstance(lr, dict):
                lr_str = " ".join(f"lr_{k}: {v:.3e}" for k, v in lr.items())
            else:
                lr_str = f"lr: {lr:.3e}" if lr is not None else "lr: n/a"
            if self.by_epoch:
                line = f"Epoch [{log_dict['epoch']}][{log_dict['iter']}/{runner.epoch_length}]\t"
            else:
                line = f"Iter [{log_dict['iter']}/{runner.max_iters}]\t"
            line += f"{lr_str}, "
            if "time" in log_dict:
                self.time_sec_tot += log_dict["time"] * self.interval
                time_sec_avg = self.time_sec_tot / max(runner.iter - self.start_iter + 1, 1)
                eta_sec = time_sec_avg * ((runner.max_iters or 0) - runner.iter - 1)
                line += f"eta: {_eta(eta_sec)}, "
                line += f"time: {log_dict['time']:.3f}, data_time: {log_dict.get('data_time', 0.0):.3f}, "
                if "memory" in log_dict:
                    line += f"memory: {log_dict['memory']}, "
        elif self.by_epoch:
            line = f"Epoch({log_dict['mode']}) [{log_dict['epoch']}][{log_dict['iter']}]\t"
        else:
            line = f"Iter({log_dict['mode']}) [{log_dict['iter']}]\t"
        items = []
        for name, val in log_dict.items():
            if name in _SKIP_IN_LINE:
                continue
            items.append(f"{name}: {val:.4f}" if isinstance(val, float) else f"{name}: {val}")
        line += ", ".join(items)
        runner.logger.info(line)

    def _dump(self, log_dict: dict[str, Any]) -> None:
        if self.json_log_path is None:
            return
        record = {k: v if v.__class__ in _PLAIN else _round(v) for k, v in log_dict.items()}
        fh = self._json_file
        if fh is None or fh.closed or fh.name != self.json_log_path:  # one open per run, not per line
            self._close_json()
            fh = self._json_file = open(self.json_log_path, "a", encoding="utf-8")  # noqa: SIM115
        if self._pending_meta is not None:
            if self._pending_meta:
                fh.write(json.dumps(self._pending_meta) + "\n")
            self._pending_meta = None
        fh.write(json.dumps(record) + "\n")
        fh.flush()  # every line reaches the file at once (readers, a killed run)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _eta(seconds: float) -> str:
    """``1 day, 2:03:04``; past what ``timedelta`` holds (a run of 2**62 iterations), ``> 999999999 days``."""
    if not seconds < datetime.timedelta.max.total_seconds():  # NaN too
        return "> 999999999 days" if seconds == seconds else "unknown"
    return str(datetime.timedelta(seconds=int(max(seconds, 0))))
