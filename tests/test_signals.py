"""SIGTERM and a first SIGINT finish the iteration, save a checkpoint there and exit 143 / 130; real signals."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import runnerkit
from runnerkit import TrainingInterrupted


class Noisy(torch.nn.Module):
    """Draws noise every step; sends this process the given signals at the given steps."""

    def __init__(self, signals: tuple[tuple[int, int], ...] = ()) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.signals = signals
        self.calls = 0
        self.handlers_seen: list[Any] = []

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        self.handlers_seen.append(signal.getsignal(signal.SIGTERM))
        for at, signum in self.signals:
            if at == self.calls:
                os.kill(os.getpid(), signum)  # delivered to the main thread right away
        x, y = batch
        loss = (self.fc(x + 0.1 * torch.randn_like(x)).squeeze(-1) - y).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(2)
    return DataLoader(TensorDataset(torch.randn(20, 4, generator=g), torch.randn(20, generator=g)), batch_size=4, shuffle=True)


def _train(work_dir: Path, signals: tuple[tuple[int, int], ...] = (), resume: Path | None = None,
           by_epoch: bool = False) -> tuple[runnerkit.BaseRunner, Noisy]:
    torch.manual_seed(0)
    model = Noisy(signals)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    runner: runnerkit.BaseRunner
    if by_epoch:
        runner = runnerkit.EpochBasedRunner(model=model, optimizer=optimizer, work_dir=work_dir, max_epochs=3)
    else:
        runner = runnerkit.IterBasedRunner(model=model, optimizer=optimizer, work_dir=work_dir, max_iters=14)
    runner.register_training_hooks(lr_config=dict(policy="step", step=[8]), optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=100, by_epoch=by_epoch))
    if resume is not None:
        runner.resume(resume)
    runner.run([_loader()], [("train", 1)])
    return runner, model


def _equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(("signum", "code", "by_epoch"), [(signal.SIGTERM, 143, False), (signal.SIGINT, 130, True)])
def test_a_signal_saves_the_iteration_in_flight_and_the_run_resumes_exactly(
    tmp_path: Path, signum: int, code: int, by_epoch: bool
) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(TrainingInterrupted) as info:
        _train(tmp_path / "cut", signals=((7, signum),), by_epoch=by_epoch)  # mid-epoch: 5 batches per epoch
    stop = info.value
    assert (stop.code, stop.signal, stop.iteration) == (code, signum, 7)
    assert stop.checkpoint == str(tmp_path / "cut" / "iter_7.pth") and os.path.isfile(stop.checkpoint)
    assert (tmp_path / "cut" / "last_checkpoint").read_text().strip().endswith("iter_7.pth")
    assert signal.getsignal(signum) is before  # the handlers are run's only
    _, full = _train(tmp_path / "full", by_epoch=by_epoch)
    _, resumed = _train(tmp_path / "cut", resume=Path(stop.checkpoint), by_epoch=by_epoch)
    assert resumed.calls == full.calls - 7
    assert _equal(full, resumed)


def test_a_second_sigint_aborts_at_once(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, signals=((3, signal.SIGINT), (3, signal.SIGINT)))
    assert not list(tmp_path.glob("iter_*.pth"))  # not even the iteration in flight finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_ignored_before_the_run_stays_ignored(tmp_path: Path) -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        runner, model = _train(tmp_path, signals=((3, signal.SIGTERM),))
        assert runner.iter == 14 and model.handlers_seen[0] is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_handlers_are_installed_only_while_run_is_active_in_the_main_thread(tmp_path: Path) -> None:
    _, model = _train(tmp_path / "main")
    assert callable(model.handlers_seen[0]) and model.handlers_seen[0] not in (signal.SIG_DFL, signal.SIG_IGN)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    found: list[Noisy] = []
    thread = threading.Thread(target=lambda: found.append(_train(tmp_path / "thread")[1]))
    thread.start()
    thread.join()
    assert found and set(found[0].handlers_seen) == {signal.SIG_DFL}


def test_a_handler_installed_before_the_run_is_called_once_the_checkpoint_is_written(tmp_path: Path) -> None:
    seen: list[tuple[int, bool]] = []

    def requeue(signum: int, frame: Any) -> None:
        seen.append((signum, (tmp_path / "iter_4.pth").is_file()))

    previous = signal.signal(signal.SIGTERM, requeue)
    try:
        with pytest.raises(TrainingInterrupted) as info:
            _train(tmp_path, signals=((4, signal.SIGTERM),))
        assert info.value.code == 143 and seen == [(signal.SIGTERM, True)]
        assert signal.getsignal(signal.SIGTERM) is requeue
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Pids(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Samples that carry the pid of the worker process that loaded them."""

    def __len__(self) -> int:
        return 64

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.full((4,), float(os.getpid())), torch.zeros(())


class _KillsItsWorker(torch.nn.Module):
    """At step 3 sends SIGTERM to the worker that loaded the batch, from another process (as `kill` would)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 1)
        self.calls = 0

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        x, _ = batch
        if self.calls == 3:
            import subprocess

            subprocess.run(["kill", "-TERM", str(int(x[0, 0]))], check=True)
        loss = self.fc(torch.zeros_like(x)).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}


def _note_worker(worker_id: int) -> None:  # the user's own worker_init_fn
    with open(os.environ["RK_TEST_WORKER_NOTES"], "a") as fh:
        fh.write(f"{worker_id}\n")


def test_worker_processes_of_a_loader_passed_in_survive_a_sigterm_not_from_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notes"
    monkeypatch.setenv("RK_TEST_WORKER_NOTES", str(notes))
    loader = DataLoader(_Pids(), batch_size=4, num_workers=2, worker_init_fn=_note_worker)
    model = _KillsItsWorker()
    runner = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                       work_dir=tmp_path, max_iters=12)
    runner.run([loader], [("train", 1)])  # without the shield: "DataLoader worker ... killed by signal"
    assert runner.iter == 12 and model.calls == 12
    assert sorted(notes.read_text().split()) == ["0", "1"]  # the user's worker_init_fn still ran, in each worker


def test_max_keep_ckpts_rotates_sigterm_checkpoints_and_a_template_with_a_subfolder(tmp_path: Path) -> None:
    def run(signals: tuple[tuple[int, int], ...], resume: str | None = None) -> None:
        model = Noisy(signals)
        runner = runnerkit.EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                                            work_dir=tmp_path, max_epochs=3)
        runner.register_training_hooks(lr_config=None, optimizer_config=dict(grad_clip=None), checkpoint_config=dict(
            interval=1, max_keep_ckpts=1, filename_tmpl="ckpts/epoch_{}.pth"))
        if resume is not None:
            runner.resume(resume)
        runner.run([_loader()], [("train", 1)])

    with pytest.raises(TrainingInterrupted) as info:
        run(((7, signal.SIGTERM),))  # in epoch 2 (5 batches per epoch), numbered by iteration
    assert info.value.checkpoint == str(tmp_path / "iter_7.pth")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*_*.pth")) == [
        "ckpts/epoch_1.pth", "iter_7.pth"]
    run((), resume=str(tmp_path / "iter_7.pth"))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*_*.pth")) == ["ckpts/epoch_3.pth"]
