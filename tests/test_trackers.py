"""Experiment-tracker hooks: lazy client import with an install hint, rank 0 only, the values logged.

MLflow runs against a real local file store and W&B in offline mode where they are installed;
the other services' clients are mocked (as mmcv's own tests do).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch

import runnerkit
from runnerkit.hooks import (
    ClearMLLoggerHook,
    DvcliveLoggerHook,
    IterTimerHook,
    MlflowLoggerHook,
    NeptuneLoggerHook,
    PaviLoggerHook,
    SegmindLoggerHook,
    WandbLoggerHook,
)
from tests.helpers import ScaleNet


def run(hook: runnerkit.Hook, work_dir: Path, max_iters: int = 4) -> runnerkit.IterBasedRunner:
    model = ScaleNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.95)
    runner = runnerkit.IterBasedRunner(model=model, optimizer=optimizer, work_dir=work_dir, max_iters=max_iters)
    runner.register_hook(IterTimerHook())  # logger hooks tell train from val by its `time` values (mmcv)
    runner.register_hook(hook)
    runner.run([[torch.tensor([float(i + 1)]) for i in range(max_iters)]], [("train", 1)])
    return runner


EXPECTED_AT_4 = {"train/loss": 3.5, "learning_rate": 0.02, "momentum": pytest.approx(0.95)}  # interval 2: mean of 3, 4


TRACKERS = [(WandbLoggerHook, "wandb"), (MlflowLoggerHook, "mlflow"), (NeptuneLoggerHook, "neptune"),
            (DvcliveLoggerHook, "dvclive"), (ClearMLLoggerHook, "clearml"), (SegmindLoggerHook, "segmind"),
            (PaviLoggerHook, "pavi")]


@pytest.mark.parametrize(("cls", "package"), TRACKERS)
def test_a_missing_client_is_reported_before_training_with_the_install_command(
    cls: type, package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # makes `import <package>` fail
    hook = cls()  # building the hook never imports the client
    with pytest.raises(ImportError, match=rf"`{cls.__name__}` needs `{package}`.*`pip install {package}`"):
        run(hook, tmp_path)


@pytest.mark.parametrize(("cls", "package"), TRACKERS)
def test_the_client_is_imported_at_the_start_of_the_run_with_an_install_hint(
    cls: type, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(ImportError, match=rf"{cls.__name__} needs the `{package}` package.*`pip install {package}`"):
        cls().import_client()


def test_trackers_are_components_found_by_name() -> None:
    for name in ("WandbLoggerHook", "MlflowLoggerHook", "NeptuneLoggerHook", "DvcliveLoggerHook",
                 "ClearMLLoggerHook", "SegmindLoggerHook", "PaviLoggerHook"):
        assert runnerkit.default_container().get("hook", name).__name__ == name


@pytest.mark.slow  # wandb starts its own service process
def test_wandb_logs_offline_with_the_iteration_as_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    logged: list[tuple[dict[str, Any], int]] = []
    real_log = wandb.sdk.wandb_run.Run.log  # `wandb.init` binds `wandb.log` to the run's `log`

    def spy(self: Any, data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
        logged.append((dict(data), step))  # type: ignore[arg-type]
        real_log(self, data, step=step, commit=commit)

    monkeypatch.setattr(wandb.sdk.wandb_run.Run, "log", spy)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "run.log").write_text("a log line\n")
    run(WandbLoggerHook(init_kwargs={"project": "rk-test"}, interval=2, by_epoch=False), tmp_path / "work")
    assert logged[-1] == (EXPECTED_AT_4, 4)
    assert [step for _, step in logged] == [2, 4]
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))


def test_mlflow_writes_metrics_params_and_tags_to_a_local_file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # recent MLflow asks for an opt-in to file stores
    store = tmp_path / "mlruns"
    mlflow.set_tracking_uri(store.as_uri())
    try:
        hook = MlflowLoggerHook(exp_name="rk", tags={"team": "a"}, params={"lr": 0.02}, log_model=False, interval=2, by_epoch=False)
        run(hook, tmp_path / "work")
        client = mlflow.tracking.MlflowClient()
        exp = client.get_experiment_by_name("rk")
        (found,) = client.search_runs([exp.experiment_id])
        assert found.data.params == {"lr": "0.02"}
        assert found.data.tags["team"] == "a"
        assert found.info.status == "FINISHED"  # the hook started the run, so it ended it
        history = client.get_metric_history(found.info.run_id, "train/loss")
        assert [(m.step, m.value) for m in history] == [(2, 1.5), (4, 3.5)]
        assert [m.value for m in client.get_metric_history(found.info.run_id, "momentum")] == [pytest.approx(0.95)] * 2
    finally:
        mlflow.set_tracking_uri("")


def test_neptune_logs_each_tag_with_its_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock(spec=["init_run"])
    monkeypatch.setitem(sys.modules, "neptune", client)
    hook = NeptuneLoggerHook(init_kwargs={"project": "me/p"}, interval=4, by_epoch=False)
    run(hook, tmp_path)
    client.init_run.assert_called_once_with(project="me/p")
    neptune_run = client.init_run.return_value
    neptune_run.__getitem__.assert_any_call("learning_rate")
    neptune_run.__getitem__.return_value.log.assert_any_call(0.02, step=4)
    neptune_run.stop.assert_called_once_with()


def test_dvclive_sets_the_step_and_saves_the_model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    monkeypatch.setitem(sys.modules, "dvclive", client)
    hook = DvcliveLoggerHook(model_file=str(tmp_path / "model.pth"), interval=2, dir="x")
    model = ScaleNet()
    runner = runnerkit.EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.95),
                                        work_dir=tmp_path, max_epochs=1)
    runner.register_hook(IterTimerHook())
    runner.register_hook(hook)
    runner.run([[torch.tensor([1.0]), torch.tensor([3.0])]], [("train", 1)])
    client.Live.assert_called_once_with(dir="x")
    live = client.Live.return_value
    live.set_step.assert_called_with(2)
    live.log_metric.assert_any_call("train/loss", 2.0)
    assert (tmp_path / "model.pth").is_file()


def test_clearml_connects_the_optimizer_and_reports_scalars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    monkeypatch.setitem(sys.modules, "clearml", client)
    runner = run(ClearMLLoggerHook(init_kwargs={"project_name": "p"}, interval=4, by_epoch=False), tmp_path)
    client.Task.init.assert_called_once_with(project_name="p")
    task = client.Task.init.return_value
    task.connect.assert_called_once_with(runner.optimizer, name="SGD")
    task.get_logger.return_value.report_scalar.assert_any_call("learning_rate", "learning_rate", 0.02, 4)
    task.upload_artifact.assert_called_once_with("Model Architecture", runner.model)


def test_segmind_logs_through_its_mlflow_wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    modules = {"segmind": client, "segmind.tracking.fluent": client.tracking.fluent,
               "segmind.utils.logging_utils": client.utils.logging_utils}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    run(SegmindLoggerHook(interval=4, by_epoch=False), tmp_path)
    wrapper = client.utils.logging_utils.try_mlflow_log
    args, kwargs = wrapper.call_args
    assert args[0] is client.tracking.fluent.log_metrics
    assert args[1] == EXPECTED_AT_4 | {"train/loss": 2.5} and kwargs == {"step": 0, "epoch": 0}


def test_pavi_writes_scalars_by_mode_and_uploads_the_last_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    work = tmp_path / "exp1"
    monkeypatch.setitem(sys.modules, "pavi", client)
    hook = PaviLoggerHook(add_last_ckpt=True, interval=4, by_epoch=False)
    model = ScaleNet()
    runner = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.95),
                                       work_dir=work, max_iters=4, meta={"config_dict": {"lr": 0.02}})
    runner.register_training_hooks(lr_config=None, checkpoint_config={"interval": 4})
    runner.register_hook(hook)
    runner.run([[torch.tensor([float(i + 1)]) for i in range(4)]], [("train", 1)])
    kwargs = client.SummaryWriter.call_args.kwargs
    assert kwargs["task"] == "exp1" and kwargs["model"] == "ScaleNet" and '"lr": 0.02' in kwargs["session_text"]
    writer = client.SummaryWriter.return_value
    mode, tags, step = writer.add_scalars.call_args.args
    assert (mode, step) == ("train", 4) and tags == {"loss": 2.5, "learning_rate": 0.02, "momentum": pytest.approx(0.95)}
    snapshot = writer.add_snapshot_file.call_args.kwargs
    assert snapshot["tag"] == "exp1" and os.path.basename(snapshot["snapshot_file_path"]) == "iter_4.pth"


def test_only_rank_0_talks_to_the_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mock.MagicMock()
    monkeypatch.setitem(sys.modules, "clearml", client)
    with mock.patch.object(runnerkit.IterBasedRunner, "rank", new_callable=mock.PropertyMock, return_value=1):
        run(ClearMLLoggerHook(interval=2, by_epoch=False), tmp_path)
    client.Task.init.assert_not_called()
    client.Task.init.return_value.get_logger.return_value.report_scalar.assert_not_called()
