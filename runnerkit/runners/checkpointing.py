"""Saving, resuming and loading checkpoints from a runner (mixed into ``BaseRunner``)."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runnerkit import _mmcv_checkpoint as mmcv_checkpoint
from runnerkit import checkpoint as ckpt_io
from runnerkit import dist as dist_utils
from runnerkit._version import __version__
from runnerkit.dist import unwrap_model

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

FORMAT = 1


class CheckpointMixin:
    """``save_checkpoint``, ``resume`` and ``load_checkpoint`` (mmcv names and file layout).

    Besides mmcv's ``meta``/``state_dict``/``optimizer``, a checkpoint holds ``runnerkit``:
    the loop position (including where each data loader is in its pass), the RNG states and
    every hook's ``state_dict()``, so that :meth:`resume` continues exactly.
    """

    #: the file name template used when the caller gives none (``epoch_{}.pth`` / ``iter_{}.pth``).
    default_filename_tmpl = "epoch_{}.pth"
    _resume_flow: tuple[int, int] | None
    meta: dict[str, Any] | None
    _pending_resume: dict[str, Any] | None
    #: every rank's RNG states and data positions, gathered for rank 0's next checkpoint.
    _rank_states: tuple[tuple[Any, ...], list[Any]] | None = None

    # -- progress the subclasses report --------------------------------------------------

    def _progress_meta(self: BaseRunner) -> dict[str, int]:
        """mmcv's ``meta`` counters: ``epoch`` and ``iter`` as mmcv writes them."""
        return {"epoch": self.completed_epochs, "iter": self.completed_iters}

    def _filename_number(self: BaseRunner) -> int:
        return self.completed_epochs

    def _loop_state(self: BaseRunner) -> dict[str, Any]:
        return {
            "epoch": self.completed_epochs if self._epoch_done else self._epoch,
            "iter": self.completed_iters,
            "inner_iter": self._inner_iter + (1 if self._iter_done else 0),
            "epoch_done": self._epoch_done,
            "flow": [self._flow_cursor[0], self._flow_cursor[1] + (1 if self._flow_step_done() else 0)],
            "loaders": {str(i): it.state_dict() for i, it in self._pass_iterators.items()},
        }

    # -- saving ------------------------------------------------------------------------------

    def save_checkpoint(
        self: BaseRunner,
        out_dir: str | os.PathLike[str],
        filename_tmpl: str | None = None,
        save_optimizer: bool = True,
        meta: dict[str, Any] | None = None,
        create_symlink: bool = True,
    ) -> str:
        """Write a checkpoint atomically into ``out_dir`` and return its path.

        Args:
            out_dir: the folder (created if needed).
            filename_tmpl: e.g. ``"epoch_{}.pth"``, formatted with the completed epochs
                (``EpochBasedRunner``) or iterations (``IterBasedRunner``).
            save_optimizer: also save the optimizer state(s).
            meta: extra metadata (a dict), merged over the runner's ``meta``.
            create_symlink: point ``last_checkpoint`` (and ``latest.pth``) at the new file.
        """
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"`meta` should be a dict or None, got {type(meta).__name__}.")
        self.finite_guard.check_before_save()  # never write non-finite weights
        tmpl = filename_tmpl or self.default_filename_tmpl
        filename = tmpl.format(self._filename_number())
        out_dir = ckpt_io.local_dir(out_dir, "out_dir")
        path = os.path.join(out_dir, filename)
        full_meta: dict[str, Any] = dict(self.meta or {})
        full_meta.update(meta or {})
        classes = getattr(unwrap_model(self.model), "CLASSES", None)
        if classes is not None:  # mmcv stores the model's class names with its weights
            full_meta["CLASSES"] = classes
        full_meta.update(self._progress_meta())
        full_meta.update(runnerkit_version=__version__, time=time.asctime())
        checkpoint: dict[str, Any] = {
            "meta": ckpt_io.plain(full_meta),
            "state_dict": ckpt_io.to_cpu(unwrap_model(self.model).state_dict()),
        }
        if save_optimizer and self.optimizer is not None:
            if isinstance(self.optimizer, dict):
                checkpoint["optimizer"] = {k: opt.state_dict() for k, opt in self.optimizer.items()}
            else:
                checkpoint["optimizer"] = self.optimizer.state_dict()
        checkpoint["runnerkit"] = {
            "format": FORMAT,
            "loop": self._loop_state(),
            "rng": ckpt_io.get_rng_state(),
            "hooks": {key: hook.state_dict() for key, hook in self._hook_keys().items()},
        }
        if self._rank_states is not None and self._rank_states[0] == self._position_key():
            checkpoint["runnerkit"]["ranks"] = self._rank_states[1]
        ckpt_io.atomic_save(checkpoint, path)
        if create_symlink:
            ckpt_io.write_latest(out_dir, filename)
        return path

    def gather_rank_states(self: BaseRunner) -> None:
        """Collect every rank's RNG states and data positions for rank 0's next checkpoint.

        A collective: under torch.distributed every rank must call it (``CheckpointHook`` does,
        right before rank 0 saves); a checkpoint saved at the same loop position then holds them
        under ``runnerkit.ranks``, and :meth:`resume` gives each rank its own. A no-op in one
        process. ``save_checkpoint`` itself never communicates, so rank 0 may call it alone.
        """
        if self.world_size > 1:
            own = {"rng": ckpt_io.get_rng_state(), "loaders": self._loop_state()["loaders"]}
            self._rank_states = (self._position_key(), dist_utils.all_gather_object(own))

    def _position_key(self: BaseRunner) -> tuple[Any, ...]:
        return (self.completed_iters, self.completed_epochs, self._inner_iter, self.mode, self._flow_cursor)

    def _own_saved_state(self: BaseRunner, state: dict[str, Any]) -> dict[str, Any]:
        """This rank's RNG states and data positions in a checkpoint's ``runnerkit`` state."""
        ranks = state.get("ranks")
        if ranks is not None and len(ranks) == self.world_size:
            return dict(ranks[self.rank])
        if ranks is None and self.world_size > 1:
            warnings.warn(
                f"The checkpoint holds rank 0's RNG states and data positions only (it was saved by one process, or "
                f"without `gather_rank_states()` on every rank first), and {self.world_size} processes resume it: every "
                "rank continues from rank 0's, so the run does not continue exactly as it would have.",
                stacklevel=3,
            )
        elif ranks is not None:
            warnings.warn(
                f"The checkpoint was saved by {len(ranks)} processes and {self.world_size} resume it: every rank "
                "continues from rank 0's RNG states and data positions, so the run does not continue exactly as it "
                f"would have. Resume with {len(ranks)} processes for that.",
                stacklevel=3,
            )
        return {"rng": state["rng"], "loaders": state["loop"].get("loaders", {})}

    def _hook_keys(self: BaseRunner) -> dict[str, Any]:
        keys: dict[str, Any] = {}
        for hook in self._hooks:
            name = type(hook).__name__
            key, n = name, 1
            while key in keys:
                key, n = f"{name}#{n}", n + 1
            keys[key] = hook
        return keys

    # -- loading -------------------------------------------------------------------------

    def load_checkpoint(
        self: BaseRunner,
        filename: str | os.PathLike[str],
        map_location: Any = "cpu",
        strict: bool = False,
        revise_keys: Sequence[tuple[str, str]] = ((r"^module\.", ""),),
        weights_only: bool = True,
    ) -> dict[str, Any]:
        """Load model weights from ``filename`` (mmcv ``load_checkpoint``) and return the checkpoint.

        Keys are revised by ``revise_keys`` (default: strip a DDP ``module.`` prefix). Loads with
        ``weights_only=True`` unless the caller opts out for a trusted file.
        """
        self.logger.info("load checkpoint from %s", filename)
        checkpoint = ckpt_io.load_file(os.fspath(filename), map_location, weights_only)
        checkpoint = mmcv_checkpoint.split_ema(checkpoint, unwrap_model(self.model))  # mmcv's EMA buffers
        missing, unexpected = ckpt_io.load_weights(
            unwrap_model(self.model), checkpoint, os.fspath(filename), strict=strict, revise_keys=revise_keys
        )
        if missing or unexpected:
            self.logger.warning(
                "Checkpoint `%s` did not match the model: missing keys %s, unexpected keys %s", filename, missing, unexpected
            )
        return checkpoint

    def resume(
        self: BaseRunner,
        checkpoint: str | os.PathLike[str],
        resume_optimizer: bool = True,
        map_location: Any = "cpu",
        weights_only: bool = True,
    ) -> None:
        """Continue from ``checkpoint`` (a file, or a work dir to take its latest checkpoint).

        Weights, optimizer state, counters, hook states, RNG states and every data loader's
        position are restored, so a resumed run ends with the same weights as one never
        stopped. Works on CPU-only machines (``map_location="cpu"``).
        """
        path = os.fspath(checkpoint)
        if os.path.isdir(path):
            latest = ckpt_io.find_latest(path)
            if latest is None:
                raise FileNotFoundError(f"No checkpoint to resume from in `{path}` (no `last_checkpoint` or `latest.pth`).")
            path = latest
        if map_location == "default":
            map_location = "cpu"
        ckpt = self.load_checkpoint(path, map_location=map_location, strict=True, weights_only=weights_only)
        if resume_optimizer and "optimizer" in ckpt and self.optimizer is not None:
            if isinstance(self.optimizer, dict):
                saved = ckpt["optimizer"] if isinstance(ckpt["optimizer"], dict) else {}
                for name, opt in self.optimizer.items():
                    ckpt_io.load_optimizer_state(opt, saved.get(name), path, name)
            else:
                ckpt_io.load_optimizer_state(self.optimizer, ckpt["optimizer"], path)
        meta: dict[str, Any] = ckpt.get("meta", {})
        runner_meta: dict[str, Any] = self.meta if self.meta is not None else {}
        runner_meta.setdefault("hook_msgs", {}).update(meta.get("hook_msgs", {}))
        self.meta = runner_meta
        state = ckpt.get("runnerkit")
        if state is None:  # an mmcv-era checkpoint: counters only
            warnings.warn(
                f"`{path}` has no runnerkit state (an mmcv 1.x checkpoint?): resuming weights, optimizer, epoch and "
                "iteration, but exact continuation is not possible (it holds no data position or RNG states).",
                stacklevel=2,
            )
            self._resume_counters_from_meta(meta)
            mmcv_checkpoint.resume_ema(self, ckpt)
        else:
            try:
                loop = state["loop"]
                self._epoch = int(loop["epoch"])
                self._iter = int(loop["iter"])
                self._inner_iter = int(loop["inner_iter"])
                if "flow" in loop:
                    self._resume_flow = (int(loop["flow"][0]), int(loop["flow"][1]))
            except (KeyError, TypeError, ValueError, IndexError) as err:
                raise ckpt_io.CheckpointError(
                    path, f"has a malformed `runnerkit` section ({type(err).__name__}: {err}); it was not written by "
                    "runnerkit's `save_checkpoint`, or it is damaged."
                ) from err
            self._pending_resume = state
            self._apply_hook_states(state.get("hooks", {}))
        self.logger.info("resumed epoch %d, iter %d", self.epoch, self.iter)

    def _resume_counters_from_meta(self: BaseRunner, meta: dict[str, Any]) -> None:
        self._epoch = int(meta.get("epoch", 0))
        self._iter = int(meta.get("iter", 0))

    def _apply_hook_states(self: BaseRunner, states: dict[str, Any]) -> None:
        for key, hook in self._hook_keys().items():
            if key in states:
                hook.load_state_dict(states[key])
                self._applied_hook_states.add(key)
        self._pending_hook_states = states

    def _restore_run_state(self: BaseRunner) -> None:
        """At the start of ``run``: put data loaders and RNGs where the checkpoint left them."""
        state = self._pending_resume
        if state is None:
            return
        self._pending_resume = None
        for key, hook in self._hook_keys().items():
            if key in self._pending_hook_states and key not in self._applied_hook_states:
                hook.load_state_dict(self._pending_hook_states[key])
        own = self._own_saved_state(state)
        for index, loader_state in own["loaders"].items():
            iterator = self._pass_iterators.get(int(index))
            if iterator is not None:
                iterator.load_state_dict(loader_state)
        ckpt_io.set_rng_state(own["rng"])


