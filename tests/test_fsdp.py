"""FSDP2, sharded (DCP) checkpoints, resharding, consolidation and async saves: in-process checks and real
torchrun jobs on CPU/gloo (tests/scripts/dist_fsdp.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from runnerkit import checkpoint_sharded, workdir
from runnerkit.parallel_fsdp import shard_model, validate_fsdp2

SCRIPTS = Path(__file__).parent / "scripts"
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env.update(OMP_NUM_THREADS="1", PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(SCRIPTS.parents[1])]))
    return env


def torchrun_cmd(nproc: int, *args: str | Path) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
            str(SCRIPTS / "dist_fsdp.py"), *map(str, args)]


def run(cmd: list[str], cwd: Path, timeout: float = 150) -> None:
    proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, f"--- stdout\n{out[-3000:]}\n--- stderr\n{err[-6000:]}"


def close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], atol: float) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k], b[k], rtol=0, atol=atol) for k in a)


def equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# -- options and errors (in-process) --------------------------------------------------------------


def test_fsdp2_options_are_validated_naming_the_bad_key() -> None:
    assert validate_fsdp2({"mp_policy": {"param_dtype": "bf16"}, "shard": ["Block"]}).shard == ["Block"]
    with pytest.raises(ValueError, match=r"bad options \(`reshard_afer_forward`: Extra inputs are not permitted\)"):
        validate_fsdp2({"reshard_afer_forward": True})
    with pytest.raises(ValueError, match=r"`mp_policy.param_dtype`: Input should be 'float32'"):
        validate_fsdp2({"mp_policy": {"param_dtype": "float8"}})


def test_sharding_needs_a_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    from runnerkit.dist import DistributedError

    with pytest.raises(DistributedError, match=r"needs an initialised process group: call `runnerkit.dist.init_dist\(\)`"):
        shard_model(torch.nn.Linear(2, 2), {})


def test_a_sharded_checkpoint_folder_is_found_rotated_and_never_a_half_written_one(tmp_path: Path) -> None:
    def folder(name: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / ".metadata").write_bytes(b"x")
        (path / workdir.SHARDED_STATE).write_bytes(b"x")
        return path

    folder("iter_4"), folder("iter_8")
    (tmp_path / ".tmp-iter_12").mkdir()  # a killed save
    (tmp_path / "iter_16").mkdir()  # not complete: never a checkpoint
    assert [Path(p).name for p in workdir.run_checkpoints(tmp_path, "iter_{}.pth")] == ["iter_4", "iter_8"]
    assert workdir.find_latest(tmp_path) is not None
    (tmp_path / workdir.LAST_CHECKPOINT).write_text("iter_4\n")
    assert workdir.find_latest(tmp_path) == str(tmp_path / "iter_4")
    assert workdir.resolve_resume(str(tmp_path / "iter_8"), None) == str(tmp_path / "iter_8")
    assert workdir.previous_run_files(tmp_path) == ["iter_4", "iter_8", workdir.LAST_CHECKPOINT]
    assert workdir.clean_tmp_files(tmp_path) == [".tmp-iter_12"]
    assert not (tmp_path / ".tmp-iter_12").exists()
    with pytest.raises(Exception, match=r"is a folder but not a complete sharded checkpoint"):
        checkpoint_sharded.read_sharded(str(tmp_path / "iter_16"))


# -- real jobs under torchrun ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2-rank DDP and FSDP2 runs (tests/scripts/dist_fsdp.py `train`)."""
    out = tmp_path_factory.mktemp("fsdp")
    run(torchrun_cmd(2, out, "train"), cwd=out)
    return out


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fsdp2_on_two_ranks_ends_like_ddp_and_writes_complete_sharded_and_whole_file_checkpoints(trained: Path) -> None:
    final = torch.load(trained / "final.pth", weights_only=True)
    assert close(final["fsdp"], final["ddp"], atol=1e-5)  # EMA and gradient clipping ran on DTensors
    assert close(final["fsdp_ema"], final["ddp_ema"], atol=1e-5)
    assert close(final["accumulated"]["fsdp2"], final["accumulated"]["ddp"], atol=1e-5)  # no-sync windows
    unsynced, synced = final["buffers"]  # BatchNorm statistics per rank, without and with SyncBuffersHook
    assert not torch.equal(unsynced[0], unsynced[1]) and torch.equal(synced[0], synced[1])
    work = trained / "fsdp"
    assert (work / workdir.LAST_CHECKPOINT).read_text().strip() == "iter_8"
    assert sorted(p.name for p in work.iterdir() if p.is_dir()) == ["iter_4", "iter_8"]
    assert sorted(p.name for p in (work / "iter_8").iterdir()) == [".metadata", "__0_0.distcp", "__1_0.distcp", "runnerkit.pth"]
    # the old bug: a file checkpoint of a sharded model held rank 0's half of each weight; now it holds them whole
    whole = torch.load(trained / "file" / "iter_4.pth", weights_only=True)
    assert {k: tuple(v.shape) for k, v in whole["state_dict"].items()} == {
        "scale": (1,), "fc1.weight": (16, 4), "fc1.bias": (16,), "fc2.weight": (1, 16), "fc2.bias": (1,)}
    consolidated = checkpoint_sharded.consolidate(str(work / "iter_4"))
    assert equal(consolidated["state_dict"], whole["state_dict"])
    assert consolidated["optimizer"]["param_groups"][0]["params"] == whole["optimizer"]["param_groups"][0]["params"]
    for index, state in whole["optimizer"]["state"].items():
        assert torch.equal(consolidated["optimizer"]["state"][index]["momentum_buffer"], state["momentum_buffer"])
    assert equal(checkpoint_sharded.consolidate(str(work / "iter_8"))["state_dict"], final["at_last"])


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_non_finite_shard_on_one_rank_stops_every_rank_before_the_sharded_checkpoint(trained: Path) -> None:
    reports = json.loads((trained / "nan.json").read_text())
    assert [r["parameters"] for r in reports] == [["fc1.weight"], ["fc1.weight"]]  # rank 0's own shard is finite
    assert all(r["message"].startswith("Training stopped at iteration 4: the model's parameters hold NaN or infinite "
                                       "values (`fc1.weight`), so no checkpoint was written") for r in reports)
    assert not (trained / "nan" / "iter_4").exists() and not list((trained / "nan").glob(".tmp-*"))


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_runnerkit_consolidate_writes_one_file_that_resumes_in_one_process_and_load_from_takes_both_forms(
        trained: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("dist_fsdp", SCRIPTS / "dist_fsdp.py")
    assert spec is not None and spec.loader is not None
    dist_fsdp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dist_fsdp)
    proc = subprocess.run([sys.executable, "-m", "runnerkit", "consolidate", str(trained / "fsdp" / "iter_4"),
                           str(tmp_path / "iter_4.pth")], capture_output=True, text=True, env=child_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"Wrote {tmp_path / 'iter_4.pth'}"
    single = torch.load(tmp_path / "iter_4.pth", weights_only=True)
    assert {"meta", "state_dict", "optimizer"} <= set(single)
    final = torch.load(trained / "final.pth", weights_only=True)
    runner = dist_fsdp.train_single(str(tmp_path / "one"), resume=str(tmp_path / "iter_4.pth"))
    assert close(dist_fsdp.full_weights(runner), final["fsdp"], atol=1e-5)
    fresh = dist_fsdp.build(dist_fsdp.Net(), str(tmp_path / "load"))
    fresh.load_checkpoint(str(trained / "fsdp" / "iter_8"), strict=True)  # load_from: a sharded folder
    assert equal(dist_fsdp.full_weights(fresh), final["at_last"])
    fresh.load_checkpoint(str(tmp_path / "iter_4.pth"), strict=True)  # ... or one file
    assert equal(dist_fsdp.full_weights(fresh), single["state_dict"])


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_sharded_checkpoints_resume_bit_identically_at_the_same_world_size_and_reshard_both_ways(trained: Path) -> None:
    out = trained
    saved = checkpoint_sharded.consolidate(str(out / "fsdp" / "iter_4"))
    final = torch.load(out / "final.pth", weights_only=True)
    # 2 -> 1: one rank loads what two saved, and continues from the samples already seen
    run(torchrun_cmd(1, out, "resume", "one", out / "fsdp" / "iter_4"), cwd=out)
    one = torch.load(out / "one_0.pth", weights_only=True)
    assert one["iter"] == 4 and equal(one["weights"], saved["state_dict"])
    assert equal(one["ema"], saved["runnerkit"]["hooks"]["EMAHook"]["shadow"])
    for index, state in saved["optimizer"]["state"].items():
        assert torch.equal(one["optimizer"]["state"][index]["momentum_buffer"], state["momentum_buffer"])
    assert close(one["final"], final["fsdp"], atol=1e-5)  # the same global batches: the same data order
    # 2 -> 2 (bit-identical) and 1 -> 2 (the 1-rank run's iteration-6 checkpoint)
    one_ckpt = out / "one_0" / "iter_6"
    run(torchrun_cmd(2, out, "resume", "two", out / "fsdp" / "iter_4", one_ckpt), cwd=out)
    same = torch.load(out / "two_0.pth", weights_only=True)
    assert equal(same["weights"], saved["state_dict"]) and equal(same["final"], final["fsdp"])
    resharded = torch.load(out / "two_1.pth", weights_only=True)
    assert resharded["iter"] == 6
    assert equal(resharded["weights"], checkpoint_sharded.consolidate(str(one_ckpt))["state_dict"])
    assert close(resharded["final"], final["fsdp"], atol=1e-5)


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_kill_during_a_sharded_save_leaves_the_previous_checkpoint_the_latest(tmp_path: Path) -> None:
    proc = subprocess.Popen(torchrun_cmd(2, tmp_path, "slow"), cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while not (tmp_path / "writing0").exists() and not (tmp_path / "writing1").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    work = tmp_path / "slow"
    assert (work / workdir.LAST_CHECKPOINT).read_text().strip() == "iter_4"
    assert (work / ".tmp-iter_8").is_dir() and not (work / "iter_8").exists()
    assert workdir.resolve_resume("auto", str(work)) == str(work / "iter_4")
    assert workdir.clean_tmp_files(work) == [".tmp-iter_8"]


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_async_save_under_sigterm_waits_for_the_write_and_exits_143_with_complete_checkpoints(tmp_path: Path) -> None:
    work = tmp_path / "work"
    proc = subprocess.Popen([sys.executable, str(SCRIPTS / "async_signal.py"), str(work)], env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "writing").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.05)
        time.sleep(0.5)  # training goes on meanwhile (up to the next save, which waits for this one)
        assert not (work / "iter_2.pth").exists()  # still being written in the background
        os.kill(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, out[-3000:]
    latest = (work / workdir.LAST_CHECKPOINT).read_text().strip()
    stopped: dict[str, Any] = torch.load(work / latest, weights_only=True)
    first = torch.load(work / "iter_2.pth", weights_only=True)
    assert int(latest.split("_")[1].split(".")[0]) == stopped["meta"]["iter"] > 2
    # a real copy taken at iteration 2, although training went on while it was written
    assert equal(first["state_dict"], torch.load(tmp_path / "weights_at_2.pth", weights_only=True))
    assert not [p for p in work.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigterm_during_a_background_sharded_save_waits_for_it_and_saves_on_every_rank(tmp_path: Path) -> None:
    proc = subprocess.Popen(torchrun_cmd(2, tmp_path, "signal"), cwd=tmp_path, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 150
        while not (tmp_path / "writing1").exists() or not (tmp_path / "writing1").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
            time.sleep(0.1)
        time.sleep(0.5)
        work = tmp_path / "signal"
        assert not (work / "iter_2").exists()  # still being written in the background
        os.kill(int((tmp_path / "writing1").read_text()), signal.SIGTERM)  # rank 1 only: the ranks agree to stop
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0 and "exitcode  : 143" in err, err[-3000:]
    latest = (work / workdir.LAST_CHECKPOINT).read_text().strip()
    assert latest.startswith("iter_") and int(latest[len("iter_"):]) > 2 and workdir.is_checkpoint_dir(work / latest)
    first = checkpoint_sharded.consolidate(str(work / "iter_2"))  # complete, and a copy taken at iteration 2
    assert equal(first["state_dict"], torch.load(tmp_path / "weights_at_2.pth", weights_only=True))
    stopped = checkpoint_sharded.consolidate(str(work / latest))
    assert stopped["meta"]["iter"] == int(latest[len("iter_"):]) and len(stopped["runnerkit"]["ranks"]) == 2
    assert not list(work.glob(".tmp-*"))


FSDP2_CONFIG = """
import os
work_dir = "work"
seed = 0
num_threads = 1
model = dict(type="DemoModel", in_features=2, hidden=16, num_classes=3)
data = dict(samples_per_gpu=8, workers_per_gpu=0, train=dict(type="DemoDataset", num_samples=64, seed=0),
            val=dict(type="DemoDataset", num_samples=32, seed=1))
optimizer = dict(type="AdamW", lr=0.01)
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
lr_config = None
parallel = dict(type="fsdp2", reshard_after_forward=False)
checkpoint_config = dict(interval=4, max_keep_ckpts=1, async_save=True)
log_config = dict(interval=4, hooks=[dict(type="TextLoggerHook")])
evaluation = dict(interval=4)
runner = dict(type="IterBasedRunner", max_iters=int(os.environ["ITERS"]))
"""


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_config_with_parallel_fsdp2_trains_under_torchrun_and_resume_auto_continues_from_its_sharded_checkpoint(
        tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(FSDP2_CONFIG)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "runnerkit", "run", "job.py", "--launcher", "torchrun", "--resume", "auto"]
    for iters in (8, 12):
        proc = subprocess.run(command, cwd=tmp_path, env={**child_env(), "ITERS": str(iters)}, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-4000:]
        work = tmp_path / "work"
        assert (work / workdir.LAST_CHECKPOINT).read_text().strip() == f"iter_{iters}"
        assert [Path(p).name for p in workdir.run_checkpoints(work, "iter_{}.pth")] == [f"iter_{iters}"]  # rotated
    second = sorted((tmp_path / "work").glob("*.log"))[-1].read_text()  # the second run continued the first
    assert "max: 12 iters" in second and "Saving checkpoint at 12 iterations" in second
    assert not re.search(r"Saving checkpoint at [48] iterations|Iter \[4/12\]", second), second[-2000:]
    last = checkpoint_sharded.consolidate(str(work / "iter_12"))
    assert last["meta"]["iter"] == 12 and last["state_dict"]["net.0.weight"].shape == (16, 2)
