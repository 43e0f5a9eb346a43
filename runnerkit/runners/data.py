"""Iterating data loaders pass by pass, with enough state to continue exactly after a resume.

A pass (an epoch over the loader) draws its shuffling and worker seeds from torch's RNG when
its iterator is created. :class:`PassIterator` records the RNG states at that moment and how
many batches it has handed out; restoring replays the same pass up to the same batch.

:func:`shield_workers` makes a ``DataLoader``'s worker processes ignore a SIGTERM or SIGINT sent to
the whole process group (torchrun, Slurm, systemd, Ctrl-C), so that it reaches only the main
process, which finishes its iteration and saves (:mod:`runnerkit.runners.interrupt`); the workers
still end when the loader shuts them down, when the main process terminates them, or when it is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import torch

__all__ = ["PassIterator", "set_sampler_epoch", "shield_workers"]


class _ShieldedWorkerInit:
    """A ``worker_init_fn`` that shields the worker from signals sent to its process group, then calls the loader's own.

    SIGINT is ignored. SIGTERM is blocked in the worker and taken by a thread of its own
    (``sigwaitinfo``): one from the main process (the loader shutting its workers down,
    ``multiprocessing`` at exit) ends the worker at once, as torch's own handler does; one from
    anyone else (a scheduler signalling the whole group) is dropped. A module-level class, so that
    it pickles where workers are spawned rather than forked.
    """

    def __init__(self, own: Callable[[int], Any] | None) -> None:
        self.own = own

    def __call__(self, worker_id: int) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(signal, "sigwaitinfo"):
            import multiprocessing
            import threading

            parent = multiprocessing.parent_process()
            signal.signal(signal.SIGTERM, _drop)  # a delivery to a thread that does not block it is dropped too
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # inherited by the thread below
            threading.Thread(target=_end_on_sigterm_from, args=(parent.pid if parent else os.getppid(),),
                             name="runnerkit-sigterm", daemon=True).start()
        else:  # pragma: no cover - no sigwaitinfo (macOS): ignore it, the loader still ends its workers at shutdown
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.own is not None:
            self.own(worker_id)


def _drop(signum: int, frame: Any) -> None:
    """A signal handler that does nothing."""


def _end_on_sigterm_from(parent: int | None) -> None:
    """In a worker: wait for SIGTERMs; exit at once on one from ``parent``, drop the others."""
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        if info.si_pid == parent:
            os._exit(0)


def shield_workers(loader: Any) -> None:
    """Make the worker processes ``loader`` starts from now on ignore SIGINT and a SIGTERM not sent by the main process.

    Without it a signal sent to the process group kills the workers (torch's default for a
    SIGTERM that does not come from the main process), and the main process fails with
    ``DataLoader worker ... killed by signal`` before it can save. The loader's own
    ``worker_init_fn`` still runs, after. Loaders without workers, objects that are not
    ``DataLoader``-like and loaders already shielded are left alone; workers that already run
    (persistent workers of an iterator created earlier) are not changed.
    """
    workers = getattr(loader, "num_workers", 0)
    if not isinstance(workers, int) or workers <= 0:
        return
    own = getattr(loader, "worker_init_fn", None)
    if isinstance(own, _ShieldedWorkerInit):
        return
    with contextlib.suppress(AttributeError, TypeError, ValueError):  # a loader class that forbids it
        loader.worker_init_fn = _ShieldedWorkerInit(own)


def _generators(loader: Any) -> list[torch.Generator]:
    """The explicit generators a loader's shuffling may draw from (loader, sampler, batch sampler)."""
    found: list[torch.Generator] = []
    for owner in (
        loader,
        getattr(loader, "sampler", None),
        getattr(getattr(loader, "batch_sampler", None), "sampler", None),
    ):
        gen = getattr(owner, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not g for g in found):
            found.append(gen)
    return found


