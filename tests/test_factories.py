"""The component factories (``runnerkit.factories``): optimizers and components from their sections."""

from __future__ import annotations

import pytest
import torch

from runnerkit import ConfigError
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


def test_mmcv_optimizer_constructors_are_refused_with_the_python_alternative() -> None:
    with pytest.raises(ConfigError, match=r"`optimizer.paramwise_cfg`: mmcv's optimizer constructors are not supported"):
        build_optimizers(DemoModel(), {"type": "SGD", "lr": 0.1, "paramwise_cfg": {}})


def test_bad_optimizer_arguments_name_the_section() -> None:
    with pytest.raises(ConfigError, match=r"`optimizer`: cannot build `SGD` with \['lr'\]: Invalid learning rate: -1"):
        build_optimizers(DemoModel(), {"type": "SGD", "lr": -1})


def test_a_component_with_arguments_it_does_not_take_names_the_section() -> None:
    with pytest.raises(ConfigError, match=r"`model`: the model `DemoModel` does not take these arguments: `hiden`: unknown argument "
                                          r"`hiden` for `DemoModel`. Did you mean `hidden`\? .* `runnerkit show DemoModel` lists the arguments it takes"):
        build_component(default_container(), "model", {"type": "DemoModel", "hiden": 3}, "model")
