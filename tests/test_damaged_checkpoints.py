"""Damaged and foreign checkpoints: one message naming the file and what is wrong; `load_from` across shapes."""

from __future__ import annotations

import os
import pickle
import re
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import runnerkit
from runnerkit import CheckpointError
from tests.cli_helpers import main
from tests.cli_helpers import runnerkit as run_script
from tests.helpers import TinyNet


def _good(path: Path) -> None:
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet()})
    os.replace(runner.save_checkpoint(path.parent, filename_tmpl="good.pth"), path)


def truncated(path: Path) -> None:
    _good(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def text(path: Path) -> None:
    path.write_text("model weights are in the other folder\n")


def random_bytes(path: Path) -> None:
    path.write_bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0), dtype=torch.uint8).numpy().tobytes())


def other_shapes(path: Path) -> None:
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet(d_in=7)})
    os.replace(runner.save_checkpoint(path.parent, filename_tmpl="other.pth"), path)


def pickled_list(path: Path) -> None:
    torch.save([1, 2, 3], path)


def raw_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"state_dict": {}, "x": Path("a")}))


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (truncated, r"is damaged: it starts like a file `torch\.save` wrote, but cannot be read \(\d+ bytes; .*\)\. "
                             r"It was probably truncated"),
    "empty": (empty, r"is empty \(0 bytes\): the save that wrote it never finished"),
    "text": (text, r"is a text file, not a checkpoint \(it starts with `model weights are in the other folder`\); give the `\.pth` file"),
    "random": (random_bytes, r"is not a checkpoint: it is neither a zip archive nor a legacy file written by `torch\.save`"),
    "shapes": (other_shapes, r"does not fit the model \(TinyNet\): different shapes for fc\.weight: checkpoint \(1, 7\), "
                             r"model \(1, 4\)\. It was saved from another model or configuration\."),
    "list": (pickled_list, r"holds a list, not a checkpoint: expected a dict with a `state_dict`"),
    "raw pickle": (raw_pickle, r"is not a checkpoint: it is neither a zip archive nor a legacy file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_resume_from_a_damaged_or_foreign_file_raises_checkpoint_error(tmp_path: Path, case: str) -> None:
    make, message = CASES[case]
    path = tmp_path / "bad.pth"
    make(path)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet(), "optimizer": None})
    with pytest.raises(CheckpointError, match=rf"^Checkpoint `{path}` {message}") as info:
        runner.resume(path)
    assert "weights_only=False" not in str(info.value)
    assert info.value.path == str(path)
    assert isinstance(info.value, runnerkit.RunnerkitError) and isinstance(info.value, ValueError)


JOB = """
model = dict(type="DemoModel", hidden=8)
data = dict(samples_per_gpu=16, train=dict(type="DemoDataset", num_samples=64))
optimizer = dict(type="SGD", lr=0.1)
optimizer_config = dict()
runner = dict(type="IterBasedRunner", max_iters=2)
"""


@pytest.mark.parametrize("case", list(CASES))
def test_the_cli_says_what_is_wrong_in_one_line_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "job.py").write_text(textwrap.dedent(JOB))
    make, message = CASES[case]
    make(tmp_path / "bad.pth")
    message = message.replace("TinyNet", "DemoModel").replace(
        r"different shapes for fc\.weight: checkpoint \(1, 7\), model \(1, 4\)",
        r"missing keys net\.0\.weight, net\.0\.bias, .*; unexpected keys fc\.weight, fc\.bias")
    code, _, err = main(capsys, "run", "job.py", "--resume", "bad.pth")
    assert code == 1
    assert re.match(rf"runnerkit run: error: Checkpoint `bad\.pth` {message}", err), err
    assert "Traceback" not in err and "weights_only=False" not in err


