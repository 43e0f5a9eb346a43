"""The runs of each miniature whose logs are compared with real mmcv 1.7.2's (same seed, same flags).

    /work/mmcv-venv/bin/python tests/mmcv_parity/miniatures/legs.py tests/mmcv_parity/data/miniatures.json

runs them on real mmcv and writes the reference; ``test_miniatures_parity.py`` runs them on runnerkit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run_miniature import logged  # noqa: E402

#: name -> (script, config, extra arguments; ``{root}`` is the folder holding every leg's work dir)
LEGS: dict[str, tuple[str, str, list[str]]] = {
    "mmdet2/train": ("mmdet2_train.py", "configs/toy_det.py", []),
    # resume_from a checkpoint holding ExpMomentumEMAHook's ema_* buffers (warned about, as mmcv)
    "mmdet2/resume": ("mmdet2_train.py", "configs/toy_det.py",
                      ["--resume-from", "{root}/mmdet2/train/epoch_2.pth",
                       "--cfg-options", "data.train_dataloader.shuffle=False"]),
    "mmdet2/load_from": ("mmdet2_train.py", "configs/toy_det.py",
                         ["--cfg-options", "load_from={root}/mmdet2/train/epoch_1.pth", "runner.max_epochs=1"]),
    "mmseg0/train": ("mmseg0_train.py", "configs/toy_seg.py", []),
}

#: legs run on runnerkit only: mmcv 1.7.2's fp16 needs CUDA (on a CPU its `auto_fp16` casts the inputs to
#: half and leaves the layers in float, and the step fails), so there is no CPU reference for it
RUNNERKIT_ONLY: dict[str, tuple[str, str, list[str]]] = {
    "mmdet2/fp16": ("mmdet2_train.py", "configs/toy_det.py", ["--cfg-options", "fp16.loss_scale=512.",
                                                                "runner.max_epochs=1"]),
}


def run_leg(interpreter: list[str], name: str, root: str, timeout: float = 600) -> list[dict[str, Any]]:
    """Run one leg (``interpreter``: the command up to ``run_miniature.py``'s flavour flag) and return its log."""
    script, config, extra = LEGS[name] if name in LEGS else RUNNERKIT_ONLY[name]
    work_dir = os.path.join(root, name)
    cmd = [*interpreter, script, config, "--work-dir", work_dir, *[a.format(root=root) for a in extra]]
    proc = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return logged(work_dir)


if __name__ == "__main__":
    mmcv_cmd = [sys.executable, os.path.join(HERE, "run_miniature.py"), "--mmcv"]
    with tempfile.TemporaryDirectory() as root:
        out = {name: run_leg(mmcv_cmd, name, root) for name in LEGS}
    with open(sys.argv[1], "w") as f:
        f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()) + "\n}\n")
