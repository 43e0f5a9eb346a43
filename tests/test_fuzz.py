"""Every malformed input ends in a documented error (issue 8 section 5; docs/errors.md).

``runnerkit.build`` and the config reader are fed thousands of generated malformed inputs. Each
either works or raises one of the exception types docs/errors.md lists, with a non-empty message;
never an ``AttributeError``, ``RecursionError`` or a crash deep inside. Generation is seeded, so
a failure reproduces; the whole file runs in a few seconds.
"""

from __future__ import annotations

import decimal
import fractions
import json
import math
import random
import re
from pathlib import Path
from typing import Any

import pydantic
import pytest
import torch

import runnerkit
from runnerkit.config import load_config

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"

#: what ``build`` and the config reader may raise for malformed input (each is listed in docs/errors.md).
BUILD_ERRORS: tuple[type[BaseException], ...] = (
    runnerkit.ConfigError,
    runnerkit.UnknownComponentError,
    runnerkit.AmbiguousComponentError,
    runnerkit.PluginLoadError,
    pydantic.ValidationError,
    TypeError,
)
READER_ERRORS: tuple[type[BaseException], ...] = (runnerkit.ConfigError,)



def test_every_exception_type_the_fuzz_tests_accept_is_documented() -> None:
    text = DOCS.read_text()
    for error in {*BUILD_ERRORS, *READER_ERRORS}:
        assert f"{error.__name__}`" in text, error


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def train_step(self, data: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        return {"loss": self.w.sum(), "log_vars": {}, "num_samples": 1}


class Index:
    def __index__(self) -> int:
        return 5


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr fails")


class Abstract(runnerkit.BaseRunner):
    pass


def _function() -> None:
    raise AssertionError("a config must never call this")


# -- generated values -----------------------------------------------------------------------------
# A seeded generator (not hypothesis: thousands of cases must run in a few seconds on a busy CI
# machine); the case number is in every failure message, so a failure reproduces.

CASES = 3000
ODD: list[Any] = [
    b"5", b"\x00", "5_0", "1e3", " 7 ", "\x00", "", "nan", 5.0, 0.5, -1, 0, 2**70, -(2**70), math.nan, math.inf,
    fractions.Fraction(5), decimal.Decimal("5"), decimal.Decimal("nan"), torch.tensor(5), torch.tensor([1, 2]),
    Index(), True, False, None, object(), int, Net, Abstract, runnerkit.IterBasedRunner, _function,
    print, (1, 2), frozenset({1}), {1, 2}, complex(1, 2), Ellipsis, type, b"", bytearray(b"x"), range(3),
]
KEYS: list[Any] = [
    "type", "constructor", "max_iters", "max_epochs", "meta", "logger", "model", "optimizer", "batch_processor",
    "compile", "self", "", "1x", "max-iters", "__class__", "kwargs", 0, 1.5, None, True, (1,), b"k", "x", "é",
]
TYPES: list[Any] = [
    "IterBasedRunner", "EpochBasedRunner", "IterBasedRuner", "runnerkit:IterBasedRunner", "nosuch:IterBasedRunner",
    "os:system", "subprocess:Popen", "builtins:exec", "builtins:int", "runnerkit.runners.base:BaseRunner",
    "tests.test_fuzz:Abstract", "tests.test_fuzz:Net", "tests.test_fuzz:_function", "tests.test_fuzz:Nothing",
    "runnerkit.nosuchmodule:X", ":", "a:", ":b", "::", "CheckpointHook", "DefaultRunnerConstructor", "", "é:x",
]
CONSTRUCTORS: list[Any] = [
    "DefaultRunnerConstructor", "os:system", "subprocess:Popen", "builtins:exec", "builtins:dict",
    "runnerkit._build:DefaultRunnerConstructor", "IterBasedRunner", "Nope", "tests.test_fuzz:_function",
]
#: never a real folder: a valid runner config must not create directories around the machine.
WORK_DIRS: list[Any] = [b"/tmp/x", "a\x00b", "", 3, 3.5, None, ["w"], {"a": 1}, object(), b"", "\x00"]


def scalar(rng: random.Random) -> Any:
    pick = rng.randrange(7)
    if pick == 0:
        return rng.randint(-(2**40), 2**40)
    if pick == 1:
        return rng.choice([rng.random() * 1e6, -rng.random(), math.nan, -math.inf])
    if pick == 2:
        return "".join(rng.choice("ab1_: \x00é.") for _ in range(rng.randrange(8)))
    if pick == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
    return rng.choice(ODD)


def value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(10)
    if depth > 3 or pick < 6:
        return scalar(rng)
    if pick < 8:
        return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randrange(4))}
    items = [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return tuple(items) if pick == 8 else items


def runner_config(rng: random.Random) -> Any:
    if rng.randrange(10) == 0:
        return value(rng)  # not even a mapping
    cfg: dict[Any, Any] = {rng.choice(KEYS): value(rng) for _ in range(rng.randrange(4))}
    if rng.randrange(5):
        cfg["type"] = rng.choice(TYPES) if rng.randrange(4) else scalar(rng)
    if rng.randrange(4) == 0:
        cfg["constructor"] = rng.choice(CONSTRUCTORS) if rng.randrange(3) else rng.choice(ODD)
    for key in ("max_iters", "max_epochs"):
        if rng.randrange(3) == 0:
            cfg[key] = scalar(rng) if rng.randrange(3) else rng.randint(1, 5)
    if rng.randrange(4) == 0:
        cfg["work_dir"] = rng.choice(WORK_DIRS)
    if rng.randrange(15) == 0:
        cycle: dict[str, Any] = {}
        cycle["again"] = [cycle]
        cfg[rng.choice(["meta", "x"])] = cycle
    if rng.randrange(15) == 0:
        deep: Any = 1
        for _ in range(rng.randint(60, 3000)):
            deep = [deep] if rng.randrange(2) else {"k": deep}
        cfg[rng.choice(["meta", "x"])] = deep
    return cfg


def default_args(rng: random.Random) -> Any:
    pick = rng.randrange(6)
    if pick == 0:
        return None
    if pick == 1:
        return value(rng)
    args = {rng.choice(KEYS): value(rng) for _ in range(rng.randrange(3))}
    args.pop("work_dir", None)
    args["model"] = MODEL if rng.randrange(6) else value(rng)
    return args


MODEL = Net()


def check(allowed: tuple[type[BaseException], ...], case: object, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except allowed as err:
        assert str(err).strip(), f"case {case}: {type(err).__name__} with an empty message"
        return err
    except BaseException as err:
        raise AssertionError(f"case {case}: undocumented {type(err).__name__}: {err}") from err


def test_build_ends_every_malformed_config_in_a_documented_error() -> None:
    rng = random.Random(8)
    outcomes: dict[str, int] = {}
    for case in range(CASES):
        cfg, args = runner_config(rng), default_args(rng)
        result = check(BUILD_ERRORS, (case, cfg, args), runnerkit.build, cfg, default_args=args)
        if not isinstance(result, BaseException):
            assert isinstance(result, runnerkit.BaseRunner)
        outcomes[type(result).__name__] = outcomes.get(type(result).__name__, 0) + 1
    # The generator reaches every kind of outcome (a change that made it trivial would show here).
    assert {"IterBasedRunner", "ConfigError", "UnknownComponentError", "ValidationError", "TypeError",
            "PluginLoadError"} <= set(outcomes), outcomes


# -- the config reader ------------------------------------------------------------------------------

SEEDS = [
    '{"runner": {"type": "IterBasedRunner", "max_iters": 5}}',
    "runner:\n  type: IterBasedRunner\n  max_iters: 5\nbase: &a [1, 2]\nmore: *a\n",
    '[runner]\ntype = "IterBasedRunner"\nmax_iters = 5\n',
    '{"_base_": ["other.json"], "x": 1}',
    "_base_: evil.py\n",
    "a: &a [*a]\n",  # a YAML alias that contains itself
    "a: &a [1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g]\n",  # 8**8 values from a few lines
    "? [1, 2]\n: x\n",  # an unhashable key
    "1: a\n2: b\n",  # non-string keys
    "!!python/object/apply:os.system ['touch pwned']\n",
    "x: !!binary AAAA\ny: 2001-12-14\n",
    "[" * 5000 + "]" * 5000,
    "{" * 3000,
    "a" + ".b" * 300 + " = 1\n",
]


def config_file(rng: random.Random) -> tuple[str, bytes]:
    suffix = rng.choice([".json", ".yaml", ".yml", ".toml"])
    how = rng.randrange(5)
    if how == 0:
        return suffix, bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    if how == 1:
        return suffix, "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(64))).encode()
    seed = rng.choice(SEEDS)
    if how == 4:
        return suffix, seed.encode()
    data = seed
    for _ in range(rng.randint(1, 3)):
        cut = rng.randrange(len(data) + 1)
        noise = "".join(rng.choice('{}[]:,"\'#&*!-? \n\t=.01abx_') for _ in range(rng.randrange(6)))
        data = data[:cut] + noise + data[cut + rng.randrange(5):]
    return suffix, data.encode()


def test_the_config_reader_ends_every_malformed_file_in_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"y": 2}')
    (tmp_path / "evil.py").write_text("open(__file__ + '.ran', 'w').close()\n")
    rng = random.Random(9)
    outcomes: dict[str, int] = {}
    for case in range(CASES * 2 // 3):
        suffix, data = config_file(rng)
        path = tmp_path / f"cfg{suffix}"
        path.write_bytes(data)
        result = check(READER_ERRORS, (case, suffix, data[:200]), load_config, path)
        outcomes[type(result).__name__] = outcomes.get(type(result).__name__, 0) + 1
        if isinstance(result, BaseException):
            continue
        assert isinstance(result, dict)
        assert all(isinstance(k, str) for k in result)
        json.dumps(result, default=repr)  # a tree of plain values: no cycle
        runner = result.get("runner")
        if isinstance(runner, dict):
            check(BUILD_ERRORS, (case, suffix, data), runnerkit.build, runner, default_args={"model": MODEL})
    assert not (tmp_path / "evil.py.ran").exists()
    assert not (tmp_path / "pwned").exists()
    assert outcomes.get("dict", 0) > 100 and outcomes.get("ConfigError", 0) > 100, outcomes


def test_the_fuzzed_error_types_cover_the_documented_failures() -> None:
    """A few fixed inputs that must each meet one documented error (so the generators reach them)."""
    model = Net()
    cases: list[tuple[Any, type[BaseException], str]] = [
        ({"type": "IterBasedRunner", "max_iters": "5_0"}, pydantic.ValidationError, r"max_iters\n.*got str `'5_0'`"),
        ({"type": "IterBasedRunner", 3: 1}, runnerkit.ConfigError, r"the key `3` is an int, not a string"),
        ({"type": "IterBasedRunner", "self": 1}, runnerkit.ConfigError, r"`self` cannot be an argument name"),
        ({"type": Abstract}, runnerkit.ConfigError, r"^`type`: the class `tests.test_fuzz.Abstract` is abstract"),
        ({"type": "IterBasedRunner", "work_dir": b"/tmp"}, pydantic.ValidationError, r"work_dir\n.*got bytes"),
        ({"type": "IterBasedRunner", "work_dir": "a\x00b"}, pydantic.ValidationError, r"work_dir\n.*NUL character"),
        ({"type": "IterBasedRunner", "work_dir": 7}, pydantic.ValidationError, r"work_dir\n.*got int `7`"),
    ]
    for cfg, error, pattern in cases:
        with pytest.raises(error, match=re.compile(pattern, re.S)):
            runnerkit.build(cfg, default_args={"model": model})
