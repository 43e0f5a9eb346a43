"""`--launcher pytorch|slurm|mpi`: the scheduler's variables become torch.distributed's, or a clear refusal; two
processes a scheduler started (real processes, real environment variables, a fake `scontrol` on PATH) train as one
job of 2 ranks, never as two copies of the job in one work dir."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from runnerkit.cli.train import resolve_launcher
from runnerkit.dist import DistributedError
from runnerkit.schedulers import detect_scheduler, scheduler_env
from tests.test_distributed import SCRIPTS, TORCHRUN_ENV, torchrun_vars

SLURM = {"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0", "SLURM_NODELIST": "fakenode[1-2]"}
MPI = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
       "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}


def fake_scontrol(bin_dir: Path, hosts: list[str]) -> Path:
    """A real executable `scontrol` that expands any node list to ``hosts`` (and fails on other sub-commands)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "scontrol"
    script.write_text("#!/bin/sh\n[ \"$1 $2\" = 'show hostnames' ] || { echo \"bad arguments: $*\" >&2; exit 2; }\n"
                      + "".join(f"echo {h}\n" for h in hosts))
    script.chmod(0o755)
    return bin_dir


# -- the launcher the command line picks -------------------------------------------------------------


def test_pytorch_is_mmcvs_name_for_torchrun() -> None:
    assert resolve_launcher("pytorch", torchrun_vars()) == "torchrun"
    with pytest.raises(DistributedError, match=r"`--launcher torchrun` needs a process started by torchrun"):
        resolve_launcher("pytorch", {})


def test_tasks_a_scheduler_started_without_a_launcher_join_as_one_job() -> None:
    assert resolve_launcher(None, SLURM) == "slurm"
    assert resolve_launcher(None, MPI) == "mpi"
    assert resolve_launcher(None, {**SLURM, "SLURM_NTASKS": "1"}) == "none"  # one task: one process
    assert resolve_launcher(None, {**SLURM, **torchrun_vars()}) == "torchrun"  # srun starting torchrun per node
    assert detect_scheduler({"SLURM_PROCID": "0", "SLURM_NTASKS": "many"}) is None


@pytest.mark.parametrize(("environ", "named"), [
    (SLURM, r"Slurm \(`SLURM_PROCID`/`SLURM_NTASKS`\) started this process as task 1 of 2"),
    (MPI, r"MPI \(`OMPI_COMM_WORLD_RANK`/`_SIZE`\) started this process as task 1 of 2"),
])
def test_launcher_none_in_a_scheduler_job_of_several_tasks_is_refused(environ: dict[str, str], named: str) -> None:
    with pytest.raises(DistributedError, match=rf"`--launcher none`, but {named}: each task would train the whole job "
                                               r"alone into one work dir\. Drop `--launcher none` \(or pass `--launcher "):
        resolve_launcher("none", environ)


# -- mapping the scheduler's variables ----------------------------------------------------------------


