"""Models and optimizer configs whose parameter groups are compared with mmcv 1.7.2's (torch only, no runnerkit).

``make_optimizer_groups.py`` builds each case with real mmcv's ``build_optimizer`` once and stores the
groups in ``optimizer_groups.json``; the tests build them with runnerkit and compare.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class DeformLike(nn.Module):
    """Shaped like a deformable convolution (own ``weight``, a ``conv_offset`` child) but not one."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels, channels, 3, 3))
        self.conv_offset = nn.Conv2d(channels, 18, 3, padding=1)


class DeformConv2d(DeformLike):
    """Stands in for ``mmcv.ops.DeformConv2d`` (the generator installs it as that)."""


class ModulatedDeformConv2d(DeformLike):
    """Stands in for ``mmcv.ops.ModulatedDeformConv2d``."""


class ModulatedDeformConv2dPack(ModulatedDeformConv2d):
    """A subclass, as mmcv.ops' ``*Pack`` layers are."""


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(
            nn.Conv2d(8, 8, 3, groups=8),  # depthwise
            nn.GroupNorm(2, 8),
            nn.Conv2d(8, 16, 1, groups=2),  # grouped, not depthwise
            nn.SyncBatchNorm(16),
            nn.InstanceNorm2d(16, affine=True),
        )
        self.stem_1x1 = nn.Conv2d(1, 4, 1)  # in_channels == groups == 1: depthwise by mmcv's test


class Detector(nn.Module):
    """Convs (plain, depthwise, grouped), BN/SyncBN/GN/IN/LN, biases, a DCN-like neck, a top-level token."""

    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 4))
        self.backbone = Backbone()
        self.neck = nn.ModuleDict({"dcn": DeformConv2d(16), "mdcn": ModulatedDeformConv2dPack(16),
                                   "offsets": DeformLike(16), "lateral": nn.Conv2d(16, 8, 1)})
        self.head = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.Linear(8, 3))
        self.aaaa_bbbb = nn.Linear(2, 2)  # matched by two custom keys of one length


def detector_frozen() -> nn.Module:
    model = Detector()
    for p in model.backbone.conv1.parameters():
        p.requires_grad_(False)
    model.backbone.bn1.weight.requires_grad_(False)
    return model


class Tied(nn.Module):
    """A language-model-like pair of modules sharing one weight (and a wrapper's ``.module``)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.body = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6))
        self.out = nn.Linear(6, 10)
        self.out.weight = self.embed.weight


class Wrapped(nn.Module):
    """A DataParallel-like wrapper: constructors use its ``.module``."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.module = inner


def tied_frozen() -> nn.Module:
    model = Tied()
    model.embed.weight.requires_grad_(False)
    return model


MODELS: dict[str, Any] = {
    "detector": Detector,
    "detector_frozen": detector_frozen,
    "tied": Tied,
    "tied_frozen": tied_frozen,
    "wrapped_tied": lambda: Wrapped(Tied()),
}

SGD = {"type": "SGD", "lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001}
ADAMW = {"type": "AdamW", "lr": 0.0006, "betas": (0.9, 0.999), "weight_decay": 0.05}
CUSTOM = {
    "backbone": {"lr_mult": 0.1},
    "backbone.layer1": {"lr_mult": 0.5, "decay_mult": 0.0},
    "head": {"decay_mult": 2.0},
    ".cls_token": {"decay_mult": 0.0},
    "bn1": {"lr_mult": 3.0, "decay_mult": 0.5},
    "bbbb": {"lr_mult": 7.0},
    "aaaa": {"lr_mult": 5.0},
    "neck.dcn": {"lr_mult": 0.25},
}
ALL_RULES = {
    "bias_lr_mult": 2.0, "bias_decay_mult": 0.0, "norm_decay_mult": 0.0, "dwconv_decay_mult": 0.1,
    "dcn_offset_lr_mult": 0.1,
}

#: name -> (model, optimizer config as written in a config file, with `paramwise_cfg`)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "no_paramwise": ("detector", dict(SGD)),
    "empty_paramwise": ("detector", {**SGD, "paramwise_cfg": {}}),
    "norm_decay_mult": ("detector", {**SGD, "paramwise_cfg": {"norm_decay_mult": 0.0}}),
    "bias_mults": ("detector", {**SGD, "paramwise_cfg": {"bias_lr_mult": 2.0, "bias_decay_mult": 0.0}}),
    "dwconv_decay_mult": ("detector", {**SGD, "paramwise_cfg": {"dwconv_decay_mult": 0.1}}),
    "dcn_offset_lr_mult": ("detector", {**SGD, "paramwise_cfg": {"dcn_offset_lr_mult": 0.1, "bias_lr_mult": 2.0}}),
    "custom_keys": ("detector", {**SGD, "paramwise_cfg": {"custom_keys": CUSTOM}}),
    "custom_keys_and_rules": ("detector", {**ADAMW, "paramwise_cfg": {"custom_keys": CUSTOM, **ALL_RULES}}),
    "all_rules": ("detector", {**SGD, "paramwise_cfg": ALL_RULES}),
    "frozen": ("detector_frozen", {**SGD, "paramwise_cfg": {**ALL_RULES, "custom_keys": {"bn1": {"lr_mult": 0.0}}}}),
    "no_weight_decay": ("detector", {"type": "Adam", "lr": 0.001, "paramwise_cfg": {"bias_lr_mult": 2.0,
                                                                                   "dcn_offset_lr_mult": 0.5,
                                                                                   "custom_keys": {"head": {"lr_mult": 0.1}}}}),
    "tied_no_paramwise": ("tied", dict(SGD)),
    "tied_bypass_duplicate": ("tied", {**SGD, "paramwise_cfg": {"bypass_duplicate": True, "norm_decay_mult": 0.0}}),
    "tied_duplicate_error": ("tied", {**SGD, "paramwise_cfg": {"norm_decay_mult": 0.0}}),
    "tied_frozen_bypass": ("tied_frozen", {**SGD, "paramwise_cfg": {"bypass_duplicate": True}}),
    "wrapped_bypass": ("wrapped_tied", {**SGD, "paramwise_cfg": {"bypass_duplicate": True, "bias_lr_mult": 0.5}}),
}


def describe_groups(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Each parameter group as JSON data: its parameters' names (in order) and every other key."""
    inner = model.module if hasattr(model, "module") else model
    names: dict[int, str] = {}
    for name, param in inner.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), name)
    groups = []
    for group in optimizer.param_groups:
        entry: dict[str, Any] = {"params": [names[id(p)] for p in group["params"]]}
        for key, value in sorted(group.items()):
            if key != "params":
                entry[key] = list(value) if isinstance(value, tuple) else value
        groups.append(entry)
    return groups
