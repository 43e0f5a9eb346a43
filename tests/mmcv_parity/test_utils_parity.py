"""``mmcv.utils`` / ``mmcv.fileio`` / top-level ``mmcv`` names on the layer, as the training scripts of
mmdet 2.x and mmseg 0.x import them; values compared with real mmcv 1.7.2 where stored."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
from pathlib import Path

import pytest

REFERENCE = json.loads((Path(__file__).parent / "data" / "mmcv_utils_reference.json").read_text())

#: what mmdet 2.25 / mmseg 0.30 tools/train.py, apis/train.py, utils/ and core/ import from mmcv
TRAINING_PATH_NAMES = {
    "mmcv": ["Config", "ConfigDict", "DictAction", "ProgressBar", "dump", "load", "list_from_file",
             "dict_from_file", "is_list_of", "is_str", "is_seq_of", "is_tuple_of", "mkdir_or_exist", "symlink",
             "scandir", "check_file_exist", "fopen", "digit_version", "get_logger", "print_log", "Timer",
             "track_progress", "track_iter_progress", "track_parallel_progress", "FileClient", "Registry",
             "build_from_cfg", "collect_env", "get_git_hash", "TORCH_VERSION", "__version__", "concat_list",
             "slice_list", "is_filepath", "deprecated_api_warning", "import_modules_from_strings"],
    "mmcv.utils": ["Config", "DictAction", "get_git_hash", "Registry", "build_from_cfg", "get_logger",
                   "collect_env", "print_log", "TORCH_VERSION", "digit_version", "is_list_of", "ProgressBar",
                   "_BatchNorm", "_InstanceNorm", "is_method_overridden", "IS_CUDA_AVAILABLE"],
    "mmcv.fileio": ["dump", "load", "list_from_file", "dict_from_file", "FileClient", "register_handler",
                    "BaseFileHandler"],
}


@pytest.mark.parametrize("module", sorted(TRAINING_PATH_NAMES))
def test_every_name_the_training_scripts_import_is_there(module: str) -> None:
    imported = __import__(module, fromlist=["_"])
    missing = [name for name in TRAINING_PATH_NAMES[module] if not hasattr(imported, name)]
    assert missing == []


def test_mmcv_utils_all_matches_mmcv_except_build_tools_and_testing_helpers() -> None:
    import mmcv.utils

    # mmcv 1.7.2's mmcv.utils.__all__ (read from the installed package once)
    mmcv_all = {
        "BuildExtension", "CUDAExtension", "Config", "ConfigDict", "CppExtension", "DataLoader", "DictAction",
        "IS_CUDA_AVAILABLE", "IS_IPU_AVAILABLE", "IS_MLU_AVAILABLE", "IS_MPS_AVAILABLE", "IS_NPU_AVAILABLE",
        "PoolDataLoader", "ProgressBar", "Registry", "SyncBatchNorm", "TORCH_VERSION", "Timer", "TimerError",
        "_AdaptiveAvgPoolNd", "_AdaptiveMaxPoolNd", "_AvgPoolNd", "_BatchNorm", "_ConvNd", "_ConvTransposeMixin",
        "_InstanceNorm", "_MaxPoolNd", "_get_cuda_home", "assert_attrs_equal", "assert_dict_contains_subset",
        "assert_dict_has_keys", "assert_is_norm_layer", "assert_keys_equal", "assert_params_all_zeros",
        "build_from_cfg", "check_file_exist", "check_prerequisites", "check_python_script", "check_time",
        "collect_env", "concat_list", "deprecated_api_warning", "digit_version", "fopen", "get_build_config",
        "get_git_hash", "get_logger", "has_method", "import_modules_from_strings", "is_filepath",
        "is_jit_tracing", "is_list_of", "is_method_overridden", "is_rocm_pytorch", "is_seq_of", "is_str",
        "is_tuple_of", "iter_cast", "jit", "list_cast", "load_url", "mkdir_or_exist", "print_log",
        "requires_executable", "requires_package", "scandir", "skip_no_elena", "slice_list", "symlink",
        "torch_meshgrid", "track_iter_progress", "track_parallel_progress", "track_progress", "tuple_cast",
        "worker_init_fn",
    }
    not_provided = {  # testing helpers, parrots/jit/hub shims and build internals (docs/migration.md)
        "_get_cuda_home", "assert_attrs_equal", "assert_dict_contains_subset", "assert_dict_has_keys",
        "assert_is_norm_layer", "assert_keys_equal", "assert_params_all_zeros", "check_python_script",
        "jit", "load_url", "skip_no_elena",
    }
    assert {n for n in mmcv_all if hasattr(mmcv.utils, n)} == mmcv_all - not_provided


@pytest.mark.parametrize("text", sorted(REFERENCE["digit_version"]))
def test_digit_version_orders_versions_as_mmcv(text: str) -> None:
    from mmcv import digit_version

    assert list(digit_version(text)) == REFERENCE["digit_version"][text]


def test_dump_and_load_by_extension_and_format(tmp_path: Path) -> None:
    import mmcv

    obj = {"a": [1, 2], "b": {"c": "d"}}
    for name in ("x.json", "x.yaml", "x.yml", "x.pkl", "x.pickle"):
        mmcv.dump(obj, tmp_path / name)
        assert mmcv.load(tmp_path / name) == obj
        assert mmcv.load(str(tmp_path / name)) == obj
    assert json.loads(mmcv.dump(obj, file_format="json")) == obj
    buffer = io.StringIO()
    mmcv.dump(obj, buffer, file_format="yaml")
    assert mmcv.load(io.StringIO(buffer.getvalue()), file_format="yaml") == obj
    with pytest.raises(TypeError, match="Unsupported format: 'txt'"):
        mmcv.dump(obj, tmp_path / "x.txt")
    with pytest.raises(ValueError, match="file_format must be specified since file is None"):
        mmcv.dump(obj)


def test_list_and_dict_from_file(tmp_path: Path) -> None:
    import mmcv

    (tmp_path / "l.txt").write_text("a\nb\nc\nd\n")
    assert mmcv.list_from_file(tmp_path / "l.txt", prefix="p/", offset=1, max_num=2) == ["p/b", "p/c"]
    (tmp_path / "d.txt").write_text("1 cat\n2 dog cow\n")
    assert mmcv.dict_from_file(tmp_path / "d.txt", key_type=int) == {1: "cat", 2: ["dog", "cow"]}


def test_file_client_is_the_local_disk_and_refuses_remote_backends(tmp_path: Path) -> None:
    from mmcv.fileio import FileClient

    client = FileClient()
    path = client.join_path(str(tmp_path), "sub", "f.txt")
    client.put_text("hello", path)
    assert client.exists(path) and client.isfile(path) and client.get_text(path) == "hello"
    client.put(b"\x00\x01", path)
    assert client.get(path) == b"\x00\x01"
    with client.get_local_path(path) as local:
        assert Path(local).read_bytes() == b"\x00\x01"
    assert FileClient.infer_client(uri=path).name == "HardDiskBackend"
    with pytest.raises(ValueError, match="`petrel` storage is not provided by runnerkit's mmcv layer"):
        FileClient(backend="petrel")
    with pytest.raises(ValueError, match="prefix s3 is not supported"):
        FileClient.infer_client(uri="s3://bucket/x.pth")


def test_path_helpers(tmp_path: Path) -> None:
    import mmcv

    mmcv.mkdir_or_exist(tmp_path / "a" / "b")
    (tmp_path / "a" / "b" / "x.py").write_text("")
    (tmp_path / "a" / "y.PY").write_text("")
    (tmp_path / "a" / ".hidden.py").write_text("")
    assert sorted(mmcv.scandir(tmp_path / "a", ".py", recursive=True)) == [os.path.join("b", "x.py")]
    assert sorted(mmcv.scandir(tmp_path / "a", ".py", recursive=True, case_sensitive=False)) == \
        [os.path.join("b", "x.py"), "y.PY"]
    mmcv.symlink("b", tmp_path / "a" / "latest")
    mmcv.symlink("b", tmp_path / "a" / "latest")  # replaced, as mmcv's symlink(overwrite=True)
    assert os.readlink(tmp_path / "a" / "latest") == "b"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mmcv.check_file_exist(tmp_path / "none")


def test_type_helpers() -> None:
    import mmcv

    assert mmcv.is_list_of([1, 2], int) and not mmcv.is_list_of((1, 2), int) and mmcv.is_tuple_of((1,), int)
    assert mmcv.is_seq_of(["a"], str) and not mmcv.is_seq_of(["a", 1], str) and mmcv.is_str("x")
    assert mmcv.slice_list([1, 2, 3, 4], [1, 3]) == [[1], [2, 3, 4]] and mmcv.concat_list([[1], [2]]) == [1, 2]
    from mmcv.utils import to_2tuple

    assert to_2tuple(3) == (3, 3) and to_2tuple([1, 2]) == (1, 2) and to_2tuple("ab") == ("ab", "ab")


def test_get_logger_sets_up_once_with_a_file_handler_and_print_log_routes(tmp_path: Path) -> None:
    from mmcv.utils import get_logger, print_log

    log_file = tmp_path / "run.log"
    logger = get_logger("rk_parity_logger", log_file=str(log_file), log_level=logging.INFO)
    assert get_logger("rk_parity_logger") is logger and len(logger.handlers) == 2
    assert get_logger("rk_parity_logger.child").handlers == []
    print_log("to the file", logger=logger)
    print_log("by name", logger="rk_parity_logger", level=logging.WARNING)
    print_log("dropped", logger="silent")
    for handler in logger.handlers:
        handler.flush()
    text = log_file.read_text()
    assert " - rk_parity_logger - INFO - to the file" in text and "WARNING - by name" in text
    assert "dropped" not in text
    with pytest.raises(TypeError, match=r"logger should be either a logging\.Logger object"):
        print_log("x", logger=3)  # type: ignore[arg-type]


def test_progress_bar_draws_mmcvs_line() -> None:
    import mmcv

    out = io.StringIO()
    bar = mmcv.ProgressBar(4, bar_width=8, file=out)
    bar.update(2)
    assert out.getvalue().startswith("[        ] 0/4, elapsed: 0s, ETA:")
    assert "\r[>>>>    ] 2/4, " in out.getvalue()
    assert mmcv.track_progress(lambda x: x * 2, [1, 2], file=io.StringIO()) == [2, 4]


def test_collect_env_and_git_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmcv.utils import collect_env, get_git_hash

    env = collect_env()
    assert list(env)[:3] == ["sys.platform", "Python", "CUDA available"]
    assert {"PyTorch", "PyTorch compiling details", "MMCV"} <= set(env)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    monkeypatch.chdir(tmp_path)
    assert get_git_hash() == head and get_git_hash(digits=7) == head[:7]
    monkeypatch.chdir(tmp_path.parent)  # not a repository (pytest's tmp root)
    assert get_git_hash(fallback="none") == "none"


def test_module_level_helpers_in_mmcvs_places() -> None:
    import argparse

    import torch
    from mmcv.fileio.handlers.json_handler import set_default
    from mmcv.parallel.data_container import DataContainer, assert_tensor_type
    from mmcv.runner.hooks.lr_updater import get_position_from_periods
    from mmcv.utils.config import add_args
    from mmcv.utils.device_type import is_cuda_available

    assert [get_position_from_periods(i, [3, 5]) for i in (0, 2, 3, 4)] == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="past the end of its periods"):
        get_position_from_periods(5, [3, 5])

    class Holder(DataContainer):
        @assert_tensor_type
        def numel(self) -> int:
            return int(self.data.numel())

    assert Holder(torch.zeros(2, 3)).numel() == 6
    with pytest.raises(AttributeError, match="Holder has no attribute numel for type <class 'list'>"):
        Holder([1]).numel()
    parser = add_args(argparse.ArgumentParser(), {"model": {"depth": 50, "name": "r"}, "flag": True})
    assert vars(parser.parse_args(["--model.depth", "101", "--flag"])) == {"model.depth": 101, "model.name": None,
                                                                           "flag": True}
    assert set_default({1}) == [1] and is_cuda_available() == torch.cuda.is_available()
