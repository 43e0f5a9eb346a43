"""``auto_fp16`` on a CPU: as mmcv 1.7.2, whose ``torch.cuda.amp.autocast`` leaves CPU ops alone.

Checked with real mmcv 1.7.2 (the miniatures' detector, ``wrap_fp16_model``, CPU): the first conv gets
the half image ``auto_fp16`` cast, the next one gets float32, since nothing autocast the first conv.
"""

from __future__ import annotations

import torch
from torch import nn


def test_auto_fp16_on_a_cpu_casts_the_arguments_and_autocasts_nothing() -> None:
    from mmcv.runner import auto_fp16, wrap_fp16_model

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.fp16_enabled = False

        @auto_fp16(apply_to=("x",))
        def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return x, y, self.fc(y)

    net = Net()
    wrap_fp16_model(net)
    x, y, out = net(torch.ones(2, 4), torch.ones(2, 4))
    assert (x.dtype, y.dtype) == (torch.half, torch.float32)  # the named argument is cast
    assert out.dtype == torch.float32  # the Linear ran in float32: no CPU autocast (mmcv: torch.cuda.amp.autocast)
