"""The pydantic model of a runner's arguments (CONTRACT.md section 6).

Each runner class names its model in ``args_model``; subclasses extend :class:`BaseRunnerArgs`
with their own fields. Validation reports every bad field at once, unknown keys with the
closest accepted names, and the ``max_iters``/``max_epochs`` exclusivity naming both fields.

Example:
    >>> from runnerkit.runners.args import BaseRunnerArgs
    >>> BaseRunnerArgs.model_json_schema()["properties"]["max_iters"]["description"][:8]
    'Stop tra'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Annotated, Any

import torch
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from runnerkit._bounds import MAX_COUNT
from runnerkit._suggest import MAX_HINTS, did_you_mean
from runnerkit.runners.compile import COMPILE_DESCRIPTION, COMPILE_SCHEMA, compile_options

__all__ = ["BaseRunnerArgs"]


def _runtime(python_type: str) -> WithJsonSchema:
    """JSON Schema for a value that only exists at run time (a model, an optimizer, ...)."""
    return WithJsonSchema({"x-runtime-only": True, "x-python-type": python_type})


def _no_bool(value: Any) -> Any:
    """Ints only: no bool, str (``"5_0"``), bytes, float, Fraction, Decimal, tensor or ``__index__`` object."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return None if value is None else int(value)
    raise ValueError(f"expected a positive int or None, got {type(value).__name__} `{value!r:.40}`")


def _has_step(model: Any, name: str) -> bool:
    inner = model.module if hasattr(model, "module") and isinstance(model.module, torch.nn.Module) else model
    return callable(getattr(inner, name, None))


