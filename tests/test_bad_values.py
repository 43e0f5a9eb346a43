"""Values that used to end in tracebacks end in the documented error (issue 21, docs/errors.md).

Each case is a JSON config run through the real CLI: ``runnerkit validate`` reports the value as
``file:line: key: message`` and exits 1; ``runnerkit run`` prints the same report and one error
line, trains nothing, and prints no traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from runnerkit.hooks.text_logger import _eta
from tests.cli_helpers import main
from tests.helpers import small_job_config

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("meta device", small_job_config(device="meta"),
     r"device: the device type `meta` holds no data, so nothing can be trained on it; give one of cpu, cuda"),
    ("device that is none", small_job_config(device="abc"), r"device: `abc` is not a device: .*e\.g\. `\"cuda\"`"),
    ("seed past torch's range", small_job_config(seed=2**80),
     r"seed: a seed must be from -2\*\*63 to 2\*\*64-1 \(what `torch.manual_seed` takes\), got a 25-digit number"),
    ("norm type that is no number", small_job_config(optimizer_config={"grad_clip": {"max_norm": 1, "norm_type": "abc"}}),
     r"optimizer_config.grad_clip: `grad_clip.norm_type` must be a number \(2 for the L2 norm\) or \"inf\", got str `'abc'`"),
    ("max_iters past int64", small_job_config(runner={"type": "IterBasedRunner", "max_iters": 2**70}),
     r"runner.max_iters: expected at most 2\*\*63-1 iterations \(what the loop, its log and checkpoints count to\)"),
    ("GraphModule as a constructor",
     small_job_config(runner={"type": "IterBasedRunner", "max_iters": 2, "constructor": "torch.fx:GraphModule"}),
     r"runner.constructor: `torch.fx:GraphModule` cannot be used as a constructor: the class "
     r"`torch.fx.graph_module.GraphModule` does not take `runner_cfg` and `default_args`"),
    ("ConcatDataset of nothing",
     small_job_config(data={"samples_per_gpu": 8, "train": {"type": "torch.utils.data:ConcatDataset", "datasets": []}}),
     r"data.train.datasets: `datasets` takes objects that exist only at run time \(`Iterable\[Dataset\]`\), "
     r"which a data config cannot give"),
]


@pytest.mark.parametrize(("cfg", "message"), [(c, m) for _, c, m in CASES], ids=[n for n, _, _ in CASES])
def test_a_bad_value_is_a_located_validation_error_and_one_message_from_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cfg: dict[str, Any],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg, indent=1))
    code, out, err = main(capsys, "validate", str(path))
    assert code == 1, out + err
    assert re.search(rf"^{re.escape(str(path))}:\d+: {message}", out, re.M), out
    assert "1 problem." in out
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "work"))
    assert code == 1
    assert re.search(message, out), out
    assert err.strip().splitlines() == [f"runnerkit run: error: `{path}` has 1 problem(s), listed above; nothing was trained."]
    assert not (tmp_path / "work").exists()


def test_a_json_int_longer_than_python_reads_is_one_config_error_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(small_job_config(), indent=1).replace('"max_iters": 2', '"max_iters": ' + "9" * 5001)
    path = tmp_path / "cfg.json"
    path.write_text(text)
    line = text[: text.index("9" * 5001)].count("\n") + 1
    for command in ("validate", "run"):
        code, _out, err = main(capsys, command, str(path))
        assert code == 1
        assert err.strip() == (f"runnerkit {command}: error: {path}:{line}: a number of 5001 digits is longer than the "
                               f"4300 digits Python reads; no count, seed or size needs that many; write a smaller number.")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_device_this_machine_lacks_is_one_message_from_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(small_job_config(device="cuda")))
    assert main(capsys, "validate", str(path))[0] == 0  # a config for a GPU machine is valid anywhere
    code, _out, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "work"))
    assert code == 1
    assert err.startswith("runnerkit run: error: `device`: cannot move the model to `cuda` on this machine: ")
    assert "Traceback" not in err


def test_the_eta_of_a_run_longer_than_timedelta_holds_is_logged_not_a_crash() -> None:
    assert _eta(3 * 86400 + 5) == "3 days, 0:00:05"
    assert _eta(2**62 * 0.01) == "> 999999999 days"
    assert _eta(float("nan")) == "unknown"
