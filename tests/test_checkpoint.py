"""Checkpoints: mmcv's layout, atomic writes, a latest pointer without symlinks, safe loading."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit import checkpoint as ckpt_io
from tests.helpers import TinyNet, kill_during_a_save, make_loader


def _trained(work_dir: Path, **hook_cfg: Any) -> Any:
    model = TinyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 6}, {"model": model, "optimizer": opt, "work_dir": work_dir, "meta": {"seed": 3}})
    runner.register_training_hooks(None, {}, {"interval": 2, **hook_cfg})
    runner.run([make_loader(8)], [("train", 1)])
    return runner


def test_checkpoints_have_mmcv_names_and_keys(work_dir: Path) -> None:
    _trained(work_dir)
    assert sorted(p.name for p in work_dir.glob("iter_*.pth")) == ["iter_2.pth", "iter_4.pth", "iter_6.pth"]
    ckpt = torch.load(work_dir / "iter_4.pth", weights_only=True)
    assert {"meta", "state_dict", "optimizer"} <= set(ckpt)
    assert ckpt["meta"]["iter"] == 4 and ckpt["meta"]["seed"] == 3
    assert ckpt["meta"]["runnerkit_version"] == runnerkit.__version__
    assert set(ckpt["state_dict"]) == {"fc.weight", "fc.bias"}


def test_max_keep_ckpts_removes_the_oldest(work_dir: Path) -> None:
    _trained(work_dir, max_keep_ckpts=2)
    assert sorted(p.name for p in work_dir.glob("iter_*.pth")) == ["iter_4.pth", "iter_6.pth"]


def test_latest_pointer_works_without_symlinks(work_dir: Path) -> None:
    _trained(work_dir)
    (work_dir / "latest.pth").unlink()
    assert ckpt_io.find_latest(str(work_dir)) == str(work_dir / "iter_6.pth")
    model = TinyNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 6}, {"model": model})
    runner.resume(work_dir)
    assert runner.iter == 6


def test_resume_restores_counters_weights_and_optimizer(work_dir: Path) -> None:
    trained = _trained(work_dir)
    model = TinyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 6}, {"model": model, "optimizer": opt})
    runner.resume(str(work_dir / "iter_6.pth"))
    assert (runner.iter, runner.epoch) == (6, 1)
    assert torch.equal(model.fc.weight, trained.model.fc.weight)
    assert opt.state_dict()["state"][0]["momentum_buffer"] is not None


def test_a_checkpoint_with_pickled_code_is_refused_unless_trusted(work_dir: Path) -> None:
    work_dir.mkdir()
    path = work_dir / "evil.pth"
    torch.save({"state_dict": TinyNet().state_dict(), "meta": {"obj": Path("x")}}, path)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet()})
    with pytest.raises(runnerkit.CheckpointError, match=r"evil\.pth` holds pickled Python objects \(`pathlib\.\w*Path`\).*pass `weights_only=False`"):
        runner.load_checkpoint(path)
    ckpt = runner.load_checkpoint(path, weights_only=False)
    assert ckpt["meta"]["obj"] == Path("x")


def test_missing_checkpoint_says_which_file(tmp_path: Path) -> None:
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet()})
    with pytest.raises(FileNotFoundError, match=r"nothere\.pth` does not exist"):
        runner.resume(tmp_path / "nothere.pth")
    with pytest.raises(FileNotFoundError, match="No checkpoint to resume from"):
        runner.resume(tmp_path)


def test_meta_objects_that_weights_only_refuses_are_stored_as_text(work_dir: Path) -> None:
    runner = runnerkit.build({"type": "EpochBasedRunner", "max_epochs": 1}, {"model": TinyNet(), "meta": {"path": Path("/a"), "ok": [1, 2]}})
    path = runner.save_checkpoint(work_dir)
    meta = torch.load(path, weights_only=True)["meta"]
    assert meta["path"] == repr(Path("/a")) and meta["ok"] == [1, 2]
    assert os.path.basename(path) == "epoch_0.pth"


@pytest.mark.slow
def test_a_kill_during_a_save_leaves_the_latest_checkpoint_loadable(tmp_path: Path) -> None:
    kill_during_a_save(tmp_path, settle_s=0.02)  # well under way into the big file
    latest = ckpt_io.find_latest(str(tmp_path))
    assert latest is not None
    ckpt = ckpt_io.load_file(latest)
    assert ckpt["state_dict"]["w"].shape == (3000, 3000)
    # whatever is at a final name is complete
    for path in tmp_path.glob("iter_*.pth"):
        ckpt_io.load_file(str(path))
