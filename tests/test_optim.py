"""Optimizer constructors as components: the kind, its checks, configs that use it, and the default's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import runnerkit
from runnerkit import ConfigError, Container
from runnerkit._build import using
from runnerkit.check import check_config
from runnerkit.factories import build_optimizers
from runnerkit.job import build_job
from runnerkit.optim import DefaultOptimizerConstructor, build_optimizer
from tests.helpers import demo_job_config

SGD = {"type": "SGD", "lr": 0.1, "weight_decay": 0.01}


class ScaledConstructor(DefaultOptimizerConstructor):
    """Multiplies every group's learning rate by ``paramwise_cfg["scale"]`` (a key of its own)."""

    def add_params(self, params: list[dict[str, Any]], module: nn.Module, prefix: str = "",
                   is_dcn_module: int | float | None = None) -> None:
        for param in module.parameters():
            params.append({"params": [param], "lr": self.base_lr * self.paramwise_cfg["scale"]})


class Plugin:
    @runnerkit.hookimpl
    def runnerkit_optimizer_constructors(self) -> dict[str, Any]:
        return {"ScaledConstructor": ScaledConstructor, "DefaultOptimizerConstructor": ScaledConstructor}


def test_the_default_constructor_is_a_runnerkit_component_known_from_metadata() -> None:
    record = Container(autoload=False).lookup("optimizer_constructor", "DefaultOptimizerConstructor")
    assert (record.distribution, record.source) == ("runnerkit", "entry-point")
    assert record.target == "runnerkit.optim.default_constructor:DefaultOptimizerConstructor"


def test_a_plugin_constructor_is_used_by_name_and_cannot_take_a_reserved_name() -> None:
    container = Container(autoload=False, plugins=[Plugin()])
    shadowed = [r for r in container.records("optimizer_constructor") if r.shadowed]
    assert [r.qualified_name for r in shadowed] == ["Plugin:DefaultOptimizerConstructor"]
    model = nn.Linear(2, 2)
    with using(container):
        opt = build_optimizers(model, {**SGD, "constructor": "ScaledConstructor", "paramwise_cfg": {"scale": 0.5}})
        default = build_optimizers(model, {**SGD, "paramwise_cfg": {"bias_lr_mult": 2.0}})
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.05]
    assert [g["lr"] for g in default.param_groups] == [0.1, 0.2]  # runnerkit's, not the plugin's


def test_a_subclass_with_its_own_add_params_reads_its_own_keys() -> None:
    assert ScaledConstructor.paramwise_model is None
    opt = ScaledConstructor(dict(SGD), {"scale": 2.0})(nn.Linear(2, 1))
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]


def test_validate_names_each_bad_paramwise_key_with_the_closest_one() -> None:
    cfg = {"optimizer": {**SGD, "paramwise_cfg": {"norm_decay_mul": 0, "bias_lr_mult": "2",
                                                  "custom_keys": {"backbone": {"lr_mlt": 0.1}}}}}
    problems = {p.key: p.message for p in check_config(cfg)}
    assert problems == {
        "optimizer.paramwise_cfg.norm_decay_mul": "unknown key `norm_decay_mul`. Did you mean `norm_decay_mult`? Accepted "
        "keys: custom_keys, bias_lr_mult, bias_decay_mult, norm_decay_mult, dwconv_decay_mult, dcn_offset_lr_mult, "
        "bypass_duplicate",
        "optimizer.paramwise_cfg.bias_lr_mult": "Input should be a valid number (got `'2'`)",
        "optimizer.paramwise_cfg.custom_keys.backbone.lr_mlt": "unknown key `lr_mlt`. Did you mean `lr_mult`? Accepted "
        "keys: lr_mult, decay_mult",
    }


def test_validate_refuses_an_unknown_constructor_and_a_function_given_as_one() -> None:
    problems = {p.key: p.message for p in check_config({"optimizer": {**SGD, "constructor": "DefaultOptimizerConstrutor"}})}
    assert "Did you mean `DefaultOptimizerConstructor`?" in problems["optimizer.constructor"]
    problems = {p.key: p.message for p in check_config({"optimizer": {**SGD, "constructor": "os:system"}})}
    assert "`os:system` cannot be used as an optimizer_constructor: it resolves to the function" in problems["optimizer.constructor"]
    problems = {p.key: p.message for p in check_config({"optimizer": {**SGD, "constructor": "subprocess:Popen"}})}
    assert ("the class `subprocess.Popen` defines no `__call__`, so its instances cannot build an optimizer"
            in problems["optimizer.constructor"])


def test_a_valid_paramwise_config_has_no_problems() -> None:
    cfg = {"optimizer": {**SGD, "paramwise_cfg": {"norm_decay_mult": 0, "custom_keys": {"head": {"lr_mult": 10}}}}}
    assert check_config(cfg) == []


