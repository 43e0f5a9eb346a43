"""What a data config may pass to ``torch.compile``: a known-safe list, each value checked.

Inductor's options reach the C++ compiler's command line (``cpp.march``, ``cpp.cxx``,
``cpp.ldflags``...), the file system (``debug_dir``, ``trace.*``) and Python callables, so a
JSON/YAML/TOML config (data, docs/security.md) may only set the ``torch.compile`` keywords and
inductor options listed here, with values of the listed shape. A ``.py`` config is code and may
pass anything ``torch.compile`` takes. This module imports no torch: ``runnerkit.build`` checks
with it before anything is built.

Example:
    >>> [message.split(":")[0] for _, message in data_compile_problems({"options": {"cpp.cxx": ["sh"]}})]
    ['`cpp.cxx` cannot be set from a data config (JSON/YAML/TOML)']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "SAFE_BACKENDS", "SAFE_INDUCTOR_FLAGS", "SAFE_INDUCTOR_INTS", "SAFE_KEYWORDS", "SAFE_MODES",
    "data_compile_problems", "refuse_unsafe_compile",
]

#: ``torch.compile(mode=...)`` values.
SAFE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
#: ``torch.compile(backend=...)`` values a data config may name (torch's own, no plugin backends).
SAFE_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs")
#: boolean inductor options (``compile=dict(options={...})``) a data config may set.
SAFE_INDUCTOR_FLAGS = (
    "aggressive_fusion", "conv_1x1_as_mm", "coordinate_descent_tuning", "epilogue_fusion", "fallback_random",
    "freezing", "group_fusion", "layout_optimization", "max_autotune", "max_autotune_gemm",
    "max_autotune_pointwise", "permute_fusion", "shape_padding", "split_reductions", "triton.cudagraphs",
)
#: integer inductor options a data config may set, with their accepted range (inclusive).
SAFE_INDUCTOR_INTS: dict[str, tuple[int, int]] = {"compile_threads": (1, 256), "max_fusion_size": (1, 4096)}
#: the ``torch.compile`` keywords a data config may give.
SAFE_KEYWORDS = ("backend", "disable", "dynamic", "fullgraph", "mode", "options")

_PY_FIX = ("set it in a `.py` config instead (a `.py` config is code and may pass any `torch.compile` option; "
           "see docs/security.md)")

Problem = tuple[tuple[str, ...], str]


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _shown(value: Any) -> str:
    return f"{type(value).__name__} `{value!r:.60}`"


def _keyword_problem(key: str, value: Any) -> str | None:
    if key in ("fullgraph", "disable") and not _is_bool(value):
        return f"expected `true` or `false`, got {_shown(value)}"
    if key == "dynamic" and value is not None and not _is_bool(value):
        return f"expected `true`, `false` or `null`, got {_shown(value)}"
    if key in ("mode", "backend") and value is None:
        return None
    if key == "mode" and value not in SAFE_MODES:
        return f"expected one of {', '.join(SAFE_MODES)}, got {_shown(value)}"
    if key == "backend" and value not in SAFE_BACKENDS:
        return (f"a data config may name only the backends {', '.join(SAFE_BACKENDS)}, got {_shown(value)}; "
                f"for another backend, {_PY_FIX}")
    return None


def _option_problem(key: str, value: Any) -> str | None:
    if key in SAFE_INDUCTOR_FLAGS:
        return None if _is_bool(value) else f"expected `true` or `false`, got {_shown(value)}"
    low, high = SAFE_INDUCTOR_INTS[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"expected an integer from {low} to {high}, got {_shown(value)}"
    return None


def data_compile_problems(value: Any) -> list[Problem]:
    """What is wrong with ``value`` as the ``compile`` key of a data config: ``(location, message)`` pairs.

    The location is relative to the ``compile`` key (``("options", "cpp.march")``). A value that is
    not a dict is left to the argument check (``True``/``False`` are always fine).
    """
    if not isinstance(value, Mapping):
        return []
    problems: list[Problem] = []
    for key, item in value.items():
        if not isinstance(key, str):
            continue  # the argument check names non-string keys
        if key not in SAFE_KEYWORDS:
            problems.append(((key,), f"`{key}` cannot be set from a data config (JSON/YAML/TOML); a data config may "
                                     f"give only the `torch.compile` options {', '.join(SAFE_KEYWORDS)}: {_PY_FIX}"))
            continue
        if key != "options":
            message = _keyword_problem(key, item)
            if message is not None:
                problems.append(((key,), message))
            continue
        if item is None:
            continue
        if not isinstance(item, Mapping):
            problems.append(((key,), f"expected a dict of inductor options, got {_shown(item)}"))
            continue
        allowed = (*SAFE_INDUCTOR_FLAGS, *SAFE_INDUCTOR_INTS)
        for name, option in item.items():
            if not isinstance(name, str) or name not in allowed:
                problems.append(((key, str(name)), (
                    f"`{name}` cannot be set from a data config (JSON/YAML/TOML): inductor options such as "
                    f"`cpp.march` and `cpp.cxx` reach the C++ compiler's command line and can run programs, so a data "
                    f"config may set only {', '.join(sorted(allowed))}; to use `{name}`, {_PY_FIX}")))
                continue
            message = _option_problem(name, option)
            if message is not None:
                problems.append(((key, name), message))
    return problems


def refuse_unsafe_compile(value: Any, key: str = "compile") -> None:
    """Raise :class:`~runnerkit.ConfigError` for the first problem :func:`data_compile_problems` finds.

    Used by :func:`runnerkit.build`: a runner config mapping is data. Code passes other options
    through ``default_args=dict(compile=...)``.
    """
    problems = data_compile_problems(value)
    if problems:
        from runnerkit._errors import ConfigError

        where, message = problems[0]
        raise ConfigError(f"`{'.'.join((key, *where))}`: {message} (or, from Python, pass the options in "
                          f"`default_args=dict(compile=...)`).")
