"""Curves from ``<timestamp>.log.json`` logs, and the PNG ``runnerkit plot`` writes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from runnerkit.plot import LogError, MissingPlotDependency, curves, find_log, plot_log, read_log

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_log(path: Path, records: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> Path:
    lines = [json.dumps(meta)] if meta is not None else []
    lines += [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


ITER_LOG = [
    {"mode": "train", "epoch": 1, "iter": 10, "lr": 0.1, "time": 0.01, "data_time": 0.001, "loss": 1.0, "acc": 0.5},
    {"mode": "train", "epoch": 1, "iter": 20, "lr": 0.1, "time": 0.01, "data_time": 0.001, "loss": 0.5, "acc": 0.7},
    {"mode": "val", "epoch": 1, "iter": 20, "lr": 0.1, "eval_iter_num": 4, "loss": 0.6, "acc": 0.65},
    {"mode": "train", "epoch": 2, "iter": 30, "lr": 0.01, "time": 0.01, "data_time": 0.001, "loss": 0.25, "acc": 0.9},
]


def test_a_work_dir_gives_its_newest_json_log(tmp_path: Path) -> None:
    old = write_log(tmp_path / "20240101_000000.log.json", ITER_LOG)
    new = write_log(tmp_path / "20240102_000000.log.json", ITER_LOG)
    os.utime(old, (1_000, 1_000))
    os.utime(new, (2_000, 2_000))
    (tmp_path / "20240103_000000.log").write_text("text log, not JSON\n")
    assert find_log(tmp_path) == new
    assert find_log(old) == old


def test_a_missing_path_or_a_folder_without_logs_is_explained(tmp_path: Path) -> None:
    with pytest.raises(LogError, match=r"`.*nope` does not exist; give a work dir \(e.g. `work_dirs/demo`\) or a `\*.log.json` file"):
        find_log(tmp_path / "nope")
    with pytest.raises(LogError, match=r"holds no `\*.log.json` log; train with `log_config=dict\(hooks=\[dict\(type=\"TextLoggerHook\"\)\]\)`"):
        find_log(tmp_path)


def test_reading_skips_the_metadata_line_and_blank_lines(tmp_path: Path) -> None:
    path = write_log(tmp_path / "a.log.json", ITER_LOG, meta={"exp_name": "demo", "seed": 0})
    path.write_text(path.read_text() + "\n\n")
    assert read_log(path) == ITER_LOG


def test_a_line_that_is_not_json_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "a.log.json"
    path.write_text(json.dumps(ITER_LOG[0]) + "\nIter [20/20] loss: 0.5\n")
    with pytest.raises(LogError, match=r"a.log.json:2: not a JSON line \(Expecting value\); is this a runnerkit or mmcv"):
        read_log(path)


def test_a_log_without_train_or_val_records_has_nothing_to_plot(tmp_path: Path) -> None:
    path = write_log(tmp_path / "a.log.json", [], meta={"exp_name": "demo"})
    with pytest.raises(LogError, match=r"has no train or val records \(JSON lines with `mode`\); nothing to plot"):
        read_log(path)


def test_curves_of_an_iteration_based_log_follow_iter_and_keep_train_and_val_apart() -> None:
    values, lrs = curves(ITER_LOG)
    assert values["loss"] == {"train": ([10.0, 20.0, 30.0], [1.0, 0.5, 0.25]), "val": ([20.0], [0.6])}
    assert values["acc"]["val"] == ([20.0], [0.65])
    assert set(values) == {"loss", "acc"}  # time, data_time and eval_iter_num are bookkeeping
    assert lrs == {"lr": {"train": ([10.0, 20.0, 30.0], [0.1, 0.1, 0.01])}}


def test_a_val_record_of_an_iteration_based_log_sits_at_the_training_iteration_it_followed() -> None:
    records = [  # as mmcv (and TextLoggerHook) write them: a val record's `iter` is the number of batches evaluated
        {"mode": "train", "epoch": 1, "iter": 100, "lr": 0.1, "loss": 1.0},
        {"mode": "val", "epoch": 1, "iter": 8, "lr": 0.1, "loss": 0.9, "acc": 0.5},
        {"mode": "train", "epoch": 1, "iter": 200, "lr": 0.1, "loss": 0.8},
        {"mode": "val", "epoch": 1, "iter": 8, "lr": 0.1, "loss": 0.7, "acc": 0.6},
    ]
    values, _ = curves(records)
    assert values["acc"]["val"] == ([100.0, 200.0], [0.5, 0.6])
    assert values["loss"]["train"][0] == [100.0, 200.0]


def test_curves_of_an_epoch_based_log_add_the_earlier_epochs_lengths() -> None:
    records = [
        {"mode": "train", "epoch": 1, "iter": 5, "lr": 0.1, "loss": 1.0},
        {"mode": "train", "epoch": 1, "iter": 10, "lr": 0.1, "loss": 0.8},
        {"mode": "val", "epoch": 1, "iter": 4, "lr": 0.1, "loss": 0.9},
        {"mode": "train", "epoch": 2, "iter": 5, "lr": 0.1, "loss": 0.6},
        {"mode": "train", "epoch": 2, "iter": 10, "lr": 0.1, "loss": 0.5},
    ]
    values, _ = curves(records)
    assert values["loss"]["train"][0] == [5.0, 10.0, 15.0, 20.0]
    assert values["loss"]["val"][0] == [10.0]  # at the end of its epoch


def test_the_lrs_of_several_optimizers_are_separate_curves() -> None:
    records = [{"mode": "train", "epoch": 1, "iter": 1, "lr": {"generator": 0.1, "discriminator": 0.2}, "loss": 1.0}]
    _, lrs = curves(records)
    assert lrs == {"lr.generator": {"train": ([1.0], [0.1])}, "lr.discriminator": {"train": ([1.0], [0.2])}}


@pytest.mark.slow
def test_plotting_writes_a_png_next_to_the_log_or_where_asked(tmp_path: Path) -> None:
    write_log(tmp_path / "20240101_000000.log.json", ITER_LOG, meta={"exp_name": "x"})
    default = plot_log(tmp_path)
    assert default == tmp_path / "20240101_000000.png"
    assert default.read_bytes().startswith(PNG_MAGIC)
    chosen = plot_log(tmp_path / "20240101_000000.log.json", tmp_path / "out" / "curves.png")
    assert chosen == tmp_path / "out" / "curves.png"
    assert chosen.read_bytes().startswith(PNG_MAGIC)


def test_plotting_without_matplotlib_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_log(tmp_path / "a.log.json", ITER_LOG)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingPlotDependency, match=r'Plotting needs matplotlib, which is not installed; run `pip install "runnerkit\[plot\]"`'):
        plot_log(tmp_path)
    assert not list(tmp_path.glob("*.png"))


def drawn(records: list[dict[str, Any]]) -> dict[str, tuple[list[float], list[float]]]:
    """label -> (xs, ys) of every line matplotlib would draw."""
    import matplotlib.pyplot as plt

    from runnerkit.plot import figure

    fig = figure(records)
    lines = {line.get_label(): ([float(x) for x in line.get_xdata()], [float(y) for y in line.get_ydata()])
             for ax in fig.axes for line in ax.get_lines()}
    plt.close(fig)
    return lines


def test_an_epoch_based_log_with_one_record_per_epoch_moves_forward_not_up() -> None:
    records = [
        {"mode": "train", "epoch": 1, "iter": 10, "lr": 0.1, "loss": 1.0},
        {"mode": "val", "epoch": 1, "iter": 10, "lr": 0.1, "loss": 0.9},
        {"mode": "train", "epoch": 2, "iter": 10, "lr": 0.1, "loss": 0.6},
        {"mode": "val", "epoch": 2, "iter": 10, "lr": 0.1, "loss": 0.7},
        {"mode": "train", "epoch": 3, "iter": 10, "lr": 0.1, "loss": 0.5},
    ]
    lines = drawn(records)
    assert lines["train loss"] == ([10.0, 20.0, 30.0], [1.0, 0.6, 0.5])
    assert lines["val loss"] == ([10.0, 20.0], [0.9, 0.7])


def run_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, runner: dict[str, Any], work: Path, *extra: str) -> None:
    from tests.cli_helpers import main

    cfg = {
        "seed": 0, "num_threads": 1, "model": {"type": "DemoModel", "hidden": 8},
        "data": {"samples_per_gpu": 32, "train": {"type": "DemoDataset", "num_samples": 128}},
        "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {},
        "checkpoint_config": {"interval": 1 if runner["type"] == "EpochBasedRunner" else 4},
        "log_config": {"interval": 4 if runner["type"] == "EpochBasedRunner" else 2, "hooks": [{"type": "TextLoggerHook"}]},
        "runner": runner,
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(cfg))
    code, _, err = main(capsys, "run", str(path), "--work-dir", str(work), *extra)
    assert code == 0, err


def test_a_real_epoch_based_run_is_drawn_over_its_iterations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 4 iterations per epoch, logged once per epoch: the case that drew a vertical line
    run_cli(capsys, tmp_path, {"type": "EpochBasedRunner", "max_epochs": 3}, tmp_path / "w")
    from runnerkit.plot import read_run

    xs, ys = drawn(read_run(tmp_path / "w"))["train loss"]
    assert xs == [4.0, 8.0, 12.0]
    assert len(set(ys)) == 3


def test_an_epoch_whose_length_is_not_a_multiple_of_the_log_interval_is_placed_with_its_real_length(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli_helpers import main

    # 128 samples in batches of 4: 32 iterations per epoch, logged every 5 (the last record of an epoch is at 30)
    cfg = {"seed": 0, "num_threads": 1, "model": {"type": "DemoModel", "hidden": 8},
           "data": {"samples_per_gpu": 4, "train": {"type": "DemoDataset", "num_samples": 128}},
           "optimizer": {"type": "SGD", "lr": 0.05}, "optimizer_config": {}, "checkpoint_config": {"interval": 7},
           "log_config": {"interval": 5, "hooks": [{"type": "TextLoggerHook"}]},
           "runner": {"type": "EpochBasedRunner", "max_epochs": 7}}
    (tmp_path / "job.json").write_text(json.dumps(cfg))
    code, _, err = main(capsys, "run", str(tmp_path / "job.json"), "--work-dir", str(tmp_path / "w"))
    assert code == 0, err
    from runnerkit.plot import read_run

    (log,) = (tmp_path / "w").glob("*.log.json")
    assert json.loads(log.read_text().splitlines()[0])["epoch_length"] == 32  # the log says how long an epoch is
    run = read_run(tmp_path / "w")
    assert run.epoch_length == 32
    xs, _ = drawn(run)["train loss"]
    assert xs[:7] == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 37.0]  # epoch 2's first record: 32 + 5, not 30 + 5
    assert xs[-1] == 6 * 32 + 30  # the run's last record, in its 224-iteration run


def test_a_resumed_run_is_drawn_whole_from_all_its_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from runnerkit.plot import read_run

    work = tmp_path / "w"
    run_cli(capsys, tmp_path, {"type": "IterBasedRunner", "max_iters": 8}, work)
    time.sleep(1.1)  # the next start gets a log of its own (logs are named by the second they start)
    run_cli(capsys, tmp_path, {"type": "IterBasedRunner", "max_iters": 12}, work, "--resume", str(work / "iter_4.pth"))
    assert len(list(work.glob("*.log.json"))) == 2
    xs, _ = drawn(read_run(work))["train loss"]
    assert xs == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]  # 6 and 8 once: from the resumed start, which replaced them


def test_stitching_lets_a_later_log_replace_what_it_repeats_and_skips_empty_logs(tmp_path: Path) -> None:
    from runnerkit.plot import read_run

    first = write_log(tmp_path / "20240101_000000.log.json", [
        {"mode": "train", "epoch": 1, "iter": 5, "loss": 1.0},
        {"mode": "train", "epoch": 1, "iter": 10, "loss": 0.9},
        {"mode": "train", "epoch": 2, "iter": 15, "loss": 0.8},  # after the last checkpoint (10): redone
    ], meta={"exp_name": "x"})
    empty = write_log(tmp_path / "20240102_000000.log.json", [], meta={"exp_name": "x"})
    second = write_log(tmp_path / "20240103_000000.log.json", [
        {"mode": "train", "epoch": 2, "iter": 15, "loss": 0.7},
        {"mode": "train", "epoch": 2, "iter": 20, "loss": 0.6},
    ], meta={"exp_name": "x"})
    for i, path in enumerate((first, empty, second)):
        os.utime(path, (1_000 + i, 1_000 + i))
    assert [(r["iter"], r["loss"]) for r in read_run(tmp_path)] == [(5, 1.0), (10, 0.9), (15, 0.7), (20, 0.6)]
    assert [(r["iter"], r["loss"]) for r in read_run(first)] == [(5, 1.0), (10, 0.9), (15, 0.8)]
    with pytest.raises(LogError, match="has no train or val records"):
        read_run(empty)
