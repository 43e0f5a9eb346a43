"""The progress bar in a real pseudo-terminal: per-epoch totals and rates, log lines on lines of their own."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
from pathlib import Path

import pytest

from tests import processes

SCRIPT = Path(__file__).parent / "scripts" / "bar_in_terminal.py"
CSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(script: Path, timeout: float = 120) -> bytes:
    """Run ``script`` with stdin, stdout and stderr on a new pseudo-terminal; everything it wrote there."""
    master, slave = pty.openpty()
    # a real terminal has a size (a bare pty is 0x0, where tqdm draws nothing): 40 rows, 120 columns
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(os.environ, COLUMNS="120", LINES="40", PYTHONPATH=str(Path(__file__).parents[1]))
    out = bytearray()
    # its own process group, killed on leaving the block, whatever happens in it
    with processes.started([sys.executable, script], stdin=slave, stdout=slave, stderr=slave, env=env,
                           close_fds=True) as proc:
        os.close(slave)
        try:
            while True:
                ready, _, _ = select.select([master], [], [], timeout)
                if not ready:
                    raise TimeoutError(f"no output for {timeout} s; so far:\n{out.decode(errors='replace')}")
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            os.close(master)
        assert proc.wait(timeout=timeout) == 0, out.decode(errors="replace")
    return bytes(out)


def screen(raw: bytes) -> list[str]:
    """The lines a terminal shows after ``raw``: ``\\r`` returns to column 0, text overwrites, ``\\n`` moves down."""
    lines: list[list[str]] = [[]]
    col = 0
    for ch in CSI.sub(b"", raw).decode(errors="replace"):
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append([])
            col = 0
        else:
            line = lines[-1]
            if col < len(line):
                line[col] = ch
            else:
                line.extend(" " * (col - len(line)))
                line.append(ch)
            col += 1
    return ["".join(line).rstrip() for line in lines]


def frames(raw: bytes) -> list[str]:
    """Every state of the bar line that was drawn (the text between carriage returns and newlines)."""
    text = CSI.sub(b"", raw).decode(errors="replace")
    return [f.strip() for f in re.split(r"[\r\n]+", text) if f.strip().startswith("Epoch ") and "|" in f]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_in_a_terminal_each_epoch_bar_counts_its_own_iterations_and_log_lines_stay_apart() -> None:
    raw = run_in_terminal(SCRIPT)
    shown = screen(raw)
    log_lines = [line for line in shown if " - INFO - " in line]
    assert len(log_lines) >= 9  # 3 per epoch, the start lines
    for line in log_lines:  # every log line starts at column 0 and no bar shares it
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - runnerkit - INFO - ", line), line
        assert "%|" not in line and "it/s" not in line, line
    drawn = frames(raw)
    rates = {}
    for epoch in (1, 2, 3):
        mine = [f for f in drawn if f.startswith(f"Epoch {epoch}/3:")]
        counts = [int(m.group(1)) for f in mine if (m := re.search(r"\| (\d)/6 \[", f))]
        assert counts[0] == 0 and counts[-1] == 6, (epoch, mine)
        assert {2, 3, 4} <= set(counts), (epoch, mine)  # it counts through the epoch, from 0
        rate = re.search(r"([\d.]+)it/s", mine[-1])
        assert rate is not None, mine[-1]
        rates[epoch] = float(rate.group(1))
    # the same work per iteration: later epochs' rates are the first's, not a fraction of it
    for epoch in (2, 3):
        assert 0.4 < rates[epoch] / rates[1] < 2.5, rates
