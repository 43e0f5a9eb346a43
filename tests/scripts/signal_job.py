"""A slow model for tests/test_signals_cli.py: trains under ``runnerkit run`` until a test sends it a signal.

At step ``MARK_AT`` (environment, default 4) each rank writes its pid into ``MARK_DIR/rank<RANK>.pid``,
so that the test knows training is under way and which process to signal. With ``BUILD_MARK`` set,
building the model writes that file and then takes ``BUILD_DELAY`` seconds (default 30), so that a
test can signal a run that has not started training yet.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch


class SlowNet(torch.nn.Module):
    def __init__(self, delay: float = 0.05) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(2, 16)
        self.drop = torch.nn.Dropout(0.2)  # draws from the RNG every step
        self.fc2 = torch.nn.Linear(16, 3)
        self.delay = delay
        self.calls = 0
        if os.environ.get("BUILD_MARK"):
            with open(os.environ["BUILD_MARK"], "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(float(os.environ.get("BUILD_DELAY", "30")))

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == int(os.environ.get("MARK_AT", "4")) and os.environ.get("MARK_DIR"):
            path = os.path.join(os.environ["MARK_DIR"], f"rank{os.environ.get('RANK', '0')}.pid")
            with open(path + ".tmp", "w") as fh:
                fh.write(str(os.getpid()))
            os.replace(path + ".tmp", path)
        time.sleep(self.delay)
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.fc2(self.drop(torch.relu(self.fc1(x)))), y)
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}
