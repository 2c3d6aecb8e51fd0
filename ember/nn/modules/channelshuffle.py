"""``torch.nn.modules.channelshuffle``: re-exports from ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import ChannelShuffle

__all__ = ["ChannelShuffle"]
