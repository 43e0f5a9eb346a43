"""``register_training_hooks``: mmcv's config shapes to registered hooks (mixed into ``BaseRunner``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runnerkit._build import copy_plain
from runnerkit.hooks.builder import build_hook
from runnerkit.hooks.hook import Hook
from runnerkit.hooks.lr_updater import lr_hook_cfg
from runnerkit.hooks.momentum_updater import momentum_hook_cfg

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

HookConfig = Mapping[str, Any] | Hook | None


class TrainingHooksMixin:
    """Registers the standard hooks from mmcv-shaped configs. Callers' dicts are never mutated."""

    #: the ``by_epoch`` default for lr/momentum/checkpoint/logger configs (False for IterBasedRunner).
    by_epoch_default = True

    def register_training_hooks(
        self: BaseRunner,
        lr_config: HookConfig,
        optimizer_config: HookConfig = None,
        checkpoint_config: HookConfig = None,
        log_config: Mapping[str, Any] | None = None,
        momentum_config: HookConfig = None,
        timer_config: HookConfig = {"type": "IterTimerHook"},  # noqa: B006 - mmcv's default, never mutated
        custom_hooks_config: Sequence[Any] | Mapping[str, Any] | Hook | None = None,
    ) -> None:
        """Register the default hooks in mmcv's order and priorities.

        * lr (VERY_HIGH): ``dict(policy="step", step=[8, 11], warmup="linear", ...)``
        * momentum (HIGH): ``dict(policy="cyclic", ...)``
        * optimizer (ABOVE_NORMAL): ``dict(grad_clip=dict(max_norm=35))``, ``type`` defaults to ``OptimizerHook``
        * checkpoint (NORMAL): ``dict(interval=1, max_keep_ckpts=3)``
        * timer (LOW): ``dict(type="IterTimerHook")``
        * loggers (VERY_LOW): ``dict(interval=50, hooks=[dict(type="TextLoggerHook")])``
        * custom hooks: a list of ``dict(type=..., priority=...)`` or hook objects
        """
        self.register_lr_hook(lr_config)
        self.register_momentum_hook(momentum_config)
        self.register_optimizer_hook(optimizer_config)
        self.register_checkpoint_hook(checkpoint_config)
        self.register_timer_hook(timer_config)
        self.register_logger_hooks(log_config)
        self.register_custom_hooks(custom_hooks_config)

    def _hook(self: BaseRunner, cfg: HookConfig, default_type: str | None, by_epoch: bool) -> Hook | None:
        if cfg is None:
            return None
        if isinstance(cfg, Hook):
            return cfg
        if not isinstance(cfg, Mapping):
            raise TypeError(f"A hook config must be a dict or a Hook, got {type(cfg).__name__} `{cfg!r:.80}`.")
        args = copy_plain(cfg)
        if default_type is not None:
            args.setdefault("type", default_type)
        if by_epoch and not self.by_epoch_default:
            args.setdefault("by_epoch", False)
        return build_hook(args, self.container)

    def register_lr_hook(self: BaseRunner, lr_config: HookConfig) -> None:
        """``lr_config=dict(policy="step", ...)`` -> ``StepLrUpdaterHook`` at VERY_HIGH."""
        self._register_schedule(lr_config, lr_hook_cfg, "VERY_HIGH")

    def register_momentum_hook(self: BaseRunner, momentum_config: HookConfig) -> None:
        """``momentum_config=dict(policy="cyclic", ...)`` -> ``CyclicMomentumUpdaterHook`` at HIGH."""
        self._register_schedule(momentum_config, momentum_hook_cfg, "HIGH")

    def _register_schedule(self: BaseRunner, config: HookConfig, to_hook_cfg: Callable[..., Any], priority: str) -> None:
        if config is None:
            return
        if isinstance(config, Mapping):
            # mmcv defaults by_epoch=False for IterBasedRunner only: an explicit True breaks policy='cyclic'.
            config = to_hook_cfg(config, None if self.by_epoch_default else False)
        hook = self._hook(config, None, by_epoch=False)
        assert hook is not None
        self.register_hook(hook, priority=priority)

    def register_optimizer_hook(self: BaseRunner, optimizer_config: HookConfig) -> None:
        """``optimizer_config=dict(grad_clip=...)`` -> ``OptimizerHook`` at ABOVE_NORMAL."""
        hook = self._hook(optimizer_config, "OptimizerHook", by_epoch=False)
        if hook is not None:
            self.register_hook(hook, priority="ABOVE_NORMAL")

    def register_checkpoint_hook(self: BaseRunner, checkpoint_config: HookConfig) -> None:
        """``checkpoint_config=dict(interval=1)`` -> ``CheckpointHook`` at NORMAL."""
        hook = self._hook(checkpoint_config, "CheckpointHook", by_epoch=True)
        if hook is not None:
            self.register_hook(hook, priority="NORMAL")

    def register_timer_hook(self: BaseRunner, timer_config: HookConfig) -> None:
        """``timer_config=dict(type="IterTimerHook")`` at LOW."""
        hook = self._hook(timer_config, None, by_epoch=False)
        if hook is not None:
            self.register_hook(hook, priority="LOW")

    def register_logger_hooks(self: BaseRunner, log_config: Mapping[str, Any] | None) -> None:
        """``log_config=dict(interval=50, hooks=[dict(type="TextLoggerHook")])`` at VERY_LOW."""
        if log_config is None:
            return
        if not isinstance(log_config, Mapping):
            raise TypeError(f"`log_config` must be a dict with `interval` and `hooks`, got {type(log_config).__name__}.")
        interval = log_config.get("interval", 10)
        for info in log_config.get("hooks", []):
            if isinstance(info, Mapping):
                info = {"interval": interval, **info}
            hook = self._hook(info, None, by_epoch=True)
            assert hook is not None
            self.register_hook(hook, priority="VERY_LOW")

    def register_custom_hooks(self: BaseRunner, custom_config: Sequence[Any] | Mapping[str, Any] | Hook | None) -> None:
        """A list of ``dict(type=..., priority=...)`` or hook objects.

        Without a ``priority``, a hook gets its class's ``priority`` (``NORMAL`` for most hooks,
        ``VERY_LOW`` for loggers and the progress bar).
        """
        if custom_config is None:
            return
        items = [custom_config] if isinstance(custom_config, (Mapping, Hook)) else list(custom_config)
        for item in items:
            if isinstance(item, Mapping):
                self.register_hook_from_cfg(item)
            else:
                self.register_hook(item)