def test_slurm_variables_map_to_torchrun_ones_with_the_first_host_from_scontrol(tmp_path: Path) -> None:
    path = str(fake_scontrol(tmp_path, ["fakenode1", "fakenode2"]))
    assert scheduler_env("slurm", {**SLURM, "PATH": path}) == {
        "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "fakenode1", "MASTER_PORT": "29500"}
    # the environment's own MASTER_ADDR/MASTER_PORT win; a port from the config is the default
    assert scheduler_env("slurm", {**SLURM, "PATH": path, "MASTER_ADDR": "10.1.1.1"}, port=29600) == {
        "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "10.1.1.1", "MASTER_PORT": "29600"}
    assert scheduler_env("slurm", {**SLURM, "PATH": path, "MASTER_PORT": "1234"})["MASTER_PORT"] == "1234"


def test_slurm_without_scontrol_uses_a_single_plain_host_or_refuses_with_the_fix(tmp_path: Path) -> None:
    single = {**SLURM, "SLURM_NODELIST": "gpu-node07", "PATH": str(tmp_path)}
    assert scheduler_env("slurm", single)["MASTER_ADDR"] == "gpu-node07"
    with pytest.raises(DistributedError, match=r"`MASTER_ADDR` is not set and `scontrol` \(to expand "
                                               r"`SLURM_NODELIST=fakenode\[1-2\]` into host names\) is not on `PATH`\. "
                                               r"Export the first node's host name, e\.g\. in the batch script: "
                                               r"`export MASTER_ADDR=\$\(scontrol show hostnames"):
        scheduler_env("slurm", {**SLURM, "PATH": str(tmp_path)})


def test_a_failing_scontrol_is_reported_not_used_as_an_address(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text("#!/bin/sh\necho 'slurm_load_partitions: Unable to contact slurm controller' >&2\nexit 1\n")
    (bin_dir / "scontrol").chmod(0o755)
    with pytest.raises(DistributedError, match=r"show hostnames fakenode\[1-2\]` did not name a host \(exit status 1: "
                                               r"'slurm_load_partitions: Unable to contact slurm controller'\); export "
                                               r"`MASTER_ADDR`"):
        scheduler_env("slurm", {**SLURM, "PATH": str(bin_dir)})


def test_incomplete_or_bad_scheduler_variables_say_how_to_start_the_job() -> None:
    with pytest.raises(DistributedError, match=r"The Slurm environment is incomplete: `SLURM_NTASKS` is not set\. Start "
                                               r"every process with `srun --ntasks N runnerkit run CONFIG` \(inside an allocation"):
        scheduler_env("slurm", {"SLURM_PROCID": "0"})
    with pytest.raises(DistributedError, match=r"A Slurm environment variable is not a number .*'two'"):
        scheduler_env("slurm", {**SLURM, "SLURM_NTASKS": "two"})
    with pytest.raises(DistributedError, match=r"The Open MPI environment is incomplete: `OMPI_COMM_WORLD_RANK`, "
                                               r"`OMPI_COMM_WORLD_SIZE`, `OMPI_COMM_WORLD_LOCAL_RANK` are not set"):
        scheduler_env("mpi", {})


def test_mpi_variables_map_to_torchrun_ones_and_several_nodes_need_a_master_address() -> None:
    assert scheduler_env("mpi", MPI) == {
        "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    two_nodes = {**MPI, "OMPI_COMM_WORLD_LOCAL_SIZE": "1", "OMPI_COMM_WORLD_LOCAL_RANK": "0"}
    with pytest.raises(DistributedError, match=r"An MPI job needs the master address: `MASTER_ADDR` is not set and "
                                               r"the processes run on several nodes\. .*`mpirun -x MASTER_ADDR=HOST"):
        scheduler_env("mpi", two_nodes)
    assert scheduler_env("mpi", {**two_nodes, "MASTER_ADDR": "n0"})["MASTER_ADDR"] == "n0"


# -- real processes started "by a scheduler" ------------------------------------------------------------

JOB = """\
model = dict(type="DemoModel", hidden=8)
data = dict(train=dict(type="DemoDataset", num_samples=32), samples_per_gpu=4)
optimizer = dict(type="SGD", lr=0.05)
optimizer_config = dict()
runner = dict(type="IterBasedRunner", max_iters=4)
checkpoint_config = dict(interval=4)
log_config = dict(interval=2)
seed = 0
num_threads = 1
dist_params = dict(backend="gloo", timeout=60)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_tasks(envs: list[dict[str, str]], args: list[str], cwd: Path, timeout: float = 90) -> list[tuple[int, str, str]]:
    """Start one ``runnerkit`` process per environment (each in its own process group), wait, and always end them."""
    base = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV and not k.startswith(("SLURM_", "OMPI_"))}
    base.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(SCRIPTS.parents[1])]))
    procs = [subprocess.Popen([sys.executable, "-m", "runnerkit", *args], cwd=cwd, env={**base, **env}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) for env in envs]
    try:
        outputs = [p.communicate(timeout=timeout) for p in procs]
        return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("kind", ["slurm", "mpi"])
def test_two_tasks_a_scheduler_started_train_once_as_one_job_of_two_ranks(tmp_path: Path, kind: str) -> None:
    (tmp_path / "job.py").write_text(JOB)
    port = str(free_port())
    if kind == "slurm":  # no launcher: the Slurm variables are detected; the master is scontrol's first host
        bin_dir = fake_scontrol(tmp_path / "bin", ["localhost", "fakenode2"])
        envs = [{**SLURM, "SLURM_PROCID": str(r), "SLURM_LOCALID": str(r), "MASTER_PORT": port,
                 "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"} for r in (0, 1)]
        args = ["run", "job.py", "--work-dir", "w"]
    else:
        envs = [{**MPI, "OMPI_COMM_WORLD_RANK": str(r), "OMPI_COMM_WORLD_LOCAL_RANK": str(r), "MASTER_PORT": port}
                for r in (0, 1)]
        args = ["run", "job.py", "--work-dir", "w", "--launcher", "mpi"]
    results = run_tasks(envs, args, tmp_path)
    report = "\n".join(f"--- task {r}: exit {code}\n{out[-2000:]}\n{err[-3000:]}" for r, (code, out, err) in enumerate(results))
    assert [code for code, _, _ in results] == [0, 0], report
    assert sum(out.count("Trained 4 iterations in ") for _, out, _ in results) == 1, report  # rank 0's summary only
    log_json, = (tmp_path / "w").glob("*.log.json")  # one run, not two
    lines = [json.loads(line) for line in log_json.read_text().splitlines()]
    assert [line["iter"] for line in lines if line.get("mode") == "train"] == [2, 4]
    ckpt = torch.load(tmp_path / "w" / "iter_4.pth", weights_only=True)
    assert len(ckpt["runnerkit"]["ranks"]) == 2
