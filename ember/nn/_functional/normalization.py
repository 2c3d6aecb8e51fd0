"""nn.functional: normalization functions."""

from __future__ import annotations

__all__: list = []
