"""A checkpoint's ``runnerkit`` section is checked, part by part, before any of it is applied."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit import CheckpointError
from runnerkit.hooks import EMAHook
from tests.helpers import TinyNet


def _runner(work_dir: Path) -> runnerkit.BaseRunner:
    return runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet(), "work_dir": str(work_dir)})


@pytest.fixture
def saved(work_dir: Path) -> dict[str, Any]:
    runner = _runner(work_dir)
    runner.register_hook(EMAHook())
    return torch.load(runner.save_checkpoint(work_dir, filename_tmpl="good.pth"), weights_only=True)


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(ckpt: dict[str, Any]) -> None:
        target = ckpt
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "negative iteration": (_set("runnerkit", "loop", "iter", value=-5),
                           r"`runnerkit\.loop\.iter`: Input should be greater than or equal to 0 \(got -5\)"),
    "iteration as text": (_set("runnerkit", "loop", "epoch", value="3"), r"`runnerkit\.loop\.epoch`: Input should be a valid integer"),
    "torch rng of the wrong shape": (_set("runnerkit", "rng", "torch", value=torch.zeros(10, dtype=torch.uint8)),
                                     r"`runnerkit\.rng\.torch`: expected 5056 bytes \(torch's CPU generator state\), got 10"),
    "torch rng of the wrong dtype": (_set("runnerkit", "rng", "torch", value=torch.zeros(5056)),
                                     r"`runnerkit\.rng\.torch`: expected a 1-D uint8 tensor .*torch\.float32"),
    "python rng truncated": (_set("runnerkit", "rng", "python", value=[3, [1, 2], None]),
                             r"`runnerkit\.rng\.python`: expected Python's `random\.getstate\(\)`"),
    "hook state not a dict": (_set("runnerkit", "hooks", "EMAHook", value=[1, 2]),
                              r"`runnerkit\.hooks\.EMAHook`: Input should be a valid dictionary"),
    "loop missing": (lambda c: c["runnerkit"].pop("loop"), r"`runnerkit\.loop`: Field required"),
    "workflow cursor of one number": (_set("runnerkit", "loop", "flow", value=[1]), r"`runnerkit\.loop\.flow`"),
    "loader position negative": (_set("runnerkit", "loop", "loaders", value={"0": {"epoch": 0, "consumed": -1}}),
                                 r"`runnerkit\.loop\.loaders\.0\.consumed`"),
    "section not a dict": (_set("runnerkit", value=[1, 2]), r"has a `runnerkit` section that is a list, not a dict"),
    "newer format": (_set("runnerkit", "format", value=99), r"was written by a newer runnerkit \(checkpoint format 99"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_runnerkit_section_is_one_checkpoint_error_naming_the_part(
    case: str, saved: dict[str, Any], work_dir: Path
) -> None:
    edit, message = CASES[case]
    ckpt = copy.deepcopy(saved)
    edit(ckpt)
    path = work_dir / "bad.pth"
    torch.save(ckpt, path)
    runner = _runner(work_dir)
    torch.nn.init.constant_(runner.model.fc.weight, 7.0)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    with pytest.raises(CheckpointError, match=message) as info:
        runner.resume(str(path))
    assert info.value.path == str(path)
    assert runner.iter == 0 and runner.epoch == 0 and runner.pending_resume is None  # nothing applied
    after = runner.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_every_bad_part_is_named_at_once(saved: dict[str, Any], work_dir: Path) -> None:
    ckpt = copy.deepcopy(saved)
    ckpt["runnerkit"]["loop"]["iter"] = -1
    ckpt["runnerkit"]["rng"]["torch"] = torch.zeros(3, dtype=torch.uint8)
    path = work_dir / "bad.pth"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r"runnerkit\.loop\.iter`.*; `runnerkit\.rng\.torch`"):
        _runner(work_dir).resume(str(path))


def test_a_hook_state_the_hook_refuses_is_a_checkpoint_error_naming_the_hook(saved: dict[str, Any], work_dir: Path) -> None:
    ckpt = copy.deepcopy(saved)
    ckpt["runnerkit"]["hooks"]["EMAHook"] = {"averages": {}}  # a dict, but not what EMAHook saved
    path = work_dir / "bad.pth"
    torch.save(ckpt, path)
    runner = _runner(work_dir)
    runner.register_hook(EMAHook())
    with pytest.raises(CheckpointError, match=r"has a state for hook `EMAHook` \(`runnerkit\.hooks\.EMAHook`\) that the "
                       r"hook cannot take \(ValueError: An EMAHook state must be a dict with `shadow`"):
        runner.resume(str(path))


def test_a_hook_registered_after_resume_gets_the_same_error(saved: dict[str, Any], work_dir: Path) -> None:
    ckpt = copy.deepcopy(saved)
    ckpt["runnerkit"]["hooks"]["EMAHook"] = {"averages": {}}
    path = work_dir / "bad.pth"
    torch.save(ckpt, path)
    runner = _runner(work_dir)
    runner.resume(str(path))
    runner.register_hook(EMAHook())
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 4), torch.randn(4)), batch_size=2)
    with pytest.raises(CheckpointError, match=rf"Checkpoint `{path}` has a state for hook `EMAHook`"):
        runner.run([data], [("train", 1)])


def test_a_good_checkpoint_still_resumes(saved: dict[str, Any], work_dir: Path) -> None:
    path = work_dir / "again.pth"
    torch.save(saved, path)
    runner = _runner(work_dir)
    runner.register_hook(EMAHook())
    runner.resume(str(path))
    assert runner.pending_resume is not None
