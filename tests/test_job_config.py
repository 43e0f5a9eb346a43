"""The schema of a job config (``runnerkit.job_config``): section shapes and what ``run`` still needs."""

from __future__ import annotations

import pydantic
import pytest

from runnerkit.demo import DEMO_CONFIG
from runnerkit.job_config import JobConfig
from tests.helpers import demo_job_config


def test_the_demo_config_is_a_valid_job_with_nothing_missing() -> None:
    job = JobConfig.model_validate(DEMO_CONFIG)
    assert job.missing_for_run() == []
    assert job.workflow == [("train", 1)]


def test_a_runner_only_config_is_valid_but_run_says_what_it_still_needs() -> None:
    job = JobConfig.model_validate({"runner": {"type": "IterBasedRunner", "max_iters": 10}})
    assert [loc for loc, _ in job.missing_for_run()] == [("model",), ("data", "train")]


def test_run_needs_a_dataset_for_every_workflow_phase_and_for_evaluation() -> None:
    job = JobConfig.model_validate(demo_job_config(workflow=[("train", 1), ("val", 1)], evaluation={"interval": 2}))
    messages = dict(job.missing_for_run())
    assert messages[("data", "val")].startswith("`evaluation` is set, so `run` needs `data.val")
    assert [loc for loc, _ in job.missing_for_run()] == [("data", "val"), ("data", "val")]


def test_an_optimizer_hook_without_an_optimizer_is_reported() -> None:
    cfg = demo_job_config()
    del cfg["optimizer"]
    (problem,) = JobConfig.model_validate(cfg).missing_for_run()
    assert problem == (("optimizer",), "`optimizer_config` is set but there is no `optimizer` to step; add "
                                       "`optimizer=dict(type=\"SGD\", lr=0.01)` or drop `optimizer_config`")


def test_the_legacy_total_epochs_key_means_an_epoch_based_runner() -> None:
    job = JobConfig.model_validate({"total_epochs": 3})
    assert job.runner_config() == {"type": "EpochBasedRunner", "max_epochs": 3}


def test_section_shapes_are_checked_all_at_once() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        JobConfig.model_validate({"model": {"hidden": 3}, "workflow": [("test", 1)], "optimizer": {"lr": 0.1},
                                  "data": {"samples_per_gpu": 0}})
    locs = {tuple(e["loc"]) for e in info.value.errors()}
    assert {("model",), ("workflow", 0, 0), ("optimizer",), ("data", "samples_per_gpu")} <= locs
    assert "needs a `type` key naming the component (it has `hidden`)" in str(info.value)


def test_mmcv_keys_runnerkit_does_not_use_are_kept() -> None:
    job = JobConfig.model_validate({"dist_params": {"backend": "nccl"}, "log_level": "INFO"})
    assert job.model_extra == {"dist_params": {"backend": "nccl"}, "log_level": "INFO"}
