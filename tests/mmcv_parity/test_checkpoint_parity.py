"""mmcv.runner.checkpoint: state dicts through wrappers, prefixes, revise_keys, module versions, CLASSES, loaders.

Deliberate differences (docs/migration.md): files load with ``weights_only=True``; a missing
prefix is a ValueError (mmcv: AssertionError); remote schemes other than a torch.hub cache hit are
a clear error instead of a download.
"""

from __future__ import annotations

import collections
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.norm = nn.BatchNorm2d(3)


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.conv = nn.Conv2d(3, 3, 1)


KEYS = {"block.conv.weight", "block.conv.bias", "block.norm.weight", "block.norm.bias", "block.norm.running_mean",
        "block.norm.running_var", "block.norm.num_batches_tracked", "conv.weight", "conv.bias"}


class PlainWrapper:
    """A wrapper that is not a Module, known only through MODULE_WRAPPERS (as mmcv's tests register one)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module


@pytest.fixture(scope="module", autouse=True)
def _wrapper_registered() -> None:
    from mmcv.parallel import MODULE_WRAPPERS

    if MODULE_WRAPPERS.get("PlainWrapper") is None:
        MODULE_WRAPPERS.register_module(module=PlainWrapper)


def test_get_state_dict_unwraps_wrappers_at_every_level() -> None:
    from mmcv.runner.checkpoint import get_state_dict

    model = Model()
    for wrapped in (model, PlainWrapper(model)):
        state = get_state_dict(wrapped)
        assert isinstance(state, collections.OrderedDict) and set(state) == KEYS
        assert torch.equal(state["block.conv.weight"], model.block.conv.weight)
    model.block = nn.DataParallel(model.block)  # type: ignore[assignment]
    state = get_state_dict(PlainWrapper(model))
    assert set(state) == KEYS and "block" in state._metadata  # type: ignore[attr-defined]


def test_load_checkpoint_with_prefix_returns_the_weights_under_it(tmp_path: Path) -> None:
    from mmcv.runner import _load_checkpoint_with_prefix

    model = Model()
    torch.save(model.state_dict(), tmp_path / "model.pth")
    state = _load_checkpoint_with_prefix("block.conv", tmp_path / "model.pth")
    assert set(state) == {"weight", "bias"} and torch.equal(state["weight"], model.block.conv.weight)
    with pytest.raises(ValueError, match=r"back\. is not in the pretrained model"):  # mmcv: AssertionError
        _load_checkpoint_with_prefix("back", tmp_path / "model.pth")


def test_revise_keys_adds_and_strips_prefixes(tmp_path: Path) -> None:
    from mmcv.runner import load_checkpoint

    class Prefixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = Model()

    inner, outer = Model(), Prefixed()
    torch.save(inner.state_dict(), tmp_path / "a.pth")
    load_checkpoint(outer, tmp_path / "a.pth", revise_keys=[(r"^", "backbone.")])
    assert all(torch.equal(v, inner.state_dict()[k]) for k, v in outer.backbone.state_dict().items())
    torch.save(Prefixed().state_dict(), tmp_path / "b.pth")
    ckpt = load_checkpoint(inner, tmp_path / "b.pth", revise_keys=[(r"^backbone\.", "")])
    assert all(torch.equal(inner.state_dict()[k.removeprefix("backbone.")], v) for k, v in ckpt.items())


class ModelV1(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, 1)
        self.conv2 = nn.Conv2d(3, 3, 1)


class ModelV2(nn.Module):
    """Renamed conv1/conv2 to conv0/conv1 in version 2; converts older state dicts on load."""

    _version = 2

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(3, 3, 1)
        self.conv1 = nn.Conv2d(3, 3, 1)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, local_metadata: dict[str, Any],
                              *args: Any, **kwargs: Any) -> None:
        if local_metadata.get("version") is None or local_metadata["version"] < 2:
            for old, new in (("conv1", "conv0"), ("conv2", "conv1")):
                for key in [k for k in state_dict if k.startswith(prefix + old)]:
                    state_dict[key.replace(old, new)] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)


def test_module_versions_survive_save_load_and_revise_keys(tmp_path: Path) -> None:
    from mmcv.runner import load_checkpoint, save_checkpoint

    v1, v2 = ModelV1(), ModelV2()
    save_checkpoint(v1, tmp_path / "v1.pth")
    save_checkpoint(nn.DataParallel(v2), tmp_path / "v2.pth")
    fresh = ModelV2()
    load_checkpoint(fresh, tmp_path / "v1.pth")  # version 1: converted
    assert torch.equal(fresh.conv0.weight, v1.conv1.weight) and torch.equal(fresh.conv1.weight, v1.conv2.weight)
    load_checkpoint(fresh, tmp_path / "v2.pth")  # version 2: loaded as is
    assert torch.equal(fresh.conv0.weight, v2.conv0.weight) and torch.equal(fresh.conv1.weight, v2.conv1.weight)
    # a DDP-era file (`module.` keys and module names): revise_keys must revise the versions too
    wrapped = collections.OrderedDict((f"module.{k}", v) for k, v in v2.state_dict().items())
    wrapped._metadata = collections.OrderedDict(  # type: ignore[attr-defined]
        (f"module.{k}" if k else "module", v) for k, v in v2.state_dict()._metadata.items())  # type: ignore[attr-defined]
    torch.save({"state_dict": wrapped}, tmp_path / "ddp.pth")
    fresh = ModelV2()
    load_checkpoint(fresh, tmp_path / "ddp.pth")
    assert torch.equal(fresh.conv0.weight, v2.conv0.weight)  # no spurious version-1 conversion


def test_runner_load_checkpoint_keeps_module_versions_too(tmp_path: Path) -> None:
    """The behaviour lives in runnerkit itself, not only in the layer."""
    import runnerkit

    class V2Net(ModelV2):
        def train_step(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            raise NotImplementedError

    v2 = ModelV2()
    wrapped = collections.OrderedDict((f"module.{k}", v) for k, v in v2.state_dict().items())
    wrapped._metadata = collections.OrderedDict(  # type: ignore[attr-defined]
        (f"module.{k}" if k else "module", v) for k, v in v2.state_dict()._metadata.items())  # type: ignore[attr-defined]
    torch.save({"state_dict": wrapped}, tmp_path / "ddp.pth")
    runner = runnerkit.IterBasedRunner(model=V2Net(), max_iters=1)
    runner.load_checkpoint(tmp_path / "ddp.pth")
    assert torch.equal(runner.model.conv0.weight, v2.conv0.weight)


def test_save_checkpoint_stores_the_class_names_of_the_model(tmp_path: Path) -> None:
    from mmcv.runner import load_checkpoint, save_checkpoint

    model = Model()
    path = tmp_path / "c.pth"
    save_checkpoint(model, path)
    assert "CLASSES" not in load_checkpoint(model, path)["meta"]
    model.CLASSES = ("class1", "class2")  # type: ignore[assignment]
    wrapped = PlainWrapper(model)
    save_checkpoint(wrapped, path)  # type: ignore[arg-type]
    assert tuple(load_checkpoint(wrapped, path)["meta"]["CLASSES"]) == ("class1", "class2")  # type: ignore[arg-type]


def test_save_checkpoint_checks_meta_and_saves_optimizers(tmp_path: Path) -> None:
    from mmcv.runner import _load_checkpoint, save_checkpoint

    model = Model()
    with pytest.raises(TypeError, match="meta must be a dict or None"):
        save_checkpoint(model, tmp_path / "x.pth", meta="invalid type")  # type: ignore[arg-type]
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    save_checkpoint(model, tmp_path / "one.pth", opt, meta={"test": "test"})
    ckpt = _load_checkpoint(tmp_path / "one.pth")
    assert ckpt["meta"]["test"] == "test" and ckpt["optimizer"]["param_groups"][0]["lr"] == 0.1
    save_checkpoint(model, tmp_path / "two.pth", {"a": opt, "b": opt})
    assert set(_load_checkpoint(tmp_path / "two.pth")["optimizer"]) == {"a", "b"}
    with pytest.raises(ValueError, match=r"save_checkpoint writes local files only, got the URL `s3://b/x\.pth`"):
        save_checkpoint(model, "s3://b/x.pth")


def test_checkpoint_loader_picks_the_loader_by_scheme() -> None:
    from mmcv.runner import CheckpointLoader

    expected = {
        "http://xx.xx/xx.pth": "load_from_http", "https://xx.xx/xx.pth": "load_from_http",
        "modelzoo://xx.pth": "load_from_torchvision", "torchvision://resnet50": "load_from_torchvision",
        "file:///tmp/x.pth": "load_from_file_url", "work_dirs/x.pth": "load_from_local",
        " s3://xx.xx/xx.pth": "load_from_local", ":s3://xx.xx/xx.path": "load_from_local",
        "pavi://xx.xx/xx.pth": "load_from_pavi",
    }
    for name, fn in expected.items():
        assert CheckpointLoader._get_checkpoint_loader(name).__name__ == fn
    for name in ("s3://b/x.pth", "open-mmlab://resnet50_v1c", "mmcls://x.pth"):
        with pytest.raises(ValueError, match=r"No checkpoint loader for .*is not supported here"):
            CheckpointLoader._get_checkpoint_loader(name)


def test_register_scheme_takes_mmcv_style_loaders_with_force_and_longest_prefix_first() -> None:
    from mmcv.runner import CheckpointLoader

    @CheckpointLoader.register_scheme(prefixes="ftp://")
    def load_from_ftp(filename: str, map_location: Any) -> dict[str, Any]:
        return {"filename": filename}

    def load_from_ftp1(filename: str, map_location: Any) -> dict[str, Any]:
        return {"filename": filename, "second": True}

    try:
        assert CheckpointLoader.load_checkpoint("ftp://x/y.pth") == {"filename": "ftp://x/y.pth"}
        with pytest.raises(KeyError, match="ftp:// is already registered as a loader backend"):
            CheckpointLoader.register_scheme("ftp://", load_from_ftp1)
        CheckpointLoader.register_scheme("ftp://", load_from_ftp1, force=True)
        assert CheckpointLoader.load_checkpoint("ftp://x/y.pth")["second"] is True
        CheckpointLoader.register_scheme("a/b", load_from_ftp)
        CheckpointLoader.register_scheme("a/b/c", load_from_ftp1)
        assert CheckpointLoader._get_checkpoint_loader("a/b/c/d") is load_from_ftp1
    finally:
        for prefix in ("ftp://", "a/b", "a/b/c"):
            CheckpointLoader._schemes.pop(prefix, None)


def test_remote_checkpoints_come_from_the_torch_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmcv.runner import _load_checkpoint

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"is not in torch.hub's cache .*runnerkit does not download"):
        _load_checkpoint("https://download.example/models/resnet_x.pth")
    with pytest.raises(FileNotFoundError, match=r"no `resnet_x-\*\.pth` in torch.hub's cache"):
        _load_checkpoint("torchvision://resnet_x")
    (tmp_path / "checkpoints").mkdir()
    torch.save({"w": torch.ones(1)}, tmp_path / "checkpoints" / "resnet_x-1234abcd.pth")
    assert torch.equal(_load_checkpoint("torchvision://resnet_x")["w"], torch.ones(1))
    torch.save({"w": torch.zeros(1)}, tmp_path / "checkpoints" / "resnet_x.pth")
    assert torch.equal(_load_checkpoint("https://download.example/models/resnet_x.pth")["w"], torch.zeros(1))


class EmaNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.fc(batch).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch)}


def _mmcv1_checkpoint(path: Path, with_ema: bool) -> dict[str, torch.Tensor]:
    """A file as mmcv 1.x's EpochBasedRunner wrote it after 2 epochs of 3 iterations (EMA swapped in)."""
    model = EmaNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train_step(torch.ones(3, 2), opt)["loss"].backward()
    opt.step()
    state = collections.OrderedDict(model.state_dict())
    training = {"fc.weight": torch.full((1, 2), 7.0), "fc.bias": torch.full((1,), 8.0)}
    if with_ema:
        state["ema_fc_weight"] = training["fc.weight"]
        state["ema_fc_bias"] = training["fc.bias"]
    meta = {"mmcv_version": "1.7.2", "epoch": 2, "iter": 6, "hook_msgs": {"last_ckpt": "epoch_2.pth"}}
    torch.save({"meta": meta, "state_dict": state, "optimizer": opt.state_dict()}, path)
    return {**{k: v.clone() for k, v in model.state_dict().items()}, **{f"train.{k}": v for k, v in training.items()}}


