"""The component factories (``runnerkit.factories``): optimizers and components from their sections."""

from __future__ import annotations

import pytest
import torch

from runnerkit import ConfigError, UnknownComponentError
from runnerkit._container import default_container
from runnerkit.demo import DemoModel
from runnerkit.factories import build_component, build_optimizers


def test_an_optimizer_gets_the_models_parameters() -> None:
    model = DemoModel(hidden=4)
    opt = build_optimizers(model, {"type": "Adam", "lr": 0.01})
    assert isinstance(opt, torch.optim.Adam)
    assert opt.param_groups[0]["params"] == list(model.parameters())
    assert opt.param_groups[0]["lr"] == 0.01


def test_a_dict_of_optimizers_gets_one_per_submodule() -> None:
    model = DemoModel(hidden=4)
    opts = build_optimizers(model, {"net": {"type": "SGD", "lr": 0.1}})
    assert set(opts) == {"net"}
    assert opts["net"].param_groups[0]["params"] == list(model.net.parameters())


def test_a_dict_of_optimizers_for_a_missing_submodule_names_it() -> None:
    with pytest.raises(ConfigError, match=r"`optimizer.generator`: .* the model \(DemoModel\) has no submodule `generator`"):
        build_optimizers(DemoModel(), {"generator": {"type": "SGD", "lr": 0.1}})


def test_an_unknown_optimizer_suggests_the_closest_torch_optim_names() -> None:
    with pytest.raises(ConfigError, match=r"`optimizer.type`: `Adm` is not an optimizer in `torch.optim`. Did you mean `Adam`"):
        build_optimizers(DemoModel(), {"type": "Adm", "lr": 0.1})


def test_an_optimizer_class_can_be_named_by_import_path() -> None:
    opt = build_optimizers(DemoModel(), {"type": "torch.optim.rmsprop:RMSprop", "lr": 0.1})
    assert isinstance(opt, torch.optim.RMSprop)


def test_paramwise_cfg_builds_mmcv_parameter_groups_with_the_default_constructor() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2))
    opt = build_optimizers(model, {"type": "SGD", "lr": 0.1, "weight_decay": 0.01,
                                   "paramwise_cfg": {"norm_decay_mult": 0.0, "bias_lr_mult": 2.0}})
    assert [(g["lr"], g["weight_decay"]) for g in opt.param_groups] == [(0.1, 0.01), (0.2, 0.01), (0.1, 0.0), (0.1, 0.0)]


def test_an_unknown_paramwise_key_is_refused_with_the_closest_one() -> None:
    with pytest.raises(ConfigError, match=r"`optimizer.paramwise_cfg.norm_decay_mul`: unknown key `norm_decay_mul`. "
                                          r"Did you mean `norm_decay_mult`\?"):
        build_optimizers(DemoModel(), {"type": "SGD", "lr": 0.1, "weight_decay": 0.1, "paramwise_cfg": {"norm_decay_mul": 0}})


def test_an_unknown_optimizer_constructor_is_named_with_the_closest_ones() -> None:
    with pytest.raises(UnknownComponentError, match=r"Unknown optimizer_constructor `DefaultOptimizerConstrutor`.*"
                                                    r"Did you mean `DefaultOptimizerConstructor`"):
        build_optimizers(DemoModel(), {"type": "SGD", "lr": 0.1, "constructor": "DefaultOptimizerConstrutor"})


def test_bad_optimizer_arguments_name_the_section() -> None:
    with pytest.raises(ConfigError, match=r"`optimizer`: cannot build `SGD` with \['lr'\]: Invalid learning rate: -1"):
        build_optimizers(DemoModel(), {"type": "SGD", "lr": -1})


def test_a_component_with_arguments_it_does_not_take_names_the_section() -> None:
    with pytest.raises(ConfigError, match=r"`model`: the model `DemoModel` does not take these arguments: `hiden`: unknown argument "
                                          r"`hiden` for `DemoModel`. Did you mean `hidden`\? .* `runnerkit show DemoModel` lists the arguments it takes"):
        build_component(default_container(), "model", {"type": "DemoModel", "hiden": 3}, "model")
