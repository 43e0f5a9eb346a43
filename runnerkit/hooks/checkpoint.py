"""``CheckpointHook``: save checkpoints at intervals, keep the latest few (mmcv)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from runnerkit import checkpoint as ckpt_io
from runnerkit._args import Forwards, PositiveIntOrNever, checked
from runnerkit._confine import FilenameTemplate
from runnerkit.hooks.hook import NEVER, Hook, keeps_train_mode, next_multiple
from runnerkit.workdir import checkpoint_folder, clean_tmp_files, rotation_candidates

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["CheckpointHook"]


class CheckpointHook(Hook):
    """Save a checkpoint every ``interval`` epochs (or iterations) on rank 0.

    Args:
        interval: save every this many epochs (``by_epoch``) or iterations; -1 never (but see
            ``save_last``).
        by_epoch: count epochs (True) or iterations (False; the default for IterBasedRunner).
        save_optimizer: include the optimizer state.
        out_dir: where to save (default: the runner's ``work_dir``; a relative/other folder gets
            the work dir's name appended, as mmcv).
        max_keep_ckpts: keep only this many interval checkpoints (-1: all). They are counted on
            disk (the files ``filename_tmpl`` names in ``out_dir``, in its subfolder if it has one,
            by number, and the ``iter_<n>.pth`` a SIGTERM's stop wrote there), so the limit holds
            across resumes and the file resumed from rotates like any other; best checkpoints
            (``best_*.pth``) are kept apart and never rotated.
        save_last: always save at the end of training.
        sync_buffer: all-reduce the model's buffers before saving (distributed runs).
        filename_tmpl: the file name, formatted with the epoch (iteration) number (default
            ``epoch_{}.pth`` / ``iter_{}.pth``).
        file_client_args: mmcv's storage backend options; accepted for mmcv configs and ignored
            (checkpoints go to the local file system).
        sharded: write sharded checkpoint folders (``iter_{n}/``, torch.distributed.checkpoint; every
            rank writes its shards). Default: when the model is sharded (FSDP2); ``False`` with a
            sharded model gathers its whole weights into one file.
        async_save: write in the background: training is blocked only while the state is copied;
            at most one save is in flight, and ``last_checkpoint`` moves once the write is complete.
        **kwargs: more options of ``runner.save_checkpoint`` (``create_symlink``, ``meta``).

    Files are ``epoch_{n}.pth``/``iter_{n}.pth`` written atomically; ``last_checkpoint`` names
    the latest. At ``before_run`` the temporary files of killed saves in ``out_dir`` are removed.
    """

    priority = "NORMAL"
    #: ``**kwargs`` are options of ``save_checkpoint`` (those the hook does not set itself).
    forwards_kwargs: ClassVar[Forwards] = Forwards(
        "runnerkit.runners.base:BaseRunner.save_checkpoint",
        exclude=("out_dir", "filename_tmpl", "save_optimizer", "sharded", "async_save", "on_written"),
    )

    @checked
    def __init__(
        self,
        interval: PositiveIntOrNever = -1,
        by_epoch: bool = True,
        save_optimizer: bool = True,
        out_dir: str | None = None,
        max_keep_ckpts: PositiveIntOrNever = -1,
        save_last: bool = True,
        sync_buffer: bool = False,
        filename_tmpl: FilenameTemplate | None = None,
        file_client_args: dict[str, Any] | None = None,
        sharded: bool | None = None,
        async_save: bool = False,
        **kwargs: Any,
    ) -> None:
        from runnerkit._args import model_of, validate_args

        validate_args(model_of(CheckpointHook), kwargs, type(self).__name__)  # what save_checkpoint takes
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.out_dir = ckpt_io.local_dir(out_dir, "out_dir") if out_dir is not None else None
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.sync_buffer = sync_buffer
        self.filename_tmpl = filename_tmpl or ("epoch_{}.pth" if by_epoch else "iter_{}.pth")
        self.create_symlink = bool(kwargs.get("create_symlink", True))
        self.save_meta: dict[str, Any] | None = kwargs.get("meta")
        self.saved: list[str] = []
        self.sharded = sharded
        self.async_save = async_save
        #: set by a later hook of the same stage that writes this stage's save after it (EarlyStoppingHook,
        #: once the evaluation it watches is counted): True defers the save to :meth:`write_pending`.
        self.defer: Callable[[BaseRunner], bool] | None = None
        self.pending: int | None = None

    def before_run(self, runner: BaseRunner) -> None:
        self.out_dir = checkpoint_folder(runner.work_dir, self.out_dir)  # out_dir/<work dir's name> (mmcv)
        if self.out_dir is None:
            raise ValueError("CheckpointHook has nowhere to save: give the runner a `work_dir` or the hook an `out_dir`.")
        if runner.rank == 0:
            removed = clean_tmp_files(self.out_dir)
            if removed:
                runner.logger.info("Removed %d temporary file(s) of interrupted saves from %s", len(removed), self.out_dir)

    def after_train_epoch(self, runner: BaseRunner) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval) or (self.save_last and self.is_last_epoch(runner)):
            self._save(runner, runner.completed_epochs)

    def due_iter(self, runner: BaseRunner, stage: str) -> int:
        """``after_train_iter`` is due at the interval (and at the last iteration with ``save_last``)."""
        cur = runner.iter
        if stage != "after_train_iter" or type(self).after_train_iter is not CheckpointHook.after_train_iter:
            return cur
        if self.by_epoch:
            return NEVER
        due = next_multiple(cur, self.interval)
        last = (runner.max_iters or 0) - 1
        return min(due, last) if self.save_last and last >= cur else due

    @keeps_train_mode
    def after_train_iter(self, runner: BaseRunner) -> None:
        if self.by_epoch:
            return
        if self.every_n_iters(runner, self.interval) or (self.save_last and self.is_last_iter(runner)):
            self._save(runner, runner.completed_iters)

    def _save(self, runner: BaseRunner, number: int) -> None:
        if self.defer is not None and self.defer(runner):
            self.pending = number  # written once, with the deferring hook's state, by `write_pending`
            return
        self._write(runner, number)

    def write_pending(self, runner: BaseRunner) -> str | None:
        """Write the save deferred to this point, if any; its path on rank 0 (None when nothing was written)."""
        if self.pending is None:
            return None
        number, self.pending = self.pending, None
        return self._write(runner, number)

    def _write(self, runner: BaseRunner, number: int) -> str | None:
        if self.sync_buffer:
            from runnerkit.hooks.sync_buffer import allreduce_buffers

            allreduce_buffers(list(runner.model.buffers()))
        runner.gather_rank_states()  # every rank takes part; rank 0 saves them
        from runnerkit.runners.checkpointing import every_rank_saves

        if runner.rank != 0 and not every_rank_saves(runner, self.sharded):
            return None
        assert self.out_dir is not None
        filename = self.filename_tmpl.format(number)
        if filename in self.saved:  # e.g. save_last at an interval step
            return os.path.join(self.out_dir, filename)
        runner.logger.info("Saving checkpoint at %d %s", number, "epochs" if self.by_epoch else "iterations")
        options: dict[str, Any] = {}
        if self.sharded is not None:
            options["sharded"] = self.sharded
        if self.async_save:
            options["async_save"] = True
        if self.max_keep_ckpts > 0:  # once the new checkpoint is complete (in the background when async)
            options["on_written"] = self._rotate
        path = runner.save_checkpoint(
            self.out_dir, filename_tmpl=filename, save_optimizer=self.save_optimizer,
            create_symlink=self.create_symlink, meta=self.save_meta, **options,
        )
        runner.meta = runner.meta if runner.meta is not None else {}
        runner.meta.setdefault("hook_msgs", {})["last_ckpt"] = path
        self.saved.append(filename)
        self.saved = self.saved[-1:]  # only the last one matters (a save_last at an interval step)
        return path

    def _rotate(self, path: str) -> None:
        """Keep the newest ``max_keep_ckpts`` checkpoints (files or sharded folders; SIGTERM ones too) besides ``path``."""
        from runnerkit.checkpoint_sharded import remove_checkpoint

        assert self.out_dir is not None
        on_disk = rotation_candidates(self.out_dir, self.filename_tmpl)  # SIGTERM checkpoints too
        for old in [p for p in on_disk if os.path.abspath(p) != os.path.abspath(path)][: max(0, len(on_disk) - self.max_keep_ckpts)]:
            remove_checkpoint(old)

    def after_run(self, runner: BaseRunner) -> None:
        """Wait for a checkpoint still being written in the background."""
        from runnerkit.checkpoint_async import wait_pending

        wait_pending()

    def state_dict(self) -> dict[str, Any]:
        return {"saved": list(self.saved)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.saved = list(state.get("saved", []))
