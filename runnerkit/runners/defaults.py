"""mmcv's defaults, above the loop: config shapes to hook names, default priorities, registration.

``runner.register_training_hooks(lr_config, optimizer_config, ...)`` calls
:func:`register_training_hooks` here. Everything mmcv decides by convention lives in this
module: which hook a ``policy`` names (:func:`lr_hook_cfg`, :func:`momentum_hook_cfg`), which
hook a section builds when it names none (:data:`DEFAULT_TYPES`), at which priority each
section's hook runs (:data:`PRIORITIES`), and that an ``IterBasedRunner`` counts in iterations
(``by_epoch=False``) unless a config says otherwise. Hooks are built by name through the
runner's container, so this module imports no concrete hook; it uses only the runner's public
``register_hook``, ``register_hook_from_cfg``, ``container`` and ``loop.by_epoch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runnerkit._build import copy_plain
from runnerkit._errors import ConfigError
from runnerkit.hooks.builder import build_hook
from runnerkit.hooks.hook import Hook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = [
    "DEFAULT_TYPES", "PRIORITIES", "HookConfig", "lr_hook_cfg", "momentum_hook_cfg", "policy_hook_cfg",
    "register_checkpoint_hook", "register_custom_hooks", "register_logger_hooks", "register_lr_hook",
    "register_momentum_hook", "register_optimizer_hook", "register_timer_hook", "register_training_hooks",
]


HookConfig = Mapping[str, Any] | Hook | None

#: the priority of each section's hook (mmcv's order: lr, momentum, optimizer, checkpoint, timer, loggers).
PRIORITIES: dict[str, str] = {
    "lr_config": "VERY_HIGH",
    "momentum_config": "HIGH",
    "optimizer_config": "ABOVE_NORMAL",
    "checkpoint_config": "NORMAL",
    "timer_config": "LOW",
    "log_config": "VERY_LOW",
}
#: the hook a section builds when its config has no ``type``.
DEFAULT_TYPES: dict[str, str] = {
    "optimizer_config": "OptimizerHook",
    "checkpoint_config": "CheckpointHook",
}
#: the sections whose hooks take mmcv's runner-dependent ``by_epoch`` default.
_BY_EPOCH_SECTIONS = ("checkpoint_config", "log_config")


# -- policy -> hook name -------------------------------------------------------------------------

def policy_hook_cfg(config: Mapping[str, Any] | Hook | None, suffix: str, section: str,
                    by_epoch_default: bool | None) -> dict[str, Any] | Hook | None:
    """A hook config ``dict(type=..., ...)`` from mmcv's ``dict(policy=..., ...)`` shape (a copy).

    ``policy="step"`` becomes ``type="Step" + suffix``: an all-lower-case policy is ``.title()``'d,
    one with capitals (``"CosineAnnealing"``) is kept. A ``type=`` key is kept as it is. A hook or
    None passes through. ``by_epoch_default`` (None: none) fills a missing ``by_epoch``.
    """
    if config is None or isinstance(config, Hook):
        return config
    if not isinstance(config, Mapping):
        raise TypeError(
            f"`{section}` must be a dict like dict(policy='step', ...), a Hook or None, "
            f"got {type(config).__name__} `{config!r:.80}`."
        )
    cfg: dict[str, Any] = copy_plain(config)
    if "policy" in cfg and "type" in cfg:
        raise ConfigError(
            f"`{section}` has both `policy={cfg['policy']!r}` and `type={cfg['type']!r}`; keep one of them "
            f"(`policy='step'` means `type='Step{suffix}'`)."
        )
    if "policy" in cfg:
        policy = cfg.pop("policy")
        if not isinstance(policy, str) or not policy:
            raise ConfigError(f"`{section}` has policy={policy!r}; expected a schedule name such as 'step'.")
        if policy == policy.lower():
            policy = policy.title()
        cfg["type"] = policy + suffix
    elif "type" not in cfg:
        keys = ", ".join(f"`{k}`" for k in cfg) or "no keys"
        raise ConfigError(
            f"`{section}` has no `policy` key (it has {keys}); add one, e.g. `policy='step'`, or name the "
            f"hook with `type='Step{suffix}'`."
        )
    if by_epoch_default is not None:
        cfg.setdefault("by_epoch", by_epoch_default)
    return cfg


def lr_hook_cfg(lr_config: Mapping[str, Any] | Hook | None,
                by_epoch_default: bool | None = None) -> dict[str, Any] | Hook | None:
    """The hook config for mmcv's ``lr_config`` (as mmcv's ``register_lr_hook``); the input is not mutated.

    ``policy="step"`` gives ``type="StepLrUpdaterHook"`` (an all-lower-case policy is ``.title()``'d,
    ``"CosineAnnealing"`` is kept); a ``type=`` key is used as it is; a hook or None passes through.

    Args:
        lr_config: ``dict(policy=..., **hook_args)``, ``dict(type=..., ...)``, a hook, or None.
        by_epoch_default: the ``by_epoch`` to use when the config has none (``False`` for
            ``IterBasedRunner``, as mmcv); None leaves it to the hook's default.

    Example:
        >>> lr_hook_cfg(dict(policy="cyclic", target_ratio=(10, 1e-4)), by_epoch_default=False)
        {'target_ratio': (10, 0.0001), 'type': 'CyclicLrUpdaterHook', 'by_epoch': False}
    """
    return policy_hook_cfg(lr_config, "LrUpdaterHook", "lr_config", by_epoch_default)


def momentum_hook_cfg(momentum_config: Mapping[str, Any] | Hook | None,
                      by_epoch_default: bool | None = None) -> dict[str, Any] | Hook | None:
    """The hook config for mmcv's ``momentum_config`` (as mmcv's ``register_momentum_hook``); not mutated.

    ``policy="cyclic"`` gives ``type="CyclicMomentumUpdaterHook"``; otherwise as :func:`lr_hook_cfg`.

    Example:
        >>> momentum_hook_cfg(dict(policy="cyclic", target_ratio=(0.85 / 0.95, 1)))["type"]
        'CyclicMomentumUpdaterHook'
    """
    return policy_hook_cfg(momentum_config, "MomentumUpdaterHook", "momentum_config", by_epoch_default)


# -- registration ------------------------------------------------------------------------------

def register_training_hooks(
    runner: BaseRunner,
    lr_config: HookConfig,
    optimizer_config: HookConfig = None,
    checkpoint_config: HookConfig = None,
    log_config: Mapping[str, Any] | None = None,
    momentum_config: HookConfig = None,
    timer_config: HookConfig = {"type": "IterTimerHook"},  # noqa: B006 - mmcv's default, never mutated
    custom_hooks_config: Sequence[Any] | Mapping[str, Any] | Hook | None = None,
) -> None:
    """Register the standard hooks on ``runner`` in mmcv's order and priorities (:data:`PRIORITIES`)."""
    register_lr_hook(runner, lr_config)
    register_momentum_hook(runner, momentum_config)
    register_optimizer_hook(runner, optimizer_config)
    register_checkpoint_hook(runner, checkpoint_config)
    register_timer_hook(runner, timer_config)
    register_logger_hooks(runner, log_config)
    register_custom_hooks(runner, custom_hooks_config)


