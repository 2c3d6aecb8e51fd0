"""``torch.nn.modules.linear_cross_entropy_options``: re-exports from ``adaptive.py``."""

from __future__ import annotations

from ember.nn.modules.adaptive import LinearCrossEntropyOptions

__all__ = ["LinearCrossEntropyOptions"]
