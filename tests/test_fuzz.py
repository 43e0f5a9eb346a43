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
import os
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
    '{"runner": {"type": "IterBasedRunner", "max_iters": ' + "9" * 5001 + "}}",  # past Python's int-string limit
    "seed: " + "7" * 4400 + "\n",
    "seed = " + "1" * 4301 + "\n",
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


# -- the value shapes of issue 21: huge ints, odd devices, non-str paths, path escapes, compile options ------

HUGE: list[Any] = [2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**80, -(2**63), -(2**63) - 1, 10**4000, -(10**300)]
DEVICES: list[Any] = ["cpu", "cpu:0", "cuda", "cuda:1", "mps", "xpu", "meta", "abc", "", "cuda:-1", "xla", "cuda:x",
                      "\x00", 3, None, b"cpu", ["cpu"], True]
PATHS: list[Any] = ["x", "sub/dir", ".", "..", "../x", "a/../../b", "/", "/etc", "~/.ssh", "", "\x00", "link", "link/x",
                    "link/..", 5, None, b"/tmp", ["a"], {"a": 1}, 2**70, True]
TEMPLATES: list[Any] = ["iter_{}.pth", "ckpt/e_{:04d}.pth", "{}", "x{0}", "{}{}", "{x}", "x.pth", "{", "}", "{!r}",
                        "{:s}", "/abs/{}.pth", "../{}.pth", "a/../../{}.pth", "{}/", "", 5, None, ["{}"]]
COMPILE_KEYS: list[Any] = ["mode", "backend", "fullgraph", "dynamic", "options", "disable", "name", "recompile_limit", 1]
COMPILE_VALUES: list[Any] = ["default", "max-autotune", "inductor", "aot_eager", "tvm", "os:system", True, False, None,
                             0, 1, 2**70, "", "x"]
INDUCTOR_KEYS: list[Any] = ["max_autotune", "max_fusion_size", "triton.cudagraphs", "compile_threads", "cpp.march",
                            "cpp.cxx", "cpp.ldflags", "debug_dir", "trace.enabled", "", 1]
#: what a data config may give torch.compile (docs/security.md), written out again here on purpose.
SAFE_COMPILE = {"mode", "backend", "fullgraph", "dynamic", "options", "disable"}
SAFE_INDUCTOR = {"max_autotune", "max_fusion_size", "triton.cudagraphs", "compile_threads"}


def odd(rng: random.Random, pool: list[Any]) -> Any:
    return rng.choice(pool) if rng.randrange(8) else rng.choice([*HUGE, *ODD])


def compile_value(rng: random.Random) -> Any:
    if rng.randrange(4) == 0:
        return odd(rng, [True, False, None, "yes", 1])
    value: dict[Any, Any] = {rng.choice(COMPILE_KEYS): odd(rng, COMPILE_VALUES) for _ in range(rng.randrange(3))}
    if rng.randrange(2):
        value["options"] = {rng.choice(INDUCTOR_KEYS): odd(rng, [True, False, 8, 0, 10**6, "native -wrapper sh"])
                            for _ in range(rng.randrange(3))}
    return value


def odd_job(rng: random.Random) -> dict[str, Any]:
    """A whole job config with some of its keys set to the odd values above."""
    cfg: dict[str, Any] = {
        "model": {"type": "DemoModel", "hidden": 4},
        "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 16}},
        "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {},
        "runner": {"type": "IterBasedRunner", "max_iters": 2},
    }
    setters = [
        lambda: cfg.__setitem__("seed", odd(rng, [0, 7, -1, 2**32, *HUGE])),
        lambda: cfg.__setitem__("device", odd(rng, DEVICES)),
        lambda: cfg["runner"].__setitem__("max_iters", odd(rng, [1, 5, *HUGE])),
        lambda: cfg.__setitem__("compile", compile_value(rng)),
        lambda: cfg["runner"].__setitem__("compile", compile_value(rng)),
        lambda: cfg["data"].__setitem__("workers_per_gpu", odd(rng, [0, 2, 1024, 1025, *HUGE])),
        lambda: cfg["optimizer_config"].__setitem__("grad_clip", {"max_norm": odd(rng, [1, 0.5, 0, -1, math.nan]),
                                                                  "norm_type": odd(rng, [2, 1.5, "inf", "abc", math.nan])}),
        lambda: cfg.__setitem__("checkpoint_config", {"interval": 1, "out_dir": odd(rng, PATHS),
                                                      "filename_tmpl": odd(rng, TEMPLATES)}),
        lambda: cfg.__setitem__("log_config", {"interval": 1, "hooks": [
            {"type": "TextLoggerHook", "out_dir": odd(rng, PATHS)},
            {"type": "TensorboardLoggerHook", "log_dir": odd(rng, PATHS)}]}),
        lambda: cfg.__setitem__("custom_hooks", [{
            "type": "ProfilerHook", "json_trace_path": odd(rng, PATHS),
            "on_trace_ready": {"type": "tb_trace", "dir_name": odd(rng, PATHS)}}]),
    ]
    for setter in rng.sample(setters, rng.randint(1, 3)):
        setter()
    return cfg


