"""``mmcv.runner.BaseModule`` (with ``Sequential``, ``ModuleList``, ``ModuleDict``) and mmcv's initializers
on the layer: from the same seed, ``init_weights`` gives the weights and the init-info log that real
mmcv 1.7.2 gave (``scripts/make_init_reference.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from init_models import build, log_lines, pretrained_checkpoint

REFERENCE = json.loads((Path(__file__).parent / "data" / "mmcv_init_reference.json").read_text())


@pytest.fixture()
def fresh_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """init_weights logs to the first logger get_logger set up: start from none, as a fresh process does."""
    from runnerkit.compat.mmcv.utils import logging as mmcv_logging

    monkeypatch.setattr(mmcv_logging, "logger_initialized", {})


def test_init_weights_gives_mmcvs_weights_and_init_log(tmp_path: Path, fresh_loggers: None) -> None:
    import logging

    from mmcv.utils import get_logger

    checkpoint = pretrained_checkpoint(tmp_path)
    name = f"parity_{tmp_path.name}"
    logger = get_logger(name, log_file=str(tmp_path / "init.log"))
    try:
        torch.manual_seed(0)
        model = build(checkpoint)
        model.init_weights()
        for handler in logger.handlers:
            handler.flush()
    finally:
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
    params = {k: v.flatten().tolist() for k, v in model.state_dict().items()}
    assert params.keys() == REFERENCE["params"].keys()
    for key, values in REFERENCE["params"].items():
        assert params[key] == pytest.approx(values, abs=1e-6), key
    expected = [line.replace("parity - ", f"{name} - ") for line in REFERENCE["log"]]
    assert log_lines((tmp_path / "init.log").read_text(), tmp_path) == expected
    assert not hasattr(model, "_params_init_info") and model.is_init
    logging.getLogger(name).handlers.clear()


def test_init_weights_twice_warns_and_repr_shows_init_cfg() -> None:
    from mmcv.runner import BaseModule

    class Net(BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Constant", layer="Linear", val=0.5, bias=2))
            self.fc = nn.Linear(2, 2)

    net = Net()
    net.init_weights()
    assert torch.all(net.fc.weight == 0.5) and torch.all(net.fc.bias == 2)
    with pytest.warns(UserWarning, match="init_weights of Net has been called more than once"):
        net.init_weights()
    assert repr(net).endswith("init_cfg={'type': 'Constant', 'layer': 'Linear', 'val': 0.5, 'bias': 2}")


def test_bad_init_cfgs_say_what_is_wrong() -> None:
    from mmcv.runner import Sequential

    from runnerkit.compat.mmcv.cnn_init import initialize

    with pytest.raises(KeyError, match="Gaussian is not in the initializer registry"):
        initialize(nn.Linear(1, 1), dict(type="Gaussian"))
    with pytest.raises(ValueError, match='`override` must contain the key "name"'):
        initialize(nn.Linear(1, 1), dict(type="Normal", override=dict(type="Normal")))
    with pytest.raises(RuntimeError, match="module did not have attribute nothing"):
        initialize(nn.Linear(1, 1), dict(type="Normal", override=dict(name="nothing")))
    with pytest.raises(TypeError, match="init_cfg must be a dict or a list of dict"):
        initialize(nn.Linear(1, 1), "Normal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distribution must be 'uniform' or 'normal', but got 'gauss'"):
        Sequential(nn.Linear(1, 1), init_cfg=dict(type="Xavier", distribution="gauss", layer="Linear")).init_weights()


def test_base_module_family_behaves_as_torch_containers() -> None:
    from mmcv.runner import BaseModule, ModuleDict, ModuleList, Sequential

    seq = Sequential(nn.Linear(2, 3), nn.ReLU(), init_cfg=dict(type="Constant", layer="Linear", val=1))
    assert isinstance(seq, nn.Sequential) and isinstance(seq, BaseModule) and len(seq) == 2
    assert seq(torch.ones(1, 2)).shape == (1, 3)
    assert len(ModuleList([nn.Linear(1, 1)] * 2)) == 2 and list(ModuleDict({"a": nn.ReLU()})) == ["a"]
