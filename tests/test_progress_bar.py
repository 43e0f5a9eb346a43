"""ProgressBarHook: a tqdm bar on terminals (or when forced), rank 0 only, the logged loss, no syncs."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError

import runnerkit
from runnerkit.hooks.evaluation import EvalHook
from runnerkit.hooks.progress_bar import ProgressBarHook
from tests.helpers import ScaleNet


class Terminal(io.StringIO):
    """A text stream that says it is an interactive terminal."""

    def isatty(self) -> bool:
        return True


def batches() -> list[torch.Tensor]:
    return [torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([3.0])]


def train(runner: runnerkit.BaseRunner, bar: ProgressBarHook, log_interval: int | None = 2, *extra: Any) -> None:
    log_config = None
    if log_interval is not None:
        log_config = {"interval": log_interval, "hooks": [{"type": "TextLoggerHook"}]}
    runner.register_training_hooks(lr_config=None, log_config=log_config)
    for hook in extra:
        runner.register_hook(hook)
    runner.register_hook(bar)  # VERY_LOW, after the loggers
    runner.run([batches()], [("train", 1)])


def frames(text: str) -> list[str]:
    return [f for f in re.split(r"[\r\n]+", text) if f.strip()]


@contextlib.contextmanager
def count_host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every call that reads a tensor back to the host."""
    calls: list[str] = []
    for name in ("item", "cpu", "tolist", "numpy", "__float__", "__int__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def spy(self: torch.Tensor, *args: Any, _name: str = name, _orig: Any = original, **kw: Any) -> Any:
            calls.append(_name)
            return _orig(self, *args, **kw)

        monkeypatch.setattr(torch.Tensor, name, spy)
    yield calls
    monkeypatch.undo()


def test_on_a_terminal_the_iteration_runner_shows_all_iterations_and_the_logged_loss(tmp_path: Path) -> None:
    stream = Terminal()
    train(runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=6), ProgressBarHook(file=stream))
    final = frames(stream.getvalue())[-1]
    assert "6/6" in final and "100%" in final
    assert "loss=2.5000" in final  # the last logged average: batches 2 and 3


def test_the_epoch_runner_shows_one_bar_per_epoch(tmp_path: Path) -> None:
    stream = Terminal()
    train(runnerkit.EpochBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_epochs=2), ProgressBarHook(file=stream), 3)
    shown = frames(stream.getvalue())
    assert any(f.startswith("Epoch 1/2") and "3/3" in f for f in shown)
    assert shown[-1].startswith("Epoch 2/2") and "3/3" in shown[-1] and "loss=2.0000" in shown[-1]


def test_the_bar_is_redrawn_every_interval_iterations(tmp_path: Path) -> None:
    stream = Terminal()
    train(runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=6), ProgressBarHook(file=stream, interval=4, refresh_s=0), None)
    counts = [m.group(1) for m in re.finditer(r"\| (\d)/6 ", stream.getvalue())]
    assert counts[0] == "0" and "4" in counts and counts[-1] == "6"
    assert not {"1", "2", "3", "5"} & set(counts)


def test_evaluation_results_are_not_shown_as_the_training_loss(tmp_path: Path) -> None:
    stream = Terminal()

    def scores(model: torch.nn.Module, loader: Any) -> list[dict[str, Any]]:
        return [{"log_vars": {"loss": 100.0}, "num_samples": 1}]

    runner = runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=6)
    train(runner, ProgressBarHook(file=stream), 2, EvalHook([torch.zeros(1)], by_epoch=False, interval=3, test_fn=scores))
    assert "loss=100" not in stream.getvalue()
    assert "loss=2.5000" in frames(stream.getvalue())[-1]


def test_without_a_terminal_nothing_is_drawn_unless_forced(tmp_path: Path) -> None:
    quiet = io.StringIO()
    train(runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=3), ProgressBarHook(file=quiet))
    assert quiet.getvalue() == ""
    forced = io.StringIO()
    train(runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=3), ProgressBarHook(file=forced, enabled=True))
    assert "3/3" in forced.getvalue()
    never = Terminal()
    train(runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=3), ProgressBarHook(file=never, enabled=False))
    assert never.getvalue() == ""


def test_only_rank_0_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Terminal()
    monkeypatch.setattr(runnerkit.dist, "get_dist_info", lambda: (1, 1))  # rank 1 (no process group here)
    runner = runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=3)
    monkeypatch.undo()
    assert runner.rank == 1
    train(runner, ProgressBarHook(file=stream, enabled=True))
    assert stream.getvalue() == ""


