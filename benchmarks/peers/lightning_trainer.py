"""Lightning's ``Trainer``, lean: no checkpointing, progress bar, model summary or validation.

``training_step`` returns the loss and ``self.log``s it; the CSV logger writes every 50 steps
(``log_every_n_steps``; Lightning logs the step's value, not a mean over the 50). The lr follows
torch's ``MultiStepLR`` stepped every optimizer step (``interval="step"``).
"""

from __future__ import annotations

import logging
from typing import Any

import lightning
import torch
from lightning.pytorch.loggers import CSVLogger
from workload import Batches, Workload, loss_of

TITLE = "Lightning Trainer (lean)"
SAME_WORK = True


class _Module(lightning.LightningModule):
    def __init__(self, net: torch.nn.Module, work: Workload) -> None:
        super().__init__()
        self.net = net
        self.work = work

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = loss_of(self.net, batch)
        self.log("loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        opt = self.work.make_optimizer(self.parameters())
        schedule = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[self.work.milestone], gamma=self.work.gamma)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def run(work: Workload, net: torch.nn.Module, data: Batches, work_dir: str, log: logging.Logger) -> None:
    cuda = work.device.startswith("cuda")
    trainer = lightning.Trainer(
        accelerator="gpu" if cuda else "cpu",
        devices=[torch.cuda.current_device()] if cuda else 1,
        max_steps=work.iters,
        max_epochs=1,
        logger=CSVLogger(work_dir),
        log_every_n_steps=work.log_interval,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        default_root_dir=work_dir,
    )
    trainer.fit(_Module(net, work), train_dataloaders=data)
