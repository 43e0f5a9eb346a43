"""``mmcv.parallel``'s ``collate``, ``DataContainer``, ``scatter_kwargs`` and ``MMDataParallel.train_step``
on the layer give what real mmcv 1.7.2 gave for the same detection-shaped samples (padding values,
stacking per GPU group, cpu_only metas, unstacked boxes), stored by ``scripts/make_parallel_reference.py``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from parallel_samples import describe, samples

REFERENCE = json.loads((Path(__file__).parent / "data" / "mmcv_parallel_reference.json").read_text())


class Recorder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def train_step(self, *args: Any, **kwargs: Any) -> Any:
        from mmcv.parallel import DataContainer

        return describe({"args": list(args), "kwargs": kwargs}, DataContainer)


@pytest.mark.parametrize("per_gpu", [1, 2, 4])
def test_collate_scatter_and_train_step_match_mmcv(per_gpu: int) -> None:
    from mmcv.parallel import DataContainer, MMDataParallel, collate, scatter_kwargs

    expected = REFERENCE[f"samples_per_gpu={per_gpu}"]
    batch = collate(samples(DataContainer), samples_per_gpu=per_gpu)
    assert describe(batch, DataContainer) == expected["collate"]
    ins, kws = scatter_kwargs((batch,), {"flag": True}, [-1])
    assert describe({"inputs": list(ins), "kwargs": list(kws)}, DataContainer) == expected["scatter_kwargs"]
    assert MMDataParallel(Recorder(), device_ids=[-1]).train_step(**batch) == expected["train_step"]


def test_data_container_reports_its_tensor_and_refuses_size_of_other_data() -> None:
    from mmcv.parallel import DataContainer

    dc = DataContainer(torch.zeros(2, 3), stack=True, padding_value=5)
    assert (dc.size(), dc.size(1), dc.dim(), dc.datatype) == (torch.Size([2, 3]), 3, 2, "torch.FloatTensor")
    assert len(dc) == 2 and repr(dc).startswith("DataContainer(tensor(")
    meta = DataContainer({"a": 1}, cpu_only=True)
    with pytest.raises(AttributeError, match="DataContainer has no attribute size for type <class 'dict'>"):
        meta.size()
    with pytest.raises(ValueError, match="pad_dims must be None, 1, 2 or 3, but got 4"):
        DataContainer(torch.zeros(1), pad_dims=4)


def test_collate_refuses_tensors_that_differ_outside_the_padded_dimensions() -> None:
    from mmcv.parallel import DataContainer, collate

    batch = [DataContainer(torch.zeros(3, 4, 4), stack=True), DataContainer(torch.zeros(1, 4, 4), stack=True)]
    with pytest.raises(ValueError, match=r"must agree in their first 1 dimensions, but got \(3, 4, 4\) and \(1, 4, 4\)"):
        collate(batch, samples_per_gpu=2)


def test_a_data_loader_with_mmcvs_collate_feeds_mmdataparallel() -> None:
    from functools import partial

    from mmcv.parallel import DataContainer, MMDataParallel, collate

    loader = torch.utils.data.DataLoader(samples(DataContainer), batch_size=2,
                                         collate_fn=partial(collate, samples_per_gpu=2))
    seen = [MMDataParallel(Recorder(), device_ids=[-1]).train_step(**batch) for batch in loader]
    imgs = [s["dict"]["kwargs"]["dict"]["img"] for s in seen]
    assert [img["tensor"] for img in imgs] == [[2, 3, 5, 6], [2, 3, 6, 7]]
    metas = seen[1]["dict"]["kwargs"]["dict"]["img_metas"]["list"]
    assert [m["dict"]["idx"] for m in metas] == [2, 3]


def test_mm_distributed_data_parallel_train_step_sees_scattered_data_containers(tmp_path: Path) -> None:
    import torch.distributed as dist
    from mmcv.parallel import DataContainer, MMDistributedDataParallel, collate

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = MMDistributedDataParallel(Recorder())
        seen = model.train_step(**collate(samples(DataContainer), samples_per_gpu=4))
    finally:
        dist.destroy_process_group()
    assert seen == REFERENCE["samples_per_gpu=4"]["train_step"]
