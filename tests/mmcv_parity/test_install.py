"""``install()``: which ``mmcv`` modules the layer serves with no mmcv, mmcv 2.x or mmcv 1.x installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import runnerkit
import runnerkit.compat.mmcv


def test_mmcv_runner_engine_and_parallel_are_the_layer_itself() -> None:
    import mmcv
    import mmcv.engine
    import mmcv.parallel
    import mmcv.runner
    import mmcv.runner.hooks.logger.wandb
    from mmcv.runner.checkpoint import load_checkpoint

    assert mmcv.runner is runnerkit.compat.mmcv.runner
    assert mmcv.engine is runnerkit.compat.mmcv.engine and mmcv.parallel is runnerkit.compat.mmcv.parallel
    assert load_checkpoint is runnerkit.compat.mmcv.runner.checkpoint.load_checkpoint
    assert mmcv.runner.hooks.logger.wandb.WandbLoggerHook is runnerkit.hooks.WandbLoggerHook
    assert mmcv.runner.EpochBasedRunner is runnerkit.EpochBasedRunner
    assert mmcv.__runnerkit_compat__ and mmcv.__version__ == "1.7.2"  # the minimal stand-in package


def test_a_module_mmcv_never_had_is_still_missing() -> None:
    with pytest.raises(ModuleNotFoundError, match=r"mmcv\.runner\.no_such_module"):
        __import__("mmcv.runner.no_such_module")


def test_install_is_idempotent_and_keeps_one_finder_in_front() -> None:
    runnerkit.compat.mmcv.install()
    finder = runnerkit.compat.mmcv.install()
    assert sys.meta_path[0] is finder
    assert sum(isinstance(f, type(finder)) for f in sys.meta_path) == 1


def _fake_mmcv(root: Path, version: str, subpackages: dict[str, str]) -> None:
    pkg = root / "mmcv"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"__version__ = {version!r}\n")
    for name, body in subpackages.items():
        (pkg / name).mkdir()
        (pkg / name / "__init__.py").write_text(body)
    info = root / f"mmcv-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: mmcv\nVersion: {version}\n")


def _run(root: Path, code: str) -> str:
    script = "import runnerkit.compat.mmcv; runnerkit.compat.mmcv.install()\n" + textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_with_mmcv_2_its_own_subpackages_stay_and_the_runner_comes_from_the_layer(tmp_path: Path) -> None:
    _fake_mmcv(tmp_path, "2.1.0", {"cnn": "MARK = 'real mmcv 2 cnn'\n"})
    out = _run(tmp_path, """
        import mmcv, mmcv.cnn, mmcv.runner
        print(mmcv.__version__, mmcv.cnn.MARK, mmcv.runner.__name__)
    """)
    assert out.split("\n")[0] == "2.1.0 real mmcv 2 cnn runnerkit.compat.mmcv.runner"


@pytest.mark.slow
def test_with_mmcv_1_installed_its_own_runner_is_used(tmp_path: Path) -> None:
    _fake_mmcv(tmp_path, "1.7.0", {"runner": "MARK = 'real mmcv 1 runner'\n"})
    out = _run(tmp_path, """
        import mmcv.runner
        print(mmcv.runner.MARK)
    """)
    assert out.strip() == "real mmcv 1 runner"


@pytest.mark.slow
def test_with_mmcv_2_fileio_comes_from_the_layer_and_utils_stays_mmcv_2s(tmp_path: Path) -> None:
    _fake_mmcv(tmp_path, "2.1.0", {"utils": "MARK = 'real mmcv 2 utils'\n"})
    out = _run(tmp_path, """
        import mmcv.fileio, mmcv.utils
        print(mmcv.utils.MARK, mmcv.fileio.__name__)
    """)
    assert out.strip() == "real mmcv 2 utils runnerkit.compat.mmcv.fileio"


def test_without_mmcv_utils_and_fileio_are_the_layer() -> None:
    import mmcv
    import mmcv.fileio
    import mmcv.utils
    import mmcv.utils.config

    assert mmcv.utils is runnerkit.compat.mmcv.utils and mmcv.fileio is runnerkit.compat.mmcv.fileio
    assert mmcv.utils.config.Config is mmcv.Config