def _inside(path: str, work: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(work)
    return os.path.commonpath([real, top]) == top


def _accepted_config_is_safe(cfg: dict[str, Any], work: Path) -> None:
    """What a config with no problems may hold: checked here independently of runnerkit's own rules."""
    from runnerkit.job_config import JobConfig

    job = JobConfig.model_validate(cfg)  # the values a run gets (the job config reads "7" as 7, as pydantic does)
    assert job.seed is None or -(2**63) <= job.seed < 2**64
    if job.device is not None:
        assert torch.device(job.device).type in {"cpu", "cuda", "mps", "xpu"}
    assert 0 < cfg["runner"]["max_iters"] < 2**63
    for value in (cfg.get("compile"), cfg["runner"].get("compile")):
        if isinstance(value, dict):
            assert set(value) <= SAFE_COMPILE and set(value.get("options") or {}) <= SAFE_INDUCTOR
    ckpt = cfg.get("checkpoint_config") or {}
    if isinstance(ckpt.get("out_dir"), str):
        assert _inside(os.path.join(ckpt["out_dir"], work.name), work)
    if isinstance(ckpt.get("filename_tmpl"), str):
        name = ckpt["filename_tmpl"].format(1)
        assert name and not os.path.isabs(name) and ".." not in Path(name).parts
    for hook in [*(cfg.get("log_config") or {}).get("hooks", []), *cfg.get("custom_hooks", [])]:
        for key in ("out_dir", "log_dir", "json_trace_path"):
            if isinstance(hook.get(key), str):
                assert _inside(hook[key], work), (key, hook[key])
        trace = hook.get("on_trace_ready") or {}
        if isinstance(trace.get("dir_name"), str):
            assert _inside(os.path.join(work, trace["dir_name"]), work)


def test_the_config_check_refuses_every_unsafe_value_shape_and_accepts_only_safe_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runnerkit.check import check_config

    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "outside").mkdir()
    (work / "link").symlink_to(tmp_path / "outside")
    rng = random.Random(21)
    outcomes = {"accepted": 0, "refused": 0}
    for case in range(300):
        cfg = odd_job(rng)
        problems = check(READER_ERRORS, (case, cfg), check_config, cfg, work_dir="work")
        assert isinstance(problems, list), (case, cfg, problems)
        assert all(p.message.strip() and "Traceback" not in p.message for p in problems), case
        if problems:
            outcomes["refused"] += 1
        else:
            outcomes["accepted"] += 1
            _accepted_config_is_safe(cfg, work)
    assert min(outcomes.values()) > 30, outcomes
    assert sorted(os.listdir(tmp_path)) == ["outside", "work"] and sorted(os.listdir(work)) == ["link"]  # nothing written


def test_build_refuses_unsafe_compile_options_in_any_generated_runner_mapping() -> None:
    """A runner mapping is data: ``build`` refuses it before building anything when its ``compile`` holds an option
    off the safe list. (No model is given, so that nothing compiles: a safe mapping ends in the model's error.)"""
    rng = random.Random(22)
    refused = 0
    for case in range(300):
        value = compile_value(rng)
        cfg = {"type": "IterBasedRunner", "max_iters": odd(rng, [1, *HUGE]), "compile": value}
        result = check(BUILD_ERRORS, (case, cfg), runnerkit.build, cfg, default_args={"model": None})
        assert isinstance(result, BaseException), case
        unsafe = isinstance(value, dict) and any(
            isinstance(k, str) and (k not in SAFE_COMPILE or (k == "options" and isinstance(v, dict) and not set(v) <= SAFE_INDUCTOR))
            for k, v in value.items())
        by_compile = isinstance(result, runnerkit.ConfigError) and str(result).startswith("`compile.")
        assert by_compile or not unsafe, (case, value, result)
        refused += by_compile
    assert refused > 50, refused
