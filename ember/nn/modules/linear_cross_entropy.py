"""PyTorch's module path ``torch.nn.modules.linear_cross_entropy``: the layers live in ``adaptive.py``."""

from __future__ import annotations

from ember.nn.modules.adaptive import (
    LinearCrossEntropyLoss,
)

__all__ = ["LinearCrossEntropyLoss"]
