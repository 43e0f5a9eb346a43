"""Train an EpochBasedRunner with a progress bar and a text logger on this process's terminal.

Run by tests/test_progress_bar_terminal.py inside a real pseudo-terminal: the bar goes to stderr,
the log lines to stdout, both to the same terminal, as for a user at a shell.
"""

from __future__ import annotations

import time
from typing import Any

import torch

import runnerkit
from runnerkit.cli._logging import job_logging
from runnerkit.hooks import ProgressBarHook


class SlowNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        time.sleep(0.03)  # every iteration takes the same time: the bar's rate is the same each epoch
        loss = (self.w * batch).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": 1}


def main() -> None:
    with job_logging() as logger:
        runner = runnerkit.EpochBasedRunner(model=SlowNet(), max_epochs=3, logger=logger)
        runner.register_training_hooks(lr_config=None, log_config={"interval": 2, "hooks": [{"type": "TextLoggerHook"}]})
        runner.register_hook(ProgressBarHook(refresh_s=0, bar_width=100))
        runner.run([[torch.tensor([float(i)]) for i in range(6)]], [("train", 1)])


if __name__ == "__main__":
    main()
