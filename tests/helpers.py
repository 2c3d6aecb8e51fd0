"""Shared test helpers."""

from __future__ import annotations

import os

import pytest

NEEDS_TORCH: set[str] = set()  # ids of the tests (in this process) that asked for PyTorch
INSTALL_TORCH = "pip install torch==2.13.0"
SKIP_REASON = "a comparison with PyTorch"


def torch_or_skip(module: bool = False):
    """PyTorch, the test oracle; skip the test (or, with ``module=True``, the test module) where
    it is not installed.

    ``EMBER_TESTS_WITHOUT_TORCH=1`` skips these comparisons even where PyTorch is installed,
    to check what runs on a machine without it.
    """
    current = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    if current:
        NEEDS_TORCH.add(current)
    if os.environ.get("EMBER_TESTS_WITHOUT_TORCH"):
        pytest.skip(f"{SKIP_REASON} (EMBER_TESTS_WITHOUT_TORCH is set)", allow_module_level=module)
    try:
        import torch
    except ImportError:
        pytest.skip(f"{SKIP_REASON}, which is not installed: {INSTALL_TORCH}", allow_module_level=module)
    return torch
