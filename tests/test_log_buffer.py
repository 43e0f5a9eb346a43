"""``LogBuffer``: averages over the latest values, one read-back, no tensors piling up between log lines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import runnerkit
from runnerkit.log_buffer import LogBuffer
from tests.helpers import TinyNet, make_loader


def test_average_of_the_latest_values_mixes_tensors_and_numbers() -> None:
    buf = LogBuffer()
    for value in (1.0, torch.tensor(2.0), torch.tensor([3.0]), 4):
        buf.update({"loss": value})
    buf.average(3)
    assert buf.output == {"loss": pytest.approx(3.0)}
    assert type(buf.output["loss"]) is float
    buf.average()
    assert buf.output == {"loss": pytest.approx(2.5)}


def test_counts_weight_the_average() -> None:
    buf = LogBuffer()
    buf.update({"acc": torch.tensor(1.0)}, count=3)
    buf.update({"acc": 0.0}, count=1)
    buf.average()
    assert buf.output["acc"] == pytest.approx(0.75)


def test_averaged_tensors_are_kept_as_numbers() -> None:
    buf = LogBuffer()
    for i in range(6):
        buf.update({"loss": torch.tensor(float(i), requires_grad=True) * 1})
    buf.average(4)
    history = list(buf.val_history["loss"])
    assert [type(v) for v in history] == [torch.Tensor, torch.Tensor, float, float, float, float]
    assert history[2:] == [2.0, 3.0, 4.0, 5.0]
    buf.average()  # the rest now, and the whole history's mean
    assert buf.output["loss"] == pytest.approx(2.5)
    assert all(type(v) is float for v in buf.val_history["loss"])


def test_numpy_scalars_average_to_a_plain_float() -> None:
    buf = LogBuffer()
    buf.update({"acc": np.float32(0.5)})
    buf.update({"acc": np.float32(1.0)})
    buf.average()
    assert type(buf.output["acc"]) is float
    assert buf.output["acc"] == pytest.approx(0.75)


def test_a_non_scalar_tensor_is_refused_with_its_key() -> None:
    buf = LogBuffer()
    buf.update({"loss_vec": torch.ones(3)})
    with pytest.raises(ValueError, match=r"`log_vars\['loss_vec'\]` must be a scalar .* shape \(3,\).*\.mean\(\)"):
        buf.average()


def test_training_keeps_at_most_one_interval_of_loss_tensors() -> None:
    """Between two log lines only that interval's tensors are alive; older values are plain numbers."""
    model = TinyNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 43},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01)})
    runner.register_training_hooks(None, {}, log_config={"interval": 10, "hooks": [{"type": "TextLoggerHook"}]})
    runner.run([make_loader(400, batch_size=4)], [("train", 1)])
    history = list(runner.log_buffer.val_history["loss"])
    assert len(history) == 43
    assert sum(isinstance(v, torch.Tensor) for v in history) == 3  # iterations 41-43: not averaged yet
    assert all(type(v) is float for v in history[:40])


def test_half_and_double_values_average_at_full_precision() -> None:
    buf = LogBuffer()
    buf.update({"half": torch.tensor(0.5, dtype=torch.float16), "double": torch.tensor(1 + 1e-12, dtype=torch.float64)})
    buf.update({"half": torch.tensor(1.5, dtype=torch.bfloat16), "double": torch.tensor(1.0, dtype=torch.float64)})
    buf.average()
    assert buf.output["half"] == 1.0
    assert buf.output["double"] == pytest.approx(1 + 0.5e-12, rel=1e-15, abs=0)


def test_a_buffer_never_averaged_holds_at_most_unread_tensors() -> None:
    from runnerkit.log_buffer import UNREAD

    buf = LogBuffer()
    for i in range(2 * UNREAD + 10):
        buf.update({"loss": torch.tensor(float(i)), "lr": 0.5})
    tensors = sum(isinstance(v, torch.Tensor) for v in buf.val_history["loss"])
    assert 0 < tensors < UNREAD
    assert [type(v) for v in list(buf.val_history["loss"])[:3]] == [float, float, float]
    buf.average()
    assert buf.output == {"loss": pytest.approx((2 * UNREAD + 9) / 2), "lr": 0.5}
