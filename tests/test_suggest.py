"""The one "did you mean" helper (``runnerkit._suggest``)."""

from __future__ import annotations

import pytest

from runnerkit._suggest import closest, did_you_mean, edit_distance


@pytest.mark.parametrize(("a", "b", "distance"), [("lr_confg", "lr_config", 1), ("load_form", "load_from", 1),
                                                  ("evaluaton", "evaluation", 1), ("data_root", "data", 5), ("", "ab", 2)])
def test_edit_distance_counts_a_swap_of_neighbours_as_one_edit(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance


def test_names_within_two_edits_come_first_whatever_their_length() -> None:
    assert closest("optimzer", ["optimizer_config", "optimizer", "model"])[0] == "optimizer"
    assert closest("lr", ["seed", "model"]) == []


def test_did_you_mean_reads_as_a_sentence() -> None:
    assert did_you_mean("IterBasedRuner", ["IterBasedRunner", "EpochBasedRunner"]) == "Did you mean `IterBasedRunner`?"
    assert did_you_mean("zzz", ["IterBasedRunner"]) == ""
