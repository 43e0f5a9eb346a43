"""The training loop's hot path runs as specialized bytecode on CPython 3.11.

CPython 3.11 rewrites a function's attribute reads and writes into fast specialized forms only
after the function has been entered or has jumped back unconditionally a few times, and only
for objects whose attributes are not held in a dict of their own (``vars(obj)`` creates one for
good). The training loop runs inside one call, and hooks are inspected at registration: either
mistake made the whole loop run generic bytecode, several per cent of a small model's step.
Checked in a fresh interpreter, as code other tests ran may already have been specialized.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the names of CPython 3.11's specialized instructions")

SCRIPT = """
import dis, json, sys, torch, runnerkit
from runnerkit.hooks.iter_timer import IterTimerHook
from runnerkit.runners import train_loop
from tests.helpers import TinyNet, make_loader

def ops(fn, names):
    found = {}
    for ins in dis.get_instructions(fn, adaptive=True):
        if ins.argval in names and "ATTR" in ins.opname:
            found.setdefault(ins.argval, []).append(ins.opname)
    return found

def run(hooks):
    model = TinyNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 200},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01),
                              "work_dir": sys.argv[1]})
    for hook in hooks:
        runner.register_hook(hook)
    runner.run([make_loader(n=400)], [("train", 1)])

run([])  # no hook called per iteration: nothing but the loop itself jumps back
loop = ops(train_loop.train_loop, {"data_batch", "iter_done"})
run([IterTimerHook()])
print(json.dumps({"loop": loop, "timer": ops(IterTimerHook.before_iter, {"t", "data_time"})}))
"""


def test_the_loop_and_a_hooks_own_attributes_run_specialized(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=root, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    ops = json.loads(proc.stdout.splitlines()[-1])
    assert set(ops["loop"]["data_batch"]) == {"STORE_ATTR_INSTANCE_VALUE"}, ops
    assert set(ops["loop"]["iter_done"]) == {"STORE_ATTR_SLOT"}, ops
    assert ops["timer"] == {"t": ["LOAD_ATTR_INSTANCE_VALUE"], "data_time": ["STORE_ATTR_INSTANCE_VALUE"]}, ops
