"""mmcv's text ``ProgressBar`` and the ``track_*progress`` helpers built on it."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from multiprocessing import Pool
from typing import IO, Any

from runnerkit.compat.mmcv.utils.timer import Timer

__all__ = ["ProgressBar", "init_pool", "track_iter_progress", "track_parallel_progress", "track_progress"]


class ProgressBar:
    """``[>>>>   ] 3/10, 1.5 task/s, elapsed: 2s, ETA:     5s`` (``task_num=0``: a count without a bar).

    Example:
        >>> import io
        >>> bar = ProgressBar(2, file=io.StringIO())
        >>> bar.update(); bar.completed
        1
    """

    def __init__(self, task_num: int = 0, bar_width: int = 50, start: bool = True, file: IO[str] = sys.stdout) -> None:
        self.task_num = task_num
        self.bar_width = bar_width
        self.completed = 0
        self.file = file
        if start:
            self.start()

    @property
    def terminal_width(self) -> int:
        return shutil.get_terminal_size().columns

    def start(self) -> None:
        if self.task_num > 0:
            self.file.write(f"[{' ' * self.bar_width}] 0/{self.task_num}, elapsed: 0s, ETA:")
        else:
            self.file.write("completed: 0, elapsed: 0s")
        self.file.flush()
        self.timer = Timer()

    def update(self, num_tasks: int = 1) -> None:
        """Count ``num_tasks`` more as done and redraw."""
        if num_tasks <= 0:
            raise ValueError(f"num_tasks must be positive, got {num_tasks}")
        self.completed += num_tasks
        elapsed = self.timer.since_start()
        fps = self.completed / elapsed if elapsed > 0 else float("inf")
        if self.task_num > 0:
            done = self.completed / float(self.task_num)
            eta = int(elapsed * (1 - done) / done + 0.5)
            msg = (f"\r[{{}}] {self.completed}/{self.task_num}, {fps:.1f} task/s, "
                   f"elapsed: {int(elapsed + 0.5)}s, ETA: {eta:5}s")
            width = max(2, min(self.bar_width, self.terminal_width - len(msg) + 2, int(self.terminal_width * 0.6)))
            marks = int(width * done)
            self.file.write(msg.format(">" * marks + " " * (width - marks)))
        else:
            self.file.write(f"completed: {self.completed}, elapsed: {int(elapsed + 0.5)}s, {fps:.1f} tasks/s")
        self.file.flush()


def _tasks(tasks: Any) -> tuple[Iterable[Any], int]:
    if isinstance(tasks, tuple):
        if len(tasks) != 2 or not isinstance(tasks[0], Iterable) or not isinstance(tasks[1], int):
            raise TypeError('"tasks" must be an iterable object or a (iterator, int) tuple')
        return tasks[0], tasks[1]
    if isinstance(tasks, Iterable):
        return tasks, len(tasks)  # type: ignore[arg-type]
    raise TypeError('"tasks" must be an iterable object or a (iterator, int) tuple')


def init_pool(process_num: int, initializer: Callable[..., Any] | None = None,
              initargs: tuple[Any, ...] | None = None) -> Any:
    """A ``multiprocessing.Pool`` of ``process_num`` workers."""
    if initargs is not None and not isinstance(initargs, tuple):
        raise TypeError('"initargs" must be a tuple')
    return Pool(process_num, initializer, initargs or ())


def track_progress(func: Callable[..., Any], tasks: Any, bar_width: int = 50, file: IO[str] = sys.stdout,
                   **kwargs: Any) -> list[Any]:
    """``[func(task, **kwargs) for task in tasks]`` with a progress bar (``tasks``: a list or ``(iterable, n)``)."""
    items, task_num = _tasks(tasks)
    bar = ProgressBar(task_num, bar_width, file=file)
    results = []
    for task in items:
        results.append(func(task, **kwargs))
        bar.update()
    bar.file.write("\n")
    return results


def track_iter_progress(tasks: Any, bar_width: int = 50, file: IO[str] = sys.stdout) -> Iterator[Any]:
    """Yield the tasks, drawing a progress bar as they are taken."""
    items, task_num = _tasks(tasks)
    bar = ProgressBar(task_num, bar_width, file=file)
    for task in items:
        yield task
        bar.update()
    bar.file.write("\n")


def track_parallel_progress(func: Callable[[Any], Any], tasks: Any, nproc: int,
                            initializer: Callable[..., Any] | None = None, initargs: tuple[Any, ...] | None = None,
                            bar_width: int = 50, chunksize: int = 1, skip_first: bool = False,
                            keep_order: bool = True, file: IO[str] = sys.stdout) -> list[Any]:
    """``func`` over ``tasks`` in a pool of ``nproc`` processes, with a progress bar."""
    items, task_num = _tasks(tasks)
    task_num -= nproc * chunksize * int(skip_first)
    bar = ProgressBar(task_num, bar_width, not skip_first, file=file)
    results = []
    with init_pool(nproc, initializer, initargs) as pool:
        gen = pool.imap(func, items, chunksize) if keep_order else pool.imap_unordered(func, items, chunksize)
        for result in gen:
            results.append(result)
            if skip_first:
                if len(results) < nproc * chunksize:
                    continue
                if len(results) == nproc * chunksize:
                    bar.start()
                    continue
            bar.update()
    bar.file.write("\n")
    return results
