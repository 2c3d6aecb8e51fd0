"""Differences, gradients, rotations, diagonals, scatters into views, strided views, splits,
index writes, block matrices, combinations, triangle indices, trapezoids and unravel_index."""

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from tests.helpers import torch_or_skip

RNG = np.random.default_rng(3)


def test_diff_with_prepend_append_and_bool():
    torch = torch_or_skip()
    a = RNG.normal(size=(3, 5))
    pre, post = RNG.normal(size=(3, 1)), RNG.normal(size=(3, 2))
    ours = ember.diff(ember.tensor(a), 2, -1, ember.tensor(pre), ember.tensor(post))
    theirs = torch.diff(torch.tensor(a), 2, -1, torch.tensor(pre), torch.tensor(post))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    b = np.array([True, False, False, True])
    np.testing.assert_array_equal(ember.tensor(b).diff().numpy(), torch.tensor(b).diff().numpy())


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_matches_numpy_and_pytorch(edge_order):
    torch = torch_or_skip()
    a = RNG.normal(size=(4, 6))
    ours = ember.gradient(ember.tensor(a), spacing=[0.5, 2.0], edge_order=edge_order)
    refs = np.gradient(a, 0.5, 2.0, edge_order=edge_order)
    theirs = torch.gradient(torch.tensor(a), spacing=[0.5, 2.0], edge_order=edge_order)
    for mine, ref, tref in zip(ours, refs, theirs):
        np.testing.assert_allclose(mine.numpy(), ref)
        np.testing.assert_allclose(mine.numpy(), tref.numpy())
    one = ember.gradient(ember.tensor(a), dim=1)
    np.testing.assert_allclose(one[0].numpy(), np.gradient(a, axis=1))


def test_gradient_with_coordinates():
    a = RNG.normal(size=7)
    x = np.cumsum(RNG.uniform(0.5, 1.5, 7))
    (ours,) = ember.gradient(ember.tensor(a), spacing=(ember.tensor(x),))
    np.testing.assert_allclose(ours.numpy(), np.gradient(a, x))


def test_rot90_all_k_match_numpy_and_rejects_bad_dims():
    a = RNG.normal(size=(2, 3, 4))
    for k in range(-1, 5):
        np.testing.assert_array_equal(ember.rot90(ember.tensor(a), k, [2, 0]).numpy(), np.rot90(a, k, (2, 0)))
    with pytest.raises(RuntimeError, match="different"):
        ember.rot90(ember.tensor(a), 1, [1, 1])


def test_diag_embed_with_offset_and_dims_matches_pytorch():
    torch = torch_or_skip()
    a = RNG.normal(size=(2, 3))
    for offset, d1, d2 in ((0, -2, -1), (1, 0, 2), (-2, 2, 0)):
        np.testing.assert_array_equal(
            ember.tensor(a).diag_embed(offset, d1, d2).numpy(),
            torch.tensor(a).diag_embed(offset, d1, d2).numpy(),
        )


@pytest.mark.parametrize("case", ["diagonal", "select", "slice", "as_strided"])
def test_scatters_into_views_match_pytorch_and_have_gradients(case):
    torch = torch_or_skip()
    a = RNG.normal(size=(4, 5))
    calls = {
        "diagonal": (lambda m, x, s: m.diagonal_scatter(x, s, 1), (4,)),
        "select": (lambda m, x, s: m.select_scatter(x, s, 0, -1), (5,)),
        "slice": (lambda m, x, s: m.slice_scatter(x, s, 1, 0, 5, 2), (4, 3)),
        "as_strided": (lambda m, x, s: m.as_strided_scatter(x, s, (2, 2), (5, 1), 1), (2, 2)),
    }
    fn, src_shape = calls[case]
    src = RNG.normal(size=src_shape)
    ours = fn(ember, ember.tensor(a), ember.tensor(src))
    theirs = fn(torch, torch.tensor(a), torch.tensor(src))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = ember.tensor(a, requires_grad=True)
    s = ember.tensor(src, requires_grad=True)
    assert gradcheck(lambda t, u: fn(ember, t, u), (x, s))


def test_scatter_into_view_checks_the_source_shape():
    with pytest.raises(RuntimeError, match="size equal to the slice"):
        ember.zeros(3, 3).diagonal_scatter(ember.zeros(2))


def test_as_strided_views_the_tensor_and_checks_bounds():
    torch = torch_or_skip()
    a = np.arange(12.0)
    ours = ember.tensor(a).as_strided((3, 3), (3, 1), 1)
    np.testing.assert_array_equal(ours.numpy(), torch.tensor(a).as_strided((3, 3), (3, 1), 1).numpy())
    with pytest.raises(RuntimeError, match="out of bounds"):
        ember.tensor(a).as_strided((4, 4), (4, 1))
    x = ember.arange(6.0)
    x.as_strided_((2, 2), (1, 2))
    assert x.tolist() == [[0.0, 2.0], [1.0, 3.0]]


def test_directional_and_unsafe_splits_match_pytorch():
    torch = torch_or_skip()
    a = RNG.normal(size=(4, 6, 2))
    for name, arg in (("hsplit", 3), ("vsplit", [1, 3]), ("dsplit", 2), ("hsplit", [2])):
        ours = getattr(ember, name)(ember.tensor(a), arg)
        theirs = getattr(torch, name)(torch.tensor(a), arg)
        assert [t.shape for t in ours] == [tuple(t.shape) for t in theirs], name
    with pytest.raises(RuntimeError, match="not divisible"):
        ember.hsplit(ember.tensor(a), 4)
    assert [t.shape[0] for t in ember.tensor(a).split_with_sizes([1, 3])] == [1, 3]
    assert len(ember.unsafe_chunk(ember.tensor(a), 2)) == 2
    assert [t.shape[1] for t in ember.unsafe_split(ember.tensor(a), 4, 1)] == [4, 2]


