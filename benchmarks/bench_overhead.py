"""The runner's own per-iteration cost, hook by hook, on a model whose step costs almost nothing.

A raw loop and ``IterBasedRunner`` drive the same near-free ``train_step`` (a tiny tensor op), so
the difference is what the loop and each standard hook add per iteration, in microseconds.
Run on demand: ``python benchmarks/bench_overhead.py [--iters 5000] [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from typing import Any

import torch

import runnerkit

logger = logging.getLogger("bench-overhead")
logger.addHandler(logging.NullHandler())
logger.propagate = False
logger.setLevel(logging.INFO)


class Null(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.p * 1.0
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": 1}


CONFIGS: dict[str, dict[str, Any]] = {
    "loop only": {},
    "loop + step lr": {"lr_config": {"policy": "step", "step": [10**9]}},
    "loop + iter timer": {"timer_config": {"type": "IterTimerHook"}},
    "loop + text logger (every 50)": {"log_config": {"interval": 50, "hooks": [{"type": "TextLoggerHook"}]}},
    "loop + checkpoint (interval > run)": {"checkpoint_config": {"interval": 10**9, "save_last": False}},
}


def raw(iters: int) -> float:
    model = Null()
    batches = [0] * 16
    t = time.perf_counter()
    it = iter(batches)
    for _ in range(iters):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(batches)
            batch = next(it)
        model.train_step(batch, None)
    return (time.perf_counter() - t) / iters * 1e6


def runner(iters: int, hooks: dict[str, Any]) -> float:
    with tempfile.TemporaryDirectory() as wd:
        model = Null()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)  # for the lr hook; no hook steps it
        r = runnerkit.build({"type": "IterBasedRunner", "max_iters": iters},
                            {"model": model, "optimizer": opt, "work_dir": wd, "logger": logger})
        r.register_training_hooks(hooks.get("lr_config"), None, hooks.get("checkpoint_config"), hooks.get("log_config"),
                                  timer_config=hooks.get("timer_config"))
        t = time.perf_counter()
        r.run([[0] * 16], [("train", 1)])
        return (time.perf_counter() - t) / iters * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iters", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(1)
    raw(500), runner(500, {})  # warm up
    print("| loop | raw loop (µs/iter) | runnerkit (µs/iter) | added by runnerkit (median of paired differences) |")
    print("|---|---:|---:|---:|")
    for name, hooks in CONFIGS.items():
        pairs = [(raw(args.iters), runner(args.iters, hooks)) for _ in range(args.repeats)]
        r = statistics.median(p[0] for p in pairs)
        k = statistics.median(p[1] for p in pairs)
        added = statistics.median(b - a for a, b in pairs)
        print(f"| {name} | {r:.1f} | {k:.1f} | {added:+.1f} |")

if __name__ == "__main__":
    main()
