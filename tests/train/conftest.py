"""Shared small problems for the Learner tests."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.train import Learner
from ember.utils.data import DataLoader, TensorDataset


def make_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int64)
    return TensorDataset(ember.from_numpy(x), ember.from_numpy(y))


def make_model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


@pytest.fixture
def make_learner(tmp_path):
    def make(**kwargs):
        kwargs.setdefault("device", "cpu")
        kwargs.setdefault("progress", False)
        kwargs.setdefault("path", tmp_path)
        train = DataLoader(
            make_data(64), batch_size=16, shuffle=True, generator=ember.Generator().manual_seed(0)
        )
        valid = DataLoader(make_data(32, seed=1), batch_size=16)
        return Learner(kwargs.pop("model", None) or make_model(), train, valid, **kwargs)

    return make
