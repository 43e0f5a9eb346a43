"""Runner arguments: every rule of CONTRACT.md section 6, and ``runnerkit.args_schema``."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pydantic
import pytest
import torch
from pydantic import Field

import runnerkit
from runnerkit.runners.args import BaseRunnerArgs

FIELDS = ["model", "batch_processor", "optimizer", "work_dir", "logger", "meta", "max_iters", "max_epochs", "compile",
          "parallel"]  # mmcv's, plus `compile` and `parallel`


class StepNet(torch.nn.Module):
    """A model with mmcv's ``train_step``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def train_step(self, data_batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        return {}


class ValOnlyNet(torch.nn.Module):
    def val_step(self, data_batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        return {}


def processor(model: Any, data_batch: Any, train_mode: bool, **kwargs: Any) -> dict[str, Any]:
    return {}


def args(**kwargs: Any) -> BaseRunnerArgs:
    kwargs.setdefault("model", StepNet())
    return BaseRunnerArgs(**kwargs)


def sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1)


# -- model -----------------------------------------------------------------------------------


def test_a_module_with_train_step_is_accepted_and_kept_as_the_same_object() -> None:
    model = StepNet()
    assert args(model=model).model is model


def test_a_dataparallel_wrapper_is_accepted_because_train_step_is_found_on_its_module() -> None:
    wrapped = torch.nn.DataParallel(StepNet())  # works on CPU: no device ids
    assert not hasattr(type(wrapped), "train_step")
    assert args(model=wrapped).model is wrapped


def test_a_wrapped_model_without_train_step_is_still_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"model\n.*the model \(DataParallel\) has no `train_step"):
        args(model=torch.nn.DataParallel(torch.nn.Linear(2, 1)))


def test_a_module_without_train_step_is_rejected_with_how_to_fix_it() -> None:
    with pytest.raises(
        pydantic.ValidationError,
        match=r"model\n  the model \(Linear\) has no `train_step\(data_batch, optimizer, \*\*kwargs\)` method; "
        r"define it \(returning a dict with `loss`, `log_vars`, `num_samples`\)",
    ):
        args(model=torch.nn.Linear(2, 1))


def test_a_module_without_train_step_is_accepted_with_a_batch_processor() -> None:
    model = torch.nn.Linear(2, 1)
    validated = args(model=model, batch_processor=processor)
    assert validated.model is model
    assert validated.batch_processor is processor


@pytest.mark.parametrize(("model", "shown"), [(None, "NoneType `None`"), ("net", "str `'net'`"), ({}, "dict `{}`")])
def test_a_model_that_is_not_a_module_is_rejected(model: Any, shown: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=rf"model\n  Value error, expected a `torch.nn.Module`, got {shown}"):
        BaseRunnerArgs(model=model)


def test_the_model_is_required() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"model\n  Field required"):
        BaseRunnerArgs()


# -- batch_processor -------------------------------------------------------------------------


def test_a_batch_processor_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match=r"`batch_processor` is deprecated; define `train_step` and `val_step`"):
        runner = runnerkit.IterBasedRunner(model=torch.nn.Linear(2, 1), batch_processor=processor, max_iters=1)
    assert runner.batch_processor is processor


def test_no_deprecation_warning_without_a_batch_processor(recwarn: pytest.WarningsRecorder) -> None:
    runnerkit.IterBasedRunner(model=StepNet(), max_iters=1)
    assert [w for w in recwarn if issubclass(w.category, DeprecationWarning)] == []


def test_a_batch_processor_that_is_not_callable_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"batch_processor\n  Value error, expected a callable or None, got int `3`"):
        args(model=torch.nn.Linear(2, 1), batch_processor=3)


@pytest.mark.parametrize(
    ("model", "steps"),
    [(StepNet(), "`model.train_step`"), (ValOnlyNet(), "`model.val_step`"),
     (torch.nn.DataParallel(StepNet()), "`model.train_step`")],
)
def test_a_batch_processor_cannot_be_combined_with_a_model_step(model: torch.nn.Module, steps: str) -> None:
    with pytest.raises(
        pydantic.ValidationError,
        match=rf"batch_processor\n  `batch_processor` and {steps} cannot be used together; remove the batch_processor",
    ):
        args(model=model, batch_processor=processor)


# -- optimizer -------------------------------------------------------------------------------


