"""``compile``: the model compiled in place (``nn.Module.compile``), as a runner argument and a config key.

Compiling is real: ``torch.compile`` traces the model with Dynamo. The tests use the ``aot_eager``
backend (Dynamo + AOTAutograd, no C++ build) except one, which uses the default Inductor backend and
so builds C++ kernels with the system compiler: slow on a CPU, hence the marks.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import torch
import torch.distributed as torch_dist
from torch._dynamo.utils import counters

import runnerkit
from runnerkit.job import build_job
from runnerkit.job_config import JobConfig
from runnerkit.runners.compile import compile_options, torch_compile_keys
from tests import processes
from tests.cli_helpers import main
from tests.helpers import TinyNet, demo_job_config, make_loader

FAST = {"backend": "aot_eager"}  # real Dynamo tracing and AOTAutograd, no C++ build


@pytest.fixture(autouse=True)
def fresh_dynamo() -> Iterator[None]:
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.reset()


def graphs() -> int:
    """How many graphs Dynamo compiled since the test started."""
    return int(counters["stats"]["unique_graphs"])


def run_job(work_dir: Path, **overrides: Any) -> dict[str, torch.Tensor]:
    job = build_job(demo_job_config(**overrides), work_dir=work_dir)
    job.run()
    return {k: v.detach().clone() for k, v in job.runner.model.state_dict().items()}


def saved(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], **tol: float) -> None:
    assert list(a) == list(b)
    for key in a:
        torch.testing.assert_close(a[key], b[key], **tol)


# -- the value --------------------------------------------------------------------------------------


def test_compile_is_off_by_default() -> None:
    model = TinyNet()
    runner = runnerkit.IterBasedRunner(model=model, max_iters=2)
    assert runner.args.compile is False
    assert model._compiled_call_impl is None


@pytest.mark.parametrize(("value", "message"), [
    ("yes", r"compile\n  Value error, expected `false`, `true` or a dict of `torch.compile` options, got str `'yes'`"),
    (1, r"expected `false`, `true` or a dict of `torch.compile` options, got int `1`; e.g. `compile=True`"),
    ([True], r"got list `\[True\]`"),
    ({1: "x"}, r"the keys of a `compile` dict are `torch.compile` option names \(strings\), got int `1`; "
               r"accepted: fullgraph, dynamic, backend, mode"),
    ({"mod": "max-autotune"}, r"`mod` is not a `torch.compile` option; did you mean `mode`\? accepted options are"),
])
def test_a_bad_compile_value_is_an_error_naming_the_field(value: Any, message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        runnerkit.IterBasedRunner(model=TinyNet(), max_iters=2, compile=value)
    with pytest.raises(pydantic.ValidationError, match=r"compile\n  Value error, "):
        JobConfig.model_validate({"compile": value})


def test_the_options_are_torch_compiles_keywords() -> None:
    assert {"fullgraph", "dynamic", "backend", "mode", "options"} <= set(torch_compile_keys())
    assert compile_options(False) is None and compile_options(None) is None
    assert compile_options(True) == {}
    assert compile_options({"mode": "reduce-overhead", "dynamic": False}) == {"mode": "reduce-overhead", "dynamic": False}


def test_the_model_is_compiled_in_place_with_the_options_and_the_log_says_so(caplog: pytest.LogCaptureFixture) -> None:
    model = TinyNet()
    keys = list(model.state_dict())
    with caplog.at_level(logging.INFO, logger="runnerkit"):
        runner = runnerkit.IterBasedRunner(model=model, max_iters=2, compile={**FAST, "dynamic": False})
    assert runner.model is model and list(model.state_dict()) == keys
    assert model._compiled_call_impl is not None
    lines = [r.getMessage() for r in caplog.records if "compile" in r.getMessage()]
    assert lines == ["compile: on, TinyNet compiled in place (torch.compile: backend='aot_eager', dynamic=False)"]
    assert all(r.levelno == logging.INFO for r in caplog.records if "compile" in r.getMessage())


def test_the_schema_shows_a_boolean_or_an_object() -> None:
    prop = runnerkit.args_schema("IterBasedRunner")["properties"]["compile"]
    assert prop["anyOf"] == [{"type": "boolean"}, {"type": "object", "propertyNames": {"type": "string"}}]
    assert prop["default"] is False


# -- runnerkit validate -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["True", "dict(mode='max-autotune', dynamic=False)"])
def test_validate_accepts_true_and_a_dict(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(f"""\
        model = dict(type="DemoModel")
        data = dict(train=dict(type="DemoDataset"))
        runner = dict(type="IterBasedRunner", max_iters=10)
        compile = {value}
    """))
    code, out, err = main(capsys, "validate", str(path))
    assert (code, err) == (0, ""), out


def test_validate_rejects_a_string_at_the_top_level_and_in_the_runner(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent("""\
        model = dict(type="DemoModel")
        runner = dict(type="IterBasedRunner", max_iters=10, compile="yes")
        compile = "yes"
    """))
    code, out, _ = main(capsys, "validate", str(path))
    assert code == 1
    assert f"{path}:2: runner.compile: expected `false`, `true` or a dict of `torch.compile` options, got str `'yes'`" in out
    assert f"{path}:3: compile: expected `false`, `true` or a dict of `torch.compile` options, got str `'yes'`" in out


# -- training ----------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_compiled_job_trains_like_an_eager_one_and_saves_the_same_keys(tmp_path: Path) -> None:
    """The default backend (Inductor: C++ kernels on a CPU) through the top-level config key."""
    eager = run_job(tmp_path / "eager")
    compiled = run_job(tmp_path / "compiled", compile=True)
    assert graphs() >= 1  # it really ran compiled
    assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
    untrained = build_job(demo_job_config(), work_dir=tmp_path / "init").runner.model.state_dict()
    assert not torch.equal(eager["net.0.weight"], untrained["net.0.weight"])  # it trained
    assert list(saved(tmp_path / "compiled" / "iter_8.pth")) == list(saved(tmp_path / "eager" / "iter_8.pth"))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_eager_checkpoints_resume_compiled_runs_and_back(tmp_path: Path) -> None:
    eager = run_job(tmp_path / "eager")
    compiled = run_job(tmp_path / "compiled", compile=FAST)
    assert graphs() >= 1
    assert_close(compiled, eager, rtol=1e-5, atol=1e-6)
    assert list(saved(tmp_path / "compiled" / "iter_4.pth")) == list(saved(tmp_path / "eager" / "iter_4.pth"))
    # an eager checkpoint resumes a compiled run, a compiled one an eager run: both end where the eager run did
    to_compiled = run_job(tmp_path / "to_compiled", compile=FAST, resume_from=str(tmp_path / "eager" / "iter_4.pth"))
    to_eager = run_job(tmp_path / "to_eager", resume_from=str(tmp_path / "compiled" / "iter_4.pth"))
    assert_close(to_compiled, eager, rtol=1e-5, atol=1e-6)
    assert_close(to_eager, eager, rtol=1e-5, atol=1e-6)
    # and a compiled run's weights load into an eager model as they are
    loaded = build_job(demo_job_config(load_from=str(tmp_path / "compiled" / "iter_8.pth")), work_dir=tmp_path / "load")
    assert_close(dict(loaded.runner.model.state_dict()), compiled, rtol=0, atol=0)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_compile_works_with_amp_autocast(tmp_path: Path) -> None:
    amp = {"type": "AmpOptimizerHook", "dtype": "bfloat16"}
    eager = run_job(tmp_path / "eager", optimizer_config=amp)
    compiled = run_job(tmp_path / "compiled", optimizer_config=amp, compile=FAST)
    assert graphs() >= 1
    assert_close(compiled, eager, rtol=1e-2, atol=1e-3)
    assert list(saved(tmp_path / "compiled" / "iter_8.pth")) == list(eager)


@pytest.fixture
def one_rank_group(tmp_path: Path) -> Iterator[None]:
    """A real gloo process group of one process (enough to build DistributedDataParallel)."""
    torch_dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        yield
    finally:
        torch_dist.destroy_process_group()


def train_ddp(work_dir: Path, compile: Any) -> tuple[runnerkit.BaseRunner, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    ddp = torch.nn.parallel.DistributedDataParallel(TinyNet())
    runner = runnerkit.IterBasedRunner(model=ddp, optimizer=torch.optim.SGD(ddp.parameters(), lr=0.1),
                                       work_dir=str(work_dir), max_iters=6, compile=compile)
    runner.register_training_hooks(None, {}, {"interval": 6})
    runner.run([make_loader(12, batch_size=2)], [("train", 1)])
    return runner, saved(work_dir / "iter_6.pth")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_ddp_wrapped_model_is_compiled_inside_its_wrapper_with_keys_unchanged(
    tmp_path: Path, one_rank_group: None, caplog: pytest.LogCaptureFixture
) -> None:
    _, eager = train_ddp(tmp_path / "eager", False)
    with caplog.at_level(logging.INFO, logger="runnerkit"):
        runner, compiled = train_ddp(tmp_path / "compiled", FAST)
    assert "compile: on, TinyNet inside DistributedDataParallel compiled in place (torch.compile: backend='aot_eager')" in caplog.text
    assert isinstance(runner.model, torch.nn.parallel.DistributedDataParallel)
    assert runner.model.module._compiled_call_impl is not None
    assert graphs() >= 1
    assert list(compiled) == list(eager) == ["fc.weight", "fc.bias"]
    assert_close(compiled, eager, rtol=1e-5, atol=1e-6)


DIST_JOB = """\
seed = 0
num_threads = 1
model = dict(type="DemoModel", hidden=8)
data = dict(samples_per_gpu=8, train=dict(type="DemoDataset", num_samples=64))
optimizer = dict(type="SGD", lr=0.1, momentum=0.9)
optimizer_config = dict()
checkpoint_config = dict(interval=8)
log_config = dict(interval=4)
runner = dict(type="IterBasedRunner", max_iters=8)
"""


def torchrun_job(tmp_path: Path, name: str, extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / f"{name}.py").write_text(DIST_JOB + extra)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    return processes.run(  # torchrun and its two workers end with the test
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "runnerkit", "run",
         f"{name}.py", "--launcher", "torchrun", "--work-dir", name],
        cwd=tmp_path, env=env, timeout=150,
    )


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.timeout(200)
def test_two_ddp_ranks_train_compiled_like_eager_ones(tmp_path: Path) -> None:
    eager = torchrun_job(tmp_path, "eager", "")
    assert eager.returncode == 0, eager.stderr[-4000:]
    compiled = torchrun_job(tmp_path, "compiled", "compile = dict(backend='aot_eager')\n")
    assert compiled.returncode == 0, compiled.stderr[-4000:]
    logs = compiled.stdout + compiled.stderr
    assert logs.count("compile: on, DemoModel inside DistributedDataParallel compiled in place "
                      "(torch.compile: backend='aot_eager')") == 1  # rank 0 says it
    assert "compile: on" not in eager.stdout + eager.stderr
    assert_close(saved(tmp_path / "compiled" / "iter_8.pth"), saved(tmp_path / "eager" / "iter_8.pth"), rtol=1e-5, atol=1e-6)
