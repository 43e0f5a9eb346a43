"""The stand-in ``mmcv.cnn``: the few bricks the miniatures' models use (mmcv.cnn's names and arguments)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["MODELS", "ConvModule", "build_norm_layer"]


def build_norm_layer(cfg: dict[str, Any], num_features: int, postfix: int | str = "") -> tuple[str, nn.Module]:
    """``(name, layer)`` for ``dict(type='BN'|'GN', requires_grad=...)``, as mmcv.cnn's."""
    cfg = dict(cfg)
    kind = cfg.pop("type")
    requires_grad = cfg.pop("requires_grad", True)
    if kind in ("BN", "BN2d", "SyncBN"):
        name, layer = f"bn{postfix}", nn.BatchNorm2d(num_features, **cfg)
    elif kind == "GN":
        name, layer = f"gn{postfix}", nn.GroupNorm(num_channels=num_features, **cfg)
    else:
        raise KeyError(f"norm type {kind!r}: the stand-in mmcv.cnn has BN, SyncBN and GN")
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return name, layer


class ConvModule(nn.Module):
    """conv -> norm -> act, as mmcv.cnn.ConvModule's default order (kaiming conv, constant norm init)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 norm_cfg: dict[str, Any] | None = None, act_cfg: dict[str, Any] | None = None,
                 bias: bool | str = "auto") -> None:
        super().__init__()
        act_cfg = {"type": "ReLU"} if act_cfg is None else act_cfg
        with_bias = norm_cfg is None if bias == "auto" else bool(bias)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=with_bias)
        self.norm_name = None
        if norm_cfg is not None:
            self.norm_name, norm = build_norm_layer(norm_cfg, out_channels)
            self.add_module(self.norm_name, norm)
        self.activate = nn.ReLU() if act_cfg else None
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        if self.conv.bias is not None:
            nn.init.constant_(self.conv.bias, 0)
        if self.norm_name is not None:
            nn.init.constant_(self.norm.weight, 1)
            nn.init.constant_(self.norm.bias, 0)

    @property
    def norm(self) -> nn.Module:
        assert self.norm_name is not None
        return getattr(self, self.norm_name)  # type: ignore[no-any-return]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x.to(self.conv.weight.dtype))  # fp16 inputs on a CPU (autocast is CUDA-only in mmcv 1.x)
        if self.norm_name is not None:
            x = self.norm(x)
        return self.activate(x) if self.activate is not None else x


def _models_registry() -> Any:
    from mmcv.utils import Registry

    return Registry("model")


#: mmcv.cnn.MODELS: the root of downstream model registries (``Registry('models', parent=MODELS)``)
MODELS = _models_registry()
