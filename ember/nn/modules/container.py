"""nn layers: container."""

from __future__ import annotations

__all__: list = []
