"""Small training runs that show the loop's semantics, run the same way under mmcv 1.7.2 and under runnerkit.

Each scenario imports only ``torch`` and ``mmcv.runner`` (runnerkit's layer after ``install()``, or
real mmcv 1.7.2), trains a few iterations and returns plain numbers: the losses the model saw,
whether it was in train mode, what the logger averaged, which hook stages ran. Run once under
real mmcv 1.7.2 to write the reference data (no runnerkit needed there)::

    /work/mmcv-venv/bin/python tests/mmcv_parity/loop_scenarios.py tests/mmcv_parity/data/loop_semantics.json

``test_loop_semantics_parity.py`` runs the same functions under the layer and compares.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import types
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

Result = dict[str, Any]


class Net(nn.Module):
    """Linear-BatchNorm-ReLU-Dropout-Linear: train and eval mode give different losses."""

    def __init__(self, dropout: float = 0.5) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(8, 1)
        self.losses: list[float] = []
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.bn(self.fc1(x))))).squeeze(1)

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x, y = batch
        self.modes.append(self.training and self.bn.training and self.drop.training)
        loss = F.mse_loss(self(x), y)
        self.losses.append(loss.item())
        # mmdet's `_parse_losses`: log_vars as Python floats
        return {"loss": loss, "log_vars": {"loss": loss.item()}, "num_samples": x.shape[0]}

    def val_step(self, batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        x, y = batch
        loss = F.mse_loss(self(x), y)
        return {"log_vars": {"val_loss": loss.item()}, "num_samples": x.shape[0]}


def make_net(dropout: float = 0.5) -> Net:
    torch.manual_seed(0)
    return Net(dropout)


def loader(batches: int = 5) -> torch.utils.data.DataLoader[Any]:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batches * 4, 4, generator=gen)
    y = x.sum(1) + 0.1 * torch.randn(batches * 4, generator=gen)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4, shuffle=False)


def weights(model: nn.Module) -> list[float]:
    inner = getattr(model, "module", model)
    return [round(float(v), 6) for v in torch.cat([p.detach().flatten() for p in inner.parameters()])]


def _logger() -> logging.Logger:
    return logging.getLogger("loop-scenarios")


def _recorder(interval: int) -> Any:
    """A ``LoggerHook`` that keeps every averaged output (mmcv's logger base: averaging, clearing)."""
    from mmcv.runner import LoggerHook

    class Record(LoggerHook):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(interval=interval, by_epoch=False)
            self.lines: list[dict[str, Any]] = []

        def log(self, runner: Any) -> None:
            out = {k: round(float(v), 6) for k, v in runner.log_buffer.output.items() if k in ("loss", "grad_norm")}
            self.lines.append({"iter": runner.iter + 1, **out})

    return Record()


def _sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


# -- 1: an evaluation hook's model.eval() ---------------------------------------------------------

def eval_mode_restored(work_dir: str) -> Result:
    """An after_train_iter hook evaluates every 3 iterations (``model.eval()``, as single_gpu_test)."""
    from mmcv.runner import Hook, IterBasedRunner

    class Evaluate(Hook):  # type: ignore[misc, valid-type]
        def after_train_iter(self, runner: Any) -> None:
            if self.every_n_iters(runner, 3):
                runner.model.eval()
                with torch.no_grad():
                    runner.model(torch.ones(2, 4))

    model = make_net()
    runner = IterBasedRunner(model=model, optimizer=_sgd(model), work_dir=work_dir, logger=_logger(), max_iters=8)
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    runner.register_hook(Evaluate(), priority="LOW")
    runner.run([loader()], [("train", 1)])
    return {"modes": model.modes, "losses": [round(v, 6) for v in model.losses], "weights": weights(model)}


# -- 2: a runner subclass's run_iter ---------------------------------------------------------------

def run_iter_override(work_dir: str) -> Result:
    """A video runner's ``run_iter`` (BEVFormer-style) changes what each step sees."""
    from mmcv.runner import EpochBasedRunner

    class VideoRunner(EpochBasedRunner):  # type: ignore[misc, valid-type]
        calls = 0

        def run_iter(self, data_batch: Any, train_mode: bool, **kwargs: Any) -> None:
            type(self).calls += 1
            x, y = data_batch
            outputs = self.model.train_step((x, y + 1), self.optimizer, **kwargs)
            if "log_vars" in outputs:
                self.log_buffer.update(outputs["log_vars"], outputs["num_samples"])
            self.outputs = outputs

    model = make_net(dropout=0.0)
    runner = VideoRunner(model=model, optimizer=_sgd(model), work_dir=work_dir, logger=_logger(), max_epochs=2)
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    runner.run([loader()], [("train", 1)])
    return {"calls": VideoRunner.calls, "losses": [round(v, 6) for v in model.losses], "weights": weights(model)}


# -- 3: a module wrapper's own train_step ---------------------------------------------------------

def wrapper_train_step(work_dir: str) -> Result:
    """A wrapper whose ``train_step`` prepares the batch (as MMDataParallel scatters it to the device)."""
    from mmcv.runner import IterBasedRunner

    class Wrapper(nn.Module):
        def __init__(self, module: nn.Module) -> None:
            super().__init__()
            self.module = module

        def train_step(self, data: Any, optimizer: Any, **kwargs: Any) -> Any:
            x, y = data
            return self.module.train_step((x, y + 1), optimizer, **kwargs)

    net = make_net(dropout=0.0)
    model = Wrapper(net)
    runner = IterBasedRunner(model=model, optimizer=_sgd(net), work_dir=work_dir, logger=_logger(), max_iters=6)
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    runner.run([loader()], [("train", 1)])
    return {"losses": [round(v, 6) for v in net.losses], "weights": weights(net)}


# -- 4: epoch hooks and the logger's averages over passes ------------------------------------------

def epoch_hooks_and_log_averages(work_dir: str) -> Result:
    """12 iterations over a 5-batch loader (it wraps twice), logged every 4, with a val phase.

    No dropout: mmcv starts the val loader's pass (a draw from torch's RNG) with the training one,
    runnerkit in the val phase, under forked RNGs
    (docs/migration.md, 'A val phase of a workflow draws no random number training would have drawn').
    """
    from mmcv.runner import Hook, IterBasedRunner

    seen: list[list[Any]] = []

    class Stages(Hook):  # generic epoch stages: what mmcv's IterBasedRunner calls
        def before_epoch(self, runner: Any) -> None:
            seen.append(["before_epoch", runner.epoch, runner.iter])

        def after_epoch(self, runner: Any) -> None:
            seen.append(["after_epoch", runner.epoch, runner.iter])

        def before_train_iter(self, runner: Any) -> None:
            seen.append(["before_train_iter", runner.epoch, runner.iter])

        def before_val_iter(self, runner: Any) -> None:
            seen.append(["before_val_iter", runner.epoch, runner.iter])

    model = make_net(dropout=0.0)
    runner = IterBasedRunner(model=model, optimizer=_sgd(model), work_dir=work_dir, logger=_logger(), max_iters=12)
    record = _recorder(4)
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    runner.register_hook(Stages(), priority="NORMAL")
    runner.register_hook(record, priority="VERY_LOW")
    runner.run([loader(), loader(2)], [("train", 6), ("val", 1)])
    return {"logged": record.lines, "stages": seen, "modes": model.modes, "losses": [round(v, 6) for v in model.losses]}


# -- 5: OptimizerHook.clip_grads(params), a subclass without super().__init__ ------------------------

def clip_grads_subclass(work_dir: str) -> Result:
    """mmdet-style optimizer hook: skips ``super().__init__``, calls ``self.clip_grads(params)``."""
    from mmcv.runner import IterBasedRunner, OptimizerHook

    class ClipHook(OptimizerHook):  # type: ignore[misc, valid-type]
        def __init__(self, max_norm: float) -> None:  # no super().__init__()
            self.grad_clip = {"max_norm": max_norm, "norm_type": 2}

        def after_train_iter(self, runner: Any) -> None:
            runner.optimizer.zero_grad()
            runner.outputs["loss"].backward()
            norm = self.clip_grads(runner.model.parameters())
            if norm is not None:
                runner.log_buffer.update({"grad_norm": float(norm)}, runner.outputs["num_samples"])
            runner.optimizer.step()

    model = make_net(dropout=0.0)
    runner = IterBasedRunner(model=model, optimizer=_sgd(model), work_dir=work_dir, logger=_logger(), max_iters=6)
    record = _recorder(1)
    runner.register_hook(ClipHook(0.5), priority="ABOVE_NORMAL")
    runner.register_hook(record, priority="VERY_LOW")
    runner.run([loader()], [("train", 1)])
    return {"logged": record.lines, "weights": weights(model)}


# -- 6: resuming a checkpoint with ema_* buffers (YOLOX's ExpMomentumEMAHook) -----------------------

def _ema_hook() -> Any:
    from mmcv.runner import Hook

    class EmaBuffers(Hook):  # mmdet's BaseEMAHook: averages as `ema_*` buffers registered in before_run
        def before_run(self, runner: Any) -> None:
            model = runner.model
            self.names = {}
            for name, value in model.named_parameters():
                buffer = f"ema_{name.replace('.', '_')}"
                self.names[name] = buffer
                model.register_buffer(buffer, value.data.clone())

        def after_train_iter(self, runner: Any) -> None:
            buffers = dict(runner.model.named_buffers())
            for name, param in runner.model.named_parameters():
                buffers[self.names[name]].mul_(0.9).add_(param.data, alpha=0.1)

    return EmaBuffers()


def resume_with_ema_buffers(work_dir: str) -> Result:
    """Train 2 epochs saving each; resume epoch 1 in a fresh runner (the model has no ema buffers yet)."""
    from mmcv.runner import EpochBasedRunner

    def build(max_epochs: int) -> tuple[Any, Net]:
        model = make_net(dropout=0.0)
        runner = EpochBasedRunner(model=model, optimizer=_sgd(model), work_dir=work_dir, logger=_logger(),
                                  max_epochs=max_epochs)
        runner.register_training_hooks(lr_config=None, optimizer_config={}, checkpoint_config={"interval": 1})
        runner.register_hook(_ema_hook(), priority="NORMAL")
        return runner, model

    first, _ = build(2)
    first.run([loader()], [("train", 1)])
    second, model = build(3)
    second.resume(os.path.join(work_dir, "epoch_1.pth"))
    resumed_at = [second.epoch, second.iter]
    second.run([loader()], [("train", 1)])
    return {"resumed_at": resumed_at, "losses": [round(v, 6) for v in model.losses], "weights": weights(model)}


SCENARIOS: dict[str, Callable[[str], Result]] = {
    "eval_mode_restored": eval_mode_restored,
    "run_iter_override": run_iter_override,
    "wrapper_train_step": wrapper_train_step,
    "epoch_hooks_and_log_averages": epoch_hooks_and_log_averages,
    "clip_grads_subclass": clip_grads_subclass,
    "resume_with_ema_buffers": resume_with_ema_buffers,
}


def run_scenario(name: str) -> Result:
    with tempfile.TemporaryDirectory() as work_dir:
        return SCENARIOS[name](work_dir)


def _placeholder_torchvision() -> None:
    """mmcv.runner imports torchvision only for model-zoo URLs; the CPU torch here has none."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        placeholder = types.ModuleType("torchvision")
        placeholder.__version__ = "0.0.0"  # type: ignore[attr-defined]
        sys.modules["torchvision"] = placeholder


if __name__ == "__main__":
    _placeholder_torchvision()
    warnings.simplefilter("ignore")
    import mmcv

    out = {"mmcv": mmcv.__version__, "torch": torch.__version__,
           "scenarios": {name: run_scenario(name) for name in SCENARIOS}}
    with open(sys.argv[1], "w") as f:  # one line per scenario
        scenarios = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in out.pop("scenarios").items())
        f.write(json.dumps(out)[:-1] + ',\n "scenarios": {\n' + scenarios + "\n }\n}\n")