def test_an_mmcv1_checkpoint_resumes_weights_optimizer_counters_and_ema(tmp_path: Path) -> None:
    import runnerkit
    from runnerkit.hooks import EMAHook

    saved = _mmcv1_checkpoint(tmp_path / "epoch_2.pth", with_ema=True)
    model = EmaNet()
    runner = runnerkit.EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                                        max_epochs=3)
    ema = EMAHook(momentum=0.5)
    runner.register_hook(ema)
    with pytest.warns(UserWarning, match=r"mmcv 1\.x checkpoint.*exact continuation is not possible"):
        runner.resume(tmp_path / "epoch_2.pth")
    assert (runner.epoch, runner.iter) == (2, 6)
    assert torch.equal(model.fc.weight, saved["fc.weight"])  # the averages, as mmcv's epoch checkpoint holds them
    assert runner.optimizer.state_dict()["state"][0]["momentum_buffer"] is not None
    runner.run([[torch.ones(3, 2)] * 3], [("train", 1)])  # the EMA swaps the training weights back first
    assert runner.epoch == 3 and ema.state_dict()["step"] == 8


def test_an_mmcv1_ema_checkpoint_without_an_ema_hook_warns_that_the_averages_are_dropped(tmp_path: Path) -> None:
    import runnerkit

    _mmcv1_checkpoint(tmp_path / "e.pth", with_ema=True)
    runner = runnerkit.EpochBasedRunner(model=EmaNet(), max_epochs=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner.resume(tmp_path / "e.pth")
    assert any("no EMAHook is registered: the averages are dropped" in str(w.message) for w in caught)


def test_an_out_dir_with_a_url_scheme_is_a_clear_error(tmp_path: Path) -> None:
    from mmcv.runner import CheckpointHook, EvalHook

    import runnerkit

    with pytest.raises(ValueError, match=r"`out_dir` is the URL `s3://bucket/exp`, but runnerkit writes checkpoints to local"):
        CheckpointHook(interval=1, out_dir="s3://bucket/exp")
    with pytest.raises(ValueError, match=r"`out_dir` is the URL `s3://bucket/exp`"):
        EvalHook([{"img": torch.ones(1)}], out_dir="s3://bucket/exp")
    runner = runnerkit.IterBasedRunner(model=EmaNet(), max_iters=1)
    with pytest.raises(ValueError, match=r"`out_dir` is the URL `petrel://x`"):
        runner.save_checkpoint("petrel://x")
    assert not (Path.cwd() / "s3:").exists()


def test_pavi_checkpoints_are_downloaded_with_the_pavi_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types
    from unittest import mock

    from mmcv.runner.checkpoint import load_from_pavi

    from runnerkit.compat.mmcv.runner import save_checkpoint

    source = tmp_path / "stored.pth"
    model = Model()
    save_checkpoint(model, str(source))

    class StoredModel:
        name = "stored.pth"

        def __init__(self, present: bool) -> None:
            self.present = present

        def download(self, target: str) -> None:
            if self.present:
                Path(target).write_bytes(source.read_bytes())

    cloud = types.SimpleNamespace(get=mock.Mock(return_value=StoredModel(True)))
    monkeypatch.setitem(sys.modules, "pavi", types.SimpleNamespace(modelcloud=cloud))
    monkeypatch.setitem(sys.modules, "pavi.modelcloud", cloud)
    with pytest.raises(ValueError, match=r"load_from_pavi expects a `pavi://` path, got 'folder/x.pth'"):
        load_from_pavi("folder/x.pth")
    state = load_from_pavi("pavi://proj/stored.pth")["state_dict"]
    cloud.get.assert_called_once_with("proj/stored.pth")
    assert torch.equal(state["conv.weight"], model.conv.weight)
    cloud.get.return_value = StoredModel(False)
    with pytest.raises(FileNotFoundError, match=r"PAVI gave no file for `pavi://proj/gone.pth`"):
        load_from_pavi("pavi://proj/gone.pth")
    monkeypatch.setitem(sys.modules, "pavi", None)
    with pytest.raises(ImportError, match=r"needs the PAVI client: pip install pavi"):
        load_from_pavi("pavi://proj/stored.pth")