def test_an_optimizer_and_a_dict_of_optimizers_are_kept_as_the_same_objects() -> None:
    model = StepNet()
    opt = sgd(model)
    assert args(model=model, optimizer=opt).optimizer is opt
    gen, disc = sgd(model), sgd(model)
    validated = args(model=model, optimizer={"generator": gen, "discriminator": disc})
    assert validated.optimizer["generator"] is gen
    assert validated.optimizer["discriminator"] is disc
    assert args(model=model).optimizer is None


def test_a_dict_with_something_else_than_an_optimizer_names_the_key() -> None:
    model = StepNet()
    with pytest.raises(
        pydantic.ValidationError,
        match=r"optimizer\n  Value error, `optimizer\['disc'\]` must be a `torch.optim.Optimizer`, got dict; build the optimizer",
    ):
        args(model=model, optimizer={"gen": sgd(model), "disc": {"type": "SGD"}})


@pytest.mark.parametrize(("value", "shown"), [(3, "int"), ([], "list"), ("SGD", "str")])
def test_an_optimizer_of_another_type_is_rejected(value: Any, shown: str) -> None:
    with pytest.raises(
        pydantic.ValidationError,
        match=rf"optimizer\n  Value error, expected a `torch.optim.Optimizer`, a dict of them, or None, got {shown}",
    ):
        args(optimizer=value)


# -- work_dir --------------------------------------------------------------------------------


def test_a_relative_work_dir_is_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert args(work_dir="runs/a").work_dir == str(tmp_path / "runs" / "a")


def test_a_pathlike_work_dir_is_stored_as_an_absolute_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stored = args(work_dir=Path("runs") / "b").work_dir
    assert isinstance(stored, str)
    assert stored == os.path.join(str(tmp_path), "runs", "b")
    assert args().work_dir is None


def test_the_runner_creates_its_work_dir_with_parents(tmp_path: Path) -> None:
    work_dir = tmp_path / "deep" / "er" / "work"
    runner = runnerkit.IterBasedRunner(model=StepNet(), work_dir=work_dir, max_iters=1)
    assert runner.work_dir == str(work_dir)
    assert work_dir.is_dir()


def test_a_work_dir_of_another_type_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"work_dir\n  Value error, expected a str, an os.PathLike or None, got int `3`"):
        args(work_dir=3)


# -- logger and meta -------------------------------------------------------------------------


def test_no_logger_gives_the_runnerkit_logger_and_a_given_one_is_kept() -> None:
    assert args().logger is logging.getLogger("runnerkit")
    mine = logging.getLogger("test_args.mine")
    assert args(logger=mine).logger is mine


def test_a_logger_of_another_type_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"logger\n  Value error, expected a `logging.Logger` or None, got str"):
        args(logger="runnerkit")


def test_meta_is_a_dict_or_none() -> None:
    assert args(meta={"seed": 1, "env": {"cuda": False}}).meta == {"seed": 1, "env": {"cuda": False}}
    assert args(meta=None).meta is None
    with pytest.raises(pydantic.ValidationError, match=r"meta\n  Input should be a valid dictionary"):
        args(meta=[("seed", 1)])


# -- max_iters / max_epochs ------------------------------------------------------------------


@pytest.mark.parametrize("field", ["max_iters", "max_epochs"])
@pytest.mark.parametrize("value", [1, 10_000, None])
def test_a_positive_int_or_none_is_accepted(field: str, value: int | None) -> None:
    assert getattr(args(**{field: value}), field) == value


@pytest.mark.parametrize(("field", "what"), [("max_iters", "iterations"), ("max_epochs", "epochs")])
@pytest.mark.parametrize(("value", "shown"), [(0, "int `0`"), (-3, "int `-3`"), (True, "bool `True`"),
                                              (2.5, "float `2.5`"), ("ten", "str `'ten'`")])
def test_anything_else_is_rejected(field: str, what: str, value: Any, shown: str) -> None:
    with pytest.raises(
        pydantic.ValidationError,
        match=rf"{field}\n  expected a positive int or None, got {shown}; give the number of {what} to train for",
    ):
        args(**{field: value})


def test_max_iters_and_max_epochs_together_are_rejected_naming_both() -> None:
    with pytest.raises(
        pydantic.ValidationError,
        match=r"Only one of `max_iters` and `max_epochs` can be set, got max_iters=5 and max_epochs=2; keep only one of them",
    ):
        args(max_iters=5, max_epochs=2)


# -- unknown keys and reporting --------------------------------------------------------------


def test_an_unknown_key_is_rejected_with_the_closest_accepted_names() -> None:
    with pytest.raises(
        pydantic.ValidationError,
        match=r"max_iter\n  unknown argument `max_iter` for BaseRunnerArgs; did you mean `max_iters`\? "
        r"accepted arguments are: model, batch_processor, optimizer, work_dir, logger, meta, max_iters, max_epochs",
    ):
        args(max_iter=10)


