"""Random tensor factories and in-place fills: ``rand``, ``randn``, ``randint``, ... ."""

from __future__ import annotations

__all__: list = []
