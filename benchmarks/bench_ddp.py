"""runnerkit's DDP loop beside a hand-written DDP loop, on 2 ranks (gloo, CPU), in one torchrun job.

Both loops do the workload of ``bench_loop.py`` (:mod:`workload`) data-parallel: each rank its own
batches, ``DistributedDataParallel`` averaging the gradients, the lr step at half the run, the loss
averaged over the ranks and logged every 50 iterations (one all-reduce there). The hand-written loop
is what a careful engineer writes with torch alone; runnerkit's is ``IterBasedRunner`` with the
standard hooks and ``runnerkit.launch`` (``wrap_model``, ``prepare_runner``).

How it measures: one ``torchrun --standalone --nproc_per_node 2`` job, so both loops see the same
processes, threads and process group. In each round every rank runs both loops, one after the other
(the order alternating between rounds), behind a barrier; the clock is the data's (the window from
batch 100 to the last batch, see :mod:`workload`). The ratio is the median over the rounds of the
same round's ``runnerkit / raw``, on rank 0's wall clock (a DDP step waits for the other rank, so
wall time is what an iteration costs). Python calls per iteration are counted (``sys.setprofile``,
rank 0, the same window) in a separate pass: a count, not a time, so it repeats exactly.

    python benchmarks/bench_ddp.py [--iters 1000] [--rounds 7]     # -> results/ddp-cpu.md
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
import torch.distributed as torch_dist  # noqa: E402
from workload import Batches, Clock, Workload, flat_weights, loss_of  # noqa: E402

LOOPS = ("raw", "runnerkit")
TITLES = {"raw": "hand-written DDP loop", "runnerkit": "runnerkit IterBasedRunner + launch, standard hooks"}


def _logger() -> logging.Logger:
    log = logging.getLogger("bench-ddp")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def raw_loop(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> torch.nn.Module:
    """The hand-written DDP loop (``peers/raw.py`` with DDP and the logged loss averaged over the ranks)."""
    ddp = torch.nn.parallel.DistributedDataParallel(net)
    opt = work.make_optimizer(ddp.parameters())
    rank, world = torch_dist.get_rank(), torch_dist.get_world_size()
    json_path = os.path.join(work_dir, "raw.log.json")
    losses: list[torch.Tensor] = []
    lr = work.lr
    t = time.perf_counter()
    for i, batch in enumerate(data):
        if work.lr_at(i) != lr:
            lr = work.lr_at(i)
            for group in opt.param_groups:
                group["lr"] = lr
        loss = loss_of(ddp, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        if (i + 1) % work.log_interval == 0:
            mean_t = torch.stack(losses).mean()
            torch_dist.all_reduce(mean_t)
            mean = mean_t.item() / world
            losses.clear()
            now = time.perf_counter()
            if rank == 0:
                record = {"mode": "train", "iter": i + 1, "lr": lr, "loss": mean, "time": (now - t) / work.log_interval}
                log.info("Iter [%d/%d]\tlr: %.3e, time: %.3f, loss: %.4f", i + 1, work.iters, lr, record["time"], mean)
                with open(json_path, "a") as fh:
                    fh.write(json.dumps(record) + "\n")
            t = now
    return net


def runnerkit_loop(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> torch.nn.Module:
    """``IterBasedRunner`` with the standard hooks on the model ``runnerkit.launch.wrap_model`` wrapped."""
    from peers._model import StepModel
    from peers.runnerkit_standard import register_standard_hooks

    import runnerkit
    from runnerkit import launch

    assert isinstance(net, torch.nn.Sequential)
    model = StepModel(net)
    runner = runnerkit.build(
        {"type": "IterBasedRunner", "max_iters": work.iters},
        {"model": launch.wrap_model(model), "optimizer": work.make_optimizer(model.parameters()), "work_dir": work_dir,
         "logger": log},
    )
    launch.prepare_runner(runner)
    register_standard_hooks(runner, work)
    runner.run([data], [("train", 1)])
    return model


RUN: dict[str, Callable[..., torch.nn.Module]] = {"raw": raw_loop, "runnerkit": runnerkit_loop}


class CallCounter:
    """Counts Python and C calls (``sys.setprofile``) between the clock's two marks, in total and by function."""

    def __init__(self) -> None:
        self.calls = 0
        self.by_function: collections.Counter[str] = collections.Counter()

    def _count(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            self.by_function[f"{_short(code.co_filename)}:{code.co_firstlineno}({code.co_name})"] += 1
            self.calls += 1
        elif event == "c_call":
            self.by_function[f"~({getattr(arg, '__qualname__', repr(arg))})"] += 1
            self.calls += 1

    def probe(self, start: bool) -> None:
        sys.setprofile(self._count if start else None)


def _short(path: str) -> str:
    for marker in ("runnerkit/", "benchmarks/", "torch/"):
        if marker in path:
            return marker + path.rsplit(marker, 1)[1]
    return os.path.basename(path)


def one_run(name: str, work: Workload, rank: int, count_calls: bool) -> dict[str, Any]:
    clock = Clock("cpu", start=100, stop=work.iters - 1)
    counter = CallCounter()
    if count_calls:
        clock.probes.append(counter.probe)
    net = work.make_net()
    data = dataclasses.replace(work, seed=work.seed + 1 + rank).make_data(clock)  # each rank its own batches
    with tempfile.TemporaryDirectory() as work_dir:
        torch_dist.barrier()
        trained = RUN[name](work, net, data, work_dir, _logger())
        torch_dist.barrier()
    per_iter = clock.iterations
    return {"loop": name, "wall_us": clock.seconds() / per_iter * 1e6, "cpu_us": clock.cpu_seconds() / per_iter * 1e6,
            "calls": counter.calls / per_iter if count_calls else None, "weights": flat_weights(trained).tolist(),
            "by_function": {k: v / per_iter for k, v in counter.by_function.items()}}


def worker(iters: int, rounds: int, out: Path) -> None:
    torch.set_num_threads(1)
    torch_dist.init_process_group("gloo")
    rank = torch_dist.get_rank()
    work = Workload(iters=iters)
    results: list[dict[str, Any]] = []
    for r in range(rounds):
        order = LOOPS if r % 2 == 0 else LOOPS[::-1]
        for name in order:
            results.append({**one_run(name, work, rank, count_calls=False), "round": r})
    counted = {name: one_run(name, work, rank, count_calls=True) for name in LOOPS}
    if rank == 0:
        out.write_text(json.dumps({"runs": results, "calls": {name: run["calls"] for name, run in counted.items()},
                                   "by_function": {name: run["by_function"] for name, run in counted.items()}}))
    torch_dist.barrier()
    torch_dist.destroy_process_group()


def table(data: dict[str, Any]) -> str:
    runs = data["runs"]
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for run in runs:
        by_round.setdefault(run["round"], {})[run["loop"]] = run
    reference = [r["raw"]["weights"] for r in by_round.values()]
    lines = ["| loop | wall µs/iter | CPU µs/iter | ratio to raw, wall (median of rounds) | range of the rounds | "
             "Python calls/iter | added to raw | final weights vs raw |", "|---|---:|---:|---:|---|---:|---:|---|"]
    for name in LOOPS:
        wall = statistics.median(r[name]["wall_us"] for r in by_round.values())
        cpu = statistics.median(r[name]["cpu_us"] for r in by_round.values())
        ratios = [r[name]["wall_us"] / r["raw"]["wall_us"] for r in by_round.values()]
        diffs = [max((abs(a - b) for a, b in zip(r[name]["weights"], ref)), default=0.0)
                 for r, ref in zip(by_round.values(), reference)]
        same = "(reference)" if name == "raw" else ("equal" if max(diffs) == 0 else f"max diff {max(diffs):.1e}")
        calls, raw_calls = data["calls"][name], data["calls"]["raw"]
        lines.append(f"| {TITLES[name]} | {wall:.1f} | {cpu:.1f} | **{statistics.median(ratios):.3f}** | "
                     f"{min(ratios):.3f}-{max(ratios):.3f} | {calls:.1f} | {calls - raw_calls:+.1f} | {same} |")
    added = collections.Counter(data["by_function"]["runnerkit"])
    added.subtract(data["by_function"]["raw"])
    lines += ["", "Calls runnerkit adds to the hand-written loop's, per iteration, by function (rank 0):", "", "```"]
    lines += [f"{count:+8.2f}  {name}" for name, count in sorted(added.items(), key=lambda kv: -abs(kv[1]))[:20]
              if abs(count) >= 0.05]
    lines.append("```")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ddp-cpu.md")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.iters, args.rounds, args.worker)
        return
    from machine import describe

    with tempfile.TemporaryDirectory() as tmp:
        raw_json = Path(tmp) / "ddp.json"
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
        start = time.strftime("%H:%M", time.gmtime())
        load = os.getloadavg()[0]
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(Path(__file__).resolve()), "--iters", str(args.iters), "--rounds", str(args.rounds),
                        "--worker", str(raw_json)], env=env, check=True)
        data = json.loads(raw_json.read_text())
    command = " ".join(["python benchmarks/bench_ddp.py", "--iters", str(args.iters), "--rounds", str(args.rounds)])
    text = (f"Machine: {describe('cpu', 1)}; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n"
            f"`{command}`: 2 ranks (gloo), measured {start}-{time.strftime('%H:%M', time.gmtime())} UTC "
            f"on {time.strftime('%Y-%m-%d', time.gmtime())}, window of {args.iters - 101} iterations per run\n\n"
            f"{table(data)}\n\nwall, CPU: rank 0, medians over the rounds; ratio: median of the same round's ratios; "
            "Python calls: rank 0, one counted run of each loop.\n")
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
