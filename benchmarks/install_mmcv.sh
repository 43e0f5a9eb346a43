#!/usr/bin/env bash
# Adds mmcv 1.7.2 (the last mmcv with a training runner) to the active environment, for
# benchmarks/bench_loop.py. PyPI has no wheel of it, only the sdist, and a plain `pip install`
# fails on it: its setup.py imports pkg_resources, which setuptools 70 dropped, and by default it
# compiles CUDA/C++ ops. Built with MMCV_WITH_OPS=0 it is a pure-Python wheel (the runner needs no
# ops); the build runs in a throwaway venv holding setuptools<70, so the active environment's
# setuptools stays as it is. mmcv's own requirements (addict, yapf, opencv-python, ...) do not
# include torch: the installed torch is not touched.
#
#   . .venv/bin/activate && bash benchmarks/install_mmcv.sh
set -euo pipefail
python=${PYTHON:-python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/build"
"$tmp/build/bin/python" -m pip install -q "setuptools<70" wheel
MMCV_WITH_OPS=0 "$tmp/build/bin/python" -m pip wheel -q --no-deps --no-build-isolation --no-binary :all: \
    mmcv==1.7.2 -w "$tmp/dist"
torch_before=$("$python" -c "import torch; print(torch.__version__)")
"$python" -m pip install -q "$tmp"/dist/mmcv-1.7.2-*.whl
torch_after=$("$python" -c "import torch; print(torch.__version__)")
if [ "$torch_before" != "$torch_after" ]; then
    echo "installing mmcv changed torch from $torch_before to $torch_after" >&2
    exit 1
fi
"$python" -c "import importlib.metadata as m; print('mmcv', m.version('mmcv'), 'installed; torch', '$torch_after')"
