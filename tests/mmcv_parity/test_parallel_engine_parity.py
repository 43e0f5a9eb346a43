"""mmcv.parallel and mmcv.engine: wrappers, module-wrapper registry, test loops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)
        self.devices: list[str] = []

    def forward(self, img: torch.Tensor, return_loss: bool = True) -> Any:
        self.devices.append(img.device.type)
        return [float(v) for v in self.fc(img)[:, 0]] if not return_loss else self.fc(img).mean()

    def train_step(self, data: dict[str, torch.Tensor], optimizer: Any) -> dict[str, Any]:
        loss = self(**data)
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(data["img"])}


def test_is_module_wrapper_knows_torch_and_mmcv_wrappers_and_registered_ones() -> None:
    from mmcv.parallel import MODULE_WRAPPERS, MMDataParallel, MMDistributedDataParallel, is_module_wrapper

    assert is_module_wrapper(MMDataParallel(Net(), device_ids=[-1]))
    assert is_module_wrapper(nn.DataParallel(Net())) and not is_module_wrapper(Net())
    assert {"DataParallel", "DistributedDataParallel", "MMDataParallel", "MMDistributedDataParallel"} <= set(MODULE_WRAPPERS.module_dict)
    assert MMDistributedDataParallel.__mro__[1] is nn.parallel.DistributedDataParallel

    class Mine(nn.Module):
        def __init__(self, module: nn.Module) -> None:
            super().__init__()
            self.module = module

    MODULE_WRAPPERS.register_module(module=Mine)
    assert is_module_wrapper(Mine(Net()))
    with pytest.raises(KeyError, match="Mine is already registered in module wrapper"):
        MODULE_WRAPPERS.register_module(module=Mine)


def test_mm_data_parallel_on_cpu_trains_through_its_own_train_step() -> None:
    from mmcv.parallel import MMDataParallel
    from mmcv.runner import EpochBasedRunner

    net = Net()
    model = MMDataParallel(net, device_ids=[-1])
    assert model.device_ids == [] and model.module is net
    runner = EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=1)
    assert runner.model_name == "Net"
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([[{"img": torch.ones(2, 2)}] * 2], [("train", 1)])
    assert runner.iter == 2 and net.devices == ["cpu", "cpu"]


@pytest.mark.cuda
def test_mm_data_parallel_moves_batches_to_its_gpu() -> None:
    from mmcv.engine import single_gpu_test
    from mmcv.parallel import MMDataParallel
    from mmcv.runner import EpochBasedRunner

    net = Net().cuda()
    model = MMDataParallel(net, device_ids=[0])
    runner = EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=1)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict())
    runner.run([[{"img": torch.ones(2, 2)}] * 2], [("train", 1)])
    assert net.devices == ["cuda", "cuda"]
    assert len(single_gpu_test(model, [{"img": torch.ones(3, 2)}])) == 3
    with pytest.raises(ValueError, match="MMDataParallel only supports single GPU training"):
        MMDataParallel(Net().cuda(), device_ids=[0, 0]).train_step({"img": torch.ones(1, 2)}, None)


def test_single_gpu_test_gives_one_result_per_sample_in_eval_mode() -> None:
    from mmcv.engine import single_gpu_test

    net = Net()
    net.train()
    results = single_gpu_test(net, [{"img": torch.ones(3, 2)}, {"img": torch.zeros(2, 2)}])
    assert len(results) == 5 and net.training  # the mode is restored


def test_collect_results_in_one_process_cut_to_size(tmp_path: Path) -> None:
    from mmcv.engine import collect_results_cpu, collect_results_gpu, multi_gpu_test

    assert collect_results_cpu([1, 2, 3, 4], 3, str(tmp_path)) == [1, 2, 3]
    assert collect_results_gpu([1, 2, 3], 2) == [1, 2]

    class Loader(list):  # a loader with a dataset, as multi_gpu_test needs
        dataset = [0] * 4

    assert len(multi_gpu_test(Net(), Loader([{"img": torch.ones(2, 2)}] * 2))) == 4  # type: ignore[arg-type]
