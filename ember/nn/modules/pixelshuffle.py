"""PyTorch's module path ``torch.nn.modules.pixelshuffle``: the layers live in ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import (
    PixelShuffle,
    PixelUnshuffle,
)

__all__ = ["PixelShuffle", "PixelUnshuffle"]
