"""mmcv.runner.dist_utils and mmcv.runner.utils: launchers' environment conventions, rank helpers, seeds."""

from __future__ import annotations

import os
import random
from typing import Any
from unittest import mock

import numpy as np
import pytest
import torch


def test_init_dist_rejects_an_unknown_launcher() -> None:
    from mmcv.runner import init_dist

    with pytest.raises(ValueError, match="Invalid launcher type: invalid"):
        init_dist("invalid")


def test_pytorch_launcher_initialises_from_torchrun_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmcv.runner import init_dist

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with mock.patch("torch.distributed.init_process_group") as init:
        init_dist("pytorch", backend="gloo", timeout=None)
    init.assert_called_once_with(backend="gloo", timeout=None)


def fake_scontrol(bin_dir: Any, hosts: str) -> None:
    """A `scontrol` on PATH that expands any node list to ``hosts`` (and refuses other sub-commands)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "scontrol"
    script.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'show hostnames' ] || exit 2\nprintf '{hosts}'\n")
    script.chmod(0o755)


def test_slurm_launcher_sets_the_process_group_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from mmcv.runner import init_dist

    for key in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    monkeypatch.setenv("SLURM_NODELIST", "node[1-2]")
    fake_scontrol(tmp_path / "bin", "node1\\nnode2\\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with mock.patch("torch.distributed.init_process_group") as init, \
            mock.patch("torch.cuda.device_count", return_value=2), mock.patch("torch.cuda.set_device") as set_device:
        init_dist("slurm", backend="gloo", port=29511)
    set_device.assert_called_once_with(1)  # as mmcv: the GPU count alone decides (rank 3 of 2 GPUs per node)
    init.assert_called_once_with(backend="gloo")
    env = {k: os.environ[k] for k in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK")}
    assert env == {"MASTER_ADDR": "node1", "MASTER_PORT": "29511", "WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}


def test_slurm_launcher_without_scontrol_refuses_instead_of_taking_the_shells_error_as_the_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from mmcv.runner import init_dist

    from runnerkit.dist import DistributedError

    for key in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NTASKS", "2")
    monkeypatch.setenv("SLURM_NODELIST", "node[1-2]")
    monkeypatch.setenv("PATH", str(tmp_path))  # no scontrol (mmcv set MASTER_ADDR to "/bin/sh: scontrol: not found")
    with mock.patch("torch.distributed.init_process_group") as init, \
            pytest.raises(DistributedError, match=r"`MASTER_ADDR` is not set and `scontrol` \(to expand "
                                                  r"`SLURM_NODELIST=node\[1-2\]` into host names\) is not on `PATH`"):
        init_dist("slurm", backend="gloo")
    init.assert_not_called()
    assert "MASTER_ADDR" not in os.environ
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.7")  # an exported address is used as it is
    with mock.patch("torch.distributed.init_process_group") as init:
        init_dist("slurm", backend="gloo")
    assert (os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"], os.environ["RANK"]) == ("10.0.0.7", "29500", "0")


def test_slurm_launcher_asks_scontrol_with_mmcvs_command_and_takes_only_a_host_name(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmcv.runner import init_dist

    from runnerkit.dist import DistributedError

    for key in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_NODELIST", "gpu[3-4]")
    with mock.patch("torch.distributed.init_process_group"), \
            mock.patch("subprocess.getoutput", return_value="gpu3") as ask:
        init_dist("slurm", backend="gloo")
    ask.assert_called_with("scontrol show hostname gpu[3-4] | head -n1")  # what mmcv's own test expects
    assert os.environ["MASTER_ADDR"] == "gpu3"
    monkeypatch.delenv("MASTER_ADDR")
    shell_error = "/bin/sh: 1: scontrol: not found"
    with mock.patch("torch.distributed.init_process_group") as init, \
            mock.patch("subprocess.getoutput", return_value=shell_error), \
            mock.patch("shutil.which", return_value=None), pytest.raises(DistributedError, match=r"is not on `PATH`"):
        init_dist("slurm", backend="gloo")
    init.assert_not_called()
    assert "MASTER_ADDR" not in os.environ


def test_mpi_launcher_reads_open_mpi_variables_and_needs_a_master(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmcv.runner import init_dist

    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    for key in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(KeyError, match="MASTER_ADDR is not set"):
        init_dist("mpi", backend="gloo")
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.1")
    with mock.patch("torch.distributed.init_process_group") as init:
        init_dist("mpi", backend="gloo")
    init.assert_called_once_with(backend="gloo")
    assert (os.environ["WORLD_SIZE"], os.environ["RANK"], os.environ["MASTER_PORT"]) == ("2", "1", "29500")


def test_rank_helpers_in_one_process() -> None:
    from mmcv.runner import allreduce_grads, allreduce_params, get_dist_info, master_only

    assert get_dist_info() == (0, 1)
    calls: list[int] = []

    @master_only
    def record(x: int) -> int:
        calls.append(x)
        return x

    assert record(3) == 3 and calls == [3]
    with mock.patch("runnerkit.compat.mmcv.runner.dist_utils.get_dist_info", return_value=(1, 2)):
        assert record(4) is None and calls == [3]
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.full((2,), 2.0)
    allreduce_params([p])
    allreduce_grads([p])
    assert torch.equal(p.data, torch.ones(2)) and torch.equal(p.grad, torch.full((2,), 2.0))


def test_set_random_seed_makes_python_numpy_and_torch_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmcv.runner import set_random_seed

    for flag in ("deterministic", "benchmark"):  # restored after the test
        monkeypatch.setattr(torch.backends.cudnn, flag, getattr(torch.backends.cudnn, flag))

    def draw() -> tuple[Any, ...]:
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    set_random_seed(7)
    first = draw()
    set_random_seed(7, deterministic=True)
    assert draw() == first
    assert torch.backends.cudnn.deterministic is True and torch.backends.cudnn.benchmark is False
    with mock.patch("runnerkit.compat.mmcv.runner.utils.get_dist_info", return_value=(1, 2)):
        set_random_seed(6, use_rank_shift=True)
    assert draw() == first


def test_host_and_time_strings_and_obj_from_dict() -> None:
    from mmcv.runner import get_host_info, get_time_str, obj_from_dict

    assert "@" in get_host_info()
    assert len(get_time_str()) == 15 and get_time_str()[8] == "_"
    params = [torch.nn.Parameter(torch.zeros(1))]
    opt = obj_from_dict(dict(type="SGD", lr=0.1), torch.optim, default_args=dict(params=params))
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["lr"] == 0.1
    assert isinstance(obj_from_dict(dict(type=torch.optim.Adam), default_args=dict(params=params)), torch.optim.Adam)
    with pytest.raises(TypeError, match="type must be a str or valid type"):
        obj_from_dict(dict(type=3))


def test_no_gpu_means_no_device_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmcv.runner import init_dist

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with mock.patch("torch.distributed.init_process_group"), mock.patch("torch.cuda.device_count", return_value=0), \
            mock.patch("torch.cuda.set_device") as set_device:
        init_dist("pytorch", backend="gloo")
    set_device.assert_not_called()
