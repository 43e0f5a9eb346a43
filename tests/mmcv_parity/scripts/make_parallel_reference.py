"""Writes tests/mmcv_parity/data/mmcv_parallel_reference.json by running real mmcv 1.7.2's ``collate``,
``scatter_kwargs`` and ``MMDataParallel.train_step`` (CPU) once on the samples of ``parallel_samples``.

    python tests/mmcv_parity/scripts/make_parallel_reference.py   # with mmcv 1.7.2 importable

mmcv 1.7.2's ``mmcv.runner`` imports torchvision at import time; where torchvision is not installed
(the values do not depend on it), put an empty ``torchvision`` package on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
from mmcv.parallel import DataContainer, MMDataParallel, collate, scatter_kwargs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parallel_samples import describe, samples


class Recorder(torch.nn.Module):
    """Returns a description of what train_step received."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def train_step(self, *args: Any, **kwargs: Any) -> Any:
        return describe({"args": list(args), "kwargs": kwargs}, DataContainer)


def main() -> None:
    out: dict[str, Any] = {}
    for per_gpu in (1, 2, 4):
        batch = collate(samples(DataContainer), samples_per_gpu=per_gpu)
        ins, kws = scatter_kwargs((batch,), {"flag": True}, [-1])
        out[f"samples_per_gpu={per_gpu}"] = {
            "collate": describe(batch, DataContainer),
            "scatter_kwargs": describe({"inputs": list(ins), "kwargs": list(kws)}, DataContainer),
            "train_step": MMDataParallel(Recorder(), device_ids=[-1]).train_step(**batch),
        }
    path = Path(__file__).resolve().parents[1] / "data" / "mmcv_parallel_reference.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
