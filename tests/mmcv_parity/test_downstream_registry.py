"""``mmcv.utils.Registry`` for downstream projects (``Registry("detector")``, children with ``parent=``,
scopes, ``build_func``) and ``build_from_cfg`` over the layer's container-backed ``HOOKS``, as mmseg's
``train_segmentor`` builds custom hooks."""

from __future__ import annotations

from typing import Any

import pytest
import torch


def test_a_project_registry_builds_registered_classes_and_functions() -> None:
    from mmcv.utils import Registry, build_from_cfg

    detectors = Registry("detector")
    assert detectors.scope == "tests" and detectors.name == "detector"  # inferred from the defining package

    @detectors.register_module()
    class Faster:
        def __init__(self, depth: int = 50, neck: Any = None) -> None:
            self.depth, self.neck = depth, neck

    @detectors.register_module(name=["make", "make_alias"])
    def make(depth: int) -> Faster:
        return Faster(depth)

    built = detectors.build(dict(type="Faster", depth=101), default_args=dict(neck="fpn", depth=18))
    assert (built.depth, built.neck) == (101, "fpn")
    assert build_from_cfg(dict(type="make_alias", depth=3), detectors).depth == 3
    assert build_from_cfg(dict(type=Faster), detectors).depth == 50
    assert len(detectors) == 3 and "Faster" in detectors and "Other" not in detectors
    with pytest.raises(KeyError, match="Other is not in the detector registry"):
        detectors.build(dict(type="Other"))
    with pytest.raises(KeyError, match="Faster is already registered in detector"):
        detectors.register_module(module=Faster)
    detectors.register_module(module=Faster, force=True)
    with pytest.raises(KeyError, match='must contain the key "type"'):
        detectors.build(dict(depth=1))
    with pytest.raises(TypeError, match="type must be a str or valid type"):
        detectors.build(dict(type=3))


def test_children_are_reached_by_scope_and_inherit_the_build_function() -> None:
    from mmcv.utils import Registry

    calls: list[str] = []

    def build_model(cfg: dict[str, Any], registry: Any, default_args: Any = None) -> Any:
        if isinstance(cfg, list):
            return [build_model(c, registry, default_args) for c in cfg]
        calls.append(cfg["type"])
        from mmcv.utils import build_from_cfg

        return build_from_cfg(cfg, registry, default_args)

    models = Registry("model", build_func=build_model, scope="mmcv")
    det_models = Registry("model", parent=models, scope="mmdet")
    seg_models = Registry("model", parent=models, scope="mmseg")

    @det_models.register_module()
    class ResNet(torch.nn.Module):
        pass

    @seg_models.register_module(name="ResNet")
    class SegResNet(torch.nn.Module):
        pass

    assert det_models.build_func is build_model and models.children == {"mmdet": det_models, "mmseg": seg_models}
    assert isinstance(models.build(dict(type="mmdet.ResNet")), ResNet)
    assert isinstance(det_models.build(dict(type="mmseg.ResNet")), SegResNet)  # sibling, through the root
    assert models.get("ResNet") is None and det_models.get("mmdet.ResNet") is ResNet
    assert [type(m) for m in det_models.build([dict(type="ResNet"), dict(type="mmseg.ResNet")])] == [ResNet, SegResNet]
    assert calls == ["mmdet.ResNet", "mmseg.ResNet", "ResNet", "mmseg.ResNet"]
    with pytest.raises(KeyError, match="scope mmdet exists in model registry"):
        Registry("model", parent=models, scope="mmdet")


def test_build_from_cfg_over_hooks_builds_container_components_as_mmsegs_custom_hooks() -> None:
    from mmcv.runner import HOOKS, Hook
    from mmcv.utils import Registry, build_from_cfg

    import runnerkit

    @HOOKS.register_module()
    class DownstreamParityHook(Hook):
        def __init__(self, interval: int = 1) -> None:
            self.interval = interval

    try:
        hook = build_from_cfg(dict(type="DownstreamParityHook", interval=3), HOOKS)
        assert isinstance(hook, DownstreamParityHook) and hook.interval == 3
        assert isinstance(build_from_cfg(dict(type="CheckpointHook", interval=2), HOOKS), runnerkit.hooks.CheckpointHook)
        assert isinstance(HOOKS, Registry) and HOOKS.get("mmcv.DownstreamParityHook") is DownstreamParityHook
        with pytest.raises(KeyError):
            build_from_cfg(dict(type="NoSuchHookAnywhere"), HOOKS)
    finally:
        HOOKS._remove("DownstreamParityHook")


def test_a_child_of_hooks_keeps_its_own_classes_reachable_by_scope() -> None:
    from mmcv.runner import HOOKS, Hook
    from mmcv.utils import Registry

    child = Registry("hook", parent=HOOKS, scope="myproj_parity")
    try:
        @child.register_module()
        class ScopedHook(Hook):
            pass

        assert HOOKS.get("myproj_parity.ScopedHook") is ScopedHook and child.get("ScopedHook") is ScopedHook
    finally:
        HOOKS.children.pop("myproj_parity", None)


def test_nested_scopes_resolve_down_the_children_and_up_through_the_root() -> None:
    from mmcv.utils import Registry

    dogs = Registry("dogs", scope="zoo")
    hounds = Registry("dogs", parent=dogs, scope="hound")
    little = Registry("dogs", parent=hounds, scope="little_hound")
    mid = Registry("dogs", parent=hounds, scope="mid_hound")
    bloodhound, dachshund, beagle = (type(n, (), {}) for n in ("BloodHound", "Dachshund", "Beagle"))
    hounds.register_module(module=bloodhound)
    little.register_module(module=dachshund)
    mid.register_module(module=beagle)
    assert dogs.get("hound.little_hound.Dachshund") is dachshund and hounds.get("little_hound.Dachshund") is dachshund
    assert little.get("hound.BloodHound") is bloodhound and little.get("hound.mid_hound.Beagle") is beagle
    assert mid.get("hound.Dachshund") is None and dogs.get("cat.Tom") is None
