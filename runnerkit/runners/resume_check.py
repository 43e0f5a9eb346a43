"""Does a checkpoint come from the config that resumes it? What a resume cannot reconcile, said before it applies.

A checkpoint records the runner that wrote it (its class and whether it counts epochs or
iterations) and the state of every hook, the lr and momentum schedules among them. Resuming it
with a runner that counts the other unit is refused: the counters (iteration 600 read as epoch 0,
"finished at epoch 18") and every by-epoch/by-iteration interval would be wrong. Another runner
class or another schedule is a warning: the weights and counters load, the schedule starts over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runnerkit.checkpoint import CheckpointError

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["check_same_config", "saved_runner"]

_SCHEDULES = ("LrUpdaterHook", "MomentumUpdaterHook")


def saved_runner(runner: BaseRunner) -> dict[str, Any]:
    """What a checkpoint records of the runner that writes it (``runnerkit.runner``)."""
    return {"type": type(runner).__name__, "by_epoch": bool(runner.loop.by_epoch)}


def _schedules(keys: Any) -> list[str]:
    return sorted(k for k in keys if isinstance(k, str) and k.split("#")[0].endswith(_SCHEDULES))


def check_same_config(runner: BaseRunner, state: dict[str, Any], path: str) -> None:
    """Refuse a checkpoint counted in the other unit; warn when its runner class or schedule differ."""
    from runnerkit.runners.checkpointing import hook_keys

    name = type(runner).__name__
    saved = state.get("runner")
    notes: list[str] = []
    if isinstance(saved, dict):
        by_epoch = saved.get("by_epoch")
        if isinstance(by_epoch, bool) and by_epoch != bool(runner.loop.by_epoch):
            units = {True: "epochs", False: "iterations"}
            raise CheckpointError(
                path, f"was written by {saved.get('type')} (counting {units[by_epoch]}) and this run's {name} counts "
                f"{units[not by_epoch]}: the checkpoint's counters and schedule cannot continue here. Resume it with "
                "the config that wrote it, or train this config in another work dir (or start over with "
                "`overwrite=True` (config key `overwrite`; deletes those checkpoints))."
            )
        if saved.get("type") != name:
            notes.append(f"the runner was {saved.get('type')}, this run's is {name}")
    hooks = state.get("hooks")
    ours = _schedules(hook_keys(runner.hooks))
    theirs = _schedules(hooks) if isinstance(hooks, dict) else []
    if ours and isinstance(hooks, dict) and theirs != ours:
        notes.append(f"the schedule was {', '.join(theirs) or 'none'}, this run's is {', '.join(ours)} "
                     "(it starts from its own state)")
    if notes:
        runner.logger.warning("Resuming `%s`, written by another config: %s. If this is not the run you meant to "
                              "continue, train this config in another work dir.", path, "; ".join(notes))
