"""default_collate / default_convert against PyTorch's."""

import collections

import numpy as np
import pytest

import ember
from ember.utils.data import default_collate, default_convert
from tests.helpers import torch_or_skip

Point = collections.namedtuple("Point", "x y")


def _plain(obj):
    """Nested structure with tensors (ember or torch) as (dtype name, list) pairs, for comparison."""
    if hasattr(obj, "numpy") and hasattr(obj, "dtype"):
        arr = np.asarray(obj.numpy())
        return ("tensor", str(arr.dtype), arr.shape, arr.tolist())
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    return obj


BATCHES = [
    [1, 2, 3],
    [1.5, 2.5],
    [True, False],
    [np.float32(1.0), np.float32(2.0)],
    [np.int16(1), np.int16(2)],
    [np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)],
    [np.arange(3, dtype=np.uint8), np.arange(3, dtype=np.uint8)],
    [(np.ones(2), 1), (np.zeros(2), 0)],
    [[1, 2.0], [3, 4.0]],
    [{"a": 1, "b": (np.ones(1, np.float32), "s")}, {"a": 2, "b": (np.zeros(1, np.float32), "t")}],
    ["x", "y"],
    [Point(1, 2.0), Point(3, 4.0)],
]


@pytest.mark.parametrize("batch", BATCHES, ids=range(len(BATCHES)))
def test_default_collate_matches_torch(batch):
    torch = torch_or_skip()
    assert _plain(default_collate(batch)) == _plain(torch.utils.data.default_collate(batch))


@pytest.mark.parametrize(
    "data", [np.arange(3), np.float64(2.0), (np.ones(2), "s"), {"k": [np.zeros(1)]}, "s", 3]
)
def test_default_convert_matches_torch(data):
    torch = torch_or_skip()
    assert _plain(default_convert(data)) == _plain(torch.utils.data.default_convert(data))


def test_collate_stacks_ember_tensors_and_keeps_namedtuples():
    out = default_collate([ember.ones(2), ember.zeros(2)])
    assert out.tolist() == [[1.0, 1.0], [0.0, 0.0]] and out.dtype == ember.float32
    pt = default_collate([Point(1, 2), Point(3, 4)])
    assert isinstance(pt, Point) and pt.x.tolist() == [1, 3]


def test_collate_errors_name_the_problem():
    with pytest.raises(RuntimeError, match=r"equal size, but got \[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([ember.ones(2), ember.ones(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="text or objects"):
        default_collate([np.array(["a"]), np.array(["b"])])
