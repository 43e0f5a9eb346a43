"""``mmcv.runner``'s optimizer names on the layer: mmcv 1.7.2's parameter groups, registries that are views
onto runnerkit's container, and a downstream layer-decay constructor registered as mmdet 2.x registers its own."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from runnerkit import default_container
from runnerkit.factories import build_optimizers
from tests.mmcv_parity.data.optim_cases import CASES, MODELS, describe_groups

REFERENCE = json.loads((Path(__file__).parent / "data" / "optimizer_groups.json").read_text())


def test_mmcv_runner_exports_the_optimizer_names_from_its_modules() -> None:
    import mmcv.runner
    import mmcv.runner.optimizer
    import mmcv.runner.optimizer.builder as builder
    import mmcv.runner.optimizer.default_constructor as default_constructor

    from runnerkit.optim import DefaultOptimizerConstructor

    names = ["OPTIMIZERS", "OPTIMIZER_BUILDERS", "DefaultOptimizerConstructor", "build_optimizer",
             "build_optimizer_constructor"]
    for name in names:
        assert getattr(mmcv.runner, name) is getattr(mmcv.runner.optimizer, name), name
        assert name in mmcv.runner.__all__
    assert default_constructor.DefaultOptimizerConstructor is DefaultOptimizerConstructor  # runnerkit's own class
    assert builder.OPTIMIZERS.get("SGD") is torch.optim.SGD
    assert {"ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "Optimizer", "RMSprop", "Rprop", "SGD",
            "SparseAdam"} <= set(builder.TORCH_OPTIMIZERS)  # mmcv's list, `Optimizer` included
    assert mmcv.runner.OPTIMIZER_BUILDERS.get("DefaultOptimizerConstructor") is DefaultOptimizerConstructor


@pytest.mark.parametrize("case", sorted(c for c in CASES if "error" not in REFERENCE["cases"][c]))
def test_mmcv_build_optimizer_gives_mmcv_1_7_2_groups(case: str) -> None:
    from mmcv.runner import build_optimizer

    model_name, cfg = CASES[case]
    model = MODELS[model_name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimizer = build_optimizer(model, copy.deepcopy(cfg))
    expected = REFERENCE["cases"][case]["groups"]
    assert describe_groups(model, optimizer) == [
        {k: pytest.approx(v, rel=1e-12, abs=0.0) if isinstance(v, float) else v for k, v in g.items()} for g in expected
    ]


# -- a layer-decay constructor shaped like mmdet 2.x's (ConvNeXt) -----------------------------------


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.downsample_layers = nn.ModuleList([nn.Conv2d(3, 4, 2), nn.Conv2d(4, 4, 2)])
        self.stages = nn.ModuleList([nn.Sequential(nn.Conv2d(4, 4, 1), nn.LayerNorm(4)) for _ in range(2)])


class Detector(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()
        self.head = nn.Linear(4, 2)


def _layer_id(name: str, num_layers: int) -> int:
    """Stem and stage 0 -> 0/1, later stages deeper; everything outside the backbone last (as ConvNeXt's rule)."""
    if name.startswith("backbone.downsample_layers"):
        return int(name.split(".")[2])
    if name.startswith("backbone.stages"):
        return int(name.split(".")[2]) + 1
    return num_layers + 1


@pytest.fixture()
def layer_decay() -> Iterator[type]:
    from mmcv.runner import OPTIMIZER_BUILDERS, DefaultOptimizerConstructor

    @OPTIMIZER_BUILDERS.register_module()
    class LayerDecayOptimizerConstructor(DefaultOptimizerConstructor):
        def add_params(self, params: list[dict[str, Any]], module: nn.Module, **kwargs: Any) -> None:
            num_layers = self.paramwise_cfg["num_layers"] + 2
            decay_rate = self.paramwise_cfg["decay_rate"]
            groups: dict[str, dict[str, Any]] = {}
            for name, param in module.named_parameters():
                no_decay = param.ndim == 1 or name.endswith(".bias")
                layer = _layer_id(name, self.paramwise_cfg["num_layers"])
                key = f"layer_{layer}_{'no_decay' if no_decay else 'decay'}"
                scale = decay_rate ** (num_layers - layer - 1)
                group = groups.setdefault(key, {"params": [], "lr": self.base_lr * scale, "group_name": key,
                                                "weight_decay": 0.0 if no_decay else self.base_wd})
                group["params"].append(param)
            params.extend(groups.values())

    yield LayerDecayOptimizerConstructor
    OPTIMIZER_BUILDERS._remove("LayerDecayOptimizerConstructor")


LAYER_DECAY = {"type": "AdamW", "lr": 1e-3, "weight_decay": 0.05, "constructor": "LayerDecayOptimizerConstructor",
               "paramwise_cfg": {"num_layers": 2, "decay_rate": 0.5}}
EXPECTED = [("layer_0_decay", 1e-3 * 0.5**3, 0.05), ("layer_0_no_decay", 1e-3 * 0.5**3, 0.0),
            ("layer_1_decay", 1e-3 * 0.5**2, 0.05), ("layer_1_no_decay", 1e-3 * 0.5**2, 0.0),
            ("layer_2_decay", 1e-3 * 0.5, 0.05), ("layer_2_no_decay", 1e-3 * 0.5, 0.0),
            ("layer_3_decay", 1e-3, 0.05), ("layer_3_no_decay", 1e-3, 0.0)]


def _summary(optimizer: torch.optim.Optimizer) -> list[tuple[str, float, float]]:
    return sorted((g["group_name"], pytest.approx(g["lr"]), g["weight_decay"]) for g in optimizer.param_groups)


def test_a_layer_decay_constructor_registered_in_optimizer_builders_is_a_component(layer_decay: type) -> None:
    from mmcv.runner import build_optimizer

    assert _summary(build_optimizer(Detector(), copy.deepcopy(LAYER_DECAY))) == EXPECTED
    record = default_container().lookup("optimizer_constructor", "LayerDecayOptimizerConstructor")
    assert (record.kind, record.source) == ("optimizer_constructor", "plugin")
    # ... so a runnerkit config names it as any installed constructor; its own keys are not refused
    assert _summary(build_optimizers(Detector(), copy.deepcopy(LAYER_DECAY))) == EXPECTED


def test_mmdet_2_x_child_registry_flow_builds_its_own_and_mmcv_constructors(layer_decay: type) -> None:
    from mmcv.runner import OPTIMIZER_BUILDERS as MMCV_OPTIMIZER_BUILDERS
    from mmcv.utils import Registry, build_from_cfg

    # mmdet/core/optimizers/builder.py's shape: a child registry, tried first, then mmcv's
    optimizer_builders = Registry("optimizer builder", parent=MMCV_OPTIMIZER_BUILDERS, scope="mmdet_like")
    optimizer_builders.register_module(name="ChildLayerDecay", module=layer_decay)

    def build_optimizer(model: nn.Module, cfg: dict[str, Any]) -> Any:
        cfg = copy.deepcopy(cfg)
        constructor = cfg.pop("constructor", "DefaultOptimizerConstructor")
        ctor_cfg = {"type": constructor, "optimizer_cfg": cfg, "paramwise_cfg": cfg.pop("paramwise_cfg", None)}
        registry = optimizer_builders if constructor in optimizer_builders else MMCV_OPTIMIZER_BUILDERS
        return build_from_cfg(ctor_cfg, registry)(model)

    assert "DefaultOptimizerConstructor" not in optimizer_builders
    assert _summary(build_optimizer(Detector(), {**LAYER_DECAY, "constructor": "ChildLayerDecay"})) == EXPECTED
    default = build_optimizer(nn.Linear(2, 1), {"type": "SGD", "lr": 0.1, "paramwise_cfg": {"bias_lr_mult": 2.0}})
    assert [g["lr"] for g in default.param_groups] == [0.1, 0.2]


def test_an_optimizer_registered_in_optimizers_is_built_by_name_in_mmcv_and_runnerkit_configs() -> None:
    from mmcv.runner import OPTIMIZERS, build_optimizer

    from runnerkit.optim import unregister_optimizer

    @OPTIMIZERS.register_module()
    class HalfSGD(torch.optim.SGD):
        pass

    try:
        assert OPTIMIZERS.get("HalfSGD") is HalfSGD and "HalfSGD" in OPTIMIZERS.module_dict
        assert isinstance(build_optimizer(nn.Linear(2, 1), {"type": "HalfSGD", "lr": 0.1}), HalfSGD)
        assert isinstance(build_optimizers(nn.Linear(2, 1), {"type": "HalfSGD", "lr": 0.1}), HalfSGD)
        with pytest.raises(KeyError, match=r"SGD is already registered in optimizer"):
            OPTIMIZERS.register_module(name="SGD", module=HalfSGD)
    finally:
        unregister_optimizer("HalfSGD")


def test_the_default_constructor_name_is_reserved_in_optimizer_builders() -> None:
    from mmcv.runner import OPTIMIZER_BUILDERS, DefaultOptimizerConstructor

    class Mine(DefaultOptimizerConstructor):
        pass

    with pytest.raises(KeyError, match=r"DefaultOptimizerConstructor is already registered in optimizer builder: "
                                       r"runnerkit provides an? optimizer_constructor"):
        OPTIMIZER_BUILDERS.register_module(name="DefaultOptimizerConstructor", module=Mine)
