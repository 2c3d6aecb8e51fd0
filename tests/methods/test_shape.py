"""Shape ops beyond the op table: view semantics, version counters, errors, PyTorch parity."""

import numpy as np
import pytest

import ember
from ember.ops.movement import view_strides
from tests.helpers import torch_or_skip


def _shares(a, b) -> bool:
    return np.shares_memory(a.detach().numpy(), b.detach().numpy())


VIEWS = {
    "view": lambda x: x.view(-1),
    "reshape": lambda x: x.reshape(4, 6),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "squeeze": lambda x: x.unsqueeze(1).squeeze(1),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 1),
    "mT": lambda x: x.mT,
    "movedim": lambda x: x.movedim(0, 2),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(2, 3),
    "unfold": lambda x: x.unfold(2, 2, 2),
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "split": lambda x: x.split(1, 1)[2],
    "chunk": lambda x: x.chunk(2, 2)[1],
    "unbind": lambda x: x.unbind(0)[1],
    "tensor_split": lambda x: x.tensor_split(2, 1)[1],
    "expand": lambda x: x.unsqueeze(0).expand(2, 2, 3, 4),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_memory_and_version_counter(name):
    x = ember.arange(24.0).reshape(2, 3, 4)
    v = VIEWS[name](x)
    assert _shares(v, x), f"{name} should be a view"
    assert v._base is x._base or v._base is x
    before = x._version
    if name != "expand":  # expanded views are read-only, as writes would alias
        v.add_(1.0)
        assert x._version == before + 1
        assert v._version == x._version
        assert float(x.sum()) == 276.0 + v.numel()


def test_write_through_view_changes_base():
    x = ember.zeros(3, 4)
    x.t().select(0, 1).add_(5.0)  # column 1 of x
    assert x.numpy()[:, 1].tolist() == [5.0, 5.0, 5.0]
    x.unfold(1, 2, 2).select(-1, 0).mul_(0.0)
    assert x.numpy()[:, 1].tolist() == [5.0, 5.0, 5.0]
    x.narrow(0, 2, 1).add_(1.0)
    assert x.numpy()[2].tolist() == [1.0, 6.0, 1.0, 1.0]


def test_view_of_view_keeps_the_root_base():
    x = ember.ones(2, 3)
    v = x.view(6).view(3, 2)
    assert v._base is x


def test_inplace_through_view_invalidates_saved_tensor():
    a = ember.ones(3, requires_grad=True)
    b = a * 2
    c = b * b
    with ember.no_grad():
        b.view(3, 1).add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_view_on_transposed_errors_like_pytorch():
    x = ember.ones(3, 4).t()
    with pytest.raises(RuntimeError, match=r"view size is not compatible .*Use \.reshape\(\.\.\.\) instead"):
        x.view(-1)
    y = x.reshape(-1)  # reshape copies instead
    assert not _shares(x, y) and y.shape == (12,)


def test_view_on_compatible_non_contiguous_layouts():
    x = ember.arange(24.0).reshape(2, 3, 4).permute(1, 0, 2)  # dims 1 and 2 still contiguous
    assert x.view(3, 2, 2, 2).shape == (3, 2, 2, 2)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(6, 4)


def test_reshape_is_a_view_exactly_when_possible():
    x = ember.arange(24.0).reshape(2, 3, 4)
    assert _shares(x.reshape(6, 4), x)
    t = x.transpose(0, 2)
    assert not _shares(t.reshape(-1), t)
    assert _shares(t.reshape(4, 3, 2, 1), t)


@pytest.mark.parametrize("seed", range(40))
def test_view_strides_agree_with_numpy(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 4, rng.integers(1, 5)))
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape).transpose(rng.permutation(len(shape)))
    a = a[
        tuple(
            slice(None, None, int(rng.integers(1, 3))) if rng.random() < 0.3 else slice(None) for _ in shape
        )
    ]
    new = tuple(int(s) for s in rng.permutation(_factor(a.size, rng)))
    strides = view_strides(a.shape, a.strides, new)
    try:
        expected = a.reshape(new, copy=False)
    except ValueError:
        expected = None
    assert (strides is None) == (expected is None), (a.shape, a.strides, new)
    if strides is not None and a.size > 1:
        out = np.lib.stride_tricks.as_strided(a, new, strides)
        np.testing.assert_array_equal(out, expected)


