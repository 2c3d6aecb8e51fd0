"""nn layers: conv."""

from __future__ import annotations

__all__: list = []
