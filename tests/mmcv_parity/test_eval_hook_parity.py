"""mmcv.runner.EvalHook: mmcv's test loop, save_best with key rules, best checkpoint files, start/interval.

Deliberate difference (docs/migration.md, 'Argument checks'): any iterable of batches is accepted
as the data loader (mmcv: a DataLoader only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class ScoreDataset(Dataset):
    """Its evaluate() reports the next score of a fixed sequence (one per evaluation)."""

    def __init__(self, scores: list[float], key: str = "acc") -> None:
        self.scores = list(scores)
        self.key = key
        self.calls = 0
        self.seen: list[list[Any]] = []

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"img": torch.tensor([float(i)])}

    def evaluate(self, results: list[Any], logger: Any = None, **kwargs: Any) -> dict[str, float]:
        self.seen.append(results)
        score = self.scores[self.calls]
        self.calls += 1
        return {self.key: score, "other": 0.0}


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 1)

    def forward(self, img: torch.Tensor, return_loss: bool = True) -> Any:
        assert return_loss is False  # mmcv's single_gpu_test
        return [f"result-{int(x)}" for x in img[:, 0]]

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.fc(torch.ones(1)).sum()
        return {"loss": loss, "log_vars": {"loss": float(loss.detach())}, "num_samples": 1}


def run_epochs(tmp_path: Path, hook: Any, epochs: int = 4) -> Any:
    from mmcv.runner import EpochBasedRunner

    model = Model()
    runner = EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                              work_dir=tmp_path, max_epochs=epochs)
    runner.register_hook(hook, priority="LOW")
    runner.run([[None]], [("train", 1)])
    return runner


def best_files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.glob("best_*.pth"))


def test_the_default_test_fn_is_mmcvs_single_gpu_test(tmp_path: Path) -> None:
    from mmcv.runner import EvalHook

    dataset = ScoreDataset([0.1, 0.2, 0.3, 0.4])
    run_epochs(tmp_path, EvalHook(DataLoader(dataset, batch_size=2)))
    assert dataset.seen[0] == ["result-0", "result-1"]  # one result per sample


@pytest.mark.parametrize(
    ("kwargs", "scores", "best"),
    [
        (dict(save_best="acc"), [0.1, 0.4, 0.3, 0.2], "best_acc_epoch_2.pth"),  # acc: greater is better
        (dict(save_best="auto"), [0.1, 0.4, 0.3, 0.2], "best_acc_epoch_2.pth"),  # the first metric
        (dict(save_best="acc", greater_keys=[], less_keys=["acc"]), [0.4, 0.1, 0.3, 0.2], "best_acc_epoch_2.pth"),
        (dict(save_best="acc", rule="less"), [0.4, 0.3, 0.1, 0.2], "best_acc_epoch_3.pth"),
        (dict(save_best="acc", less_keys="acc", greater_keys=["mAP"]), [0.4, 0.3, 0.2, 0.1], "best_acc_epoch_4.pth"),
    ],
)
def test_save_best_keeps_one_file_for_the_best_score_by_the_rule(tmp_path: Path, kwargs: dict[str, Any],
                                                                  scores: list[float], best: str) -> None:
    from mmcv.runner import EvalHook

    runner = run_epochs(tmp_path, EvalHook(DataLoader(ScoreDataset(scores)), **kwargs))
    assert best_files(tmp_path) == [best]
    assert runner.meta["hook_msgs"]["best_score"] == (min(scores) if kwargs.get("rule") == "less" or "less_keys" in kwargs else max(scores))
    assert runner.meta["hook_msgs"]["best_ckpt"] == str(tmp_path / best)


def test_key_rules_are_inferred_from_the_name() -> None:
    from mmcv.runner import EvalHook

    loader = DataLoader(ScoreDataset([0.0]))
    assert EvalHook(loader, save_best="mAP").rule == "greater"
    assert EvalHook(loader, save_best="val_loss").rule == "less"
    assert EvalHook(loader, save_best="bbox_mAP_50").rule == "greater"
    with pytest.raises(ValueError, match="Cannot tell whether a greater or a smaller `fps` is better"):
        EvalHook(loader, save_best="fps")
    with pytest.raises(ValueError, match=r"rule\n  Input should be 'greater' or 'less'"):
        EvalHook(loader, save_best="acc", rule="bigger")  # type: ignore[arg-type]


def test_interval_and_start_choose_the_epochs_evaluated(tmp_path: Path) -> None:
    from mmcv.runner import EvalHook

    every_2 = ScoreDataset([0.1] * 4)
    run_epochs(tmp_path / "a", EvalHook(DataLoader(every_2), interval=2))
    assert every_2.calls == 2  # after epochs 2 and 4
    from_3 = ScoreDataset([0.1] * 4)
    run_epochs(tmp_path / "b", EvalHook(DataLoader(from_3), start=3, interval=1))
    assert from_3.calls == 2  # after epochs 3 and 4
    with pytest.raises(ValueError, match=r"interval\n  Input should be greater than 0"):
        EvalHook(DataLoader(every_2), interval=0)
    with pytest.raises(ValueError, match=r"start\n  Input should be greater than or equal to 0"):
        EvalHook(DataLoader(every_2), start=-1)


def test_by_iteration_the_best_file_counts_iterations(tmp_path: Path) -> None:
    from mmcv.runner import EvalHook, IterBasedRunner

    model = Model()
    runner = IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), work_dir=tmp_path, max_iters=4)
    runner.register_hook(EvalHook(DataLoader(ScoreDataset([0.5, 0.9])), by_epoch=False, interval=2, save_best="acc"), priority="LOW")
    runner.run([[None] * 4], [("train", 1)])
    assert best_files(tmp_path) == ["best_acc_iter_4.pth"]


def test_file_client_args_are_refused_with_the_reason() -> None:
    from mmcv.runner import EvalHook

    with pytest.raises(ValueError, match=r"`file_client_args` .* is not supported: runnerkit writes the best checkpoint"):
        EvalHook(DataLoader(ScoreDataset([0.0])), file_client_args={"backend": "petrel"})


def test_an_empty_evaluation_skips_the_best_checkpoint_with_mmcvs_warning(tmp_path: Path) -> None:
    from mmcv.runner import EvalHook

    class Silent(ScoreDataset):
        def evaluate(self, results: list[Any], logger: Any = None, **kwargs: Any) -> dict[str, float]:
            return {}

    hook = EvalHook(DataLoader(Silent([])), save_best="auto")
    expected = ("Since `eval_res` is an empty dict, the behavior to save the best checkpoint will be skipped in "
                "this evaluation.")
    with pytest.warns(UserWarning) as caught:
        runner = run_epochs(tmp_path, hook, epochs=1)
    assert expected in [str(w.message) for w in caught]  # the exact words, as mmcv code may compare them
    assert best_files(tmp_path) == [] and "best_ckpt" not in (runner.meta or {}).get("hook_msgs", {})


class DrawingModel(Model):
    """Each training step draws a number from torch's global RNG (as dropout does) and records it."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn: list[float] = []

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        self.drawn.append(float(torch.rand(())))
        return super().train_step(batch, optimizer, **kwargs)

    def val_step(self, batch: Any, optimizer: Any = None, **kwargs: Any) -> dict[str, Any]:
        return {"log_vars": {"loss": 0.0}, "num_samples": 1}

    def forward(self, img: torch.Tensor, return_loss: bool = True) -> Any:
        return [0.0 for _ in img]


