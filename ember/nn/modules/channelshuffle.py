"""PyTorch's module path ``torch.nn.modules.channelshuffle``: the layers live in ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import (
    ChannelShuffle,
)

__all__ = ["ChannelShuffle"]
