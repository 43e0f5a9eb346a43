"""A save onto a full disk: one message naming the file system, no traceback, nothing half-written left.

The disk is real: a 200 KiB tmpfs mounted in a user and mount namespace of the test's own
(``unshare -rm``), so the save fails with the kernel's own ``ENOSPC``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import SCRIPT


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux" or not _can_mount_tmpfs(),
                       reason="needs `unshare -rm` to mount a small tmpfs (Linux user namespaces)"),
]


def _on_small_disk(mount: Path, command: str) -> subprocess.CompletedProcess[str]:
    mount.mkdir()
    script = f"mount -t tmpfs -o size=200k tmpfs {mount} && cd {mount} && {command}; code=$?; ls -A {mount}/w; exit $code"
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)


def test_the_cli_reports_a_full_disk_in_one_message_naming_the_mount(tmp_path: Path) -> None:
    mount = tmp_path / "disk"
    done = _on_small_disk(mount, f"{SCRIPT} demo --work-dir {mount}/w --max-iters 20")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "During handling" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("runnerkit demo: error: Checkpoint `"), last
    assert f"could not be written: No space left on device on the file system mounted at `{mount}`" in last
    assert "bytes free). Nothing was replaced" in last
    assert ".tmp" not in done.stdout  # the half-written temporary file was removed


def test_the_python_api_raises_a_checkpoint_error_without_the_chained_torch_error(tmp_path: Path) -> None:
    mount = tmp_path / "disk"
    code = (
        "import runnerkit, sys; sys.path.insert(0, {!r}); from tests.helpers import TinyNet; "
        "r = runnerkit.build({{'type': 'IterBasedRunner', 'max_iters': 1}}, {{'model': TinyNet(d_in=60000)}}); "
        "r.save_checkpoint({!r})"
    ).format(str(Path(__file__).parents[1]), f"{mount}/w")
    done = _on_small_disk(mount, f"mkdir w && {sys.executable} -c \"{code}\"")
    assert done.returncode == 1
    assert "runnerkit._errors.CheckpointError: Checkpoint" in done.stderr
    assert "No space left on device on the file system mounted at" in done.stderr
    assert "inline_container" not in done.stderr and "During handling" not in done.stderr
    assert done.stdout.strip() == ""  # no file left in the work dir
