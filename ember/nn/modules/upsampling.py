"""``torch.nn.modules.upsampling``: re-exports from ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
