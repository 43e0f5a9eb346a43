"""runnerkit's ``DefaultOptimizerConstructor`` gives real mmcv 1.7.2's parameter groups, group for group.

The reference groups were recorded once by running mmcv 1.7.2 itself
(``tests/mmcv_parity/data/make_optimizer_groups.py``); mmcv is not imported here.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from runnerkit.optim import build_optimizer
from tests.mmcv_parity.data.optim_cases import CASES, MODELS, describe_groups

REFERENCE = json.loads((Path(__file__).parent / "mmcv_parity" / "data" / "optimizer_groups.json").read_text())


def test_the_reference_covers_every_case_and_was_recorded_with_mmcv_1_7_2() -> None:
    assert REFERENCE["mmcv"] == "1.7.2"
    assert sorted(REFERENCE["cases"]) == sorted(CASES)


def _approx(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (pytest.approx(v, rel=1e-12, abs=0.0) if isinstance(v, float) else v) for k, v in g.items()} for g in groups]


@pytest.mark.parametrize("case", sorted(CASES))
def test_parameter_groups_equal_mmcv_1_7_2(case: str) -> None:
    model_name, cfg = CASES[case]
    expected = REFERENCE["cases"][case]
    model = MODELS[model_name]()
    if "error" in expected:
        fix = "untie the weights or unfreeze it" if "frozen" in model_name else r"bypass_duplicate=True, \.\.\.\)` to add it once"
        with pytest.raises(ValueError, match=rf"some parameters appear in more than one parameter group: `embed.weight` and "
                                             rf"`out.weight` are one parameter \(shared weights\)\. .*{fix}"):
            build_optimizer(model, copy.deepcopy(cfg))
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer = build_optimizer(model, copy.deepcopy(cfg))
    assert type(optimizer).__name__ == expected["optimizer"]
    assert describe_groups(model, optimizer) == _approx(expected["groups"])
    assert [str(w.message) for w in caught if "duplicate" in str(w.message)] == expected["duplicate_warnings"]
