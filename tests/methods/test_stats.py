"""Histograms, running extremes, quantiles, mode, unique values, bucketing and distances."""

import numpy as np
import pytest

import ember
from ember.autograd import gradcheck
from tests.helpers import torch_or_skip

RNG = np.random.default_rng(7)


def _both(array):
    torch = torch_or_skip()
    return ember.tensor(array), torch.tensor(array)


def test_histc_and_histogram_against_numpy():
    a = RNG.normal(size=50)
    counts, _ = np.histogram(a, bins=7, range=(-1.0, 1.0))
    np.testing.assert_array_equal(ember.tensor(a).histc(7, -1, 1).numpy(), counts)
    hist, edges = ember.histogram(ember.tensor(a), 5)
    ref_hist, ref_edges = np.histogram(a, 5)
    np.testing.assert_allclose(hist.numpy(), ref_hist)
    np.testing.assert_allclose(edges.numpy(), ref_edges)
    with pytest.raises(RuntimeError, match="floating"):
        ember.tensor([1, 2]).histc()


def test_histc_matches_pytorch_on_the_data_range():
    ours, theirs = _both(RNG.normal(size=40).astype(np.float32))
    np.testing.assert_array_equal(ours.histc(10).numpy(), theirs.histc(10).numpy())


def test_bincount():
    ours, theirs = _both(np.array([0, 3, 3, 1, 5]))
    np.testing.assert_array_equal(ours.bincount(minlength=8).numpy(), theirs.bincount(minlength=8).numpy())
    w = np.array([0.5, 1.0, 2.0, 0.25, 1.5])
    ours_w = ours.bincount(ember.tensor(w)).numpy()
    np.testing.assert_allclose(ours_w, np.bincount([0, 3, 3, 1, 5], weights=w))
    with pytest.raises(RuntimeError, match="non-negative"):
        ember.tensor([-1, 2]).bincount()


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_running_extremes_match_pytorch_with_ties_and_nan(op):
    a = np.array([[1.0, 3.0, 3.0, 2.0, 5.0], [2.0, np.nan, 1.0, 4.0, 0.0]])
    ours, theirs = _both(a)
    mine, ref = getattr(ours, op)(1), getattr(theirs, op)(1)
    np.testing.assert_array_equal(mine.values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(mine.indices.numpy(), ref.indices.numpy())


def test_cummax_gradient():
    x = ember.tensor(RNG.normal(size=(3, 4)), requires_grad=True)
    assert gradcheck(lambda t: t.cummax(1).values, (x,))


def test_logcumsumexp_is_exact_where_shifting_by_the_max_would_underflow():
    a = np.array([-1000.0, 0.0, -1000.0])
    out = ember.logcumsumexp(ember.tensor(a), 0).numpy()
    np.testing.assert_allclose(out, np.logaddexp.accumulate(a))
    x = ember.tensor(a, requires_grad=True)
    ember.logcumsumexp(x, 0).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_interpolations_match_pytorch(interpolation):
    torch = torch_or_skip()
    a = RNG.normal(size=(4, 9))
    q = [0.0, 0.25, 0.5, 0.9, 1.0]
    for dim, keepdim in ((1, False), (0, True), (None, False)):
        ours = ember.tensor(a).quantile(
            ember.tensor(q, dtype=ember.float64), dim=dim, keepdim=keepdim, interpolation=interpolation
        )
        theirs = torch.tensor(a).quantile(
            torch.tensor(q, dtype=torch.float64), dim=dim, keepdim=keepdim, interpolation=interpolation
        )
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


def test_quantile_and_nanquantile_with_nan_against_numpy():
    a = RNG.normal(size=(3, 6))
    a[1, 2] = np.nan
    ours = ember.tensor(a)
    np.testing.assert_allclose(ours.nanquantile(0.4, dim=1).numpy(), np.nanquantile(a, 0.4, axis=1))
    np.testing.assert_allclose(ours.quantile(0.4, dim=1).numpy(), np.quantile(a, 0.4, axis=1))
    with pytest.raises(RuntimeError, match=r"range \[0, 1\]"):
        ours.quantile(1.5)


def test_quantile_gradient():
    x = ember.tensor(RNG.normal(size=(3, 5)), requires_grad=True)
    assert gradcheck(lambda t: t.quantile(0.3, dim=1), (x,))


def test_nanmedian_and_mode_match_pytorch():
    a = np.array([[3.0, np.nan, 1.0, 2.0], [np.nan, np.nan, 5.0, 5.0], [2.0, 2.0, 7.0, 7.0]])
    ours, theirs = _both(a)
    assert ours.nanmedian().item() == theirs.nanmedian().item()
    mine, ref = ours.nanmedian(1), theirs.nanmedian(1)
    np.testing.assert_array_equal(mine.values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(mine.indices.numpy(), ref.indices.numpy())
    b = np.array([[1, 2, 2, 3, 3], [4, 4, 4, 1, 1]])
    ours_b, theirs_b = _both(b)
    mine, ref = ours_b.mode(1), theirs_b.mode(1)
    np.testing.assert_array_equal(mine.values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(mine.indices.numpy(), ref.indices.numpy())


def test_cov_with_weights_and_corrcoef_match_pytorch():
    torch = torch_or_skip()
    a = RNG.normal(size=(3, 6))
    fw, aw = np.array([1, 2, 1, 3, 1, 1]), RNG.uniform(0.5, 1.5, 6)
    ours = ember.tensor(a).cov(correction=0, fweights=ember.tensor(fw), aweights=ember.tensor(aw))
    theirs = torch.tensor(a).cov(correction=0, fweights=torch.tensor(fw), aweights=torch.tensor(aw))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ember.tensor(a).corrcoef().numpy(), np.corrcoef(a), rtol=1e-10)
    np.testing.assert_allclose(ember.tensor(a[0]).cov().numpy(), np.cov(a[0]), rtol=1e-10)


def test_unique_and_unique_consecutive_match_pytorch():
    torch = torch_or_skip()
    a = np.array([[3, 1, 3], [1, 1, 2], [3, 1, 3]])
    for kwargs in ({}, {"return_inverse": True, "return_counts": True}, {"dim": 0, "return_counts": True}):
        ours, theirs = ember.tensor(a).unique(**kwargs), torch.tensor(a).unique(**kwargs)
        for mine, ref in zip(
            ours if isinstance(ours, tuple) else (ours,), theirs if isinstance(theirs, tuple) else (theirs,)
        ):
            np.testing.assert_array_equal(mine.numpy(), ref.numpy())
    b = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    ours = ember.unique_consecutive(ember.tensor(b), return_inverse=True, return_counts=True)
    theirs = torch.unique_consecutive(torch.tensor(b), return_inverse=True, return_counts=True)
    for mine, ref in zip(ours, theirs):
        np.testing.assert_array_equal(mine.numpy(), ref.numpy())
    rows = ember.tensor(a).unique_consecutive(dim=0)
    np.testing.assert_array_equal(rows.numpy(), torch.tensor(a).unique_consecutive(dim=0).numpy())


def test_bucketize_searchsorted_isin_match_pytorch():
    torch = torch_or_skip()
    bounds, values = np.array([1.0, 3.0, 5.0, 7.0]), np.array([[0.5, 3.0], [5.5, 9.0]])
    for right in (False, True):
        np.testing.assert_array_equal(
            ember.bucketize(ember.tensor(values), ember.tensor(bounds), right=right).numpy(),
            torch.bucketize(torch.tensor(values), torch.tensor(bounds), right=right).numpy(),
        )
    seq = np.sort(RNG.normal(size=(2, 5)), axis=1)
    vals = RNG.normal(size=(2, 3))
    np.testing.assert_array_equal(
        ember.searchsorted(ember.tensor(seq), ember.tensor(vals), side="right").numpy(),
        torch.searchsorted(torch.tensor(seq), torch.tensor(vals), side="right").numpy(),
    )
    out = ember.searchsorted(ember.tensor(bounds), 4.0, out_int32=True)
    assert out.dtype == ember.int32 and out.item() == 2
    a, test = np.array([1, 2, 3, 4]), np.array([2, 4, 6])
    np.testing.assert_array_equal(
        ember.isin(ember.tensor(a), ember.tensor(test), invert=True).numpy(),
        torch.isin(torch.tensor(a), torch.tensor(test), invert=True).numpy(),
    )
    assert ember.isin(ember.tensor(a), 3).tolist() == [False, False, True, False]


@pytest.mark.parametrize("p", [0.0, 1.0, 2.0, 3.0, float("inf")])
def test_cdist_matches_pytorch(p):
    torch = torch_or_skip()
    x1, x2 = RNG.normal(size=(2, 4, 3)), RNG.normal(size=(2, 5, 3))
    np.testing.assert_allclose(
        ember.cdist(ember.tensor(x1), ember.tensor(x2), p).numpy(),
        torch.cdist(torch.tensor(x1), torch.tensor(x2), p).numpy(),
        rtol=1e-10,
    )


def test_cdist_gradient_is_zero_at_zero_distance():
    x = ember.tensor([[0.0, 1.0], [2.0, 2.0]], requires_grad=True)
    ember.cdist(x, x.detach()).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    y = ember.tensor(RNG.normal(size=(3, 2)), requires_grad=True)
    other = ember.tensor(RNG.normal(size=(4, 2)))
    assert gradcheck(lambda t: ember.cdist(t, other), (y,))


def test_renorm_matches_pytorch():
    ours, theirs = _both(RNG.normal(size=(3, 4)) * 3)
    np.testing.assert_allclose(ours.renorm(1, 1, 2.0).numpy(), theirs.renorm(1, 1, 2.0).numpy())
    x = ours.clone()
    x.renorm_(2, 0, 1.0)
    np.testing.assert_allclose(x.numpy(), theirs.renorm(2, 0, 1.0).numpy())
