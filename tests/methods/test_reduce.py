"""Reductions beyond the op table: random dims/keepdim, ties, dtypes, return types, stability."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember
from tests.helpers import torch_or_skip


@st.composite
def shape_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    dims = draw(
        st.lists(
            st.integers(-len(shape), len(shape) - 1),
            unique_by=lambda d: d % len(shape),
            min_size=1,
            max_size=len(shape),
        )
    )
    return shape, tuple(dims), draw(st.booleans())


REDUCTIONS = {
    "sum": (lambda t, d, k: t.sum(d, keepdim=k), lambda a, d, k: a.sum(d, keepdims=k)),
    "mean": (lambda t, d, k: t.mean(d, keepdim=k), lambda a, d, k: a.mean(d, keepdims=k)),
    "prod": (lambda t, d, k: t.prod(d, keepdim=k), lambda a, d, k: a.prod(d, keepdims=k)),
    "amax": (lambda t, d, k: t.amax(d, keepdim=k), lambda a, d, k: a.max(d, keepdims=k)),
    "amin": (lambda t, d, k: t.amin(d, keepdim=k), lambda a, d, k: a.min(d, keepdims=k)),
    "var": (lambda t, d, k: t.var(d, keepdim=k, correction=0), lambda a, d, k: a.var(d, keepdims=k)),
    "norm": (lambda t, d, k: t.norm(2, d, keepdim=k), lambda a, d, k: np.sqrt((a * a).sum(d, keepdims=k))),
    "logsumexp": (
        lambda t, d, k: t.logsumexp(d, keepdim=k),
        lambda a, d, k: np.log(np.exp(a).sum(d, keepdims=k)),
    ),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@settings(max_examples=20, deadline=None)
@given(case=shape_and_dims())
def test_reduction_shapes_values_and_gradient_shapes(name, case):
    shape, dims, keepdim = case
    ours, ref = REDUCTIONS[name]
    a = np.random.default_rng(0).uniform(0.5, 1.5, shape)
    x = ember.tensor(a, requires_grad=True)
    out = ours(x, dims, keepdim)
    expected = ref(a, dims, keepdim)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    out.sum().backward()
    assert tuple(x.grad.shape) == shape


@settings(max_examples=20, deadline=None)
@given(case=shape_and_dims())
def test_single_dim_ops_shapes(case):
    shape, dims, keepdim = case
    dim = dims[0]
    a = np.random.default_rng(1).permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)
    x = ember.tensor(a, requires_grad=True)
    values, indices = x.max(dim, keepdim=keepdim)
    assert tuple(values.shape) == a.max(dim, keepdims=keepdim).shape
    np.testing.assert_array_equal(indices.numpy(), a.argmax(dim, keepdims=keepdim))
    assert indices.dtype == ember.int64
    (values.sum() + x.cumsum(dim).sum() + x.sort(dim).values.sum()).backward()
    assert tuple(x.grad.shape) == shape


def _torch_grad(torch, fn, a):
    t = torch.tensor(a, requires_grad=True)
    fn(t).sum().backward()
    return t.grad.numpy()


def _ember_grad(fn, a):
    x = ember.tensor(a, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


TIES = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, 2.0, 2.0], [-1.0, 4.0, 0.0, 4.0]])


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.amax(1),
        lambda m: m.amin(0),
        lambda m: m.amax(),
        lambda m: m.max(),
        lambda m: m.min(),
        lambda m: m.max(1).values,
        lambda m: m.min(0).values,
        lambda m: m.norm(float("inf"), 1),
        lambda m: m.norm(float("-inf")),
        lambda m: m.median(1).values,
    ],
    ids=[
        "amax",
        "amin",
        "amax_all",
        "max_all",
        "min_all",
        "max_dim",
        "min_dim",
        "norm_inf",
        "norm_-inf",
        "median_dim",
    ],
)
def test_ties_split_the_gradient_like_pytorch(fn):
    torch = torch_or_skip()
    np.testing.assert_allclose(_ember_grad(fn, TIES), _torch_grad(torch, fn, TIES))


def test_max_with_dim_returns_named_pair():
    x = ember.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    result = x.max(1)
    values, indices = result
    assert result.values is values and result.indices is indices
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert type(result).__name__ == "max"
    low = ember.min(x, dim=0, keepdim=True)
    assert low.values.shape == (1, 3) and low.indices.tolist() == [[0, 1, 0]]
    assert ember.aminmax(x).min.item() == 0.0


def test_sort_is_stable_and_descending_keeps_order_of_equals():
    x = ember.tensor([3.0, 1.0, 3.0, 2.0, 1.0])
    assert x.sort().indices.tolist() == [1, 4, 3, 0, 2]
    assert x.sort(descending=True).indices.tolist() == [0, 2, 3, 1, 4]
    assert x.argsort(descending=True).tolist() == [0, 2, 3, 1, 4]


def test_sort_puts_nan_last_like_pytorch():
    torch = torch_or_skip()
    a = np.array([1.0, np.nan, -2.0, 5.0])
    for descending in (False, True):
        ours = ember.tensor(a).sort(descending=descending)
        theirs = torch.tensor(a).sort(descending=descending)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_integer_and_bool_result_dtypes():
    i = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32)
    b = ember.tensor([True, False, True])
    assert i.sum().dtype == ember.int64 and b.sum().dtype == ember.int64
    assert i.prod(1).dtype == ember.int64 and i.cumsum(0).dtype == ember.int64
    assert i.cumprod(1).dtype == ember.int64
    assert i.max().dtype == ember.int32 and i.amax(0).dtype == ember.int32
    assert i.argmax().dtype == ember.int64 and i.count_nonzero().dtype == ember.int64
    assert i.all().dtype == ember.bool and b.any(0).dtype == ember.bool
    assert i.sum(dtype=ember.float64).dtype == ember.float64
    assert i.logsumexp(1).dtype == ember.float32
    assert i.median().item() == 2


@pytest.mark.parametrize("op", ["mean", "var", "std", "norm", "softmax"])
def test_integer_input_needs_float(op):
    i = ember.tensor([1, 2, 3])
    args = (0,) if op == "softmax" else ()
    with pytest.raises(RuntimeError, match=op):
        getattr(i, op)(*args)
    assert (
        getattr(i, op)(*args, dtype=ember.float64).dtype == ember.float64
        if op in ("mean", "softmax")
        else True
    )


def test_argmax_flattens_without_dim_and_keeps_dims():
    x = ember.tensor([[1.0, 9.0], [3.0, 4.0]])
    assert x.argmax().item() == 1 and x.argmin().item() == 0
    assert x.argmax(keepdim=True).shape == (1, 1)
    assert x.argmax(0).tolist() == [1, 0]


def test_median_without_dim_is_the_lower_median_and_gets_the_gradient():
    x = ember.tensor([4.0, 1.0, 3.0, 2.0], requires_grad=True)
    m = x.median()
    assert m.item() == 2.0
    m.backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 1.0]


def test_var_legacy_unbiased_and_correction():
    a = np.arange(6.0).reshape(2, 3)
    x = ember.tensor(a)
    assert np.isclose(x.var().item(), a.var(ddof=1))
    assert np.isclose(x.var(False).item(), a.var())
    assert np.allclose(x.var(1, unbiased=False).numpy(), a.var(1))
    assert np.allclose(x.std(1, correction=2).numpy(), a.std(1, ddof=2))
    var, mean = ember.var_mean(x, 0, correction=0)
    assert np.allclose(var.numpy(), a.var(0)) and np.allclose(mean.numpy(), a.mean(0))
    assert np.isnan(ember.tensor([1.0]).var().item())


def test_softmax_family_is_finite_for_huge_float32_logits():
    logits = np.array([[1e4, -1e4, 0.0, 1e4 - 1], [-1e4, -1e4, -1e4, -1e4]], np.float32)
    for fn in (
        lambda t: t.softmax(1),
        lambda t: t.log_softmax(1),
        lambda t: t.logsumexp(1),
        lambda t: ember.softmin(t, 1),
        lambda t: ember.softmax(t, dim=0),
    ):
        x = ember.tensor(logits, requires_grad=True)
        out = fn(x)
        assert np.isfinite(out.detach().numpy()).all()
        (
            out * ember.tensor(np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(out.shape))
        ).sum().backward()
        assert np.isfinite(x.grad.numpy()).all()


def test_softmax_matches_pytorch_on_huge_logits():
    torch = torch_or_skip()
    logits = np.array([[1e4, -1e4, 0.0, 1e4 - 1]], np.float32)
    for name in ("softmax", "log_softmax", "logsumexp"):
        ours = getattr(ember.tensor(logits), name)(1).numpy()
        theirs = getattr(torch.tensor(logits), name)(1).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_logsumexp_handles_infinities_like_pytorch():
    torch = torch_or_skip()
    a = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [0.0, -np.inf]])
    np.testing.assert_array_equal(ember.tensor(a).logsumexp(1).numpy(), torch.tensor(a).logsumexp(1).numpy())


def test_cumprod_and_prod_gradients_with_zeros_match_pytorch():
    torch = torch_or_skip()
    a = np.array([[2.0, 0.0, 3.0, 0.0], [1.5, 0.0, 2.0, -1.0], [0.5, 2.0, 0.0, 4.0]])
    for fn in (
        lambda t: t.cumprod(1),
        lambda t: t.cumprod(0),
        lambda t: t.prod(1),
        lambda t: t.prod(),
        lambda t: t.prod(0, keepdim=True),
    ):
        np.testing.assert_allclose(_ember_grad(fn, a), _torch_grad(torch, fn, a))


def test_norm_at_zero_has_zero_gradient():
    x = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_topk_and_kthvalue_errors_name_the_op():
    x = ember.tensor([[1.0, 2.0, 3.0]])
    with pytest.raises(RuntimeError, match="topk"):
        x.topk(4)
    with pytest.raises(RuntimeError, match="kthvalue"):
        x.kthvalue(5)
    with pytest.raises(IndexError, match="sum"):
        x.sum(3)


def test_topk_unsorted_flag_and_zero_dim_inputs():
    x = ember.tensor([5.0, 1.0, 4.0])
    assert x.topk(2, sorted=False).values.tolist() == [5.0, 4.0]
    s = ember.tensor(2.5)
    assert s.max(0).values.shape == () and s.max(0).indices.item() == 0
    assert s.cumsum(0).item() == 2.5 and s.sort().values.item() == 2.5 and s.argmax(0).item() == 0


def test_nansum_and_nanmean_ignore_nans_in_values_and_gradients():
    a = np.array([1.0, np.nan, 3.0])
    x = ember.tensor(a, requires_grad=True)
    (x.nansum() + x.nanmean()).backward()
    assert x.grad.tolist() == [1.5, 0.0, 1.5]


def test_all_any_count_nonzero_with_dims():
    a = np.array([[0.0, 1.0], [2.0, 3.0]])
    x = ember.tensor(a)
    assert x.all(1).tolist() == [False, True] and x.any(0).tolist() == [True, True]
    assert x.count_nonzero().item() == 3 and ember.count_nonzero(x, (0, 1)).item() == 3
    assert x.all((0, 1), keepdim=True).shape == (1, 1)


def _composite_softmax(t, dim, log):
    shifted = t - t.detach().amax(dim, keepdim=True)
    if log:
        return shifted - shifted.exp().sum(dim, keepdim=True).log()
    e = shifted.exp()
    return e / e.sum(dim, keepdim=True)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((3, 5), 1), ((2, 3, 4), 0), ((2, 3, 4), -2), ((4,), 0)])
def test_fused_softmax_matches_the_composite(log, shape, dim):
    a = np.random.default_rng(3).uniform(-5, 5, shape)
    w = ember.tensor(np.random.default_rng(4).standard_normal(shape))
    results = []
    for fn in (
        lambda t: t.log_softmax(dim) if log else t.softmax(dim),
        lambda t: _composite_softmax(t, dim, log),
    ):
        x = ember.tensor(a, requires_grad=True)
        out = fn(x)
        (grad,) = ember.autograd.grad((out * w).sum(), x, create_graph=True)
        (grad * grad).sum().backward()
        results.append((out.detach().numpy(), grad.detach().numpy(), x.grad.numpy()))
    for fused, composite in zip(*results):
        np.testing.assert_allclose(fused, composite, rtol=1e-10, atol=1e-12)


def test_fused_softmax_handles_infinite_rows_like_pytorch():
    torch = torch_or_skip()
    a = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 0.0], [0.0, -np.inf, 2.0]])
    for name in ("softmax", "log_softmax"):
        ours = getattr(ember.tensor(a), name)(1).numpy()
        theirs = getattr(torch.tensor(a), name)(1).numpy()
        np.testing.assert_array_equal(ours, theirs)
    assert ember.tensor(1.5).softmax(0).item() == 1.0


def test_mean_of_nothing_is_nan_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ember.tensor([]).mean().isnan().item()
        assert ember.zeros(0, 3).mean(0).isnan().all().item()
        assert ember.zeros(0, 3).mean(1).shape == (0,)
        assert ember.zeros(2, 0).mean(1, keepdim=True).shape == (2, 1)


def test_logsumexp_over_no_elements_is_minus_infinity():
    assert ember.zeros(0, 3).logsumexp(0).tolist() == [float("-inf")] * 3
    assert ember.zeros(0, 3).logsumexp(1).shape == (0,)
    assert ember.zeros(2, 0).logsumexp(1, keepdim=True).tolist() == [[float("-inf")], [float("-inf")]]


def test_nuclear_norm_through_norm():
    x = ember.arange(6.0).reshape(2, 3)
    expected = np.linalg.svd(np.arange(6.0).reshape(2, 3), compute_uv=False).sum()
    np.testing.assert_allclose(x.norm(p="nuc").item(), expected, rtol=1e-5)
    np.testing.assert_allclose(ember.norm(x, p="nuc", keepdim=True).numpy(), [[expected]], rtol=1e-5)
    batched = ember.norm(ember.arange(12.0).reshape(2, 2, 3), p="nuc", dim=(1, 2))
    assert batched.shape == (2,)
    with pytest.raises(RuntimeError, match="at least 2"):
        ember.ones(3).norm(p="nuc")
