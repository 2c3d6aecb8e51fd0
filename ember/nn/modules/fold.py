"""``torch.nn.modules.fold``: re-exports from ``vision.py``."""

from __future__ import annotations

from ember.nn.modules.vision import Fold, Unfold

__all__ = ["Fold", "Unfold"]
