"""A detector-shaped model whose ``init_cfg`` uses every mmcv initializer, for the BaseModule parity
test and its reference script (which runs it under real mmcv 1.7.2). Imports ``mmcv.runner`` when
called, so the same code runs on mmcv and on the layer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn


def pretrained_checkpoint(folder: Path) -> Path:
    """A checkpoint whose ``backbone.`` entries fit the model's neck (for ``Pretrained`` with ``prefix``)."""
    gen = torch.Generator().manual_seed(123)
    state = {"backbone.body.0.weight": torch.randn(4, 4, generator=gen), "backbone.body.0.bias": torch.randn(4, generator=gen),
             "head.weight": torch.randn(2, 2, generator=gen)}
    path = folder / "pretrained.pth"
    torch.save({"state_dict": state}, path)
    return path


def build(checkpoint: Path) -> nn.Module:
    from mmcv.runner import BaseModule, ModuleDict, ModuleList, Sequential

    class Block(BaseModule):
        def __init__(self, init_cfg: Any = None) -> None:
            super().__init__(init_cfg)
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)

    class Backbone(BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=[dict(type="Kaiming", layer="Conv2d"),
                                       dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"])])
            self.stem = Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3),
                                   init_cfg=dict(type="Xavier", layer="Conv2d", distribution="uniform"))
            self.blocks = ModuleList([Block(), Block(init_cfg=dict(type="TruncNormal", layer="Conv2d", std=0.02))])

    class Neck(BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Pretrained", checkpoint=str(checkpoint), prefix="backbone."))
            self.body = nn.Sequential(nn.Linear(4, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    class Head(BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Normal", layer="Conv2d", std=0.01,
                                           override=dict(type="Normal", name="cls", std=0.01, bias_prob=0.01)))
            self.reg = nn.Conv2d(4, 4, 1)
            self.cls = nn.Conv2d(4, 2, 1)
            self.branches = ModuleDict({"a": nn.Linear(2, 2), "b": nn.Conv2d(2, 2, 1)},
                                       init_cfg=dict(type="Uniform", layer="Linear", a=-0.1, b=0.1))

    class Custom(BaseModule):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def init_weights(self) -> None:
            nn.init.constant_(self.fc.weight, 0.25)

    class Detector(BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Caffe2Xavier", layer="Linear"))
            self.backbone = Backbone()
            self.neck = Neck()
            self.head = Head()
            self.custom = Custom()
            self.plain = nn.Linear(3, 3)

    return Detector()


def log_lines(text: str, folder: Path) -> list[str]:
    """The log without timestamps and with the temporary folder named ``<tmp>``."""
    text = text.replace(str(folder), "<tmp>")
    return [re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - ", "", line) for line in text.splitlines()]
