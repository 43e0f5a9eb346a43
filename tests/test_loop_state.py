"""``LoopState``: counters, completed counts, checkpoint numbering and its state dict."""

from __future__ import annotations

import pytest

from runnerkit.runners.data import PassIterator
from runnerkit.runners.loop_state import LoopState


def test_completed_counts_include_the_current_step_only_once_it_has_run() -> None:
    loop = LoopState(by_epoch=False, max_iters=10)
    loop.iter, loop.epoch = 4, 1
    assert (loop.completed_iters, loop.completed_epochs) == (4, 1)
    loop.iter_done = True
    assert (loop.completed_iters, loop.step_done) == (5, True)
    loop.epoch_done = True
    assert loop.completed_epochs == 2


@pytest.mark.parametrize(("by_epoch", "number", "meta"), [(False, 5, {"epoch": 2, "iter": 5}),
                                                          (True, 1, {"epoch": 1, "iter": 5})])
def test_checkpoint_numbers_and_meta_follow_mmcv(by_epoch: bool, number: int, meta: dict[str, int]) -> None:
    loop = LoopState(by_epoch=by_epoch)
    loop.iter, loop.epoch, loop.iter_done = 4, 1, True
    if by_epoch:
        loop.epoch, loop.epoch_done = 0, True
    assert loop.checkpoint_number() == number
    assert loop.progress_meta() == meta


def test_the_state_dict_counts_a_finished_iteration_and_round_trips() -> None:
    loop = LoopState(by_epoch=False, max_iters=10)
    loop.iter, loop.inner_iter, loop.epoch, loop.flow = 6, 2, 1, (1, 3)
    loop.iter_done = True
    state = loop.state_dict()
    assert state == {"epoch": 1, "iter": 7, "inner_iter": 3, "epoch_done": False, "flow": [1, 4], "loaders": {}}
    fresh = LoopState(by_epoch=False, max_iters=10)
    fresh.load_state_dict(state)
    assert (fresh.epoch, fresh.iter, fresh.inner_iter, fresh.resume_flow) == (1, 7, 3, (1, 4))
    assert list(fresh.flow_positions([("train", 5), ("val", 5)])) == [(1, ("val", 5), 4)]
    assert fresh.resume_flow is None  # consumed: the next cycle starts at its beginning
    assert list(fresh.flow_positions([("train", 5), ("val", 5)])) == [(0, ("train", 5), 0), (1, ("val", 5), 0)]


def test_pass_positions_are_saved_and_replayed() -> None:
    loop = LoopState(by_epoch=True)
    loop.passes = {0: PassIterator([10, 11, 12], set_epoch=False)}
    assert [loop.passes[0].next_in_pass() for _ in range(2)] == [10, 11]
    saved = loop.state_dict()["loaders"]
    again = LoopState(by_epoch=True)
    again.passes = {0: PassIterator([10, 11, 12], set_epoch=False)}
    again.load_pass_states(saved)
    assert again.passes[0].next_in_pass() == 12
