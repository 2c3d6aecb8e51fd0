"""Utilities with PyTorch's names; ``ember.utils.data`` (datasets, samplers, DataLoader) loads on first use.

>>> import ember
>>> ember.utils.data.TensorDataset  # doctest: +ELLIPSIS
<class 'ember.utils.data.dataset.TensorDataset'>
"""

from __future__ import annotations

import importlib

_LAZY_SUBMODULES = ("data",)


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"ember.utils.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember.utils' has no attribute {name!r}")