def test_an_unknown_key_with_no_close_name_lists_the_accepted_ones() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"unknown argument `xyzzy` for BaseRunnerArgs; accepted arguments are: model,") as info:
        args(xyzzy=1)
    assert "did you mean" not in str(info.value)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"^6 validation errors for BaseRunnerArgs") as info:
        BaseRunnerArgs(
            model=torch.nn.Linear(2, 1), optimizer=3, work_dir=1.5, logger="x", max_iters=0, lr=0.1,
        )
    assert sorted(str(e["loc"][0]) for e in info.value.errors()) == [
        "logger", "lr", "max_iters", "model", "optimizer", "work_dir",
    ]


def test_the_exclusive_fields_error_is_reported_with_the_field_errors() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"^2 validation errors") as info:
        args(max_iters=3, max_epochs=1, meta=3)
    assert {e["type"] for e in info.value.errors()} == {"exclusive_fields", "dict_type"}


def test_validation_errors_are_value_errors_raised_by_build() -> None:
    assert issubclass(pydantic.ValidationError, ValueError)
    with pytest.raises(ValueError, match=r"unknown argument `max_iter` for BaseRunnerArgs"):
        runnerkit.build(dict(type="IterBasedRunner", max_iter=3), default_args=dict(model=StepNet()))


# -- subclasses and the JSON Schema ----------------------------------------------------------


class WarmupArgs(BaseRunnerArgs):
    warmup_iters: int = Field(default=0, ge=0, description="Iterations of warm-up.")


class WarmupRunner(runnerkit.IterBasedRunner):
    args_model = WarmupArgs


def test_a_subclass_model_adds_its_own_field_and_keeps_every_rule() -> None:
    runner = WarmupRunner(model=StepNet(), max_iters=3, warmup_iters=2)
    assert runner.args.warmup_iters == 2
    with pytest.raises(pydantic.ValidationError, match=r"unknown argument `warmup_iter` for WarmupArgs; did you mean `warmup_iters`"):
        WarmupRunner(model=StepNet(), warmup_iter=2)
    with pytest.raises(pydantic.ValidationError, match=r"unknown argument `warmup_iters` for BaseRunnerArgs"):
        runnerkit.IterBasedRunner(model=StepNet(), warmup_iters=2)
    with pytest.raises(pydantic.ValidationError, match=r"(?s)^2 validation errors.*warmup_iters.*Only one of `max_iters` and `max_epochs` can be set"):
        WarmupRunner(model=StepNet(), max_iters=3, max_epochs=1, warmup_iters=-1)


@pytest.mark.parametrize("name", ["IterBasedRunner", "EpochBasedRunner", "runnerkit:IterBasedRunner"])
def test_the_schema_of_a_built_in_runner_holds_exactly_mmcv_arguments(name: str) -> None:
    schema = runnerkit.args_schema(name)
    assert list(schema["properties"]) == ["type", "constructor", *FIELDS]
    assert "required" not in schema  # the model comes from code, never from the runner section
    assert schema["additionalProperties"] is False
    assert all(prop["description"] for prop in schema["properties"].values())


def test_the_schema_marks_objects_that_only_exist_at_run_time() -> None:
    props = runnerkit.args_schema("IterBasedRunner")["properties"]
    runtime = sorted(name for name, prop in props.items() if prop.get("x-runtime-only"))
    assert runtime == ["batch_processor", "logger", "model", "optimizer"]
    assert props["work_dir"]["type"] == ["string", "null"]
    assert props["max_iters"]["anyOf"][0] == {"exclusiveMinimum": 0, "maximum": 2**63 - 1, "type": "integer"}


def test_the_schema_of_a_runner_class_shows_its_own_field() -> None:
    schema = runnerkit.args_schema(WarmupRunner)
    assert list(schema["properties"]) == ["type", "constructor", *FIELDS, "warmup_iters"]
    assert schema["properties"]["warmup_iters"] == {
        "default": 0, "description": "Iterations of warm-up.", "minimum": 0, "title": "Warmup Iters", "type": "integer",
    }


def test_the_schema_of_an_unknown_runner_suggests_names() -> None:
    with pytest.raises(runnerkit.UnknownComponentError, match=r"Unknown runner `IterBasedRuner`\. Did you mean `IterBasedRunner`"):
        runnerkit.args_schema("IterBasedRuner")
