"""``EvalHook`` and ``DistEvalHook``: evaluate during training and keep the best checkpoint (mmcv 1.x).

The results go into ``runner.log_buffer.output`` (with ``ready`` set), so the logger hooks print
them as a ``val`` line. With ``save_best``, the best checkpoint so far is kept as
``best_<metric>_<epoch|iter>_<n>.pth``; the best score is part of the hook's state, so a resumed
run keeps comparing against it. Evaluation runs under forked RNG states
(:func:`runnerkit.rng.forked_rng`): whatever it shuffles or draws, training continues with the
numbers it would have drawn without it, so the final weights do not depend on the evaluation
interval and a resumed run stays exact. A subclass sets ``fork_rng = False`` to evaluate with the
global generators as mmcv does (the mmcv compatibility layer's hooks).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
import torch.distributed as dist
from pydantic import NonNegativeInt, PositiveInt

from runnerkit._args import Forwards, checked
from runnerkit._errors import ConfigError
from runnerkit.checkpoint import local_dir
from runnerkit.dist import unwrap_model
from runnerkit.hooks.eval_results import TestFn, average_log_vars, collect_results, single_process_test
from runnerkit.hooks.hook import Hook
from runnerkit.rng import forked_rng

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["average_log_vars", "collect_results", "DistEvalHook", "EvalHook", "single_process_test", "TestFn"]


class EvalHook(Hook):
    """Evaluate the model on ``dataloader`` every ``interval`` epochs (or iterations).

    ``test_fn(model, dataloader)`` produces the results (default: :func:`single_process_test`,
    the ``val_step`` outputs). If ``dataloader.dataset`` has ``evaluate(results, logger=...,
    **eval_kwargs)`` it turns them into metrics; otherwise the ``log_vars`` of the outputs are
    averaged. The metrics are put into ``runner.log_buffer.output`` for the loggers.

    Args:
        dataloader: an iterable of batches (a ``DataLoader``), iterated afresh each time.
        start: evaluate first after epoch (iteration) ``start``, then every ``interval``; when the
            run begins at or after ``start`` on that schedule, also evaluate once before training.
        interval: evaluate every ``interval`` epochs (iterations).
        by_epoch: count epochs (``after_train_epoch``) or iterations (``after_train_iter``).
        save_best: a metric name, or ``"auto"`` for the first metric returned; keeps the best
            checkpoint as ``best_<metric>_<epoch|iter>_<n>.pth`` in ``out_dir``.
        rule: ``"greater"`` or ``"less"``; inferred from the metric name when None.
        test_fn: ``test_fn(model, dataloader) -> results``.
        greater_keys, less_keys: metric names (or parts of names) for which greater (less) is
            better, used to infer ``rule``; a given list replaces the defaults (as mmcv).
        out_dir: where the best checkpoint goes (default: the runner's work_dir; a given
            ``out_dir`` gets the work_dir's name appended, as mmcv).
        **eval_kwargs: passed to ``dataset.evaluate``.

    Example:
        >>> hook = EvalHook([{"x": 1}], interval=2, save_best="loss")
        >>> hook.rule
        'less'
    """

    priority: ClassVar[int | str] = "LOW"
    rule_map: ClassVar[dict[str, Callable[[float, float], bool]]] = {
        "greater": lambda x, y: x > y,
        "less": lambda x, y: x < y,
    }
    init_value_map: ClassVar[dict[str, float]] = {"greater": -math.inf, "less": math.inf}
    _default_greater_keys: ClassVar[list[str]] = [
        "acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc",
    ]
    _default_less_keys: ClassVar[list[str]] = ["loss"]
    #: the ``test_fn`` when none is given (mmcv's compatibility layer gives its ``single_gpu_test``).
    default_test_fn: ClassVar[TestFn] = staticmethod(single_process_test)
    #: evaluate under forked RNG states, so that training draws what it would have drawn without the
    #: evaluation (True); False: evaluation draws from the global generators, moving training's numbers
    #: (mmcv 1.x's behaviour, kept by ``runnerkit.compat.mmcv``'s hooks so that mmcv code trains the same).
    fork_rng: ClassVar[bool] = True
    #: ``**eval_kwargs`` go to ``dataset.evaluate(results, logger=..., **eval_kwargs)``.
    forwards_kwargs: ClassVar[Forwards] = Forwards("dataset.evaluate", exclude=("results", "logger"))

    @checked
    def __init__(
        self,
        dataloader: Iterable[Any],
        start: NonNegativeInt | None = None,
        interval: PositiveInt = 1,
        by_epoch: bool = True,
        save_best: str | None = None,
        rule: Literal["greater", "less"] | None = None,
        test_fn: TestFn | None = None,
        greater_keys: str | Sequence[str] | None = None,
        less_keys: str | Sequence[str] | None = None,
        out_dir: str | os.PathLike[str] | None = None,
        **eval_kwargs: Any,
    ) -> None:
        name = type(self).__name__
        if isinstance(dataloader, str | bytes | Mapping) or not hasattr(dataloader, "__iter__"):
            raise TypeError(
                f"{name} needs an iterable of batches such as a `torch.utils.data.DataLoader`, got "
                f"{type(dataloader).__name__} `{dataloader!r:.60}`."
            )
        if test_fn is not None and not callable(test_fn):
            raise TypeError(f"`test_fn` must be callable as `test_fn(model, dataloader)`, got {type(test_fn).__name__}.")
        dataset = getattr(dataloader, "dataset", None)
        if eval_kwargs and not callable(getattr(dataset, "evaluate", None)):
            raise TypeError(
                f"{name} got evaluation arguments {sorted(eval_kwargs)}, which go to `dataset.evaluate`, but "
                f"the data loader's dataset ({type(dataset).__name__}) has no `evaluate` method; remove them or "
                "use a dataset that evaluates."
            )
        from runnerkit.runners.data import shield_workers

        shield_workers(dataloader)  # a SIGTERM to the process group during evaluation leaves its workers alone
        self.dataloader = dataloader
        self.start = start
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_best = save_best
        self.eval_kwargs = eval_kwargs
        self.test_fn: TestFn = test_fn or type(self).default_test_fn
        self.greater_keys = _key_list(greater_keys, "greater_keys", self._default_greater_keys)
        self.less_keys = _key_list(less_keys, "less_keys", self._default_less_keys)
        self._out_dir_arg = local_dir(out_dir, "out_dir") if out_dir is not None else None
        #: where the best checkpoint goes (worked out at ``before_run``).
        self.out_dir: str | None = self._out_dir_arg
        self.initial_flag = True
        self.rule: str | None = None
        self.key_indicator: str | None = None
        self.best_score: float | None = None
        self.best_ckpt_path: str | None = None
        self._state_loaded = False
        if save_best is not None:
            self._init_rule(rule, save_best)

    @classmethod
    def infer_rule(cls, key_indicator: str, greater_keys: str | Sequence[str] | None = None,
                   less_keys: str | Sequence[str] | None = None) -> str:
        """``"greater"`` or ``"less"``: which values of the metric ``key_indicator`` are better, from its name.

        Raises:
            ValueError: the name matches neither list (the message says to pass ``rule``).
        """
        key = key_indicator.lower()
        greater = [k.lower() for k in _key_list(greater_keys, "greater_keys", cls._default_greater_keys)]
        less = [k.lower() for k in _key_list(less_keys, "less_keys", cls._default_less_keys)]
        if key in greater:
            return "greater"
        if key in less:
            return "less"
        if any(k in key for k in greater):
            return "greater"
        if any(k in key for k in less):
            return "less"
        raise ValueError(
            f"Cannot tell whether a greater or a smaller `{key_indicator}` is better; pass "
            "`rule='greater'` or `rule='less'` (or add the name to `greater_keys`/`less_keys`)."
        )

    def _init_rule(self, rule: str | None, key_indicator: str) -> None:
        if rule is None and key_indicator != "auto":
            rule = self.infer_rule(key_indicator, self.greater_keys, self.less_keys)
        self.rule = rule
        self.key_indicator = key_indicator

    # -- stages --------------------------------------------------------------------------------

    def before_run(self, runner: BaseRunner) -> None:
        self._check_can_evaluate(runner)
        work_dir, out_dir = runner.work_dir, self._out_dir_arg
        if out_dir is None:
            self.out_dir = work_dir
        elif work_dir is not None and os.path.abspath(out_dir) != os.path.abspath(work_dir):
            self.out_dir = os.path.join(out_dir, os.path.basename(work_dir.rstrip(os.sep)))
        else:
            self.out_dir = out_dir
        if self.save_best is not None:
            if self.out_dir is None:
                raise ValueError(
                    f"{type(self).__name__}(save_best={self.save_best!r}) needs somewhere to save the best "
                    "checkpoint: give the runner a `work_dir` or the hook an `out_dir`."
                )
            if runner.meta is None:
                runner.meta = {}
            msgs = runner.meta.setdefault("hook_msgs", {})
            if not self._state_loaded:  # an mmcv checkpoint resumed: its hook_msgs hold the best
                self.best_ckpt_path = msgs.get("best_ckpt", self.best_ckpt_path)
                if "best_score" in msgs:
                    self.best_score = float(msgs["best_score"])

    def _check_can_evaluate(self, runner: BaseRunner) -> None:
        """Refuse, before training, an evaluation that could only fail or evaluate nothing."""
        name = type(self).__name__
        with contextlib.suppress(TypeError):  # a loader without a length
            if len(self.dataloader) == 0:  # type: ignore[arg-type]
                raise ValueError(
                    f"{name}'s `dataloader` is empty: it yields no batch, so there is nothing to evaluate. Check "
                    "the validation dataset (path, filters) and its `batch_size`/`drop_last`, or remove the hook."
                )
        if self.test_fn is single_process_test:
            model = unwrap_model(runner.model)
            if not callable(getattr(model, "val_step", None)) and not callable(getattr(runner.model, "val_step", None)):
                raise TypeError(
                    f"{name} evaluates with `model.val_step(data_batch, None)`, but the model ({type(model).__name__}) "
                    "has no `val_step`; define it (returning a dict with `log_vars`) or give the hook a `test_fn`."
                )

    def before_train_iter(self, runner: BaseRunner) -> None:
        """Evaluate once before training by iteration when the run starts at or after ``start``."""
        if self.by_epoch or not self.initial_flag:
            return
        if self.start is not None and runner.iter >= self.start:
            self.after_train_iter(runner)
        self.initial_flag = False

    def before_train_epoch(self, runner: BaseRunner) -> None:
        """Evaluate once before training by epoch when the run starts at or after ``start``."""
        if not (self.by_epoch and self.initial_flag):
            return
        if self.start is not None and runner.epoch >= self.start:
            self.after_train_epoch(runner)
        self.initial_flag = False

    def after_train_iter(self, runner: BaseRunner) -> None:
        if self.by_epoch or not self._should_evaluate(runner):
            return
        # Log (and clear) the training values first, so that they and the evaluation
        # results are printed on separate lines (mmcv).
        from runnerkit.hooks.logger_base import LoggerHook

        for hook in runner.hooks:
            if isinstance(hook, LoggerHook):
                hook.after_train_iter(runner)
        runner.log_buffer.clear()
        self._evaluate_or_save_and_stop(runner)

    def after_train_epoch(self, runner: BaseRunner) -> None:
        if self.by_epoch and self._should_evaluate(runner):
            self._evaluate_or_save_and_stop(runner)

    def _evaluate_or_save_and_stop(self, runner: BaseRunner) -> None:
        """Evaluate; a config mistake only an evaluation reveals saves the training done so far, then stops it."""
        try:
            with forked_rng(enabled=self.fork_rng):  # forked: evaluation draws no number training would draw
                self._do_evaluate(runner)
        except ConfigError as err:
            if runner.world_size != 1 or runner.work_dir is None:
                raise  # a save is a collective: with one rank failing, the others cannot join it
            runner.gather_rank_states()
            path = runner.save_checkpoint(self.out_dir or runner.work_dir)
            unit, done = ("epoch", runner.completed_epochs) if self.by_epoch else ("iteration", runner.completed_iters)
            raise ConfigError(
                f"{type(self).__name__}: {err} Training stopped after {unit} {done}, saved in `{path}`: fix the "
                "config and resume from it (`runnerkit run CONFIG --resume`)."
            ) from None

    def _should_evaluate(self, runner: BaseRunner) -> bool:
        current = runner.epoch if self.by_epoch else runner.iter
        if self.start is None:
            check = self.every_n_epochs if self.by_epoch else self.every_n_iters
            return check(runner, self.interval)
        if current + 1 < self.start:
            return False
        return (current + 1 - self.start) % self.interval == 0

    def _do_evaluate(self, runner: BaseRunner) -> None:
        results = self.test_fn(runner.model, self.dataloader)
        self._evaluate_and_save(runner, results)

    def _evaluate_and_save(self, runner: BaseRunner, results: Sequence[Any]) -> None:
        with contextlib.suppress(TypeError):  # a loader without a length
            runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)  # type: ignore[arg-type]
        key_score = self.evaluate(runner, results)
        if self.save_best is not None and key_score is not None:
            self._save_ckpt(runner, key_score)

    # -- metrics and the best checkpoint -------------------------------------------------------

    def evaluate(self, runner: BaseRunner, results: Sequence[Any]) -> float | None:
        """Turn ``results`` into metrics, put them in the log buffer, and return the ``save_best`` score."""
        dataset = getattr(self.dataloader, "dataset", None)
        evaluate = getattr(dataset, "evaluate", None)
        if callable(evaluate):
            eval_res = dict(evaluate(results, logger=runner.logger, **self.eval_kwargs))
        else:
            eval_res = average_log_vars(results)
        for name, val in eval_res.items():
            runner.log_buffer.output[name] = _plain(val)
        runner.log_buffer.ready = True
        if self.save_best is None:
            return None
        if not eval_res:
            warnings.warn(  # mmcv's words: code written for mmcv matches this message
                "Since `eval_res` is an empty dict, the behavior to save the best checkpoint will be skipped in "
                "this evaluation.",
                stacklevel=2,
            )
            return None
        if self.key_indicator == "auto":
            self._init_rule(self.rule, next(iter(eval_res)))
        assert self.key_indicator is not None
        if self.key_indicator not in eval_res:
            raise ConfigError(
                f"save_best={self.save_best!r}, but the evaluation returned only {sorted(eval_res)}; "
                "set `save_best` to one of them (or 'auto')."
            )
        return float(_plain(eval_res[self.key_indicator]))

    def _save_ckpt(self, runner: BaseRunner, key_score: float) -> None:
        if self.by_epoch:
            cur_type, cur_time = "epoch", runner.epoch + 1
        else:
            cur_type, cur_time = "iter", runner.iter + 1
        assert self.rule is not None and self.out_dir is not None
        best = self.best_score if self.best_score is not None else self.init_value_map[self.rule]
        if not self.rule_map[self.rule](key_score, best):
            return
        self.best_score = key_score
        previous = self.best_ckpt_path
        name = f"best_{self.key_indicator}_{cur_type}_{cur_time}.pth"
        self.best_ckpt_path = os.path.join(self.out_dir, name)
        msgs = (runner.meta if runner.meta is not None else {}).setdefault("hook_msgs", {})
        msgs["best_score"] = key_score
        msgs["best_ckpt"] = self.best_ckpt_path
        if runner.rank != 0:  # every rank keeps the score; only rank 0 touches files
            return
        if previous and os.path.isfile(previous):
            os.remove(previous)
            runner.logger.info("The previous best checkpoint %s was removed", previous)
        escaped = name.replace("{", "{{").replace("}", "}}")
        runner.save_checkpoint(self.out_dir, filename_tmpl=escaped, create_symlink=False)
        runner.logger.info("Now best checkpoint is saved as %s.", name)
        runner.logger.info("Best %s is %0.4f at %d %s.", self.key_indicator, key_score, cur_time, cur_type)

    # -- checkpointed state --------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The best score and checkpoint so far (and the metric ``"auto"`` settled on)."""
        return {
            "best_score": self.best_score,
            "best_ckpt_path": self.best_ckpt_path,
            "key_indicator": self.key_indicator,
            "rule": self.rule,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score = state.get("best_score")
        self.best_ckpt_path = state.get("best_ckpt_path")
        if self.save_best == "auto" and state.get("key_indicator") not in (None, "auto"):
            self.key_indicator = state["key_indicator"]
            self.rule = state.get("rule") or self.rule
        self._state_loaded = True


class DistEvalHook(EvalHook):
    """:class:`EvalHook` for distributed runs: every rank evaluates its part, rank 0 reports.

    Each rank runs ``test_fn`` over its own ``dataloader`` (give it a ``DistributedSampler``);
    the results are gathered with :func:`collect_results` (interleaved back into the dataset's
    order) and only rank 0 computes the metrics, logs them and saves the best checkpoint.

    Args:
        broadcast_bn_buffer: copy rank 0's BatchNorm running statistics to every rank before
            evaluating, so that every rank evaluates the same model (DDP does not sync them).
        tmpdir, gpu_collect: accepted for mmcv configs; results are always gathered in memory.
        others: as :class:`EvalHook` (``test_fn`` returns this rank's results).
    """

    @checked
    def __init__(
        self,
        dataloader: Iterable[Any],
        start: NonNegativeInt | None = None,
        interval: PositiveInt = 1,
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
        **eval_kwargs: Any,
    ) -> None:
        super().__init__(
            dataloader, start=start, interval=interval, by_epoch=by_epoch, save_best=save_best, rule=rule,
            test_fn=test_fn, greater_keys=greater_keys, less_keys=less_keys, out_dir=out_dir, **eval_kwargs,
        )
        self.broadcast_bn_buffer = broadcast_bn_buffer
        self.tmpdir = tmpdir
        self.gpu_collect = gpu_collect

    def _do_evaluate(self, runner: BaseRunner) -> None:
        distributed = dist.is_available() and dist.is_initialized()
        if distributed and self.broadcast_bn_buffer:
            for module in runner.model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
                    assert module.running_mean is not None and module.running_var is not None
                    dist.broadcast(module.running_var, 0)
                    dist.broadcast(module.running_mean, 0)
        part = self.test_fn(runner.model, self.dataloader)
        dataset = getattr(self.dataloader, "dataset", None)
        try:
            size: int | None = len(dataset)  # type: ignore[arg-type]
        except TypeError:
            size = None
        results = collect_results(part, size)
        if runner.rank == 0:
            self._evaluate_and_save(runner, results)


def _key_list(keys: str | Sequence[str] | None, name: str, default: list[str]) -> list[str]:
    if keys is None:
        return list(default)
    if isinstance(keys, str):
        keys = [keys]
    if not all(isinstance(k, str) for k in keys):
        raise TypeError(f"`{name}` must be a metric name or a list of them, got `{keys!r}`.")
    return list(keys)  # given keys replace the defaults (mmcv): `greater_keys=[], less_keys=["acc"]` means less


def _plain(value: Any) -> Any:
    """A one-element tensor or numpy scalar as a Python number (evaluation time, so reading back is fine)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return item()
    return value