def _factor(n: int, rng) -> tuple:
    out = []
    for p in (2, 3, 2, 3, 2):
        if n % p == 0 and rng.random() < 0.6:
            out.append(p)
            n //= p
    return tuple(out) + (n,)


def test_contiguous_returns_self_or_a_differentiable_copy():
    x = ember.ones(2, 3, requires_grad=True)
    assert x.contiguous() is x
    t = x.t()
    c = t.contiguous()
    assert c is not t and c.is_contiguous() and not _shares(c, t)
    (c * ember.arange(6.0).reshape(3, 2)).sum().backward()
    assert x.grad.tolist() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]


def test_views_are_new_tensors_with_grad_fn():
    x = ember.ones(2, 3, requires_grad=True)
    for v in (x.view(2, 3), x.reshape(2, 3), x.squeeze(), x.expand(2, 3), x.T.T):
        assert v is not x and v.grad_fn is not None


def test_split_pieces_get_grads_when_only_some_are_used():
    x = ember.arange(10.0, requires_grad=True)
    _, b, _ = x.split([3, 3, 4])
    (b * 2).sum().backward()
    assert x.grad.tolist() == [0.0] * 3 + [2.0] * 3 + [0.0] * 4
    x.grad = None
    parts = x.unbind()
    (parts[4] * 3).backward()
    assert x.grad.tolist() == [0.0] * 4 + [3.0] + [0.0] * 5


def test_cat_backward_splits_with_views_and_skips_unneeded_inputs():
    a = ember.ones(2, 3, requires_grad=True)
    b = ember.ones(2, 2)
    out = ember.cat([a, b], 1)
    assert out.grad_fn.name() == "CatBackward0"
    out.sum().backward()
    assert a.grad.shape == (2, 3) and b.grad is None


def test_cat_promotes_dtypes_and_iterating_uses_unbind():
    out = ember.cat([ember.ones(2, dtype=ember.int32), ember.ones(1, dtype=ember.float64)])
    assert out.dtype == ember.float64
    assert ember.cat([ember.ones(2, dtype=ember.bool), ember.ones(1, dtype=ember.int64)]).dtype == ember.int64
    rows = list(ember.arange(6).reshape(3, 2))
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]


def test_higher_order_through_repeat_interleave_and_unfold():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x.repeat_interleave(ember.tensor([2, 0, 1])) ** 2).sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    assert g.tolist() == [4.0, 0.0, 6.0]
    (gg,) = ember.autograd.grad(g.sum(), x)
    assert gg.tolist() == [4.0, 0.0, 2.0]
    z = (x.unfold(0, 2, 1) ** 2).sum()
    (g,) = ember.autograd.grad(z, x)
    assert g.tolist() == [2.0, 8.0, 6.0]


