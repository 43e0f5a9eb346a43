"""``paramwise_cfg``: the per-parameter rules of :class:`~runnerkit.optim.DefaultOptimizerConstructor` (mmcv 1.x).

The keys and their meaning are mmcv 1.7.2's; the model refuses a key it does not know (with the
closest known ones) instead of ignoring it, so a misspelt ``norm_decay_mul`` fails at once rather
than training with weight decay on the norm layers.

Example:
    >>> ParamwiseConfig.model_validate({"norm_decay_mult": 0, "custom_keys": {"backbone": {"lr_mult": 0.1}}})
    ParamwiseConfig(custom_keys={'backbone': CustomKeyConfig(lr_mult=0.1, decay_mult=1.0)}, ...)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CustomKeyConfig", "ParamwiseConfig"]

_STRICT = ConfigDict(extra="forbid", strict=True)


class CustomKeyConfig(BaseModel):
    """The multipliers of the parameters whose name contains one key of ``custom_keys``."""

    model_config = _STRICT

    lr_mult: float = Field(1.0, description="Multiplies the optimizer's `lr` for these parameters.")
    decay_mult: float = Field(1.0, description="Multiplies the optimizer's `weight_decay` for these parameters "
                              "(the optimizer config must set `weight_decay`).")


class ParamwiseConfig(BaseModel):
    """mmcv 1.x's ``paramwise_cfg``; every multiplier defaults to 1 (no change)."""

    model_config = ConfigDict(extra="forbid", strict=True, title="paramwise_cfg")

    custom_keys: dict[str, CustomKeyConfig] = Field(
        default_factory=dict,
        description="Key -> `dict(lr_mult=..., decay_mult=...)`. A parameter whose full name (`prefix.name`) contains a key "
        "takes that key's multipliers and no other rule; when several keys match, the longest wins (equal lengths: the "
        "alphabetically first).",
    )
    bias_lr_mult: float = Field(1.0, description="Multiplies `lr` for every `bias` outside normalization layers.")
    bias_decay_mult: float = Field(1.0, description="Multiplies `weight_decay` for every `bias` outside normalization "
                                   "and depthwise convolution layers.")
    norm_decay_mult: float = Field(1.0, description="Multiplies `weight_decay` for the weights and biases of "
                                   "normalization layers (BatchNorm, SyncBatchNorm, InstanceNorm, GroupNorm, LayerNorm).")
    dwconv_decay_mult: float = Field(1.0, description="Multiplies `weight_decay` for depthwise `Conv2d` layers "
                                     "(`in_channels == groups`).")
    dcn_offset_lr_mult: float = Field(1.0, description="Multiplies `lr` for a `Conv2d` whose name contains `conv_offset` "
                                      "and whose parent is a deformable convolution (mmcv.ops' `DeformConv2d` or "
                                      "`ModulatedDeformConv2d`, or a subclass; recognised by class name). The bias rules "
                                      "do not apply to a deformable convolution's children.")
    bypass_duplicate: bool = Field(False, description="Leave out a parameter already added under another name (shared "
                                   "weights) instead of failing.")

    def decay_keys(self) -> list[str]:
        """The keys given that multiply ``weight_decay`` (they need the optimizer's ``weight_decay``)."""
        keys: list[str] = [k for k in ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult") if k in self.model_fields_set]
        keys += [f"custom_keys.{k}.decay_mult" for k, v in self.custom_keys.items() if "decay_mult" in v.model_fields_set]
        return keys
