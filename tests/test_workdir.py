"""One run per work dir: rotation on disk, killed saves, fresh-run refusal, `resume="auto"`, the pointer rule."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from runnerkit import ConfigError, WorkDirInUseError, workdir
from runnerkit.job import build_job
from tests.cli_helpers import main
from tests.helpers import kill_during_a_save


def config(**overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "seed": 0,
        "num_threads": 1,
        "model": {"type": "DemoModel", "hidden": 8},
        "data": {"samples_per_gpu": 16, "train": {"type": "DemoDataset", "num_samples": 64},
                 "val": {"type": "DemoDataset", "num_samples": 32, "seed": 1}},
        "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
        "optimizer_config": {},
        "checkpoint_config": {"interval": 2, "max_keep_ckpts": 2},
        "runner": {"type": "IterBasedRunner", "max_iters": 6},
    }
    cfg.update(overrides)
    return cfg


def names(directory: Path, pattern: str = "*.pth") -> list[str]:
    return sorted((p.name for p in directory.glob(pattern)), key=workdir._natural)


def train(work_dir: Path, **kwargs: Any) -> Any:
    overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in ("runner", "evaluation", "checkpoint_config", "load_from")}
    job = build_job(config(**overrides), work_dir=work_dir, **kwargs)
    job.run()
    return job.runner


# -- rotation --------------------------------------------------------------------------------------


def test_max_keep_ckpts_holds_across_resumes_and_rotates_the_file_resumed_from(work_dir: Path) -> None:
    train(work_dir)
    assert names(work_dir, "iter_*.pth") == ["iter_4.pth", "iter_6.pth"]
    train(work_dir, runner={"type": "IterBasedRunner", "max_iters": 10}, resume=True)
    assert names(work_dir, "iter_*.pth") == ["iter_8.pth", "iter_10.pth"]  # iter_6, resumed from, rotated too
    train(work_dir, runner={"type": "IterBasedRunner", "max_iters": 12}, resume=str(work_dir / "iter_8.pth"))
    assert names(work_dir, "iter_*.pth") == ["iter_10.pth", "iter_12.pth"]


def test_best_checkpoints_are_kept_apart_from_rotation(work_dir: Path) -> None:
    runner = train(work_dir, evaluation={"interval": 2, "save_best": "acc"},
                   checkpoint_config={"interval": 2, "max_keep_ckpts": 1})
    best = runner.meta["hook_msgs"]["best_ckpt"]
    assert Path(best).name.startswith("best_acc_iter_") and Path(best).exists()
    assert [n for n in names(work_dir) if n.startswith("iter_")] == ["iter_6.pth"]
    assert workdir.run_checkpoints(work_dir, "iter_{}.pth") == [str(work_dir / "iter_6.pth")]


# -- killed saves ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_save_leaves_a_temporary_file_that_is_no_checkpoint_and_the_next_run_removes(tmp_path: Path) -> None:
    kill_during_a_save(tmp_path)
    leftovers = [p.name for p in tmp_path.glob(".tmp-*")]
    assert leftovers, "the kill should have interrupted a save"
    assert not any(n.endswith(".pth") for n in leftovers)  # never taken for a checkpoint by a `*.pth` glob
    assert workdir.run_checkpoints(tmp_path, "iter_{}.pth") in ([str(tmp_path / "iter_1.pth")], [])
    assert set(workdir.previous_run_files(tmp_path)) <= {"iter_1.pth", "last_checkpoint", "latest.pth"}
    latest = workdir.find_latest(tmp_path)
    assert latest is not None and Path(latest).name in ("iter_1.pth", "iter_big.pth")
    # the next run in that work dir (here: a fresh one, starting over) removes them
    runner = train(tmp_path, overwrite=True)
    assert runner.iter == 6
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob("*.tmp"))
    assert names(tmp_path) == ["iter_4.pth", "iter_6.pth", "latest.pth"]


# -- fresh runs ----------------------------------------------------------------------------------------


def test_a_fresh_run_in_a_work_dir_with_another_runs_checkpoints_is_refused(work_dir: Path) -> None:
    train(work_dir)
    before = {p.name: p.stat().st_mtime_ns for p in work_dir.glob("*.pth")}
    with pytest.raises(WorkDirInUseError, match=(
        rf"The work dir `{work_dir}` holds the checkpoints of an earlier run \(iter_4\.pth, iter_6\.pth, last_checkpoint, "
        r"latest\.pth\); a fresh run there would mix with it\. Nothing was trained: continue it with `resume=True` \(or "
        r"`resume=\"auto\"`; config key `resume`\), choose another `work_dir`, or start over with `overwrite=True` "
        r"\(config key `overwrite`; deletes those checkpoints\)\."
    )):
        build_job(config(), work_dir=work_dir)
    assert {p.name: p.stat().st_mtime_ns for p in work_dir.glob("*.pth")} == before


def test_overwrite_starts_over_and_deletes_the_earlier_checkpoints_only(work_dir: Path) -> None:
    train(work_dir, runner={"type": "IterBasedRunner", "max_iters": 8}, checkpoint_config={"interval": 2})
    (work_dir / "notes.txt").write_text("mine")
    runner = train(work_dir, runner={"type": "IterBasedRunner", "max_iters": 4}, checkpoint_config={"interval": 2},
                   overwrite=True)
    assert runner.iter == 4
    assert names(work_dir) == ["iter_2.pth", "iter_4.pth", "latest.pth"]
    assert (work_dir / "notes.txt").read_text() == "mine"
    assert (work_dir / "last_checkpoint").read_text().strip() == "iter_4.pth"


def test_overwrite_as_a_config_key_and_load_from_inside_the_work_dir_is_kept(work_dir: Path) -> None:
    train(work_dir)
    job = build_job(config(overwrite=True, load_from=str(work_dir / "iter_6.pth"),
                           runner={"type": "IterBasedRunner", "max_iters": 2}), work_dir=work_dir)
    assert (work_dir / "iter_6.pth").exists() and not (work_dir / "iter_4.pth").exists()
    job.run()
    assert job.runner.iter == 2


def test_cli_run_refuses_in_flags_and_overwrite_or_resume_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "job.py").write_text(textwrap.dedent("""
        model = dict(type="DemoModel", hidden=8)
        data = dict(samples_per_gpu=16, train=dict(type="DemoDataset", num_samples=64))
        optimizer = dict(type="SGD", lr=0.1)
        optimizer_config = dict()
        checkpoint_config = dict(interval=2)
        runner = dict(type="IterBasedRunner", max_iters=4)
        seed = 0
    """))
    assert main(capsys, "run", "job.py", "--work-dir", "w")[0] == 0
    code, out, err = main(capsys, "run", "job.py", "--work-dir", "w")
    assert code == 1 and "Traceback" not in err
    assert err == (
        "runnerkit run: error: The work dir `w` holds the checkpoints of an earlier run (iter_2.pth, iter_4.pth, "
        "last_checkpoint, latest.pth); a fresh run there would mix with it. Nothing was trained: continue it with "
        "`--resume` (or `--resume auto`), train into another `--work-dir`, or start over with `--overwrite` (deletes "
        "those checkpoints).\n"
    )
    code, out, err = main(capsys, "run", "job.py", "--work-dir", "w", "--resume", "auto",
                          "--cfg-options", "runner.max_iters=6")
    assert code == 0, err
    assert "load checkpoint from w/iter_4.pth" in out and "Trained 2 iterations in " in out
    assert ", resumed: iteration 4 to 6" in out
    code, out, err = main(capsys, "run", "job.py", "--work-dir", "w", "--overwrite")
    assert code == 0, err
    assert "Trained 4 iterations" in out and names(tmp_path / "w") == ["iter_2.pth", "iter_4.pth", "latest.pth"]


def test_the_demo_starts_its_own_work_dir_over_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "demo"
    assert main(capsys, "demo", "--work-dir", str(work), "--max-iters", "20")[0] == 0
    code, out, err = main(capsys, "demo", "--work-dir", str(work), "--max-iters", "20")
    assert code == 0, err
    assert re.match(rf"Starting the demo in `{re.escape(str(work))}` over: deleting the previous demo's checkpoints "
                    r"\((iter_\d+\.pth, )+last_checkpoint, latest\.pth\)\.\n", out), out
    assert "Trained 20 iterations" in out


# -- resume="auto" ------------------------------------------------------------------------------------


def test_resume_auto_starts_fresh_then_continues_exactly(tmp_path: Path) -> None:
    fresh = train(tmp_path / "a", resume="auto", checkpoint_config={"interval": 2})
    assert fresh.iter == 6
    resumed = train(tmp_path / "a", resume="auto", runner={"type": "IterBasedRunner", "max_iters": 10},
                    checkpoint_config={"interval": 2})
    straight = train(tmp_path / "b", runner={"type": "IterBasedRunner", "max_iters": 10},
                     checkpoint_config={"interval": 2})
    assert resumed.iter == 10
    for a, b in zip(resumed.model.parameters(), straight.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_resume_auto_from_a_config_key(work_dir: Path) -> None:
    train(work_dir)
    job = build_job(config(resume="auto", runner={"type": "IterBasedRunner", "max_iters": 8}), work_dir=work_dir)
    assert job.runner.iter == 6
    job = build_job(config(resume_from="auto", runner={"type": "IterBasedRunner", "max_iters": 8}), work_dir=work_dir)
    assert job.runner.iter == 6


# -- the last_checkpoint pointer -------------------------------------------------------------------


def test_a_pointer_outside_the_work_dir_is_ignored_with_a_warning(tmp_path: Path) -> None:
    outside = train(tmp_path / "other", checkpoint_config={"interval": 2})
    assert outside.iter == 6
    work = tmp_path / "w"
    work.mkdir()
    (work / "last_checkpoint").write_text(str(tmp_path / "other" / "iter_6.pth") + "\n")
    with pytest.warns(RuntimeWarning, match=r"last_checkpoint` points outside the work dir \(to `.*other/iter_6\.pth`\); "
                                            r"ignoring it\. To resume from that file, name it explicitly"):
        assert workdir.find_latest(work) is None
    (work / "last_checkpoint").write_text("../other/iter_4.pth\n")
    with pytest.warns(RuntimeWarning, match=r"points outside the work dir \(to `\.\./other/iter_4\.pth`\)"):
        assert workdir.resolve_resume("auto", str(work)) is None
    # an explicit path may name any file
    job = build_job(config(runner={"type": "IterBasedRunner", "max_iters": 8}), work_dir=work,
                    resume=str(tmp_path / "other" / "iter_6.pth"))
    assert job.runner.iter == 6


def test_a_pointer_inside_the_work_dir_is_followed(work_dir: Path) -> None:
    train(work_dir, checkpoint_config={"interval": 2})
    (work_dir / "latest.pth").unlink()
    (work_dir / "last_checkpoint").write_text("iter_4.pth\n")
    assert workdir.find_latest(work_dir) == str(work_dir / "iter_4.pth")
    (work_dir / "last_checkpoint").unlink()
    assert workdir.find_latest(work_dir) == str(work_dir / "iter_6.pth")  # the highest number, without pointers


# -- issue 21: auto never dead-ends; checkpoints found where the config writes them; rotation; links -------------


def test_resume_auto_starts_fresh_over_a_dangling_latest_link_or_pointer(work_dir: Path) -> None:
    work_dir.mkdir()
    (work_dir / "latest.pth").symlink_to("iter_4.pth")  # its checkpoint was deleted
    (work_dir / "last_checkpoint").write_text("iter_4.pth\n")
    with pytest.raises(WorkDirInUseError):  # a fresh run without auto is still refused
        build_job(config(), work_dir=work_dir)
    with pytest.warns(RuntimeWarning, match=r'resume="auto": nothing to resume from in `.*` \(found only '
                                            r"last_checkpoint, latest\.pth\); starting fresh"):
        job = build_job(config(), work_dir=work_dir, resume="auto")
    job.run()
    assert job.runner.iter == 6 and (work_dir / "last_checkpoint").read_text().strip() == "iter_6.pth"
    assert os.readlink(work_dir / "latest.pth") == "iter_6.pth"


def test_checkpoints_in_the_checkpoint_out_dir_are_found_resumed_and_never_overwritten(tmp_path: Path) -> None:
    work, out_dir = tmp_path / "w", tmp_path / "w" / "ckpts"
    ckpt = {"interval": 2, "out_dir": str(out_dir)}
    train(work, checkpoint_config=ckpt)
    folder = out_dir / "w"
    assert names(folder) == ["iter_2.pth", "iter_4.pth", "iter_6.pth", "latest.pth"] and not list(work.glob("*.pth"))
    with pytest.raises(WorkDirInUseError, match=r"\(ckpts/w/iter_2\.pth, ckpts/w/iter_4\.pth, ckpts/w/iter_6\.pth"):
        build_job(config(checkpoint_config=ckpt), work_dir=work)  # a fresh run would overwrite them
    before = (folder / "iter_6.pth").stat().st_mtime_ns
    for resume in (True, "auto"):
        job = build_job(config(checkpoint_config=ckpt, runner={"type": "IterBasedRunner", "max_iters": 8}),
                        work_dir=work, resume=resume)
        assert job.runner.iter == 6
        del job
    assert (folder / "iter_6.pth").stat().st_mtime_ns == before


def test_a_checkpoint_name_linked_outside_the_work_dir_is_refused(tmp_path: Path) -> None:
    train(tmp_path / "other", checkpoint_config={"interval": 2})
    work = tmp_path / "w"
    work.mkdir()
    (work / "iter_9.pth").symlink_to(tmp_path / "other" / "iter_6.pth")
    with pytest.warns(RuntimeWarning, match=r"iter_9\.pth` is a link to `.*other/iter_6\.pth`, outside the work dir; "
                                            r"ignoring it"):
        assert workdir.find_latest(work) is None
    with pytest.warns(RuntimeWarning, match="outside the work dir"), \
            pytest.raises(ConfigError, match=r"`resume`: No checkpoint to resume from in"):
        build_job(config(), work_dir=work, resume=True)
