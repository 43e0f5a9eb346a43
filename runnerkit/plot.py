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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runnerkit._errors import RunnerkitError

#: Logged keys that are bookkeeping, not curves.
SKIPPED_KEYS = frozenset({"mode", "epoch", "iter", "lr", "time", "data_time", "memory", "eta", "eval_iter_num"})
LOG_SUFFIX = ".log.json"

Series = dict[str, dict[str, tuple[list[float], list[float]]]]


class LogError(RunnerkitError):
    """A log cannot be found or read."""


class MissingPlotDependency(RunnerkitError, ImportError):
    """matplotlib is not installed."""


def find_log(path: str | Path) -> Path:
    """``path`` itself when it is a file, else the newest ``*.log.json`` in the folder ``path``.

    Raises:
        LogError: the path does not exist or the folder holds no JSON log.
    """
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise LogError(f"`{path}` does not exist; give a work dir (e.g. `work_dirs/demo`) or a `*{LOG_SUFFIX}` file.")
    logs = sorted(path.glob(f"*{LOG_SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name))
    if not logs:
        raise LogError(
            f"`{path}` holds no `*{LOG_SUFFIX}` log; train with `log_config=dict(hooks=[dict(type=\"TextLoggerHook\")])` "
            f"or give the log file itself."
        )
    return logs[-1]


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON log (lines without ``mode``, such as the run's metadata, are skipped).

    Raises:
        LogError: a line is not JSON, or no line is a train/val record.
    """
    path = Path(path)
    records: list[dict[str, Any]] = []
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
    if not records:
        raise LogError(f"`{path}` has no train or val records (JSON lines with `mode`); nothing to plot.")
    return records


def _positions(records: list[dict[str, Any]]) -> list[float]:
    """An x position (global iteration) per record.

    Iteration-based logs count ``iter`` over the whole run; epoch-based ones restart it each
    epoch, so earlier epochs' lengths (the largest train ``iter`` seen in each) are added.
    """
    epoch_len: dict[int, int] = {}
    for rec in records:
        if rec["mode"] == "train":
            epoch = int(rec.get("epoch", 1))
            epoch_len[epoch] = max(epoch_len.get(epoch, 0), int(rec.get("iter", 0)))
    iters = [int(r.get("iter", 0)) for r in records if r["mode"] == "train"]
    restarts = any(b < a for a, b in itertools.pairwise(iters))
    offsets: dict[int, int] = {}
    total = 0
    for epoch in sorted(epoch_len):
        offsets[epoch] = total
        total += epoch_len[epoch]
    xs: list[float] = []
    for rec in records:
        epoch = int(rec.get("epoch", 1))
        it = int(rec.get("iter", 0))
        if not restarts:
            xs.append(float(it))
        elif rec["mode"] == "train":
            xs.append(float(offsets.get(epoch, 0) + it))
        else:  # a val record belongs at the end of its epoch's training
            xs.append(float(offsets.get(epoch, 0) + epoch_len.get(epoch, it)))
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


def plot_log(path: str | Path, out: str | Path | None = None) -> Path:
    """Draw the loss/metric curves and the lr curve of a log into a PNG and return its path.

    Args:
        path: a work dir (its newest ``*.log.json`` is used) or a log file.
        out: the PNG to write (default: the log's name with ``.png`` instead of ``.log.json``).

    Raises:
        LogError: no usable log at ``path``.
        MissingPlotDependency: matplotlib is not installed (the message names the extra).
    """
    log = find_log(path)
    records = read_log(log)
    plt = _pyplot()
    values, lrs = curves(records)
    losses = {k: v for k, v in values.items() if "loss" in k}
    metrics = {k: v for k, v in values.items() if "loss" not in k}
    panels = [("loss", losses), ("metrics", metrics), ("learning rate", lrs)]
    panels = [p for p in panels if p[1]]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3 * len(panels)), sharex=True, squeeze=False)
    for ax, (title, series) in zip(axes[:, 0], panels):
        for name, by_mode in sorted(series.items()):
            for mode, (xs, ys) in sorted(by_mode.items()):
                style = "-" if mode == "train" else "o--"
                ax.plot(xs, ys, style, label=f"{mode} {name}", markersize=3)
        ax.set_ylabel(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    axes[-1, 0].set_xlabel("iteration")
    fig.suptitle(log.name)
    fig.tight_layout()
    target = Path(out) if out is not None else log.with_name(log.name[: -len(LOG_SUFFIX)] + ".png" if log.name.endswith(LOG_SUFFIX) else log.name + ".png")
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target
