"""The exceptions runnerkit raises (docs/errors.md has the same tree with examples).

One small tree, rooted at :class:`RunnerkitError`::

    RunnerkitError
    ├── UnknownComponentError   (also a KeyError)   no component has that name
    ├── AmbiguousComponentError (also a KeyError)   several distributions provide that name
    ├── PluginLoadError         (also an ImportError) a component or plugin could not be loaded
    ├── ConfigError             (also a ValueError)  a config file, section, key or value is unusable
    ├── ComponentTypeError      (also a TypeError)   an instance where a class is expected, or a
    │                                                 constructor whose result is not a runner
    ├── CheckpointError         (also a ValueError)  a checkpoint file is damaged or does not fit
    ├── WorkDirInUseError                            a fresh run where another run's checkpoints are
    │   └── WorkDirLockedError                       another process is running in that work dir
    ├── NonFiniteLossError      (also a FloatingPointError) training produced a NaN/inf loss or weights
    ├── DistributedError        (also a RuntimeError) torch.distributed set-up or a collective failed
    │                                                 (runnerkit.dist)
    ├── MissingDependencyError  (also an ImportError) an optional dependency is not installed
    │                                                 (runnerkit.requires)
    ├── MissingPlotDependency   (also an ImportError) ``runnerkit plot`` needs matplotlib (runnerkit.plot)
    ├── LogError                                     a training log cannot be read or plotted (runnerkit.plot)
    ├── CommandError                                 a command cannot do what was asked (runnerkit.cli)
    └── TimerError                                   mmcv's ``Timer`` read before it was started
                                                      (runnerkit.compat.mmcv.utils.timer, mmcv's name)

Outside the tree, :class:`TrainingInterrupted` (a ``SystemExit``) ends a run stopped by SIGTERM or
SIGINT after its checkpoint is written, so the process exits 143 / 130 unless it is caught.

Besides these, runnerkit raises only standard exceptions, each with one meaning:

- :class:`pydantic.ValidationError` (a ``ValueError``): arguments that fail a component's
  argument model, every bad field at once (``max_iters="5_0"``, ``work_dir=b"x"``).
- ``TypeError``: a Python caller passed an object of the wrong type (``build([...])``).
- ``ValueError``: a Python caller passed a value out of range to a function or hook argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RunnerkitError(Exception):
    """Base class of every error runnerkit raises on purpose."""

    def __str__(self) -> str:
        # KeyError quotes its argument; keep messages readable for the KeyError subclasses.
        return str(self.args[0]) if self.args else ""


class UnknownComponentError(RunnerkitError, KeyError):
    """No installed component of ``kind`` is called ``name``.

    Attributes:
        kind: ``"runner"``, ``"constructor"``, ``"hook"``, ...
        name: the name that was asked for.
        suggestions: the closest known names, best first.
    """

    def __init__(
        self, kind: str, name: str, suggestions: Sequence[str] = (), detail: str = "",
        broken: Sequence[PluginLoadError] = (),
    ) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = list(suggestions)
        #: plugins that failed to load, any of which may be the one that provides ``name``.
        self.broken = list(broken)
        from runnerkit._suggest import suggestion

        hint = f" {suggestion(self.suggestions)}" if self.suggestions else ""
        if self.broken:
            failures = "; ".join(str(p) for p in self.broken)
            dists = sorted({p.distribution for p in self.broken if p.distribution})
            check = " or ".join(f"`runnerkit check-plugin {d}`" for d in dists) or "`runnerkit list`"
            msg = (
                f"Unknown {kind} `{name}`.{detail}{hint} It may be provided by a plugin that failed to load: "
                f"{failures}. Fix or remove that plugin ({check} shows its problems)."
            )
        else:
            msg = (
                f"Unknown {kind} `{name}`.{detail}{hint} "
                f"`runnerkit list --kind {kind}` shows what is installed; install the package that "
                f"provides `{name}` or correct the spelling."
            )
        super().__init__(msg)


class AmbiguousComponentError(RunnerkitError, KeyError):
    """Several providers offer a component of the same ``kind`` and ``name``.

    Attributes:
        kind: the component kind.
        name: the bare name that was asked for.
        distributions: the providers (distribution names, or plugin names for run-time plugins).
    """

    def __init__(self, kind: str, name: str, distributions: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.distributions = list(distributions)
        choices = ", ".join(f"`{d}:{name}`" for d in self.distributions)
        provided = " and ".join(f"`{d}`" for d in self.distributions)
        super().__init__(
            f"The {kind} name `{name}` is ambiguous: it is provided by {provided}. "
            f"Use a qualified name to pick one: {choices}."
        )


class PluginLoadError(RunnerkitError, ImportError):
    """A component, or the plugin that provides it, could not be loaded.

    The original exception, if any, is chained as ``__cause__``.

    Attributes:
        distribution: the distribution that provides it (None for run-time plugins).
        entry_point: the entry point (``name = value`` in ``group``) or plugin name.
        reason: what went wrong, in words.
        origin: where it came from, as the message says it (default: from the distribution, or
            from a run-time plugin).
    """

    def __init__(self, distribution: str | None, entry_point: str, reason: str, *, origin: str | None = None) -> None:
        self.distribution = distribution
        self.entry_point = entry_point
        self.reason = reason
        self.origin = origin or (f"from distribution `{distribution}`" if distribution else "from a run-time plugin")
        super().__init__(f"Cannot load `{entry_point}` {self.origin}: {reason}")


class ConfigError(RunnerkitError, ValueError):
    """A config (file, section or value) cannot be used as given.

    Attributes:
        problems: when raised by the config check, every problem found
            (:class:`runnerkit.check.Problem`, each with its key, message and ``file:line``).
    """

    def __init__(self, *args: object, problems: Sequence[Any] = ()) -> None:
        super().__init__(*args)
        self.problems = list(problems)


class ComponentTypeError(RunnerkitError, TypeError):
    """A ``type`` or ``constructor`` object is of the wrong type: an instance where a class is
    expected, or a constructor that did not build a runner (the message names it)."""


class NonFiniteLossError(RunnerkitError, FloatingPointError):
    """Training stopped because a logged loss, or the model's weights, became NaN or infinite.

    Raised at the first log interval or checkpoint after it happened; no checkpoint holding
    non-finite weights is written. Turn the check off with the ``check_finite`` config key (or
    ``runner.check_finite = False``).

    Attributes:
        first_iter: the first iteration (1-based) of the interval where it appeared.
        last_iter: the last iteration of that interval (where training stopped).
        values: the non-finite loss values, by ``log_vars`` key (empty when only weights are).
        parameters: the names of the parameters holding non-finite values (empty when not checked).
    """

    def __init__(self, message: str, *, first_iter: int, last_iter: int, values: dict[str, float] | None = None,
                 parameters: Sequence[str] = ()) -> None:
        self.first_iter = first_iter
        self.last_iter = last_iter
        self.values = dict(values or {})
        self.parameters = list(parameters)
        super().__init__(message)


class CheckpointError(RunnerkitError, ValueError):
    """A checkpoint file cannot be used: damaged, not a checkpoint, or made for another model.

    Attributes:
        path: the file.
        reason: what is wrong with it, in words.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Checkpoint `{path}` {reason}")


