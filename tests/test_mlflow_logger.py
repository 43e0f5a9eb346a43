"""``MlflowLoggerHook`` against the installed (current) MLflow client, and against the oldest one the
``test`` extra allows (``mlflow-skinny==2.10.0``) in a throwaway environment."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from tests import processes
from tests.cli_helpers import main

ROOT = Path(__file__).resolve().parents[1]
OLDEST = "mlflow-skinny==2.10.0"  # pyproject's `test` extra: mlflow-skinny>=2.10

JOB = {
    "seed": 0, "num_threads": 1, "model": {"type": "DemoModel", "hidden": 8},
    "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 32}},
    "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {}, "checkpoint_config": {"interval": 4},
    "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}, {"type": "MlflowLoggerHook", "exp_name": "rk"}]},
    "runner": {"type": "IterBasedRunner", "max_iters": 4},
}


@pytest.fixture
def mlflow_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean MLflow environment: no tracking URI set, the working directory a fresh folder."""
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(None)  # what an earlier test set (`set_tracking_uri("")` is a setting too)
    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_log_model_logs_the_model_with_the_current_client_and_the_run_ends_normally(
        mlflow_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mlflow.pytorch", exc_type=ImportError)  # the full client's flavour (needs pandas)
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # current MLflow asks for an opt-in to file stores
    (mlflow_env / "job.json").write_text(json.dumps(JOB))
    mlflow.set_tracking_uri("file:./mlruns")
    try:
        code, out, err = main(capsys, "run", "job.json", "--work-dir", "w")
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    assert code == 0, err
    assert "Trained 4 iterations" in out and "could not log the model" not in out + err
    (model,) = (mlflow_env / "mlruns").rglob("MLmodel")  # the model, logged at the end of training
    assert "pickle" in model.read_text()


def test_a_tracking_store_that_cannot_be_opened_is_one_message_before_training(
        mlflow_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mlflow")
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    job = json.loads(json.dumps(JOB))
    job["log_config"]["hooks"][1]["log_model"] = False
    (mlflow_env / "job.json").write_text(json.dumps(job))
    mlflow.set_tracking_uri("http://127.0.0.1:9")  # nothing listens there
    try:
        code, _, err = main(capsys, "run", "job.json", "--work-dir", "w")
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    assert code == 1
    assert err.startswith("runnerkit run: error: MlflowLoggerHook cannot open the MLflow tracking store "
                          "`http://127.0.0.1:9`: ")
    assert "Set `MLFLOW_TRACKING_URI` to a store the installed MLflow can use" in err and "Traceback" not in err
    assert not list((mlflow_env / "w").glob("*.pth"))  # refused before training


ONE_RUN = textwrap.dedent("""
    import sys, mlflow, torch
    from torch.utils.data import DataLoader
    import runnerkit
    from runnerkit.demo import DemoDataset, DemoModel
    from runnerkit.hooks.trackers.mlflow_logger import MlflowLoggerHook

    mlflow.set_tracking_uri("file:./mlruns")
    model = DemoModel(hidden=8)
    runner = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                       work_dir="w", max_iters=4)
    runner.register_training_hooks(None, {}, log_config=dict(interval=2, hooks=[]))
    runner.register_hook(MlflowLoggerHook(exp_name="rk", log_model=False, interval=2, by_epoch=False))
    runner.run([DataLoader(DemoDataset(num_samples=32), batch_size=8)], [("train", 1)])
    client = mlflow.tracking.MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("rk").experiment_id])
    print(mlflow.__version__, run.info.status, [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")])
""")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_oldest_supported_mlflow_client_logs_a_run(tmp_path: Path) -> None:
    """``mlflow-skinny==2.10.0`` in a throwaway venv layered over this environment (torch, runnerkit's needs)."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = processes.run([python, "-c", "import site; print(site.getsitepackages()[0])"], timeout=60).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages")]  # this environment's packages, after its own
    (Path(site) / "parent.pth").write_text("\n".join(ours) + "\n")
    install = processes.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--retries", "1",
                            "--timeout", "20", OLDEST], timeout=400)
    if install.returncode != 0 and "No matching distribution" in install.stderr + install.stdout:
        pytest.skip(f"{OLDEST} cannot be downloaded here: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = processes.run([python, "-c", ONE_RUN], timeout=180, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[:2] == ["2.10.0", "FINISHED"] and proc.stdout.strip().endswith("[2, 4]")