def test_fill_diagonal_matches_pytorch():
    torch = torch_or_skip()
    for shape, wrap in (((3, 3), False), ((7, 3), True), ((7, 3), False), ((2, 2, 2), False)):
        ours, theirs = ember.zeros(shape), torch.zeros(shape)
        ours.fill_diagonal_(5.0, wrap)
        theirs.fill_diagonal_(5.0, wrap)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_matches_pytorch(reduce, include_self):
    torch = torch_or_skip()
    a, src = RNG.normal(size=(4, 3)), RNG.normal(size=(5, 3))
    index = np.array([0, 2, 0, 3, 2])
    ours = ember.tensor(a).index_reduce(
        0, ember.tensor(index), ember.tensor(src), reduce, include_self=include_self
    )
    theirs = torch.tensor(a).index_reduce(
        0, torch.tensor(index), torch.tensor(src), reduce, include_self=include_self
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_put_matches_pytorch():
    torch = torch_or_skip()
    a = RNG.normal(size=(2, 3))
    idx, src = np.array([0, 5, -1]), np.array([1.0, 2.0, 3.0])
    for accumulate in (False, True):
        ours, theirs = ember.tensor(a), torch.tensor(a)
        ours.put_(ember.tensor(idx[:2]), ember.tensor(src[:2]), accumulate)
        theirs.put_(torch.tensor(idx[:2]), torch.tensor(src[:2]), accumulate)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = ember.tensor(a, requires_grad=True)
    assert gradcheck(lambda t: t.put(ember.tensor([1, 4]), ember.tensor([0.5, 0.5])), (x,))


def test_block_diag_cartesian_prod_combinations_match_pytorch():
    torch = torch_or_skip()
    blocks = [np.array(2.0), np.array([1.0, 2.0]), RNG.normal(size=(2, 3))]
    np.testing.assert_array_equal(
        ember.block_diag(*map(ember.tensor, blocks)).numpy(),
        torch.block_diag(*map(torch.tensor, blocks)).numpy(),
    )
    a, b = np.array([1, 2, 3]), np.array([4, 5])
    np.testing.assert_array_equal(
        ember.cartesian_prod(ember.tensor(a), ember.tensor(b)).numpy(),
        torch.cartesian_prod(torch.tensor(a), torch.tensor(b)).numpy(),
    )
    for r, rep in ((2, False), (3, True), (4, False)):
        np.testing.assert_array_equal(
            ember.combinations(ember.tensor(a), r, rep).numpy(),
            torch.combinations(torch.tensor(a), r, rep).numpy(),
        )


def test_triangle_indices_match_pytorch():
    torch = torch_or_skip()
    for row, col, offset in ((3, 3, 0), (4, 3, 1), (3, 5, -1)):
        np.testing.assert_array_equal(
            ember.tril_indices(row, col, offset).numpy(), torch.tril_indices(row, col, offset).numpy()
        )
        np.testing.assert_array_equal(
            ember.triu_indices(row, col, offset).numpy(), torch.triu_indices(row, col, offset).numpy()
        )


def test_trapezoid_and_cumulative_trapezoid_against_numpy():
    y = RNG.normal(size=(3, 6))
    x = np.cumsum(RNG.uniform(0.1, 1.0, 6))
    np.testing.assert_allclose(ember.trapezoid(ember.tensor(y), ember.tensor(x)).numpy(), np.trapezoid(y, x))
    np.testing.assert_allclose(
        ember.trapz(ember.tensor(y), dx=0.3, dim=0).numpy(), np.trapezoid(y, dx=0.3, axis=0)
    )
    from scipy.integrate import cumulative_trapezoid

    np.testing.assert_allclose(
        ember.cumulative_trapezoid(ember.tensor(y), ember.tensor(x)).numpy(), cumulative_trapezoid(y, x)
    )


def test_vander_and_unravel_index():
    torch = torch_or_skip()
    a = np.array([1, 2, 3])
    np.testing.assert_array_equal(
        ember.vander(ember.tensor(a), 4, True).numpy(), torch.vander(torch.tensor(a), 4, True).numpy()
    )
    coords = ember.unravel_index(ember.tensor([5, 0, 11]), (3, 4))
    assert [c.tolist() for c in coords] == [[1, 0, 2], [1, 0, 3]]
    with pytest.raises(RuntimeError, match="out of bounds"):
        ember.unravel_index(ember.tensor([12]), (3, 4))


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_match_pytorch_with_ties_and_zeros(reduce, include_self):
    torch = torch_or_skip()
    a = np.array([[1.0, 2.0], [3.0, 0.0], [2.0, 5.0]])
    src = np.array([[2.0, 0.0], [1.0, 5.0], [2.0, 4.0], [0.0, 1.0]])
    index = np.array([[0, 1], [2, 1], [0, 2], [1, 1]])
    grad = RNG.normal(size=a.shape)
    results = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        s = m.tensor(src, requires_grad=True)
        out = x.scatter_reduce(0, m.tensor(index), s, reduce, include_self=include_self)
        out.backward(m.tensor(grad))
        results.append([t.detach().numpy() for t in (out, x.grad, s.grad)])
    for mine, ref in zip(*results):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)