def test_a_job_config_trains_with_paramwise_groups(tmp_path: Path) -> None:
    optimizer = {"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                 "paramwise_cfg": {"bias_decay_mult": 0.0, "custom_keys": {"net.2": {"lr_mult": 0.5}}}}
    job = build_job(demo_job_config(optimizer=optimizer), work_dir=tmp_path / "w")
    groups = job.runner.optimizer.param_groups
    assert [(g["lr"], g["weight_decay"]) for g in groups] == [
        (0.1, 1e-4), (0.1, 0.0), (0.05, 1e-4), (0.05, 1e-4), (0.1, 1e-4), (0.1, 0.0)]
    before = [g["params"][0].detach().clone() for g in groups]
    job.run()
    assert all(not torch.equal(b, g["params"][0]) for b, g in zip(before, groups, strict=True))


@pytest.mark.parametrize(
    ("optimizer_cfg", "paramwise_cfg", "error", "message"),
    [
        ([("type", "SGD")], None, TypeError, r"`optimizer_cfg` must be a dict such as"),
        (SGD, [("norm_decay_mult", 0)], TypeError, r"`paramwise_cfg` must be None or a dict such as"),
        ({"type": "SGD", "lr": 0.1}, {"norm_decay_mult": 0.0, "custom_keys": {"a": {"decay_mult": 0}}}, ValueError,
         r"sets `norm_decay_mult`, `custom_keys.a.decay_mult`, which multiply the optimizer's `weight_decay`, but the "
         r"optimizer config has none; add `weight_decay=...`"),
        (SGD, {"bias_lr_mul": 2}, ValueError, r"bad `paramwise_cfg`: `paramwise_cfg.bias_lr_mul`: unknown key "
         r"`bias_lr_mul`. Did you mean `bias_lr_mult`\?"),
    ],
)
def test_bad_constructor_arguments_say_what_to_fix(optimizer_cfg: Any, paramwise_cfg: Any, error: type[Exception],
                                                    message: str) -> None:
    with pytest.raises(error, match=message):
        DefaultOptimizerConstructor(optimizer_cfg, paramwise_cfg)


def test_a_learning_rate_multiplier_without_lr_names_the_parameter() -> None:
    with pytest.raises(ValueError, match=r"sets a learning rate for `bias` relative to the optimizer's `lr`, but the "
                                         r"optimizer config has none"):
        build_optimizer(nn.Linear(2, 1), {"type": "SGD", "paramwise_cfg": {"bias_lr_mult": 2.0}})


def test_a_shared_parameter_in_two_groups_is_refused_naming_both_names() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].weight = model[0].weight
    with pytest.raises(ConfigError, match=r"`optimizer`: the optimizer constructor `DefaultOptimizerConstructor` failed: "
                                          r"some parameters appear in more than one parameter group: `0.weight` and `1.weight`"):
        build_optimizers(model, {**SGD, "paramwise_cfg": {"norm_decay_mult": 0.0}})


def test_the_default_constructor_has_a_schema_naming_every_paramwise_key() -> None:
    schema = runnerkit.args_schema("DefaultOptimizerConstructor")
    assert schema["title"] == "DefaultOptimizerConstructor (optimizer_constructor)"
    assert schema["properties"]["optimizer_cfg"]["x-runtime-only"] is True
    paramwise = schema["$defs"]["ParamwiseConfig"]
    assert paramwise["additionalProperties"] is False
    assert sorted(paramwise["properties"]) == ["bias_decay_mult", "bias_lr_mult", "bypass_duplicate", "custom_keys",
                                               "dcn_offset_lr_mult", "dwconv_decay_mult", "norm_decay_mult"]


def test_the_config_schema_accepts_an_optimizer_with_constructor_and_paramwise_cfg() -> None:
    import jsonschema

    schema = runnerkit.config_schema()
    jsonschema.validate({"optimizer": {**SGD, "constructor": "DefaultOptimizerConstructor",
                                       "paramwise_cfg": {"norm_decay_mult": 0.0}}}, schema)
    with pytest.raises(jsonschema.ValidationError, match=r"'momentun': 0.9.* is not valid under any of the given schemas"):
        jsonschema.validate({"optimizer": {**SGD, "momentun": 0.9, "paramwise_cfg": {}}}, schema)


class RenamingConstructor(ScaledConstructor):
    """mmseg 0.x's shape: an `__init__` that renames a deprecated key, then the parent's."""

    def __init__(self, optimizer_cfg: dict[str, Any], paramwise_cfg: dict[str, Any] | None = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        if "layer_scale" in paramwise_cfg:
            paramwise_cfg["scale"] = paramwise_cfg.pop("layer_scale")
        super().__init__(optimizer_cfg, paramwise_cfg)


class RenamingChild(RenamingConstructor):
    pass


def test_a_subclass_with_its_own_init_is_checked_against_its_own_signature() -> None:
    assert RenamingConstructor.args_model is None and RenamingChild.args_model is None
    assert ScaledConstructor.args_model is not None
    container = Container(autoload=False)
    container.register_plugin(type("P", (), {"runnerkit_optimizer_constructors": runnerkit.hookimpl(
        lambda self: {"RenamingChild": RenamingChild})})(), name="renaming")
    cfg = {"optimizer": {**SGD, "constructor": "RenamingChild", "paramwise_cfg": {"layer_scale": 0.5}}}
    assert check_config(cfg, container=container) == []
    with using(container):
        opt = build_optimizers(nn.Linear(2, 1), cfg["optimizer"])
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.05]


def test_a_subclass_with_its_own_call_reads_its_own_keys_as_in_mmcv_tests() -> None:
    class ConvLrConstructor(DefaultOptimizerConstructor):
        def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
            mult = self.paramwise_cfg.get("conv1_lr_mult", 1.0)
            return self.build_optimizer([{"params": [p], "lr": self.base_lr * (mult if n.startswith("0") else 1)}
                                         for n, p in model.named_parameters()])

    assert ConvLrConstructor.paramwise_model is None
    opt = ConvLrConstructor(dict(SGD), {"conv1_lr_mult": 5})(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1)))
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.5, 0.1, 0.1]


def test_custom_keys_that_are_not_a_dict_are_a_type_error_as_in_mmcv() -> None:
    with pytest.raises(TypeError, match=r"`paramwise_cfg.custom_keys` must be a dict key -> `dict\(lr_mult=..., "
                                        r"decay_mult=...\)`, got list `\[0.1, 0.0001\]`"):
        DefaultOptimizerConstructor(dict(SGD), {"custom_keys": [0.1, 0.0001]})
