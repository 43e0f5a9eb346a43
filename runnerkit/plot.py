"""Loss, metric and learning-rate curves from a ``<timestamp>.log.json`` (``runnerkit plot``).

The text logger hook writes one JSON object per line: ``mode`` (``train``/``val``), ``epoch``,
``iter``, ``lr`` and the logged values (losses, metrics, ``time``...). Reading the log needs
nothing but the standard library; drawing needs matplotlib (``pip install "runnerkit[plot]"``).

Example:
    >>> from runnerkit.plot import plot_log
    >>> plot_log("work_dirs/demo", "curves.png")                            # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from runnerkit._errors import RunnerkitError

__all__ = [
    "curves", "find_log", "LOG_SUFFIX", "LogError", "MissingPlotDependency", "plot_log", "read_log", "RunRecords",
    "Series", "SKIPPED_KEYS",
]


#: Logged keys that are bookkeeping, not curves.
SKIPPED_KEYS = frozenset({"mode", "epoch", "iter", "lr", "time", "data_time", "memory", "eta", "eval_iter_num"})
LOG_SUFFIX = ".log.json"

Series = dict[str, dict[str, tuple[list[float], list[float]]]]


class RunRecords(list[dict[str, Any]]):
    """A run's train/val records (:func:`read_run`), with the iterations per epoch its logs recorded.

    ``epoch_length`` is None for an iteration-based log, or an epoch-based log that does not say
    (then it is inferred from the records).
    """

    epoch_length: int | None = None


class LogError(RunnerkitError):
    """A log cannot be found or read."""


class MissingPlotDependency(RunnerkitError, ImportError):
    """matplotlib is not installed."""


def find_logs(path: str | Path) -> list[Path]:
    """``[path]`` when it is a file, else every ``*.log.json`` in the folder ``path``, oldest first.

    A resumed run writes one log per start into its work dir; :func:`read_run` stitches them.

    Raises:
        LogError: the path does not exist or the folder holds no JSON log.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LogError(f"`{path}` does not exist; give a work dir (e.g. `work_dirs/demo`) or a `*{LOG_SUFFIX}` file.")
    logs = sorted(path.glob(f"*{LOG_SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name))
    if not logs:
        raise LogError(
            f"`{path}` holds no `*{LOG_SUFFIX}` log; train with `log_config=dict(hooks=[dict(type=\"TextLoggerHook\")])` "
            f"or give the log file itself."
        )
    return logs


def find_log(path: str | Path) -> Path:
    """``path`` itself when it is a file, else the newest ``*.log.json`` in the folder ``path``."""
    return find_logs(path)[-1]


def read_log(path: str | Path) -> RunRecords:
    """The records of a JSON log (lines without ``mode``, such as the run's metadata, are skipped).

    The metadata's ``epoch_length`` (an epoch-based log's iterations per epoch) becomes the result's.

    Raises:
        LogError: a line is not JSON, or no line is a train/val record.
    """
    path = Path(path)
    records = RunRecords()
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise LogError(f"{path}:{number}: not a JSON line ({err.msg}); is this a runnerkit or mmcv `{LOG_SUFFIX}` log?") from err
            if isinstance(obj, dict) and obj.get("mode") in {"train", "val"}:
                records.append(obj)
            elif isinstance(obj, dict) and isinstance(obj.get("epoch_length"), int) and obj["epoch_length"] > 0:
                records.epoch_length = obj["epoch_length"]
    if not records:
        raise LogError(f"`{path}` has no train or val records (JSON lines with `mode`); nothing to plot.")
    return records


def read_run(path: str | Path) -> RunRecords:
    """The records of a whole run: every log of a work dir (or the one log file ``path``), stitched.

    Each start of a resumed run writes its own log. They are read oldest first; where a later
    log begins at or before a point an earlier one already reached (the earlier start was stopped
    after its last checkpoint), the later log's records replace the earlier ones from there on.
    Logs without records are skipped.

    Raises:
        LogError: no log, or no log with train or val records.
    """
    logs = find_logs(path)
    runs: list[RunRecords] = []
    for log in logs:
        try:
            runs.append(read_log(log))
        except LogError as err:  # a start that trained nothing; only a lone log must have records
            if len(logs) == 1 or "has no train or val records" not in str(err):
                raise
    if not runs:
        raise LogError(f"No log in `{path}` has train or val records (JSON lines with `mode`); nothing to plot.")
    epoch_length = _epoch_length(runs)
    stitched: list[tuple[float, dict[str, Any]]] = []
    for records in runs:
        placed = list(zip(_positions(records, epoch_length), records))
        start = min(x for x, _ in placed)
        stitched = [(x, rec) for x, rec in stitched if x < start] + placed
    result = RunRecords(rec for _, rec in stitched)
    result.epoch_length = epoch_length
    return result


def _restarts(records: list[dict[str, Any]]) -> bool:
    """Whether ``iter`` restarts each epoch (an epoch-based log) rather than counting the whole run.

    In an iteration-based log every epoch's train records come after the previous epoch's, with
    larger ``iter`` values; in an epoch-based one an epoch's first ``iter`` is not larger than the
    previous epoch's last (with one record per epoch they are equal).
    """
    last: dict[int, int] = {}
    first: dict[int, int] = {}
    for rec in records:
        if rec["mode"] == "train":
            epoch, it = int(rec.get("epoch", 1)), int(rec.get("iter", 0))
            first.setdefault(epoch, it)
            last[epoch] = it
    epochs = sorted(first)
    return any(first[b] <= last[a] for a, b in itertools.pairwise(epochs))


def _epoch_length(runs: Sequence[list[dict[str, Any]]]) -> int | None:
    """The iterations per epoch of an epoch-based run, None for an iteration-based one.

    The length its log recorded (:class:`RunRecords`), else the largest train ``iter`` (which falls
    short when the epoch's length is not a multiple of the log interval).
    """
    recorded = [r.epoch_length for r in runs if isinstance(r, RunRecords) and r.epoch_length]
    if recorded:
        return recorded[-1]
    if not any(_restarts(records) for records in runs):
        return None
    return max((int(r.get("iter", 0)) for records in runs for r in records if r["mode"] == "train"), default=1) or 1


def _positions(records: list[dict[str, Any]], epoch_length: int | None = None) -> list[float]:
    """An x position (the run's iteration) per record.

    Iteration-based logs count ``iter`` over the whole run; a val record sits at the training
    iteration of the train record before it (its own ``iter`` is, as in mmcv, the number of
    batches evaluated). Epoch-based ones restart it each epoch: a train record of epoch ``e``
    sits at ``(e - 1) * epoch_length + iter``, and a val record at the end of its epoch,
    ``e * epoch_length``.
    """
    if epoch_length is None:
        epoch_length = _epoch_length([records])
    xs: list[float] = []
    last_train: float | None = None
    for rec in records:
        epoch = int(rec.get("epoch", 1))
        it = int(rec.get("iter", 0))
        if epoch_length is None:
            if rec["mode"] == "train":
                last_train = float(it)
            xs.append(float(it) if rec["mode"] == "train" or last_train is None else last_train)
        elif rec["mode"] == "train":
            xs.append(float((epoch - 1) * epoch_length + it))
        else:
            xs.append(float(epoch * epoch_length))
    return xs


def _numbers(value: Any, key: str) -> Iterable[tuple[str, float]]:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield key, float(value)
    elif isinstance(value, dict):  # lr of several optimizers: {"generator": 0.01, ...}
        for sub, inner in value.items():
            yield from _numbers(inner, f"{key}.{sub}")
    elif isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        yield key, float(value[0])


def curves(records: list[dict[str, Any]]) -> tuple[Series, Series]:
    """``(values, lrs)``: name -> mode -> (xs, ys), for every logged number and for the (train) lr."""
    values: Series = {}
    lrs: Series = {}
    for x, rec in zip(_positions(records), records):
        mode = rec["mode"]
        for key, raw in rec.items():
            if key == "lr" and mode != "train":
                continue  # the lr is a training quantity; val lines only repeat it
            if key in SKIPPED_KEYS and key != "lr":
                continue
            target = lrs if key == "lr" else values
            for name, y in _numbers(raw, key):
                xs, ys = target.setdefault(name, {}).setdefault(mode, ([], []))
                xs.append(x)
                ys.append(y)
    return values, lrs


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise MissingPlotDependency(
            'Plotting needs matplotlib, which is not installed; run `pip install "runnerkit[plot]"`.'
        ) from err
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt


def figure(records: list[dict[str, Any]], title: str = "") -> Any:
    """A matplotlib figure of ``records``: loss, metric and learning-rate panels over the run's iterations.

    Raises:
        MissingPlotDependency: matplotlib is not installed (the message names the extra).
    """
    plt = _pyplot()
    values, lrs = curves(records)
    losses = {k: v for k, v in values.items() if "loss" in k}
    metrics = {k: v for k, v in values.items() if "loss" not in k}
    panels = [("loss", losses), ("metrics", metrics), ("learning rate", lrs)]
    panels = [p for p in panels if p[1]]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3 * len(panels)), sharex=True, squeeze=False)
    for ax, (name_of_panel, series) in zip(axes[:, 0], panels):
        for name, by_mode in sorted(series.items()):
            for mode, (xs, ys) in sorted(by_mode.items()):
                style = "-" if mode == "train" else "o--"
                ax.plot(xs, ys, style, label=f"{mode} {name}", markersize=3)
        ax.set_ylabel(name_of_panel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    axes[-1, 0].set_xlabel("iteration")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_log(path: str | Path, out: str | Path | None = None) -> Path:
    """Draw the loss/metric curves and the lr curve of a run into a PNG and return its path.

    Args:
        path: a work dir (all its ``*.log.json`` logs, stitched: a resumed run is drawn whole)
            or one log file.
        out: the PNG to write (default: next to the newest log, its name with ``.png`` instead
            of ``.log.json``).

    Raises:
        LogError: no usable log at ``path``.
        MissingPlotDependency: matplotlib is not installed (the message names the extra).
    """
    logs = find_logs(path)
    records = read_run(path)
    log = logs[-1]
    title = log.name if len(logs) == 1 else f"{Path(path).name}: {len(logs)} logs, {logs[0].name} to {log.name}"
    fig = figure(records, title)
    plt = _pyplot()
    target = Path(out) if out is not None else log.with_name(log.name[: -len(LOG_SUFFIX)] + ".png" if log.name.endswith(LOG_SUFFIX) else log.name + ".png")
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target
