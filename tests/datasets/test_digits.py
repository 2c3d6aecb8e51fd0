"""load_digits: shapes, dtypes, a fixed split, and the error without scikit-learn."""

import sys

import numpy as np
import pytest

import ember
from ember.datasets import load_digits
from ember.utils.data import DataLoader

pytest.importorskip("sklearn")


def test_shapes_dtypes_and_split_sizes():
    train, test, everything = load_digits("train"), load_digits("test"), load_digits("all")
    assert (len(train), len(test), len(everything)) == (1438, 359, 1797)
    image, label = train[0]
    assert tuple(image.shape) == (1, 8, 8) and image.dtype == ember.float32 and isinstance(label, int)
    assert 0.0 <= train.data.min() and train.data.max() <= 1.0
    assert train.targets.dtype == np.int64 and set(np.unique(test.targets)) == set(range(10))
    flat = load_digits("test", flatten=True)
    assert tuple(flat[0][0].shape) == (64,)


def test_split_is_fixed_disjoint_and_stratified():
    train, test, everything = load_digits("train"), load_digits("test"), load_digits("all")
    ember.manual_seed(123)  # the split must not depend on the global RNG
    np.testing.assert_array_equal(load_digits("train").data, train.data)
    rows = {row.tobytes() for row in everything.data}
    assert {r.tobytes() for r in train.data} | {r.tobytes() for r in test.data} <= rows
    counts = np.bincount(test.targets)
    assert counts.min() >= 34 and counts.max() <= 37
    other = load_digits("test", seed=1)
    assert not np.array_equal(other.data, test.data) and len(other) == len(test)


def test_loader_and_transforms():
    ds = load_digits("test", transform=lambda x: x * 2, target_transform=lambda y: -y)
    x, y = next(iter(DataLoader(ds, batch_size=32)))
    assert tuple(x.shape) == (32, 1, 8, 8) and x.max().item() <= 2.0 and y.max().item() <= 0
    assert y.dtype == ember.int64


def test_argument_errors():
    with pytest.raises(ValueError, match="split should be one of"):
        load_digits("valid")
    with pytest.raises(ValueError, match="test_size"):
        load_digits(test_size=1.5)


def test_clear_error_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'ember\[demo\]'"):
        load_digits()
