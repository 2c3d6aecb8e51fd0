"""Shared test helpers."""

from __future__ import annotations

import pytest


def torch_or_skip():
    """PyTorch, the test oracle; skip the test where it is not installed."""
    return pytest.importorskip("torch")
