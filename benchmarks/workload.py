"""The one workload every loop in ``bench_loop.py`` runs, and the clock that times it.

Linear(32, 32)-ReLU-Linear(32, 1), batches of 64, SGD with momentum 0.9 at lr 0.01, the lr
divided by 10 at half the run (a step schedule by iteration), the loss logged every 50
iterations, 3000 iterations by default. The data is one pass of ``iters`` batches drawn in turn
from 16 ready tensors on the device, so no loop pays for collation or host-to-device copies
and every framework sees the same sized iterable.

The clock lives in the data: :class:`Batches` marks the moment it hands out batch ``start``
and batch ``stop``. Every loop does all of an iteration's work (its hooks, its logging)
between two fetches, so ``(t_stop - t_start) / (stop - start)`` is the steady-state cost of an
iteration, whatever the framework does before the first batch or after the last (mmcv's
``run`` ends with ``time.sleep(1)``, Lightning and mmengine build a lot up front). On a GPU the
marks are CUDA events recorded on the current stream (no synchronisation until the end). Each
mark also reads the process's CPU time: with one torch thread, CPU time per iteration is what
an iteration costs even when other processes keep the cores busy (wall time then is not).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["Batches", "Clock", "Workload", "flat_weights", "loss_of"]


@dataclass(frozen=True)
class Workload:
    """What every loop does; ``milestone`` is the iteration from which the lr is ``lr * gamma``."""

    iters: int = 3000
    device: str = "cpu"
    batch: int = 64
    width: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    gamma: float = 0.1
    log_interval: int = 50
    pool: int = 16
    seed: int = 0

    @property
    def milestone(self) -> int:
        return self.iters // 2

    def lr_at(self, it: int) -> float:
        """The step schedule: ``lr`` before ``milestone``, ``lr * gamma`` from it on (0-based ``it``)."""
        return self.lr * self.gamma if it >= self.milestone else self.lr

    def make_net(self) -> torch.nn.Sequential:
        """The model, with the same initial weights in every process."""
        torch.manual_seed(self.seed)
        w = self.width
        net = torch.nn.Sequential(torch.nn.Linear(w, w), torch.nn.ReLU(), torch.nn.Linear(w, 1))
        return net.to(self.device)

    def make_optimizer(self, params: Any) -> torch.optim.SGD:
        return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)

    def make_data(self, clock: Clock) -> Batches:
        g = torch.Generator().manual_seed(self.seed + 1)
        pool = [
            (torch.randn(self.batch, self.width, generator=g).to(self.device),
             torch.randn(self.batch, 1, generator=g).to(self.device))
            for _ in range(self.pool)
        ]
        return Batches(pool, self.iters, clock)


def loss_of(net: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """The training loss every loop computes: mean squared error."""
    x, y = batch
    return torch.nn.functional.mse_loss(net(x), y)


@dataclass
class Clock:
    """Marks the fetches of batch ``start`` and batch ``stop``; reads the time between them at the end.

    ``probes`` are called at both marks too, with ``True`` at the first and ``False`` at the
    second: ``--profile`` starts and stops its counters there, so they see whole iterations only.
    """

    device: str
    start: int
    stop: int
    probes: list[Callable[[bool], None]] = field(default_factory=list)
    _marks: list[Any] = field(default_factory=list)

    @property
    def iterations(self) -> int:
        return self.stop - self.start

    def mark(self) -> None:
        first = not self._marks
        if first:  # probes run outside the timed window
            for probe in self.probes:
                probe(True)
        if self.device.startswith("cuda"):
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append((event, time.process_time()))
        else:
            self._marks.append((time.perf_counter(), time.process_time()))
        if not first:
            for probe in reversed(self.probes):
                probe(False)

    def _pair(self) -> tuple[Any, Any]:
        if len(self._marks) != 2:
            raise RuntimeError(f"Expected two marks (the fetches of batches {self.start} and {self.stop}), got "
                               f"{len(self._marks)}: the loop iterated the data more than once, or stopped early.")
        return self._marks[0], self._marks[1]

    def seconds(self) -> float:
        """Seconds from the first mark to the second: wall clock, or CUDA events (one synchronisation, here)."""
        (first, _), (second, _) = self._pair()
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            return float(first.elapsed_time(second)) / 1e3
        return float(second - first)

    def cpu_seconds(self) -> float:
        """This process's CPU time between the marks: on a shared machine, blind to time spent waiting for a core."""
        (_, first), (_, second) = self._pair()
        return float(second - first)


class Batches:
    """One pass of ``n`` batches, taken in turn from ``pool``; marks the clock at its two fetches.

    Sized and re-iterable like a ``DataLoader``; ``dataset`` is there for loops that read it.
    """

    def __init__(self, pool: list[tuple[torch.Tensor, torch.Tensor]], n: int, clock: Clock) -> None:
        self.pool = pool
        self.n = n
        self.clock = clock
        self.dataset = pool

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        pool, k = self.pool, len(self.pool)
        start, stop, mark = self.clock.start, self.clock.stop, self.clock.mark
        for i in range(self.n):
            if i in (start, stop):
                mark()
            yield pool[i % k]


def flat_weights(net: torch.nn.Module) -> torch.Tensor:
    """All parameters in one CPU vector, to compare loops' final weights."""
    return torch.cat([p.detach().reshape(-1).cpu() for p in net.parameters()])
