"""The hand-written loop: what a careful engineer writes without a framework.

It sets the lr only when the schedule changes it, times nothing per iteration, keeps the
detached losses and reads them back only at the log interval, where it writes a console line
(through ``log``) and a JSON line, as a runner's text logger does.
"""

from __future__ import annotations

import json
import logging
import os
import time

import torch
from workload import Batches, Workload, loss_of

TITLE = "hand-written loop"
SAME_WORK = True


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    opt = work.make_optimizer(net.parameters())
    json_path = os.path.join(work_dir, "raw.log.json")
    losses: list[torch.Tensor] = []
    lr = work.lr
    t = time.perf_counter()
    for i, batch in enumerate(data):
        if work.lr_at(i) != lr:
            lr = work.lr_at(i)
            for group in opt.param_groups:
                group["lr"] = lr
        loss = loss_of(net, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        if (i + 1) % work.log_interval == 0:
            mean = torch.stack(losses).mean().item()
            losses.clear()
            now = time.perf_counter()
            record = {"mode": "train", "iter": i + 1, "lr": lr, "loss": mean, "time": (now - t) / work.log_interval}
            t = now
            log.info("Iter [%d/%d]\tlr: %.3e, time: %.3f, loss: %.4f", i + 1, work.iters, lr, record["time"], mean)
            with open(json_path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
