"""``python -m tests.mmcv_parity.miniatures LAYER TOOL [ARGS...]``: run a miniature's tools/train.py."""

from __future__ import annotations

import sys

from tests.mmcv_parity.miniatures import prepare


def main(argv: list[str]) -> None:
    layer, tool, *args = argv
    prepare(layer)
    if tool == "det":
        from tests.mmcv_parity.miniatures.mmdet_mini import train
    elif tool == "seg":
        from tests.mmcv_parity.miniatures.mmseg_mini import train  # type: ignore[no-redef]
    else:
        raise SystemExit(f"tool {tool!r}: expected det or seg")
    train.main(args)


if __name__ == "__main__":
    main(sys.argv[1:])
