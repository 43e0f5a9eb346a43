"""Every component has one argument model, derived from its ``__init__`` (``runnerkit._args``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import torch
from pydantic import ValidationError

import runnerkit
from runnerkit._args import checked, derive_model, model_of, runtime_fields, validate_args
from runnerkit.hooks.checkpoint import CheckpointHook
from runnerkit.hooks.evaluation import EvalHook
from runnerkit.hooks.lr_updater import StepLrUpdaterHook
from runnerkit.hooks.text_logger import TextLoggerHook


class Scale(torch.nn.Module):
    """Scales its input.

    Args:
        factor: the factor.
        bias: added after scaling,
            on every element.
    """

    def __init__(self, factor: float, bias: float = 0.0, shape: tuple[int, ...] = (1,)) -> None:
        super().__init__()


class Untyped:
    def __init__(self, a, b=2, **kwargs):  # type: ignore[no-untyped-def]
        self.options = kwargs


class Base:
    def __init__(self, width: int = 1) -> None:
        self.width = width


class Child(Base):
    def __init__(self, depth: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)


def test_a_model_is_derived_from_the_signature_with_docstring_descriptions() -> None:
    model = derive_model(Scale)
    assert list(model.model_fields) == ["factor", "bias", "shape"]
    assert model.model_fields["factor"].is_required()
    assert model.model_fields["bias"].default == 0.0
    assert model.model_fields["bias"].description == "added after scaling, on every element."
    model.model_validate({"factor": 2, "shape": [2, 3]})  # an int is a float; a list (JSON, YAML) is a tuple


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"factor": "big"}, r"factor\n  Input should be a valid number \(got `'big'`\)"),
        ({"factor": 1.0, "bais": 1.0}, r"unknown argument `bais` for `Scale`. Did you mean `bias`\?"),
        ({"bias": 1.0}, r"factor\n  Field required"),
    ],
)
def test_values_are_checked_strictly_and_unknown_names_get_a_suggestion(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_args(derive_model(Scale), args, "Scale")


def test_a_module_whose_kwargs_reach_only_object_refuses_unknown_arguments() -> None:
    with pytest.raises(ValidationError, match="unknown argument `depht`"):
        validate_args(model_of(Child), {"depht": 3}, "Child")


def test_kwargs_passed_to_super_bring_the_parents_arguments() -> None:
    assert list(model_of(Child).model_fields) == ["depth", "width"]
    assert {"step", "gamma", "warmup", "warmup_iters", "by_epoch"} <= set(model_of(StepLrUpdaterHook).model_fields)


def test_a_third_party_component_without_annotations_takes_any_value_and_keeps_kwargs_open() -> None:
    model = model_of(Untyped)
    model.model_validate({"a": object(), "anything": 1})
    with pytest.raises(ValidationError, match=r"a\n  Field required"):
        model.model_validate({})


def test_checkpoint_hook_kwargs_are_what_save_checkpoint_accepts() -> None:
    fields = set(model_of(CheckpointHook).model_fields)
    assert {"create_symlink", "meta"} <= fields and "filename" not in fields
    CheckpointHook(interval=2, create_symlink=False)
    with pytest.raises(ValidationError, match=r"unknown argument `max_keep_ckpt` for `CheckpointHook`. Did you mean `max_keep_ckpts`\?"):
        CheckpointHook(max_keep_ckpt=3)
    with pytest.raises(ValidationError, match=r"interval\n  Input should be a valid integer \(got `'often'`\)"):
        CheckpointHook(interval="often")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"interval\n  expected a positive int or -1, got 0"):
        CheckpointHook(interval=0)


def test_text_logger_takes_mmcv_options_but_not_misspellings() -> None:
    TextLoggerHook(out_suffix=".log", keep_local=False, file_client_args=None)
    with pytest.raises(ValidationError, match=r"unknown argument `by_epok` for `TextLoggerHook`. Did you mean `by_epoch`\?"):
        TextLoggerHook(by_epok=False)


class Scored(torch.utils.data.Dataset[int]):
    def evaluate(self, results: list[Any], logger: Any = None, metric: str = "acc") -> dict[str, float]:
        return {}


def test_eval_hook_kwargs_are_checked_against_the_datasets_evaluate() -> None:
    with_dataset = model_of(EvalHook, context={"dataset": Scored})
    validate_args(with_dataset, {"metric": "top1"}, "EvalHook", supplied={"dataloader"})
    with pytest.raises(ValidationError, match=r"unknown argument `metrc`.*Did you mean `metric`\?"):
        validate_args(with_dataset, {"metrc": "top1"}, "EvalHook", supplied={"dataloader"})
    without_evaluate = model_of(EvalHook, context={"dataset": torch.utils.data.TensorDataset})
    with pytest.raises(ValidationError, match=r"unknown argument `save_bset`.*Did you mean `save_best`\?"):
        validate_args(without_evaluate, {"save_bset": "acc"}, "EvalHook", supplied={"dataloader"})
    assert "dataloader" in runtime_fields(model_of(EvalHook))


def test_optimizers_and_runners_have_models_too() -> None:
    sgd = runnerkit.args_model("optimizer", "SGD")
    assert runtime_fields(sgd) == {"params"}
    with pytest.raises(ValidationError, match=r"lr\n  Input should be a valid number or an instance of Tensor \(got `'fast'`\)"):
        validate_args(sgd, {"lr": "fast"}, "SGD", supplied={"params"})
    assert runnerkit.args_model("runner", "IterBasedRunner") is runnerkit.IterBasedRunner.args_model
    assert "hidden" in runnerkit.args_model("model", "DemoModel").model_fields
    assert "num_samples" in runnerkit.args_model("dataset", "DemoDataset").model_fields


def test_checked_validates_before_the_body_runs_and_passes_values_unchanged() -> None:
    seen: list[Any] = []

    class Hook:
        @checked
        def __init__(self, sizes: tuple[int, ...] = (1,), every: int = 1) -> None:
            seen.append(sizes)

    Hook(sizes=[2, 3])
    assert seen == [[2, 3]]
    with pytest.raises(ValidationError, match=r"every\n  Input should be a valid integer"):
        Hook(every=True)
    assert len(seen) == 1


def test_a_hook_built_from_a_config_is_checked_against_the_same_model() -> None:
    from runnerkit.hooks.builder import build_hook

    class Plain(runnerkit.Hook):  # a third-party hook: annotations only, no check of its own
        def __init__(self, every: int = 1) -> None:
            self.every = every

    with pytest.raises(ValidationError, match=r"every\n  Input should be a valid integer \(got `'often'`\)"):
        build_hook({"type": Plain, "every": "often"})
    with pytest.raises(ValidationError, match=r"unknown argument `evry` for `Plain`. Did you mean `every`\?"):
        build_hook({"type": Plain, "evry": 2})
    assert build_hook({"type": Plain, "every": 3, "priority": "LOW"}).every == 3  # type: ignore[attr-defined]


def test_an_iterable_argument_is_never_iterated_to_be_checked() -> None:
    class Loader:
        def __iter__(self) -> Any:
            raise AssertionError("iterated while checking")

    def make(loader: Iterable[Any] | None = None) -> None: ...

    model = derive_model(make)
    model.model_validate({"loader": Loader()})
    model.model_validate({"loader": None})
    with pytest.raises(ValidationError, match=r"loader\n  Input should be iterable"):
        model.model_validate({"loader": 3})
    assert "loader" in runtime_fields(model)