class WorkDirInUseError(RunnerkitError):
    """A fresh run was asked for in a work dir that holds another run's checkpoints.

    Starting it would mix the two runs (and checkpoint rotation could delete the earlier run's
    files), so nothing is trained.

    Attributes:
        work_dir: the work dir.
        files: the earlier run's files found there (names).
    """

    def __init__(self, work_dir: str, files: Sequence[str]) -> None:
        self.work_dir = work_dir
        self.files = list(files)
        shown = ", ".join(self.files[:5]) + (f" and {len(self.files) - 5} more" if len(self.files) > 5 else "")
        options = ("continue it with `resume=True` (or `resume=\"auto\"`; config key `resume`), choose another "
                   "`work_dir`, or start over with `overwrite=True` (config key `overwrite`; deletes those checkpoints)")
        super().__init__(
            f"The work dir `{work_dir}` holds the checkpoints of an earlier run ({shown}); a fresh run there "
            f"would mix with it. Nothing was trained: {options}."
        )


class WorkDirLockedError(WorkDirInUseError):
    """Another process is running in the work dir (it holds the work dir's lock).

    Raised before anything in the work dir is touched. The lock is the operating system's
    (``flock``): it goes away when that process ends, however it ends.

    Attributes:
        work_dir: the work dir.
        holder: what the running process wrote about itself (``pid``, ``host``, ``command``,
            ``started``); empty when it had not written it yet.
    """

    def __init__(self, work_dir: str, holder: dict[str, Any]) -> None:
        self.work_dir = work_dir
        self.holder = dict(holder)
        self.files = []
        if holder:
            who = (f"process {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}: "
                   f"`{holder.get('command', '?')}`")
        else:
            who = "another process (it has not said which yet)"
        RunnerkitError.__init__(
            self,
            f"The work dir `{work_dir}` is in use by a running run ({who}). Nothing was done here: wait for that run "
            "to end (or stop it; its lock goes with it), or choose another work dir.",
        )


class TrainingInterrupted(SystemExit):
    """A run stopped by a signal, after finishing its iteration and writing a checkpoint there.

    A ``SystemExit`` (not an ``Exception``): uncaught, the process exits with :attr:`code`, 143
    for SIGTERM and 130 for SIGINT, as a process killed by them would. Catch it to do something
    else; ``runnerkit run`` prints the command that resumes.

    Attributes:
        signal: the signal number (``signal.SIGTERM`` or ``signal.SIGINT``).
        checkpoint: the checkpoint written at that iteration (None without a work dir, or when
            no training iteration was running).
        iteration: the training iterations finished, the checkpoint's position; None when the
            signal came while no training iteration was running (``runnerkit run`` building the
            job, or after training ended): nothing needed saving.
        code: the exit status, ``128 + signal``.
    """

    def __init__(self, signal: int, checkpoint: str | None, iteration: int | None) -> None:
        self.signal = signal
        self.checkpoint = checkpoint
        self.iteration = iteration
        super().__init__(128 + signal)
