"""Done when (issue 22): miniatures of mmdet 2.x's and mmseg 0.x's training code run under ``install()``
with nothing stood in but ``mmcv.cnn``, and log what real mmcv 1.7.2 logs for the same seed, to 4 decimals.

The reference numbers (tests/mmcv_parity/data/miniatures_reference.json) come from running the very
same miniatures under mmcv 1.7.2 itself (tests/mmcv_parity/data/make_miniature_reference.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import processes
from tests.mmcv_parity.miniatures.scenarios import (
    DATA,
    GROUPS,
    ROOT,
    Run,
    command,
    differences,
    env,
    read_run,
    run_group,
)

REFERENCE = json.loads(DATA.read_text())


def test_the_reference_is_real_mmcv_training() -> None:
    assert REFERENCE["mmcv"] == "1.7.2"
    assert set(REFERENCE["groups"]) == set(GROUPS)
    for group, runs in REFERENCE["groups"].items():
        assert set(runs) == {run.name for run in GROUPS[group]}
        for name, run in runs.items():
            losses = [r["loss"] for r in run["records"] if r["mode"] == "train"]
            assert len(losses) >= 2 and len(set(losses)) == len(losses), f"{group}/{name}: {losses}"
            assert any(r["mode"] == "val" for r in run["records"]), f"{group}/{name} has no evaluation"


@pytest.mark.slow  # subprocesses: each run is a fresh tools/train.py, as a user starts it
@pytest.mark.parametrize("group", list(GROUPS))
def test_the_miniature_logs_what_mmcv_logs(group: str, tmp_path: Path) -> None:
    ours = run_group(group, "runnerkit", tmp_path)
    reference = REFERENCE["groups"][group]
    tols = {run.name: run.tol for run in GROUPS[group]}
    problems = {name: differences(ours[name], reference[name], tols[name]) for name in reference}
    assert not any(problems.values()), json.dumps(problems, indent=1)


@pytest.mark.slow
def test_a_custom_hook_from_the_config_stops_a_head_that_does_not_fit_the_dataset(tmp_path: Path) -> None:
    # NumClassCheckHook (custom_hooks, before_train_epoch) runs under the layer: a 4-class head, 3 classes
    run = Run("det_bad", "det", "det/mini_det.py", ("--cfg-options", "model.bbox_head.num_classes=4"))
    proc = processes.run(command(run, "runnerkit", tmp_path / "work", {}), timeout=120, cwd=ROOT, env=env())
    assert proc.returncode == 1
    assert ("AssertionError: The `num_classes` (4) in TinyHead of MMDataParallel does not matches the length of "
            "`CLASSES` 3") in proc.stderr
    assert not list((tmp_path / "work").glob("*.pth"))


@pytest.mark.slow
def test_the_segmentation_miniature_resumed_from_iter_6_continues_as_the_uninterrupted_run(tmp_path: Path) -> None:
    # mmseg's defaults (dropout, shuffled loader): the resumed run draws what the uninterrupted one drew.
    # (mmcv 1.7.2 itself stores iter=5 in iter_6.pth and repeats iteration 6 on resume; runnerkit continues.)
    places: dict[str, str] = {}
    for run in (Run("full", "seg", "seg/mini_fcn_poly.py"),
                Run("resumed", "seg", "seg/mini_fcn_poly.py", ("--resume-from", "{full}/iter_6.pth"))):
        proc = processes.run(command(run, "runnerkit", tmp_path / run.name, places), timeout=120, cwd=ROOT, env=env())
        assert proc.returncode == 0, proc.stderr[-6000:]
        places[run.name] = str(tmp_path / run.name)
    full, resumed = (read_run(tmp_path / name)["records"] for name in ("full", "resumed"))
    assert [(r["mode"], r["iter"]) for r in resumed] == [("train", 8), ("train", 10), ("val", 6), ("train", 12)]
    assert not differences({"records": resumed, "checkpoints": []}, {"records": full[-4:], "checkpoints": []})
