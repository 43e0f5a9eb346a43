"""The limit: the hand-written step captured once as a CUDA graph and replayed (GPU only).

Forward, backward, optimizer step and the running loss sum are one graph; an iteration is two
copies into the static batch and one ``replay``. The optimizer is torch's fused SGD with the
lr held in a device tensor, so the step schedule is one ``fill_`` at the milestone and nothing
reads back to the host except the loss mean at each log interval. The first iterations run
eagerly on a side stream (the momentum buffers must exist before capture), on the run's own
first batches, so the work stays the same. The fused kernel rounds differently from the
default one: final weights are compared with a tolerance.
"""

from __future__ import annotations

import json
import logging
import os

import torch
from workload import Batches, Workload, loss_of

TITLE = "hand-written step, CUDA graph (the limit)"
SAME_WORK = True
EAGER_ITERS = 3


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    if min(work.iters, work.log_interval, work.milestone) <= EAGER_ITERS:
        raise ValueError(f"The CUDA-graph loop runs its first {EAGER_ITERS} iterations eagerly; it needs `iters`, the "
                         f"log interval and the lr milestone above that (got {work.iters}, {work.log_interval}, "
                         f"{work.milestone}).")
    lr = torch.tensor(work.lr, device=work.device)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=work.momentum, fused=True)
    loss_sum = torch.zeros((), device=work.device)
    json_path = os.path.join(work_dir, "raw-graph.log.json")
    batches = iter(data)
    value = work.lr

    def log_line(i: int) -> None:
        mean = (loss_sum / work.log_interval).item()
        loss_sum.zero_()
        log.info("Iter [%d/%d]\tlr: %.3e, loss: %.4f", i + 1, work.iters, value, mean)
        with open(json_path, "a") as fh:
            fh.write(json.dumps({"mode": "train", "iter": i + 1, "lr": value, "loss": mean}) + "\n")

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    for _ in range(EAGER_ITERS):
        batch = next(batches)
        with torch.cuda.stream(side):
            loss = loss_of(net, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum.add_(loss.detach())
    torch.cuda.current_stream().wait_stream(side)

    static_x = torch.empty_like(data.pool[0][0])
    static_y = torch.empty_like(data.pool[0][1])
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = loss_of(net, (static_x, static_y))
        static_loss.backward()
        opt.step()
        loss_sum.add_(static_loss.detach())

    for i, (x, y) in enumerate(batches, start=EAGER_ITERS):
        if work.lr_at(i) != value:
            value = work.lr_at(i)
            lr.fill_(value)
        static_x.copy_(x)
        static_y.copy_(y)
        graph.replay()
        if (i + 1) % work.log_interval == 0:
            log_line(i)