def test_as_the_last_logger_it_clears_the_output_the_loggers_shared(tmp_path: Path) -> None:
    runner = runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=2)
    bar = ProgressBarHook(enabled=False)
    train(runner, bar, 2)
    text_logger = next(h for h in runner.hooks if type(h).__name__ == "TextLoggerHook")
    assert (text_logger.reset_flag, bar.reset_flag) == (False, True)
    assert runner.log_buffer.output == {} and bar.loss == 1.5


def test_the_bar_never_reads_a_tensor_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=100)
    bar = ProgressBarHook(file=Terminal())
    runner.register_hook(bar)
    bar.before_run(runner)
    with count_host_reads(monkeypatch) as calls:
        for it in range(100):
            runner.loop.iter = it
            runner.log_buffer.update({"loss": torch.tensor(float(it))})
            bar.after_train_iter(runner)
    bar.after_run(runner)
    assert calls == []


def test_it_is_found_by_name_at_very_low_priority() -> None:
    runner = runnerkit.IterBasedRunner(model=ScaleNet(), max_iters=1)
    runner.register_hook_from_cfg({"type": "ProgressBarHook", "interval": 5})
    (hook,) = runner.hooks
    assert isinstance(hook, ProgressBarHook) and hook.priority == 90 and hook.interval == 5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"interval": 0}, ValidationError, r"interval\n  Input should be greater than 0 \(got `0`\)"),
        ({"bar_width": -3}, ValidationError, r"bar_width\n  Input should be greater than 0 \(got `-3`\)"),
        ({"enabled": "auto"}, ValidationError, r"enabled\n  Input should be a valid boolean \(got `'auto'`\)"),
        ({"refresh_s": -1}, ValidationError, r"refresh_s\n  Input should be greater than or equal to 0 \(got `-1`\)"),
        ({"by_epoch": 1}, ValidationError, r"by_epoch\n  Input should be a valid boolean \(got `1`\)"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ProgressBarHook(**kwargs)


def test_after_a_log_line_the_bar_shows_that_iterations_count_and_loss(tmp_path: Path) -> None:
    import logging

    stream = Terminal()
    logger = logging.getLogger(f"rk-bar-{tmp_path.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.StreamHandler(stream)  # log lines and the bar on one terminal, as in `runnerkit run`
    logger.addHandler(handler)
    try:
        runner = runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=6, logger=logger)
        train(runner, ProgressBarHook(file=stream))  # the default refresh_s throttles the bar's own redraws
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    between = text.split("Iter [4/6]", 1)[1].split("Iter [6/6]", 1)[0]
    logged = re.search(r"loss: (\d+\.\d{4})", between.split("\n", 1)[0])  # the log line's loss (iterations 3 and 4)
    earlier = re.search(r"loss: (\d+\.\d{4})", text.split("Iter [2/6]", 1)[1].split("\n", 1)[0])
    assert logged and earlier and logged.group(1) != earlier.group(1)
    shown = [f for f in frames(between) if "/6 [" in f][-1]  # what the terminal shows until the next log line
    assert "4/6" in shown and f"loss={logged.group(1)}" in shown  # not 3/6, not iterations 1 and 2's loss


def test_each_epochs_bar_starts_without_the_previous_epochs_loss(tmp_path: Path) -> None:
    stream = Terminal()
    train(runnerkit.EpochBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_epochs=2),
          ProgressBarHook(file=stream, refresh_s=0), 3)  # drawn at every iteration
    epoch_2 = [f for f in frames(stream.getvalue()) if f.startswith("Epoch 2/2")]
    before_its_log = [f for f in epoch_2 if "3/3" not in f]
    assert len(before_its_log) >= 2 and not [f for f in before_its_log if "loss=" in f]  # not epoch 1's 2.0
    assert "loss=2.0000" in epoch_2[-1]


def test_a_terminal_that_reports_0x0_gets_an_80_column_bar(tmp_path: Path) -> None:
    import os
    import pty
    import select

    master, slave = pty.openpty()  # a bare pseudo-terminal reports 0 rows and 0 columns
    assert os.get_terminal_size(slave).columns == 0
    term = os.fdopen(slave, "w", closefd=True)
    try:
        train(runnerkit.IterBasedRunner(model=ScaleNet(), work_dir=tmp_path, max_iters=6), ProgressBarHook(file=term))
        term.flush()
        chunks = []
        while select.select([master], [], [], 0.5)[0]:  # everything written so far, however the pty splits it
            chunks.append(os.read(master, 65536))
        out = b"".join(chunks).decode()
    finally:
        term.close()
        os.close(master)
    final = frames(out)[-1]
    assert "6/6" in final and "loss=2.5000" in final and len(final.rstrip()) <= 80
