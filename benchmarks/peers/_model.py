"""The model contract of mmcv 1.x runners (runnerkit's too): ``train_step`` returns a dict."""

from __future__ import annotations

from typing import Any

import torch
from workload import loss_of


class StepModel(torch.nn.Sequential):
    """The workload's network with a ``train_step``, as a user's model class defines one on itself.

    It holds the network's own layers (the same parameter objects, so training it trains the
    network). It is not a wrapper with the network as an attribute: reading a submodule
    attribute goes through ``nn.Module.__getattr__``, which first lets the normal lookup fail
    (an ``AttributeError`` built and dropped), about 9,000 machine instructions per read here,
    torch's cost and not the runner's. ``self(x)`` is the network call, which ``compile=True``
    compiles.

    Args:
        net: the network (a ``Sequential``).
        item: hand the log buffer a Python float (``loss.item()``), as mmcv's models do.
    """

    def __init__(self, net: torch.nn.Sequential, item: bool = False) -> None:
        super().__init__(*net)
        self.item = item

    def train_step(self, batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        loss = loss_of(self, batch)
        logged = loss.item() if self.item else loss.detach()
        # x.shape[0], not len(x) or x.size(0): torch's Tensor.__len__ runs in Python, and size(0)
        # parses its arguments (docs/plugins.md)
        return {"loss": loss, "log_vars": {"loss": logged}, "num_samples": batch[0].shape[0]}
