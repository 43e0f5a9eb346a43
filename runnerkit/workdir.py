"""What a work dir holds, and the rules a run follows there.

One run, one work dir: ``runnerkit run`` and :func:`runnerkit.job.build_job` call
:func:`prepare` before they build anything, which

- locks the work dir for the run's lifetime (``flock`` on ``.runnerkit.lock``, released by the
  operating system when the process ends), or refuses with :class:`WorkDirLockedError` naming the
  running process, before it touches anything else (:mod:`runnerkit._workdir_lock`; a runner's
  ``run`` holds it too, on rank 0, so runners built in Python are covered),
- removes the temporary files of saves that were killed (``.tmp-*``; they are never checkpoints),
- refuses to start a fresh run where another run's checkpoints are (:class:`WorkDirInUseError`),
  unless the caller resumes, or asks to start over (``overwrite=True``: those checkpoints are
  deleted first),
- resolves ``resume="auto"`` (the work dir's latest checkpoint, or a fresh start when it has none).

:func:`run_checkpoints` lists a run's interval checkpoints on disk, oldest first: what
``CheckpointHook(max_keep_ckpts=...)`` rotates. :func:`find_latest` follows the ``last_checkpoint``
pointer only to files inside the work dir.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from runnerkit._errors import WorkDirInUseError, WorkDirLockedError
from runnerkit._workdir_lock import LOCK_FILE, WorkDirLock, lock_work_dir, locked

__all__ = [
    "LAST_CHECKPOINT",
    "LOCK_FILE",
    "SIGNAL_TMPL",
    "LATEST_LINK",
    "SHARDED_STATE",
    "TMP_PREFIX",
    "Prepared",
    "WorkDirInUseError",
    "WorkDirLock",
    "WorkDirLockedError",
    "checkpoint_folder",
    "clean_tmp_files",
    "find_latest",
    "is_checkpoint_dir",
    "is_tmp_file",
    "lock_work_dir",
    "locked",
    "prepare",
    "previous_run_files",
    "resolve_resume",
    "rotation_candidates",
    "run_checkpoints",
]

#: the file in a work dir that names the latest checkpoint (works where symlinks do not).
LAST_CHECKPOINT = "last_checkpoint"
#: the symlink to the latest checkpoint, where the file system allows symlinks.
LATEST_LINK = "latest.pth"
#: the name prefix of the temporary files atomic writes rename into place.
TMP_PREFIX = ".tmp-"
#: the file of a sharded checkpoint folder that holds its meta and loop state (written last, by rank 0).
SHARDED_STATE = "runnerkit.pth"

#: the name of the checkpoint a run stopped by a signal writes (numbered by iteration).
SIGNAL_TMPL = "iter_{}.pth"
#: checkpoint names runnerkit writes: interval checkpoints and best checkpoints.
_RUN_FILE = re.compile(r"^(?:(?:epoch|iter)_\d+|best_.+)\.pth$")
_RUN_FOLDER = re.compile(r"^(?:epoch|iter)_\d+$")


def is_checkpoint_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a complete sharded checkpoint folder (DCP's ``.metadata`` and ``runnerkit.pth``)."""
    return os.path.isfile(os.path.join(path, ".metadata")) and os.path.isfile(os.path.join(path, SHARDED_STATE))


def is_tmp_file(name: str) -> bool:
    """Whether ``name`` (a file name) is the temporary file of an atomic write."""
    return name.startswith(TMP_PREFIX) or name == LATEST_LINK + ".tmp"


