"""Run a miniature as its user would, on runnerkit's layer (``--runnerkit``) or on real mmcv 1.7.2 (``--mmcv``).

    python run_miniature.py --runnerkit mmdet2_train.py configs/toy_det.py --work-dir W
    /work/mmcv-venv/bin/python run_miniature.py --mmcv mmdet2_train.py configs/toy_det.py --work-dir W

and ``logged(work_dir)``: the training and validation lines of the run's ``*.log.json``, the
numbers rounded to 6 decimals (what the parity tests compare).
"""

from __future__ import annotations

import glob
import json
import os
import runpy
import sys
import types
import warnings
from typing import Any

#: what is not compared: timings and memory (they vary from run to run)
SKIPPED = ("time", "data_time", "memory", "eta")


def logged(work_dir: str) -> list[dict[str, Any]]:
    """Every train/val line the text logger wrote to the JSON log, with the compared keys only."""
    (path,) = glob.glob(os.path.join(work_dir, "*.log.json"))
    lines = []
    with open(path) as f:
        for raw in f:
            entry = json.loads(raw)
            if entry.get("mode") not in ("train", "val"):
                continue
            lines.append({k: round(v, 6) if isinstance(v, float) else v for k, v in entry.items() if k not in SKIPPED})
    return lines


def main(argv: list[str]) -> None:
    which, script, *rest = argv
    if which == "--runnerkit":
        import runnerkit.compat.mmcv

        runnerkit.compat.mmcv.install()
    else:  # real mmcv 1.7.2: mmcv.runner imports torchvision only for model-zoo URLs
        try:
            import torchvision  # noqa: F401
        except Exception:
            placeholder = types.ModuleType("torchvision")
            placeholder.__version__ = "0.0.0"  # type: ignore[attr-defined]
            sys.modules["torchvision"] = placeholder
        warnings.simplefilter("ignore")
    here = os.path.dirname(os.path.abspath(__file__))
    sys.argv = [script, *rest]
    runpy.run_path(os.path.join(here, script), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
