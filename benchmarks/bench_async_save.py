"""Background checkpoints: how long the training loop is blocked by an async save, against a synchronous one.

Run on demand (pytest does not collect it)::

    python benchmarks/bench_async_save.py                 # writes benchmarks/results/async-save-cpu.md
    python benchmarks/bench_async_save.py --mib 16 --repeats 3 --out /tmp/async.md

Two cases, the same state in both: a model of ``--mib`` MiB of fp32 parameters with AdamW after one
step (so three times that in the checkpoint), saved by ``runner.save_checkpoint``:

* **file**: one process, ``iter_N.pth`` files;
* **sharded**: 2 gloo ranks under ``torch.distributed.run``, the model sharded with FSDP2, ``iter_N/``
  folders written with torch.distributed.checkpoint (async: DCP's ``async_save`` on a gloo group of
  its own); the time of the slower rank.

For each repeat, a synchronous save is timed whole (snapshot, write, ``fsync``, rename,
``last_checkpoint``), then an ``async_save=True`` one is timed until ``save_checkpoint`` returns
(the time the loop is blocked: the snapshot) and waited for outside the timing. The ratio is the
median blocked time over the median synchronous time (target: at most 0.25).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "async-save-cpu.md"


def measure(mib: int, repeats: int, sharded: bool) -> dict[str, Any]:
    """Sync and async (blocked) save times in this process (every rank calls it when ``sharded``)."""
    import torch

    import runnerkit
    from runnerkit import checkpoint_async, dist

    class Big(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            side = int((mib * 2**20 / 4 / 4) ** 0.5)
            self.layers = torch.nn.ModuleList(torch.nn.Linear(side, side, bias=False) for _ in range(4))

        def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
            x = batch
            for layer in self.layers:
                x = layer(x)
            loss = x.pow(2).mean()
            return {"loss": loss, "log_vars": {}, "num_samples": len(batch)}

    torch.manual_seed(0)
    model: torch.nn.Module = Big()
    if sharded:
        from runnerkit.parallel_fsdp import shard_model

        model = shard_model(model, {"shard": ["Linear"]})
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    work = tempfile.mkdtemp(prefix="bench-async-") if dist.get_dist_info()[0] == 0 else ""
    work = dist.broadcast_object(work)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1},
                             {"model": model, "optimizer": optimizer, "work_dir": work})
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    side = model.layers[0].weight.shape[1]
    runner.run([[torch.randn(4, side)]], [("train", 1)])
    sync_s, blocked_s = [], []
    for i in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        runner.save_checkpoint(work, filename_tmpl=f"sync_{i}.pth")
        sync_s.append(time.perf_counter() - start)
        dist.barrier()
        start = time.perf_counter()
        runner.save_checkpoint(work, filename_tmpl=f"async_{i}.pth", async_save=True)
        blocked_s.append(time.perf_counter() - start)
        checkpoint_async.wait_pending()
    return {"sync": sync_s, "blocked": blocked_s, "work": work}


def worker(mib: int, repeats: int, out: Path) -> None:
    import shutil

    from runnerkit import dist

    rank, _ = dist.init_dist()
    times = measure(mib, repeats, sharded=True)
    gathered = dist.all_gather_object(times)
    dist.barrier()
    if rank == 0:
        slowest = {k: [max(r[k][i] for r in gathered) for i in range(repeats)] for k in ("sync", "blocked")}
        out.write_text(json.dumps(slowest))
        shutil.rmtree(times["work"], ignore_errors=True)
    dist.destroy_dist()


def sharded(mib: int, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "times.json"
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(Path(__file__).resolve()), "--worker", "--mib", str(mib), "--repeats", str(repeats),
                        "--times", str(out)], check=True, env=env, capture_output=True, text=True)
        return json.loads(out.read_text())  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="MiB of fp32 parameters (the checkpoint holds 3x: AdamW)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--times", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.mib, args.repeats, args.times)
        return 0
    import shutil

    import torch

    sys.path.insert(0, str(HERE))
    from machine import describe

    torch.set_num_threads(1)
    file_times = measure(args.mib, args.repeats, sharded=False)
    shutil.rmtree(file_times["work"], ignore_errors=True)
    results = {"file (1 process)": file_times, "sharded (FSDP2, 2 ranks, DCP)": sharded(args.mib, args.repeats)}
    rows = []
    for name, times in results.items():
        sync, blocked = statistics.median(times["sync"]), statistics.median(times["blocked"])
        rows.append(f"| {name} | {sync * 1e3:.0f} | {blocked * 1e3:.0f} | {blocked / sync:.3f} |")
    text = "\n".join([
        f"Machine: {describe('cpu', 1)}; measured {time.strftime('%H:%M UTC on %Y-%m-%d', time.gmtime())}",
        f"`python benchmarks/bench_async_save.py --mib {args.mib} --repeats {args.repeats}` ({args.mib} MiB of "
        f"parameters + AdamW state: {3 * args.mib} MiB per checkpoint; medians of {args.repeats})",
        "",
        "| checkpoint | synchronous save (ms) | async: loop blocked (ms) | blocked / synchronous (target ≤ 0.25) |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