def clean_tmp_files(directory: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files that killed saves left in ``directory``; return their names.

    Call it only when no other process writes checkpoints there (a run starting).
    """
    directory = os.fspath(directory)
    removed: list[str] = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(directory):
            if is_tmp_file(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_dir(follow_symlinks=False):  # a sharded save's folder
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed.append(entry.name)
    return sorted(removed)


def run_checkpoints(directory: str | os.PathLike[str], filename_tmpl: str) -> list[str]:
    """The checkpoints named by ``filename_tmpl`` (e.g. ``"iter_{}.pth"``) in ``directory``, oldest first.

    Files are ordered by the number in their name; temporary files and anything the template does
    not match (best checkpoints, ``latest.pth``) are left out. A template with a subfolder
    (``"ckpts/epoch_{}.pth"``) is looked for in that subfolder. Sharded checkpoint folders count
    too (``iter_{}`` for ``iter_{}.pth``). Returns full paths.
    """
    sub, name_tmpl = os.path.split(filename_tmpl)
    folder = os.path.join(os.fspath(directory), sub)
    head, sep, tail = name_tmpl.partition("{}")
    if not sep:
        return []
    pattern = re.compile("^" + re.escape(head) + r"(\d+)" + re.escape(tail) + "$")
    folder_tail = tail[: -len(".pth")] if tail.endswith(".pth") else tail
    sharded = re.compile("^" + re.escape(head) + r"(\d+)" + re.escape(folder_tail) + "$")
    found: list[tuple[int, str]] = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(folder):
            if is_tmp_file(entry.name):
                continue
            match = pattern.match(entry.name) if entry.is_file() else None
            if match is None and (match := sharded.match(entry.name)) and not is_checkpoint_dir(entry.path):
                match = None
            if match:
                found.append((int(match.group(1)), entry.path))
    return [path for _, path in sorted(found)]


def rotation_candidates(directory: str | os.PathLike[str], filename_tmpl: str) -> list[str]:
    """What ``CheckpointHook(max_keep_ckpts=...)`` rotates in ``directory``, oldest first.

    The checkpoints ``filename_tmpl`` names (in its subfolder, if it has one) and the checkpoints
    a signal's stop wrote (``SIGNAL_TMPL``, ``iter_<n>.pth`` in ``directory``). Ordered by number
    when both count iterations; otherwise (epochs and iterations: an ``EpochBasedRunner`` stopped
    by SIGTERM) by modification time, then number.
    """
    interval = run_checkpoints(directory, filename_tmpl)
    if os.path.normpath(filename_tmpl) == SIGNAL_TMPL:
        return interval
    stopped = [p for p in run_checkpoints(directory, SIGNAL_TMPL) if p not in interval]
    if not stopped:
        return interval
    numbered = {p: i for i, p in enumerate(interval)} | {p: i for i, p in enumerate(stopped)}
    return sorted([*interval, *stopped], key=lambda p: (_mtime(p), numbered[p]))


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def checkpoint_folder(work_dir: str | os.PathLike[str] | None, out_dir: str | os.PathLike[str] | None) -> str | None:
    """Where ``CheckpointHook(out_dir=...)`` of a run in ``work_dir`` writes: ``out_dir/<work dir's name>`` (mmcv's
    rule), or the work dir itself without ``out_dir``."""
    if out_dir is None:
        return os.fspath(work_dir) if work_dir is not None else None
    if work_dir is None:
        return os.fspath(out_dir)
    return os.path.join(os.fspath(out_dir), os.path.basename(os.fspath(work_dir).rstrip(os.sep)))


def previous_run_files(directory: str | os.PathLike[str]) -> list[str]:
    """The files in ``directory`` that show an earlier run: its checkpoints and latest pointers (names)."""
    directory = os.fspath(directory)
    names: list[str] = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(directory):
            if is_tmp_file(entry.name):
                continue
            if entry.name in (LAST_CHECKPOINT, LATEST_LINK) or (_RUN_FILE.match(entry.name) and entry.is_file()) or (
                    _RUN_FOLDER.match(entry.name) and is_checkpoint_dir(entry.path)):
                names.append(entry.name)
    return sorted(names, key=_natural)


def _natural(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _inside(path: str, directory: str) -> bool:
    real, root = os.path.realpath(path), os.path.realpath(directory)
    return os.path.commonpath([real, root]) == root and real != root


def find_latest(directory: str | os.PathLike[str]) -> str | None:
    """The latest checkpoint in ``directory``, or None.

    From ``last_checkpoint``, else the ``latest.pth`` symlink, else the interval checkpoint with
    the highest number. A pointer to a file outside ``directory``, and a checkpoint name that is a
    link to one, are ignored with a warning: a work dir copied from elsewhere, or written by
    someone else, cannot send a resume to any file.
    """
    directory = os.fspath(directory)
    pointer = os.path.join(directory, LAST_CHECKPOINT)
    if os.path.isfile(pointer):
        with open(pointer, encoding="utf-8", errors="replace") as fh:
            name = fh.read().strip()
        if name:
            path = os.path.join(directory, name)  # an absolute name stays absolute
            if not _inside(path, directory):
                warnings.warn(
                    f"`{pointer}` points outside the work dir (to `{name}`); ignoring it. To resume from that file, "
                    "name it explicitly with `resume=PATH` (config key `resume`).",
                    RuntimeWarning,
                    stacklevel=2,
                )
            elif os.path.isfile(path) or is_checkpoint_dir(path):
                return path
    link = os.path.join(directory, LATEST_LINK)
    if os.path.islink(link) and os.path.isfile(link):
        if _inside(link, directory):
            return os.path.realpath(link)
        warnings.warn(
            f"`{link}` points outside the work dir (to `{os.path.realpath(link)}`); ignoring it.",
            RuntimeWarning,
            stacklevel=2,
        )
    numbered = [p for tmpl in ("iter_{}.pth", "epoch_{}.pth") for p in _inside_only(run_checkpoints(directory, tmpl),
                                                                                     directory)[-1:]]
    if numbered:
        return max(numbered, key=os.path.getmtime)
    return None


def _inside_only(paths: list[str], directory: str) -> list[str]:
    """``paths`` without those that lead outside ``directory`` (a symlink ``iter_9.pth -> /elsewhere``), with a warning."""
    kept: list[str] = []
    for path in paths:
        if _inside(path, directory):
            kept.append(path)
        else:
            warnings.warn(
                f"`{path}` is a link to `{os.path.realpath(path)}`, outside the work dir; ignoring it. To resume from "
                "that file, name it explicitly with `resume=PATH` (config key `resume`).",
                RuntimeWarning,
                stacklevel=3,
            )
    return kept


def resolve_resume(
    resume: str | os.PathLike[str] | bool | None, work_dir: str | None, checkpoint_dirs: Sequence[str] = ()
) -> str | None:
    """The checkpoint to resume from: ``resume`` is a path, True (the work dir's latest, which must exist),
    ``"auto"`` (the work dir's latest, or None when it has none) or None/False (no resume).

    ``checkpoint_dirs``: where the run's checkpoints go when not in the work dir (see
    :func:`checkpoint_folder`); the latest is looked for there first, then in the work dir.

    Raises:
        FileNotFoundError: ``resume`` is True or a path and there is no such checkpoint.
        ValueError: ``resume`` is True or ``"auto"`` and there is no work dir.
    """
    if resume is None or resume is False:
        return None
    if resume is True or resume == "auto":
        if work_dir is None:
            raise ValueError(f"`resume={resume!r}` resumes from the work dir, but there is none; give a `work_dir`.")
        folders = _unique([*checkpoint_dirs, work_dir])
        latest = next((found for d in folders if os.path.isdir(d) and (found := find_latest(d)) is not None), None)
        if latest is None and resume is True:
            where = " or ".join(f"`{d}`" for d in folders)
            raise FileNotFoundError(
                f"No checkpoint to resume from in {where} (no `{LAST_CHECKPOINT}`, `{LATEST_LINK}` or "
                "`iter_N.pth`/`epoch_N.pth`); resume=\"auto\" starts fresh when there is none."
            )
        return latest
    path = os.fspath(resume)
    if not isinstance(path, str):
        raise TypeError(f"`resume` must be a path, True, \"auto\" or None, got {type(resume).__name__} `{resume!r}`.")
    if os.path.isdir(path) and not is_checkpoint_dir(path):
        latest = find_latest(path)
        if latest is None:
            raise FileNotFoundError(f"No checkpoint to resume from in `{path}` (no `{LAST_CHECKPOINT}` or `{LATEST_LINK}`).")
        return latest
    if not os.path.exists(path):
        raise FileNotFoundError(f"the checkpoint `{path}` does not exist; check the path (relative to `{os.getcwd()}`).")
    return path


def _unique(folders: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for folder in folders:
        key = os.path.realpath(folder)
        if key not in seen:
            seen.add(key)
            unique.append(folder)
    return unique


@dataclass
class Prepared:
    """What :func:`prepare` found and did.

    Attributes:
        resume_from: the checkpoint to resume from (None: a fresh run).
        removed_tmp: temporary files of killed saves that were removed.
        removed_previous: an earlier run's files deleted because of ``overwrite=True``.
        lock: this process's hold on the work dir's lock (None: not the main process, or no work
            dir); the caller releases it when the run ends.
    """

    resume_from: str | None
    removed_tmp: list[str]
    removed_previous: list[str]
    lock: WorkDirLock | None = None


def prepare(
    work_dir: str | os.PathLike[str] | None,
    resume: str | os.PathLike[str] | bool | None = None,
    *,
    overwrite: bool = False,
    keep: Sequence[str | os.PathLike[str]] = (),
    main_process: bool = True,
    checkpoint_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Prepared:
    """Make ``work_dir`` ready for a run: clean up, refuse to mix runs, resolve ``resume``.

    Args:
        work_dir: the run's work dir (None: nothing to check; ``resume`` must then be a path).
        resume: see :func:`resolve_resume`.
        overwrite: start a fresh run even where another run's checkpoints are, deleting them first.
        keep: files never deleted by ``overwrite`` (e.g. the ``load_from`` checkpoint).
        main_process: whether this process locks the work dir, cleans up and deletes (rank 0); the
            others only check.
        checkpoint_dirs: where the run writes checkpoints besides the work dir (the checkpoint
            hook's folder, :func:`checkpoint_folder`): cleaned, searched and checked as the work dir is.

    Raises:
        WorkDirLockedError: another process holds the work dir's lock (nothing was touched).
        WorkDirInUseError: a fresh run (no checkpoint to resume from, and ``resume`` not
            ``"auto"``) in a work dir that holds another run's checkpoints, without ``overwrite``.
        FileNotFoundError, ValueError: as :func:`resolve_resume`.
    """
    directory = os.fspath(work_dir) if work_dir is not None else None
    lock = lock_work_dir(directory) if directory is not None and main_process else None
    try:
        folders = _unique([*(os.fspath(d) for d in checkpoint_dirs), directory]) if directory is not None else []
        return _prepare_locked(directory, folders, resume, overwrite, keep, main_process, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _prepare_locked(
    directory: str | None, folders: list[str], resume: str | os.PathLike[str] | bool | None, overwrite: bool,
    keep: Sequence[str | os.PathLike[str]], main_process: bool, lock: WorkDirLock | None,
) -> Prepared:
    removed_tmp = [n for d in folders for n in clean_tmp_files(d)] if main_process else []
    resume_from = resolve_resume(resume, directory, folders[:-1])
    removed: list[str] = []
    if resume_from is None and directory is not None:
        kept = {os.path.realpath(os.fspath(k)) for k in keep}
        previous = [os.path.relpath(os.path.join(d, n), directory) if d != directory else n
                    for d in folders for n in previous_run_files(d)]
        previous = [n for n in previous if os.path.realpath(os.path.join(directory, n)) not in kept]
        if resume == "auto":  # nothing to resume (best checkpoints only, a dangling pointer): a fresh start, always
            if previous:
                warnings.warn(
                    f"resume=\"auto\": nothing to resume from in `{directory}` (found only {', '.join(previous)}); "
                    "starting fresh. Those files are left where they are; the new run's checkpoints replace the "
                    "pointers.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            previous = []
        if previous and not overwrite:
            raise WorkDirInUseError(directory, previous)
        if previous and main_process:
            for name in previous:
                with contextlib.suppress(FileNotFoundError):
                    target = os.path.join(directory, name)
                    if os.path.isdir(target) and not os.path.islink(target):
                        shutil.rmtree(target)  # a sharded checkpoint
                    else:
                        os.unlink(target)
            removed = previous
    return Prepared(resume_from, removed_tmp, removed, lock)
