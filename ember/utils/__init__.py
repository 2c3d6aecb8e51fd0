"""Utilities with PyTorch's names; ``ember.utils.data`` (datasets, samplers, DataLoader) loads on first use.

>>> import ember
>>> ember.utils.data.TensorDataset  # doctest: +ELLIPSIS
<class 'ember.utils.data.dataset.TensorDataset'>
"""

from __future__ import annotations

import importlib
import importlib.util


def __getattr__(name: str):
    public = not name.startswith("_") or name == "_pytree"  # torch.utils._pytree is reached as an attribute
    if public and importlib.util.find_spec(f"ember.utils.{name}") is not None:
        module = importlib.import_module(f"ember.utils.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember.utils' has no attribute {name!r}")
