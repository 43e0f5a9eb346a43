"""The `parallel` config key (DDP options, mmcv's `find_unused_parameters`): checked like any section, passed to
DistributedDataParallel, and a model with an unused parameter trains on 2 real ranks (torchrun, gloo)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as torch_dist
from torch.nn.parallel import DistributedDataParallel

from runnerkit.check import check_config
from runnerkit.job import build_job
from runnerkit.parallel import STRATEGIES, check_parallel, parallel_config
from tests.test_distributed import output, torchrun

JOB: dict[str, Any] = dict(
    model=dict(type="DemoModel", hidden=8),
    data=dict(train=dict(type="DemoDataset", num_samples=16), samples_per_gpu=4),
    optimizer=dict(type="SGD", lr=0.05),
    optimizer_config=dict(),
    runner=dict(type="IterBasedRunner", max_iters=2),
)


def problems(**keys: Any) -> list[str]:
    return [str(p) for p in check_config({**JOB, **keys})]


def test_a_misspelt_ddp_option_is_a_problem_with_a_suggestion() -> None:
    found = problems(parallel=dict(type="ddp", find_unused_parameter=True))
    assert len(found) == 1
    assert found[0].startswith("parallel: unknown `DistributedDataParallel` option `find_unused_parameter`. "
                               "Did you mean `find_unused_parameters`? It takes `device_ids`, ")


def test_an_unknown_parallel_type_is_a_problem_naming_the_known_ones() -> None:
    found = problems(parallel=dict(type="dpp"))
    assert len(found) == 1 and "unknown `type` `dpp`; expected one of `ddp`" in found[0]
    assert "Did you mean `ddp`?" in found[0]
    with pytest.raises(ValueError, match=r"`type` must be a name such as `\"ddp\"`, got int `3`"):
        check_parallel({"type": 3})


def test_valid_parallel_sections_and_find_unused_parameters_are_no_problem() -> None:
    assert problems(parallel=dict(type="ddp", find_unused_parameters=True, bucket_cap_mb=1)) == []
    assert problems(parallel=dict(broadcast_buffers=False), find_unused_parameters=True) == []
    assert "ddp" in STRATEGIES


def test_mmcvs_find_unused_parameters_is_folded_into_the_ddp_options() -> None:
    assert parallel_config(None) == {"type": "ddp"}
    assert parallel_config(None, True) == {"type": "ddp", "find_unused_parameters": True}
    assert parallel_config({"bucket_cap_mb": 1}, False) == {"bucket_cap_mb": 1, "type": "ddp", "find_unused_parameters": False}
    with pytest.raises(ValueError, match=r"top-level `find_unused_parameters=True` contradicts "
                                         r"`parallel.find_unused_parameters=False`; keep one of them"):
        parallel_config({"find_unused_parameters": False}, True)
    with pytest.raises(ValueError, match=r"`find_unused_parameters` is a DistributedDataParallel option, but "
                                         r"`parallel.type` is `fsdp2`; remove it"):
        parallel_config({"type": "fsdp2"}, True)


@pytest.fixture
def one_rank_group(tmp_path: Path) -> Iterator[None]:
    """A real gloo process group of one process (what `build_job` sees under a 1-process launch)."""
    torch_dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        yield
    finally:
        torch_dist.destroy_process_group()


def test_the_parallel_options_reach_distributed_data_parallel_and_the_optimizer_holds_the_models_parameters(
    one_rank_group: None, tmp_path: Path
) -> None:
    job = build_job({**JOB, "parallel": dict(gradient_as_bucket_view=True, bucket_cap_mb=1), "find_unused_parameters": True},
                    work_dir=tmp_path / "w")
    model = job.runner.model
    assert isinstance(model, DistributedDataParallel)
    assert (model.find_unused_parameters, model.gradient_as_bucket_view, model.bucket_bytes_cap) == (True, True, 1024 * 1024)
    params = {id(p) for group in job.runner.optimizer.param_groups for p in group["params"]}
    assert params == {id(p) for p in model.module.parameters()}
    job.run()
    assert torch.isfinite(job.runner.outputs["loss"])


UNUSED_JOB = """\
model = dict(type="dist_models:UnusedParamModel")
data = dict(train=dict(type="DemoDataset", num_samples=32), samples_per_gpu=4)
optimizer = dict(type="SGD", lr=0.05)
optimizer_config = dict()
runner = dict(type="IterBasedRunner", max_iters=4)
checkpoint_config = dict(interval=4)
log_config = dict(interval=2)
seed = 0
num_threads = 1
find_unused_parameters = True
"""


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_mmcvs_find_unused_parameters_lets_a_model_with_an_unused_layer_train_on_two_ranks(tmp_path: Path) -> None:
    # without the key, DDP fails at the second iteration: "Expected to have finished reduction in the prior iteration"
    (tmp_path / "job.py").write_text(UNUSED_JOB)
    proc, _ = torchrun("-m", "runnerkit", "run", "job.py", "--work-dir", "w", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert "Expected to have finished reduction" not in proc.stderr
    ckpt = torch.load(tmp_path / "w" / "iter_4.pth", weights_only=True)
    assert len(ckpt["runnerkit"]["ranks"]) == 2


def test_the_runner_argument_parallel_wraps_the_model_under_a_process_group(one_rank_group: None) -> None:
    import runnerkit
    from runnerkit.demo import DemoModel

    model = DemoModel(hidden=4)
    runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=1, parallel=dict(find_unused_parameters=True)),
                             default_args=dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(runner.model, DistributedDataParallel) and runner.model.module is model
    assert runner.model.find_unused_parameters is True
    again = runnerkit.build(dict(type="IterBasedRunner", max_iters=1, parallel=dict(type="ddp")),
                            default_args=dict(model=runner.model))
    assert again.model is runner.model  # already wrapped: kept as it is


def test_the_runner_argument_parallel_is_checked_and_unused_in_one_process() -> None:
    import runnerkit
    from runnerkit.demo import DemoModel

    model = DemoModel(hidden=4)
    runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=1, parallel=dict(type="ddp")),
                             default_args=dict(model=model))
    assert runner.model is model
    with pytest.raises(ValueError, match=r"unknown `DistributedDataParallel` option `bucket_cap`\. Did you mean "
                                            r"`bucket_cap_mb`"):
        runnerkit.build(dict(type="IterBasedRunner", max_iters=1, parallel=dict(bucket_cap=5)),
                        default_args=dict(model=model))


def test_a_runner_sections_parallel_reaches_ddp_through_build_job(one_rank_group: None, tmp_path: Path) -> None:
    runner_cfg = {**JOB["runner"], "parallel": dict(find_unused_parameters=True)}
    job = build_job({**JOB, "runner": runner_cfg}, work_dir=tmp_path / "w")
    assert isinstance(job.runner.model, DistributedDataParallel) and job.runner.model.find_unused_parameters is True
