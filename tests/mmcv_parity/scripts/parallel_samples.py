"""Detection-shaped samples (images of different sizes, metas, boxes) and a JSON description of
what ``collate``/``scatter`` make of them; shared by the reference script and the parity test."""

from __future__ import annotations

from typing import Any

import torch


def samples(data_container: type) -> list[dict[str, Any]]:
    """Four samples as an mmdet pipeline's ``Collect``/``DefaultFormatBundle`` yields them."""
    out = []
    for i, (h, w) in enumerate([(4, 6), (5, 3), (2, 7), (6, 6)]):
        img = torch.arange(3 * h * w, dtype=torch.float32).reshape(3, h, w) + i
        out.append({
            "img": data_container(img, stack=True, padding_value=-1),
            "img_metas": data_container({"ori_shape": (h, w, 3), "idx": i}, cpu_only=True),
            "gt_bboxes": data_container(torch.full((i + 1, 4), float(i))),
            "gt_semantic_seg": data_container(torch.full((1, h, w), i, dtype=torch.long), stack=True,
                                              padding_value=255),
            "scale": torch.tensor([float(i), 2.0 * i]),
            "label": i,
            "pair": (i, torch.tensor(float(i))),
        })
    return out


def describe(obj: Any, data_container: type) -> Any:
    """A JSON-able, exact description (types, flags, shapes, dtypes, values)."""
    if isinstance(obj, data_container):
        return {"DataContainer": describe(obj.data, data_container), "stack": obj.stack, "cpu_only": obj.cpu_only,
                "padding_value": obj.padding_value}
    if isinstance(obj, torch.Tensor):
        return {"tensor": list(obj.shape), "dtype": str(obj.dtype), "values": obj.flatten().tolist()}
    if isinstance(obj, dict):
        return {"dict": {str(k): describe(v, data_container) for k, v in obj.items()}}
    if isinstance(obj, tuple):
        return {"tuple": [describe(v, data_container) for v in obj]}
    if isinstance(obj, list):
        return {"list": [describe(v, data_container) for v in obj]}
    return obj
