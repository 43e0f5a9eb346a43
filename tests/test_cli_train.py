"""``runnerkit run``, ``demo`` and ``plot``: what they train, write and print."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tests.cli_helpers import main, runnerkit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

JOB = """
model = dict(type="DemoModel", hidden=8)
data = dict(samples_per_gpu=16, train=dict(type="DemoDataset", num_samples=64))
optimizer = dict(type="SGD", lr=0.1, momentum=0.9)
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
lr_config = dict(policy="step", step=[6])
checkpoint_config = dict(interval=5)
log_config = dict(interval=2, hooks=[dict(type="TextLoggerHook")])
runner = dict(type="IterBasedRunner", max_iters=10)
seed = 0
"""


@pytest.fixture
def job_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(JOB))
    return path


def state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_the_readme_demo_trains_and_its_log_plots(tmp_path: Path) -> None:
    # (how long it takes is a benchmark matter, not a unit test's: see benchmarks/README.md)
    proc = runnerkit("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    work = tmp_path / "work_dirs" / "demo"
    assert "Trained 600 iterations in " in proc.stdout
    assert "  work dir:    work_dirs/demo\n  checkpoints: iter_200.pth, iter_400.pth, iter_600.pth" in proc.stdout
    assert "Plot the curves:  runnerkit plot work_dirs/demo" in proc.stdout
    (log,) = work.glob("*.log.json")
    records = [json.loads(line) for line in log.read_text().splitlines()[1:]]
    val = [r for r in records if r["mode"] == "val"]
    # as mmcv 1.7.2's TextLoggerHook: a val record's `iter` is the number of evaluation batches (`eval_iter_num`),
    # and it follows the training record of the iteration it was evaluated at
    assert [r["iter"] for r in val] == [8] * 6
    assert [records[records.index(r) - 1]["iter"] for r in val] == [100, 200, 300, 400, 500, 600]
    assert val[-1]["acc"] > 0.8, "the demo model should learn the spirals"
    assert (work / "demo.json").exists() and log.with_name(log.name[: -len(".json")]).exists()
    plotted = runnerkit("plot", "work_dirs/demo", cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    png = work / (log.name[: -len(".log.json")] + ".png")
    assert plotted.stdout == f"Wrote {png.relative_to(tmp_path)}\n"
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_the_demo_takes_a_work_dir_and_a_length(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "demo", "--work-dir", str(tmp_path / "d"), "--max-iters", "12")
    assert code == 0
    assert "Trained 12 iterations in " in out
    assert sorted(p.name for p in (tmp_path / "d").glob("iter_*.pth")) == ["iter_12.pth", "iter_4.pth", "iter_8.pth"]
    assert json.loads((tmp_path / "d" / "demo.json").read_text())["runner"] == {"type": "IterBasedRunner", "max_iters": 12}


def test_run_trains_into_work_dirs_named_after_the_config(job_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "run", "job.py")
    assert code == 0
    work = job_file.parent / "work_dirs" / "job"
    assert sorted(p.name for p in work.glob("iter_*.pth")) == ["iter_10.pth", "iter_5.pth"]
    assert "Iter [10/10]\tlr: 1.000e-02" in out  # the step schedule reached the text log
    assert "  work dir:    work_dirs/job\n" in out
    assert json.loads((work / "job.json").read_text())["model"] == {"type": "DemoModel", "hidden": 8}
    (text_log,) = work.glob("*.log")
    assert "Iter [10/10]" in text_log.read_text()


def test_run_resumes_from_the_latest_checkpoint_and_ends_as_an_uninterrupted_run(
    job_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(capsys, "run", "job.py", "--work-dir", "whole", "--cfg-options", "runner.max_iters=15")[0] == 0
    assert main(capsys, "run", "job.py", "--work-dir", "cut")[0] == 0
    code, out, _ = main(capsys, "run", "job.py", "--work-dir", "cut", "--resume", "--cfg-options", "runner.max_iters=15")
    assert code == 0
    assert "resumed epoch 2, iter 10" in out
    whole, resumed = state(job_file.parent / "whole" / "iter_15.pth"), state(job_file.parent / "cut" / "iter_15.pth")
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_run_resumes_from_a_named_checkpoint(job_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(capsys, "run", "job.py", "--work-dir", "w")[0] == 0
    code, out, _ = main(capsys, "run", "job.py", "--work-dir", "w2", "--resume", "w/iter_5.pth")
    assert code == 0
    assert "resumed epoch 0, iter 5" in out  # as mmcv, the epoch moves on the iteration after the wrap


def test_run_of_a_bad_config_lists_the_problems_and_trains_nothing(job_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = main(capsys, "run", "job.py", "--cfg-options", "model.hiden=3", "runner.max_epochs=1")
    assert code == 1
    assert out.splitlines() == [
        "job.py:2: model.hiden: unknown argument `hiden` for `DemoModel`. Did you mean `hidden`? It takes: "
        "in_features, hidden, num_classes",
        "job.py:9: runner: Only one of `max_iters` and `max_epochs` can be set, got max_iters=10 and "
        "max_epochs=1; keep only one of them",
    ]
    assert err == "runnerkit run: error: `job.py` has 2 problem(s), listed above; nothing was trained.\n"
    assert not (job_file.parent / "work_dirs").exists()


def test_run_of_a_runner_only_config_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runner.toml"
    path.write_text('[runner]\ntype = "IterBasedRunner"\nmax_iters = 5\n')
    code, _, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "w"))
    assert code == 1
    assert err.startswith("runnerkit run: error: The config cannot be run yet:\n  - model: `run` needs a `model` section")
    assert "A config with only a `runner` section is meant for Python" in err


def test_run_with_a_missing_resume_checkpoint_names_it(job_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = main(capsys, "run", "job.py", "--resume", "nope.pth")
    assert code == 1
    assert err.startswith("runnerkit run: error: `resume`: the checkpoint `nope.pth` does not exist")


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.log.json").write_text('{"mode": "train", "epoch": 1, "iter": 1, "lr": 0.1, "loss": 1.0}\n')
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = main(capsys, "plot", str(tmp_path))
    assert code == 1
    assert err == 'runnerkit plot: error: Plotting needs matplotlib, which is not installed; run `pip install "runnerkit[plot]"`.\n'


def test_plot_of_a_missing_work_dir_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = main(capsys, "plot", str(tmp_path / "nope"), "-o", str(tmp_path / "x.png"))
    assert code == 1
    assert err.startswith(f"runnerkit plot: error: `{tmp_path / 'nope'}` does not exist; give a work dir")