def _register(runner: BaseRunner, cfg: HookConfig, section: str) -> None:
    """Build ``cfg`` (a dict or a Hook; None: nothing) and register it at the section's priority."""
    if cfg is None:
        return
    if isinstance(cfg, Hook):
        hook = cfg
    elif isinstance(cfg, Mapping):
        args = copy_plain(cfg)
        if section in DEFAULT_TYPES:
            args.setdefault("type", DEFAULT_TYPES[section])
        if section in _BY_EPOCH_SECTIONS and not runner.loop.by_epoch:
            args.setdefault("by_epoch", False)
        hook = build_hook(args, runner.container)
    else:
        raise TypeError(f"A hook config must be a dict or a Hook, got {type(cfg).__name__} `{cfg!r:.80}`.")
    runner.register_hook(hook, priority=PRIORITIES[section])


def register_lr_hook(runner: BaseRunner, lr_config: HookConfig) -> None:
    """``lr_config=dict(policy="step", ...)`` -> ``StepLrUpdaterHook`` at VERY_HIGH."""
    # mmcv defaults by_epoch=False for IterBasedRunner only: an explicit True breaks policy='cyclic'.
    _register(runner, lr_hook_cfg(lr_config, None if runner.loop.by_epoch else False), "lr_config")


def register_momentum_hook(runner: BaseRunner, momentum_config: HookConfig) -> None:
    """``momentum_config=dict(policy="cyclic", ...)`` -> ``CyclicMomentumUpdaterHook`` at HIGH."""
    _register(runner, momentum_hook_cfg(momentum_config, None if runner.loop.by_epoch else False), "momentum_config")


def register_optimizer_hook(runner: BaseRunner, optimizer_config: HookConfig) -> None:
    """``optimizer_config=dict(grad_clip=...)`` -> ``OptimizerHook`` at ABOVE_NORMAL."""
    _register(runner, optimizer_config, "optimizer_config")


def register_checkpoint_hook(runner: BaseRunner, checkpoint_config: HookConfig) -> None:
    """``checkpoint_config=dict(interval=1)`` -> ``CheckpointHook`` at NORMAL."""
    _register(runner, checkpoint_config, "checkpoint_config")


def register_timer_hook(runner: BaseRunner, timer_config: HookConfig) -> None:
    """``timer_config=dict(type="IterTimerHook")`` at LOW."""
    _register(runner, timer_config, "timer_config")


def register_logger_hooks(runner: BaseRunner, log_config: Mapping[str, Any] | None) -> None:
    """``log_config=dict(interval=50, hooks=[dict(type="TextLoggerHook")])`` at VERY_LOW."""
    if log_config is None:
        return
    if not isinstance(log_config, Mapping):
        raise TypeError(f"`log_config` must be a dict with `interval` and `hooks`, got {type(log_config).__name__}.")
    interval = log_config.get("interval", 10)
    for info in log_config.get("hooks", []):
        if info is None:
            raise TypeError("`log_config.hooks` holds None; give dicts like dict(type='TextLoggerHook') or hooks.")
        _register(runner, {"interval": interval, **info} if isinstance(info, Mapping) else info, "log_config")


def register_custom_hooks(runner: BaseRunner, custom_config: Sequence[Any] | Mapping[str, Any] | Hook | None) -> None:
    """A list of ``dict(type=..., priority=...)`` or hook objects.

    Without a ``priority``, a hook gets its class's ``priority`` (``NORMAL`` for most hooks,
    ``VERY_LOW`` for loggers and the progress bar).
    """
    if custom_config is None:
        return
    items = [custom_config] if isinstance(custom_config, (Mapping, Hook)) else list(custom_config)
    for item in items:
        if isinstance(item, Mapping):
            runner.register_hook_from_cfg(item)
        else:
            runner.register_hook(item)
