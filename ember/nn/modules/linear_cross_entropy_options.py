"""PyTorch's module path ``torch.nn.modules.linear_cross_entropy_options``: the layers live in ``adaptive.py``."""

from __future__ import annotations

from ember.nn.modules.adaptive import (
    LinearCrossEntropyOptions,
)

__all__ = ["LinearCrossEntropyOptions"]
