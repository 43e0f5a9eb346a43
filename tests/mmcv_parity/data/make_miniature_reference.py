"""Writes tests/mmcv_parity/data/miniatures_reference.json: what real mmcv 1.7.2 logs for the miniatures.

Runs every group of ``tests/mmcv_parity/miniatures/scenarios.py`` once under mmcv 1.7.2 itself (pure
Python; ``mmcv.runner`` imports torchvision only to list model-zoo URLs, a placeholder stands in where
it is missing), from the repository root:

    /work/mmcv-venv/bin/python -m tests.mmcv_parity.data.make_miniature_reference [GROUP ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch

from tests.mmcv_parity.miniatures.scenarios import DATA, GROUPS, run_group


def main(groups: list[str]) -> None:
    import mmcv

    assert not getattr(mmcv, "__runnerkit_compat__", False) and mmcv.__version__.startswith("1."), mmcv.__version__
    data = json.loads(DATA.read_text()) if DATA.exists() else {}
    data.update(mmcv=mmcv.__version__, torch=torch.__version__.split("+")[0],
                produced_by="python -m tests.mmcv_parity.data.make_miniature_reference (real mmcv, CPU, OMP_NUM_THREADS=1)")
    data.setdefault("groups", {})
    for group in groups or list(GROUPS):
        with tempfile.TemporaryDirectory() as tmp:
            data["groups"][group] = run_group(group, "mmcv", Path(tmp))
        DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(group, "done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