def set_sampler_epoch(loader: Any, epoch: int) -> None:
    """Call ``set_epoch`` on the loader's sampler or batch sampler's sampler when it has one."""
    for sampler in (getattr(loader, "sampler", None), getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        set_epoch = getattr(sampler, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
            return


def _sampler_epoch(loader: Any) -> int | None:
    """The ``epoch`` of the loader's ``set_epoch`` sampler (a ``DistributedSampler``), or None."""
    for sampler in (getattr(loader, "sampler", None), getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        if hasattr(sampler, "set_epoch"):
            epoch = getattr(sampler, "epoch", None)
            return epoch if isinstance(epoch, int) else None
    return None


class PassIterator:
    """Hands out a loader's batches, pass after pass, counting passes (epochs) and position.

    Args:
        loader: any re-iterable (a ``DataLoader`` or a list of batches).
        epoch: the number of the first pass.
        set_epoch: call ``sampler.set_epoch(epoch)`` before each pass (``IterBasedRunner``,
            as mmcv's ``IterLoader``; ``EpochBasedRunner`` leaves that to ``DistSamplerSeedHook``).
    """

    def __init__(self, loader: Any, epoch: int = 0, set_epoch: bool = True) -> None:
        self.loader = loader
        self.epoch = epoch
        self.consumed = 0
        #: batches per pass (0 when the loader has no length), known once a pass has started.
        self.length = 0
        self._set_epoch = set_epoch
        self._iterator: Iterator[Any] | None = None
        self._start_state: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.loader)

    def start_pass(self) -> None:
        """Begin a new pass (shuffles, starts workers), remembering the RNG state it starts from."""
        if self._set_epoch:
            set_sampler_epoch(self.loader, self.epoch)
        self._start_state = {
            "torch": torch.get_rng_state(),
            "generators": [g.get_state() for g in _generators(self.loader)],
        }
        sampler_epoch = _sampler_epoch(self.loader)
        if sampler_epoch is not None:  # a DistributedSampler's order depends on its epoch, not on the RNG
            self._start_state["sampler_epoch"] = sampler_epoch
        self.consumed = 0
        shield_workers(self.loader)
        self._iterator = iter(self.loader)
        try:
            self.length = len(self.loader)
        except TypeError:  # an iterable-style dataset
            self.length = 0

    @property
    def started(self) -> bool:
        return self._iterator is not None

    def next_in_pass(self) -> Any:
        """The next batch of the current pass; ``StopIteration`` at its end (no wrap-around)."""
        batch = self.fetcher()()
        self.consumed += 1
        return batch

    def fetcher(self) -> Callable[[], Any]:
        """The current pass's ``__next__`` (the pass started if it was not), for the training loop.

        A caller that fetches through it adds one to :attr:`consumed` per batch itself (the loop
        does, without a method call per iteration); valid until the pass ends.
        """
        if self._iterator is None:
            self.start_pass()
        assert self._iterator is not None
        return self._iterator.__next__

    def end_pass(self) -> None:
        """Close the current pass; the next :meth:`next_in_pass` starts pass ``epoch + 1``."""
        self._iterator = None
        self.epoch += 1

    # -- exact resume ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Where this iterator is: pass number, batches handed out, RNG state at the pass start."""
        state: dict[str, Any] = {"epoch": self.epoch, "consumed": self.consumed, "started": self.started}
        if self._start_state is not None and self.started:
            state["start_state"] = self._start_state
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replay the saved pass up to the saved position (the caller restores the global RNG after)."""
        self.epoch = int(state["epoch"])
        self._iterator = None
        if not state.get("started"):
            return
        start = state["start_state"]
        generators = _generators(self.loader)
        torch.set_rng_state(start["torch"])
        for gen, gen_state in zip(generators, start["generators"]):
            gen.set_state(gen_state)
        if "sampler_epoch" in start:
            set_sampler_epoch(self.loader, int(start["sampler_epoch"]))
        self.start_pass()
        assert self._iterator is not None
        for _ in range(int(state["consumed"])):
            try:
                next(self._iterator)
            except StopIteration:
                break
            self.consumed += 1
