"""TextLoggerHook: mmcv's console line format and one JSON object per line."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import torch

import runnerkit
from tests.helpers import TinyNet, make_loader


def _logged_run(kind: str, work_dir: Path, caplog: pytest.LogCaptureFixture, **cfg: int) -> list[dict]:
    model = TinyNet()
    runner = runnerkit.build({"type": kind, **cfg}, {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "work_dir": work_dir})
    runner.register_training_hooks(None, {}, log_config={"interval": 2, "hooks": [{"type": "TextLoggerHook"}]})
    with caplog.at_level(logging.INFO, logger="runnerkit"):
        runner.run([make_loader(8), make_loader(4)], [("train", 1), ("val", 1)])
    (log_file,) = work_dir.glob("*.log.json")
    assert log_file.name == f"{runner.timestamp}.log.json"
    return [json.loads(line) for line in log_file.read_text().splitlines()]


def test_epoch_runner_logs_mmcv_lines_and_json(work_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    meta, *records = _logged_run("EpochBasedRunner", work_dir, caplog, max_epochs=2)
    assert meta == {"epoch_length": 4}  # the metadata line: `iter` restarts every 4 iterations
    lines = [r.getMessage() for r in caplog.records]
    assert any(re.fullmatch(r"Epoch \[1\]\[2/4\]\tlr: 1\.000e-02, eta: \d+:\d\d:\d\d, time: \d+\.\d{3}, data_time: \d+\.\d{3}, loss: \d+\.\d{4}", line) for line in lines), lines
    assert any(re.fullmatch(r"Epoch\(val\) \[1\]\[2\]\tloss: \d+\.\d{4}", line) for line in lines), lines
    train = [r for r in records if r["mode"] == "train"]
    assert [(r["epoch"], r["iter"]) for r in train] == [(1, 2), (1, 4), (2, 2), (2, 4)]
    assert {"mode", "epoch", "iter", "lr", "loss", "time", "data_time"} <= set(train[0])
    assert [r["mode"] for r in records].count("val") == 2


def test_iter_runner_logs_global_iterations(work_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = _logged_run("IterBasedRunner", work_dir, caplog, max_iters=6)
    assert [r["iter"] for r in records if r["mode"] == "train"] == [2, 4, 6]
    assert any(line.getMessage().startswith("Iter [4/6]\tlr: 1.000e-02") for line in caplog.records)


def test_json_lines_reach_the_file_at_once_and_the_file_is_closed_after_the_run(work_dir: Path) -> None:
    from runnerkit.hooks import Hook, TextLoggerHook

    seen: list[int] = []

    class Reader(Hook):  # runs after the logger: reads the JSON log while the run goes on
        def after_train_iter(self, runner: runnerkit.BaseRunner) -> None:
            logs = list(work_dir.glob("*.log.json"))
            seen.append(len(logs[0].read_text().splitlines()) if logs else 0)

    model = TinyNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 6},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "work_dir": work_dir})
    runner.register_training_hooks(None, {}, log_config={"interval": 2, "hooks": [{"type": "TextLoggerHook"}]})
    runner.register_hook(Reader(), priority="LOWEST")
    runner.run([make_loader(8)], [("train", 1)])
    assert seen == [0, 1, 1, 2, 2, 3]  # each record is on disk as soon as it is logged
    (logger,) = [h for h in runner.hooks if isinstance(h, TextLoggerHook)]
    assert logger._json_file is None  # one open per run, closed by after_run
