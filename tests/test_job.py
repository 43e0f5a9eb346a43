"""Building a whole job from a config: model, data, optimizers, runner, hooks, resume; and the demo parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from runnerkit import ConfigError, PluginLoadError, UnknownComponentError
from runnerkit._container import default_container
from runnerkit.demo import DEMO_CONFIG, DemoDataset, DemoModel, demo_config
from runnerkit.job import build_component, build_job
from tests.helpers import demo_job_config


def weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


# -- the config model ------------------------------------------------------------------------


# -- components --------------------------------------------------------------------------------


def test_an_unknown_model_suggests_the_installed_one() -> None:
    with pytest.raises(UnknownComponentError, match=r"Unknown model `DemoModl`. Did you mean `DemoModel`\?"):
        build_component(default_container(), "model", {"type": "DemoModl"}, "model")


def _dict_factory() -> dict[str, Any]:
    return {}


def test_a_model_that_is_not_a_module_is_refused(work_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"`model.type`: `builtins:dict` cannot be used as a model: the class "
                                          r"`builtins.dict` is not a subclass of `torch.nn.Module`"):
        build_job(demo_job_config(model={"type": "builtins:dict"}), work_dir=work_dir)
    # A factory given in code (a .py config) may build anything; what it built is checked.
    with pytest.raises(ConfigError, match=r"`model`: `.*_dict_factory.*` built a dict, expected a `torch.nn.Module`"):
        build_job(demo_job_config(model={"type": _dict_factory}), work_dir=work_dir)


def test_a_dataset_whose_module_fails_to_import_is_a_plugin_load_error(work_dir: Path) -> None:
    cfg = demo_job_config(data={"train": {"type": "runnerkit_no_such_module_xyz.sub:Data"}})
    with pytest.raises(UnknownComponentError, match=r"No installed distribution or module is called `runnerkit_no_such_module_xyz.sub`"):
        build_job(cfg, work_dir=work_dir)
    cfg = demo_job_config(data={"train": {"type": "runnerkit.demo:NoSuchDataset"}})
    with pytest.raises(PluginLoadError, match=r"importing `runnerkit.demo:NoSuchDataset` failed: AttributeError"):
        build_job(cfg, work_dir=work_dir)


# -- whole jobs --------------------------------------------------------------------------------


def test_a_built_job_trains_writes_checkpoints_and_is_reproducible(tmp_path: Path) -> None:
    jobs = [build_job(demo_job_config(), work_dir=tmp_path / name) for name in ("a", "b")]
    for job in jobs:
        job.run()
    first, second = (weights(job.runner.model) for job in jobs)
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    assert jobs[0].runner.iter == 8
    assert sorted(p.name for p in (tmp_path / "a").glob("iter_*.pth")) == ["iter_4.pth", "iter_8.pth"]
    assert jobs[0].runner.meta["seed"] == 0


def test_a_job_resumed_from_its_work_dir_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    whole = build_job(demo_job_config(), work_dir=tmp_path / "whole")
    whole.run()
    first = build_job(demo_job_config(runner={"type": "IterBasedRunner", "max_iters": 4}), work_dir=tmp_path / "cut")
    first.run()
    resumed = build_job(demo_job_config(), work_dir=tmp_path / "cut", resume=True)
    assert resumed.runner.iter == 4
    resumed.run()
    assert all(torch.equal(x, y) for x, y in zip(weights(whole.runner.model), weights(resumed.runner.model)))


def test_load_from_initialises_the_weights(tmp_path: Path) -> None:
    trained = build_job(demo_job_config(), work_dir=tmp_path / "a")
    trained.run()
    loaded = build_job(demo_job_config(seed=1, load_from=str(tmp_path / "a" / "iter_8.pth")), work_dir=tmp_path / "b")
    assert loaded.runner.iter == 0
    assert all(torch.equal(x, y) for x, y in zip(weights(trained.runner.model), weights(loaded.runner.model)))


def test_a_missing_checkpoint_is_named_with_the_key_that_asked_for_it(work_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"`load_from`: the checkpoint `nope.pth` does not exist"):
        build_job(demo_job_config(load_from="nope.pth"), work_dir=work_dir)
    with pytest.raises(ConfigError, match=r"`resume`: the checkpoint `nope.pth` does not exist"):
        build_job(demo_job_config(), work_dir=work_dir, resume="nope.pth")


def test_resuming_the_latest_checkpoint_needs_a_work_dir() -> None:
    with pytest.raises(ConfigError, match=r"`resume`: `resume=True` resumes from the work dir, but there is none; give a `work_dir`"):
        build_job(demo_job_config(checkpoint_config=None), resume=True)


def test_a_config_that_cannot_run_lists_everything_missing_and_points_to_python() -> None:
    with pytest.raises(ConfigError, match=r"(?s)cannot be run yet:\n  - model: .*\n  - data.train: .*"
                                          r"A config with only a `runner` section is meant for Python"):
        build_job({"runner": {"type": "IterBasedRunner", "max_iters": 10}})


def test_evaluation_registers_an_eval_hook_over_the_val_data(work_dir: Path) -> None:
    cfg = demo_job_config(evaluation={"interval": 4})
    cfg["data"]["val"] = {"type": "DemoDataset", "num_samples": 32, "seed": 1}
    job = build_job(cfg, work_dir=work_dir)
    (hook,) = [h for h in job.runner.hooks if type(h).__name__ == "EvalHook"]
    assert hook.by_epoch is False  # follows IterBasedRunner
    assert len(hook.dataloader.dataset) == 32


def test_a_job_is_checked_first_and_every_problem_is_reported(work_dir: Path) -> None:
    cfg = demo_job_config(checkpoint_config={"interval": 1, "no_such_arg": 1}, custom_hooks=[{"type": "EMAHook", "momentum": "high"}])
    with pytest.raises(ConfigError, match=r"The config has 2 problems:\n"
                       r"checkpoint_config.no_such_arg: unknown argument `no_such_arg` for `CheckpointHook`.*\n"
                       r"custom_hooks\[0\].momentum: Input should be a valid number \(got `'high'`\)") as caught:
        build_job(cfg, work_dir=work_dir)
    assert [p.key for p in caught.value.problems] == ["checkpoint_config.no_such_arg", "custom_hooks[0].momentum"]
    assert not work_dir.exists()  # nothing was built


# -- the demo's model and data -------------------------------------------------------------------


def test_the_demo_dataset_is_the_same_for_the_same_seed() -> None:
    a, b, c = DemoDataset(num_samples=16, seed=3), DemoDataset(num_samples=16, seed=3), DemoDataset(num_samples=16, seed=4)
    assert torch.equal(a.points, b.points) and not torch.equal(a.points, c.points)
    assert a.labels.tolist() == [i % 3 for i in range(16)]


def test_the_demo_dataset_refuses_sizes_it_cannot_make() -> None:
    with pytest.raises(ValueError, match=r"DemoDataset needs num_samples >= 1 and num_classes >= 2, got 0 and 3"):
        DemoDataset(num_samples=0)


def test_the_demo_model_returns_mmcvs_step_dict_with_tensors_to_log() -> None:
    model = DemoModel(hidden=4)
    x, y = DemoDataset(num_samples=8)[:8]
    out = model.train_step((x, y), None)
    assert set(out) == {"loss", "log_vars", "num_samples"} and out["num_samples"] == 8
    assert out["loss"].requires_grad
    assert all(isinstance(v, torch.Tensor) for v in out["log_vars"].values())
    assert not model.val_step((x, y))["loss"].requires_grad


def test_the_demo_config_scales_with_max_iters() -> None:
    cfg = demo_config(30)
    assert cfg["runner"]["max_iters"] == 30
    assert cfg["lr_config"]["step"] == [20, 25]
    assert cfg["checkpoint_config"]["interval"] == 10
    assert cfg["evaluation"]["interval"] == 5
    assert DEMO_CONFIG["runner"]["max_iters"] == 600  # untouched
    with pytest.raises(ValueError, match=r"`max_iters` must be a positive int, got 0"):
        demo_config(0)


def test_a_component_refusing_its_argument_values_names_the_section(work_dir: Path) -> None:
    cfg = demo_job_config(data={"train": {"type": "DemoDataset", "num_samples": 0}})
    with pytest.raises(ConfigError, match=r"`data.train`: building the dataset `DemoDataset` failed: DemoDataset needs "
                                          r"num_samples >= 1"):
        build_job(cfg, work_dir=work_dir)