def test_repeat_interleave_of_counts_alone():
    out = ember.repeat_interleave(ember.tensor([2, 0, 3]))
    assert out.tolist() == [0, 0, 2, 2, 2]


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: ember.cat([ember.ones(2, 3), ember.ones(3, 3)], 1),
            r"Sizes of tensors must match except in dimension 1.*\[2, 3\].*\[3, 3\]",
        ),
        (lambda: ember.cat([ember.ones(2, 3), ember.ones(2)]), r"Sizes of tensors must match"),
        (lambda: ember.cat([ember.ones(()), ember.ones(())]), "zero-dimensional tensor"),
        (lambda: ember.cat([]), "non-empty"),
        (
            lambda: ember.stack([ember.ones(2, 3), ember.ones(2, 4)]),
            r"equal size.*\[2, 3\] at entry 0 and \[2, 4\] at entry 1",
        ),
        (lambda: ember.ones(6).view(4, -1), r"shape \[4, -1\] is invalid for input of size 6"),
        (lambda: ember.ones(6).reshape(-1, -1), "only one dimension can be inferred"),
        (lambda: ember.ones(2, 3).split([1, 2]), r"sum exactly to 2.*\[1, 2\]"),
        (
            lambda: ember.ones(2, 3).narrow(1, 2, 2),
            r"start \(2\) \+ length \(2\) exceeds dimension size \(3\)",
        ),
        (
            lambda: ember.ones(2, 3).select(1, 3),
            r"index 3 out of range for tensor of size \[2, 3\] at dimension 1",
        ),
        (
            lambda: ember.ones(2, 3).unfold(1, 4, 1),
            "maximum size for tensor at dimension 1 is 3 but size is 4",
        ),
        (lambda: ember.ones(2, 3).unfold(1, 2, 0), "step is 0"),
        (lambda: ember.ones(2, 3).repeat(2), "can not be smaller than number of dimensions"),
        (lambda: ember.ones(2, 3).roll((1, 2), 0), "shifts and dimensions must align"),
        (
            lambda: ember.ones(2, 3).repeat_interleave(ember.tensor([1, 2]), dim=1),
            r"repeats.size\(0\) = 2 and input.size\(1\) = 3",
        ),
        (lambda: ember.ones(2, 3).permute(0, 0), "repeated dim"),
        (lambda: ember.ones(2, 3, 4).t(), "t\\(\\) expects a tensor with <= 2 dimensions"),
        (lambda: ember.ones(3).fliplr(), "Input must be >= 2-d"),
        (lambda: ember.ones(3).H, "only supported on matrices"),
        (
            lambda: ember.ones(2, 3).expand(4, 3, 2),
            r"expanded size.*\(3\) must match the existing size \(2\)",
        ),
        (lambda: ember.ones(2, 3).movedim((0, 1), 0), "same number of dims"),
        (lambda: ember.ones(2).chunk(0), "greater than 0"),
        (lambda: ember.broadcast_tensors(ember.ones(2, 3), ember.ones(4)), "cannot be broadcast"),
        (lambda: ember.meshgrid(ember.ones(2), ember.ones(2), indexing="yx"), "indexing must be one of"),
    ],
)
def test_error_messages_name_the_op_and_shapes(call, message):
    with pytest.raises((RuntimeError, IndexError), match=message):
        call()


def test_dim_out_of_range_names_the_op():
    with pytest.raises(IndexError, match=r"squeeze: Dimension out of range"):
        ember.ones(2, 3).squeeze(3)
    with pytest.raises(IndexError, match=r"unsqueeze: Dimension out of range"):
        ember.ones(2, 3).unsqueeze(4)


def test_matches_pytorch_on_edge_cases():
    torch = torch_or_skip()
    cases = [
        lambda m, x: x.chunk(4, 1),
        lambda m, x: x.select(0, 0).chunk(3),
        lambda m, x: x.tensor_split([-2, 10], 1),
        lambda m, x: x.split(5, 1),
        lambda m, x: m.meshgrid(x.select(0, 0), indexing="xy"),
        lambda m, x: x.repeat(1, 0),
        lambda m, x: x.unfold(1, 3, 3),
        lambda m, x: x.diagonal(4),
        lambda m, x: x.roll(-7),
        lambda m, x: x.flatten(0, 0),
    ]
    data = np.arange(15.0).reshape(3, 5)
    for i, case in enumerate(cases):
        ours = case(ember, ember.tensor(data))
        theirs = case(torch, torch.tensor(data))
        ours = ours if isinstance(ours, tuple) else (ours,)
        theirs = theirs if isinstance(theirs, tuple) else (theirs,)
        assert len(ours) == len(theirs), f"case {i}"
        for o, t in zip(ours, theirs):
            assert tuple(o.shape) == tuple(t.shape), f"case {i}"
            np.testing.assert_array_equal(o.numpy(), t.numpy())
