"""PyTorch's module path ``torch.nn.modules.fold``: the layers live in ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import (
    Fold,
    Unfold,
)

__all__ = ["Fold", "Unfold"]
