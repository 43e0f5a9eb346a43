"""Two torchrun agents on this machine as two "nodes" (real agents, static and c10d rendezvous): resume is decided
once for the whole job, so node-local work dirs fail fast writing nothing, and an elastic restart across the agents
resumes every rank from the same checkpoint."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.test_distributed import SCRIPTS, TORCHRUN_ENV, output, torchrun

JOB = """\
model = dict(type="DemoModel", hidden=8)
data = dict(train=dict(type="DemoDataset", num_samples=64), samples_per_gpu=4)
optimizer = dict(type="SGD", lr=0.05, momentum=0.9)
optimizer_config = dict()
runner = dict(type="IterBasedRunner", max_iters={iters})
checkpoint_config = dict(interval=3)
log_config = dict(interval=3)
seed = 0
num_threads = 1
custom_hooks = {hooks!r}
dist_params = dict(backend="gloo", timeout=60)
"""

JOB_DICT = dict(
    model=dict(type="DemoModel", hidden=8),
    data=dict(train=dict(type="DemoDataset", num_samples=64), samples_per_gpu=4),
    optimizer=dict(type="SGD", lr=0.05, momentum=0.9), optimizer_config=dict(),
    checkpoint_config=dict(interval=3), log_config=dict(interval=3), seed=0, num_threads=1,
)


def test_a_checkpoint_is_readable_when_its_file_or_sharded_folder_can_be_read(tmp_path: Path) -> None:
    from runnerkit.agreement import decide_once, unreadable

    (tmp_path / "iter_3.pth").write_bytes(b"x")
    (tmp_path / "iter_6").mkdir()  # a sharded checkpoint is a folder
    assert unreadable(str(tmp_path / "iter_3.pth")) is None and unreadable(str(tmp_path / "iter_6")) is None
    assert unreadable(str(tmp_path / "iter_9.pth")) == f"there is no `{tmp_path / 'iter_9.pth'}`"
    if os.geteuid() != 0:  # root reads anything
        (tmp_path / "iter_6").chmod(0)
        assert unreadable(str(tmp_path / "iter_6")) == f"the folder `{tmp_path / 'iter_6'}` is not readable"
        (tmp_path / "iter_6").chmod(0o755)
    assert decide_once(lambda: "chosen", reads=lambda chosen: [chosen]) == "chosen"  # one process: nothing to agree


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def agents(rendezvous: list[str], command: list[str], cwds: list[Path], timeout: float) -> tuple[list[tuple[int, str, str]], float]:
    """One ``torchrun --nnodes 2 --nproc-per-node 1`` agent per "node" (its own cwd and process group); always ended."""
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(SCRIPTS.parents[1])]), PYTHONHASHSEED="0")
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
             *[arg.format(node=node) for arg in rendezvous], "-m", "runnerkit", *command],
            cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        for node, cwd in enumerate(cwds)
    ]
    try:
        outputs = [p.communicate(timeout=timeout) for p in procs]
        return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)], time.perf_counter() - start
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def report(results: list[tuple[int, str, str]]) -> str:
    return "\n".join(f"--- node {n}: exit {code}\n{out[-2500:]}\n{err[-4000:]}" for n, (code, out, err) in enumerate(results))


def listing(directory: Path) -> dict[str, float]:
    """Every file and its modification time (the work dir lock's time aside: rank 0 takes the lock to decide)."""
    if not directory.exists():
        return {}
    return {p.name: 0.0 if p.name == ".runnerkit.lock" else p.stat().st_mtime for p in directory.iterdir()}


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_resume_auto_with_node_local_work_dirs_fails_fast_on_every_rank_and_writes_nothing(tmp_path: Path) -> None:
    from runnerkit.job import build_job

    nodes = [tmp_path / "node0", tmp_path / "node1"]
    for node in nodes:
        node.mkdir()
        (node / "job.py").write_text(JOB.format(iters=3, hooks=[]))
    # node 0's local work dir holds a checkpoint of an earlier run; node 1's has none (another disk)
    cwd = os.getcwd()
    os.chdir(nodes[0])
    try:
        build_job(dict(JOB_DICT, runner=dict(type="IterBasedRunner", max_iters=3)), work_dir="w").run()
    finally:
        os.chdir(cwd)
    before = listing(nodes[0] / "w")
    assert "iter_3.pth" in before
    port = free_port()
    static = ["--node-rank", "{node}", "--master-addr", "127.0.0.1", "--master-port", str(port)]
    results, seconds = agents(static, ["run", "job.py", "--work-dir", "w", "--resume", "auto",
                                       "--cfg-options", "runner.max_iters=12"], nodes, timeout=120)
    assert all(code != 0 for code, _, _ in results), report(results)
    assert seconds < 60, report(results)  # not the 60 s collective timeout, let alone 30 minutes
    host = socket.gethostname()
    for _, _, err in results:  # every rank says which rank, on which host, cannot read which file
        assert f"rank 1 on host `{host}` cannot read `w/iter_3.pth`: there is no `{nodes[1] / 'w' / 'iter_3.pth'}`" in err, \
            report(results)
        assert f"Not every rank of the 2 can read the checkpoint rank 0 (host `{host}`) chose" in err
    assert listing(nodes[0] / "w") == before  # no checkpoint, no log, nothing touched
    assert listing(nodes[1] / "w") == {}
@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_an_elastic_restart_across_two_agents_resumes_every_rank_from_the_same_checkpoint(tmp_path: Path) -> None:
    marker = tmp_path / "rank1-killed"
    (tmp_path / "job.py").write_text(JOB.format(iters=12, hooks=[
        {"type": "dist_hooks:FailRankHook", "how": "kill", "rank": 1, "after_iter": 8, "marker": str(marker)},
    ]))
    (tmp_path / "ref.py").write_text(JOB.format(iters=12, hooks=[]))
    port = free_port()
    c10d = ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "elastic-test",
            "--max-restarts", "1"]
    results, _ = agents(c10d, ["run", "job.py", "--work-dir", "w", "--resume", "auto"], [tmp_path, tmp_path], timeout=200)
    assert [code for code, _, _ in results] == [0, 0], report(results)
    assert marker.exists(), "rank 1 should have killed itself once"
    assert "load checkpoint from w/iter_6.pth" in results[0][1] + results[1][1], report(results)
    reference, _ = torchrun("-m", "runnerkit", "run", "ref.py", "--work-dir", "ref", cwd=tmp_path)  # one agent, 2 ranks
    assert reference.returncode == 0, output(reference)
    got = torch.load(tmp_path / "w" / "iter_12.pth", weights_only=True)
    want = torch.load(tmp_path / "ref" / "iter_12.pth", weights_only=True)
    for key, value in want["state_dict"].items():  # bit-identical to a job that never failed
        assert torch.equal(got["state_dict"][key], value), key
    for index, state in want["optimizer"]["state"].items():
        assert torch.equal(got["optimizer"]["state"][index]["momentum_buffer"], state["momentum_buffer"])
