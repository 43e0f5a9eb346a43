"""Tracker hooks as mmcv 1.7.2 drives them: mmcv's attribute names, a given dvclive ``Live``, PAVI's upload schedule."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch
import torch._dynamo

import runnerkit
from runnerkit.hooks import DvcliveLoggerHook, IterTimerHook, MlflowLoggerHook, PaviLoggerHook, SegmindLoggerHook
from tests.helpers import ScaleNet


def train(hook: runnerkit.Hook, work_dir: Path, *, epochs: int | None = None, iters: int | None = None,
          checkpoint: dict[str, Any] | None = None) -> runnerkit.BaseRunner:
    model = ScaleNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.95)
    data = [torch.tensor([1.0]), torch.tensor([2.0])]
    runner: runnerkit.BaseRunner
    if epochs is not None:
        runner = runnerkit.EpochBasedRunner(model=model, optimizer=optimizer, work_dir=work_dir, max_epochs=epochs)
    else:
        runner = runnerkit.IterBasedRunner(model=model, optimizer=optimizer, work_dir=work_dir, max_iters=iters)
    runner.register_training_hooks(lr_config=None, checkpoint_config=checkpoint)
    runner.register_hook(IterTimerHook())
    runner.register_hook(hook)
    runner.run([data], [("train", 1)])
    return runner


def test_segmind_reads_its_functions_as_attributes_of_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()  # only `segmind` itself is importable, as with mmcv's mocked client
    monkeypatch.setitem(sys.modules, "segmind", client)
    hook = SegmindLoggerHook(interval=1)
    train(hook, tmp_path, epochs=1)
    assert hook.log_metrics is client.tracking.fluent.log_metrics  # mmcv's attribute names
    hook.mlflow_log.assert_called_with(hook.log_metrics, mock.ANY, step=0, epoch=0)


def test_mlflow_pytorch_is_imported_even_without_log_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    monkeypatch.setitem(sys.modules, "mlflow", client)
    monkeypatch.setitem(sys.modules, "mlflow.pytorch", client.pytorch)
    hook = MlflowLoggerHook(exp_name="e", log_model=False, interval=1)
    train(hook, tmp_path, epochs=1)
    assert hook.mlflow_pytorch is client.pytorch
    hook.mlflow_pytorch.log_model.assert_not_called()


def test_mlflow_2_gets_the_model_name_positionally_as_mmcv_passes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()  # a mocked client's log_model takes (*args, **kwargs): MLflow 2's positional form
    monkeypatch.setitem(sys.modules, "mlflow", client)
    monkeypatch.setitem(sys.modules, "mlflow.pytorch", client.pytorch)
    hook = MlflowLoggerHook(exp_name="e", interval=1)
    runner = train(hook, tmp_path, epochs=1)
    hook.mlflow_pytorch.log_model.assert_called_with(runner.model, "models", pip_requirements=[f"torch=={torch.__version__}"])


def test_dvclive_uses_the_live_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    live = mock.MagicMock()
    monkeypatch.setitem(sys.modules, "dvclive", client)
    hook = DvcliveLoggerHook(dvclive=live, interval=1)
    assert hook.dvclive is live and DvcliveLoggerHook().dvclive is None
    train(hook, tmp_path, epochs=1)
    client.Live.assert_not_called()
    live.set_step.assert_called_with(2)
    live.end.assert_called_once_with()


@pytest.mark.parametrize("by_epoch", [True, False])
def test_pavi_uploads_checkpoints_on_the_add_ckpt_kwargs_schedule(tmp_path: Path, by_epoch: bool,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    work = tmp_path / "exp"
    monkeypatch.setitem(sys.modules, "pavi", client)
    hook = PaviLoggerHook(by_epoch=by_epoch, add_last_ckpt=True, interval=1,
                          add_graph_kwargs={"active": False}, add_ckpt_kwargs={"active": True, "start": 1, "interval": 2})
    if by_epoch:
        train(hook, work, epochs=4, checkpoint={"interval": 1})
    else:
        train(hook, work, iters=7, checkpoint={"interval": 1, "by_epoch": False})
    uploaded = [(os.path.basename(c.kwargs["snapshot_file_path"]), c.kwargs["iteration"])
                for c in client.SummaryWriter.return_value.add_snapshot_file.call_args_list]
    if by_epoch:
        assert uploaded == [("epoch_1.pth", 1), ("epoch_3.pth", 3), ("epoch_4.pth", 4)]  # 1, 3, then the last
    else:
        assert uploaded == [("iter_1.pth", 1), ("iter_3.pth", 3), ("iter_5.pth", 5), ("iter_7.pth", 7), ("iter_7.pth", 7)]


def test_pavi_graph_options_come_from_add_graph_kwargs(tmp_path: Path) -> None:
    hook = PaviLoggerHook(add_graph_kwargs={"active": True, "img_key": "image", "start": 2, "interval": 3})
    assert (hook.add_graph, hook.img_key, hook.add_graph_schedule) == (True, "image", (2, 3))
    assert PaviLoggerHook(add_graph=True).add_graph_schedule is None  # once, at the first batch


def test_wandb_uploads_the_work_dir_files_with_wandb_log_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runnerkit.hooks import WandbLoggerHook

    client = mock.MagicMock()
    monkeypatch.setitem(sys.modules, "wandb", client)
    hook = WandbLoggerHook(log_artifact=True, out_suffix=".pth", define_metric_cfg={"val/loss": "min"}, interval=1)
    train(hook, tmp_path, epochs=1, checkpoint={"interval": 1})
    client.define_metric.assert_called_once_with("val/loss", summary="min")
    artifact = client.Artifact.return_value
    client.log_artifact.assert_called_once_with(artifact)  # module-level, as mmcv calls it
    added = {os.path.basename(c.args[0]) for c in artifact.add_file.call_args_list}
    assert "epoch_1.pth" in added
    client.finish.assert_called_once_with()
