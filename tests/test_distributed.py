"""Distributed training under torchrun: set-up helpers in-process, real 2-rank jobs (gloo, CPU) in subprocesses."""

from __future__ import annotations

import datetime
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.distributed as torch_dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, WeightedRandomSampler

import runnerkit
from runnerkit import dist, launch
from runnerkit.checkpoint import find_latest
from runnerkit.cli.train import resolve_launcher
from runnerkit.dist import DistributedError
from runnerkit.hooks.sampler_seed import DistSamplerSeedHook
from tests import processes

SCRIPTS = Path(__file__).parent / "scripts"
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def no_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*TORCHRUN_ENV, dist.BACKEND_ENV, dist.TIMEOUT_ENV):
        monkeypatch.delenv(name, raising=False)


def torchrun_vars(world_size: int = 2, rank: int = 0) -> dict[str, str]:
    return {"RANK": str(rank), "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29511"}


def script_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dist_train", SCRIPTS / "dist_train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the torchrun environment, backend and timeout -----------------------------------------------


def test_outside_torchrun_there_is_no_torchrun_environment(no_torchrun: None) -> None:
    assert dist.torchrun_env() is None
    assert dist.get_dist_info() == (0, 1)
    assert not dist.is_distributed()


def test_the_torchrun_environment_is_read_from_its_variables() -> None:
    env = dist.torchrun_env(torchrun_vars(world_size=4, rank=3))
    assert env == dist.TorchrunEnv(rank=3, world_size=4, local_rank=3, master_addr="127.0.0.1", master_port=29511)


def test_a_partial_torchrun_environment_names_what_is_missing() -> None:
    with pytest.raises(DistributedError, match=r"sets `RANK`, `WORLD_SIZE` but not `LOCAL_RANK`, `MASTER_ADDR`, "
                                               r"`MASTER_PORT`: start the job with `torchrun"):
        dist.torchrun_env({"RANK": "0", "WORLD_SIZE": "2"})


def test_a_torchrun_variable_that_is_not_a_number_is_an_error() -> None:
    with pytest.raises(DistributedError, match=r"not a number .*invalid literal.*'two'"):
        dist.torchrun_env({**torchrun_vars(), "WORLD_SIZE": "two"})


