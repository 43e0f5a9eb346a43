"""mmcv.runner.fp16_utils: cast_tensor_type, auto_fp16, force_fp32, wrap_fp16_model, LossScaler."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn


def test_cast_tensor_type_casts_tensors_of_the_source_type_in_containers() -> None:
    from mmcv.runner import cast_tensor_type

    assert cast_tensor_type(torch.FloatTensor([5.0]), torch.float32, torch.int32).dtype == torch.int32
    assert cast_tensor_type("tensor", str, str) == "tensor"
    array = np.array([5.0])
    assert cast_tensor_type(array, np.ndarray, np.ndarray) is array
    out = cast_tensor_type({"a": torch.ones(1), "b": [torch.ones(1), torch.ones(1, dtype=torch.long)]}, torch.float32, torch.half)
    assert out["a"].dtype == torch.half and out["b"][0].dtype == torch.half
    assert out["b"][1].dtype == torch.long  # not of the source type: left alone
    assert cast_tensor_type(5, None, None) == 5


def _module(decorator: Any) -> nn.Module:
    class Example(nn.Module):
        @decorator
        def forward(self, x: Any, y: Any = None, z: Any = None) -> Any:
            return x, y, z

    return Example()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_auto_fp16_casts_the_named_arguments_once_fp16_is_enabled(device: str) -> None:
    from mmcv.runner import auto_fp16

    f32 = torch.ones(1, device=device)
    model = _module(auto_fp16(apply_to=("x", "y")))
    assert [t.dtype for t in model(f32, y=f32, z=f32)] == [torch.float32] * 3
    model.fp16_enabled = True
    assert [t.dtype for t in model(f32, y=f32, z=f32)] == [torch.half, torch.half, torch.float32]
    every = _module(auto_fp16())
    every.fp16_enabled = True
    assert [t.dtype for t in every(f32, f32, f32)] == [torch.half] * 3
    out32 = _module(auto_fp16(apply_to=("x", "y"), out_fp32=True))
    out32.fp16_enabled = True
    assert [t.dtype for t in out32(f32.half(), y=f32, z=f32)] == [torch.float32] * 3


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_force_fp32_casts_half_arguments_back(device: str) -> None:
    from mmcv.runner import force_fp32

    f16 = torch.ones(1, device=device, dtype=torch.half)
    model = _module(force_fp32(apply_to=("x", "y")))
    assert [t.dtype for t in model(f16, y=f16, z=f16)] == [torch.half] * 3
    model.fp16_enabled = True
    assert [t.dtype for t in model(f16, y=f16, z=f16)] == [torch.float32, torch.float32, torch.half]
    out16 = _module(force_fp32(apply_to=("x", "y"), out_fp16=True))
    out16.fp16_enabled = True
    assert [t.dtype for t in out16(f16.float(), y=f16, z=f16)] == [torch.half] * 3


def test_the_decorators_only_decorate_module_methods() -> None:
    from mmcv.runner import auto_fp16, force_fp32

    for decorator in (auto_fp16(), force_fp32()):
        class NotAModule:
            @decorator
            def __call__(self, x: Any) -> Any:
                return x

        with pytest.raises(TypeError, match="can only be used to decorate the method of those classes"):
            NotAModule()(torch.ones(1))


@pytest.mark.cuda
def test_auto_fp16_runs_the_method_under_autocast_on_gpu() -> None:
    from mmcv.runner import auto_fp16

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.fp16_enabled = True

        @auto_fp16(apply_to=("x",))
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x)

    net = Net().cuda()
    assert net(torch.ones(2, 4, device="cuda")).dtype == torch.half
    assert net.fc.weight.dtype == torch.float32  # weights stay fp32 (autocast), as mmcv with torch >= 1.6


def test_wrap_fp16_model_enables_fp16_where_modules_ask_for_it() -> None:
    from mmcv.runner import wrap_fp16_model

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fp16_enabled = False
            self.fc = nn.Linear(2, 2)

    model = nn.Sequential(Head(), nn.BatchNorm1d(2))
    wrap_fp16_model(model)
    assert model[0].fp16_enabled is True and not hasattr(model[1], "fp16_enabled")
    assert model[0].fc.weight.dtype == torch.float32


def test_loss_scaler_halves_on_overflow_and_grows_after_a_window() -> None:
    from mmcv.runner import LossScaler

    scaler = LossScaler(init_scale=2**10, mode="dynamic", scale_factor=2.0, scale_window=2)
    good, bad = nn.Parameter(torch.ones(1)), nn.Parameter(torch.ones(1))
    good.grad, bad.grad = torch.ones(1), torch.tensor([float("inf")])
    assert scaler.has_overflow([good]) is False and scaler.has_overflow([good, bad]) is True
    scaler.update_scale(True)
    assert scaler.loss_scale == 2**9
    scaler.update_scale(False)
    scaler.update_scale(False)
    assert scaler.loss_scale == 2**10
    restored = LossScaler()
    restored.load_state_dict(scaler.state_dict())
    assert restored.state_dict() == scaler.state_dict()
    static = LossScaler(init_scale=512.0, mode="static")
    static.update_scale(True)
    assert static.loss_scale == 512.0 and static.has_overflow([bad]) is False
    with pytest.raises(ValueError, match="mode can only be dynamic or static"):
        LossScaler(mode="auto")
