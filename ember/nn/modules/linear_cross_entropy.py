"""``torch.nn.modules.linear_cross_entropy``: re-exports from ``adaptive.py``."""

from __future__ import annotations

from ember.nn.modules.adaptive import LinearCrossEntropyLoss

__all__ = ["LinearCrossEntropyLoss"]
