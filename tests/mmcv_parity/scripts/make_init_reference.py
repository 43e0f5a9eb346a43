"""Writes tests/mmcv_parity/data/mmcv_init_reference.json: real mmcv 1.7.2's BaseModule.init_weights on
``init_models.build`` (seeded) — every parameter's values and the init-info log.

    python tests/mmcv_parity/scripts/make_init_reference.py   # with mmcv 1.7.2 importable

mmcv 1.7.2's ``mmcv.runner`` imports torchvision at import time; where torchvision is not installed
(the values do not depend on it), put an empty ``torchvision`` package on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from init_models import build, log_lines, pretrained_checkpoint


def main() -> None:
    from mmcv.utils import get_logger

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        checkpoint = pretrained_checkpoint(folder)
        logger = get_logger("parity", log_file=str(folder / "init.log"))
        torch.manual_seed(0)
        model = build(checkpoint)
        model.init_weights()
        for handler in logger.handlers:
            handler.flush()
        out = {"params": {k: v.flatten().tolist() for k, v in model.state_dict().items()},
               "log": log_lines((folder / "init.log").read_text(), folder)}
    path = Path(__file__).resolve().parents[1] / "data" / "mmcv_init_reference.json"
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
