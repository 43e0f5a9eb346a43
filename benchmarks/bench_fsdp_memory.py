"""FSDP2 vs DDP: bytes of parameters + gradients + optimizer state held per rank (tensor accounting).

Run on demand (pytest does not collect it)::

    python benchmarks/bench_fsdp_memory.py                  # 2 ranks (gloo, CPU): writes results/fsdp-memory-cpu.md
    python benchmarks/bench_fsdp_memory.py --ranks 4 --width 1024 --depth 8 --out /tmp/mem.md

It starts itself under ``torch.distributed.run``. Each rank builds the same MLP (``depth`` blocks of
Linear(width, width)), wraps it in DDP or shards it with ``runnerkit.parallel_fsdp.shard_model``
(one ``fully_shard`` per block, then the root), builds AdamW after that, trains 2 steps through a
runnerkit ``IterBasedRunner`` and then counts, on each rank, the bytes of the tensors it holds:
parameters (a ``DTensor``'s local shard), gradients (likewise) and every tensor in the optimizer's
state. Counts, not RSS: deterministic, and the same on any CPU. DDP's reducer buckets (a flat
copy of the gradients) and FSDP2's temporarily gathered parameters are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "fsdp-memory-cpu.md"


def _local_bytes(tensor: Any) -> int:
    from runnerkit.parallel_fsdp import local_part

    local = local_part(tensor)
    return int(local.numel() * local.element_size())


def worker(kind: str, width: int, depth: int, out: Path) -> None:
    import torch

    import runnerkit
    from runnerkit import dist, launch
    from runnerkit.parallel_fsdp import shard_model

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(width, width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.fc(x))

    class MLP(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.blocks = torch.nn.Sequential(*[Block() for _ in range(depth)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.blocks(x)

        def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
            loss = self(batch).pow(2).mean()
            return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch)}

    rank, world = dist.init_dist()
    model: torch.nn.Module = MLP()
    if kind == "fsdp2":
        model = shard_model(model, {"shard": ["Block"]})
    else:
        model = launch.wrap_model(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 2},
                             {"model": model, "optimizer": optimizer, "work_dir": tempfile.mkdtemp()})
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    runner.run([[torch.randn(8, width) for _ in range(2)]], [("train", 1)])
    # the optimizer hook zeroes the gradients before each backward: after the run they are still there
    params = sum(_local_bytes(p) for p in model.parameters())
    grads = sum(_local_bytes(p.grad) for p in model.parameters() if p.grad is not None)
    state = sum(_local_bytes(t) for s in optimizer.state.values() for t in s.values() if isinstance(t, torch.Tensor))
    counts = {"rank": rank, "params": params, "grads": grads, "optimizer": state}
    gathered = dist.all_gather_object(counts)
    if rank == 0:
        out.write_text(json.dumps({"world": world, "ranks": gathered}))
    dist.barrier()
    dist.destroy_dist()


def run(kind: str, ranks: int, width: int, depth: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "counts.json"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks),
               str(Path(__file__).resolve()), "--worker", kind, "--width", str(width), "--depth", str(depth),
               "--counts", str(out)]
        subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
        return json.loads(out.read_text())  # type: ignore[no-any-return]


def mib(n: float) -> str:
    return f"{n / 2**20:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--worker", choices=["ddp", "fsdp2"], help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.width, args.depth, args.counts)
        return 0
    sys.path.insert(0, str(HERE))
    from machine import describe

    results = {kind: run(kind, args.ranks, args.width, args.depth) for kind in ("ddp", "fsdp2")}
    rows = []
    totals = {}
    for kind, result in results.items():
        worst = max(result["ranks"], key=lambda r: r["params"] + r["grads"] + r["optimizer"])
        total = worst["params"] + worst["grads"] + worst["optimizer"]
        totals[kind] = total
        rows.append(f"| {kind} | {mib(worst['params'])} | {mib(worst['grads'])} | {mib(worst['optimizer'])} | {mib(total)} |")
    ratio = totals["fsdp2"] / totals["ddp"]
    n_params = args.depth * (args.width * args.width + args.width)
    text = "\n".join([
        f"Machine: {describe('cpu', 1)}; measured {time.strftime('%H:%M UTC on %Y-%m-%d', time.gmtime())}",
        f"`python benchmarks/bench_fsdp_memory.py --ranks {args.ranks} --width {args.width} --depth {args.depth}` "
        f"({n_params:,} fp32 parameters, AdamW, {args.ranks} gloo ranks; the rank holding the most)",
        "",
        "| parallel | parameters (MiB) | gradients (MiB) | optimizer state (MiB) | total per rank (MiB) |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"FSDP2 / DDP per rank: {ratio:.3f} (ideal 1/{args.ranks} = {1 / args.ranks:.3f}; AdamW's `step` counters "
        "are not sharded). Not counted: DDP's reducer buckets (another copy of the gradients), FSDP2's gathered "
        "parameters of the block being computed (freed after its forward/backward).",
        "",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
