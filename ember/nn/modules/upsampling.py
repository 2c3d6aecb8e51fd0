"""PyTorch's module path ``torch.nn.modules.upsampling``: the layers live in ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import (
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