@pytest.mark.slow
def test_the_console_script_prints_no_traceback_for_a_truncated_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(textwrap.dedent(JOB))
    truncated(tmp_path / "bad.pth")
    proc = run_script("run", "job.py", "--resume", "bad.pth", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("runnerkit run: error: Checkpoint `bad.pth` is damaged"), proc.stderr


def test_only_a_checkpoint_holding_pickled_code_suggests_weights_only_false(tmp_path: Path) -> None:
    path = tmp_path / "code.pth"
    torch.save({"state_dict": TinyNet().state_dict(), "meta": {"where": Path("x")}}, path)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet()})
    with pytest.raises(CheckpointError, match=r"holds pickled Python objects \(`pathlib\.\w*Path`\) that `weights_only=True` "
                                              r"refuses to load\. Loading it would run code from the file: only if you trust "
                                              r"its source, pass `weights_only=False`"):
        runner.load_checkpoint(path)


def test_an_optimizer_state_that_does_not_fit_names_the_file(tmp_path: Path) -> None:
    model = TinyNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1)})
    path = runner.save_checkpoint(tmp_path)
    ckpt = torch.load(path, weights_only=True)
    ckpt["optimizer"]["param_groups"][0]["params"] = [0]
    torch.save(ckpt, path)
    other = TinyNet()
    resumed = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1},
                              {"model": other, "optimizer": torch.optim.SGD(other.parameters(), lr=0.1)})
    with pytest.raises(CheckpointError, match=rf"`{path}` holds an optimizer state that does not fit the optimizer \(SGD\)"):
        resumed.resume(path)


def test_a_malformed_runnerkit_section_names_the_file(tmp_path: Path) -> None:
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": TinyNet()})
    path = runner.save_checkpoint(tmp_path)
    ckpt = torch.load(path, weights_only=True)
    del ckpt["runnerkit"]["loop"]["iter"]
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=rf"`{path}` has a malformed `runnerkit` section \(`runnerkit\.loop\.iter`: Field required\)"):
        runner.resume(path)


# -- load_from across shapes -----------------------------------------------------------------------


class Wider(torch.nn.Module):
    def __init__(self, out: int) -> None:
        super().__init__()
        self.body = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, out)

    def train_step(self, *args: object, **kwargs: object) -> dict[str, object]:  # pragma: no cover - not trained
        raise NotImplementedError


def test_load_from_with_other_shapes_skips_them_with_a_warning_listing_them(tmp_path: Path) -> None:
    source = Wider(3)
    saver = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": source})
    path = saver.save_checkpoint(tmp_path)
    target = Wider(5)
    head_before = target.head.weight.detach().clone()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": target})
    with pytest.warns(UserWarning, match=rf"Checkpoint `{path}`: skipped 2 tensor\(s\) whose shape differs from the "
                                         r"model's: head\.weight: checkpoint \(3, 4\), model \(5, 4\); head\.bias: "
                                         r"checkpoint \(3,\), model \(5,\)\."):
        runner.load_checkpoint(path, strict=False)
    assert torch.equal(target.body.weight, source.body.weight)
    assert torch.equal(target.head.weight, head_before)
    with pytest.raises(CheckpointError, match=r"does not fit the model \(Wider\): different shapes for head\.weight"):
        runner.load_checkpoint(path, strict=True)


def test_load_from_in_a_job_warns_and_trains(tmp_path: Path) -> None:
    from runnerkit.job import build_job

    base = {"seed": 0, "model": {"type": "DemoModel", "hidden": 8, "num_classes": 3},
            "data": {"samples_per_gpu": 16, "train": {"type": "DemoDataset", "num_samples": 64}},
            "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {}, "checkpoint_config": {},
            "runner": {"type": "IterBasedRunner", "max_iters": 2}}
    build_job(base, work_dir=tmp_path / "a").run()
    other = {**base, "model": {"type": "DemoModel", "hidden": 8, "num_classes": 4},
             "load_from": str(tmp_path / "a" / "iter_2.pth")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        job = build_job(other, work_dir=tmp_path / "b")
    skipped = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(skipped) == 1 and "checkpoint (3, 8), model (4, 8)" in skipped[0], skipped
    job.run()
    assert job.runner.iter == 2
