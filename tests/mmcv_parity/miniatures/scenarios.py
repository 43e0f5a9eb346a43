"""The miniature runs the parity test compares with real mmcv 1.7.2, and how their logged values are read.

A group is a sequence of runs of one miniature's tools/train.py (``--seed 0``); a later run may
resume from an earlier one's checkpoint (``{det}`` is the work dir of run ``det``). Each run's
``<timestamp>.log.json`` records (what mmcv's ``TextLoggerHook`` writes: losses, lr, ``grad_norm``,
eval metrics, 5 decimals) are kept, less the timings, with the names of the checkpoints written.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = Path(__file__).resolve().parent / "configs"
DATA = Path(__file__).resolve().parents[1] / "data" / "miniatures_reference.json"
#: timings: never equal between two runs
SKIPPED_KEYS = frozenset({"time", "data_time", "memory", "eta"})


@dataclass(frozen=True)
class Run:
    name: str
    tool: str  # det | seg
    config: str  # relative to CONFIGS
    args: tuple[str, ...] = ()
    tol: float = 1e-4  # floats compared to 4 decimals (``differences``)


GROUPS: dict[str, tuple[Run, ...]] = {
    # EpochBasedRunner, paramwise_cfg, EvalHook(save_best='auto'), EMA (priority 49), check hooks, load_from; resume_from
    "det": (
        Run("det", "det", "det/mini_det.py", ("--cfg-options", "load_from={pretrained}")),
        # mmcv does not put the RNG states back on resume, runnerkit does (docs/migration.md, "Exact resume"):
        # the resumed epoch takes the data in order, so that both draw nothing and the rest is compared
        Run("det_resume", "det", "det/mini_det.py",
            ("--resume-from", "{det}/epoch_2.pth", "--cfg-options", "data.train_dataloader.shuffle=False")),
        # YOLOX's way: the EMA hook resumes again in before_run, once its ema_* buffers exist, so they are loaded
        Run("det_ema_resume", "det", "det/mini_det.py",
            ("--resume-from", "{det}/epoch_2.pth", "--cfg-options", "data.train_dataloader.shuffle=False",
             "custom_hooks.2.resume_from={det}/epoch_2.pth")),
    ),
    # fp16 = dict(loss_scale=dict(init_scale=512.)) with Fp16OptimizerHook, auto_fp16/force_fp32. Compared to
    # the 5 logged decimals (2 units of the last): a whole-step CPU autocast differs from mmcv's by up to 9e-5
    "det_fp16": (
        Run("det_fp16", "det", "det/mini_det_fp16.py", ("--cfg-options", "load_from={pretrained}", "runner.max_epochs=1"),
            tol=2e-5),
    ),
    # IterBasedRunner, poly lr, EvalHook(by_epoch=False, pre_eval=True, save_best='mIoU'), custom_keys;
    # no dropout, data in order: training draws no random number
    "seg": (
        Run("seg", "seg", "seg/mini_fcn_poly.py",
            ("--cfg-options", "model.decode_head.dropout_ratio=0", "model.auxiliary_head.dropout_ratio=0",
             "data.train_dataloader.shuffle=False")),
    ),
    # mmseg's defaults (dropout, a shuffled DataLoader): the random numbers training draws (dropout, each
    # pass's sampler seed) match mmcv's across evaluations too, which draw from torch's global RNG as mmcv's
    # (the compat EvalHook's fork_rng = False: a new DataLoader iterator draws its base seed)
    "seg_rng": (Run("seg_rng", "seg", "seg/mini_fcn_poly.py"),),
}


def write_pretrained(path: Path) -> Path:
    """A backbone-only checkpoint for ``load_from`` (as a pretrained detector file whose head does not fit)."""
    g = torch.Generator().manual_seed(7)
    shapes = {"backbone.stem.conv.weight": (8, 3, 3, 3), "backbone.layer1.conv.weight": (16, 8, 3, 3),
              "backbone.stem.bn.weight": (8,), "backbone.layer1.bn.weight": (16,)}
    state = {k: 0.3 * torch.randn(*shape, generator=g) + (1.0 if k.endswith("bn.weight") else 0.0)
             for k, shape in shapes.items()}
    torch.save({"state_dict": state, "meta": {}}, path)
    return path


def command(run: Run, layer: str, work_dir: Path, places: dict[str, str], python: str = sys.executable) -> list[str]:
    """The command line of one run (from the repository root)."""
    args = [a.format(**places) for a in run.args]
    return [python, "-m", "tests.mmcv_parity.miniatures", layer, run.tool, str(CONFIGS / run.config),
            "--work-dir", str(work_dir), "--seed", "0", *args]


def read_run(work_dir: Path) -> dict[str, Any]:
    """The logged records (timings left out) and the checkpoint files of one finished run."""
    logs = sorted(work_dir.glob("*.log.json"))
    if len(logs) != 1:
        raise AssertionError(f"{work_dir}: expected one *.log.json, found {[p.name for p in logs]}")
    records = []
    for line in logs[0].read_text().splitlines():
        record = json.loads(line)
        if "mode" in record:  # the first line is the run's meta
            records.append({k: v for k, v in record.items() if k not in SKIPPED_KEYS})
    files = sorted(p.name for p in work_dir.iterdir() if p.suffix == ".pth" and not p.is_symlink())
    return {"records": records, "checkpoints": files}


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a run: one thread (the numbers do not depend on the machine's core count)."""
    out = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    out.update(extra or {})
    return out


def differences(ours: dict[str, Any], reference: dict[str, Any], tol: float = 1e-4) -> list[str]:
    """What differs between two runs' ``read_run`` results (floats: beyond ``tol``, i.e. at 4 decimals)."""
    found = []
    if ours["checkpoints"] != reference["checkpoints"]:
        found.append(f"checkpoints {ours['checkpoints']} != mmcv's {reference['checkpoints']}")
    a, b = ours["records"], reference["records"]
    if len(a) != len(b):
        found.append(f"{len(a)} records != mmcv's {len(b)}")
    for i, (x, y) in enumerate(zip(a, b)):
        if set(x) != set(y):
            found.append(f"record {i}: keys {sorted(x)} != mmcv's {sorted(y)}")
            continue
        for key in y:
            u, v = x[key], y[key]
            if isinstance(v, float) or isinstance(u, float):
                same = abs(float(u) - float(v)) <= tol * max(1.0, abs(float(v)) / 10)
            else:
                same = u == v
            if not same:
                found.append(f"record {i} ({y.get('mode')} epoch {y.get('epoch')} iter {y.get('iter')}): "
                             f"{key} = {u!r}, mmcv logged {v!r}")
    return found


def run_group(group: str, layer: str, root: Path, python: str = sys.executable, timeout: float = 240) -> dict[str, Any]:
    """Run a group's runs in order under ``layer`` (work dirs under ``root``); ``read_run`` of each, by name."""
    from tests import processes

    places = {"pretrained": str(write_pretrained(root / "pretrained.pth"))}
    results: dict[str, Any] = {}
    for run in GROUPS[group]:
        work_dir = root / run.name
        proc = processes.run(command(run, layer, work_dir, places, python), timeout=timeout, cwd=ROOT, env=env())
        if proc.returncode != 0:
            raise AssertionError(f"{run.name} under {layer} exited {proc.returncode}:\n{proc.stderr[-6000:]}")
        places[run.name] = str(work_dir)
        results[run.name] = read_run(work_dir)
    return results
