"""Errors a user meets at run time: titled with the runner they chose, one message for runnerkit's own."""

from __future__ import annotations

import pydantic
import pytest
import torch

import runnerkit


@pytest.mark.parametrize("runner", ["IterBasedRunner", "EpochBasedRunner"])
def test_an_argument_error_is_titled_with_the_runner_the_user_chose(runner: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=rf"^2 validation errors for {runner}\n") as caught:
        runnerkit.build(dict(type=runner, max_iters=1, max_epochs=1), default_args=dict(model=torch.nn.Linear(2, 2)))
    assert caught.value.title == runner
    assert [e["type"] for e in caught.value.errors()] == ["exclusive_fields", "missing_train_step"]
    assert "BaseRunnerArgs" not in str(caught.value)
