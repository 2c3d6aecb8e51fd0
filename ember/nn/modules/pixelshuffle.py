"""``torch.nn.modules.pixelshuffle``: re-exports from ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
