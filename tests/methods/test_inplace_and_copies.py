"""In-place twins (value ops and view ops), top-level in-place functions and ``*_copy`` ops."""

import numpy as np
import pytest

import ember
from tests.helpers import torch_or_skip


def test_inplace_view_ops_change_the_shape_and_keep_the_memory():
    x = ember.arange(6.0).reshape(2, 3)
    before = x.data_ptr()
    assert x.unsqueeze_(0) is x and x.shape == (1, 2, 3)
    assert x.squeeze_() is x and x.shape == (2, 3)
    assert x.transpose_(0, 1).shape == (3, 2) and x.data_ptr() == before
    assert x.t_().shape == (2, 3)
    assert x.swapdims_(0, 1).shape == (3, 2) and x.swapaxes_(0, 1).shape == (2, 3)
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_inplace_view_ops_keep_the_graph():
    leaf = ember.arange(3.0, requires_grad=True)
    y = leaf * 2
    y.unsqueeze_(1)
    assert y.shape == (3, 1)
    (y * ember.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    assert leaf.grad.tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.unsqueeze_(0)


def test_value_inplace_twins_match_their_out_of_place_ops():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.clone().cumsum_(1).tolist() == x.cumsum(1).tolist()
    assert x.clone().cumprod_(0).tolist() == x.cumprod(0).tolist()
    assert x.clone().divide_(2).tolist() == (x / 2).tolist()
    assert x.clone().multiply_(3).tolist() == (x * 3).tolist()
    assert x.clone().subtract_(1).tolist() == (x - 1).tolist()
    assert x.clone().negative_().tolist() == (-x).tolist()
    assert x.clone().true_divide_(4).tolist() == (x / 4).tolist()
    m = ember.eye(2)
    assert x.clone().addmm_(m, x).tolist() == (x + x).tolist()


def test_inplace_twin_gradient_flows_through_the_new_history():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = a * 1.0
    y.cumsum_(0)
    y.sum().backward()
    assert a.grad.tolist() == [3.0, 2.0, 1.0]


def test_top_level_inplace_functions():
    x = ember.tensor([-1.0, 4.0])
    assert ember.abs_(x) is x and x.tolist() == [1.0, 4.0]
    ember.sqrt_(x)
    assert x.tolist() == [1.0, 2.0]
    ember.negative_(x)
    assert x.tolist() == [-1.0, -2.0]
    for name in ("exp_", "log_", "sin_", "square_", "round_", "clamp_min_", "xlogy_"):
        assert callable(getattr(ember, name)), name


def test_copy_variants_are_new_tensors_with_the_view_values():
    x = ember.arange(6.0).reshape(2, 3)
    copies = {
        "view_copy": (ember.view_copy(x, 3, 2), x.view(3, 2)),
        "permute_copy": (ember.permute_copy(x, (1, 0)), x.permute(1, 0)),
        "transpose_copy": (ember.transpose_copy(x, 0, 1), x.t()),
        "select_copy": (ember.select_copy(x, 1, 2), x[:, 2]),
        "slice_copy": (ember.slice_copy(x, 1, 0, 3, 2), x[:, 0:3:2]),
        "diagonal_copy": (ember.diagonal_copy(x), x.diagonal()),
        "expand_copy": (ember.expand_copy(x[:1], 2, 3), x[:1].expand(2, 3)),
        "unsqueeze_copy": (ember.unsqueeze_copy(x, 0), x.unsqueeze(0)),
        "narrow_copy": (x.narrow_copy(1, 1, 2), x[:, 1:3]),
    }
    for name, (copy, view) in copies.items():
        assert copy.tolist() == view.tolist(), name
        assert copy.data_ptr() != x.data_ptr() or copy.numel() == 0, name
    assert [t.tolist() for t in ember.unbind_copy(x)] == [r.tolist() for r in x]
    assert [t.shape for t in ember.split_with_sizes_copy(x, [1, 2], 1)] == [(2, 1), (2, 2)]


def test_inplace_view_ops_match_pytorch():
    torch = torch_or_skip()
    a = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = ember.tensor(a), torch.tensor(a)
    for op, args in (("transpose_", (0, 2)), ("unsqueeze_", (1,)), ("squeeze_", (1,)), ("swapaxes_", (0, 1))):
        getattr(ours, op)(*args)
        getattr(theirs, op)(*args)
        assert tuple(ours.shape) == tuple(theirs.shape), op
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
