"""pytorch-ignite's ``Engine`` with a hand-written update function, as ignite's examples do.

The update returns the detached loss; a handler keeps them and, every 50 iterations, another
averages them, reads the mean back and writes the console and JSON lines (ignite has no text
logger of its own). The lr follows ignite's ``LRScheduler`` around torch's ``MultiStepLR``,
attached at ``ITERATION_STARTED`` as ignite documents.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import torch
from ignite.engine import Engine, Events
from ignite.handlers import LRScheduler
from workload import Batches, Workload, loss_of

TITLE = "pytorch-ignite Engine"
SAME_WORK = True


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    opt = work.make_optimizer(net.parameters())

    def update(engine: Engine, batch: Any) -> torch.Tensor:
        loss = loss_of(net, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    trainer = Engine(update)
    schedule = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[work.milestone], gamma=work.gamma)
    trainer.add_event_handler(Events.ITERATION_STARTED, LRScheduler(schedule))
    losses: list[torch.Tensor] = []
    json_path = os.path.join(work_dir, "ignite.log.json")

    @trainer.on(Events.ITERATION_COMPLETED)
    def keep(engine: Engine) -> None:
        losses.append(engine.state.output)

    @trainer.on(Events.ITERATION_COMPLETED(every=work.log_interval))
    def write(engine: Engine) -> None:
        mean = torch.stack(losses).mean().item()
        losses.clear()
        lr = opt.param_groups[0]["lr"]
        log.info("Iter [%d/%d]\tlr: %.3e, loss: %.4f", engine.state.iteration, work.iters, lr, mean)
        with open(json_path, "a") as fh:
            fh.write(json.dumps({"mode": "train", "iter": engine.state.iteration, "lr": lr, "loss": mean}) + "\n")

    trainer.run(data, max_epochs=1)