def training_draws(tmp_path: Path, hook: Any) -> list[float]:
    from mmcv.runner import EpochBasedRunner

    torch.manual_seed(0)
    model = DrawingModel()
    runner = EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                              work_dir=tmp_path, max_epochs=3)
    if hook is not None:
        runner.register_hook(hook, priority="LOW")
    runner.run([[None]], [("train", 1)])
    return model.drawn


def test_mmcvs_eval_hook_draws_from_the_global_rng_and_runnerkits_own_forks_it(tmp_path: Path) -> None:
    # Under mmcv an evaluation moves torch's global RNG (each new DataLoader iterator draws its base
    # seed), so what training draws afterwards changes; runnerkit's own EvalHook evaluates under forked states.
    from mmcv.runner import DistEvalHook, EvalHook

    import runnerkit.hooks

    def loader() -> DataLoader[Any]:
        return DataLoader(ScoreDataset([0.1] * 3), batch_size=2)

    without = training_draws(tmp_path / "none", None)
    own = training_draws(tmp_path / "own", runnerkit.hooks.EvalHook(loader()))
    mmcv_like = training_draws(tmp_path / "mmcv", EvalHook(loader()))
    assert len(without) == 3 and own == without
    assert mmcv_like[0] == without[0] and mmcv_like[1:] != without[1:]
    assert runnerkit.hooks.EvalHook.fork_rng and runnerkit.hooks.DistEvalHook.fork_rng
    assert not EvalHook.fork_rng and not DistEvalHook.fork_rng
