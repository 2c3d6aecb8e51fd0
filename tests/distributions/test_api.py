"""The names and module paths of ``torch.distributions`` exist in ``ember.distributions``."""

from __future__ import annotations

import importlib
import pkgutil

import ember.distributions as ED
from tests.helpers import torch_or_skip

NOT_YET: set = set()


def test_public_names_match_torch():
    torch = torch_or_skip()
    missing = [n for n in torch.distributions.__all__ if n not in NOT_YET and not hasattr(ED, n)]
    assert not missing


def test_transforms_module_names_match_torch():
    torch = torch_or_skip()
    names = [n for n in torch.distributions.transforms.__all__ if n not in NOT_YET]
    assert [n for n in names if not hasattr(ED.transforms, n)] == []


def test_submodule_paths_match_torch():
    torch = torch_or_skip()
    for module in pkgutil.iter_modules(torch.distributions.__path__):
        if module.name not in NOT_YET:
            importlib.import_module(f"ember.distributions.{module.name}")