class BaseRunnerArgs(BaseModel):
    """Arguments of :class:`runnerkit.BaseRunner` (mmcv 1.x ``BaseRunner.__init__``)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_default=True)

    model: Annotated[Any, _runtime("torch.nn.Module")] = Field(
        description="The model; it must define `train_step` (looked up on `.module` for DDP/DataParallel "
        "wrappers) unless `batch_processor` is given."
    )
    batch_processor: Annotated[Any, _runtime("callable | None")] = Field(
        default=None,
        description="Deprecated: a callable `(model, data_batch, train_mode, **kwargs)` used instead of "
        "`model.train_step`; cannot be combined with a model that has `train_step`/`val_step`.",
    )
    optimizer: Annotated[Any, _runtime("torch.optim.Optimizer | dict[str, torch.optim.Optimizer] | None")] = Field(
        default=None,
        description="A `torch.optim.Optimizer`, a dict name -> optimizer for multi-optimizer models, or None.",
    )
    work_dir: Annotated[Any, WithJsonSchema({"type": ["string", "null"]})] = Field(
        default=None,
        description="Where checkpoints and logs go (str or os.PathLike); stored as an absolute path and "
        "created with its parents.",
    )
    logger: Annotated[Any, _runtime("logging.Logger | None")] = Field(
        default=None, description="A `logging.Logger`; None gives the `runnerkit` logger."
    )
    meta: dict[str, Any] | None = Field(
        default=None, description="Free-form metadata saved in checkpoints (e.g. env info, seed, config text)."
    )
    max_iters: Annotated[int | None, BeforeValidator(_no_bool)] = Field(
        default=None, gt=0, le=MAX_COUNT,
        description="Stop training after this many iterations (exclusive with `max_epochs`; at most 2**63-1).",
    )
    max_epochs: Annotated[int | None, BeforeValidator(_no_bool)] = Field(
        default=None, gt=0, le=MAX_COUNT,
        description="Stop training after this many epochs (exclusive with `max_iters`; at most 2**63-1).",
    )

    compile: Annotated[Any, WithJsonSchema(COMPILE_SCHEMA)] = Field(default=False, description=COMPILE_DESCRIPTION)
    parallel: dict[str, Any] | None = Field(
        default=None, description="Spread the model over the process group's ranks: `dict(type=\"ddp\", **options)` "
        "(`DistributedDataParallel`'s keyword arguments), as the config key `parallel`. Unused without an initialised "
        "process group, and for a model already wrapped.",
    )

    @field_validator("model")
    @classmethod
    def _model_is_module(cls, value: Any) -> Any:
        if not isinstance(value, torch.nn.Module):
            raise ValueError(f"expected a `torch.nn.Module`, got {type(value).__name__} `{value!r:.60}`")
        return value

    @field_validator("batch_processor")
    @classmethod
    def _callable_processor(cls, value: Any) -> Any:
        if value is not None and not callable(value):
            raise ValueError(f"expected a callable or None, got {type(value).__name__} `{value!r:.60}`")
        return value

    @field_validator("optimizer")
    @classmethod
    def _optimizers(cls, value: Any) -> Any:
        if value is None or isinstance(value, torch.optim.Optimizer):
            return value
        if isinstance(value, dict):
            for key, opt in value.items():
                if not isinstance(opt, torch.optim.Optimizer):
                    raise ValueError(
                        f"`optimizer[{key!r}]` must be a `torch.optim.Optimizer`, got {type(opt).__name__}; "
                        f"build the optimizer before passing it (or use a config `optimizer=dict(type=...)`)"
                    )
            return dict(value)
        raise ValueError(
            f"expected a `torch.optim.Optimizer`, a dict of them, or None, got {type(value).__name__}"
        )

    @field_validator("work_dir")
    @classmethod
    def _absolute_work_dir(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError(f"expected a str, an os.PathLike or None, got {type(value).__name__} `{value!r:.60}`")
        try:
            path = os.fspath(value)
        except TypeError as err:  # a PathLike whose __fspath__ returns something else
            raise ValueError(f"expected a path, but `{value!r:.60}` gives none: {err}") from None
        if not isinstance(path, str):
            raise ValueError(f"expected a text path, got {type(path).__name__} `{path!r:.60}` from `{value!r:.60}`")
        if not path or "\0" in path:
            raise ValueError(f"expected a path, got `{path!r:.60}` ({'empty' if not path else 'it holds a NUL character'})")
        return os.path.abspath(path)

    @field_validator("compile")
    @classmethod
    def _compile_value(cls, value: Any) -> Any:
        compile_options(value)
        return value

    @field_validator("parallel")
    @classmethod
    def _parallel_value(cls, value: Any) -> Any:
        if value is not None:
            from runnerkit.parallel import check_parallel

            check_parallel(value)
        return value

    @field_validator("logger")
    @classmethod
    def _default_logger(cls, value: Any) -> logging.Logger:
        if value is None:
            return logging.getLogger("runnerkit")
        if not isinstance(value, logging.Logger):
            raise ValueError(f"expected a `logging.Logger` or None, got {type(value).__name__}")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _all_errors_at_once(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        """Run field validation, then add cross-field errors so that all are reported together."""
        errors: list[InitErrorDetails] = []
        result = None
        try:
            result = handler(data)
        except ValidationError as exc:
            errors.extend(_rewrite(cls, err, n < MAX_HINTS) for n, err in enumerate(exc.errors()))  # type: ignore[arg-type]
        if isinstance(data, dict):
            errors.extend(cls._cross_field_errors(data))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return result

    @classmethod
    def _cross_field_errors(cls, data: dict[str, Any]) -> list[InitErrorDetails]:
        errors: list[InitErrorDetails] = []
        if data.get("max_iters") is not None and data.get("max_epochs") is not None:
            errors.append(_error(
                (), "exclusive_fields",
                "Only one of `max_iters` and `max_epochs` can be set, got max_iters={max_iters} and "
                "max_epochs={max_epochs}; keep only one of them",
                {"max_iters": data["max_iters"], "max_epochs": data["max_epochs"]},
                {"max_iters": data["max_iters"], "max_epochs": data["max_epochs"]},
            ))
        model = data.get("model")
        processor = data.get("batch_processor")
        if isinstance(model, torch.nn.Module):
            if callable(processor):
                clash = [n for n in ("train_step", "val_step") if _has_step(model, n)]
                if clash:
                    errors.append(_error(
                        ("batch_processor",), "batch_processor_conflict",
                        "`batch_processor` and `model.{steps}` cannot be used together; remove the "
                        "batch_processor (it is deprecated) and keep the model's method",
                        {"steps": "`/`model.".join(clash)},
                        processor,
                    ))
            elif processor is None and not _has_step(model, "train_step"):
                errors.append(_error(
                    ("model",), "missing_train_step",
                    "the model ({model_type}) has no `train_step(data_batch, optimizer, **kwargs)` method; "
                    "define it (returning a dict with `loss`, `log_vars`, `num_samples`)",
                    {"model_type": type(model).__name__},
                    model,
                ))
        return errors


def _error(loc: tuple[str, ...], kind: str, template: str, ctx: dict[str, Any], value: Any = None) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, template, ctx), loc=loc, input=value)


_POSITIVE_INTS = {"max_iters": "iterations", "max_epochs": "epochs"}
_INT_ERRORS = {"greater_than", "int_type", "int_parsing", "int_from_float", "value_error"}


def _rewrite(model: type[BaseModel], err: dict[str, Any], suggest: bool = True) -> InitErrorDetails:
    """Turn pydantic's terse errors into ones that say how to fix them (``suggest``: with the closest names)."""
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and loc:
        key = str(loc[0])
        accepted = list(model.model_fields)
        hint = did_you_mean(key, accepted, cutoff=0.5) if suggest else ""
        hint = f"{hint[0].lower()}{hint[1:]} " if hint else ""
        return _error(
            loc, "unknown_argument",
            "unknown argument `{key}` for {model_name}; {hint}accepted arguments are: {accepted}",
            {"key": key, "hint": hint, "model_name": model.__name__, "accepted": ", ".join(accepted)},
            err.get("input"),
        )
    if loc and loc[0] in _POSITIVE_INTS and err["type"] == "less_than_equal":
        return _error(
            loc, "count_too_large",
            "expected at most 2**63-1 {what} (what the loop, its log and checkpoints count to), got {given}",
            {"what": _POSITIVE_INTS[str(loc[0])], "given": f"`{err.get('input')!r:.40}`"}, err.get("input"),
        )
    if loc and loc[0] in _POSITIVE_INTS and err["type"] in _INT_ERRORS:
        return _error(
            loc, "positive_int",
            "expected a positive int or None, got {given}; give the number of {what} to train for",
            {"given": f"{type(err.get('input')).__name__} `{err.get('input')!r:.40}`",
             "what": _POSITIVE_INTS[str(loc[0])]},
            err.get("input"),
        )
    # Keep pydantic's own message; passed as context so that braces in it stay as they are.
    return _error(loc, err["type"], "{message}", {"message": err["msg"]}, err.get("input"))


def validate_runner_args(runner: type, given: dict[str, Any]) -> BaseRunnerArgs:
    """``runner.args_model`` validated from ``given``; a ValidationError is titled with the runner's name.

    The title is what users see first (``2 validation errors for IterBasedRunner``), so it names the
    runner they chose rather than the argument model it shares (``BaseRunnerArgs``).
    """
    model: type[BaseRunnerArgs] = runner.args_model  # type: ignore[attr-defined]
    try:
        return model.model_validate(given)
    except ValidationError as err:
        if err.title == runner.__name__:
            raise
        details = [InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e["input"])
                   for e in err.errors()]
        raise ValidationError.from_exception_data(runner.__name__, details) from None
