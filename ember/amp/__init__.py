"""Mixed precision: ``autocast`` (matmuls and convolutions in a low dtype, reductions and losses in
float32) and ``GradScaler`` (loss scaling that skips steps whose gradients overflowed)."""

from __future__ import annotations

from ember.amp.autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from ember.amp.grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