def test_the_backend_is_gloo_on_cpu_unless_the_environment_names_one(no_torchrun: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert dist.default_backend() == ("nccl" if torch.cuda.is_available() else "gloo")
    monkeypatch.setenv(dist.BACKEND_ENV, "mpi")
    assert dist.default_backend() == "mpi"


def test_the_timeout_comes_from_the_caller_then_the_environment_then_the_default(
    no_torchrun: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dist.resolve_timeout() == datetime.timedelta(seconds=1800)
    monkeypatch.setenv(dist.TIMEOUT_ENV, "42.5")
    assert dist.resolve_timeout() == datetime.timedelta(seconds=42.5)
    assert dist.resolve_timeout(7) == datetime.timedelta(seconds=7)
    assert dist.resolve_timeout(datetime.timedelta(minutes=1)) == datetime.timedelta(seconds=60)


def test_a_bad_timeout_says_what_is_expected(no_torchrun: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"`timeout` must be a positive number of seconds, got `0`; e.g. `timeout=600`"):
        dist.resolve_timeout(0)
    monkeypatch.setenv(dist.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match=r"`RUNNERKIT_DIST_TIMEOUT` must be a positive number of seconds, got `'soon'`"):
        dist.resolve_timeout()


def test_init_dist_outside_torchrun_says_how_to_start_the_job(no_torchrun: None) -> None:
    with pytest.raises(DistributedError, match=r"none is set: start the job with `torchrun --nproc_per_node N -m runnerkit run CONFIG`"):
        dist.init_dist()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_nccl_on_a_machine_without_a_gpu_says_to_use_gloo(no_torchrun: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in torchrun_vars(rank=1).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(DistributedError, match=r"`nccl`, which needs CUDA GPUs, but this machine \(rank 1\) has none: use `gloo`") as info:
        dist.init_dist(backend="nccl")
    assert info.value.rank == 1
    assert not torch_dist.is_initialized()


def test_the_helpers_are_identities_in_one_process(no_torchrun: None) -> None:
    tensor = torch.tensor([1.0, 3.0])
    dist.barrier()
    assert dist.all_reduce_mean(tensor) is tensor and tensor.tolist() == [1.0, 3.0]
    assert dist.broadcast(tensor) is tensor
    assert dist.broadcast_object({"a": 1}) == {"a": 1}
    assert dist.all_gather_object("x") == ["x"]
    assert dist.collective_device() == torch.device("cpu")
    dist.destroy_dist()


# -- the launcher the command line picks -------------------------------------------------------------


def test_the_launcher_is_torchrun_exactly_when_torchrun_started_the_process() -> None:
    assert resolve_launcher(None, {}) == "none"
    assert resolve_launcher(None, torchrun_vars()) == "torchrun"
    assert resolve_launcher("torchrun", torchrun_vars(world_size=1)) == "torchrun"
    assert resolve_launcher("none", torchrun_vars(world_size=1)) == "none"


def test_launcher_torchrun_outside_torchrun_says_how_to_start_it() -> None:
    with pytest.raises(DistributedError, match=r"`--launcher torchrun` needs a process started by torchrun.*run "
                                               r"`torchrun --nproc_per_node N -m runnerkit run CONFIG --launcher torchrun`"):
        resolve_launcher("torchrun", {})


def test_launcher_none_inside_a_multi_process_torchrun_job_is_refused() -> None:
    with pytest.raises(DistributedError, match=r"`--launcher none`, but torchrun started 2 processes: each would train alone"):
        resolve_launcher("none", torchrun_vars())


def test_run_with_launcher_torchrun_outside_torchrun_is_one_message(
    no_torchrun: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli_helpers import main

    (tmp_path / "job.py").write_text("model = dict(type='DemoModel')\n")
    code, _, err = main(capsys, "run", str(tmp_path / "job.py"), "--launcher", "torchrun")
    assert code == 1
    assert err.startswith("runnerkit run: error: `--launcher torchrun` needs a process started by torchrun")


def test_unknown_dist_params_are_named_before_anything_starts(no_torchrun: None) -> None:
    session = launch.distributed_session({"backed": "gloo"})
    with pytest.raises(DistributedError, match=r"`dist_params` has unknown keys \['backed'\]; it takes `backend` and `timeout`"):
        session.__enter__()


@pytest.mark.parametrize(("params", "named"), [({"port": 29500}, "`port`"),
                                               ({"init_method": "tcp://a:1", "port": 1}, "`init_method`, `port`")])
def test_dist_params_that_torchrun_decides_are_refused_with_the_way_to_set_them(
        no_torchrun: None, params: dict[str, object], named: str) -> None:
    session = launch.distributed_session({"backend": "gloo", **params})
    with pytest.raises(DistributedError, match=rf"`dist_params` sets {named}, which torchrun decides: the processes "
                                               r"meet at torchrun's `--master_addr`/`--master_port`"):
        session.__enter__()


def test_a_collective_failure_is_told_apart_from_a_bug() -> None:
    timeout = RuntimeError("[../third_party/gloo/gloo/transport/tcp/unbound_buffer.cc:78] Timed out waiting 5000ms for recv")
    assert launch.is_collective_failure(timeout)
    assert launch.is_collective_failure(RuntimeError("Connection closed by peer [127.0.0.1]:1234"))
    assert not launch.is_collective_failure(RuntimeError("CUDA out of memory"))
    assert not launch.is_collective_failure(ValueError("Timed out"))


# -- data: one DistributedSampler per rank ----------------------------------------------------------


def test_a_shuffled_loader_is_rebuilt_with_a_distributed_sampler_and_its_arguments() -> None:
    data = list(range(20))
    loader = DataLoader(data, batch_size=3, shuffle=True, drop_last=True, collate_fn=list)
    split = launch.distributed_loader(loader, seed=5, num_replicas=2, rank=1)
    assert isinstance(split.sampler, DistributedSampler)
    assert (split.sampler.num_replicas, split.sampler.rank, split.sampler.shuffle, split.sampler.seed) == (2, 1, True, 5)
    assert (split.batch_size, split.drop_last, split.collate_fn, split.dataset) == (3, True, list, data)
    assert len(split) == 3  # 10 items on this rank, batches of 3, the last one dropped


def test_an_unshuffled_loader_keeps_its_order_on_every_rank() -> None:
    split = launch.distributed_loader(DataLoader(list(range(6)), batch_size=2), num_replicas=2, rank=0)
    assert split.sampler.shuffle is False
    assert [b.tolist() for b in split] == [[0, 2], [4]]


def test_the_ranks_together_see_each_epochs_global_batches_of_one_process() -> None:
    data = list(range(32))
    one = DataLoader(data, batch_size=8, sampler=DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=3))
    ranks = [launch.distributed_loader(DataLoader(data, batch_size=4, shuffle=True), seed=3, num_replicas=2, rank=r)
             for r in (0, 1)]
    for epoch in (0, 1):
        for loader in (one, *ranks):
            loader.sampler.set_epoch(epoch)
        together = [sorted(a.tolist() + b.tolist()) for a, b in zip(*ranks)]
        assert together == [sorted(batch.tolist()) for batch in one]
    assert together != [sorted(batch.tolist()) for batch in DataLoader(data, batch_size=8)]  # it was shuffled


def test_a_loader_that_already_has_a_distributed_sampler_is_kept() -> None:
    data = list(range(8))
    loader = DataLoader(data, sampler=DistributedSampler(data, num_replicas=2, rank=0))
    assert launch.distributed_loader(loader) is loader


def test_a_loader_that_cannot_be_split_is_kept_with_a_warning() -> None:
    data = list(range(8))
    weighted = DataLoader(data, sampler=WeightedRandomSampler([1.0] * 8, 8))
    with pytest.warns(RuntimeWarning, match=r"cannot give a DataLoader with the custom sampler `WeightedRandomSampler` "
                                            r"\(batch sampler `BatchSampler`\) a `DistributedSampler`, so every rank iterates all of it"):
        assert launch.distributed_loader(weighted, num_replicas=2, rank=0) is weighted
    with pytest.warns(RuntimeWarning, match=r"cannot give a `list`, not a `torch.utils.data.DataLoader`"):
        launch.distributed_loader([[1, 2]], num_replicas=2, rank=0)
    replacement = DataLoader(data, sampler=RandomSampler(data, replacement=True))
    with pytest.warns(RuntimeWarning, match=r"custom sampler `RandomSampler`"):
        launch.distributed_loader(replacement, num_replicas=2, rank=0)


# -- the model and the runner ------------------------------------------------------------------------


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).squeeze(-1)

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self(batch).pow(2).mean()  # through forward: must reach the real forward, not train_step
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch)}

    def val_step(self, batch: torch.Tensor, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.train_step(batch, optimizer)


def test_wrap_model_needs_an_initialised_process_group(no_torchrun: None) -> None:
    with pytest.raises(DistributedError, match=r"`wrap_model` needs an initialised process group: call "
                                               r"`runnerkit.dist.init_dist\(\)` first"):
        launch.wrap_model(Net())


@pytest.fixture
def one_rank_group(tmp_path: Path) -> Any:
    """A real gloo process group of one process (enough to build DistributedDataParallel)."""
    torch_dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        yield
    finally:
        torch_dist.destroy_process_group()


def test_a_ddp_model_runs_train_step_through_ddp_forward_and_its_own_forward_inside(one_rank_group: None) -> None:
    torch.manual_seed(0)
    plain = Net()
    wrapped = launch.wrap_model(Net())
    wrapped.module.load_state_dict(plain.state_dict())
    assert launch.wrap_model(wrapped) is wrapped
    calls: list[str] = []
    original_forward = torch.nn.parallel.DistributedDataParallel.forward

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("ddp.forward")
        return original_forward(self, *args, **kwargs)

    batch = torch.randn(4, 3)
    runners = [runnerkit.IterBasedRunner(model=m, max_iters=1) for m in (plain, wrapped)]
    torch.nn.parallel.DistributedDataParallel.forward = spy  # type: ignore[method-assign]
    try:
        for runner in runners:
            runner.run_iter(batch, train_mode=True)
            runner.outputs["loss"].backward()
    finally:
        torch.nn.parallel.DistributedDataParallel.forward = original_forward  # type: ignore[method-assign]
    assert calls == ["ddp.forward"]
    assert "forward" not in vars(wrapped.module)  # the real forward is back
    assert torch.equal(runners[0].outputs["loss"], runners[1].outputs["loss"])
    assert torch.equal(plain.fc.weight.grad, wrapped.module.fc.weight.grad)


def test_prepare_runner_adds_one_sampler_seed_hook_and_quiets_the_other_ranks_logger() -> None:
    logger = logging.getLogger("runnerkit.test_distributed.prepare")
    runner = runnerkit.EpochBasedRunner(model=Net(), max_epochs=1, logger=logger)
    launch.prepare_runner(runner)
    launch.prepare_runner(runner)
    assert [type(h) for h in runner.hooks] == [DistSamplerSeedHook]
    assert len(logger.filters) == 1
    logger.removeFilter(logger.filters[0])


def test_ranks_other_than_zero_log_only_warnings_and_errors() -> None:
    records: list[str] = []
    for rank in (0, 1):
        logger = logging.getLogger(f"runnerkit.test_distributed.rank{rank}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
        logger.addHandler(handler)
        launch.quiet_other_ranks(logger, rank=rank)
        logger.info(f"info from {rank}")
        logger.warning(f"warning from {rank}")
    assert records == ["info from 0", "warning from 0", "warning from 1"]


# -- checkpoints: per-rank states only when distributed ---------------------------------------------


def test_a_one_process_checkpoint_holds_no_per_rank_states_and_resumes_a_two_rank_one_with_a_warning(work_dir: Path) -> None:
    runner = runnerkit.IterBasedRunner(model=Net(), max_iters=2, work_dir=work_dir)
    runner.run([[torch.randn(2, 3)] * 2], [("train", 1)])
    runner.gather_rank_states()  # a no-op in one process
    path = runner.save_checkpoint(work_dir)
    ckpt = torch.load(path, weights_only=True)
    assert "ranks" not in ckpt["runnerkit"]
    own = {"rng": ckpt["runnerkit"]["rng"], "loaders": ckpt["runnerkit"]["loop"]["loaders"]}
    ckpt["runnerkit"]["ranks"] = [own, own]
    torch.save(ckpt, path)
    resumed = runnerkit.IterBasedRunner(model=Net(), max_iters=3, work_dir=work_dir)
    resumed.resume(path)
    with pytest.warns(UserWarning, match=r"saved by 2 processes and 1 resume it: every rank continues from rank 0's RNG "
                                         r"states and data positions.*Resume with 2 processes for that"):
        resumed.run([[torch.randn(2, 3)] * 2], [("train", 1)])


# -- real 2-rank jobs under torchrun (gloo, CPU) ------------------------------------------------------


def torchrun(*args: str | Path, cwd: Path, timeout: float = 150, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m torch.distributed.run --standalone --nproc_per_node 2 ARGS``; the result and its seconds."""
    child_env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    child_env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(SCRIPTS.parents[1])]),
                     PYTHONHASHSEED="0", **(env or {}))
    start = time.perf_counter()
    proc = processes.run(  # torchrun and its workers end with the test, on every path
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *map(str, args)],
        cwd=cwd, env=child_env, timeout=timeout,
    )
    return proc, time.perf_counter() - start


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)


def equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(200)
def test_two_ranks_train_in_step_like_one_process_over_the_global_batch_and_only_rank_0_writes(tmp_path: Path) -> None:
    proc, _ = torchrun(SCRIPTS / "dist_train.py", tmp_path, "parity", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    out = tmp_path / "parity"
    rank0, rank1 = weights(out / "rank0.pth"), weights(out / "rank1.pth")
    reports = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    # every rank knows its place and got its own share of the data
    assert [(r["runner_rank"], r["runner_world_size"], r["sampler"]) for r in reports] == [
        (0, 2, "DistributedSampler"), (1, 2, "DistributedSampler")]
    assert reports[0]["losses"] != reports[1]["losses"]
    # ... yet both end with the same weights (gradients were averaged), equal to one process with batch 8
    assert equal(rank0, rank1)
    single = script_module().train_single(str(tmp_path / "single"))
    for name, value in single.items():
        torch.testing.assert_close(rank0[name], value, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(single["fc1.weight"], script_module().Net().fc1.weight)  # it trained
    # logged values are the mean over ranks, averaged at log intervals only, in one collective each
    log_file, = (out / "work").glob("*.log.json")
    logged = [json.loads(line)["loss"] for line in log_file.read_text().splitlines()]
    interval = script_module().LOG_INTERVAL
    expected = [sum(r["losses"][i] + r["losses"][i + 1] for r in reports) / (2 * interval)
                for i in range(0, 12, interval)]
    assert logged == pytest.approx(expected, abs=1e-5)
    assert reports[0]["all_reduce_at_iters"] == reports[1]["all_reduce_at_iters"] == [1, 3, 5, 7, 9, 11]
    # only rank 0 wrote into the work dir: rank 1's file system calls there were none
    assert reports[1]["audit"] == []
    assert any(".log.json" in line for line in reports[0]["audit"]) and any(".pth" in line for line in reports[0]["audit"])
    assert sorted(p.name for p in (out / "work").iterdir()) == sorted(
        [log_file.name, "iter_10.pth", "iter_12.pth", "iter_5.pth", "last_checkpoint", "latest.pth",
         ".runnerkit.lock"])  # rank 0's run holds the work dir's lock
    ckpt = torch.load(out / "work" / "iter_5.pth", weights_only=True)
    assert len(ckpt["runnerkit"]["ranks"]) == 2
    # rank 0 may save alone (no collective inside `save_checkpoint`); stale per-rank states are left out
    extra = torch.load(out / "extra" / "iter_12.pth", weights_only=True)
    assert "ranks" not in extra["runnerkit"] and equal(extra["state_dict"], rank0)


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_ddp_run_resumed_from_a_checkpoint_ends_bit_identical_on_every_rank(tmp_path: Path) -> None:
    proc, _ = torchrun(SCRIPTS / "dist_train.py", tmp_path, "exact", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    full = [weights(tmp_path / "exact" / f"rank{r}.pth") for r in (0, 1)]
    assert equal(full[0], full[1])
    # iteration 5 of 12 is in the middle of epoch 2 (4 iterations per epoch): data position and
    # every rank's RNG states (dropout, noisy data) must come back
    ckpt = tmp_path / "exact" / "work" / "iter_5.pth"
    state = torch.load(ckpt, weights_only=True)["runnerkit"]
    rng0, rng1 = state["ranks"][0]["rng"], state["ranks"][1]["rng"]
    assert not torch.equal(rng0["torch"], rng1["torch"]) and rng0["python"] != rng1["python"]
    proc, _ = torchrun(SCRIPTS / "dist_train.py", tmp_path, "exact", "--resume", ckpt, cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    for rank in (0, 1):
        assert equal(weights(tmp_path / "resumed" / f"rank{rank}.pth"), full[rank]), f"rank {rank}"


def readme_command() -> list[str]:
    """The command of the README's "Distributed" section."""
    import re

    readme = (SCRIPTS.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Distributed", 1)[1].split("\n## ", 1)[0]
    (command,) = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    return command.split()


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(200)
def test_the_readme_command_trains_the_demo_on_two_ranks_with_launcher_torchrun(tmp_path: Path) -> None:
    command = readme_command()
    assert command[:4] == ["torchrun", "--standalone", "--nproc_per_node", "2"]
    (tmp_path / "docs").symlink_to(SCRIPTS.parents[1] / "docs")
    proc, _ = torchrun(*command[4:], "--launcher", "torchrun", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert proc.stdout.count("Trained 600 iterations in ") == 1  # rank 0's summary only
    assert proc.stdout.count("Iter [20/600]") == 1  # rank 0's log lines only
    work = tmp_path / "work_dirs" / "demo_ddp"
    log_json, = work.glob("*.log.json")
    assert sorted(p.name for p in work.iterdir()) == sorted(
        ["demo.json", log_json.name, log_json.name[: -len(".json")], "iter_200.pth", "iter_400.pth", "iter_600.pth",
         "last_checkpoint", "latest.pth", ".runnerkit.lock"])  # the run held the work dir's lock
    lines = [json.loads(line) for line in log_json.read_text().splitlines()]
    assert [line["iter"] for line in lines if line.get("mode") == "train"] == list(range(20, 601, 20))
    val = [line for line in lines if line.get("mode") == "val"]
    assert len(val) == 6 and val[-1]["acc"] > 0.8  # DistEvalHook gathered both ranks' results
    ckpt = torch.load(work / "iter_600.pth", weights_only=True)
    assert len(ckpt["runnerkit"]["ranks"]) == 2


FAILING_JOB = """\
model = dict(type="DemoModel", hidden=8)
data = dict(train=dict(type="DemoDataset", num_samples=64), val=dict(type="DemoDataset", num_samples=10, seed=1),
            samples_per_gpu=4)
optimizer = dict(type="SGD", lr=0.05, momentum=0.9)
optimizer_config = dict()
runner = dict(type="IterBasedRunner", max_iters=40)
checkpoint_config = dict(interval=3)
log_config = dict(interval=2)
evaluation = dict(interval=6)
seed = 0
num_threads = 1
custom_hooks = [dict(type="dist_hooks:FailRankHook", how={how!r}, after_iter=8)]
dist_params = dict(backend="gloo", timeout={timeout})
"""


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(200)
@pytest.mark.parametrize(("how", "timeout"), [("kill", 60), ("hang", 8)])
def test_a_rank_that_dies_or_hangs_ends_the_job_with_an_error_and_a_loadable_checkpoint(
    tmp_path: Path, how: str, timeout: int
) -> None:
    # plain `torchrun -m runnerkit run` (no --launcher): torchrun's environment selects the launcher
    (tmp_path / "job.py").write_text(FAILING_JOB.format(how=how, timeout=timeout))
    proc, seconds = torchrun("-m", "runnerkit", "run", "job.py", "--work-dir", "w", cwd=tmp_path)
    assert proc.returncode != 0, output(proc)
    # bounded: a dead rank is noticed at once (torchrun, a closed connection); a hanging one after the timeout
    assert seconds < 90, output(proc)
    if how == "kill":
        assert "Signal 9 (SIGKILL) received by PID" in proc.stderr, output(proc)
        assert "rank      : 1" in proc.stderr
    else:
        assert ("runnerkit run: error: Rank 0 of 2 lost the other ranks: a collective operation failed" in proc.stderr
                ), output(proc)
        assert "stopped responding for longer than the 8 s timeout" in proc.stderr
        assert f"The last complete checkpoint is `{tmp_path / 'w' / 'iter_6.pth'}`; continue with `--resume`." in proc.stderr
    latest = find_latest(str(tmp_path / "w"))
    assert latest is not None and Path(latest).name == "iter_6.pth"  # iteration 9 needed the lost rank
    ckpt = torch.load(latest, weights_only=True)
    assert ckpt["meta"]["iter"] == 6 and len(ckpt["runnerkit"]["ranks"]) == 2


@pytest.mark.cuda
@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(200)
def test_on_gpus_the_demo_trains_with_nccl_one_process_per_gpu(tmp_path: Path) -> None:
    gpus = min(torch.cuda.device_count(), 2)
    (tmp_path / "docs").symlink_to(SCRIPTS.parents[1] / "docs")
    child_env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    child_env.update(OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus), "-m", "runnerkit",
         "run", "docs/examples/demo.py", "--work-dir", "w", "--cfg-options", "runner.max_iters=40"],
        cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, output(proc)
    ckpt = torch.load(tmp_path / "w" / "iter_40.pth", weights_only=True)
    assert all(t.device.type == "cpu" for t in ckpt["state_dict"].values())
    assert len(ckpt["runnerkit"].get("ranks", [None])) == gpus
