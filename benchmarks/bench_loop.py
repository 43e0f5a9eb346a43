"""Per-iteration overhead of ``IterBasedRunner`` against a hand-written PyTorch loop.

Both loops do the same work: fetch a batch (wrapping around), set the step-schedule lr,
``train_step``, ``zero_grad``/``backward``/``step``, time the iteration, and every 50
iterations average the losses, read them back and write a console line and a JSON line.
Runs are interleaved (raw, runner, raw, runner, ...); the table shows medians and their ratio,
and checks that both loops end with equal weights.

    python benchmarks/bench_loop.py [--device cpu|cuda] [--repeats 7] [--out results/loop-cpu.md]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch

import runnerkit

LOG_INTERVAL = 50
logger = logging.getLogger("bench")
logger.addHandler(logging.NullHandler())
logger.setLevel(logging.INFO)
logger.propagate = False


class MLP(torch.nn.Module):
    def __init__(self, d_in: int, hidden: int, depth: int) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        d = d_in
        for _ in range(depth):
            layers += [torch.nn.Linear(d, hidden), torch.nn.ReLU()]
            d = hidden
        layers.append(torch.nn.Linear(d, 1))
        self.net = torch.nn.Sequential(*layers)

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x, y = batch
        loss = (self.net(x).squeeze(-1) - y).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}


SCALES: dict[str, dict[str, int]] = {
    # overhead-bound: a few microseconds of math per step
    "tiny-mlp": {"d_in": 16, "hidden": 32, "depth": 2, "batch": 16, "iters": 3000},
    # compute-bound: milliseconds of math per step
    "compute-mlp": {"d_in": 512, "hidden": 1024, "depth": 3, "batch": 256, "iters": 30},
}


def make(scale: dict[str, int], device: str) -> tuple[MLP, list[tuple[torch.Tensor, torch.Tensor]]]:
    torch.manual_seed(0)
    model = MLP(scale["d_in"], scale["hidden"], scale["depth"]).to(device)
    g = torch.Generator().manual_seed(1)
    batches = [
        (torch.randn(scale["batch"], scale["d_in"], generator=g).to(device), torch.randn(scale["batch"], generator=g).to(device))
        for _ in range(16)
    ]
    return model, batches


def step_lr(base: float, it: int, max_iters: int) -> float:
    return base * (0.1 ** sum(it >= s for s in (max_iters // 2,)))


def raw_loop(model: MLP, batches: list[Any], iters: int, work_dir: str) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    json_path = os.path.join(work_dir, "raw.log.json")
    losses: list[torch.Tensor] = []
    it = iter(batches)
    t_start = time.perf_counter()
    t = t_start
    for i in range(iters):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(batches)
            batch = next(it)
        data_time = time.perf_counter() - t
        for group in opt.param_groups:
            group["lr"] = step_lr(0.01, i, iters)
        out = model.train_step(batch, opt)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["log_vars"]["loss"])
        iter_time = time.perf_counter() - t
        t = time.perf_counter()
        if (i + 1) % LOG_INTERVAL == 0:
            loss = torch.stack(losses[-LOG_INTERVAL:]).mean().item()
            record = {"mode": "train", "epoch": 1, "iter": i + 1, "lr": opt.param_groups[0]["lr"], "loss": loss,
                      "time": iter_time, "data_time": data_time}
            logger.info("Iter [%d/%d]\tlr: %.3e, time: %.3f, data_time: %.3f, loss: %.4f", i + 1, iters,
                        record["lr"], iter_time, data_time, loss)
            with open(json_path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
    if batches[0][0].is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t_start


def runner_loop(model: MLP, batches: list[Any], iters: int, work_dir: str) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": iters},
                             {"model": model, "optimizer": opt, "work_dir": work_dir, "logger": logger})
    runner.register_training_hooks(
        lr_config={"policy": "step", "step": [iters // 2]},
        optimizer_config={},
        checkpoint_config={"interval": iters * 10, "save_last": False},
        log_config={"interval": LOG_INTERVAL, "hooks": [{"type": "TextLoggerHook"}]},
    )
    t_start = time.perf_counter()
    runner.run([batches], [("train", 1)])
    if batches[0][0].is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t_start


def bench(name: str, scale: dict[str, int], device: str, repeats: int) -> dict[str, Any]:
    iters = scale["iters"]
    results: dict[str, list[float]] = {"raw": [], "runnerkit": []}
    finals: dict[str, MLP] = {}
    fns: dict[str, Callable[..., float]] = {"raw": raw_loop, "runnerkit": runner_loop}
    for rep in range(repeats + 1):  # the first round warms up
        for label, fn in fns.items():
            model, batches = make(scale, device)
            with tempfile.TemporaryDirectory() as wd:
                seconds = fn(model, batches, iters, wd)
            if rep:
                results[label].append(seconds / iters)
            finals[label] = model
    equal = all(torch.equal(a, b) for a, b in zip(finals["raw"].parameters(), finals["runnerkit"].parameters()))
    raw = statistics.median(results["raw"])
    rk = statistics.median(results["runnerkit"])
    # each runnerkit run against the raw run just before it: robust to slow drifts of the machine
    paired = statistics.median(k / r for r, k in zip(results["raw"], results["runnerkit"]))
    best = min(results["runnerkit"]) / min(results["raw"])
    return {"scale": name, "iters": iters, "raw_us": raw * 1e6, "runnerkit_us": rk * 1e6, "ratio": rk / raw,
            "paired": paired, "best": best, "equal": equal}


def machine(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if device == "cuda" else ""
    return (f"{cpu} ({os.cpu_count()} CPUs){gpu}; Python {platform.python_version()}, torch {torch.__version__}, "
            f"torch threads {torch.get_num_threads()}; {platform.platform()}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--scales", nargs="*", default=list(SCALES))
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument("--out", help="write the markdown table here too")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here", file=sys.stderr)
        return 1
    rows = [bench(name, SCALES[name], args.device, args.repeats) for name in args.scales]
    lines = [
        f"Machine: {machine(args.device)}",
        f"Device: {args.device}; {args.repeats} interleaved repeats, medians per iteration.",
        "",
        "| model | iters/run | raw loop (µs/iter, median) | runnerkit (µs/iter, median) | ratio of medians | median of paired ratios | ratio of minima | weights equal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['scale']} | {r['iters']} | {r['raw_us']:.1f} | {r['runnerkit_us']:.1f} | {r['ratio']:.3f} | {r['paired']:.3f} "
        f"| {r['best']:.3f} | {r['equal']} |"
        for r in rows
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
